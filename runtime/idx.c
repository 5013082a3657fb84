/* idx.c - reader of IDX files (the MNIST / Fashion-MNIST format).
 *
 * Layout: two zero bytes, an element type code (0x08 = unsigned byte, the
 * only one this runtime accepts), the rank, then rank big-endian u32 dims,
 * then the elements in C order.  The file may be gzip'd: zlib's gzopen /
 * gzread detect the gzip magic bytes (1f 8b) and read plain files through
 * unchanged, so one code path reads both.
 *
 * Everything is checked, each failure a message naming the file: the magic,
 * the type code, the rank (1..8), zero dims, sizes beyond
 * DLRT_IDX_MAX_BYTES, a payload shorter than the header promises, and bytes
 * left after it.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "rt_idx.h"

/* Reads up to len bytes (gzread takes an unsigned count, so in chunks).
 * Returns the count read, or -1 on a read/decompression error. */
static int64_t gz_read_all(gzFile f, uint8_t *buf, int64_t len)
{
    int64_t got = 0;
    while (got < len) {
        int64_t want = len - got;
        if (want > (1 << 30)) want = 1 << 30;
        int r = gzread(f, buf + got, (unsigned)want);
        if (r < 0) return -1;
        if (r == 0) break;
        got += r;
    }
    return got;
}

/* The zlib message for the last error on f, opened as path.  zlib writes
 * its messages as "PATH: what"; the caller names the file already, so the
 * prefix is dropped. */
static const char *gz_msg(gzFile f, const char *path)
{
    int code = 0;
    const char *m = gzerror(f, &code);
    if (code == Z_ERRNO) return strerror(errno);
    if (!m || !*m) return "read error";
    size_t len = strlen(path);
    if (!strncmp(m, path, len) && !strncmp(m + len, ": ", 2)) m += len + 2;
    return *m ? m : "read error";
}

/* Reads header, dims and payload, checking each (see the top of the file). */
int dlrt_idx_read(const char *path, dlrt_idx *out, dlrt_err *e)
{
    memset(out, 0, sizeof *out);
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) return dlrt_errf(e, "cannot open %s: %s", path, errno ? strerror(errno) : "out of memory");
    gzbuffer(f, 1 << 18); /* fewer, larger reads than zlib's 8 KiB default */
    uint8_t head[4];
    int64_t n = gz_read_all(f, head, 4);
    if (n < 0) {
        dlrt_errf(e, "%s: %s", path, gz_msg(f, path));
        goto fail;
    }
    if (n < 4 || head[0] != 0 || head[1] != 0) {
        dlrt_errf(e, "%s: not an IDX file (bad magic number)", path);
        goto fail;
    }
    if (head[2] != 0x08) {
        dlrt_errf(e, "%s: unsupported IDX element type 0x%02X (only unsigned bytes, 0x08, are supported)",
                  path, head[2]);
        goto fail;
    }
    int rank = head[3];
    if (rank < 1 || rank > DLRT_MAX_RANK) {
        dlrt_errf(e, "%s: IDX rank %d is out of range (1..%d)", path, rank, DLRT_MAX_RANK);
        goto fail;
    }
    out->rank = rank;
    int64_t numel = 1;
    for (int k = 0; k < rank; k++) {
        uint8_t d[4];
        n = gz_read_all(f, d, 4);
        if (n < 0) {
            dlrt_errf(e, "%s: %s", path, gz_msg(f, path));
            goto fail;
        }
        if (n < 4) {
            dlrt_errf(e, "%s: truncated IDX header (%d dims announced)", path, rank);
            goto fail;
        }
        int64_t dim = ((int64_t)d[0] << 24) | ((int64_t)d[1] << 16) | ((int64_t)d[2] << 8) | d[3];
        if (dim == 0) {
            dlrt_errf(e, "%s: IDX dimension %d is zero", path, k);
            goto fail;
        }
        out->dims[k] = dim;
        if (dim > DLRT_IDX_MAX_BYTES / numel) { /* checked before multiplying: no overflow */
            dlrt_errf(e, "%s: IDX header announces an absurd size (more than %lld bytes)", path,
                      (long long)DLRT_IDX_MAX_BYTES);
            goto fail;
        }
        numel *= dim;
    }
    out->numel = numel;
    /* Before allocating what a (possibly corrupt) header announces, check
     * it against what the file can hold: a plain file its payload bytes, a
     * gzip'd one at most 1032 bytes per compressed byte (deflate's limit). */
    struct stat st;
    if (stat(path, &st) == 0) {
        int64_t fsize = (int64_t)st.st_size, have = fsize - 4 - 4 * (int64_t)rank;
        if (gzdirect(f) && numel > have) {
            dlrt_errf(e, "%s: truncated: the header announces %lld bytes of data, the file has %lld", path,
                      (long long)numel, (long long)(have > 0 ? have : 0));
            goto fail;
        }
        if (!gzdirect(f) && numel / 1032 > fsize) {
            dlrt_errf(e, "%s: truncated: the header announces %lld bytes of data, more than the compressed file "
                      "(%lld bytes) can hold", path, (long long)numel, (long long)fsize);
            goto fail;
        }
    }
    out->data = malloc((size_t)numel);
    if (!out->data) {
        dlrt_errf(e, "%s: out of memory for %lld bytes", path, (long long)numel);
        goto fail;
    }
    n = gz_read_all(f, out->data, numel);
    if (n < 0) {
        dlrt_errf(e, "%s: %s", path, gz_msg(f, path));
        goto fail;
    }
    if (n < numel) {
        dlrt_errf(e, "%s: truncated: the header announces %lld bytes of data, the file has %lld",
                  path, (long long)numel, (long long)n);
        goto fail;
    }
    uint8_t extra;
    n = gz_read_all(f, &extra, 1);
    if (n != 0) {
        if (n < 0)
            dlrt_errf(e, "%s: %s", path, gz_msg(f, path));
        else
            dlrt_errf(e, "%s: trailing garbage after the %lld bytes of data the header announces",
                      path, (long long)numel);
        goto fail;
    }
    gzclose(f);
    return 0;
fail:
    gzclose(f);
    dlrt_idx_free(out);
    return -1;
}

void dlrt_idx_free(dlrt_idx *x)
{
    free(x->data);
    memset(x, 0, sizeof *x);
}
