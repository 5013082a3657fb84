/* toolchain.c - running the external compilers `dlc build` calls
 * (toolchain.h): fork, point the child's stdout and stderr at a log file,
 * execvp; the parent waits and turns the status into an exit code.  Also
 * the build's scratch folder: made under $TMPDIR, removed at exit and on a
 * terminating signal, so that no build - failed, interrupted or not -
 * leaves a dlc-build-XXXXXX folder behind.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../ir/diag.h"
#include "toolchain.h"

/* Runs argv with its output in log_path (see toolchain.h). */
int dlc_run_logged(char *const *argv, const char *log_path)
{
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "%s%s: %s\n", NO_EXEC, argv[0], strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* Copies a file to stderr. */
void dlc_show_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return;
    char buf[4096];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, k, stderr);
    fclose(f);
}

/* ---- the scratch folder ---------------------------------------------- */

#define SCRATCH_PATH_MAX 4096
/* The files a build writes in the folder (besides them, the walk in
 * dlc_scratch_remove finds any other); a signal handler may only unlink
 * paths made beforehand. */
static const char *const scratch_names[] = {"cc.log", "nvcc.log", ".c", ".h", ".cu", ".o"};
#define NSCRATCH (sizeof scratch_names / sizeof scratch_names[0])
static char scratch[SCRATCH_PATH_MAX];                        /* "" : none */
static char scratch_files[NSCRATCH][SCRATCH_PATH_MAX];
static pid_t scratch_owner;                                    /* not a forked child */

/* Removes the folder from a signal handler: only async-signal-safe calls
 * (unlink, rmdir), only in the process that made it. */
static void scratch_remove_known(void)
{
    if (!scratch[0] || getpid() != scratch_owner) return;
    for (size_t i = 0; i < NSCRATCH; i++) unlink(scratch_files[i]);
    rmdir(scratch);
}

void dlc_scratch_remove(void)
{
    if (!scratch[0] || getpid() != scratch_owner) return;
    scratch_remove_known();
    DIR *d = opendir(scratch);
    if (d) { /* anything else a compiler left there */
        struct dirent *e;
        char path[SCRATCH_PATH_MAX + 256];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            snprintf(path, sizeof path, "%s/%s", scratch, e->d_name);
            unlink(path);
        }
        closedir(d);
        rmdir(scratch);
    }
    scratch[0] = '\0';
}

/* SIGINT / SIGTERM / SIGHUP: remove the folder, then die of the signal. */
static void scratch_on_signal(int sig)
{
    scratch_remove_known();
    signal(sig, SIG_DFL);
    raise(sig);
}

const char *dlc_scratch_dir(const char *stem)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    if (strlen(base) + strlen(stem) + 32 > SCRATCH_PATH_MAX)
        dlc_error(SRCLOC_NONE, "the temporary folder's path '%s' ($TMPDIR) is too long", base);
    snprintf(scratch, sizeof scratch, "%s/dlc-build-XXXXXX", base);
    if (!mkdtemp(scratch)) {
        int err = errno;
        scratch[0] = '\0';
        dlc_error(SRCLOC_NONE, "cannot create a temporary folder in '%s'%s: %s", base,
                  getenv("TMPDIR") && *getenv("TMPDIR") ? " ($TMPDIR)" : "", strerror(err));
    }
    scratch_owner = getpid();
    for (size_t i = 0; i < NSCRATCH; i++) {
        int n = snprintf(scratch_files[i], SCRATCH_PATH_MAX, "%s/%s%s", scratch,
                         scratch_names[i][0] == '.' ? stem : "", scratch_names[i]);
        DLC_ASSERT(n > 0 && n < SCRATCH_PATH_MAX); /* the length was checked above */
    }
    static bool registered;
    if (!registered) {
        registered = true;
        atexit(dlc_scratch_remove);
        const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
            struct sigaction old, sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = scratch_on_signal;
            sigemptyset(&sa.sa_mask);
            /* an ignored signal stays ignored (nohup, a background job) */
            if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN) sigaction(sigs[i], &sa, NULL);
        }
    }
    return scratch;
}
