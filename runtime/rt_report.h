/* rt_report.h - private to the runtime: what training prints (progress.c)
 * and writes (history.c: the --log CSV, the checks of output streams). */
#ifndef DLRT_RT_REPORT_H
#define DLRT_RT_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "rt_err.h"

typedef struct dlrt_progress {
    FILE *out;
    int tty;                         /* redraw a bar with \r, else one line per epoch */
    int quiet;                       /* print nothing */
    int nmetrics;
    const char *const *names;
    int64_t epoch, epochs, total;    /* this epoch (1-based), of; steps in it */
    double t0, last_draw;            /* seconds (monotonic) */
    int err;                         /* errno of the first failed write to out, 0 if none */
} dlrt_progress;

/* Monotonic clock in seconds. */
double dlrt_now(void);

void dlrt_progress_init(dlrt_progress *p, FILE *out, int tty, int quiet, int nmetrics, const char *const *names);
/* Starts epoch `epoch` (1-based) of `epochs`, with `total` steps. */
void dlrt_progress_begin(dlrt_progress *p, int64_t epoch, int64_t epochs, int64_t total);
/* After step `done` (1-based) of the epoch, with the running averages.
 * On a terminal, redraws the bar (at most ~20 times a second). */
void dlrt_progress_step(dlrt_progress *p, int64_t done, double loss, const double *metrics);
/* The epoch's summary: the final bar (terminal) or the plain line. */
void dlrt_progress_end(dlrt_progress *p, int64_t done, double seconds, double loss, const double *metrics,
                       double val_loss, const double *val_metrics);

/* The --log history: header `epoch,seconds,loss,<metrics>,val_loss,<val_metrics>`.
 * append: keep an existing file's rows (a resumed run) if its header is
 * the same, else start the file afresh. */
FILE *dlrt_history_open(const char *path, int append, int nmetrics, const char *const *names, dlrt_err *e);
/* Appends and flushes one row; -1 with a message naming path if the
 * write failed. */
int dlrt_history_row(FILE *f, const char *path, int64_t epoch, double seconds, double loss, const double *metrics,
                     double val_loss, const double *val_metrics, int nmetrics, dlrt_err *e);
/* Writes the history header line to f. */
void dlrt_history_header(FILE *f, int nmetrics, const char *const *names);

/* An output stream's check: 0 if everything written to f (opened as
 * path; for messages) has reached the system, else -1 with "cannot write
 * PATH: REASON" (fflush's errno, or "a write failed" when an earlier
 * write lost data and stdio kept only its error flag). */
int dlrt_out_flush(FILE *f, const char *path, dlrt_err *e);
/* dlrt_out_flush, then fclose (whose failure counts too); f is closed
 * either way. */
int dlrt_out_close(FILE *f, const char *path, dlrt_err *e);

#endif
