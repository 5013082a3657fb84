/* commands.h - the dlc subcommands.  Each takes argv with argv[0] set to
 * the command's name and returns the process exit status (args.h). */
#ifndef DLC_DRIVER_COMMANDS_H
#define DLC_DRIVER_COMMANDS_H

int dlc_cmd_ir(int argc, char **argv);
int dlc_cmd_gradcheck(int argc, char **argv);
int dlc_cmd_verify(int argc, char **argv);
/* cmd_import.c, cmd_export.c: ONNX in and out. */
int dlc_cmd_import(int argc, char **argv);
int dlc_cmd_export(int argc, char **argv);

#endif
