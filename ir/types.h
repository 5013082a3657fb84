/* types.h - element types and tensor types of the IR.
 *
 * A tensor type is a dtype plus a shape of up to DLC_MAX_RANK dimensions.
 * At most one dimension - always dimension 0 - may be the symbolic batch
 * dimension N, written DIM_N.  It is bound at run time to the actual batch
 * size n <= max_batch; everything else is static.  Rank 0 is a scalar.
 */
#ifndef DLC_IR_TYPES_H
#define DLC_IR_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* X-macro: DTYPE(ENUM, "name", bytes, is_float) */
#define DLC_DTYPES(X)          \
    X(F32, "f32", 4, true)     \
    X(F64, "f64", 8, true)     \
    X(I32, "i32", 4, false)    \
    X(U8, "u8", 1, false)

typedef enum {
#define X(e, n, b, f) DT_##e,
    DLC_DTYPES(X)
#undef X
        DT_COUNT
} DType;

#define DLC_MAX_RANK 8
#define DIM_N ((int64_t)-1) /* the symbolic batch dimension */
#define DLC_MAX_DIM ((int64_t)1 << 40) /* larger static dims are rejected */

typedef struct TensorType {
    DType dtype;
    int rank;                     /* 0..DLC_MAX_RANK */
    int64_t dims[DLC_MAX_RANK];   /* dims[i] >= 0, or DIM_N (only i == 0) */
} TensorType;

const char *dtype_name(DType t);
size_t dtype_size(DType t);
bool dtype_is_float(DType t);
/* Parses "f32" etc.; returns false if unknown. */
bool dtype_parse(const char *s, size_t len, DType *out);

/* Builds a type from a dtype and dims. */
TensorType tt_make(DType dt, int rank, const int64_t *dims);
TensorType tt_scalar(DType dt);
bool tt_equal(const TensorType *a, const TensorType *b);
bool tt_has_batch(const TensorType *t);
/* Number of elements with N bound to `n` (for a type without N, n is ignored). */
int64_t tt_numel(const TensorType *t, int64_t n);
/* Elements per batch entry: product of dims[1..] if dims[0] is N, else numel. */
int64_t tt_numel_per_sample(const TensorType *t);
/* Writes "f32[N,28,28]" (scalar: "f32[]") into buf; returns buf. */
char *tt_format(const TensorType *t, char *buf, size_t len);
#define TT_FMT_LEN 160

#endif
