/* atomic.c - atomic replacement of a file (checkpoints, predict -o).
 *
 * The destination: a symbolic link is followed (up to 40 links) to the file
 * it names, and that file is replaced, so the link stays a link.  The file
 * must not exist or be a regular file that may be written: a directory, a
 * device, a FIFO or a socket is refused, and so is an existing file without
 * write permission (chmod a-w), even for root.  A replaced file keeps its
 * permission bits; a new one is 0644.
 *
 * The data goes to a file without a name (O_TMPFILE) in the destination's
 * folder where the file system supports it (Linux), else to a named one,
 * DEST.tmp-XXXXXX (mkstemp).  Commit flushes and fsyncs it, links the
 * unnamed file to a name DEST.tmp-XXXXXX (linkat through /proc/self/fd),
 * closes it, renames it over the destination (atomic within one file
 * system) and fsyncs the folder so the rename is durable.  Any failure
 * removes the temporary file and leaves an existing destination as it was.
 *
 * A killed process (SIGKILL, a crash, power loss) leaves a named temporary
 * file only if it dies while one exists: with O_TMPFILE, between linkat and
 * rename (no writing happens then); without it, during the whole write.
 * Every save first removes such leftovers of its own destination: the
 * files named exactly DEST.tmp-XXXXXX (six letters or digits) that no live
 * process holds locked.  Each writer holds an flock on its temporary file
 * from creation to rename, so a save in progress elsewhere is not touched.
 *
 * While a named temporary file exists, those of SIGINT, SIGTERM and SIGHUP
 * whose disposition is the default (ending the program) are caught: the
 * handler removes the file (unlink is async-signal-safe), restores the
 * default and re-raises, so the program ends as it would have, leaving
 * neither a partial file nor a temporary one.  A signal that the program
 * ignores (nohup, a background job) or handles itself is left alone: it
 * neither ends the program nor disturbs the save.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dlrt.h"
#include "rt_atomic.h"

#define NCAUGHT 3
static const int caught[NCAUGHT] = {SIGINT, SIGTERM, SIGHUP};
static struct sigaction saved[NCAUGHT];
static int installed[NCAUGHT];             /* our handler is in place for caught[k] */
static char *volatile pending_tmp;          /* the named temporary file the handler removes */
static int tmpfile_allowed = 1;             /* dlrt_atomic_use_tmpfile */

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
static void guard_begin(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int k = 0; k < NCAUGHT; k++) {
        if (installed[k] || sigaction(caught[k], NULL, &saved[k]) != 0) continue;
        if ((saved[k].sa_flags & SA_SIGINFO) || saved[k].sa_handler != SIG_DFL) continue;
        if (sigaction(caught[k], &sa, NULL) == 0) installed[k] = 1;
    }
}

/* Puts back what guard_begin changed; harmless when nothing is guarded. */
static void guard_end(void)
{
    for (int k = 0; k < NCAUGHT; k++)
        if (installed[k]) {
            sigaction(caught[k], &saved[k], NULL);
            installed[k] = 0;
        }
    pending_tmp = NULL;
}

void dlrt_atomic_use_tmpfile(int use)
{
    tmpfile_allowed = use;
}

/* The folder of a path, malloc'd ("." for a bare name); NULL if out of memory. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

/* What a symbolic link holds, malloc'd; NULL with errno. */
static char *read_link(const char *path)
{
    for (size_t cap = 256;; cap *= 2) {
        char *buf = malloc(cap);
        if (!buf) return NULL;
        ssize_t n = readlink(path, buf, cap);
        if (n < 0) {
            int err = errno;
            free(buf);
            errno = err;
            return NULL;
        }
        if ((size_t)n < cap) {
            buf[n] = '\0';
            return buf;
        }
        free(buf);
        if (cap > (1u << 20)) {
            errno = ENAMETOOLONG;
            return NULL;
        }
    }
}

/* The file that `path` names, following symbolic links (a relative link
 * is relative to its own folder): malloc'd, with *exists and *st (lstat of
 * it) set; NULL with errno (ELOOP after 40 links). */
static char *resolve(const char *path, struct stat *st, int *exists)
{
    char *cur = strdup(path);
    for (int hops = 0; cur; hops++) {
        if (lstat(cur, st) != 0) {
            if (errno == ENOENT) {
                *exists = 0;
                return cur;
            }
            break;
        }
        if (!S_ISLNK(st->st_mode)) {
            *exists = 1;
            return cur;
        }
        if (hops == 40) {
            errno = ELOOP;
            break;
        }
        char *target = read_link(cur);
        if (!target) break;
        const char *slash = strrchr(cur, '/');
        char *next = target;
        if (target[0] != '/' && slash) {
            size_t d = (size_t)(slash - cur) + 1, t = strlen(target);
            next = malloc(d + t + 1);
            if (next) {
                memcpy(next, cur, d);
                memcpy(next + d, target, t + 1);
            }
            free(target);
        }
        free(cur);
        cur = next;
    }
    int err = cur ? errno : ENOMEM;
    free(cur);
    errno = err;
    return NULL;
}

/* "cannot write PATH: WHY", naming the link's target when PATH is a link. */
static int fail(const dlrt_atomic *a, dlrt_err *e, const char *why)
{
    if (a->dest && strcmp(a->dest, a->path) != 0)
        return dlrt_errf(e, "cannot write %s (a link to %s): %s", a->path, a->dest, why);
    return dlrt_errf(e, "cannot write %s: %s", a->path, why);
}

/* The rule for an existing destination (see the top of the file). */
static int check_target(const dlrt_atomic *a, const struct stat *st, dlrt_err *e)
{
    if (S_ISDIR(st->st_mode)) return fail(a, e, strerror(EISDIR));
    if (!S_ISREG(st->st_mode)) {
        const char *kind = S_ISCHR(st->st_mode)    ? "a character device"
                           : S_ISBLK(st->st_mode)  ? "a block device"
                           : S_ISFIFO(st->st_mode) ? "a FIFO"
                           : S_ISSOCK(st->st_mode) ? "a socket"
                                                   : "a special file";
        char why[64];
        snprintf(why, sizeof why, "it is %s, not a regular file", kind);
        return fail(a, e, why);
    }
    if ((st->st_mode & 0222) == 0) return fail(a, e, "the file is read-only");
    if (faccessat(AT_FDCWD, a->dest, W_OK, AT_EACCESS) != 0) return fail(a, e, strerror(errno));
    return 0;
}

/* DEST.tmp-XXXXXX: the base name of dest, ".tmp-", six letters or digits. */
static int is_temp_name(const char *name, const char *base, size_t bl)
{
    if (strncmp(name, base, bl) != 0 || strncmp(name + bl, ".tmp-", 5) != 0 || strlen(name) != bl + 11)
        return 0;
    for (const char *c = name + bl + 5; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9'))) return 0;
    return 1;
}

/* Removes the temporary files that killed saves of dest left (see the top
 * of the file): regular files of the exact name pattern, not locked. */
static void remove_stale(const char *dest)
{
    const char *slash = strrchr(dest, '/');
    const char *base = slash ? slash + 1 : dest;
    size_t bl = strlen(base);
    char *dir = dir_of(dest);
    DIR *d = dir && bl ? opendir(dir) : NULL;
    free(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!is_temp_name(de->d_name, base, bl)) continue;
        int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) continue;
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0)
            (void)unlinkat(dirfd(d), de->d_name, 0);
        close(fd);
    }
    closedir(d);
}

/* A file without a name in dest's folder (O_TMPFILE) that linkat can name
 * later.  Returns its descriptor, -1 with errno on an error that a named
 * file would meet too, or -2 when the file system (or /proc) cannot. */
static int open_unnamed(const char *dest)
{
#ifdef O_TMPFILE
    if (!tmpfile_allowed) return -2;
    char *dir = dir_of(dest);
    if (!dir) {
        errno = ENOMEM;
        return -1;
    }
    int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    int err = errno;
    free(dir);
    if (fd < 0) {
        /* EISDIR: a kernel without O_TMPFILE; the others: a file system without it */
        if (err == EOPNOTSUPP || err == EISDIR || err == EINVAL) return -2;
        errno = err;
        return -1;
    }
    char proc[64];
    struct stat st;
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (stat(proc, &st) == 0) return fd;
    close(fd);
    return -2;
#else
    (void)dest;
    return -2;
#endif
}

int dlrt_atomic_open(dlrt_atomic *a, const char *path, dlrt_err *e)
{
    memset(a, 0, sizeof *a);
    a->path = path;
    struct stat st;
    int exists = 0;
    a->dest = resolve(path, &st, &exists);
    if (!a->dest) return fail(a, e, strerror(errno));
    if (exists && check_target(a, &st, e)) goto fail_free;
    size_t len = strlen(a->dest);
    a->tmp = malloc(len + 12);
    if (!a->tmp) {
        fail(a, e, "out of memory");
        goto fail_free;
    }
    memcpy(a->tmp, a->dest, len);
    memcpy(a->tmp + len, ".tmp-XXXXXX", 12);
    remove_stale(a->dest);
    int fd = open_unnamed(a->dest);
    if (fd == -2) {
        guard_begin();
        fd = mkstemp(a->tmp);
        if (fd >= 0) {
            a->named = 1;
            pending_tmp = a->tmp;
        }
    } else if (fd >= 0) {
        a->unnamed = 1;
    }
    if (fd < 0) {
        fail(a, e, strerror(errno));
        guard_end();
        goto fail_free;
    }
    (void)flock(fd, LOCK_EX); /* tells remove_stale that this save is alive */
    (void)fchmod(fd, exists ? (st.st_mode & 0777) : 0644);
    a->f = fdopen(fd, "wb");
    if (!a->f) {
        fail(a, e, strerror(errno));
        close(fd);
        dlrt_atomic_abort(a);
        return -1;
    }
    return 0;
fail_free:
    free(a->tmp);
    free(a->dest);
    a->tmp = a->dest = NULL;
    return -1;
}

void dlrt_atomic_abort(dlrt_atomic *a)
{
    if (a->f) fclose(a->f);
    if (a->named) unlink(a->tmp);
    guard_end();
    free(a->tmp);
    free(a->dest);
    a->f = NULL;
    a->tmp = a->dest = NULL;
    a->named = a->unnamed = 0;
}

/* Links the unnamed file to a fresh name DEST.tmp-XXXXXX (the suffix drawn
 * until unused), guarded like a named temporary file.  0 or an errno. */
static int give_name(dlrt_atomic *a)
{
    static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    static uint64_t counter;
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fileno(a->f));
    char *x = a->tmp + strlen(a->tmp) - 6;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t key = dlrt_key((uint64_t)getpid(), (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
    guard_begin();
    for (int tries = 0; tries < 1000; tries++) {
        uint64_t r = dlrt_key(key, counter++);
        for (int k = 0; k < 6; k++, r /= 62) x[k] = chars[r % 62];
        if (linkat(AT_FDCWD, proc, AT_FDCWD, a->tmp, AT_SYMLINK_FOLLOW) == 0) {
            a->named = 1;
            pending_tmp = a->tmp;
            return 0;
        }
        if (errno != EEXIST) return errno;
    }
    return EEXIST;
}

/* Makes the rename durable: fsyncs the destination's folder.  0 or an
 * errno; a file system that cannot sync a folder (EINVAL) is not an error. */
static int sync_parent(const char *dest)
{
    char *dir = dir_of(dest);
    if (!dir) return ENOMEM;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return 0; /* a folder we may write but not read: nothing to sync through */
    int err = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return err == EINVAL || err == EROFS || err == EBADF ? 0 : err;
}

int dlrt_atomic_commit(dlrt_atomic *a, dlrt_err *e)
{
    int err = 0;
    if (ferror(a->f)) err = errno ? errno : EIO;
    if (!err && fflush(a->f) != 0) err = errno ? errno : EIO;
    if (!err && fsync(fileno(a->f)) != 0) err = errno;
    if (!err && a->unnamed) err = give_name(a);
    int closed = fclose(a->f);
    a->f = NULL;
    if (!err && closed != 0) err = errno ? errno : EIO;
    if (!err && rename(a->tmp, a->dest) != 0) err = errno;
    if (err) {
        fail(a, e, strerror(err));
        dlrt_atomic_abort(a);
        return -1;
    }
    a->named = 0; /* renamed: nothing of ours to remove any more */
    guard_end();
    err = sync_parent(a->dest);
    if (err) {
        char why[256];
        snprintf(why, sizeof why, "%s (syncing its folder after the rename; the file is in place but may "
                 "not survive a crash)", strerror(err));
        fail(a, e, why);
    }
    free(a->tmp);
    free(a->dest);
    a->tmp = a->dest = NULL;
    return err ? -1 : 0;
}
