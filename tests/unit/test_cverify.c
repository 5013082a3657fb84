/* test_cverify.c - unit tests of the C checker API (codegen/cverify.h).
 *
 * Runs cverify_file_stats on the lit inputs (tests/lit/verify/inputs) and on
 * small files written to the build tree, and checks the return value, the
 * counts and the exact report lines.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cverify.h"
#include "testutil.h"

#define INPUTS DLC_SOURCE_DIR "/tests/lit/verify/inputs/"
#define SCRATCH DLC_BINARY_DIR "/test_cverify.tmp"

/* Runs the checker on `path`; returns its result and leaves the report in
 * `buf` (NUL-terminated). */
static int run(const char *path, const CVerifyOptions *o, CVerifyStats *st, char *buf,
               size_t cap)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    int r = cverify_file_stats(path, o, f, st);
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
    return r;
}

/* Writes `text` to SCRATCH/name (creating its folder) and returns the path
 * (a static buffer). */
static const char *scratch(const char *name, const char *text)
{
    static char path[4096];
    char cmd[4200];
    snprintf(path, sizeof path, "%s/%s", SCRATCH, name);
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
    ck_assert_int_eq(system(cmd), 0);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static const CVerifyOptions embedded = {.embedded = true};

START_TEST(clean_file_passes)
{
    char buf[4096];
    CVerifyStats st;
    ck_assert_int_eq(run(INPUTS "clean.c", &embedded, &st, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "");
    ck_assert_int_eq(st.errors, 0);
    ck_assert_int_eq(st.warnings, 0);
    ck_assert_int_eq(st.violations, 0);
    ck_assert_int_eq(st.files, 2); /* clean.c and its own clean.h */
    ck_assert_int_eq(st.functions, 3);
}
END_TEST

START_TEST(malloc_is_a_violation)
{
    char buf[4096];
    CVerifyStats st;
    ck_assert_int_eq(run(INPUTS "malloc.c", &embedded, &st, buf, sizeof buf), 1);
    ck_assert_int_eq(st.violations, 1);
    ck_assert_int_eq(st.errors, 0);
    ck_assert_ptr_nonnull(strstr(buf, "malloc.c:6:12: error: [embedded] heap: call to 'malloc'\n"));
    /* Without the embedded rules the same file is valid C99. */
    ck_assert_int_eq(run(INPUTS "malloc.c", NULL, &st, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "");
    ck_assert_int_eq(cverify_file(INPUTS "malloc.c", &embedded, stdout), 1);
}
END_TEST

START_TEST(mutual_recursion_names_the_cycle)
{
    char buf[4096];
    CVerifyStats st;
    ck_assert_int_eq(run(INPUTS "mutual.c", &embedded, &st, buf, sizeof buf), 1);
    ck_assert_ptr_nonnull(strstr(
        buf, "mutual.c:4:41: error: [embedded] recursion: cycle 'pang' -> 'ping' -> 'pong' -> 'pang'\n"));
}
END_TEST

START_TEST(syntax_error_counts_as_error)
{
    char buf[4096];
    CVerifyStats st;
    ck_assert_int_eq(run(INPUTS "syntax.c", &embedded, &st, buf, sizeof buf), 1);
    ck_assert_int_eq(st.errors, 1);
    ck_assert_int_eq(st.violations, 0);
    ck_assert_ptr_nonnull(strstr(buf, "syntax.c:4:15: error: expected expression\n"));
}
END_TEST

START_TEST(missing_file_is_minus_one)
{
    char buf[4096];
    CVerifyStats st;
    ck_assert_int_eq(run(INPUTS "no-such-file.c", &embedded, &st, buf, sizeof buf), -1);
    ck_assert_ptr_nonnull(strstr(buf, "dlc: error: cannot read '"));
    ck_assert_ptr_nonnull(strstr(buf, "no-such-file.c': No such file or directory\n"));
}
END_TEST

START_TEST(defines_reach_the_parser)
{
    const char *p = scratch("defs.c", "#include <stddef.h>\n"
                                      "void free(void *p);\n"
                                      "void done(void *p)\n"
                                      "{\n"
                                      "#ifdef USE_FREE\n"
                                      "    free(p);\n"
                                      "#else\n"
                                      "    (void)p;\n"
                                      "#endif\n"
                                      "}\n");
    char buf[4096];
    CVerifyStats st;
    ck_assert_int_eq(run(p, &embedded, &st, buf, sizeof buf), 0);
    const char *defs[] = {"USE_FREE=1"};
    CVerifyOptions o = {.embedded = true, .defines = defs, .n_defines = 1};
    ck_assert_int_eq(run(p, &o, &st, buf, sizeof buf), 1);
    ck_assert_ptr_nonnull(strstr(buf, "defs.c:6:5: error: [embedded] heap: call to 'free'\n"));
}
END_TEST

START_TEST(include_dirs_reach_the_parser)
{
    scratch("inc/vf_dep.h", "#define VF_DEP 3\n");
    const char *p = scratch("dep.c", "#include <vf_dep.h>\n"
                                     "int dep_value(void) { return VF_DEP; }\n");
    char buf[4096];
    CVerifyStats st;
    /* Not found: clang's fatal error, and the include is not allowed. */
    ck_assert_int_eq(run(p, &embedded, &st, buf, sizeof buf), 2);
    ck_assert_int_eq(st.errors, 1);
    ck_assert_ptr_nonnull(strstr(buf, "dep.c:1:10: error: 'vf_dep.h' file not found\n"));
    const char *dirs[] = {SCRATCH "/inc"};
    CVerifyOptions o = {.include_dirs = dirs, .n_include_dirs = 1};
    ck_assert_int_eq(run(p, &o, &st, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "");
    o.embedded = true;
    ck_assert_int_eq(run(p, &o, &st, buf, sizeof buf), 1);
    ck_assert_int_eq(st.errors, 0);
    ck_assert_ptr_nonnull(strstr(
        buf, "dep.c:1:10: error: [embedded] include: <vf_dep.h> is not allowed (allowed: "
             "<stdint.h>, <stddef.h>, <string.h>, <math.h>, <cblas.h>)\n"));
}
END_TEST

START_TEST(own_headers_are_checked)
{
    scratch("model.h", "#include <stdint.h>\n"
                       "#include <stdio.h>\n"
                       "int32_t model_predict(const float *in, float *out);\n");
    const char *p = scratch("model.c", "#include \"model.h\"\n"
                                       "#include <cblas.h>\n"
                                       "int32_t model_predict(const float *in, float *out)\n"
                                       "{\n"
                                       "    cblas_scopy(4, in, 1, out, 1);\n"
                                       "    return 0;\n"
                                       "}\n");
    char buf[8192];
    CVerifyStats st;
    ck_assert_int_eq(run(p, &embedded, &st, buf, sizeof buf), 1);
    ck_assert_int_eq(st.files, 2);
    ck_assert_ptr_nonnull(strstr(buf, "model.h:2:10: error: [embedded] stdio: #include <stdio.h>\n"));
    /* With --no-blas the include and the call are violations too. */
    CVerifyOptions o = {.embedded = true, .no_blas = true};
    ck_assert_int_eq(run(p, &o, &st, buf, sizeof buf), 3);
    ck_assert_ptr_nonnull(strstr(
        buf, "model.c:2:10: error: [embedded] include: <cblas.h> is not allowed: BLAS is disabled (--no-blas)\n"));
    ck_assert_ptr_nonnull(strstr(
        buf, "model.c:5:5: error: [embedded] blas: call to 'cblas_scopy': BLAS is disabled (--no-blas)\n"));
    /* Sorted: the .c file's violations before its header's. */
    const char *in_c = strstr(buf, "model.c:5:5"), *in_h = strstr(buf, "model.h:2:10");
    ck_assert(in_c && in_h && in_c < in_h);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cverify");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, clean_file_passes);
    tcase_add_test(tc, malloc_is_a_violation);
    tcase_add_test(tc, mutual_recursion_names_the_cycle);
    tcase_add_test(tc, syntax_error_counts_as_error);
    tcase_add_test(tc, missing_file_is_minus_one);
    tcase_add_test(tc, defines_reach_the_parser);
    tcase_add_test(tc, include_dirs_reach_the_parser);
    tcase_add_test(tc, own_headers_are_checked);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
