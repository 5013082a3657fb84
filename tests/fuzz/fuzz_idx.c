/* fuzz_idx.c - libFuzzer harness for the IDX reader (runtime/idx.c).
 *
 * Each input is the bytes of an IDX file, plain or gzip'd (zlib detects
 * which).  dlrt_idx_read must either return 0 with a consistent array -
 * numel the product of the dims, every byte readable - or -1 with a message
 * that names the file.  A crash, a sanitizer report, a leak or a broken
 * promise (abort) is a bug.  Built and run by tests/fuzz/run.sh over the
 * seeds written by tests/fuzz/make_seeds.py.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_memfile.h"
#include "rt_idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_memfile(data, size);
    dlrt_idx x;
    dlrt_err e;
    if (dlrt_idx_read(path, &x, &e) != 0) {
        if (!strstr(e.msg, path)) abort(); /* every message names the file */
        if (x.data) abort();               /* nothing is left allocated */
        return 0;
    }
    if (x.rank < 1 || x.rank > DLRT_MAX_RANK) abort();
    int64_t numel = 1;
    for (int k = 0; k < x.rank; k++) {
        if (x.dims[k] < 1) abort();
        numel *= x.dims[k];
    }
    if (numel != x.numel) abort();
    volatile unsigned acc = 0;
    for (int64_t i = 0; i < x.numel; i++) acc += x.data[i];
    dlrt_idx_free(&x);
    return 0;
}
