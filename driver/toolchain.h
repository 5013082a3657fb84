/* toolchain.h - running the external compilers `dlc build` calls (the C
 * compiler in build.c, nvcc in build_cuda.c): one child process at a time,
 * with fork/execvp (no shell), its output captured in a log file.
 */
#ifndef DLC_DRIVER_TOOLCHAIN_H
#define DLC_DRIVER_TOOLCHAIN_H

/* What the child writes when exec fails (the log then starts with it). */
#define NO_EXEC "dlc: cannot run "

/* Runs argv with stdout and stderr going to `log_path`; returns the exit
 * status (127 if the program could not be executed, the log then starting
 * with NO_EXEC), or -1 if no child could be started. */
int dlc_run_logged(char *const *argv, const char *log_path);
/* Copies a file (a compiler's log) to stderr. */
void dlc_show_file(const char *path);

#endif
