/* test_runtime_report.c - what training prints and logs: the Keras-like
 * progress bar (terminal), the plain epoch line (not a terminal), --quiet,
 * and the --log CSV (exact header, row format, append on resume); writes
 * that fail (a full device) reported, not lost. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt_report.h"
#include "testutil.h"

static const char *const names[] = {"accuracy"};

/* Everything written to f so far. */
static const char *contents(FILE *f)
{
    static char buf[8192];
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    return buf;
}

START_TEST(progress_terminal)
{
    FILE *f = tmpfile();
    dlrt_progress p;
    dlrt_progress_init(&p, f, 1, 0, 1, names);
    dlrt_progress_begin(&p, 1, 5, 10);
    double acc = 0.25, vacc = 0.125;
    dlrt_progress_step(&p, 3, 0.5, &acc);
    dlrt_progress_step(&p, 4, 0.5, &acc); /* throttled: within 50 ms */
    dlrt_progress_step(&p, 10, 0.5, &acc); /* the last step is always drawn */
    const char *s = contents(f);
    const char *head = "Epoch 1/5\n\r 3/10 [========>.....................] - ETA: ";
    ck_assert_msg(strncmp(s, head, strlen(head)) == 0, "%s", s);
    ck_assert_ptr_null(strstr(s, " 4/10"));
    ck_assert_ptr_nonnull(strstr(s, "s - loss: 0.5000 - accuracy: 0.2500"));
    ck_assert_ptr_nonnull(strstr(s, "\r10/10 [==============================] - ETA: 0s - loss: 0.5000"));
    dlrt_progress_end(&p, 10, 2.0, 0.5, &acc, 0.75, &vacc);
    s = contents(f);
    ck_assert_ptr_nonnull(strstr(s, "\r10/10 [==============================] - 2s 200ms/step - loss: 0.5000 - "
                                    "accuracy: 0.2500 - val_loss: 0.7500 - val_accuracy: 0.1250   \n"));
    fclose(f);
}
END_TEST

START_TEST(progress_plain_and_quiet)
{
    FILE *f = tmpfile();
    dlrt_progress p;
    double acc = 0.25, vacc = 0.125;
    dlrt_progress_init(&p, f, 0, 0, 1, names);
    dlrt_progress_begin(&p, 2, 5, 10);
    dlrt_progress_step(&p, 10, 0.5, &acc);
    dlrt_progress_end(&p, 10, 1.5, 0.5, &acc, 0.75, &vacc);
    ck_assert_str_eq(contents(f),
                     "epoch 2/5 - 1.50s - loss: 0.5000 - accuracy: 0.2500 - val_loss: 0.7500 - val_accuracy: 0.1250\n");
    fclose(f);

    f = tmpfile();
    for (int tty = 0; tty < 2; tty++) {
        dlrt_progress_init(&p, f, tty, 1, 1, names);
        dlrt_progress_begin(&p, 1, 1, 3);
        dlrt_progress_step(&p, 3, 0.5, &acc);
        dlrt_progress_end(&p, 3, 1.0, 0.5, &acc, 0.5, &vacc);
    }
    ck_assert_str_eq(contents(f), "");
    fclose(f);
}
END_TEST

START_TEST(history_csv)
{
    char dir[512], path[600];
    tu_make_tmpdir(dir, sizeof dir, "rt-report");
    snprintf(path, sizeof path, "%s/h.csv", dir);
    dlrt_err e;
    double m = 0.8101, vm = 0.84;
    FILE *f = dlrt_history_open(path, 0, 1, names, &e);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(dlrt_history_row(f, path, 1, 2.3141, 0.5432, &m, 0.45, &vm, 1, &e), 0);
    fclose(f);
    /* a resumed run appends under the same header */
    f = dlrt_history_open(path, 1, 1, names, &e);
    ck_assert_int_eq(dlrt_history_row(f, path, 2, 2.0, 0.5, &m, 0.4, &vm, 1, &e), 0);
    fclose(f);
    f = fopen(path, "r");
    const char *s = contents(f);
    ck_assert_str_eq(s, "epoch,seconds,loss,accuracy,val_loss,val_accuracy\n"
                        "1,2.314,0.543200,0.810100,0.450000,0.840000\n"
                        "2,2.000,0.500000,0.810100,0.400000,0.840000\n");
    fclose(f);
    /* a file with another header (another model) is started afresh */
    const char *const two[] = {"accuracy", "mae"};
    double m2[2] = {1, 2};
    f = dlrt_history_open(path, 1, 2, two, &e);
    ck_assert_int_eq(dlrt_history_row(f, path, 1, 1.0, 3.0, m2, 4.0, m2, 2, &e), 0);
    fclose(f);
    f = fopen(path, "r");
    ck_assert_str_eq(contents(f), "epoch,seconds,loss,accuracy,mae,val_loss,val_accuracy,val_mae\n"
                                  "1,1.000,3.000000,1.000000,2.000000,4.000000,1.000000,2.000000\n");
    fclose(f);
    /* a folder that does not exist */
    snprintf(path, sizeof path, "%s/no/h.csv", dir);
    ck_assert_ptr_null(dlrt_history_open(path, 0, 1, names, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "cannot write"));
    tu_remove_tmpdir(dir);
}
END_TEST

/* Writes that fail reach the caller: a row on a full device, a write lost
 * earlier (stdio keeps only its error flag, and a later fflush succeeds),
 * the progress display on a full device. */
START_TEST(output_errors)
{
    dlrt_err e;
    double m = 0.5;
    FILE *f = fopen("/dev/full", "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(dlrt_history_row(f, "/dev/full", 1, 1.0, 0.5, &m, 0.5, &m, 1, &e), -1);
    ck_assert_str_eq(e.msg, "cannot write /dev/full: No space left on device");
    ck_assert_int_eq(dlrt_out_close(f, "/dev/full", &e), -1);
    ck_assert_str_eq(e.msg, "cannot write /dev/full: a write failed");
    /* more than a buffer's worth: the write that overflows it fails, the
       rest is buffered, a first fflush fails, a second one succeeds */
    f = fopen("/dev/full", "w");
    for (int i = 0; i < 2000; i++) fprintf(f, "%d,0.123456789\n", i);
    (void)fflush(f);
    ck_assert_int_eq(dlrt_out_flush(f, "t.csv", &e), -1);
    ck_assert_str_eq(e.msg, "cannot write t.csv: a write failed");
    ck_assert_int_eq(dlrt_out_close(f, "t.csv", &e), -1);
    /* a good stream */
    f = tmpfile();
    fputs("x\n", f);
    ck_assert_int_eq(dlrt_out_flush(f, "tmp", &e), 0);
    ck_assert_int_eq(dlrt_out_close(f, "tmp", &e), 0);
    /* the progress line keeps the first failure's errno */
    f = fopen("/dev/full", "w");
    dlrt_progress p;
    dlrt_progress_init(&p, f, 0, 0, 1, names);
    dlrt_progress_begin(&p, 1, 1, 3);
    ck_assert_int_eq(p.err, 0);
    dlrt_progress_end(&p, 3, 1.0, 0.5, &m, 0.5, &m);
    ck_assert_int_eq(p.err, ENOSPC);
    fclose(f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("runtime_report");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, progress_terminal);
    tcase_add_test(tc, progress_plain_and_quiet);
    tcase_add_test(tc, history_csv);
    tcase_add_test(tc, output_errors);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
