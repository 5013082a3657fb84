/* cmd_verify.c - `dlc verify`: check C source with libclang.
 *
 * Parses FILE as C99 and prints clang's diagnostics; with --embedded also
 * enforces the rules for embeddable inference code (codegen/cverify.h):
 * no heap, no stdio, no VLAs, no recursion, only a few system headers.
 * Exit status: 0 clean, 1 any clang error or rule violation (or a file that
 * cannot be read), 2 bad usage.  Warnings alone do not fail the check.
 */
#include <stdio.h>
#include <string.h>

#include "../codegen/cverify.h"
#include "../ir/arena.h"
#include "args.h"
#include "commands.h"

static void help(void)
{
    printf("usage: dlc verify FILE.c [--embedded] [--no-blas] [-I DIR]... [-D NAME[=V]]... [-v]\n\n"
           "Parses FILE.c with libclang as C99 (-std=c99 -pedantic -Wall) and prints its\n"
           "errors and warnings as FILE:LINE:COL: error|warning: message.\n\n"
           "  --embedded     also enforce the rules for embeddable inference code:\n"
           "                 no malloc/calloc/realloc/free (nor aligned_alloc,\n"
           "                 posix_memalign, alloca), nothing of <stdio.h>, no\n"
           "                 variable-length arrays, no recursion (direct or mutual),\n"
           "                 and only <stdint.h>, <stddef.h>, <string.h>, <math.h>,\n"
           "                 <cblas.h> and the file's own \"X.h\" headers next to it\n"
           "                 (which are checked by the same rules)\n"
           "  --no-blas      with --embedded: <cblas.h> and cblas_* are not allowed\n"
           "  -I DIR         add DIR to the include path (also -IDIR)\n"
           "  -D NAME[=V]    define a macro (also -DNAME[=V])\n"
           "  -v, --verbose  print a one-line summary when the file is clean\n\n"
           "Violations print as FILE:LINE:COL: error: [embedded] RULE: DETAIL.\n"
           "Exit status: 0 clean, 1 errors or violations, 2 bad usage.\n");
}

/* Matches `-X VALUE`, `-X=VALUE` or `-XVALUE` for a one-letter flag. */
static bool short_opt(ArgIter *it, const char *flag)
{
    if (!args_more(it)) return false;
    const char *w = it->argv[it->i];
    size_t n = strlen(flag);
    if (strncmp(w, flag, n) == 0 && w[n] != '\0' && w[n] != '=') {
        it->value = w + n;
        it->i++;
        return true;
    }
    return args_opt(it, flag);
}

int dlc_cmd_verify(int argc, char **argv)
{
    ArgIter it;
    args_init(&it, "verify", argc - 1, argv + 1);
    Arena arena;
    arena_init(&arena);
    const char **dirs = ARENA_NEW_N(&arena, const char *, argc);
    const char **defs = ARENA_NEW_N(&arena, const char *, argc);
    CVerifyOptions o = {0};
    o.include_dirs = dirs;
    o.defines = defs;
    const char *file = NULL;
    bool verbose = false;
    int rc = EXIT_OK;
    while (args_more(&it)) {
        if (args_flag(&it, "--help") || args_flag(&it, "-h")) {
            help();
            arena_free(&arena);
            return EXIT_OK;
        } else if (args_flag(&it, "--embedded")) {
            o.embedded = true;
        } else if (args_flag(&it, "--no-blas")) {
            o.no_blas = true;
        } else if (args_flag(&it, "-v") || args_flag(&it, "--verbose")) {
            verbose = true;
        } else if (short_opt(&it, "-I")) {
            if (!*it.value) rc = args_usage_error(&it, "-I needs a directory");
            dirs[o.n_include_dirs++] = it.value;
        } else if (short_opt(&it, "-D")) {
            if (!*it.value || *it.value == '=')
                rc = args_usage_error(&it, "-D needs a macro name");
            defs[o.n_defines++] = it.value;
        } else {
            const char *w = args_positional(&it);
            if (!w) break;
            if (file) {
                rc = args_usage_error(&it, "more than one file given ('%s' and '%s')", file, w);
                break;
            }
            file = w;
        }
    }
    if (rc == EXIT_OK && it.failed) rc = EXIT_USAGE;
    if (rc == EXIT_OK && !file) rc = args_usage_error(&it, "no C file given");
    if (rc != EXIT_OK) {
        arena_free(&arena);
        return rc;
    }

    fflush(stdout);
    CVerifyStats st;
    int n = cverify_file_stats(file, &o, stderr, &st);
    arena_free(&arena);
    if (n < 0) return EXIT_USER;
    if (verbose && n == 0) {
        printf("%s: ok (C99", file);
        if (o.embedded)
            printf(", embedded rules: %d file%s, %d function%s", st.files, st.files == 1 ? "" : "s",
                   st.functions, st.functions == 1 ? "" : "s");
        if (st.warnings) printf(", %d warning%s", st.warnings, st.warnings == 1 ? "" : "s");
        printf(")\n");
    } else if (verbose) {
        printf("%s: %d error%s, %d violation%s, %d warning%s\n", file, st.errors,
               st.errors == 1 ? "" : "s", st.violations, st.violations == 1 ? "" : "s",
               st.warnings, st.warnings == 1 ? "" : "s");
    }
    return n == 0 ? EXIT_OK : EXIT_USER;
}
