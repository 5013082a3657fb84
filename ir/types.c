/* types.c - element types and tensor types (see types.h). */
#include "types.h"

#include <stdio.h>
#include <string.h>

#include "diag.h"

static const struct {
    const char *name;
    size_t size;
    bool is_float;
} dtype_table[DT_COUNT] = {
#define X(e, n, b, f) {n, b, f},
    DLC_DTYPES(X)
#undef X
};

const char *dtype_name(DType t) {
    DLC_ASSERT((unsigned)t < DT_COUNT);
    return dtype_table[t].name;
}

size_t dtype_size(DType t) {
    DLC_ASSERT((unsigned)t < DT_COUNT);
    return dtype_table[t].size;
}

bool dtype_is_float(DType t) { return (unsigned)t < DT_COUNT && dtype_table[t].is_float; }

bool dtype_parse(const char *s, size_t len, DType *out) {
    for (int i = 0; i < DT_COUNT; i++) {
        if (strlen(dtype_table[i].name) == len && memcmp(dtype_table[i].name, s, len) == 0) {
            *out = (DType)i;
            return true;
        }
    }
    return false;
}

TensorType tt_make(DType dt, int rank, const int64_t *dims) {
    DLC_ASSERT(rank >= 0 && rank <= DLC_MAX_RANK);
    TensorType t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.rank = rank;
    for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
    return t;
}

TensorType tt_scalar(DType dt) { return tt_make(dt, 0, NULL); }

bool tt_equal(const TensorType *a, const TensorType *b) {
    if (a->dtype != b->dtype || a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

bool tt_has_batch(const TensorType *t) { return t->rank > 0 && t->dims[0] == DIM_N; }

int64_t tt_numel(const TensorType *t, int64_t n) {
    int64_t e = 1;
    for (int i = 0; i < t->rank; i++) e *= t->dims[i] == DIM_N ? n : t->dims[i];
    return e;
}

int64_t tt_numel_per_sample(const TensorType *t) {
    int64_t e = 1;
    for (int i = tt_has_batch(t) ? 1 : 0; i < t->rank; i++) e *= t->dims[i];
    return e;
}

char *tt_format(const TensorType *t, char *buf, size_t len) {
    if (!len) return buf;
    size_t pos = 0;
    int w = snprintf(buf, len, "%s[", (unsigned)t->dtype < DT_COUNT ? dtype_table[t->dtype].name : "?");
    pos = w > 0 ? (size_t)w : 0;
    for (int i = 0; i < t->rank && pos < len; i++) {
        if (t->dims[i] == DIM_N)
            w = snprintf(buf + pos, len - pos, "%sN", i ? "," : "");
        else
            w = snprintf(buf + pos, len - pos, "%s%lld", i ? "," : "", (long long)t->dims[i]);
        pos += w > 0 ? (size_t)w : 0;
    }
    if (pos < len) snprintf(buf + pos, len - pos, "]");
    return buf;
}
