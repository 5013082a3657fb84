/* testutil.c - helpers shared by the Check unit tests (see testutil.h).
 * Linked into every tests/unit/test_*.c executable by tests/tests.cmake;
 * DLC_SOURCE_DIR comes from the same compile definitions as the tests'. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, open_memstream */
#include "testutil.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/diag.h"

int tu_run_suite(Suite *s)
{
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Reads models/ with readdir and keeps the names that end in ".nn" (and
 * have at least one character before it); the stem is copied so that the
 * callback may keep using it while the walk goes on. */
int tu_for_each_model(void (*fn)(const TuModel *model, void *ctx), void *ctx)
{
    DIR *d = opendir(DLC_SOURCE_DIR "/models");
    ck_assert_ptr_nonnull(d);
    struct dirent *ent;
    int count = 0;
    while ((ent = readdir(d)) != NULL) {
        size_t len = strlen(ent->d_name);
        if (len < 4 || strcmp(ent->d_name + len - 3, ".nn") != 0) continue;
        char path[1024], stem[256];
        snprintf(path, sizeof path, "%s/models/%s", DLC_SOURCE_DIR, ent->d_name);
        snprintf(stem, sizeof stem, "%.*s", (int)(len - 3), ent->d_name);
        TuModel m = {path, ent->d_name, stem};
        fn(&m, ctx);
        count++;
    }
    closedir(d);
    ck_assert_int_gt(count, 0);
    return count;
}

void tu_make_tmpdir(char *dir, size_t size, const char *prefix)
{
    snprintf(dir, size, "%s/%s-XXXXXX", DLC_BINARY_DIR, prefix);
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

void tu_remove_tmpdir(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "chmod -R u+w '%s'; rm -rf '%s'", dir, dir);
    ck_assert_int_eq(system(cmd), 0);
}

const char *tu_path(const char *dir, const char *name)
{
    static char buf[4][700];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* setjmp is taken in this frame, which stays active while fn runs, so the
 * jump dlc_error makes on a user error lands here; nothing that changes
 * between setjmp and the jump lives in this frame's locals. */
char *tu_capture_error(void (*fn)(void *ctx), void *ctx)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    jmp_buf jb;
    diag_set_stream(f);
    diag_set_recover(&jb);
    int failed = setjmp(jb);
    if (!failed) fn(ctx);
    diag_set_recover(NULL);
    diag_set_stream(NULL);
    fclose(f);
    if (!failed) {
        free(buf);
        return NULL;
    }
    return buf;
}

void tu_compile(const char *cmd, const char *log, const char *name, const char *what)
{
    if (system(cmd) == 0) return;
    char buf[8192] = "";
    FILE *f = fopen(log, "r");
    if (f) {
        size_t k = fread(buf, 1, sizeof buf - 1, f);
        buf[k] = '\0';
        fclose(f);
    }
    ck_abort_msg("%s: %s does not compile cleanly:\n%s", name, what, buf);
}
