/* safetensors.c - checkpoints in the safetensors format.
 *
 * Layout: an 8-byte little-endian header length H, H bytes of JSON (padded
 * with spaces to a multiple of 8), then the tensor data.  The header is an
 * object mapping each tensor name to
 *     {"dtype":"F32","shape":[784,512],"data_offsets":[begin,end]}
 * (offsets relative to the start of the data, end exclusive) plus an
 * optional "__metadata__" object of string values.  dlc writes "model",
 * "epoch" (epochs completed), "step", "seed", "batch_size",
 * "learning_rate" (when the model has one) and "format":"dlc-1".
 *
 * Writing goes through atomic.c (temporary file, fsync, rename).  Reading
 * trusts nothing: the file size, the header length, the JSON (json.c), each
 * entry's fields, offsets inside the data and consistent with dtype x
 * shape, the model name, each wanted tensor's dtype and shape and, when
 * asked (DLRT_ST_REQUIRE_FINITE), that its values are finite are all
 * checked before the first byte of tensor data is copied.  Names are
 * sorted once, so a header of many entries costs O(n log n).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rt_atomic.h"
#include "rt_ckpt.h"
#include "rt_json.h"
#include "rt_npy.h"

static const char *dtype_name(dlrt_dtype t)
{
    switch (t) {
    case DLRT_F32: return "F32";
    case DLRT_F64: return "F64";
    case DLRT_I32: return "I32";
    case DLRT_U8: return "U8";
    }
    return "?";
}

static int64_t tensor_numel(const dlrt_tensor *t)
{
    int64_t n = 1;
    for (int k = 0; k < t->rank; k++) n *= t->dims[k];
    return n;
}

/* ---- a growable string for the header ----------------------------------- */

typedef struct sbuf {
    char *s;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* s as a JSON string literal. */
static void sb_json_str(sbuf *b, const char *s)
{
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            sb_put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sb_str(b, esc);
        } else {
            sb_put(b, (const char *)&c, 1);
        }
    }
    sb_put(b, "\"", 1);
}

/* ---- writing ------------------------------------------------------------ */

int dlrt_st_write(const char *path, const dlrt_tensor *t, int n, const char *const *meta, int nmeta,
                  dlrt_err *e)
{
    sbuf h = {0};
    char num[64];
    uint64_t off = 0;
    sb_str(&h, "{");
    if (nmeta > 0) {
        sb_str(&h, "\"__metadata__\":{");
        for (int i = 0; i < nmeta; i++) {
            if (i) sb_str(&h, ",");
            sb_json_str(&h, meta[2 * i]);
            sb_str(&h, ":");
            sb_json_str(&h, meta[2 * i + 1]);
        }
        sb_str(&h, "}");
    }
    for (int i = 0; i < n; i++) {
        if (nmeta > 0 || i) sb_str(&h, ",");
        sb_json_str(&h, t[i].name);
        sb_str(&h, ":{\"dtype\":\"");
        sb_str(&h, dtype_name(t[i].dtype));
        sb_str(&h, "\",\"shape\":[");
        for (int k = 0; k < t[i].rank; k++) {
            snprintf(num, sizeof num, "%s%lld", k ? "," : "", (long long)t[i].dims[k]);
            sb_str(&h, num);
        }
        uint64_t bytes = (uint64_t)tensor_numel(&t[i]) * (uint64_t)dlrt_dtype_size(t[i].dtype);
        snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                 (unsigned long long)(off + bytes));
        sb_str(&h, num);
        off += bytes;
    }
    sb_str(&h, "}");
    while (!h.oom && h.len % 8 != 0) sb_str(&h, " ");
    if (h.oom) {
        free(h.s);
        return dlrt_errf(e, "cannot write %s: out of memory", path);
    }
    unsigned char len8[8];
    for (int k = 0; k < 8; k++) len8[k] = (unsigned char)((uint64_t)h.len >> (8 * k));
    dlrt_atomic a;
    if (dlrt_atomic_open(&a, path, e)) {
        free(h.s);
        return -1;
    }
    fwrite(len8, 1, 8, a.f);
    fwrite(h.s, 1, h.len, a.f);
    free(h.s);
    for (int i = 0; i < n; i++) {
        size_t bytes = (size_t)tensor_numel(&t[i]) * (size_t)dlrt_dtype_size(t[i].dtype);
        if (bytes && fwrite(t[i].data, 1, bytes, a.f) != bytes) break;
    }
    return dlrt_atomic_commit(&a, e);
}

/* ---- reading ------------------------------------------------------------ */

/* "[784,512]" for messages. */
static void shape_str(char *buf, size_t cap, int rank, const int64_t *dims)
{
    size_t l = (size_t)snprintf(buf, cap, "[");
    for (int k = 0; k < rank && l < cap; k++)
        l += (size_t)snprintf(buf + l, cap - l, "%s%lld", k ? "," : "", (long long)dims[k]);
    if (l < cap) snprintf(buf + l, cap - l, "]");
}

/* A tensor entry of the header, validated. */
typedef struct st_entry {
    const char *name;
    dlrt_dtype dtype;
    int rank;
    int64_t dims[DLRT_MAX_RANK];
    int64_t begin, end;
} st_entry;

/* Validates one header entry against the data length.  Returns 0 or -1. */
static int check_entry(const char *path, const json_value *v, int64_t datalen, st_entry *out, dlrt_err *e)
{
    memset(out, 0, sizeof *out);
    out->name = v->key;
    if (v->type != JSON_OBJECT) return dlrt_errf(e, "%s: entry '%s' is not an object", path, v->key);
    const json_value *dt = dlrt_json_get(v, "dtype");
    const json_value *sh = dlrt_json_get(v, "shape");
    const json_value *of = dlrt_json_get(v, "data_offsets");
    if (!dt || dt->type != JSON_STRING)
        return dlrt_errf(e, "%s: tensor '%s' has no \"dtype\" string", path, v->key);
    if (!sh || sh->type != JSON_ARRAY) return dlrt_errf(e, "%s: tensor '%s' has no \"shape\" array", path, v->key);
    if (!of || of->type != JSON_ARRAY || of->count != 2 || !of->first->is_int || !of->first->next->is_int)
        return dlrt_errf(e, "%s: tensor '%s' has no \"data_offsets\" pair of integers", path, v->key);
    if (!strcmp(dt->str, "F32")) out->dtype = DLRT_F32;
    else if (!strcmp(dt->str, "F64")) out->dtype = DLRT_F64;
    else if (!strcmp(dt->str, "I32")) out->dtype = DLRT_I32;
    else if (!strcmp(dt->str, "U8")) out->dtype = DLRT_U8;
    else return dlrt_errf(e, "%s: tensor '%s' has unsupported dtype \"%s\"", path, v->key, dt->str);
    if (sh->count > DLRT_MAX_RANK)
        return dlrt_errf(e, "%s: tensor '%s' has rank %lld (at most %d supported)", path, v->key,
                         (long long)sh->count, DLRT_MAX_RANK);
    int64_t numel = 1;
    for (const json_value *d = sh->first; d; d = d->next) {
        if (!d->is_int || d->ival < 0)
            return dlrt_errf(e, "%s: tensor '%s' has a bad dimension in its shape", path, v->key);
        if (d->ival > 0 && numel > datalen / d->ival) /* more elements than bytes: no overflow below */
            return dlrt_errf(e, "%s: tensor '%s' has a shape larger than the file", path, v->key);
        numel *= d->ival;
        out->dims[out->rank++] = d->ival;
    }
    out->begin = of->first->ival;
    out->end = of->first->next->ival;
    if (out->begin < 0 || out->end < out->begin || out->end > datalen)
        return dlrt_errf(e, "%s: tensor '%s' has data offsets [%lld,%lld] out of range (the data is %lld bytes)",
                         path, v->key, (long long)out->begin, (long long)out->end, (long long)datalen);
    if (out->end - out->begin != numel * dlrt_dtype_size(out->dtype))
        return dlrt_errf(e, "%s: tensor '%s' has %lld bytes of data, its dtype and shape need %lld", path,
                         v->key, (long long)(out->end - out->begin),
                         (long long)(numel * dlrt_dtype_size(out->dtype)));
    return 0;
}

/* Reads the metadata object into info; -1 if it is malformed. */
static int read_meta(const char *path, const json_value *md, dlrt_ckpt_info *info, dlrt_err *e)
{
    if (md->type != JSON_OBJECT) return dlrt_errf(e, "%s: \"__metadata__\" is not an object", path);
    for (const json_value *c = md->first; c; c = c->next) {
        if (c->type != JSON_STRING)
            return dlrt_errf(e, "%s: metadata value \"%s\" is not a string", path, c->key);
        char *end = NULL;
        if (!strcmp(c->key, "model")) {
            snprintf(info->model, sizeof info->model, "%s", c->str);
        } else if (!strcmp(c->key, "learning_rate")) {
            double v = strtod(c->str, &end);
            if (end == c->str || *end || !(v > 0) || v > 1e300)
                return dlrt_errf(e, "%s: metadata \"learning_rate\" is not a positive number: \"%s\"", path, c->str);
            info->learning_rate = v;
        } else if (!strcmp(c->key, "epoch") || !strcmp(c->key, "step") || !strcmp(c->key, "seed") ||
                   !strcmp(c->key, "batch_size")) {
            errno = 0;
            long long v = strtoll(c->str, &end, 10);
            if (errno || end == c->str || *end || v < 0)
                return dlrt_errf(e, "%s: metadata \"%s\" is not a non-negative integer: \"%s\"", path, c->key,
                                 c->str);
            if (!strcmp(c->key, "epoch")) info->epoch = v;
            else if (!strcmp(c->key, "step")) info->step = v;
            else if (!strcmp(c->key, "batch_size")) info->batch_size = v;
            else {
                info->seed = v;
                info->has_seed = 1;
            }
        }
    }
    return 0;
}

/* Orders entries by name (strcmp). */
static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const st_entry *)a)->name, ((const st_entry *)b)->name);
}

/* Scans the data of the wanted floating-point tensors (which[i] is t[i]'s
 * entry; the data section starts at byte `base`) for a NaN or an infinity,
 * in chunks, without touching the tensors.  -1 with a message naming the
 * first tensor and element that is not finite. */
static int check_finite(const char *path, FILE *f, int64_t base, const dlrt_tensor *t, const st_entry **which,
                        int n, dlrt_err *e)
{
    enum { CHUNK = 1 << 16 };
    double *buf = malloc(CHUNK); /* aligned for either dtype */
    if (!buf) return dlrt_errf(e, "%s: out of memory", path);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const st_entry *s = which[i];
        if (s->dtype != DLRT_F32 && s->dtype != DLRT_F64) continue;
        size_t es = (size_t)dlrt_dtype_size(s->dtype);
        int64_t total = (s->end - s->begin) / (int64_t)es, done = 0;
        if (fseek(f, (long)(base + s->begin), SEEK_SET) != 0) rc = -1;
        while (rc == 0 && done < total) {
            size_t k = (size_t)(total - done) < CHUNK / es ? (size_t)(total - done) : CHUNK / es;
            if (fread(buf, es, k, f) != k) {
                rc = -1;
                break;
            }
            for (size_t j = 0; j < k; j++) {
                double v = s->dtype == DLRT_F32 ? (double)((const float *)buf)[j] : buf[j];
                if (isfinite(v)) continue;
                dlrt_errf(e, "%s: tensor '%s' holds a non-finite value (%s at index %lld); pass --allow-nonfinite "
                          "to load it anyway", path, t[i].name, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf",
                          (long long)(done + (int64_t)j));
                free(buf);
                return -1;
            }
            done += (int64_t)k;
        }
        if (rc) dlrt_errf(e, "%s: cannot read the data of tensor '%s'", path, t[i].name);
    }
    free(buf);
    return rc;
}

int dlrt_st_read(const char *path, dlrt_tensor *t, int n, const char *model, dlrt_ckpt_info *info,
                 dlrt_err *e)
{
    return dlrt_st_read_ex(path, t, n, model, 0, info, e);
}

/* Validates the whole file, matches the wanted tensors by name, dtype
 * and shape, checks that their values are finite if asked, and only then
 * copies their data (see the top of the file). */
int dlrt_st_read_ex(const char *path, dlrt_tensor *t, int n, const char *model, unsigned flags,
                    dlrt_ckpt_info *info_out, dlrt_err *e)
{
    dlrt_ckpt_info info;
    memset(&info, 0, sizeof info);
    info.epoch = info.step = info.seed = info.batch_size = -1;
    info.learning_rate = -1;
    FILE *f = fopen(path, "rb");
    if (!f) return dlrt_errf(e, "cannot open %s: %s", path, strerror(errno));
    char *header = NULL;
    json_value *root = NULL;
    st_entry *found = NULL;
    int rc = -1;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        dlrt_errf(e, "%s: not a regular file", path);
        goto out;
    }
    int64_t fsize = (int64_t)st.st_size;
    unsigned char len8[8];
    if (fsize < 8 || fread(len8, 1, 8, f) != 8) {
        dlrt_errf(e, "%s: not a checkpoint: the file is too short (%lld bytes)", path, (long long)fsize);
        goto out;
    }
    uint64_t hlen = 0;
    for (int k = 7; k >= 0; k--) hlen = (hlen << 8) | len8[k];
    if (hlen > (uint64_t)(fsize - 8)) {
        dlrt_errf(e, "%s: not a checkpoint: header length %llu is beyond the end of the file (%lld bytes)", path,
                  (unsigned long long)hlen, (long long)fsize);
        goto out;
    }
    if (hlen < 2 || hlen > DLRT_ST_MAX_HEADER) {
        dlrt_errf(e, "%s: not a checkpoint: header length %llu is implausible", path, (unsigned long long)hlen);
        goto out;
    }
    header = malloc((size_t)hlen);
    if (!header || fread(header, 1, (size_t)hlen, f) != (size_t)hlen) {
        dlrt_errf(e, "%s: cannot read the checkpoint header", path);
        goto out;
    }
    char jerr[256];
    root = dlrt_json_parse(header, (size_t)hlen, jerr, sizeof jerr);
    if (!root) {
        dlrt_errf(e, "%s: malformed checkpoint header: %s", path, jerr);
        goto out;
    }
    if (root->type != JSON_OBJECT) {
        dlrt_errf(e, "%s: malformed checkpoint header: not a JSON object", path);
        goto out;
    }
    int64_t datalen = fsize - 8 - (int64_t)hlen;
    int64_t nent = root->count;
    found = calloc((size_t)(nent ? nent : 1), sizeof *found);
    if (!found) {
        dlrt_errf(e, "%s: out of memory", path);
        goto out;
    }
    size_t nfound = 0;
    for (const json_value *c = root->first; c; c = c->next) {
        if (!strcmp(c->key, "__metadata__")) {
            if (read_meta(path, c, &info, e)) goto out;
            continue;
        }
        if (check_entry(path, c, datalen, &found[nfound], e)) goto out;
        nfound++;
    }
    /* sorted by name: a repeated name is a neighbour, lookups are bsearch */
    qsort(found, nfound, sizeof *found, cmp_entry);
    for (size_t j = 1; j < nfound; j++)
        if (!strcmp(found[j - 1].name, found[j].name)) {
            dlrt_errf(e, "%s: tensor '%s' appears twice", path, found[j].name);
            goto out;
        }
    if (model && info.model[0] && strcmp(info.model, model) != 0) {
        dlrt_errf(e, "%s is a checkpoint of model '%s', not of '%s'", path, info.model, model);
        goto out;
    }
    /* match the wanted tensors before touching any of them */
    const st_entry **which = malloc(sizeof *which * (size_t)(n ? n : 1));
    if (!which) {
        dlrt_errf(e, "%s: out of memory", path);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        st_entry key;
        key.name = t[i].name;
        which[i] = bsearch(&key, found, nfound, sizeof *found, cmp_entry);
        if (!which[i]) {
            dlrt_errf(e, "%s: the checkpoint has no tensor '%s'", path, t[i].name);
            goto out_which;
        }
        const st_entry *s = which[i];
        if (s->dtype != t[i].dtype) {
            dlrt_errf(e, "%s: tensor '%s' is %s in the checkpoint but %s in the model", path, t[i].name,
                      dtype_name(s->dtype), dtype_name(t[i].dtype));
            goto out_which;
        }
        int same = s->rank == t[i].rank;
        for (int k = 0; same && k < s->rank; k++) same = s->dims[k] == t[i].dims[k];
        if (!same) {
            char a[128], b[128];
            shape_str(a, sizeof a, s->rank, s->dims);
            shape_str(b, sizeof b, t[i].rank, t[i].dims);
            dlrt_errf(e, "%s: tensor '%s' has shape %s in the checkpoint but the model expects %s", path,
                      t[i].name, a, b);
            goto out_which;
        }
    }
    if ((flags & DLRT_ST_REQUIRE_FINITE) && check_finite(path, f, 8 + (int64_t)hlen, t, which, n, e))
        goto out_which;
    for (int i = 0; i < n; i++) {
        const st_entry *s = which[i];
        size_t bytes = (size_t)(s->end - s->begin);
        if (fseek(f, (long)(8 + (int64_t)hlen + s->begin), SEEK_SET) != 0 ||
            (bytes && fread(t[i].data, 1, bytes, f) != bytes)) {
            dlrt_errf(e, "%s: cannot read the data of tensor '%s'", path, t[i].name);
            goto out_which;
        }
    }
    rc = 0;
out_which:
    free(which);
out:
    free(found);
    dlrt_json_free(root);
    free(header);
    fclose(f);
    if (rc == 0 && info_out) *info_out = info;
    return rc;
}
