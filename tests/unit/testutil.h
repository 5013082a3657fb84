/* testutil.h - helpers shared by the Check unit tests in tests/unit/.
 *
 * Each tests/unit/test_*.c is its own executable; tests/tests.cmake links
 * testutil.c into every one of them.  Only code that several tests wrote
 * word for word lives here: running a suite, visiting every model of the
 * repository's models/ folder, temporary folders under the build dir,
 * catching a user error (dlc_error) with its message, and compiling
 * generated code. */
#ifndef DLC_TESTS_UNIT_TESTUTIL_H
#define DLC_TESTS_UNIT_TESTUTIL_H

#include <check.h>
#include <stddef.h>

/* Runs every test of `s` (CK_NORMAL output) and frees the runner.  Returns
 * EXIT_SUCCESS when none failed, EXIT_FAILURE otherwise: main's answer. */
int tu_run_suite(Suite *s);

/* One models/ file as tu_for_each_model hands it over. */
typedef struct {
    const char *path; /* DLC_SOURCE_DIR "/models/" + file */
    const char *file; /* the file name, e.g. "mlp.nn" */
    const char *stem; /* the file name without ".nn", e.g. "mlp" */
} TuModel;

/* Calls fn(model, ctx) for every *.nn file in DLC_SOURCE_DIR/models, in
 * directory order, and asserts (Check) that the folder opens and holds at
 * least one model.  Returns how many models it visited. */
int tu_for_each_model(void (*fn)(const TuModel *model, void *ctx), void *ctx);

/* Creates a fresh folder DLC_BINARY_DIR/PREFIX-XXXXXX (mkdtemp) and writes
 * its path to dir[size]; asserts (Check) that it was created. */
void tu_make_tmpdir(char *dir, size_t size, const char *prefix);

/* Removes the folder dir and all below it (made writable first, so that a
 * test may leave read-only parts); asserts that the removal succeeded. */
void tu_remove_tmpdir(const char *dir);

/* "DIR/NAME" in one of four static buffers used in turn, so that up to
 * four results may be used in one expression. */
const char *tu_path(const char *dir, const char *name);

/* Runs fn(ctx) with dlc_error's output sent to a memory buffer and its
 * exit replaced by a jump back here (diag_set_stream, diag_set_recover).
 * Returns the diagnostic text (malloc'd; the caller frees it) when fn
 * ended in a user error, NULL when fn returned normally. */
char *tu_capture_error(void (*fn)(void *ctx), void *ctx);

/* Runs the shell command cmd (a compiler call whose output goes to the file
 * log).  When it fails, aborts the test (Check) with
 * "NAME: WHAT does not compile cleanly:" and the log's first 8 KiB. */
void tu_compile(const char *cmd, const char *log, const char *name, const char *what);

#endif
