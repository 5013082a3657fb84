/* dataset.c - assembling a training/test split from IDX files.
 *
 * Images (u8, [n, ...]) stay bytes in memory (a quarter of f32: the
 * training program's peak memory is mostly the dataset) and become f32 in
 * [0, 1] (divided by 255, as PyTorch's ToTensor and Keras tutorials do)
 * when a batch is gathered (batch.c).
 * Labels (u8, [n]) become what the model's label input takes: i32 class
 * indices (label_size 1), f32 values (label_size 1), or f32 one-hot rows
 * (label_size K > 1).  Each label is checked first against what the model
 * says it may be (dlrt_model.label_classes, label_binary; < K for one-hot
 * rows): a label out of range is an error naming the file, the row and
 * the value, not a row that silently trains on nothing.  The two files must
 * agree on the sample count and the image size must equal the model's
 * input size; each mismatch is a message naming the files.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rt_data.h"

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* DIR/BASE.gz if it exists, else DIR/BASE. */
int dlrt_find_data_file(const char *dir, const char *base, char *out, size_t cap, dlrt_err *e)
{
    snprintf(out, cap, "%s/%s.gz", dir, base);
    if (is_file(out)) return 0;
    snprintf(out, cap, "%s/%s", dir, base);
    if (is_file(out)) return 0;
    return dlrt_errf(e, "cannot find %s/%s or %s/%s.gz (use --data DIR to name the dataset folder)", dir, base,
                     dir, base);
}

/* Whether label value v is one the model can take (see dlrt_model):
 * below the class count of i32 class indices or of one-hot rows, 0 or 1
 * for binary targets. */
static bool label_fits(const dlrt_model *m, int v)
{
    if (m->label_dtype == DLRT_I32) return m->label_classes <= 0 || v < m->label_classes;
    if (m->label_size > 1) return v < m->label_size;
    return !m->label_binary || v <= 1;
}

/* The message for label v of row `row` (counting from 0) of file `name`. */
static int label_error(const dlrt_model *m, const char *name, int64_t row, int v, dlrt_err *e)
{
    if (m->label_dtype == DLRT_F32 && m->label_size == 1)
        return dlrt_errf(e, "%s: row %lld: label %d is not a binary label (model '%s' takes 0 or 1: its binary "
                         "crossentropy reads the labels as targets in [0, 1])", name, (long long)row, v, m->name);
    int64_t classes = m->label_dtype == DLRT_I32 ? m->label_classes : m->label_size;
    return dlrt_errf(e, "%s: row %lld: label %d is out of range: model '%s' has %lld classes (labels 0 to %lld)",
                     name, (long long)row, v, m->name, (long long)classes, (long long)classes - 1);
}

/* Checks the two arrays against each other and the model, then keeps the
 * image bytes (taking images->data over when `steal`, else a copy) and
 * converts labels to the model's label type. */
static int assemble(const dlrt_model *m, dlrt_idx *images, bool steal, const char *images_name,
                    const dlrt_idx *labels, const char *labels_name, dlrt_dataset *ds, dlrt_err *e)
{
    memset(ds, 0, sizeof *ds);
    int64_t n = images->dims[0];
    if (labels->dims[0] != n)
        return dlrt_errf(e, "images file %s has %lld samples but labels file %s has %lld", images_name,
                         (long long)n, labels_name, (long long)labels->dims[0]);
    int64_t per = images->numel / n;
    if (per != m->in_size)
        return dlrt_errf(e, "%s holds samples of %lld values but model '%s' takes inputs of %lld", images_name,
                         (long long)per, m->name, (long long)m->in_size);
    if (labels->rank != 1)
        return dlrt_errf(e, "%s: labels must be a 1-D IDX array, this one has rank %d", labels_name,
                         labels->rank);
    if (m->label_dtype != DLRT_I32 && m->label_dtype != DLRT_F32)
        return dlrt_errf(e, "model '%s' takes labels of a type the IDX reader cannot produce", m->name);
    if (m->label_dtype == DLRT_I32 && m->label_size != 1)
        return dlrt_errf(e, "model '%s' takes %lld integer labels per sample; %s has one", m->name,
                         (long long)m->label_size, labels_name);
    ds->n = n;
    ds->in_size = per;
    ds->label_size = m->label_size;
    ds->label_dtype = m->label_dtype;
    if (steal) {
        ds->xb = images->data;
        images->data = NULL;
    } else {
        ds->xb = malloc((size_t)images->numel > 0 ? (size_t)images->numel : 1);
        if (ds->xb && images->numel > 0) memcpy(ds->xb, images->data, (size_t)images->numel);
    }
    ds->y = calloc((size_t)(n * m->label_size), 4);
    if (!ds->xb || !ds->y) {
        dlrt_dataset_free(ds);
        return dlrt_errf(e, "out of memory loading %s", images_name);
    }
    for (int64_t i = 0; i < n; i++) {
        int v = labels->data[i];
        if (label_fits(m, v)) continue;
        dlrt_dataset_free(ds);
        return label_error(m, labels_name, i, v, e);
    }
    if (m->label_dtype == DLRT_I32) {
        int32_t *y = ds->y;
        for (int64_t i = 0; i < n; i++) y[i] = labels->data[i];
    } else if (m->label_size == 1) {
        float *y = ds->y;
        for (int64_t i = 0; i < n; i++) y[i] = labels->data[i];
    } else {
        float *y = ds->y;
        for (int64_t i = 0; i < n; i++) y[i * m->label_size + labels->data[i]] = 1.0f;
    }
    return 0;
}

int dlrt_dataset_from_idx(const dlrt_model *m, const dlrt_idx *images, const char *images_name,
                          const dlrt_idx *labels, const char *labels_name, dlrt_dataset *ds, dlrt_err *e)
{
    dlrt_idx view = *images; /* read only: assemble copies the bytes */
    return assemble(m, &view, false, images_name, labels, labels_name, ds, e);
}

/* Finds and reads both files of a split, then assembles it (keeping the
 * image bytes read, no copy). */
int dlrt_dataset_load(const dlrt_model *m, const char *dir, const char *prefix, dlrt_dataset *ds, dlrt_err *e)
{
    char base[64], ipath[4096], lpath[4096];
    memset(ds, 0, sizeof *ds);
    snprintf(base, sizeof base, "%s-images-idx3-ubyte", prefix);
    if (dlrt_find_data_file(dir, base, ipath, sizeof ipath, e)) return -1;
    snprintf(base, sizeof base, "%s-labels-idx1-ubyte", prefix);
    if (dlrt_find_data_file(dir, base, lpath, sizeof lpath, e)) return -1;
    dlrt_idx images, labels;
    if (dlrt_idx_read(lpath, &labels, e)) return -1;
    if (dlrt_idx_read(ipath, &images, e)) {
        dlrt_idx_free(&labels);
        return -1;
    }
    int rc = assemble(m, &images, true, ipath, &labels, lpath, ds, e);
    dlrt_idx_free(&images);
    dlrt_idx_free(&labels);
    return rc;
}

void dlrt_dataset_free(dlrt_dataset *ds)
{
    free(ds->x);
    free(ds->xb);
    free(ds->y);
    memset(ds, 0, sizeof *ds);
}
