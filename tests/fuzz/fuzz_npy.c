/* fuzz_npy.c - libFuzzer harness for the .npy reader (runtime/npy.c).
 *
 * Each input is the bytes of a .npy file.  dlrt_npy_read must either
 * return 0 with a consistent array - a supported dtype, rank 0..8, numel
 * the product of the dims, every element readable - or -1 with a message
 * that names the file.  A crash, a sanitizer report, a leak or a broken
 * promise (abort) is a bug.  Built and run by tests/fuzz/run.sh over the
 * seeds written by tests/fuzz/make_seeds.py.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_memfile.h"
#include "rt_npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_memfile(data, size);
    dlrt_npy x;
    dlrt_err e;
    if (dlrt_npy_read(path, &x, &e) != 0) {
        if (!strstr(e.msg, path)) abort(); /* every message names the file */
        if (x.data) abort();               /* nothing is left allocated */
        return 0;
    }
    if (x.dtype != DLRT_F32 && x.dtype != DLRT_U8 && x.dtype != DLRT_I32) abort();
    if (x.rank < 0 || x.rank > DLRT_MAX_RANK) abort();
    int64_t numel = 1;
    for (int k = 0; k < x.rank; k++) {
        if (x.dims[k] < 0) abort();
        numel *= x.dims[k];
    }
    if (numel != x.numel) abort();
    const unsigned char *p = x.data;
    size_t bytes = (size_t)x.numel * (size_t)dlrt_dtype_size(x.dtype);
    if (size < bytes) abort(); /* the payload came from the file */
    volatile unsigned acc = 0;
    for (size_t i = 0; i < bytes; i++) acc += p[i];
    dlrt_npy_free(&x);
    return 0;
}
