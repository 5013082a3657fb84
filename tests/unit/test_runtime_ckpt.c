/* test_runtime_ckpt.c - the runtime's JSON parser and safetensors
 * checkpoints: round trips, atomic replacement (an existing checkpoint
 * survives a failed save, no temporary file is left, not even by a killed
 * save, signals the program ignores do not disturb a save, which files may
 * be replaced), write errors, each kind of corrupt or mismatched
 * checkpoint rejected with its message, non-finite values refused, and a
 * header of many entries read in near-linear time. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/dlrt.h"
#include "runtime/rt_atomic.h"
#include "runtime/rt_ckpt.h"
#include "runtime/rt_json.h"
#include "testutil.h"

static char tmpdir[512];

static void make_tmpdir(void) { tu_make_tmpdir(tmpdir, sizeof tmpdir, "rt-ckpt"); }
static void remove_tmpdir(void) { tu_remove_tmpdir(tmpdir); }
static const char *tpath(const char *name) { return tu_path(tmpdir, name); }

/* Number of entries in the temp dir (not . and ..). */
static int count_files(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* ---- JSON ---------------------------------------------------------------- */

static json_value *parse(const char *s, char *err)
{
    return dlrt_json_parse(s, strlen(s), err, 256);
}

START_TEST(json_valid)
{
    char err[256];
    json_value *v = parse(" {\"a\": [1, -2.5e3, true, false, null], \"b\\u00e9\\n\": \"x\\\"\\ud83d\\ude00\","
                          " \"c\": {}, \"d\": [], \"big\": 123456789012} ",
                          err);
    ck_assert_msg(v != NULL, "%s", err);
    ck_assert_int_eq(v->type, JSON_OBJECT);
    ck_assert_int_eq(v->count, 5);
    const json_value *a = dlrt_json_get(v, "a");
    ck_assert_int_eq(a->count, 5);
    ck_assert(a->first->is_int && a->first->ival == 1);
    ck_assert(!a->first->next->is_int);
    ck_assert_double_eq(a->first->next->num, -2500.0);
    ck_assert_int_eq(a->first->next->next->type, JSON_BOOL);
    ck_assert_int_eq(a->first->next->next->boolean, 1);
    const json_value *b = dlrt_json_get(v, "b\xc3\xa9\n");
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(b->str, "x\"\xf0\x9f\x98\x80");
    ck_assert_int_eq(dlrt_json_get(v, "big")->ival, 123456789012LL);
    ck_assert_ptr_null(dlrt_json_get(v, "zz"));
    dlrt_json_free(v);
}
END_TEST

START_TEST(json_malformed)
{
    const char *bad[] = {"",          "{",           "{\"a\":}",     "{\"a\" 1}",     "{a:1}",       "[1,]",
                         "[1 2]",     "01",          "1.",           "-",             "1e",          "\"abc",
                         "\"\\x\"",   "\"\\u12\"",   "\"\\ud800\"",  "\"\\udc00\"",   "\"\\u0000\"", "tru",
                         "nul",       "{} x",        "\"a\tb\"",     "[\"\\",         "{\"a\":1,}",  "[1]]",
                         "\"\\ud800\\u0041\""};
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_value *v = parse(bad[i], err);
        ck_assert_msg(v == NULL, "accepted '%s'", bad[i]);
        ck_assert_msg(strstr(err, "at byte") != NULL, "no position in '%s'", err);
    }
    /* deep nesting is refused, not a stack overflow */
    size_t n = 100000;
    char *deep = malloc(2 * n + 1);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    ck_assert_ptr_null(parse(deep, err));
    ck_assert_ptr_nonnull(strstr(err, "nesting"));
    free(deep);
    /* not NUL-terminated: the length is respected */
    json_value *v = dlrt_json_parse("[1]garbage", 3, err, sizeof err);
    ck_assert_ptr_nonnull(v);
    dlrt_json_free(v);
}
END_TEST

/* ---- safetensors --------------------------------------------------------- */

static float w1[6], b1[3];
static int32_t stepc[1];
static dlrt_tensor tensors[3];

static void setup_tensors(void)
{
    for (int i = 0; i < 6; i++) w1[i] = (float)i * 0.5f - 1;
    for (int i = 0; i < 3; i++) b1[i] = (float)i + 0.125f;
    stepc[0] = 42;
    dlrt_tensor t[3] = {{"dense_1.kernel", DLRT_F32, 2, {2, 3}, w1},
                        {"dense_1.bias", DLRT_F32, 1, {3}, b1},
                        {"opt.step", DLRT_I32, 0, {0}, stepc}};
    memcpy(tensors, t, sizeof t);
}

/* t[0..3) as `tensors`, reading into w[6], b[3], s[1] instead. */
static void tensors_into(dlrt_tensor *t, float *w, float *b, int32_t *s)
{
    memcpy(t, tensors, sizeof tensors);
    t[0].data = w;
    t[1].data = b;
    t[2].data = s;
}

static const char *meta[] = {"format", "dlc-1", "model", "toy", "epoch", "3", "step", "77", "seed", "5"};

START_TEST(st_round_trip)
{
    make_tmpdir();
    setup_tensors();
    dlrt_err e;
    ck_assert_msg(dlrt_st_write(tpath("a.st"), tensors, 3, meta, 5, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(count_files(), 1);
    /* header length is a multiple of 8 and the JSON is what safetensors expects */
    FILE *f = fopen(tpath("a.st"), "rb");
    unsigned char len8[8];
    ck_assert_uint_eq(fread(len8, 1, 8, f), 8);
    size_t hl = 0;
    for (int k = 7; k >= 0; k--) hl = (hl << 8) | len8[k];
    ck_assert_uint_eq(hl % 8, 0);
    char head[1024] = {0};
    ck_assert_uint_lt(hl, sizeof head);
    ck_assert_uint_eq(fread(head, 1, hl, f), hl);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(head, "\"dense_1.kernel\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}"));
    ck_assert_ptr_nonnull(strstr(head, "\"opt.step\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[36,40]}"));
    ck_assert_ptr_nonnull(strstr(head, "\"__metadata__\":{\"format\":\"dlc-1\",\"model\":\"toy\""));

    float w2[6] = {0}, bb[3] = {0};
    int32_t s2[1] = {0};
    dlrt_tensor t2[3];
    tensors_into(t2, w2, bb, s2);
    dlrt_ckpt_info info;
    ck_assert_msg(dlrt_st_read(tpath("a.st"), t2, 3, "toy", &info, &e) == 0, "%s", e.msg);
    ck_assert_mem_eq(w2, w1, sizeof w1);
    ck_assert_mem_eq(bb, b1, sizeof b1);
    ck_assert_int_eq(s2[0], 42);
    ck_assert_str_eq(info.model, "toy");
    ck_assert_int_eq(info.epoch, 3);
    ck_assert_int_eq(info.step, 77);
    ck_assert_int_eq(info.seed, 5);
    /* a subset (the parameters only) reads too */
    memset(w2, 0, sizeof w2);
    ck_assert_int_eq(dlrt_st_read(tpath("a.st"), t2, 2, "toy", NULL, &e), 0);
    ck_assert_mem_eq(w2, w1, sizeof w1);
    /* overwriting replaces */
    w1[0] = 99;
    ck_assert_int_eq(dlrt_st_write(tpath("a.st"), tensors, 3, meta, 5, &e), 0);
    ck_assert_int_eq(dlrt_st_read(tpath("a.st"), t2, 1, "toy", NULL, &e), 0);
    ck_assert_float_eq(w2[0], 99);
    ck_assert_int_eq(count_files(), 1);
    remove_tmpdir();
}
END_TEST

START_TEST(st_atomic_failed_save)
{
    make_tmpdir();
    setup_tensors();
    dlrt_err e;
    const char *good = tpath("good.st");
    ck_assert_int_eq(dlrt_st_write(good, tensors, 3, meta, 5, &e), 0);
    struct stat st0;
    stat(good, &st0);
    FILE *f = fopen(good, "rb");
    char before[4096];
    size_t nbefore = fread(before, 1, sizeof before, f);
    fclose(f);

    /* 1. the write fails midway (file size limit): the old file survives */
    static float big[100000];
    dlrt_tensor bt = {"dense_1.kernel", DLRT_F32, 1, {100000}, big};
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {1000, 1000};
        setrlimit(RLIMIT_FSIZE, &rl);
        dlrt_err ce;
        int rc = dlrt_st_write(good, &bt, 1, meta, 5, &ce);
        _exit(rc == -1 && strstr(ce.msg, "cannot write") ? 0 : 1);
    }
    int ws;
    waitpid(pid, &ws, 0);
    ck_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    f = fopen(good, "rb");
    char after[4096];
    size_t nafter = fread(after, 1, sizeof after, f);
    fclose(f);
    ck_assert_uint_eq(nafter, nbefore);
    ck_assert_mem_eq(after, before, nbefore);
    ck_assert_int_eq(count_files(), 1); /* no temporary file left */

    /* 2. the destination is a folder: rename fails, nothing is left */
    ck_assert_int_eq(mkdir(tpath("dir.st"), 0755), 0);
    ck_assert_int_eq(dlrt_st_write(tpath("dir.st"), tensors, 3, meta, 5, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "dir.st"));
    ck_assert_int_eq(count_files(), 2);

    /* 3. a folder that does not exist */
    ck_assert_int_eq(dlrt_st_write(tpath("nope/x.st"), tensors, 3, meta, 5, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "cannot write"));

    /* 3b. killed by a signal in the middle of a save: no temporary file
       is left and the old checkpoint is intact (with a file without a
       name, and with a named one as where O_TMPFILE is missing) */
    for (int use = 1; use >= 0; use--) {
        pid = fork();
        if (pid == 0) {
            dlrt_atomic a;
            dlrt_err ce;
            dlrt_atomic_use_tmpfile(use);
            signal(SIGTERM, SIG_DFL); /* not Check's handler, which kills the whole group */
            if (dlrt_atomic_open(&a, good, &ce)) _exit(1);
            fputs("partial", a.f);
            fflush(a.f);
            raise(SIGTERM);
            _exit(2); /* not reached */
        }
        waitpid(pid, &ws, 0);
        ck_assert(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGTERM);
        ck_assert_int_eq(count_files(), 2);
        f = fopen(good, "rb");
        nafter = fread(after, 1, sizeof after, f);
        fclose(f);
        ck_assert_uint_eq(nafter, nbefore);
        ck_assert_mem_eq(after, before, nbefore);
    }

    /* 4. an unwritable folder (only meaningful when not root) */
    if (geteuid() != 0) {
        ck_assert_int_eq(chmod(tmpdir, 0555), 0);
        ck_assert_int_eq(dlrt_st_write(good, &bt, 1, meta, 5, &e), -1);
        chmod(tmpdir, 0755);
        f = fopen(good, "rb");
        nafter = fread(after, 1, sizeof after, f);
        fclose(f);
        ck_assert_mem_eq(after, before, nbefore);
        ck_assert_int_eq(count_files(), 2);
    }
    remove_tmpdir();
}
END_TEST

/* ---- atomic saves: temporary files, signals, destinations, errors --------- */

/* Whether tmpdir's file system makes files without a name (O_TMPFILE). */
static int has_tmpfile(void)
{
    int fd = open(tmpdir, O_TMPFILE | O_WRONLY, 0600);
    if (fd < 0) return 0;
    close(fd);
    return 1;
}

/* The only name in the temp dir that starts with `prefix`, or "" (static). */
static const char *find_file(const char *prefix)
{
    static char found[256];
    found[0] = '\0';
    DIR *d = opendir(tmpdir);
    struct dirent *de;
    while ((de = readdir(d)))
        if (!strncmp(de->d_name, prefix, strlen(prefix))) snprintf(found, sizeof found, "%s", de->d_name);
    closedir(d);
    return found;
}

static int file_exists(const char *name)
{
    struct stat st;
    return lstat(tpath(name), &st) == 0;
}

static void write_text(const char *name, const char *text)
{
    FILE *f = fopen(tpath(name), "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* The whole of a small file, as a string (static). */
static const char *read_text(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Saves `text` to path through dlrt_atomic; returns its result. */
static int save_text(const char *path, const char *text, dlrt_err *e)
{
    dlrt_atomic a;
    if (dlrt_atomic_open(&a, path, e)) return -1;
    fputs(text, a.f);
    return dlrt_atomic_commit(&a, e);
}

/* #11.10: with O_TMPFILE nothing named exists while the data is written;
 * the named path shows DEST.tmp-XXXXXX meanwhile.  Where the build folder
 * cannot make unnamed files (overlayfs before Linux 6.6), in /dev/shm. */
START_TEST(st_atomic_unnamed)
{
    make_tmpdir();
    if (!has_tmpfile()) {
        remove_tmpdir();
        snprintf(tmpdir, sizeof tmpdir, "/dev/shm/rt-ckpt-XXXXXX");
        ck_assert_msg(mkdtemp(tmpdir) != NULL, "neither the build folder nor /dev/shm can make O_TMPFILE files");
    }
    ck_assert_msg(has_tmpfile(), "neither the build folder nor /dev/shm can make O_TMPFILE files");
    dlrt_atomic a;
    dlrt_err e;
    ck_assert_int_eq(dlrt_atomic_open(&a, tpath("a.st"), &e), 0);
    fputs("new data", a.f);
    fflush(a.f);
    ck_assert_int_eq(count_files(), 0);
    ck_assert_int_eq(dlrt_atomic_commit(&a, &e), 0);
    ck_assert_int_eq(count_files(), 1);
    ck_assert_str_eq(read_text(tpath("a.st")), "new data");
    struct stat st;
    ck_assert_int_eq(stat(tpath("a.st"), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0644);
    /* an abandoned save leaves nothing either */
    ck_assert_int_eq(dlrt_atomic_open(&a, tpath("b.st"), &e), 0);
    fputs("abandoned", a.f);
    dlrt_atomic_abort(&a);
    ck_assert_int_eq(count_files(), 1);

    dlrt_atomic_use_tmpfile(0);
    ck_assert_int_eq(dlrt_atomic_open(&a, tpath("a.st"), &e), 0);
    ck_assert_int_eq(count_files(), 2);
    ck_assert_uint_eq(strlen(find_file("a.st.tmp-")), strlen("a.st.tmp-XXXXXX"));
    dlrt_atomic_abort(&a);
    dlrt_atomic_use_tmpfile(1);
    ck_assert_int_eq(count_files(), 1);
    remove_tmpdir();
}
END_TEST

/* #11.10: a save killed where no handler runs (SIGKILL) leaves its
 * temporary file; the next save of the same file removes it, and only
 * files of that exact name pattern that no live save holds. */
START_TEST(st_atomic_stale)
{
    make_tmpdir();
    dlrt_err e;
    pid_t pid = fork();
    if (pid == 0) {
        dlrt_atomic a;
        dlrt_err ce;
        dlrt_atomic_use_tmpfile(0);
        if (dlrt_atomic_open(&a, tpath("a.st"), &ce)) _exit(1);
        fputs("partial", a.f);
        fflush(a.f);
        raise(SIGKILL);
        _exit(2);
    }
    int ws;
    waitpid(pid, &ws, 0);
    ck_assert(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
    char left[256];
    snprintf(left, sizeof left, "%s", find_file("a.st.tmp-"));
    ck_assert_uint_eq(strlen(left), strlen("a.st.tmp-XXXXXX"));
    /* look-alikes that are not leftovers of a.st */
    const char *keep[] = {"a.st.tmp-AbC12", "a.st.tmp-AbC1234", "a.st.tmp-AbC12_", "b.st.tmp-AbC123",
                          "xa.st.tmp-AbC123", "a.st.tmp"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) write_text(keep[i], "other");
    ck_assert_int_eq(mkdir(tpath("a.st.tmp-Dir123"), 0755), 0);
    write_text("victim", "not mine");
    ck_assert_int_eq(symlink("victim", tpath("a.st.tmp-Lnk123")), 0);
    /* a save in progress elsewhere holds a lock on its file */
    write_text("a.st.tmp-Lck123", "in progress");
    int lfd = open(tpath("a.st.tmp-Lck123"), O_RDONLY);
    ck_assert_int_eq(flock(lfd, LOCK_EX), 0);

    ck_assert_msg(save_text(tpath("a.st"), "saved", &e) == 0, "%s", e.msg);
    ck_assert_msg(!file_exists(left), "%s was left", left);
    ck_assert_str_eq(read_text(tpath("a.st")), "saved");
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) ck_assert_msg(file_exists(keep[i]), "%s", keep[i]);
    ck_assert(file_exists("a.st.tmp-Dir123") && file_exists("a.st.tmp-Lnk123") && file_exists("victim"));
    ck_assert(file_exists("a.st.tmp-Lck123"));
    close(lfd);
    ck_assert_int_eq(save_text(tpath("a.st"), "again", &e), 0);
    ck_assert(!file_exists("a.st.tmp-Lck123"));
    ck_assert_int_eq(count_files(), (int)(sizeof keep / sizeof keep[0]) + 4);
    remove_tmpdir();
}
END_TEST

static volatile sig_atomic_t got_term;
static void on_term(int sig)
{
    (void)sig;
    got_term = 1;
}

/* #11.9: a program that ignores SIGINT and SIGHUP (nohup, a background
 * job) and handles SIGTERM itself gets all three in the middle of a save:
 * the save completes, and the dispositions are the program's again. */
START_TEST(st_atomic_ignored_signals)
{
    make_tmpdir();
    for (int use = 0; use <= 1; use++) {
        pid_t pid = fork();
        if (pid == 0) {
            dlrt_atomic_use_tmpfile(use);
            signal(SIGINT, SIG_IGN);
            signal(SIGHUP, SIG_IGN);
            signal(SIGTERM, on_term);
            dlrt_atomic a;
            dlrt_err ce;
            if (dlrt_atomic_open(&a, tpath("s.st"), &ce)) _exit(10);
            fputs("first half,", a.f);
            fflush(a.f);
            raise(SIGINT);
            raise(SIGHUP);
            raise(SIGTERM);
            fputs("second half", a.f);
            if (dlrt_atomic_commit(&a, &ce)) {
                fprintf(stderr, "%s\n", ce.msg);
                _exit(11);
            }
            struct sigaction sa;
            sigaction(SIGINT, NULL, &sa);
            if (sa.sa_handler != SIG_IGN) _exit(12);
            sigaction(SIGTERM, NULL, &sa);
            if (sa.sa_handler != on_term) _exit(13);
            _exit(got_term ? 0 : 14);
        }
        int ws;
        waitpid(pid, &ws, 0);
        ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "use_tmpfile %d: status %d", use, ws);
        ck_assert_str_eq(read_text(tpath("s.st")), "first half,second half");
        ck_assert_int_eq(count_files(), 1);
    }
    remove_tmpdir();
}
END_TEST

/* #11.12: which destinations a save may replace.  A link is written
 * through (relative links relative to their folder, chains, a link whose
 * target does not exist yet); anything but a regular file, and a
 * read-only file, is refused and left as it was. */
START_TEST(st_atomic_targets)
{
    make_tmpdir();
    dlrt_err e;
    char want[2048];
    struct stat st;
    for (int use = 1; use >= 0; use--) {
        dlrt_atomic_use_tmpfile(use);
        /* links: the link stays, its target is replaced */
        write_text("real.st", "old");
        ck_assert_int_eq(symlink("real.st", tpath("link.st")), 0);
        ck_assert_msg(save_text(tpath("link.st"), "through", &e) == 0, "%s", e.msg);
        ck_assert_int_eq(lstat(tpath("link.st"), &st), 0);
        ck_assert(S_ISLNK(st.st_mode));
        ck_assert_str_eq(read_text(tpath("real.st")), "through");
        ck_assert_int_eq(mkdir(tpath("sub"), 0755), 0);
        ck_assert_int_eq(symlink("../real2.st", tpath("sub/rel.st")), 0); /* target missing */
        ck_assert_int_eq(symlink("sub/rel.st", tpath("chain.st")), 0);
        ck_assert_msg(save_text(tpath("chain.st"), "chained", &e) == 0, "%s", e.msg);
        ck_assert_str_eq(read_text(tpath("real2.st")), "chained");
        ck_assert(lstat(tpath("chain.st"), &st) == 0 && S_ISLNK(st.st_mode));
        ck_assert(lstat(tpath("sub/rel.st"), &st) == 0 && S_ISLNK(st.st_mode));
        ck_assert_int_eq(count_files(), 5);

        /* not regular files */
        ck_assert_int_eq(symlink("/dev/null", tpath("null.st")), 0);
        ck_assert_int_eq(save_text(tpath("null.st"), "x", &e), -1);
        snprintf(want, sizeof want, "cannot write %s (a link to /dev/null): it is a character device, not a regular file",
                 tpath("null.st"));
        ck_assert_str_eq(e.msg, want);
        ck_assert(lstat(tpath("null.st"), &st) == 0 && S_ISLNK(st.st_mode));
        ck_assert_int_eq(mkfifo(tpath("fifo.st"), 0644), 0);
        ck_assert_int_eq(save_text(tpath("fifo.st"), "x", &e), -1);
        snprintf(want, sizeof want, "cannot write %s: it is a FIFO, not a regular file", tpath("fifo.st"));
        ck_assert_str_eq(e.msg, want);
        ck_assert(lstat(tpath("fifo.st"), &st) == 0 && S_ISFIFO(st.st_mode));
        if (mknod(tpath("dev.st"), S_IFCHR | 0666, makedev(1, 3)) == 0) { /* root only */
            ck_assert_int_eq(save_text(tpath("dev.st"), "x", &e), -1);
            snprintf(want, sizeof want, "cannot write %s: it is a character device, not a regular file",
                     tpath("dev.st"));
            ck_assert_str_eq(e.msg, want);
            ck_assert(lstat(tpath("dev.st"), &st) == 0 && S_ISCHR(st.st_mode));
            unlink(tpath("dev.st"));
        }
        ck_assert_int_eq(symlink("sub", tpath("dirlink.st")), 0);
        ck_assert_int_eq(save_text(tpath("dirlink.st"), "x", &e), -1);
        snprintf(want, sizeof want, "cannot write %s (a link to %s): Is a directory", tpath("dirlink.st"),
                 tpath("sub"));
        ck_assert_str_eq(e.msg, want);
        ck_assert_int_eq(symlink("loop2.st", tpath("loop1.st")), 0);
        ck_assert_int_eq(symlink("loop1.st", tpath("loop2.st")), 0);
        ck_assert_int_eq(save_text(tpath("loop1.st"), "x", &e), -1);
        snprintf(want, sizeof want, "cannot write %s: Too many levels of symbolic links", tpath("loop1.st"));
        ck_assert_str_eq(e.msg, want);

        /* a read-only file is refused, even for root; a writable one keeps its mode */
        write_text("ro.st", "protected");
        ck_assert_int_eq(chmod(tpath("ro.st"), 0444), 0);
        ck_assert_int_eq(save_text(tpath("ro.st"), "x", &e), -1);
        snprintf(want, sizeof want, "cannot write %s: the file is read-only", tpath("ro.st"));
        ck_assert_str_eq(e.msg, want);
        ck_assert_str_eq(read_text(tpath("ro.st")), "protected");
        write_text("private.st", "mine");
        ck_assert_int_eq(chmod(tpath("private.st"), 0600), 0);
        ck_assert_int_eq(save_text(tpath("private.st"), "still mine", &e), 0);
        ck_assert_int_eq(stat(tpath("private.st"), &st), 0);
        ck_assert_int_eq(st.st_mode & 0777, 0600);
        ck_assert_int_eq(count_files(), 12);
        remove_tmpdir();
        make_tmpdir();
    }
    dlrt_atomic_use_tmpfile(1);
    remove_tmpdir();
}
END_TEST

/* Fault injection for #11.11: this definition takes the place of libc's
 * fsync for the runtime linked into this test; fsync_fail_at = k makes
 * the k-th call from now fail with EIO. */
static int fsync_fail_at, fsync_calls;
int fsync(int fd)
{
    if (fsync_fail_at && ++fsync_calls == fsync_fail_at) {
        errno = EIO;
        return -1;
    }
    return (int)syscall(SYS_fsync, fd);
}

/* #11.11: a failed fsync of the file, or of its folder after the rename,
 * is an error naming the file; a full file system too (a small tmpfs in a
 * mount namespace of a child, where mounting is allowed). */
START_TEST(st_atomic_write_errors)
{
    make_tmpdir();
    dlrt_err e;
    char want[2048];
    for (int use = 1; use >= 0; use--) {
        dlrt_atomic_use_tmpfile(use);
        ck_assert_int_eq(save_text(tpath("g.st"), "good", &e), 0);
        fsync_calls = 0;
        fsync_fail_at = 1; /* the file's */
        ck_assert_int_eq(save_text(tpath("g.st"), "lost", &e), -1);
        snprintf(want, sizeof want, "cannot write %s: Input/output error", tpath("g.st"));
        ck_assert_str_eq(e.msg, want);
        ck_assert_str_eq(read_text(tpath("g.st")), "good");
        ck_assert_int_eq(count_files(), 1);
        fsync_calls = 0;
        fsync_fail_at = 2; /* the folder's, after the rename */
        ck_assert_int_eq(save_text(tpath("g.st"), "not durable", &e), -1);
        snprintf(want, sizeof want,
                 "cannot write %s: Input/output error (syncing its folder after the rename; the file is in place "
                 "but may not survive a crash)",
                 tpath("g.st"));
        ck_assert_str_eq(e.msg, want);
        ck_assert_int_eq(count_files(), 1);
        fsync_fail_at = 0;
    }
    dlrt_atomic_use_tmpfile(1);

    pid_t pid = fork();
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) _exit(77);
        if (mkdir(tpath("small"), 0755) != 0 || mount("tmpfs", tpath("small"), "tmpfs", 0, "size=64k") != 0)
            _exit(77);
        static float big[100000];
        dlrt_tensor bt = {"dense_1.kernel", DLRT_F32, 1, {100000}, big};
        dlrt_err ce;
        if (save_text(tpath("small/x.st"), "fits", &ce) != 0) _exit(1);
        if (dlrt_st_write(tpath("small/x.st"), &bt, 1, meta, 5, &ce) != -1) _exit(2);
        char msg[2048];
        snprintf(msg, sizeof msg, "cannot write %s: No space left on device", tpath("small/x.st"));
        if (strcmp(ce.msg, msg) != 0) {
            fprintf(stderr, "got '%s'\n", ce.msg);
            _exit(3);
        }
        if (strcmp(read_text(tpath("small/x.st")), "fits") != 0) _exit(4);
        DIR *d = opendir(tpath("small"));
        int n = 0;
        while (readdir(d)) n++;
        closedir(d);
        _exit(n == 3 ? 0 : 5); /* ".", ".." and x.st */
    }
    int ws;
    waitpid(pid, &ws, 0);
    ck_assert(WIFEXITED(ws));
    if (WEXITSTATUS(ws) == 77) fprintf(stderr, "st_atomic_write_errors: no mount namespace, full-disk part skipped\n");
    else ck_assert_int_eq(WEXITSTATUS(ws), 0);
    remove_tmpdir();
}
END_TEST

/* Writes a checkpoint file from a header string and n data bytes. */
static void write_raw(const char *path, const char *header, uint64_t hlen_claim, size_t ndata)
{
    FILE *f = fopen(path, "wb");
    for (int k = 0; k < 8; k++) fputc((int)((hlen_claim >> (8 * k)) & 0xff), f);
    fputs(header, f);
    for (size_t i = 0; i < ndata; i++) fputc(0, f);
    fclose(f);
}

static void read_fails(const char *header, size_t ndata, int n, const char *want)
{
    const char *p = tpath("bad.st");
    write_raw(p, header, strlen(header), ndata);
    float w[6], b[3];
    int32_t s[1];
    dlrt_tensor t[3];
    tensors_into(t, w, b, s);
    dlrt_err e;
    ck_assert_int_eq(dlrt_st_read(p, t, n, "toy", NULL, &e), -1);
    ck_assert_msg(strstr(e.msg, want) != NULL, "message '%s' lacks '%s'", e.msg, want);
}

#define K "\"dense_1.kernel\""
#define B "\"dense_1.bias\""
START_TEST(st_corrupt)
{
    make_tmpdir();
    setup_tensors();
    const char *okb = B ":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]}";
    char h[1024];

    /* file too short, header length beyond the file */
    write_raw(tpath("bad.st"), "", 0, 0);
    FILE *f = fopen(tpath("bad.st"), "wb");
    fputs("abc", f);
    fclose(f);
    {
        dlrt_err e;
        ck_assert_int_eq(dlrt_st_read(tpath("bad.st"), tensors, 1, "toy", NULL, &e), -1);
        ck_assert_ptr_nonnull(strstr(e.msg, "too short"));
        write_raw(tpath("bad.st"), "{}", 1000, 0);
        ck_assert_int_eq(dlrt_st_read(tpath("bad.st"), tensors, 1, "toy", NULL, &e), -1);
        ck_assert_ptr_nonnull(strstr(e.msg, "beyond the end of the file"));
        ck_assert_int_eq(dlrt_st_read(tpath("missing.st"), tensors, 1, "toy", NULL, &e), -1);
        ck_assert_ptr_nonnull(strstr(e.msg, "cannot open"));
    }
    read_fails("{\"a\":", 0, 1, "malformed checkpoint header");
    read_fails("[1,2]", 0, 1, "not a JSON object");
    snprintf(h, sizeof h, "{%s}", okb);
    read_fails(h, 36, 2, "has no tensor 'dense_1.kernel'");
    snprintf(h, sizeof h, "{" K ":{\"dtype\":\"I32\",\"shape\":[2,3],\"data_offsets\":[0,24]},%s}", okb);
    read_fails(h, 36, 2, "tensor 'dense_1.kernel' is I32 in the checkpoint but F32 in the model");
    snprintf(h, sizeof h, "{" K ":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24]},%s}", okb);
    read_fails(h, 36, 2, "tensor 'dense_1.kernel' has shape [3,2] in the checkpoint but the model expects [2,3]");
    snprintf(h, sizeof h, "{" K ":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},%s}", okb);
    read_fails(h, 30, 2, "out of range");
    snprintf(h, sizeof h, "{" K ":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]},%s}", okb);
    read_fails(h, 36, 2, "has 20 bytes of data, its dtype and shape need 24");
    snprintf(h, sizeof h, "{" K ":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[-4,20]},%s}", okb);
    read_fails(h, 36, 2, "out of range");
    snprintf(h, sizeof h, "{" K ":{\"dtype\":\"F32\",\"shape\":[2,3]},%s}", okb);
    read_fails(h, 36, 2, "no \"data_offsets\"");
    snprintf(h, sizeof h, "{" K ":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,12]},%s}", okb);
    read_fails(h, 36, 2, "unsupported dtype \"BF16\"");
    snprintf(h, sizeof h, "{" K ":{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,24]},%s}", okb);
    read_fails(h, 36, 2, "bad dimension");
    snprintf(h, sizeof h, "{" K ":{\"dtype\":\"F32\",\"shape\":[1,4611686018427387904],\"data_offsets\":[0,24]},%s}",
             okb);
    read_fails(h, 36, 2, "shape larger than the file");
    snprintf(h, sizeof h, "{" K ":7,%s}", okb);
    read_fails(h, 36, 2, "is not an object");
    snprintf(h, sizeof h, "{%s,%s}", okb, okb);
    read_fails(h, 36, 2, "appears twice");
    snprintf(h, sizeof h,
             "{\"__metadata__\":{\"model\":\"other\"}," K
             ":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},%s}",
             okb);
    read_fails(h, 36, 2, "is a checkpoint of model 'other', not of 'toy'");
    snprintf(h, sizeof h, "{\"__metadata__\":{\"epoch\":3},%s}", okb);
    read_fails(h, 36, 2, "metadata value \"epoch\" is not a string");
    snprintf(h, sizeof h, "{\"__metadata__\":{\"epoch\":\"-1\"},%s}", okb);
    read_fails(h, 36, 2, "not a non-negative integer");

    /* a failed read leaves the model's tensors untouched */
    snprintf(h, sizeof h, "{" K ":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}");
    write_raw(tpath("bad.st"), h, strlen(h), 24);
    dlrt_err e;
    float keep = w1[0];
    ck_assert_int_eq(dlrt_st_read(tpath("bad.st"), tensors, 2, "toy", NULL, &e), -1);
    ck_assert_float_eq(w1[0], keep);
    /* metadata without a model name is accepted (weights from elsewhere) */
    ck_assert_msg(dlrt_st_read(tpath("bad.st"), tensors, 1, "toy", NULL, &e) == 0, "%s", e.msg);
    ck_assert_float_eq(w1[0], 0.0f);
    remove_tmpdir();
}
END_TEST

/* #11.5: a checkpoint holding a NaN or an infinity is refused when the
 * caller requires finite values, naming the file, the tensor and the
 * element, and the model's tensors are untouched; only the tensors read
 * are checked; without the flag it loads. */
START_TEST(st_nonfinite)
{
    make_tmpdir();
    setup_tensors();
    dlrt_err e;
    char want[2048];
    b1[1] = NAN;
    ck_assert_int_eq(dlrt_st_write(tpath("nan.st"), tensors, 3, meta, 5, &e), 0);
    float w[6] = {0}, b[3] = {0};
    int32_t sc[1] = {0};
    dlrt_tensor t[3];
    tensors_into(t, w, b, sc);
    ck_assert_int_eq(dlrt_st_read_ex(tpath("nan.st"), t, 3, "toy", DLRT_ST_REQUIRE_FINITE, NULL, &e), -1);
    snprintf(want, sizeof want,
             "%s: tensor 'dense_1.bias' holds a non-finite value (nan at index 1); pass --allow-nonfinite to load "
             "it anyway",
             tpath("nan.st"));
    ck_assert_str_eq(e.msg, want);
    ck_assert(w[1] == 0 && b[0] == 0 && sc[0] == 0);
    ck_assert_int_eq(dlrt_st_read_ex(tpath("nan.st"), t, 1, "toy", DLRT_ST_REQUIRE_FINITE, NULL, &e), 0);
    ck_assert_float_eq(w[1], w1[1]);
    ck_assert_int_eq(dlrt_st_read(tpath("nan.st"), t, 3, "toy", NULL, &e), 0);
    ck_assert(isnan(b[1]));

    b1[1] = 1;
    w1[4] = -INFINITY;
    ck_assert_int_eq(dlrt_st_write(tpath("inf.st"), tensors, 3, meta, 5, &e), 0);
    ck_assert_int_eq(dlrt_st_read_ex(tpath("inf.st"), t, 3, "toy", DLRT_ST_REQUIRE_FINITE, NULL, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "tensor 'dense_1.kernel' holds a non-finite value (-inf at index 4)"));

    /* f64, and an element past the reader's first chunk */
    static double d[20000];
    d[19999] = INFINITY;
    dlrt_tensor dt = {"big", DLRT_F64, 1, {20000}, d};
    ck_assert_int_eq(dlrt_st_write(tpath("f64.st"), &dt, 1, NULL, 0, &e), 0);
    d[19999] = 0;
    ck_assert_int_eq(dlrt_st_read_ex(tpath("f64.st"), &dt, 1, NULL, DLRT_ST_REQUIRE_FINITE, NULL, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "tensor 'big' holds a non-finite value (inf at index 19999)"));
    ck_assert(d[19999] == 0);
    remove_tmpdir();
}
END_TEST

/* A header of n one-byte entries t000000, t000001, ...; with `dup` the
 * last one repeats the first's name.  Returns its length; h holds it. */
static size_t many_entries(char *h, size_t cap, int n, int dup)
{
    size_t l = (size_t)snprintf(h, cap, "{");
    for (int i = 0; i < n; i++)
        l += (size_t)snprintf(h + l, cap - l, "%s\"t%06d\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[%d,%d]}",
                              i ? "," : "", dup && i == n - 1 ? 0 : i, i, i + 1);
    l += (size_t)snprintf(h + l, cap - l, "}");
    return l;
}

/* #11.13: 100,000 entries are read in near-linear time (the pairwise
 * check of repeated names took minutes here; the test case's limit is
 * 60 s), a repeated name is still found, and every entry can be read. */
START_TEST(st_many_entries)
{
    make_tmpdir();
    enum { N = 100000 };
    size_t cap = (size_t)N * 80 + 64;
    char *h = malloc(cap);
    dlrt_err e;
    uint8_t v = 1;
    dlrt_tensor t[2] = {{"t099999", DLRT_U8, 0, {0}, &v}, {"t000000", DLRT_U8, 0, {0}, &v}};
    many_entries(h, cap, N, 0);
    write_raw(tpath("many.st"), h, strlen(h), N);
    ck_assert_msg(dlrt_st_read(tpath("many.st"), t, 2, NULL, NULL, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(v, 0);
    t[0].name = "t100000";
    ck_assert_int_eq(dlrt_st_read(tpath("many.st"), t, 1, NULL, NULL, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "the checkpoint has no tensor 't100000'"));
    many_entries(h, cap, N, 1);
    write_raw(tpath("many.st"), h, strlen(h), N);
    ck_assert_int_eq(dlrt_st_read(tpath("many.st"), t, 1, NULL, NULL, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "tensor 't000000' appears twice"));
    free(h);
    remove_tmpdir();
}
END_TEST

/* Random corruptions of a valid checkpoint (flipped bytes, truncations):
 * the reader must fail with a message or succeed, never crash or read out
 * of bounds (the suite runs under ASan). */
START_TEST(st_mutations)
{
    make_tmpdir();
    setup_tensors();
    dlrt_err e;
    ck_assert_int_eq(dlrt_st_write(tpath("a.st"), tensors, 3, meta, 5, &e), 0);
    FILE *f = fopen(tpath("a.st"), "rb");
    unsigned char orig[2048], buf[2048];
    size_t n = fread(orig, 1, sizeof orig, f);
    fclose(f);
    float w[6], b[3];
    int32_t sc[1];
    dlrt_tensor t[3];
    tensors_into(t, w, b, sc);
    int failed = 0;
    for (uint64_t it = 0; it < 1000; it++) {
        memcpy(buf, orig, n);
        size_t len = n;
        uint64_t r = dlrt_key(17, it);
        if (r % 4 == 0) {
            len = (size_t)(dlrt_key(18, it) % n); /* truncate */
        } else {
            for (int k = 0; k < 1 + (int)(r % 3); k++) {
                size_t at = (size_t)(dlrt_key(19, it * 4 + (uint64_t)k) % n);
                buf[at] = (unsigned char)dlrt_key(20, it * 4 + (uint64_t)k);
            }
        }
        f = fopen(tpath("m.st"), "wb");
        fwrite(buf, 1, len, f);
        fclose(f);
        e.msg[0] = '\0';
        int rc = dlrt_st_read(tpath("m.st"), t, 3, "toy", NULL, &e);
        ck_assert(rc == 0 || rc == -1);
        if (rc == -1) {
            ck_assert(e.msg[0] != '\0');
            failed++;
        }
    }
    ck_assert_int_gt(failed, 300);
    remove_tmpdir();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("runtime_ckpt");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, json_valid);
    tcase_add_test(tc, json_malformed);
    tcase_add_test(tc, st_round_trip);
    tcase_add_test(tc, st_atomic_failed_save);
    tcase_add_test(tc, st_atomic_unnamed);
    tcase_add_test(tc, st_atomic_stale);
    tcase_add_test(tc, st_atomic_ignored_signals);
    tcase_add_test(tc, st_atomic_targets);
    tcase_add_test(tc, st_atomic_write_errors);
    tcase_add_test(tc, st_corrupt);
    tcase_add_test(tc, st_nonfinite);
    tcase_add_test(tc, st_mutations);
    suite_add_tcase(s, tc);
    TCase *scale = tcase_create("scale");
    tcase_set_timeout(scale, 60);
    tcase_add_test(scale, st_many_entries);
    suite_add_tcase(s, scale);
    return tu_run_suite(s);
}
