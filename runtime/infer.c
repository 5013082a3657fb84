/* infer.c - running a trained model: the `eval` and `predict` commands,
 * and the evaluation of a split that `train` also uses.
 *
 * eval loads the test split and the checkpoint's parameters and prints the
 * loss and metrics (or, with --json, exactly one line {"loss":L,...}).
 * predict reads INPUT (an IDX file of bytes, or a .npy array, told apart by
 * the .npy magic), scales bytes by 1/255 as training did, runs predict in
 * chunks of max_batch, prints each sample's argmax class (or its values,
 * when the model has a single output or is not a classifier:
 * dlrt_model.out_values), and with -o writes the outputs as a f32 .npy
 * [n, out_size].
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_ckpt.h"
#include "rt_cli.h"
#include "rt_npy.h"

/* setup() then init_params(seed); a message if the arena cannot be had. */
int dlrt_model_start(const dlrt_model *m, uint64_t seed, const char *prog)
{
    if (!m->setup || m->setup() != 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "cannot allocate the memory of model '%s'", m->name);
        dlrt_report(prog, msg);
        return -1;
    }
    if (m->init_params) m->init_params(seed);
    return 0;
}

/* Loss and metrics over a whole split, chunks of max_batch (converted into
 * one buffer allocated once when the split holds bytes). */
int dlrt_evaluate(const dlrt_model *m, const dlrt_dataset *ds, double *loss, double *metrics)
{
    dlrt_avg avg;
    int64_t chunk = m->max_batch > 0 ? m->max_batch : 1;
    float *fm = calloc((size_t)m->nmetrics + 1, sizeof(float));
    /* a bound data set takes row numbers; otherwise byte inputs are
       converted into buf */
    float *buf = ds->x || ds->bound ? NULL : malloc(sizeof(float) * (size_t)(chunk * ds->in_size));
    int64_t *rows = ds->bound ? malloc(sizeof *rows * (size_t)chunk) : NULL;
    if (!fm || (!ds->x && !ds->bound && !buf) || (ds->bound && !rows) || dlrt_avg_init(&avg, m->nmetrics)) {
        free(fm);
        free(buf);
        free(rows);
        return -1;
    }
    for (int64_t s = 0; s < ds->n; s += chunk) {
        int64_t n = ds->n - s < chunk ? ds->n - s : chunk;
        float l = 0;
        if (ds->bound) {
            for (int64_t i = 0; i < n; i++) rows[i] = s + i;
            m->eval_step_rows(ds->bound - 1, rows, n, &l, fm);
        } else {
            m->eval_step(dlrt_rows(ds, s, n, buf), (const char *)ds->y + (size_t)(s * ds->label_size) * 4, n, &l, fm);
        }
        dlrt_avg_add(&avg, n, l, fm);
    }
    dlrt_avg_get(&avg, loss, metrics);
    dlrt_avg_free(&avg);
    free(fm);
    free(buf);
    free(rows);
    return 0;
}

/* A number for JSON: non-finite values become null. */
static void json_num(double v)
{
    if (isfinite(v)) printf("%.9g", v);
    else printf("null");
}

/* The eval command: test split, parameters from --weights, one line out. */
int dlrt_cmd_eval(const dlrt_model *m, const dlrt_opts *o, const char *prog)
{
    if (!m->eval_step) {
        dlrt_report(prog, DLRT_INFER_ONLY " to evaluate its loss");
        return 2;
    }
    dlrt_err e;
    dlrt_dataset test;
    if (dlrt_dataset_load(m, o->data ? o->data : DLRT_DEFAULT_DATA, "t10k", &test, &e)) {
        dlrt_report(prog, e.msg);
        return 1;
    }
    int status = 1;
    double *met = calloc((size_t)m->nmetrics + 1, sizeof(double));
    double loss = 0;
    if (!met) {
        dlrt_report(prog, "out of memory");
        dlrt_dataset_free(&test);
        return 1;
    }
    if (dlrt_model_start(m, m->seed, prog)) goto out_data;
    if (dlrt_st_read_ex(o->weights, m->tensors, m->nparams, m->name, DLRT_CKPT_FLAGS(o), NULL, &e)) {
        dlrt_report(prog, e.msg);
        goto out;
    }
    dlrt_bind(m, &test, 1);
    if (dlrt_evaluate(m, &test, &loss, met)) {
        dlrt_report(prog, "out of memory");
        goto out;
    }
    if (o->json) {
        printf("{\"loss\":");
        json_num(loss);
        for (int k = 0; k < m->nmetrics; k++) {
            printf(",\"%s\":", m->metric_names[k]);
            json_num(met[k]);
        }
        printf("}\n");
    } else {
        printf("loss: %.4f", loss);
        for (int k = 0; k < m->nmetrics; k++) printf(" - %s: %.4f", m->metric_names[k], met[k]);
        printf("\n");
    }
    status = 0;
out:
    if (m->teardown) m->teardown();
out_data:
    free(met);
    dlrt_dataset_free(&test);
    return status;
}

/* True if the file starts with the .npy magic, or is named *.npy (so that
 * a damaged .npy file is reported as one, not as a bad IDX file). */
static int looks_like_npy(const char *path)
{
    size_t len = strlen(path);
    if (len >= 4 && !strcmp(path + len - 4, ".npy")) return 1;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char magic[6];
    int yes = fread(magic, 1, 6, f) == 6 && !memcmp(magic, "\x93NUMPY", 6);
    fclose(f);
    return yes;
}

/* A shape in Python's notation, "(28, 28, 5)", "(320,)", "()", into buf;
 * with `batch`, "N, " first. */
static void fmt_shape(char *buf, size_t cap, int batch, int rank, const int64_t *dims)
{
    size_t l = (size_t)snprintf(buf, cap, "(%s", batch ? "N" : "");
    for (int k = 0; k < rank && l < cap; k++)
        l += (size_t)snprintf(buf + l, cap - l, "%s%lld", k || batch ? ", " : "", (long long)dims[k]);
    if (l < cap) snprintf(buf + l, cap - l, "%s)", rank + batch == 1 ? "," : "");
}

/* The message for an INPUT of the wrong shape: the shape given, and the
 * shapes the model takes (with and without the batch dimension). */
static void shape_error(const dlrt_model *m, const char *path, int rank, const int64_t *dims, int64_t numel,
                        dlrt_err *e)
{
    /* a hand-written model may give only its size */
    int srank = m->in_rank > 0 || m->in_size == 1 ? m->in_rank : 1;
    const int64_t *sdims = m->in_rank > 0 ? m->in_dims : &m->in_size;
    char given[160], sample[160], batch[160];
    fmt_shape(given, sizeof given, 0, rank, dims);
    fmt_shape(sample, sizeof sample, 0, srank, sdims);
    fmt_shape(batch, sizeof batch, 1, srank, sdims);
    if (numel == 0)
        dlrt_errf(e, "%s holds no samples (shape %s)", path, given);
    else
        dlrt_errf(e, "%s has shape %s but model '%s' takes samples of shape %s: expected %s, or %s for one sample",
                  path, given, m->name, sample, batch, sample);
}

/* Reads INPUT into a malloc'd array of n samples of in_size floats. */
static float *read_input(const dlrt_model *m, const char *path, int64_t *n_out, dlrt_err *e)
{
    int rank;
    const int64_t *dims;
    int64_t numel;
    dlrt_dtype dt;
    const void *src;
    dlrt_npy npy;
    dlrt_idx idx;
    int is_npy = looks_like_npy(path);
    if (is_npy) {
        if (dlrt_npy_read(path, &npy, e)) return NULL;
        rank = npy.rank, dims = npy.dims, numel = npy.numel, dt = npy.dtype, src = npy.data;
    } else {
        if (dlrt_idx_read(path, &idx, e)) return NULL;
        rank = idx.rank, dims = idx.dims, numel = idx.numel, dt = DLRT_U8, src = idx.data;
    }
    float *x = NULL;
    int64_t n = -1;
    /* [n, ...per sample...] or one sample without the batch dimension */
    if (rank >= 1 && dims[0] > 0 && numel / dims[0] == m->in_size && numel % dims[0] == 0 && rank > 1)
        n = dims[0];
    else if (numel == m->in_size)
        n = 1;
    else if (rank == 1 && m->in_size == 1)
        n = dims[0];
    if (n <= 0 || numel == 0) {
        shape_error(m, path, rank, dims, numel, e);
        goto out;
    }
    x = malloc(sizeof(float) * (size_t)numel);
    if (!x) {
        dlrt_errf(e, "%s: out of memory", path);
        goto out;
    }
    for (int64_t i = 0; i < numel; i++) {
        if (dt == DLRT_U8) x[i] = (float)((const uint8_t *)src)[i] / 255.0f;
        else if (dt == DLRT_I32) x[i] = (float)((const int32_t *)src)[i];
        else x[i] = ((const float *)src)[i];
    }
    *n_out = n;
out:
    if (is_npy) dlrt_npy_free(&npy);
    else dlrt_idx_free(&idx);
    return x;
}

/* The predict command: INPUT through the model, a line per sample, -o npy. */
int dlrt_cmd_predict(const dlrt_model *m, const dlrt_opts *o, const char *prog)
{
    if (!m->predict) {
        dlrt_report(prog, "this program has no predict entry point");
        return 2;
    }
    dlrt_err e;
    int64_t n = 0;
    float *x = read_input(m, o->input, &n, &e);
    if (!x) {
        dlrt_report(prog, e.msg);
        return 1;
    }
    int status = 1;
    if (m->out_mixes_rows && n > (m->max_batch > 0 ? m->max_batch : 1)) {
        dlrt_errf(&e, "%s holds %lld samples, but the output of model '%s' combines the samples it is given, "
                  "so predict takes at most %lld at once (the max batch) rather than split them into chunks",
                  o->input, (long long)n, m->name, (long long)m->max_batch);
        dlrt_report(prog, e.msg);
        free(x);
        return 1;
    }
    float *out = malloc(sizeof(float) * (size_t)(n * m->out_size));
    if (!out) {
        dlrt_report(prog, "out of memory");
        free(x);
        return 1;
    }
    if (dlrt_model_start(m, m->seed, prog)) goto out_mem;
    if (dlrt_st_read_ex(o->weights, m->tensors, m->nparams, m->name, DLRT_CKPT_FLAGS(o), NULL, &e)) {
        dlrt_report(prog, e.msg);
        goto out;
    }
    int64_t chunk = m->max_batch > 0 ? m->max_batch : 1;
    for (int64_t s = 0; s < n; s += chunk) {
        int64_t k = n - s < chunk ? n - s : chunk;
        m->predict(x + s * m->in_size, out + s * m->out_size, k);
    }
    for (int64_t s = 0; s < n; s++) {
        const float *row = out + s * m->out_size;
        if (m->out_size == 1 || m->out_values) {
            for (int64_t j = 0; j < m->out_size; j++) printf("%s%.6g", j ? " " : "", row[j]);
            printf("\n");
            continue;
        }
        int64_t best = 0;
        for (int64_t j = 1; j < m->out_size; j++)
            if (row[j] > row[best]) best = j;
        printf("%lld\n", (long long)best);
    }
    if (o->output) {
        int64_t dims[2] = {n, m->out_size};
        if (dlrt_npy_write(o->output, DLRT_F32, 2, dims, out, &e)) {
            dlrt_report(prog, e.msg);
            goto out;
        }
    }
    status = 0;
out:
    if (m->teardown) m->teardown();
out_mem:
    free(out);
    free(x);
    return status;
}
