/* rt_idx.h - private to the runtime: the IDX file reader (idx.c). */
#ifndef DLRT_RT_IDX_H
#define DLRT_RT_IDX_H

#include <stdint.h>

#include "dlrt.h"
#include "rt_err.h"

/* An IDX array of unsigned bytes: dims[0] is the sample count. */
typedef struct dlrt_idx {
    int rank;
    int64_t dims[DLRT_MAX_RANK];
    int64_t numel;   /* product of dims */
    uint8_t *data;   /* numel bytes, malloc'd */
} dlrt_idx;

/* Largest payload accepted (bytes); anything larger is a corrupt header. */
#define DLRT_IDX_MAX_BYTES (((int64_t)1) << 34)

/* Reads an IDX file, gzip'd or plain.  Returns 0, or -1 with a message
 * naming the file in e. */
int dlrt_idx_read(const char *path, dlrt_idx *out, dlrt_err *e);
void dlrt_idx_free(dlrt_idx *x);

#endif
