/* main.c - the dlc driver: dispatches to the subcommands.
 *
 *   dlc ir MODEL ...         print the IR after any pass
 *   dlc build MODEL ...      compile a model into an executable
 *   dlc emit MODEL ...       write the generated source
 *   dlc gradcheck MODEL      check every gradient in f64
 *   dlc verify FILE.c        check C source with libclang (embedded rules)
 *   dlc import MODEL.onnx    convert an ONNX model into .nn + .safetensors
 *   dlc export MODEL.nn      write a model and its weights as ONNX
 *
 * Exit status: 0 success, 1 an error in the user's input, 2 bad usage,
 * 3 an internal error.
 */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "build.h"
#include "commands.h"

typedef struct Command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Command;

static const Command commands[] = {
    {"ir", dlc_cmd_ir, "print the IR of a model after any pass (text or Graphviz dot)"},
    {"build", dlc_cmd_build, "compile a model into an executable that trains it or runs inference"},
    {"emit", dlc_cmd_emit, "write the generated C source and header of a model"},
    {"gradcheck", dlc_cmd_gradcheck, "check every gradient of a model by finite differences, in f64"},
    {"verify", dlc_cmd_verify, "check C source with libclang (--embedded: rules for embeddable code)"},
    {"import", dlc_cmd_import, "convert an ONNX model into .nn text and a safetensors file"},
    {"export", dlc_cmd_export, "write a model and its weights as an ONNX file"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: dlc [--version] [--help] COMMAND [ARGS...]\n\n"
               "dlc compiles neural-network models (.nn files) into C code that trains\n"
               "them or runs inference.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'dlc COMMAND --help' for a command's options.\n"
               "Exit status: 0 success, 1 error in the input, 2 bad usage, 3 internal error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("dlc %s\n", DLC_VERSION);
        return EXIT_OK;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(cmd, commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "dlc: error: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
