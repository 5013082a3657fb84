/* train.c - the `train` command.
 *
 *   1. resolve the settings (flags over the model's train block), check the
 *      batch size against the compiled max_batch;
 *   2. load the train and test splits (labels converted once; IDX images
 *      stay bytes);
 *   3. setup + init_params(seed); a model that keeps data itself (the CUDA
 *      target) gets both splits once (dlrt_bind); --resume restores every
 *      tensor and the epoch/step/seed counters, --weights only the
 *      parameters;
 *   4. per epoch: shuffle (keyed by (seed, epoch)), gather each batch into
 *      buffers allocated once (or hand a bound model the batch's row
 *      numbers: train_step_rows), train_step with rng_key = dlrt_key(seed,
 *      global step), progress; then evaluate the test split, print the
 *      epoch line, append the --log row, save the --save checkpoint
 *      (atomically, metadata epoch = epochs completed).  A step loss or
 *      test loss that is not finite stops the run (exit 1) before anything
 *      more is saved, so --save keeps the last good checkpoint;
 *   5. report the test loss and metrics.
 * With --no-shuffle the batches are read in place (no gather; the bytes
 * of an IDX split are converted to floats in xbuf).
 * Nothing is allocated inside the step loop.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_ckpt.h"
#include "rt_cli.h"
#include "rt_report.h"

/* The settings of a run after flags, defaults and a resumed checkpoint. */
typedef struct run {
    int64_t epochs, batch, max_steps;
    uint64_t seed;
    double lr;                 /* < 0: the model has none */
    int64_t start_epoch, step;
} run;

/* Saves all tensors with the run's settings and counters in the metadata
 * (what --resume needs to continue exactly). */
static int save_checkpoint(const dlrt_model *m, const char *path, const run *r, int64_t epochs_done,
                           dlrt_err *e)
{
    char ep[32], st[32], sd[32], bs[32], lr[40];
    snprintf(ep, sizeof ep, "%lld", (long long)epochs_done);
    snprintf(st, sizeof st, "%lld", (long long)r->step);
    snprintf(sd, sizeof sd, "%llu", (unsigned long long)r->seed);
    snprintf(bs, sizeof bs, "%lld", (long long)r->batch);
    snprintf(lr, sizeof lr, "%.17g", r->lr);
    const char *meta[] = {"format", "dlc-1", "model", m->name, "epoch", ep, "step", st,
                          "seed",   sd,      "batch_size", bs, "learning_rate", lr};
    return dlrt_st_write(path, m->tensors, m->nparams + m->nstate, meta, r->lr > 0 ? 7 : 6, e);
}

/* Opens the --trace file; a resumed run appends. */
static FILE *open_trace(const char *path, int append, dlrt_err *e)
{
    FILE *f = fopen(path, append ? "a" : "w");
    if (!f) {
        dlrt_errf(e, "cannot write %s: %s", path, strerror(errno));
        return NULL;
    }
    if (ftell(f) == 0) fputs("step,loss\n", f);
    if (dlrt_out_flush(f, path, e)) {
        fclose(f);
        return NULL;
    }
    return f;
}

/* "nan", "inf" or "-inf" (printf may write a NaN as "-nan"). */
static const char *nonfinite_str(double v)
{
    return isnan(v) ? "nan" : v > 0 ? "inf" : "-inf";
}

/* Reports a loss that is not finite (what: "the loss is nan at step ...")
 * and what became of --save: training stops there (Keras' TerminateOnNaN),
 * since the weights are no longer finite, and a save would replace the
 * last good checkpoint with them.  saved_epoch: the epoch (1-based) whose
 * checkpoint this run last saved, 0 if none. */
static void report_nonfinite(const char *prog, const char *what, const dlrt_opts *o, int64_t saved_epoch)
{
    char msg[1024];
    int l = snprintf(msg, sizeof msg, "%s; training stopped", what);
    if (o->save && saved_epoch > 0)
        l += snprintf(msg + l, sizeof msg - (size_t)l, ": %s keeps the checkpoint of epoch %lld", o->save,
                      (long long)saved_epoch);
    else if (o->save)
        l += snprintf(msg + l, sizeof msg - (size_t)l, ": nothing was saved to %s", o->save);
    snprintf(msg + l, sizeof msg - (size_t)l, " (is the learning rate too large?)");
    dlrt_report(prog, msg);
}

/* Prints the final line: "test - loss: L - accuracy: A". */
static void print_test(const dlrt_model *m, double loss, const double *metrics)
{
    printf("test - loss: %.4f", loss);
    for (int k = 0; k < m->nmetrics; k++) printf(" - %s: %.4f", m->metric_names[k], metrics[k]);
    printf("\n");
}

/* Resolves the run's settings; returns 0 or the usage exit status 2. */
static int resolve(const dlrt_model *m, const dlrt_opts *o, run *r, const char *prog)
{
    char msg[512];
    r->epochs = o->epochs >= 0 ? o->epochs : m->epochs;
    r->batch = o->batch_size > 0 ? o->batch_size : m->batch_size;
    if (r->batch <= 0) r->batch = m->max_batch < 32 ? m->max_batch : 32;
    r->max_steps = o->max_steps;
    r->seed = o->seed >= 0 ? (uint64_t)o->seed : m->seed;
    r->lr = o->learning_rate > 0 ? o->learning_rate : m->learning_rate;
    if (!m->train_step || !m->eval_step || !m->init_params) {
        snprintf(msg, sizeof msg, "%s to train", DLRT_INFER_ONLY);
        dlrt_report(prog, msg);
        return 2;
    }
    if (r->batch > m->max_batch) {
        snprintf(msg, sizeof msg,
                 "--batch-size %lld is larger than the largest batch this program was compiled for (%lld); "
                 "rebuild it with `dlc build --max-batch %lld`",
                 (long long)r->batch, (long long)m->max_batch, (long long)r->batch);
        dlrt_report(prog, msg);
        return 2;
    }
    if (o->learning_rate > 0 && !m->set_learning_rate) {
        snprintf(msg, sizeof msg, "--learning-rate: model '%s' has no learning rate to set", m->name);
        dlrt_report(prog, msg);
        return 2;
    }
    return 0;
}

/* The train command (see the top of the file).  Returns the exit status. */
int dlrt_cmd_train(const dlrt_model *m, const dlrt_opts *o, const char *prog)
{
    run r;
    memset(&r, 0, sizeof r);
    int status = resolve(m, o, &r, prog);
    if (status) return status;
    const char *dir = o->data ? o->data : DLRT_DEFAULT_DATA;
    dlrt_err e;
    dlrt_dataset train, test;
    memset(&test, 0, sizeof test);
    if (dlrt_dataset_load(m, dir, "train", &train, &e) || dlrt_dataset_load(m, dir, "t10k", &test, &e)) {
        dlrt_report(prog, e.msg);
        dlrt_dataset_free(&train);
        return 1;
    }
    status = 1;
    int started = 0;
    FILE *log = NULL, *trace = NULL;
    int64_t *perm = NULL;
    float *xbuf = NULL, *fm = NULL;
    void *ybuf = NULL;
    double *dm = NULL, *vm = NULL;
    dlrt_avg avg = {0};
    if (dlrt_model_start(m, r.seed, prog)) goto out;
    started = 1;
    dlrt_bind(m, &train, 0);
    dlrt_bind(m, &test, 1);
    if (o->resume) {
        dlrt_ckpt_info info;
        if (dlrt_st_read_ex(o->resume, m->tensors, m->nparams + m->nstate, m->name, DLRT_CKPT_FLAGS(o), &info, &e)) {
            /* a file with the parameters but not the optimizer state (e.g.
               exported elsewhere) can still start a run: say how */
            dlrt_err e2;
            if (m->nstate > 0 &&
                dlrt_st_read_ex(o->resume, m->tensors, m->nparams, m->name, DLRT_CKPT_FLAGS(o), NULL, &e2) == 0) {
                size_t l = strlen(e.msg);
                snprintf(e.msg + l, sizeof e.msg - l,
                         " (it holds the parameters but not the optimizer state: use --weights to start from them)");
            }
            dlrt_report(prog, e.msg);
            goto out;
        }
        int64_t per_epoch = (train.n + r.batch - 1) / r.batch;
        r.start_epoch = info.epoch > 0 ? info.epoch : 0;
        r.step = info.step >= 0 ? info.step : r.start_epoch * per_epoch;
        /* settings not given again default to the interrupted run's */
        if (info.has_seed && o->seed < 0) r.seed = (uint64_t)info.seed;
        if (info.batch_size > 0 && o->batch_size <= 0) {
            if (info.batch_size > m->max_batch) {
                dlrt_errf(&e, "%s was trained with batch size %lld, larger than this program's largest (%lld); "
                          "pass --batch-size or rebuild with `dlc build --max-batch %lld`",
                          o->resume, (long long)info.batch_size, (long long)m->max_batch,
                          (long long)info.batch_size);
                dlrt_report(prog, e.msg);
                status = 2;
                goto out;
            }
            r.batch = info.batch_size;
            r.step = info.step >= 0 ? info.step : r.start_epoch * ((train.n + r.batch - 1) / r.batch);
        }
        if (info.learning_rate > 0 && o->learning_rate <= 0 && m->set_learning_rate) {
            r.lr = info.learning_rate;
            m->set_learning_rate(r.lr);
        }
    } else if (o->weights) {
        if (dlrt_st_read_ex(o->weights, m->tensors, m->nparams, m->name, DLRT_CKPT_FLAGS(o), NULL, &e)) {
            dlrt_report(prog, e.msg);
            goto out;
        }
    }
    if (o->learning_rate > 0) m->set_learning_rate(o->learning_rate);
    if (o->log && !(log = dlrt_history_open(o->log, o->resume != NULL, m->nmetrics, m->metric_names, &e))) {
        dlrt_report(prog, e.msg);
        goto out;
    }
    if (o->trace && !(trace = open_trace(o->trace, o->resume != NULL, &e))) {
        dlrt_report(prog, e.msg);
        goto out;
    }
    /* every buffer of the loop, allocated once */
    int nm = m->nmetrics;
    perm = malloc(sizeof *perm * (size_t)train.n);
    if (!train.bound) { /* batches gathered on the host */
        xbuf = malloc(sizeof(float) * (size_t)(r.batch * m->in_size));
        ybuf = malloc(4 * (size_t)(r.batch * m->label_size) + 1);
    }
    fm = calloc((size_t)nm + 1, sizeof(float));
    dm = calloc((size_t)nm + 1, sizeof(double));
    vm = calloc((size_t)nm + 1, sizeof(double));
    if (!perm || (!train.bound && (!xbuf || !ybuf)) || !fm || !dm || !vm || dlrt_avg_init(&avg, nm)) {
        dlrt_report(prog, "out of memory");
        goto out;
    }
    dlrt_progress p;
    dlrt_progress_init(&p, stdout, isatty(fileno(stdout)), o->quiet, nm, m->metric_names);
    int64_t per_epoch = (train.n + r.batch - 1) / r.batch;
    double vloss = 0;
    int have_val = 0;
    int64_t saved_epoch = 0;
    char what[256];
    if (r.start_epoch >= r.epochs && !o->quiet)
        printf("%s: the checkpoint has %lld epochs already (of %lld); nothing to train\n", prog,
               (long long)r.start_epoch, (long long)r.epochs);
    for (int64_t ep = r.start_epoch; ep < r.epochs; ep++) {
        if (r.max_steps > 0 && r.step >= r.max_steps) break;
        double t0 = dlrt_now();
        if (o->no_shuffle)
            for (int64_t i = 0; i < train.n; i++) perm[i] = i;
        else
            dlrt_shuffle(perm, train.n, r.seed, (uint64_t)ep);
        dlrt_avg_reset(&avg);
        dlrt_progress_begin(&p, ep + 1, r.epochs, per_epoch);
        int64_t done = 0;
        for (int64_t b = 0; b < per_epoch; b++) {
            if (r.max_steps > 0 && r.step >= r.max_steps) break;
            int64_t start = b * r.batch;
            int64_t n = train.n - start < r.batch ? train.n - start : r.batch;
            float loss = 0;
            uint64_t key = dlrt_key(r.seed, (uint64_t)r.step);
            if (train.bound) { /* the model has the data: only the rows travel */
                m->train_step_rows(perm + start, n, key, &loss, fm);
            } else {
                const float *x = xbuf;
                const void *y = ybuf;
                if (o->no_shuffle) { /* contiguous: labels read in place, inputs too when f32 */
                    x = dlrt_rows(&train, start, n, xbuf);
                    y = (const char *)train.y + (size_t)(start * train.label_size) * 4;
                } else {
                    dlrt_gather(&train, perm + start, n, xbuf, ybuf);
                }
                m->train_step(x, y, n, key, &loss, fm);
            }
            if (trace && fprintf(trace, "%lld,%.9g\n", (long long)r.step + 1, loss) < 0) { /* 1-based */
                dlrt_errf(&e, "cannot write %s: %s", o->trace, strerror(errno));
                dlrt_report(prog, e.msg);
                goto out;
            }
            if (!isfinite(loss)) {
                snprintf(what, sizeof what, "the loss is %s at step %lld (epoch %lld, batch %lld of %lld)",
                         nonfinite_str(loss), (long long)r.step + 1, (long long)ep + 1, (long long)b + 1,
                         (long long)per_epoch);
                report_nonfinite(prog, what, o, saved_epoch);
                goto out;
            }
            r.step++;
            done++;
            dlrt_avg_add(&avg, n, loss, fm);
            if (p.tty && !p.quiet) {
                double l;
                dlrt_avg_get(&avg, &l, dm);
                dlrt_progress_step(&p, done, l, dm);
            }
        }
        double tloss;
        dlrt_avg_get(&avg, &tloss, dm);
        if (dlrt_evaluate(m, &test, &vloss, vm)) {
            dlrt_report(prog, "out of memory");
            goto out;
        }
        have_val = 1;
        if (!isfinite(vloss)) { /* the last step's update can make the weights non-finite */
            snprintf(what, sizeof what, "the test loss after epoch %lld is %s", (long long)ep + 1,
                     nonfinite_str(vloss));
            report_nonfinite(prog, what, o, saved_epoch);
            goto out;
        }
        double secs = dlrt_now() - t0;
        dlrt_progress_end(&p, done, secs, tloss, dm, vloss, vm);
        if (p.err) {
            dlrt_errf(&e, "cannot write the standard output: %s", strerror(p.err));
            dlrt_report(prog, e.msg);
            goto out;
        }
        if ((trace && dlrt_out_flush(trace, o->trace, &e)) ||
            (log && dlrt_history_row(log, o->log, ep + 1, secs, tloss, dm, vloss, vm, nm, &e))) {
            dlrt_report(prog, e.msg);
            goto out;
        }
        int64_t completed = done == per_epoch ? ep + 1 : ep;
        if (o->save && save_checkpoint(m, o->save, &r, completed, &e)) {
            dlrt_report(prog, e.msg);
            goto out;
        }
        saved_epoch = ep + 1;
    }
    if (!have_val) {
        if (dlrt_evaluate(m, &test, &vloss, vm)) {
            dlrt_report(prog, "out of memory");
            goto out;
        }
        if (o->save && save_checkpoint(m, o->save, &r, r.start_epoch, &e)) {
            dlrt_report(prog, e.msg);
            goto out;
        }
    }
    print_test(m, vloss, vm);
    status = 0;
out:
    /* a write lost at the end is an error too (unless one was reported) */
    if (trace && dlrt_out_close(trace, o->trace, &e) && status == 0) {
        dlrt_report(prog, e.msg);
        status = 1;
    }
    if (log && dlrt_out_close(log, o->log, &e) && status == 0) {
        dlrt_report(prog, e.msg);
        status = 1;
    }
    dlrt_avg_free(&avg);
    free(perm);
    free(xbuf);
    free(ybuf);
    free(fm);
    free(dm);
    free(vm);
    if (started && m->teardown) m->teardown();
    dlrt_dataset_free(&train);
    dlrt_dataset_free(&test);
    return status;
}
