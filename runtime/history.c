/* history.c - the --log history: a CSV file, one row per epoch, written
 * and flushed as each epoch ends so an interrupted run keeps its history;
 * and the checks of every output stream the runtime writes (--log,
 * --trace, the standard output): a write that fails (a full disk) is an
 * error naming the file, never a file silently cut short.
 *     epoch,seconds,loss,accuracy,val_loss,val_accuracy
 *     1,2.314,0.543210,0.810100,0.450000,0.840000
 * (the metric columns follow the model's metrics; val_* are the test
 * split's figures after the epoch; epochs count from 1).  A resumed run
 * appends to the file if it has the same header. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rt_report.h"

/* The header line, newline included, into buf. */
static void header_str(char *buf, size_t cap, int nmetrics, const char *const *names)
{
    size_t l = (size_t)snprintf(buf, cap, "epoch,seconds,loss");
    for (int k = 0; k < nmetrics && l < cap; k++) l += (size_t)snprintf(buf + l, cap - l, ",%s", names[k]);
    if (l < cap) l += (size_t)snprintf(buf + l, cap - l, ",val_loss");
    for (int k = 0; k < nmetrics && l < cap; k++) l += (size_t)snprintf(buf + l, cap - l, ",val_%s", names[k]);
    if (l < cap) snprintf(buf + l, cap - l, "\n");
}

void dlrt_history_header(FILE *f, int nmetrics, const char *const *names)
{
    char buf[2048];
    header_str(buf, sizeof buf, nmetrics, names);
    fputs(buf, f);
}

/* True if the file at path starts with exactly the header we would write. */
static int same_header(const char *path, int nmetrics, const char *const *names)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char have[2048], want[2048];
    int ok = fgets(have, sizeof have, f) != NULL;
    fclose(f);
    if (!ok) return 0;
    header_str(want, sizeof want, nmetrics, names);
    return strcmp(have, want) == 0;
}

int dlrt_out_flush(FILE *f, const char *path, dlrt_err *e)
{
    errno = 0;
    if (fflush(f) == 0 && !ferror(f)) return 0;
    /* a write failed earlier (its data is lost) if fflush itself did not */
    return dlrt_errf(e, "cannot write %s: %s", path, errno ? strerror(errno) : "a write failed");
}

int dlrt_out_close(FILE *f, const char *path, dlrt_err *e)
{
    int rc = dlrt_out_flush(f, path, e);
    errno = 0;
    if (fclose(f) != 0 && rc == 0)
        rc = dlrt_errf(e, "cannot write %s: %s", path, errno ? strerror(errno) : "close failed");
    return rc;
}

FILE *dlrt_history_open(const char *path, int append, int nmetrics, const char *const *names, dlrt_err *e)
{
    int keep = append && same_header(path, nmetrics, names);
    FILE *f = fopen(path, keep ? "a" : "w");
    if (!f) {
        dlrt_errf(e, "cannot write %s: %s", path, strerror(errno));
        return NULL;
    }
    if (!keep) dlrt_history_header(f, nmetrics, names);
    if (dlrt_out_flush(f, path, e)) {
        fclose(f);
        return NULL;
    }
    return f;
}

int dlrt_history_row(FILE *f, const char *path, int64_t epoch, double seconds, double loss, const double *metrics,
                     double val_loss, const double *val_metrics, int nmetrics, dlrt_err *e)
{
    fprintf(f, "%lld,%.3f,%.6f", (long long)epoch, seconds, loss);
    for (int k = 0; k < nmetrics; k++) fprintf(f, ",%.6f", metrics[k]);
    fprintf(f, ",%.6f", val_loss);
    for (int k = 0; k < nmetrics; k++) fprintf(f, ",%.6f", val_metrics[k]);
    fputc('\n', f);
    return dlrt_out_flush(f, path, e);
}
