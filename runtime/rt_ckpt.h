/* rt_ckpt.h - private to the runtime: checkpoints in the safetensors
 * format (safetensors.c). */
#ifndef DLRT_RT_CKPT_H
#define DLRT_RT_CKPT_H

#include <stdint.h>

#include "dlrt.h"
#include "rt_err.h"

/* What a checkpoint's metadata says (fields absent from it are -1 / ""). */
typedef struct dlrt_ckpt_info {
    char model[256];
    int64_t epoch;    /* epochs completed */
    int64_t step;     /* optimization steps taken */
    int64_t seed;     /* the run's seed (as a signed number; -1 absent) */
    int has_seed;
    int64_t batch_size;      /* the run's batch size (-1 absent) */
    double learning_rate;    /* the run's learning rate (-1 absent) */
} dlrt_ckpt_info;

/* Writes tensors t[0..n) atomically, with metadata pairs
 * meta[0], meta[1], meta[2], meta[3], ... (nmeta pairs, string values). */
int dlrt_st_write(const char *path, const dlrt_tensor *t, int n, const char *const *meta, int nmeta,
                  dlrt_err *e);
/* Reads tensors t[0..n) (their names, dtypes and shapes must match the
 * file's; other tensors in the file are ignored) into their data.  If
 * `model` is not NULL and the metadata names another model, fails.  Every
 * check is made before any tensor is written.  info may be NULL. */
int dlrt_st_read(const char *path, dlrt_tensor *t, int n, const char *model, dlrt_ckpt_info *info,
                 dlrt_err *e);
/* dlrt_st_read with flags: DLRT_ST_REQUIRE_FINITE also refuses a wanted
 * F32/F64 tensor holding a NaN or an infinity, naming the tensor and the
 * element (the message suggests the program's --allow-nonfinite). */
#define DLRT_ST_REQUIRE_FINITE 1u
int dlrt_st_read_ex(const char *path, dlrt_tensor *t, int n, const char *model, unsigned flags,
                    dlrt_ckpt_info *info, dlrt_err *e);

/* Largest header accepted, as the reference implementation does. */
#define DLRT_ST_MAX_HEADER (100 * 1000 * 1000)

#endif
