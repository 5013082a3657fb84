/* toolchain.h - running the external compilers `dlc build` calls (the C
 * compiler in build.c, nvcc in build_cuda.c): one child process at a time,
 * with fork/execvp (no shell), its output captured in a log file; and the
 * scratch folder they work in, which never outlives the dlc process.
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

/* Creates the build's scratch folder, $TMPDIR/dlc-build-XXXXXX (/tmp
 * without $TMPDIR), and returns its path; failing that is a user error
 * naming the folder (exit 1).  `stem` names the files the build writes
 * there (STEM.c/.h/.cu/.o and the compilers' logs).  The folder and what
 * is in it are removed by dlc_scratch_remove(), at exit (any exit: a
 * dlc_error or an internal error included) and on SIGINT, SIGTERM or
 * SIGHUP (unless the signal is ignored).  One scratch folder per process. */
const char *dlc_scratch_dir(const char *stem);
/* Removes the scratch folder and everything in it, now (idempotent). */
void dlc_scratch_remove(void);

#endif
