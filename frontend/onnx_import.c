/* onnx_import.c - the ONNX importer: model, tensors, values, inputs and
 * outputs (the ops are lowered in onnx_ops.c).
 *
 * How it works:
 *  1. The file's message nesting is bounded first (pb_depth: protobuf-c
 *     unpacks recursively, without a limit), then it is parsed by
 *     protobuf-c (code generated at build time from Debian's onnx.proto)
 *     with an allocator that draws from the graph's arena, so every error
 *     path - a longjmp under diag_set_recover included - leaks nothing.
 *  2. The default domain's opset must be in [9, 17]; ops of other domains
 *     are unsupported.
 *  3. Initializers become constants in the value table (checked: data type
 *     FLOAT or INT64, dims, a value count that matches them; external data
 *     only from a regular file inside the model's folder).
 *  4. Graph inputs that are not initializers become `input` leaves: FLOAT
 *     tensors with a known shape whose first dimension is the batch
 *     dimension N (symbolic, or fixed at export time - often 1 - in which
 *     case a Reshape to that fixed size in front keeps N); no other
 *     dimension may be symbolic.
 *  5. Nodes are lowered in file order (ONNX requires a topological order);
 *     an input that is neither defined earlier nor an initializer nor a
 *     graph input is a dangling reference.
 *  6. Graph outputs become the graph's outputs; a declared static output
 *     shape must match what dlc computes.  Last, the leaves move to the
 *     front (inputs, then params), the order a .nn file declares them in.
 *
 * Messages start with the file name: `m.onnx: error: node 'fc' (Gemm,
 * opset 13): ...`.
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx_internal.h"

/* ---- messages ------------------------------------------------------------ */

void onnx_fail(Onnx *o, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    SrcLoc loc = {o->file, 0, 0};
    if (o->node) {
        const char *nm = o->node->name && o->node->name[0] ? o->node->name : NULL;
        const char *op = o->node->op_type ? o->node->op_type : "";
        if (nm)
            dlc_error(loc, "node '%.200s' (%.100s, opset %lld): %s", nm, op, (long long)o->opset, msg);
        dlc_error(loc, "node #%zu (%.100s, opset %lld): %s", o->node_index, op, (long long)o->opset, msg);
    }
    dlc_error(loc, "%s", msg);
}

/* ---- protobuf-c allocation from the arena --------------------------------- */

static void *pb_alloc(void *data, size_t size)
{
    return arena_alloc(data, size ? size : 1);
}

static void pb_free(void *data, void *p)
{
    (void)data;
    (void)p; /* freed with the arena */
}

/* ---- nesting depth, before unpacking ------------------------------------------ */

/* Reads a base-128 varint at buf[*i] (i < len); false if it runs past the end
 * or over 10 bytes. */
static bool pb_varint(const uint8_t *buf, size_t len, size_t *i, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 70 && *i < len; shift += 7) {
        uint8_t b = buf[(*i)++];
        *v |= (uint64_t)(b & 0x7f) << (shift < 64 ? shift : 63);
        if (!(b & 0x80)) return true;
    }
    return false;
}

/* The depth of the deepest message nested in buf (a message of type d at
 * `depth`), following the schema's message fields as protobuf-c would;
 * stops as soon as it exceeds `limit`.  protobuf-c unpacks recursively and
 * has no depth limit, so a graph in a node's attribute whose node holds a
 * graph ... thousands deep overflows the stack: this walk bounds it first
 * (its own recursion is at most limit + 1 frames).  Each byte is read once,
 * at its own depth.  Bytes it cannot follow end the walk of that message:
 * the unpacking that follows reports them. */
static int pb_depth(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len, int depth, int limit)
{
    int deepest = depth;
    for (size_t i = 0; i < len && deepest <= limit;) {
        uint64_t tag, n;
        if (!pb_varint(buf, len, &i, &tag)) break;
        switch (tag & 7) {
        case 0: /* varint */
            if (!pb_varint(buf, len, &i, &n)) return deepest;
            break;
        case 1: /* 64-bit */
            if (len - i < 8) return deepest;
            i += 8;
            break;
        case 5: /* 32-bit */
            if (len - i < 4) return deepest;
            i += 4;
            break;
        case 2: { /* length-delimited: a message, string, bytes or packed field */
            if (!pb_varint(buf, len, &i, &n) || n > len - i) return deepest;
            const ProtobufCFieldDescriptor *f =
                tag >> 3 <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3)) : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                int k = pb_depth(f->descriptor, buf + i, (size_t)n, depth + 1, limit);
                if (k > deepest) deepest = k;
            }
            i += (size_t)n;
            break;
        }
        default: /* groups (unsupported by protobuf-c) or garbage */
            return deepest;
        }
    }
    return deepest;
}

/* ---- hashing: the value table and the name set ----------------------------- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

OnnxValue *onnx_value(Onnx *o, const char *name)
{
    if (!o->vcap) return NULL;
    for (size_t i = hash_str(name) & (o->vcap - 1);; i = (i + 1) & (o->vcap - 1)) {
        if (!o->vals[i].name) return NULL;
        if (strcmp(o->vals[i].name, name) == 0) return &o->vals[i];
    }
}

void onnx_define(Onnx *o, const char *name, Node *n, OnnxConst *k)
{
    if (!name || !name[0]) return; /* an optional output left unnamed */
    if (onnx_value(o, name)) onnx_fail(o, "the value '%.200s' is defined twice", name);
    if (2 * (o->nvals + 1) > o->vcap) {
        size_t cap = o->vcap ? 2 * o->vcap : 64;
        OnnxValue *t = ARENA_NEW_N(o->a, OnnxValue, cap);
        memset(t, 0, sizeof *t * cap);
        for (size_t j = 0; j < o->vcap; j++) {
            if (!o->vals[j].name) continue;
            size_t i = hash_str(o->vals[j].name) & (cap - 1);
            while (t[i].name) i = (i + 1) & (cap - 1);
            t[i] = o->vals[j];
        }
        o->vals = t, o->vcap = cap;
    }
    size_t i = hash_str(name) & (o->vcap - 1);
    while (o->vals[i].name) i = (i + 1) & (o->vcap - 1);
    o->vals[i] = (OnnxValue){name, n, k};
    o->nvals++;
}

/* The slot of `name` in s, or NULL. */
static NameSlot *names_find(const NameSet *s, const char *name)
{
    if (!s->cap) return NULL;
    for (size_t i = hash_str(name) & (s->cap - 1); s->slot[i].name; i = (i + 1) & (s->cap - 1))
        if (strcmp(s->slot[i].name, name) == 0) return &s->slot[i];
    return NULL;
}

/* Adds `name` (not in s; not copied) with the next suffix 1. */
static void names_add(Arena *a, NameSet *s, const char *name)
{
    if (2 * (s->n + 1) > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        NameSlot *t = ARENA_NEW_N(a, NameSlot, cap);
        memset(t, 0, sizeof *t * cap);
        for (size_t j = 0; j < s->cap; j++) {
            if (!s->slot[j].name) continue;
            size_t i = hash_str(s->slot[j].name) & (cap - 1);
            while (t[i].name) i = (i + 1) & (cap - 1);
            t[i] = s->slot[j];
        }
        s->slot = t, s->cap = cap;
    }
    size_t i = hash_str(name) & (s->cap - 1);
    while (s->slot[i].name) i = (i + 1) & (s->cap - 1);
    s->slot[i] = (NameSlot){name, 1};
    s->n++;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Turns an ONNX name into a .nn identifier (dot-separated parts of
 * [A-Za-z0-9_], starting with a letter or '_', at most 200 bytes, not a
 * keyword) that no other leaf or variable uses: "onnx::MatMul_7" becomes
 * "onnx__MatMul_7", "fc1.weight" stays. */
const char *onnx_unique_name(Onnx *o, const char *onnx_name, const char *fallback)
{
    static const char *const keywords[] = {"model", "input", "param", "output", "loss",
                                           "metric", "train", "true", "false", "N"};
    char buf[224];
    size_t len = 0;
    const char *s = onnx_name && onnx_name[0] ? onnx_name : fallback;
    if (!name_char(s[0]) || (s[0] >= '0' && s[0] <= '9')) buf[len++] = '_';
    for (; *s && len < 200; s++) {
        char c = *s;
        if (c == '.' && len > 0 && buf[len - 1] != '.' && name_char(s[1])) buf[len++] = '.';
        else buf[len++] = name_char(c) ? c : '_';
    }
    buf[len] = '\0';
    for (size_t k = 0; k < sizeof keywords / sizeof *keywords; k++)
        if (strcmp(buf, keywords[k]) == 0) {
            buf[len++] = '_';
            buf[len] = '\0';
        }
    char cand[sizeof buf + 16];
    NameSlot *taken = names_find(&o->names, buf);
    if (taken) {
        /* buf_K for the first free K from where the last search for buf
           stopped: each suffix is tried once per base, and a name can fail
           one try only (its base is what precedes its last '_'), so n names
           cost O(n) tries, with no allocation per try */
        int k = taken->next;
        for (;; k++) {
            snprintf(cand, sizeof cand, "%s_%d", buf, k);
            if (!names_find(&o->names, cand)) break;
        }
        taken->next = k + 1;
    }
    const char *name = arena_strdup(o->a, taken ? cand : buf);
    names_add(o->a, &o->names, name);
    return name;
}

/* ---- tensors --------------------------------------------------------------- */

static const char *elem_type_name(int32_t t)
{
    static const char *const names[] = {"UNDEFINED", "FLOAT",  "UINT8",  "INT8",      "UINT16",
                                        "INT16",     "INT32",  "INT64",  "STRING",    "BOOL",
                                        "FLOAT16",   "DOUBLE", "UINT32", "UINT64",    "COMPLEX64",
                                        "COMPLEX128", "BFLOAT16"};
    if (t >= 0 && t < (int32_t)(sizeof names / sizeof *names)) return names[t];
    return "an unknown type";
}

/* "[3,4]" of a constant's dims (messages). */
static const char *dims_str(Onnx *o, const int64_t *d, int rank)
{
    char buf[256];
    size_t len = 0;
    buf[len++] = '[';
    for (int i = 0; i < rank && len < sizeof buf - 24; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%lld", i ? "," : "", (long long)d[i]);
    snprintf(buf + len, sizeof buf - len, "]");
    return arena_strdup(o->a, buf);
}

/* Reads `len` bytes of external data for tensor `what` from `location`,
 * which must name a regular file inside the model's folder: no absolute
 * path, no `..`, and, after resolving symbolic links, still inside. */
static const uint8_t *external_data(Onnx *o, const char *what, const char *location, int64_t offset, int64_t len)
{
    if (!o->dir) onnx_fail(o, "%s: external tensor data ('%.200s') is not supported here", what, location);
    if (!location[0]) onnx_fail(o, "%s: external data without a location", what);
    if (location[0] == '/')
        onnx_fail(o, "%s: external data location '%.200s' is an absolute path; only files inside the model's folder are read",
                  what, location);
    for (const char *p = location; *p;) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            onnx_fail(o, "%s: external data location '%.200s' leaves the model's folder ('..' is not allowed)", what,
                      location);
        p += n + (end ? 1 : 0);
    }
    char *path = arena_printf(o->a, "%s/%s", o->dir, location);
    char dir_real[PATH_MAX], file_real[PATH_MAX];
    if (!realpath(o->dir, dir_real) || !realpath(path, file_real))
        onnx_fail(o, "%s: cannot open external data '%.200s': %s", what, location, strerror(errno));
    size_t dl = strlen(dir_real);
    if (strncmp(file_real, dir_real, dl) != 0 || (file_real[dl] != '/' && dl > 1))
        onnx_fail(o, "%s: external data location '%.200s' resolves outside the model's folder (a symbolic link?)",
                  what, location);
    struct stat st;
    if (stat(file_real, &st) != 0 || !S_ISREG(st.st_mode))
        onnx_fail(o, "%s: external data '%.200s' is not a regular file", what, location);
    if (offset < 0 || len < 0 || offset > (int64_t)st.st_size || len > (int64_t)st.st_size - offset)
        onnx_fail(o, "%s: external data '%.200s' has %lld bytes; %lld bytes at offset %lld were asked for", what,
                  location, (long long)st.st_size, (long long)len, (long long)offset);
    FILE *f = fopen(file_real, "rb");
    if (!f) onnx_fail(o, "%s: cannot open external data '%.200s': %s", what, location, strerror(errno));
    uint8_t *buf = arena_alloc(o->a, (size_t)len + 1);
    bool ok = fseek(f, (long)offset, SEEK_SET) == 0 && fread(buf, 1, (size_t)len, f) == (size_t)len;
    fclose(f);
    if (!ok) onnx_fail(o, "%s: cannot read external data '%.200s'", what, location);
    return buf;
}

/* Parses a decimal int64 of external_data's offset / length. */
static int64_t ext_int(Onnx *o, const char *what, const char *key, const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0) onnx_fail(o, "%s: external data %s '%.50s' is not a size", what, key, s);
    return v;
}

OnnxConst *onnx_tensor(Onnx *o, const Onnx__TensorProto *t, const char *what)
{
    OnnxConst *k = ARENA_NEW(o->a, OnnxConst);
    memset(k, 0, sizeof *k);
    int32_t dt = t->has_data_type ? t->data_type : 0;
    if (dt != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && dt != ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
        onnx_fail(o, "%s has data type %s; dlc reads FLOAT tensors (and INT64 for shapes and axes)", what,
                  elem_type_name(dt));
    k->is_int = dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    if (t->n_dims > DLC_MAX_RANK) onnx_fail(o, "%s has %zu dimensions (at most %d)", what, t->n_dims, DLC_MAX_RANK);
    k->rank = (int)t->n_dims;
    k->numel = 1;
    for (int i = 0; i < k->rank; i++) {
        int64_t d = t->dims[i];
        if (d < 0 || d > DLC_MAX_DIM) onnx_fail(o, "%s has an invalid dimension %lld", what, (long long)d);
        k->dims[i] = d;
        k->numel = d == 0 || k->numel <= ((int64_t)1 << 31) / d ? k->numel * d : ((int64_t)1 << 31) + 1;
    }
    if (k->numel > ((int64_t)1 << 31)) onnx_fail(o, "%s has too many elements", what);
    size_t esize = k->is_int ? 8 : 4, want = (size_t)k->numel * esize;
    const uint8_t *raw = NULL;
    size_t nraw = 0;
    bool external = t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    if (external) {
        const char *loc = NULL;
        int64_t off = 0, len = (int64_t)want;
        for (size_t i = 0; i < t->n_external_data; i++) {
            const Onnx__StringStringEntryProto *e = t->external_data[i];
            if (!e->key || !e->value) continue;
            if (strcmp(e->key, "location") == 0) loc = e->value;
            else if (strcmp(e->key, "offset") == 0) off = ext_int(o, what, "offset", e->value);
            else if (strcmp(e->key, "length") == 0) len = ext_int(o, what, "length", e->value);
        }
        if (!loc) onnx_fail(o, "%s: external data without a location", what);
        if (len != (int64_t)want)
            onnx_fail(o, "%s: external data of %lld bytes for shape %s of %s (%zu expected)", what, (long long)len,
                      dims_str(o, k->dims, k->rank), elem_type_name(dt), want);
        raw = external_data(o, what, loc, off, len);
        nraw = want;
    } else if (t->has_raw_data) {
        raw = t->raw_data.data, nraw = t->raw_data.len;
        if (nraw != want)
            onnx_fail(o, "%s: raw data of %zu bytes for shape %s of %s (%zu expected)", what, nraw,
                      dims_str(o, k->dims, k->rank), elem_type_name(dt), want);
    } else {
        size_t have = k->is_int ? t->n_int64_data : t->n_float_data;
        if (have != (size_t)k->numel)
            onnx_fail(o, "%s: %zu values for shape %s (%lld expected)", what, have, dims_str(o, k->dims, k->rank),
                      (long long)k->numel);
    }
    /* Copy into aligned storage (raw bytes are little-endian, as are we). */
    void *data = arena_alloc(o->a, want ? want : 1);
    if (want == 0) {
        /* an empty tensor: nothing to copy (the sources may be NULL) */
    } else if (raw) {
        memcpy(data, raw, want);
    } else if (k->is_int) {
        memcpy(data, t->int64_data, want);
    } else {
        memcpy(data, t->float_data, want);
    }
    if (k->is_int) k->i = data;
    else k->f = data;
    return k;
}

/* ---- values as nodes --------------------------------------------------------- */

/* Records an imported parameter's values. */
static void add_weight(Onnx *o, Node *p, const float *data)
{
    OnnxWeights *w = o->weights;
    if (!w) return;
    if (w->n == o->wcap) {
        int cap = o->wcap ? 2 * o->wcap : 16;
        w->w = arena_grow(o->a, w->w, (size_t)o->wcap * sizeof *w->w, (size_t)cap * sizeof *w->w, 1);
        o->wcap = cap;
    }
    w->w[w->n++] = (OnnxWeight){p->name, p->type, data};
}

Node *onnx_as_node(Onnx *o, OnnxValue *v)
{
    if (v->node) return v->node;
    OnnxConst *k = v->k;
    DLC_ASSERT(k);
    if (k->is_int)
        onnx_fail(o, "'%.200s' is an INT64 tensor; dlc computes in FLOAT (integer tensors serve only as shapes and axes)",
                  v->name);
    SrcLoc loc = {o->file, 0, 0};
    if (k->numel == 1 && k->rank == 0) {
        v->node = ir_const(o->g, DT_F32, k->f[0], loc);
    } else {
        if (k->numel == 0) onnx_fail(o, "'%.200s' is an empty tensor", v->name);
        TensorType t = tt_make(DT_F32, k->rank, k->dims);
        v->node = ir_param(o->g, onnx_unique_name(o, v->name, "param"), t, NULL, 0, loc);
        add_weight(o, v->node, k->f);
    }
    return v->node;
}

/* ---- graph inputs and outputs ----------------------------------------------- */

/* The tensor type of a graph input or output as declared: a symbolic (or
 * absent) first dimension is the batch dimension N. */
static TensorType value_type(Onnx *o, const Onnx__ValueInfoProto *vi, const char *what)
{
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        onnx_fail(o, "%s '%.200s' is not a tensor", what, vi->name);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    int32_t et = tt->has_elem_type ? tt->elem_type : 0;
    if (et != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        onnx_fail(o, "%s '%.200s' has element type %s; dlc imports FLOAT tensors", what, vi->name,
                  elem_type_name(et));
    if (!tt->shape) onnx_fail(o, "%s '%.200s' has no shape", what, vi->name);
    if (tt->shape->n_dim > DLC_MAX_RANK)
        onnx_fail(o, "%s '%.200s' has %zu dimensions (at most %d)", what, vi->name, tt->shape->n_dim, DLC_MAX_RANK);
    TensorType t;
    memset(&t, 0, sizeof t);
    t.dtype = DT_F32;
    t.rank = (int)tt->shape->n_dim;
    for (int i = 0; i < t.rank; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (d->dim_value < 1 || d->dim_value > DLC_MAX_DIM)
                onnx_fail(o, "%s '%.200s': dimension %d is %lld", what, vi->name, i, (long long)d->dim_value);
            t.dims[i] = d->dim_value;
        } else if (i == 0) {
            t.dims[i] = DIM_N;
        } else {
            onnx_fail(o, "%s '%.200s': dimension %d is symbolic ('%.100s'); only the first (batch) dimension may be",
                      what, vi->name, i,
                      d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param
                          ? d->dim_param
                          : "?");
        }
    }
    return t;
}

/* Adds the graph's outputs; checks declared static shapes. */
static void add_outputs(Onnx *o, const Onnx__GraphProto *gp)
{
    Graph *g = o->g;
    if (gp->n_output == 0) onnx_fail(o, "the graph has no outputs");
    g->outputs = ARENA_NEW_N(o->a, NamedValue, gp->n_output);
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        if (!vi->name || !vi->name[0]) onnx_fail(o, "graph output %zu has no name", i);
        OnnxValue *v = onnx_value(o, vi->name);
        if (!v) onnx_fail(o, "graph output '%.200s' is not computed by any node", vi->name);
        Node *n = onnx_as_node(o, v);
        if (vi->type) {
            TensorType want = value_type(o, vi, "graph output");
            bool same = want.rank == n->type.rank;
            for (int d = 0; same && d < want.rank; d++)
                same = want.dims[d] == n->type.dims[d] ||
                       (d == 0 && n->type.dims[0] == DIM_N && (want.dims[0] == DIM_N || want.dims[0] == o->fixed_batch));
            if (!same) {
                char a[TT_FMT_LEN], b[TT_FMT_LEN];
                onnx_fail(o, "graph output '%.200s' is declared %s but computes to %s", vi->name,
                          tt_format(&want, a, sizeof a), tt_format(&n->type, b, sizeof b));
            }
        }
        for (int j = 0; j < g->noutputs; j++)
            if (strcmp(g->outputs[j].name, vi->name) == 0) onnx_fail(o, "graph output '%.200s' is listed twice", vi->name);
        g->outputs[g->noutputs++] = (NamedValue){onnx_unique_name(o, vi->name, "output"), n, {o->file, 0, 0}};
    }
}

/* The graph's name: the file's stem as a C identifier ("mlp" from
 * "dir/mlp.onnx"). */
static const char *model_name(Arena *a, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".onnx") == 0) n -= 5;
    if (n > 100) n = 100;
    char *s = arena_alloc(a, n + 2), *p = s;
    if (n == 0 || (base[0] >= '0' && base[0] <= '9')) *p++ = 'm';
    for (size_t i = 0; i < n; i++) *p++ = name_char(base[i]) ? base[i] : '_';
    *p = '\0';
    return s;
}

/* Moves the inputs, then the params, to the front of the graph (a stable
 * partition: leaves have no operands, so the order stays topological).
 * Params are created at their first use; this gives the order a .nn file
 * declares them in, so the written .nn compiles to the same graph. */
static void leaves_first(Onnx *o)
{
    Graph *g = o->g;
    Node **v = ARENA_NEW_N(o->a, Node *, g->nnodes > 0 ? g->nnodes : 1);
    int k = 0;
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < g->nnodes; i++) {
            OpCode op = g->nodes[i]->op;
            int want = op == OP_INPUT ? 0 : op == OP_PARAM ? 1 : 2;
            if (want == pass) v[k++] = g->nodes[i];
        }
    if (g->nnodes > 0) memcpy(g->nodes, v, sizeof *v * (size_t)g->nnodes);
}

/* ---- the model ------------------------------------------------------------- */

Graph *onnx_import_bytes(Arena *a, const SrcFile *file, const char *dir, GraphMode mode, OnnxWeights *weights)
{
    Onnx o;
    memset(&o, 0, sizeof o);
    o.a = a, o.file = file, o.dir = dir, o.weights = weights;
    if (weights) weights->w = NULL, weights->n = 0;
    if (mode != MODE_INFER)
        onnx_fail(&o, "an ONNX model has no loss or optimizer to train with; compile it with --mode infer");
    if (pb_depth(&onnx__model_proto__descriptor, (const uint8_t *)file->text, file->len, 1, ONNX_MAX_NESTING) >
        ONNX_MAX_NESTING)
        onnx_fail(&o, "protobuf messages nest more than %d deep (graphs in node attributes?); dlc reads at most %d levels",
                  ONNX_MAX_NESTING, ONNX_MAX_NESTING);
    ProtobufCAllocator alloc = {pb_alloc, pb_free, a};
    Onnx__ModelProto *m = onnx__model_proto__unpack(&alloc, file->len, (const uint8_t *)file->text);
    if (!m) onnx_fail(&o, "not a valid ONNX model (the protobuf is malformed or truncated)");
    if (!m->graph) onnx_fail(&o, "the ONNX model has no graph");
    bool have_opset = false;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *os = m->opset_import[i];
        if (!os->domain || !os->domain[0] || strcmp(os->domain, "ai.onnx") == 0) {
            o.opset = os->has_version ? os->version : 0;
            have_opset = true;
        }
    }
    if (!have_opset) onnx_fail(&o, "the model imports no opset of the default ONNX domain");
    if (o.opset < 9 || o.opset > 17)
        onnx_fail(&o, "opset %lld is not supported (dlc imports opsets 9 to 17)", (long long)o.opset);
    const Onnx__GraphProto *gp = m->graph;
    Graph *g = ir_graph_new(a, model_name(a, file->name), MODE_INFER);
    g->file = file;
    g->max_batch = 32;
    o.g = g;

    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *t = gp->initializer[i];
        if (!t->name || !t->name[0]) onnx_fail(&o, "initializer %zu has no name", i);
        const char *what = arena_printf(a, "initializer '%.200s'", t->name);
        onnx_define(&o, t->name, NULL, onnx_tensor(&o, t, what));
    }
    if (gp->n_sparse_initializer) onnx_fail(&o, "sparse initializers are not supported");
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (!vi->name || !vi->name[0]) onnx_fail(&o, "graph input %zu has no name", i);
        if (onnx_value(&o, vi->name)) continue; /* an initializer listed as an input (IR < 4) */
        TensorType t = value_type(&o, vi, "graph input");
        if (t.rank >= 1 && t.dims[0] != DIM_N) {
            /* exported with a fixed batch (often 1): that dimension is the
               batch all the same, so the program takes any batch size */
            if (o.fixed_batch && o.fixed_batch != t.dims[0])
                onnx_fail(&o, "graph inputs have different fixed batch sizes (%lld and %lld)",
                          (long long)o.fixed_batch, (long long)t.dims[0]);
            o.fixed_batch = t.dims[0];
            t.dims[0] = DIM_N;
        }
        Node *in = ir_input(g, onnx_unique_name(&o, vi->name, "input"), t, (SrcLoc){file, 0, 0});
        onnx_define(&o, vi->name, in, NULL);
    }
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *nd = gp->node[i];
        o.node = nd, o.node_index = i;
        if (!nd->op_type || !nd->op_type[0]) onnx_fail(&o, "a node without an op type");
        bool std_domain = !nd->domain || !nd->domain[0] || strcmp(nd->domain, "ai.onnx") == 0;
        for (size_t k = 0; k < nd->n_input; k++)
            if (nd->input[k][0] && !onnx_value(&o, nd->input[k]))
                onnx_fail(&o, "input '%.200s' is not a graph input, an initializer or the output of an earlier node",
                          nd->input[k]);
        if (!std_domain || !onnx_lower_node(&o, nd)) {
            o.node = NULL;
            const char *nm = nd->name && nd->name[0] ? nd->name : arena_printf(a, "#%zu", i);
            if (!std_domain)
                onnx_fail(&o, "unsupported op '%.100s' of domain '%.100s' in node '%.200s' (opset %lld)", nd->op_type,
                          nd->domain, nm, (long long)o.opset);
            onnx_fail(&o, "unsupported op '%.100s' in node '%.200s' (opset %lld)", nd->op_type, nm,
                      (long long)o.opset);
        }
    }
    o.node = NULL;
    add_outputs(&o, gp);
    leaves_first(&o);
    const char *err = ir_verify(g);
    if (err) DLC_ICE("imported graph does not verify: %s", err);
    return g;
}

Graph *onnx_import(Arena *a, const char *path, GraphMode mode, OnnxWeights *weights)
{
    SrcFile *f = srcfile_load(a, path);
    const char *slash = strrchr(path, '/');
    const char *dir = slash ? arena_strndup(a, path, slash == path ? 1 : (size_t)(slash - path)) : ".";
    return onnx_import_bytes(a, f, dir, mode, weights);
}
