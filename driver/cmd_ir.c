/* cmd_ir.c - `dlc ir`: print what the compiler does to a model.
 *
 * Loads the model, runs the pipeline for the chosen mode, and prints the
 * graph after one pass (--after), after every pass (--print-after-all), or
 * at the end, as text or Graphviz dot.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../codegen/targets.h"
#include "../frontend/frontend.h"
#include "../passes/pass.h"
#include "args.h"
#include "commands.h"

static void help(void)
{
    printf("usage: dlc ir MODEL [--mode train|infer] [--after PASS | --print-after-all]\n"
           "              [--format text|dot] [--max-batch N] [--target c|cuda] [-o FILE]\n\n"
           "Prints the IR of MODEL (.nn, .onnx or .ir) after the compiler's passes.\n\n"
           "  --mode MODE         infer (default): the forward graph; train: with\n"
           "                      gradients and optimizer updates\n"
           "  --after PASS        print after PASS and stop\n"
           "  --print-after-all   print after every pass\n"
           "  --format FMT        text (default) or dot (Graphviz)\n"
           "  --max-batch N       batch size the memory plan is made for\n"
           "  --target T          the passes of target T: c (default) or cuda (launch groups)\n"
           "  -o FILE             write to FILE instead of standard output\n\npasses:\n");
    int n;
    const Pass *p = pass_list(&n);
    for (int i = 0; i < n; i++)
        printf("  %-10s %s%s\n", p[i].name, p[i].help, p[i].train_only ? " (train)" : "");
}

int dlc_cmd_ir(int argc, char **argv)
{
    ArgIter it;
    args_init(&it, "ir", argc - 1, argv + 1);
    const char *model = NULL, *out_path = NULL;
    GraphMode mode = MODE_INFER;
    PassOptions po = {0};
    int64_t max_batch = 0;
    const TargetInfo *target = target_info(TARGET_C); /* the passes `dlc build` runs by default */
    DumpRequest d = {0};
    d.format = DUMP_TEXT;
    while (args_more(&it)) {
        if (args_flag(&it, "--help") || args_flag(&it, "-h")) {
            help();
            return EXIT_OK;
        } else if (args_opt(&it, "--mode")) {
            if (strcmp(it.value, "train") == 0) mode = MODE_TRAIN;
            else if (strcmp(it.value, "infer") == 0) mode = MODE_INFER;
            else return args_usage_error(&it, "--mode must be 'train' or 'infer', not '%s'", it.value);
        } else if (args_opt(&it, "--after")) {
            d.after = it.value;
        } else if (args_flag(&it, "--print-after-all")) {
            d.print_all = true;
        } else if (args_opt(&it, "--format")) {
            if (strcmp(it.value, "text") == 0) d.format = DUMP_TEXT;
            else if (strcmp(it.value, "dot") == 0) d.format = DUMP_DOT;
            else return args_usage_error(&it, "--format must be 'text' or 'dot', not '%s'", it.value);
        } else if (args_opt(&it, "--max-batch")) {
            if (!args_int(&it, 1, 1 << 24, &max_batch)) return EXIT_USAGE;
        } else if (args_opt(&it, "--target")) {
            target = target_lookup(it.value);
            if (!target) return args_usage_error(&it, "unknown target '%s' (targets: %s)", it.value, target_names());
        } else if (args_opt2(&it, "-o", "--output")) {
            out_path = it.value;
        } else {
            const char *w = args_positional(&it);
            if (!w) break;
            if (model) return args_usage_error(&it, "more than one model given ('%s' and '%s')", model, w);
            model = w;
        }
    }
    if (it.failed) return EXIT_USAGE;
    if (!model) return args_usage_error(&it, "no model file given");
    if (d.after && d.print_all) return args_usage_error(&it, "--after and --print-after-all exclude each other");
    if (d.after && !pass_lookup(d.after))
        return args_usage_error(&it, "unknown pass '%s' (see 'dlc ir --help')", d.after);

    Arena arena;
    arena_init(&arena);
    Graph *g = model_load(&arena, model, mode);
    target_pass_options(target, g, max_batch, &po);
    FILE *out = stdout;
    if (out_path) {
        out = fopen(out_path, "w");
        if (!out) {
            fprintf(stderr, "dlc: error: cannot write '%s': %s\n", out_path, strerror(errno));
            arena_free(&arena);
            return EXIT_USER;
        }
    }
    d.out = out;
    bool final = !d.after && !d.print_all;
    pass_run_pipeline(g, &po, &d);
    if (final) {
        if (d.format == DUMP_DOT) ir_print_dot(out, g);
        else ir_print_text(out, g);
    }
    int rc = EXIT_OK;
    if (out != stdout && fclose(out) != 0) {
        fprintf(stderr, "dlc: error: cannot write '%s': %s\n", out_path, strerror(errno));
        rc = EXIT_USER;
    }
    arena_free(&arena);
    return rc;
}
