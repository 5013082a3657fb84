/* build.h - `dlc emit` and `dlc build` (driver/build.c).
 *
 * Both take argv with argv[0] set to the command's name and return the
 * process exit status (driver/args.h): 0 ok, 1 an error in the model,
 * 2 bad usage, 3 an internal error (a failing C compile included).
 */
#ifndef DLC_DRIVER_BUILD_H
#define DLC_DRIVER_BUILD_H

/* dlc emit MODEL [--mode train|infer] [--target c] [-o DIR] [--prefix NAME]
 *               [--max-batch N] [--no-blas]: writes DIR/NAME.c and DIR/NAME.h. */
int dlc_cmd_emit(int argc, char **argv);
/* dlc build MODEL [-o OUT] [--mode train|infer] [-O LEVEL] [--max-batch N]
 *                [--keep-source DIR] [--cc CC]: compiles an executable. */
int dlc_cmd_build(int argc, char **argv);

#endif
