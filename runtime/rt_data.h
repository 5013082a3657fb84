/* rt_data.h - private to the runtime: in-memory datasets (dataset.c),
 * shuffling and batching (batch.c), running averages (metrics.c). */
#ifndef DLRT_RT_DATA_H
#define DLRT_RT_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "dlrt.h"
#include "rt_err.h"
#include "rt_idx.h"

/* A split of a dataset.  Labels are converted once at load to what the
 * model takes (i32 or f32); IDX images stay bytes (a quarter of the
 * memory of f32) and become f32 (pixel / 255) when a batch is gathered. */
typedef struct dlrt_dataset {
    int64_t n;             /* samples */
    int64_t in_size;       /* values per sample */
    float *x;              /* n * in_size floats, or NULL: the bytes xb */
    uint8_t *xb;           /* n * in_size bytes, each read as byte / 255.0f */
    int64_t label_size;    /* labels per sample */
    dlrt_dtype label_dtype;/* DLRT_I32 or DLRT_F32 */
    void *y;               /* n * label_size 4-byte labels */
    int bound;             /* 1 + the split the model keeps a copy of
                              (dlrt_model.bind_data), 0 if none */
} dlrt_dataset;

/* Finds DIR/BASE.gz or DIR/BASE; writes the path found into out.  -1 with
 * a message if neither exists. */
int dlrt_find_data_file(const char *dir, const char *base, char *out, size_t cap, dlrt_err *e);
/* Loads split `prefix` ("train" or "t10k") from DIR: PREFIX-images-idx3-ubyte
 * and PREFIX-labels-idx1-ubyte, gzip'd or not. */
int dlrt_dataset_load(const dlrt_model *m, const char *dir, const char *prefix, dlrt_dataset *ds, dlrt_err *e);
/* Builds a dataset from IDX arrays already read (the names are for messages). */
int dlrt_dataset_from_idx(const dlrt_model *m, const dlrt_idx *images, const char *images_name,
                          const dlrt_idx *labels, const char *labels_name, dlrt_dataset *ds, dlrt_err *e);
void dlrt_dataset_free(dlrt_dataset *ds);

/* Hands ds to the model as split `split` (0 training, 1 test) when the
 * model keeps data itself (bind_data, train_step_rows, eval_step_rows) and
 * accepts it; the steps over ds then pass row numbers instead of batches.
 * Otherwise ds stays unbound and batches are gathered on the host, as they
 * are when the environment sets DLRT_HOST_DATA (to anything but "" or "0").
 * Call after the model's setup(). */
void dlrt_bind(const dlrt_model *m, dlrt_dataset *ds, int split);

/* The shuffle of epoch `epoch` of a run with `seed`: idx becomes a
 * permutation of 0..n-1 by Fisher-Yates with the counter RNG keyed by
 * (seed, epoch), a pure function of the three numbers. */
void dlrt_shuffle(int64_t *idx, int64_t n, uint64_t seed, uint64_t epoch);
/* Copies samples idx[0..count) of ds into x (count*in_size floats) and y
 * (count*label_size labels): one memcpy (or byte conversion) per sample,
 * nothing allocated. */
void dlrt_gather(const dlrt_dataset *ds, const int64_t *idx, int64_t count, float *x, void *y);
/* The inputs of samples [start, start+count) as floats: in place when ds
 * holds floats, else converted into buf (count*in_size floats). */
const float *dlrt_rows(const dlrt_dataset *ds, int64_t start, int64_t count, float *buf);
/* Input value i (flat index over samples) of ds, as the model sees it. */
float dlrt_ds_value(const dlrt_dataset *ds, int64_t i);

/* A running average of loss and metrics, weighted by batch size. */
typedef struct dlrt_avg {
    int nmetrics;
    double weight, loss;
    double *metrics;   /* nmetrics sums, allocated once */
} dlrt_avg;

int dlrt_avg_init(dlrt_avg *a, int nmetrics);
void dlrt_avg_reset(dlrt_avg *a);
void dlrt_avg_add(dlrt_avg *a, int64_t n, float loss, const float *metrics);
/* Writes the averages (NaN if nothing was added). */
void dlrt_avg_get(const dlrt_avg *a, double *loss, double *metrics);
void dlrt_avg_free(dlrt_avg *a);

#endif
