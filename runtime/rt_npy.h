/* rt_npy.h - private to the runtime: NumPy .npy reader and writer (npy.c). */
#ifndef DLRT_RT_NPY_H
#define DLRT_RT_NPY_H

#include <stdint.h>

#include "dlrt.h"
#include "rt_err.h"

typedef struct dlrt_npy {
    dlrt_dtype dtype;   /* DLRT_F32 ('<f4'), DLRT_U8 ('|u1'), DLRT_I32 ('<i4') */
    int rank;           /* 0 for a scalar */
    int64_t dims[DLRT_MAX_RANK];
    int64_t numel;
    void *data;         /* numel elements, malloc'd */
} dlrt_npy;

/* Reads a .npy file (format 1.0, 2.0 or 3.0; C order).  Returns 0, or -1
 * with a message naming the file. */
int dlrt_npy_read(const char *path, dlrt_npy *out, dlrt_err *e);
void dlrt_npy_free(dlrt_npy *x);
/* Writes a .npy file (format 1.0) atomically. */
int dlrt_npy_write(const char *path, dlrt_dtype dtype, int rank, const int64_t *dims,
                   const void *data, dlrt_err *e);
/* Bytes per element of a dtype. */
int dlrt_dtype_size(dlrt_dtype t);

#endif
