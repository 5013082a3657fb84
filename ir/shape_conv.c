/* shape_conv.c - shape rules of the convolution family (ops.def):
 * conv2d, max_pool2d / avg_pool2d, global_avg_pool2d, their gradient ops
 * and batch_norm, and the geometry helper they share with the kernels (ir/conv.h).
 *
 * Layout is NCHW.  The output size of a window op along one axis is
 * floor((size + pad_begin + pad_end - ((k - 1) * dilation + 1)) / stride) + 1,
 * as ONNX and PyTorch compute it without ceil_mode.  Empty list attributes
 * take the defaults (strides 1, no padding, dilation 1).  Messages name the
 * op and the offending types or attribute values.
 */
#include <string.h>

#include "conv.h"
#include "shape.h"

#define T(i) (&n->in[(i)]->type)

static const char *opname(const Node *n) { return op_info(n->op)->name; }

/* printf into g's arena, or a fixed message when there is no graph
 * (conv_geom_of, whose node has passed its shape rule already). */
#define FAIL(...) return g ? arena_printf(g->arena, __VA_ARGS__) : "invalid convolution geometry"

/* Reads an int-list attribute that must hold `want` entries, each >= lo,
 * or be empty (then every entry is `deflt`). */
static const char *read_list(Graph *g, const Node *n, const char *name, int want, int64_t lo, int64_t deflt,
                             int64_t *out) {
    const int64_t *v;
    int nv = node_attr_ints(n, name, &v);
    if (nv == 0) {
        for (int i = 0; i < want; i++) out[i] = deflt;
        return NULL;
    }
    if (nv != want) FAIL("%s: `%s` must have %d entries, got %d", opname(n), name, want, nv);
    for (int i = 0; i < want; i++) {
        if (v[i] < lo || v[i] > (int64_t)1 << 30)
            FAIL("%s: `%s` entries must be in [%lld, 2^30], got %lld", opname(n), name, (long long)lo,
                 (long long)v[i]);
        out[i] = v[i];
    }
    return NULL;
}

/* (k - 1) * d + 1, saturated at 2^41 (k <= 2^40, d <= 2^30: the product
 * could overflow). */
static int64_t span_of(int64_t k, int64_t d) {
    return k - 1 > ((int64_t)1 << 40) / d ? ((int64_t)1 << 41) : (k - 1) * d + 1;
}

/* Output size of one spatial axis, or -1 when the window does not fit. */
static int64_t out_size(int64_t size, int64_t pa, int64_t pb, int64_t k, int64_t d, int64_t s) {
    int64_t span = span_of(k, d), padded = size + pa + pb;
    if (span > padded) return -1;
    return (padded - span) / s + 1;
}

const char *conv_geom(Graph *g, const Node *n, ConvGeom *o) {
    const TensorType *x = T(0);
    memset(o, 0, sizeof *o);
    if (x->rank != 4) FAIL("%s expects an NCHW input of rank 4, got %s", opname(n), g ? shape_fmt(g, x) : "");
    if (!dtype_is_float(x->dtype))
        FAIL("%s expects a floating-point input, got %s", opname(n), g ? shape_fmt(g, x) : "");
    for (int i = 1; i < 4; i++)
        if (x->dims[i] < 1) FAIL("%s: the input %s has an empty dimension", opname(n), g ? shape_fmt(g, x) : "");
    o->c = x->dims[1], o->h = x->dims[2], o->w = x->dims[3];
    o->o = o->c, o->group = 1, o->dh = o->dw = 1, o->sh = o->sw = 1;
    int64_t v[4];
    const char *err;
    switch (n->op) {
    case OP_CONV2D:
    case OP_CONV2D_GRAD_INPUT:
    case OP_CONV2D_GRAD_FILTER: {
        const TensorType *w = T(1);
        if (w->rank != 4 || w->dtype != x->dtype || tt_has_batch(w))
            FAIL("conv2d expects weights [O,C/group,KH,KW] of the input's dtype, got %s for input %s",
                 g ? shape_fmt(g, w) : "", g ? shape_fmt(g, x) : "");
        o->group = node_attr_int(n, "group");
        if (o->group < 1 || o->c % o->group != 0 || w->dims[0] % o->group != 0)
            FAIL("conv2d: group %lld must divide the input channels (%lld) and the output channels (%lld)",
                 (long long)o->group, (long long)o->c, (long long)w->dims[0]);
        if (w->dims[1] * o->group != o->c)
            FAIL("conv2d: weights %s expect %lld input channels, the input %s has %lld",
                 g ? shape_fmt(g, w) : "", (long long)(w->dims[1] * o->group), g ? shape_fmt(g, x) : "",
                 (long long)o->c);
        o->o = w->dims[0], o->kh = w->dims[2], o->kw = w->dims[3];
        if (o->o < 1 || o->kh < 1 || o->kw < 1) FAIL("conv2d: empty weights %s", g ? shape_fmt(g, w) : "");
        if (n->op == OP_CONV2D && n->nin == 3) {
            const TensorType *b = T(2);
            if (b->rank != 1 || b->dims[0] != o->o || b->dtype != x->dtype)
                FAIL("conv2d: the bias must be [%lld] (one per output channel), got %s", (long long)o->o,
                     g ? shape_fmt(g, b) : "");
        }
        if ((err = read_list(g, n, "dilations", 2, 1, 1, v))) return err;
        o->dh = v[0], o->dw = v[1];
        break;
    }
    case OP_MAX_POOL2D:
    case OP_AVG_POOL2D:
    case OP_MAX_POOL2D_GRAD:
    case OP_AVG_POOL2D_GRAD:
        if (node_attr_ints(n, "kernel", &(const int64_t *){NULL}) != 2)
            FAIL("%s: `kernel` must have 2 entries", opname(n));
        if ((err = read_list(g, n, "kernel", 2, 1, 1, v))) return err;
        o->kh = v[0], o->kw = v[1];
        break;
    case OP_GLOBAL_AVG_POOL2D:
        o->kh = o->h, o->kw = o->w;
        o->oh = o->ow = 1;
        return NULL;
    default:
        FAIL("%s is not a convolution-family op", opname(n));
    }
    if ((err = read_list(g, n, "strides", 2, 1, 1, v))) return err;
    o->sh = v[0], o->sw = v[1];
    if ((err = read_list(g, n, "pads", 4, 0, 0, v))) return err;
    o->pt = v[0], o->pl = v[1], o->pb = v[2], o->pr = v[3];
    if (n->op != OP_CONV2D && n->op != OP_CONV2D_GRAD_INPUT &&
        n->op != OP_CONV2D_GRAD_FILTER && (o->pt >= o->kh || o->pb >= o->kh || o->pl >= o->kw || o->pr >= o->kw))
        FAIL("%s: padding must be smaller than the kernel window", opname(n));
    o->oh = out_size(o->h, o->pt, o->pb, o->kh, o->dh, o->sh);
    o->ow = out_size(o->w, o->pl, o->pr, o->kw, o->dw, o->sw);
    if (o->oh < 1 || o->ow < 1)
        FAIL("%s: the %lldx%lld window does not fit the padded %lldx%lld input %s", opname(n),
             (long long)span_of(o->kh, o->dh), (long long)span_of(o->kw, o->dw),
             (long long)(o->h + o->pt + o->pb), (long long)(o->w + o->pl + o->pr), g ? shape_fmt(g, x) : "");
    return NULL;
}

ConvGeom conv_geom_of(const Node *n) {
    ConvGeom geo;
    if (conv_geom(NULL, n, &geo)) DLC_ICE("%s node %%%d has an invalid geometry", opname(n), n->id);
    return geo;
}

/* Sets n->type to [N, O, OH, OW] after checking the geometry. */
static const char *window_rule(Graph *g, Node *n) {
    ConvGeom geo;
    const char *err = conv_geom(g, n, &geo);
    if (err) return err;
    int64_t d[4] = {T(0)->dims[0], geo.o, geo.oh, geo.ow};
    n->type = tt_make(T(0)->dtype, 4, d);
    return shape_check_dims(g, &n->type, opname(n));
}

const char *shape_conv2d(Graph *g, Node *n) { return window_rule(g, n); }
const char *shape_pool2d(Graph *g, Node *n) { return window_rule(g, n); }
const char *shape_global_pool2d(Graph *g, Node *n) { return window_rule(g, n); }

/* The gradient ops of the family: operand dy (the last) must have the
 * forward op's result type [N, O, OH, OW] for the geometry; the result is
 * x's type, or w's for conv2d_grad_filter. */
static const char *grad_rule(Graph *g, Node *n) {
    ConvGeom geo;
    const char *err = conv_geom(g, n, &geo);
    if (err) return err;
    int64_t d[4] = {T(0)->dims[0], geo.o, geo.oh, geo.ow};
    TensorType want = tt_make(T(0)->dtype, 4, d);
    const TensorType *dy = T(n->nin - 1);
    if (!tt_equal(dy, &want))
        FAIL("%s: the gradient %s must have the %s type %s", opname(n), shape_fmt(g, dy),
             n->nin == 2 ? "pooled" : "convolved", shape_fmt(g, &want));
    n->type = n->op == OP_CONV2D_GRAD_FILTER ? *T(1) : *T(0);
    return NULL;
}

/* (x [N,C,H,W], dy [N,C,OH,OW]) -> x's type. */
const char *shape_pool2d_grad(Graph *g, Node *n) { return grad_rule(g, n); }
/* (x, w, dy [N,O,OH,OW]) -> x's type (conv2d_grad_input) or w's
 * (conv2d_grad_filter). */
const char *shape_conv2d_grad(Graph *g, Node *n) { return grad_rule(g, n); }

/* (x [N,C,...], scale, bias, mean, var [C]) -> like x. */
const char *shape_batch_norm(Graph *g, Node *n) {
    const TensorType *x = T(0);
    if (x->rank < 2 || !dtype_is_float(x->dtype))
        return arena_printf(g->arena, "batch_norm expects a floating-point input [N,C,...], got %s",
                            shape_fmt(g, x));
    static const char *const what[] = {"", "scale", "bias", "mean", "variance"};
    for (int k = 1; k < 5; k++) {
        const TensorType *t = T(k);
        if (t->rank != 1 || t->dims[0] != x->dims[1] || t->dtype != x->dtype)
            return arena_printf(g->arena, "batch_norm: the %s must be %s[%lld] (one per channel of %s), got %s",
                                what[k], dtype_name(x->dtype), (long long)x->dims[1], shape_fmt(g, x),
                                shape_fmt(g, t));
    }
    double eps = node_attr_float(n, "epsilon");
    if (!(eps >= 0)) return arena_printf(g->arena, "batch_norm: epsilon must be >= 0, got %g", eps);
    n->type = *x;
    return NULL;
}
