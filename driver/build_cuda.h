/* build_cuda.h - `dlc build --target cuda` (driver/build_cuda.c). */
#ifndef DLC_DRIVER_BUILD_CUDA_H
#define DLC_DRIVER_BUILD_CUDA_H

#include <stdbool.h>

#include "../ir/arena.h"

/* nvcc as dlc runs it: $DLC_NVCC, /usr/local/cuda/bin/nvcc, or `nvcc`. */
const char *dlc_nvcc_path(void);
/* True for an --arch value such as sm_80, sm_90a. */
bool dlc_cuda_arch_ok(const char *arch);
/* Compiles DIR/STEM.cu (and links it with libdlrt and cuBLAS) into OUT;
 * scratch files go to TMP; `kept`: DIR is the user's --keep-source folder.
 * Returns the exit status for dlc: 0, or 3 with nvcc's output shown (a
 * user error, exit 1, if nvcc cannot be run). */
int dlc_build_cuda(Arena *a, const char *dir, const char *stem, const char *out, const char *arch, const char *tmp,
                   bool kept);

#endif
