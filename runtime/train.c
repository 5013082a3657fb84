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
 *
 * dlrt_cmd_train runs the steps in turn: resolve (1), the splits (2),
 * start_model (3), prepare_loop (files and buffers), train_epoch and
 * train_batch (4), finish_run (5); end_run releases what they took.
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

/* A run in progress: the model, the settings, the splits, the files it
 * writes and the loop's buffers (allocated once, before the first step). */
typedef struct trainer {
    const dlrt_model *m;
    const dlrt_opts *o;
    const char *prog;
    run r;
    dlrt_dataset train, test;
    int started;               /* setup ran: teardown at the end */
    FILE *log, *trace;
    int64_t *perm;             /* the epoch's order of the training rows */
    float *xbuf, *fm;          /* a gathered batch's inputs; the step's metrics */
    void *ybuf;                /* its labels */
    double *dm, *vm;           /* averaged training metrics; test metrics */
    dlrt_avg avg;
    dlrt_progress p;
    int64_t per_epoch;         /* batches per epoch */
    int64_t saved_epoch;       /* the epoch (1-based) last saved to --save, 0: none */
    double vloss;              /* the test loss */
    int have_val;              /* vloss and vm hold an evaluation */
    dlrt_err e;
} trainer;

/* Step 3: setup with the seed, the splits bound to a model that keeps
 * data itself, then --resume (every tensor and the counters; settings not
 * given again default to the interrupted run's) or --weights (the
 * parameters), and --learning-rate.  Returns 0, or the exit status. */
static int start_model(trainer *t)
{
    const dlrt_model *m = t->m;
    const dlrt_opts *o = t->o;
    run *r = &t->r;
    dlrt_err *e = &t->e;
    if (dlrt_model_start(m, r->seed, t->prog)) return 1;
    t->started = 1;
    dlrt_bind(m, &t->train, 0);
    dlrt_bind(m, &t->test, 1);
    if (o->resume) {
        dlrt_ckpt_info info;
        if (dlrt_st_read_ex(o->resume, m->tensors, m->nparams + m->nstate, m->name, DLRT_CKPT_FLAGS(o), &info, e)) {
            /* a file with the parameters but not the optimizer state (e.g.
               exported elsewhere) can still start a run: say how */
            dlrt_err e2;
            if (m->nstate > 0 &&
                dlrt_st_read_ex(o->resume, m->tensors, m->nparams, m->name, DLRT_CKPT_FLAGS(o), NULL, &e2) == 0) {
                size_t l = strlen(e->msg);
                snprintf(e->msg + l, sizeof e->msg - l,
                         " (it holds the parameters but not the optimizer state: use --weights to start from them)");
            }
            dlrt_report(t->prog, e->msg);
            return 1;
        }
        int64_t per_epoch = (t->train.n + r->batch - 1) / r->batch;
        r->start_epoch = info.epoch > 0 ? info.epoch : 0;
        r->step = info.step >= 0 ? info.step : r->start_epoch * per_epoch;
        /* settings not given again default to the interrupted run's */
        if (info.has_seed && o->seed < 0) r->seed = (uint64_t)info.seed;
        if (info.batch_size > 0 && o->batch_size <= 0) {
            if (info.batch_size > m->max_batch) {
                dlrt_errf(e, "%s was trained with batch size %lld, larger than this program's largest (%lld); "
                          "pass --batch-size or rebuild with `dlc build --max-batch %lld`",
                          o->resume, (long long)info.batch_size, (long long)m->max_batch,
                          (long long)info.batch_size);
                dlrt_report(t->prog, e->msg);
                return 2;
            }
            r->batch = info.batch_size;
            r->step = info.step >= 0 ? info.step : r->start_epoch * ((t->train.n + r->batch - 1) / r->batch);
        }
        if (info.learning_rate > 0 && o->learning_rate <= 0 && m->set_learning_rate) {
            r->lr = info.learning_rate;
            m->set_learning_rate(r->lr);
        }
    } else if (o->weights) {
        if (dlrt_st_read_ex(o->weights, m->tensors, m->nparams, m->name, DLRT_CKPT_FLAGS(o), NULL, e)) {
            dlrt_report(t->prog, e->msg);
            return 1;
        }
    }
    if (o->learning_rate > 0) m->set_learning_rate(o->learning_rate);
    return 0;
}

/* Opens --log and --trace (a resumed run appends), allocates the loop's
 * buffers and starts the progress display.  Returns 0, or 1 (reported). */
static int prepare_loop(trainer *t)
{
    const dlrt_model *m = t->m;
    const dlrt_opts *o = t->o;
    if (o->log && !(t->log = dlrt_history_open(o->log, o->resume != NULL, m->nmetrics, m->metric_names, &t->e))) {
        dlrt_report(t->prog, t->e.msg);
        return 1;
    }
    if (o->trace && !(t->trace = open_trace(o->trace, o->resume != NULL, &t->e))) {
        dlrt_report(t->prog, t->e.msg);
        return 1;
    }
    /* every buffer of the loop, allocated once */
    int nm = m->nmetrics;
    t->perm = malloc(sizeof *t->perm * (size_t)t->train.n);
    if (!t->train.bound) { /* batches gathered on the host */
        t->xbuf = malloc(sizeof(float) * (size_t)(t->r.batch * m->in_size));
        t->ybuf = malloc(4 * (size_t)(t->r.batch * m->label_size) + 1);
    }
    t->fm = calloc((size_t)nm + 1, sizeof(float));
    t->dm = calloc((size_t)nm + 1, sizeof(double));
    t->vm = calloc((size_t)nm + 1, sizeof(double));
    if (!t->perm || (!t->train.bound && (!t->xbuf || !t->ybuf)) || !t->fm || !t->dm || !t->vm ||
        dlrt_avg_init(&t->avg, nm)) {
        dlrt_report(t->prog, "out of memory");
        return 1;
    }
    dlrt_progress_init(&t->p, stdout, isatty(fileno(stdout)), o->quiet, nm, m->metric_names);
    t->per_epoch = (t->train.n + t->r.batch - 1) / t->r.batch;
    return 0;
}

/* One training step on batch b of epoch ep: the batch (its row numbers to
 * a bound model, else gathered or read in place), train_step with the
 * step's key, the --trace row; a loss that is not finite stops the run.
 * Returns 0, or 1 (reported). */
static int train_batch(trainer *t, int64_t ep, int64_t b, int64_t *done)
{
    const dlrt_model *m = t->m;
    const dlrt_opts *o = t->o;
    run *r = &t->r;
    int64_t start = b * r->batch;
    int64_t n = t->train.n - start < r->batch ? t->train.n - start : r->batch;
    float loss = 0;
    uint64_t key = dlrt_key(r->seed, (uint64_t)r->step);
    if (t->train.bound) { /* the model has the data: only the rows travel */
        m->train_step_rows(t->perm + start, n, key, &loss, t->fm);
    } else {
        const float *x = t->xbuf;
        const void *y = t->ybuf;
        if (o->no_shuffle) { /* contiguous: labels read in place, inputs too when f32 */
            x = dlrt_rows(&t->train, start, n, t->xbuf);
            y = (const char *)t->train.y + (size_t)(start * t->train.label_size) * 4;
        } else {
            dlrt_gather(&t->train, t->perm + start, n, t->xbuf, t->ybuf);
        }
        m->train_step(x, y, n, key, &loss, t->fm);
    }
    if (t->trace && fprintf(t->trace, "%lld,%.9g\n", (long long)r->step + 1, loss) < 0) { /* 1-based */
        dlrt_errf(&t->e, "cannot write %s: %s", o->trace, strerror(errno));
        dlrt_report(t->prog, t->e.msg);
        return 1;
    }
    if (!isfinite(loss)) {
        char what[256];
        snprintf(what, sizeof what, "the loss is %s at step %lld (epoch %lld, batch %lld of %lld)",
                 nonfinite_str(loss), (long long)r->step + 1, (long long)ep + 1, (long long)b + 1,
                 (long long)t->per_epoch);
        report_nonfinite(t->prog, what, o, t->saved_epoch);
        return 1;
    }
    r->step++;
    (*done)++;
    dlrt_avg_add(&t->avg, n, loss, t->fm);
    if (t->p.tty && !t->p.quiet) {
        double l;
        dlrt_avg_get(&t->avg, &l, t->dm);
        dlrt_progress_step(&t->p, *done, l, t->dm);
    }
    return 0;
}

/* Step 4, one epoch: shuffle (keyed by (seed, epoch)), the batches, then
 * the test split's evaluation, the epoch line, the --log row and the
 * --save checkpoint.  Returns 0, or 1 (reported). */
static int train_epoch(trainer *t, int64_t ep)
{
    const dlrt_opts *o = t->o;
    run *r = &t->r;
    double t0 = dlrt_now();
    if (o->no_shuffle)
        for (int64_t i = 0; i < t->train.n; i++) t->perm[i] = i;
    else
        dlrt_shuffle(t->perm, t->train.n, r->seed, (uint64_t)ep);
    dlrt_avg_reset(&t->avg);
    dlrt_progress_begin(&t->p, ep + 1, r->epochs, t->per_epoch);
    int64_t done = 0;
    for (int64_t b = 0; b < t->per_epoch; b++) {
        if (r->max_steps > 0 && r->step >= r->max_steps) break;
        if (train_batch(t, ep, b, &done)) return 1;
    }
    double tloss;
    dlrt_avg_get(&t->avg, &tloss, t->dm);
    if (dlrt_evaluate(t->m, &t->test, &t->vloss, t->vm)) {
        dlrt_report(t->prog, "out of memory");
        return 1;
    }
    t->have_val = 1;
    if (!isfinite(t->vloss)) { /* the last step's update can make the weights non-finite */
        char what[256];
        snprintf(what, sizeof what, "the test loss after epoch %lld is %s", (long long)ep + 1,
                 nonfinite_str(t->vloss));
        report_nonfinite(t->prog, what, o, t->saved_epoch);
        return 1;
    }
    double secs = dlrt_now() - t0;
    dlrt_progress_end(&t->p, done, secs, tloss, t->dm, t->vloss, t->vm);
    if (t->p.err) {
        dlrt_errf(&t->e, "cannot write the standard output: %s", strerror(t->p.err));
        dlrt_report(t->prog, t->e.msg);
        return 1;
    }
    if ((t->trace && dlrt_out_flush(t->trace, o->trace, &t->e)) ||
        (t->log && dlrt_history_row(t->log, o->log, ep + 1, secs, tloss, t->dm, t->vloss, t->vm, t->m->nmetrics, &t->e))) {
        dlrt_report(t->prog, t->e.msg);
        return 1;
    }
    int64_t completed = done == t->per_epoch ? ep + 1 : ep;
    if (o->save && save_checkpoint(t->m, o->save, r, completed, &t->e)) {
        dlrt_report(t->prog, t->e.msg);
        return 1;
    }
    t->saved_epoch = ep + 1;
    return 0;
}

/* Step 5: the test split's loss and metrics (evaluated, and saved to
 * --save, here if no epoch ran).  Returns 0, or 1 (reported). */
static int finish_run(trainer *t)
{
    if (!t->have_val) {
        if (dlrt_evaluate(t->m, &t->test, &t->vloss, t->vm)) {
            dlrt_report(t->prog, "out of memory");
            return 1;
        }
        if (t->o->save && save_checkpoint(t->m, t->o->save, &t->r, t->r.start_epoch, &t->e)) {
            dlrt_report(t->prog, t->e.msg);
            return 1;
        }
    }
    print_test(t->m, t->vloss, t->vm);
    return 0;
}

/* Closes the files (a write lost at the end is an error too, unless one
 * was reported), frees the buffers and the splits, tears the model down.
 * Returns the exit status. */
static int end_run(trainer *t, int status)
{
    if (t->trace && dlrt_out_close(t->trace, t->o->trace, &t->e) && status == 0) {
        dlrt_report(t->prog, t->e.msg);
        status = 1;
    }
    if (t->log && dlrt_out_close(t->log, t->o->log, &t->e) && status == 0) {
        dlrt_report(t->prog, t->e.msg);
        status = 1;
    }
    dlrt_avg_free(&t->avg);
    free(t->perm);
    free(t->xbuf);
    free(t->ybuf);
    free(t->fm);
    free(t->dm);
    free(t->vm);
    if (t->started && t->m->teardown) t->m->teardown();
    dlrt_dataset_free(&t->train);
    dlrt_dataset_free(&t->test);
    return status;
}

/* The train command (see the top of the file).  Returns the exit status. */
int dlrt_cmd_train(const dlrt_model *m, const dlrt_opts *o, const char *prog)
{
    trainer t;
    memset(&t, 0, sizeof t);
    t.m = m;
    t.o = o;
    t.prog = prog;
    int status = resolve(m, o, &t.r, prog); /* step 1 */
    if (status) return status;
    const char *dir = o->data ? o->data : DLRT_DEFAULT_DATA; /* step 2 */
    if (dlrt_dataset_load(m, dir, "train", &t.train, &t.e) || dlrt_dataset_load(m, dir, "t10k", &t.test, &t.e)) {
        dlrt_report(prog, t.e.msg);
        dlrt_dataset_free(&t.train);
        return 1;
    }
    status = start_model(&t);
    if (!status) status = prepare_loop(&t);
    if (status) return end_run(&t, status);
    if (t.r.start_epoch >= t.r.epochs && !o->quiet)
        printf("%s: the checkpoint has %lld epochs already (of %lld); nothing to train\n", prog,
               (long long)t.r.start_epoch, (long long)t.r.epochs);
    for (int64_t ep = t.r.start_epoch; ep < t.r.epochs; ep++) {
        if (t.r.max_steps > 0 && t.r.step >= t.r.max_steps) break;
        if (train_epoch(&t, ep)) return end_run(&t, 1);
    }
    return end_run(&t, finish_run(&t));
}
