/* progress.c - the training progress display.
 *
 * On a terminal (isatty), Keras' style: a header "Epoch 1/5", then one line
 * redrawn in place with \r,
 *     37/469 [==>...........................] - ETA: 12s - loss: 0.5123 - accuracy: 0.8212
 * and at the end of the epoch the full bar with the time taken, the
 * per-step time and the validation figures.  Redraws are throttled to ~20 a
 * second so a fast model is not slowed by the terminal.
 *
 * Otherwise (a pipe, a file, a CI log) one plain line per epoch:
 *     epoch 1/5 - 2.31s - loss: 0.5432 - accuracy: 0.8101 - val_loss: 0.4500 - val_accuracy: 0.8400
 *
 * Lines are formatted into a fixed buffer: nothing is allocated per step.
 * A write that fails (a full disk under a redirected stdout) is kept in
 * p->err for the caller to report.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rt_report.h"

#define BAR_WIDTH 30

double dlrt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Flushes out, keeping the errno of the first failure in p->err. */
static void flush_out(dlrt_progress *p)
{
    errno = 0;
    if ((fflush(p->out) != 0 || ferror(p->out)) && !p->err) p->err = errno ? errno : EIO;
}

void dlrt_progress_init(dlrt_progress *p, FILE *out, int tty, int quiet, int nmetrics, const char *const *names)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = tty;
    p->quiet = quiet;
    p->nmetrics = nmetrics;
    p->names = names;
}

void dlrt_progress_begin(dlrt_progress *p, int64_t epoch, int64_t epochs, int64_t total)
{
    p->epoch = epoch;
    p->epochs = epochs;
    p->total = total;
    p->t0 = dlrt_now();
    p->last_draw = 0;
    if (!p->quiet && p->tty) {
        fprintf(p->out, "Epoch %lld/%lld\n", (long long)epoch, (long long)epochs);
        flush_out(p);
    }
}

/* Appends " - name: value" for the loss and each metric (prefix "val_"
 * for the validation figures). */
static size_t put_values(char *buf, size_t cap, size_t l, const char *prefix, double loss, int nm,
                         const char *const *names, const double *metrics)
{
    if (l < cap) l += (size_t)snprintf(buf + l, cap - l, " - %sloss: %.4f", prefix, loss);
    for (int k = 0; k < nm && l < cap; k++)
        l += (size_t)snprintf(buf + l, cap - l, " - %s%s: %.4f", prefix, names[k], metrics[k]);
    return l < cap ? l : cap - 1;
}

/* "  37/469 [==>.....]" into buf; returns the length. */
static size_t put_bar(char *buf, size_t cap, int64_t done, int64_t total)
{
    int width = snprintf(NULL, 0, "%lld", (long long)total);
    size_t l = (size_t)snprintf(buf, cap, "%*lld/%lld [", width, (long long)done, (long long)total);
    int filled = total > 0 ? (int)((double)done / (double)total * BAR_WIDTH) : BAR_WIDTH;
    for (int k = 0; k < BAR_WIDTH && l + 2 < cap; k++) {
        char c = '.';
        if (k < filled - 1 || (k == filled - 1 && done >= total)) c = '=';
        else if (k == filled - 1 || (k == 0 && filled == 0 && done > 0)) c = '>';
        buf[l++] = c;
    }
    buf[l++] = ']';
    buf[l] = '\0';
    return l;
}

void dlrt_progress_step(dlrt_progress *p, int64_t done, double loss, const double *metrics)
{
    if (p->quiet || !p->tty) return;
    double now = dlrt_now();
    if (done < p->total && now - p->last_draw < 0.05) return;
    p->last_draw = now;
    char buf[1024];
    size_t l = put_bar(buf, sizeof buf, done, p->total);
    double per = (now - p->t0) / (double)(done > 0 ? done : 1);
    double eta = per * (double)(p->total - done);
    l += (size_t)snprintf(buf + l, sizeof buf - l, " - ETA: %.0fs", eta);
    put_values(buf, sizeof buf, l, "", loss, p->nmetrics, p->names, metrics);
    /* \r then the line; trailing spaces erase a longer previous line */
    fprintf(p->out, "\r%s   ", buf);
    flush_out(p);
}

void dlrt_progress_end(dlrt_progress *p, int64_t done, double seconds, double loss, const double *metrics,
                       double val_loss, const double *val_metrics)
{
    if (p->quiet) return;
    char buf[1024];
    size_t l;
    if (p->tty) {
        l = put_bar(buf, sizeof buf, done, p->total);
        double per_ms = done > 0 ? seconds * 1000.0 / (double)done : 0.0;
        l += (size_t)snprintf(buf + l, sizeof buf - l, " - %.0fs %.0fms/step", seconds, per_ms);
        l = put_values(buf, sizeof buf, l, "", loss, p->nmetrics, p->names, metrics);
        put_values(buf, sizeof buf, l, "val_", val_loss, p->nmetrics, p->names, val_metrics);
        fprintf(p->out, "\r%s   \n", buf);
    } else {
        l = (size_t)snprintf(buf, sizeof buf, "epoch %lld/%lld - %.2fs", (long long)p->epoch,
                             (long long)p->epochs, seconds);
        l = put_values(buf, sizeof buf, l, "", loss, p->nmetrics, p->names, metrics);
        put_values(buf, sizeof buf, l, "val_", val_loss, p->nmetrics, p->names, val_metrics);
        fprintf(p->out, "%s\n", buf);
    }
    flush_out(p);
}
