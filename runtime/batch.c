/* batch.c - shuffling and batch assembly.
 *
 * The shuffle is Fisher-Yates driven by the counter RNG: swap i with a
 * uniform j in [0, i] drawn as draw i of the stream keyed by (seed, epoch),
 * for i = n-1 down to 1.  The order of an epoch is thus a pure function of
 * (seed, epoch, n): a resumed run shuffles its remaining epochs exactly as
 * the uninterrupted run would have.  The shuffle stream is derived with a
 * constant tag so it never coincides with a step's dropout stream
 * dlrt_key(seed, step).
 *
 * A batch is gathered into buffers allocated once for the largest batch:
 * one memcpy per sample (or, for a dataset kept as bytes, one conversion
 * to floats), nothing allocated per batch.  A model that keeps a copy of
 * the data set itself (the CUDA target, on the device) is handed the data
 * once (dlrt_bind) and then only each batch's row numbers.
 */
#include <stdlib.h>
#include <string.h>

#include "rt_data.h"
#include "rt_rng.h"

#define SHUFFLE_TAG 0x53485546464C45ull /* "SHUFFLE" */

void dlrt_shuffle(int64_t *idx, int64_t n, uint64_t seed, uint64_t epoch)
{
    uint64_t key = dlrt_key(dlrt_key(seed, SHUFFLE_TAG), epoch);
    for (int64_t i = 0; i < n; i++) idx[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)dlrt_below(key, (uint64_t)i, (uint64_t)i + 1);
        int64_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

/* Converts one sample of bytes to floats (byte / 255, as the dataset
 * defines them). */
static void bytes_to_floats(float *dst, const uint8_t *src, int64_t count)
{
    for (int64_t j = 0; j < count; j++) dst[j] = (float)src[j] / 255.0f;
}

void dlrt_gather(const dlrt_dataset *ds, const int64_t *idx, int64_t count, float *x, void *y)
{
    size_t xs = sizeof(float) * (size_t)ds->in_size, ys = 4 * (size_t)ds->label_size;
    const char *ysrc = ds->y;
    char *ydst = y;
    for (int64_t k = 0; k < count; k++) {
        int64_t s = idx[k];
        if (ds->x) memcpy(x + k * ds->in_size, ds->x + s * ds->in_size, xs);
        else bytes_to_floats(x + k * ds->in_size, ds->xb + s * ds->in_size, ds->in_size);
        memcpy(ydst + (size_t)k * ys, ysrc + (size_t)s * ys, ys);
    }
}

void dlrt_bind(const dlrt_model *m, dlrt_dataset *ds, int split)
{
    ds->bound = 0;
    if (!m->bind_data || !m->train_step_rows || !m->eval_step_rows) return;
    const char *host = getenv("DLRT_HOST_DATA"); /* keep the data on the host (comparisons, debugging) */
    if (host && *host && strcmp(host, "0") != 0) return;
    if (m->bind_data(split, ds->n, ds->x ? NULL : ds->xb, ds->x, ds->y) == 0) ds->bound = split + 1;
}

const float *dlrt_rows(const dlrt_dataset *ds, int64_t start, int64_t count, float *buf)
{
    if (ds->x) return ds->x + start * ds->in_size;
    bytes_to_floats(buf, ds->xb + start * ds->in_size, count * ds->in_size);
    return buf;
}

float dlrt_ds_value(const dlrt_dataset *ds, int64_t i)
{
    return ds->x ? ds->x[i] : (float)ds->xb[i] / 255.0f;
}
