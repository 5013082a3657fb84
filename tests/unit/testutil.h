/* testutil.h - helpers shared by the Check unit tests in tests/unit/.
 *
 * Each tests/unit/test_*.c is its own executable; tests/tests.cmake links
 * testutil.c into every one of them.  Only code that several tests wrote
 * word for word lives here: running a suite, and visiting every model of
 * the repository's models/ folder. */
#ifndef DLC_TESTS_UNIT_TESTUTIL_H
#define DLC_TESTS_UNIT_TESTUTIL_H

#include <check.h>

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

#endif
