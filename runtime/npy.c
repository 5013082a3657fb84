/* npy.c - NumPy .npy files.
 *
 * Layout: "\x93NUMPY", major and minor version bytes, the header length
 * (u16 little-endian in 1.0, u32 in 2.0/3.0), the header: a Python dict
 * literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (60000, 28, 28), }
 * padded with spaces and a newline, then the raw elements.
 *
 * The header is parsed by a small tokenizer over that literal (quoted
 * strings, True/False, integer tuples), not by searching for substrings, so
 * a malformed header is rejected with a message rather than misread.
 * Supported element types: '<f4', '|u1' (also '<u1'), '<i4'.  Fortran-order
 * arrays are refused.  The payload must have exactly the announced size.
 * The runtime assumes a little-endian host (as x86-64 and AArch64 are).
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rt_atomic.h"
#include "rt_npy.h"

int dlrt_dtype_size(dlrt_dtype t)
{
    switch (t) {
    case DLRT_F64: return 8;
    case DLRT_U8: return 1;
    case DLRT_F32:
    case DLRT_I32: return 4;
    }
    return 4;
}

/* ---- the header dict ---------------------------------------------------- */

typedef struct hparse {
    const char *s, *end;
} hparse;

static void skip_ws(hparse *p)
{
    while (p->s < p->end && isspace((unsigned char)*p->s)) p->s++;
}

static int eat(hparse *p, char c)
{
    skip_ws(p);
    if (p->s < p->end && *p->s == c) {
        p->s++;
        return 1;
    }
    return 0;
}

/* A quoted string ('..' or ".."), copied into buf.  0 on success. */
static int parse_str(hparse *p, char *buf, size_t cap)
{
    skip_ws(p);
    if (p->s >= p->end || (*p->s != '\'' && *p->s != '"')) return -1;
    char q = *p->s++;
    size_t n = 0;
    while (p->s < p->end && *p->s != q) {
        if (n + 1 >= cap) return -1;
        buf[n++] = *p->s++;
    }
    if (p->s >= p->end) return -1;
    p->s++;
    buf[n] = '\0';
    return 0;
}

/* Parses the header dict into dtype / fortran / shape.  Returns NULL or a
 * description of what is wrong. */
static const char *parse_header(const char *h, size_t len, dlrt_npy *out, int *fortran, char *descr,
                                size_t descr_cap)
{
    hparse p = {h, h + len};
    int have_descr = 0, have_fortran = 0, have_shape = 0;
    if (!eat(&p, '{')) return "the header is not a dict";
    for (;;) {
        if (eat(&p, '}')) break;
        char key[32];
        if (parse_str(&p, key, sizeof key)) return "expected a quoted key in the header";
        if (!eat(&p, ':')) return "expected ':' in the header";
        skip_ws(&p);
        if (!strcmp(key, "descr")) {
            if (parse_str(&p, descr, descr_cap)) return "'descr' is not a string";
            have_descr = 1;
        } else if (!strcmp(key, "fortran_order")) {
            if ((size_t)(p.end - p.s) >= 4 && !strncmp(p.s, "True", 4)) {
                *fortran = 1;
                p.s += 4;
            } else if ((size_t)(p.end - p.s) >= 5 && !strncmp(p.s, "False", 5)) {
                *fortran = 0;
                p.s += 5;
            } else {
                return "'fortran_order' is not True or False";
            }
            have_fortran = 1;
        } else if (!strcmp(key, "shape")) {
            if (!eat(&p, '(')) return "'shape' is not a tuple";
            out->rank = 0;
            for (;;) {
                if (eat(&p, ')')) break;
                skip_ws(&p);
                if (p.s >= p.end || !isdigit((unsigned char)*p.s)) return "'shape' holds a non-integer";
                int64_t v = 0;
                while (p.s < p.end && isdigit((unsigned char)*p.s)) {
                    if (v > (INT64_MAX - 9) / 10) return "a dimension in 'shape' is absurdly large";
                    v = v * 10 + (*p.s++ - '0');
                }
                if (p.s < p.end && *p.s == 'L') p.s++; /* Python 2 longs */
                if (out->rank >= DLRT_MAX_RANK) return "'shape' has too many dimensions";
                out->dims[out->rank++] = v;
                if (eat(&p, ')')) break;
                if (!eat(&p, ',')) return "expected ',' or ')' in 'shape'";
            }
            have_shape = 1;
        } else {
            return "unknown key in the header";
        }
        if (eat(&p, '}')) break;
        if (!eat(&p, ',')) return "expected ',' or '}' in the header";
    }
    skip_ws(&p);
    if (p.s != p.end) return "unexpected text after the header dict";
    if (!have_descr || !have_fortran || !have_shape)
        return "the header lacks one of 'descr', 'fortran_order', 'shape'";
    return NULL;
}

/* ---- reading ------------------------------------------------------------ */

int dlrt_npy_read(const char *path, dlrt_npy *out, dlrt_err *e)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return dlrt_errf(e, "cannot open %s: %s", path, strerror(errno));
    char *header = NULL;
    unsigned char pre[12];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        dlrt_errf(e, "%s: not a .npy file (bad magic)", path);
        goto fail;
    }
    int major = pre[6];
    size_t hlen;
    if (major == 1) {
        hlen = (size_t)pre[8] | ((size_t)pre[9] << 8);
    } else if (major == 2 || major == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) {
            dlrt_errf(e, "%s: truncated .npy header", path);
            goto fail;
        }
        hlen = (size_t)pre[8] | ((size_t)pre[9] << 8) | ((size_t)pre[10] << 16) | ((size_t)pre[11] << 24);
        if (hlen > (1u << 24)) {
            dlrt_errf(e, "%s: .npy header length %zu is absurd", path, hlen);
            goto fail;
        }
    } else {
        dlrt_errf(e, "%s: unsupported .npy format version %d.%d", path, major, pre[7]);
        goto fail;
    }
    header = malloc(hlen + 1);
    if (!header || fread(header, 1, hlen, f) != hlen) {
        dlrt_errf(e, "%s: truncated .npy header", path);
        goto fail;
    }
    header[hlen] = '\0';
    int fortran = 0;
    char descr[16];
    const char *why = parse_header(header, hlen, out, &fortran, descr, sizeof descr);
    if (why) {
        dlrt_errf(e, "%s: malformed .npy header: %s", path, why);
        goto fail;
    }
    if (fortran) {
        dlrt_errf(e, "%s: Fortran-order arrays are not supported (save a C-order array, e.g. np.ascontiguousarray)",
                  path);
        goto fail;
    }
    if (!strcmp(descr, "<f4"))
        out->dtype = DLRT_F32;
    else if (!strcmp(descr, "|u1") || !strcmp(descr, "<u1"))
        out->dtype = DLRT_U8;
    else if (!strcmp(descr, "<i4"))
        out->dtype = DLRT_I32;
    else {
        dlrt_errf(e, "%s: unsupported .npy element type '%s' (supported: '<f4', '|u1', '<i4')", path, descr);
        goto fail;
    }
    int64_t numel = 1;
    int esize = dlrt_dtype_size(out->dtype);
    for (int k = 0; k < out->rank; k++) {
        if (out->dims[k] != 0 && numel > ((int64_t)1 << 40) / out->dims[k]) {
            dlrt_errf(e, "%s: .npy shape announces an absurd size", path);
            goto fail;
        }
        numel *= out->dims[k];
    }
    out->numel = numel;
    size_t bytes = (size_t)numel * (size_t)esize;
    /* check the announced size against the file before allocating it */
    struct stat st;
    long here = ftell(f);
    if (fstat(fileno(f), &st) == 0 && here >= 0 && (int64_t)bytes > (int64_t)st.st_size - here) {
        dlrt_errf(e, "%s: truncated: the header announces %zu bytes of data, the file has %lld", path, bytes,
                  (long long)((int64_t)st.st_size - here));
        goto fail;
    }
    out->data = malloc(bytes ? bytes : 1);
    if (!out->data) {
        dlrt_errf(e, "%s: out of memory for %zu bytes", path, bytes);
        goto fail;
    }
    size_t got = fread(out->data, 1, bytes, f);
    if (got != bytes) {
        dlrt_errf(e, "%s: truncated: the header announces %zu bytes of data, the file has %zu", path, bytes, got);
        goto fail;
    }
    if (fgetc(f) != EOF) {
        dlrt_errf(e, "%s: trailing garbage after the %zu bytes of data the header announces", path, bytes);
        goto fail;
    }
    free(header);
    fclose(f);
    return 0;
fail:
    free(header);
    fclose(f);
    dlrt_npy_free(out);
    return -1;
}

void dlrt_npy_free(dlrt_npy *x)
{
    free(x->data);
    memset(x, 0, sizeof *x);
}

/* ---- writing ------------------------------------------------------------ */

int dlrt_npy_write(const char *path, dlrt_dtype dtype, int rank, const int64_t *dims, const void *data,
                   dlrt_err *e)
{
    const char *descr = dtype == DLRT_F32 ? "<f4" : dtype == DLRT_U8 ? "|u1" : dtype == DLRT_I32 ? "<i4" : NULL;
    if (!descr) return dlrt_errf(e, "cannot write %s: unsupported element type", path);
    char dict[512], shape[256];
    size_t sl = 0;
    int64_t numel = 1;
    shape[0] = '\0';
    for (int k = 0; k < rank; k++) {
        sl += (size_t)snprintf(shape + sl, sizeof shape - sl, "%lld,%s", (long long)dims[k],
                               (k + 1 < rank) ? " " : "");
        numel *= dims[k];
    }
    /* a 1-tuple keeps its trailing comma, longer tuples drop it */
    if (rank > 1 && sl > 0 && shape[sl - 1] == ',') shape[--sl] = '\0';
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr,
                      shape);
    /* pad so that magic + version + length + header is a multiple of 64 */
    size_t total = 10 + (size_t)dl + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)dl + pad + 1;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    dlrt_atomic a;
    if (dlrt_atomic_open(&a, path, e)) return -1;
    fwrite(pre, 1, 10, a.f);
    fwrite(dict, 1, (size_t)dl, a.f);
    for (size_t i = 0; i < pad; i++) fputc(' ', a.f);
    fputc('\n', a.f);
    fwrite(data, (size_t)dlrt_dtype_size(dtype), (size_t)numel, a.f);
    return dlrt_atomic_commit(&a, e);
}
