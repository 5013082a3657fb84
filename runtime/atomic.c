/* atomic.c - atomic replacement of a file: write a temporary file in the
 * same folder (mkstemp), fflush + fsync it, rename it over the destination
 * (atomic within one file system), then fsync the folder so the rename
 * itself is durable.  Any failure removes the temporary file and leaves an
 * existing destination as it was.
 *
 * While a temporary file exists, those of SIGINT, SIGTERM and SIGHUP whose
 * disposition is the default (ending the program) are caught: the handler
 * removes the temporary file (unlink is async-signal-safe), restores the
 * default and re-raises, so a Ctrl-C during a save leaves neither a
 * partial checkpoint nor a stray temporary file.  A signal that the
 * program ignores (nohup, a background job) or handles itself is left
 * alone: it neither ends the program nor disturbs the save. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_atomic.h"

#define NCAUGHT 3
static const int caught[NCAUGHT] = {SIGINT, SIGTERM, SIGHUP};
static struct sigaction saved[NCAUGHT];
static int installed[NCAUGHT];             /* our handler is in place for caught[k] */
static char *volatile pending_tmp;          /* the temporary file the handler removes */

static void on_signal(int sig)
{
    char *t = pending_tmp;
    if (t) unlink(t);
    for (int k = 0; k < NCAUGHT; k++)
        if (caught[k] == sig) sigaction(sig, &saved[k], NULL);
    raise(sig);
}

/* Catches those of the three signals whose disposition is the default;
 * an ignored or handled one keeps its disposition. */
static void guard_begin(char *tmp)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    pending_tmp = tmp;
    for (int k = 0; k < NCAUGHT; k++) {
        if (installed[k] || sigaction(caught[k], NULL, &saved[k]) != 0) continue;
        if ((saved[k].sa_flags & SA_SIGINFO) || saved[k].sa_handler != SIG_DFL) continue;
        if (sigaction(caught[k], &sa, NULL) == 0) installed[k] = 1;
    }
}

/* Puts back what guard_begin changed. */
static void guard_end(void)
{
    for (int k = 0; k < NCAUGHT; k++)
        if (installed[k]) {
            sigaction(caught[k], &saved[k], NULL);
            installed[k] = 0;
        }
    pending_tmp = NULL;
}

int dlrt_atomic_open(dlrt_atomic *a, const char *path, dlrt_err *e)
{
    memset(a, 0, sizeof *a);
    a->path = path;
    size_t len = strlen(path);
    a->tmp = malloc(len + 16);
    if (!a->tmp) return dlrt_errf(e, "cannot write %s: out of memory", path);
    memcpy(a->tmp, path, len);
    memcpy(a->tmp + len, ".tmp-XXXXXX", 12);
    guard_begin(a->tmp);
    int fd = mkstemp(a->tmp);
    if (fd < 0) {
        int err = errno;
        guard_end();
        free(a->tmp);
        a->tmp = NULL;
        return dlrt_errf(e, "cannot write %s: %s", path, strerror(err));
    }
    /* mkstemp makes the file 0600; a checkpoint is an ordinary file */
    (void)fchmod(fd, 0644);
    a->f = fdopen(fd, "wb");
    if (!a->f) {
        int err = errno;
        close(fd);
        unlink(a->tmp);
        guard_end();
        free(a->tmp);
        a->tmp = NULL;
        return dlrt_errf(e, "cannot write %s: %s", path, strerror(err));
    }
    return 0;
}

void dlrt_atomic_abort(dlrt_atomic *a)
{
    if (a->f) fclose(a->f);
    if (a->tmp) {
        unlink(a->tmp);
        guard_end();
        free(a->tmp);
    }
    a->f = NULL;
    a->tmp = NULL;
}

/* Best effort: makes the rename durable by syncing the containing folder. */
static void sync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) {
        strcpy(dir, ".");
    } else {
        size_t n = (size_t)(slash - path);
        if (n == 0) n = 1; /* "/file" */
        if (n >= sizeof dir) return;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int dlrt_atomic_commit(dlrt_atomic *a, dlrt_err *e)
{
    int err = 0;
    if (ferror(a->f) || fflush(a->f) != 0) err = errno ? errno : EIO;
    if (!err && fsync(fileno(a->f)) != 0) err = errno;
    int closed = fclose(a->f);
    a->f = NULL;
    if (!err && closed != 0) err = errno ? errno : EIO;
    if (!err && rename(a->tmp, a->path) != 0) err = errno;
    if (err) {
        dlrt_atomic_abort(a);
        return dlrt_errf(e, "cannot write %s: %s", a->path, strerror(err));
    }
    guard_end();
    free(a->tmp);
    a->tmp = NULL;
    sync_parent(a->path);
    return 0;
}
