/* onnx_ops.c - lowering of each supported ONNX op to IR (see
 * onnx_internal.h and docs/onnx.md).
 *
 * One function per op (or family), found by name in `lowerings`.  Each
 * reads its inputs from the value table, checks the attributes it
 * understands (an unsupported setting is an error naming it), builds IR
 * nodes through ir_node_try (a shape rule's message becomes the node's
 * error) and defines its outputs.  Shape arguments (Reshape's shape,
 * Squeeze/Unsqueeze axes from opset 13, Clip bounds from opset 11) must be
 * constants known at import time.
 *
 * The batch dimension N is only ever dimension 0 in dlc; ops that would
 * move it (a Flatten with axis 0, an Unsqueeze at 0, a Reshape merging it
 * with another dimension) are rejected with a message saying so.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "onnx_internal.h"

/* ---- inputs, outputs, attributes ------------------------------------------ */

static bool has_input(const Onnx__NodeProto *nd, size_t k)
{
    return k < nd->n_input && nd->input[k][0];
}

static OnnxValue *input_value(Onnx *o, const Onnx__NodeProto *nd, size_t k)
{
    if (!has_input(nd, k)) onnx_fail(o, "input %zu is missing", k);
    OnnxValue *v = onnx_value(o, nd->input[k]);
    DLC_ASSERT(v); /* checked before lowering */
    return v;
}

static Node *input_node(Onnx *o, const Onnx__NodeProto *nd, size_t k)
{
    return onnx_as_node(o, input_value(o, nd, k));
}

/* A constant input (shapes, axes, bounds). */
static OnnxConst *input_const(Onnx *o, const Onnx__NodeProto *nd, size_t k, const char *what)
{
    OnnxValue *v = input_value(o, nd, k);
    if (!v->k) onnx_fail(o, "the %s ('%.200s') must be a constant (an initializer or a Constant node)", what, v->name);
    return v->k;
}

/* Checks the input count and that outputs beyond `max_out` are unused. */
static void arity(Onnx *o, const Onnx__NodeProto *nd, size_t lo, size_t hi, size_t max_out)
{
    size_t n = nd->n_input;
    while (n > 0 && !nd->input[n - 1][0]) n--;
    if (n < lo || n > hi) {
        if (lo == hi) onnx_fail(o, "expects %zu inputs, got %zu", lo, n);
        onnx_fail(o, "expects %zu to %zu inputs, got %zu", lo, hi, n);
    }
    if (nd->n_output < 1 || !nd->output[0][0]) onnx_fail(o, "has no output");
    for (size_t k = max_out; k < nd->n_output; k++)
        if (nd->output[k][0]) onnx_fail(o, "output %zu ('%.200s') is not supported", k, nd->output[k]);
}

static const Onnx__AttributeProto *oa_find(const Onnx__NodeProto *nd, const char *name)
{
    for (size_t i = 0; i < nd->n_attribute; i++)
        if (nd->attribute[i]->name && strcmp(nd->attribute[i]->name, name) == 0) return nd->attribute[i];
    return NULL;
}

static const Onnx__AttributeProto *attr_of(Onnx *o, const Onnx__NodeProto *nd, const char *name,
                                           Onnx__AttributeProto__AttributeType type, const char *tname)
{
    const Onnx__AttributeProto *a = oa_find(nd, name);
    if (a && a->has_type && a->type != type) onnx_fail(o, "attribute '%s' must be %s", name, tname);
    return a;
}

static int64_t oa_int(Onnx *o, const Onnx__NodeProto *nd, const char *name, int64_t deflt)
{
    const Onnx__AttributeProto *a = attr_of(o, nd, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, "an INT");
    return a ? a->i : deflt;
}

static double oa_float(Onnx *o, const Onnx__NodeProto *nd, const char *name, double deflt)
{
    const Onnx__AttributeProto *a = attr_of(o, nd, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, "a FLOAT");
    if (a && !isfinite(a->f)) onnx_fail(o, "attribute '%s' is not a finite number", name);
    return a ? a->f : deflt;
}

/* Int list attribute; returns its length (-1 when absent). */
static int oa_ints(Onnx *o, const Onnx__NodeProto *nd, const char *name, const int64_t **v)
{
    const Onnx__AttributeProto *a = attr_of(o, nd, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, "a list of INTs");
    if (!a) return -1;
    if (a->n_ints > 64) onnx_fail(o, "attribute '%s' has %zu entries", name, a->n_ints);
    *v = a->ints;
    return (int)a->n_ints;
}

static const char *oa_string(Onnx *o, const Onnx__NodeProto *nd, const char *name, const char *deflt)
{
    const Onnx__AttributeProto *a = attr_of(o, nd, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING, "a STRING");
    if (!a || !a->has_s || !a->s.data) return deflt;
    return arena_strndup(o->a, (const char *)a->s.data, a->s.len);
}

/* Builds a node; a shape rule's complaint becomes the ONNX node's error. */
static Node *mk(Onnx *o, OpCode op, Node **in, int nin, const Attr *attrs, int nattrs)
{
    Node *n;
    const char *err = ir_node_try(o->g, op, in, nin, attrs, nattrs, (SrcLoc){o->file, 0, 0}, &n);
    if (err) onnx_fail(o, "%s", err);
    return n;
}

static Node *mk1(Onnx *o, OpCode op, Node *a, const Attr *attrs, int nattrs)
{
    return mk(o, op, &a, 1, attrs, nattrs);
}

static Node *mk2(Onnx *o, OpCode op, Node *a, Node *b)
{
    Node *in[2] = {a, b};
    return mk(o, op, in, 2, NULL, 0);
}

static Node *konst(Onnx *o, double v)
{
    return ir_const(o->g, DT_F32, v, (SrcLoc){o->file, 0, 0});
}

static void define(Onnx *o, const Onnx__NodeProto *nd, Node *n)
{
    onnx_define(o, nd->output[0], n, NULL);
}

/* Copies an int list into the arena (attribute values are not copied). */
static int64_t *ints_copy(Onnx *o, const int64_t *v, int n)
{
    int64_t *c = ARENA_NEW_N(o->a, int64_t, n > 0 ? n : 1);
    if (n > 0) memcpy(c, v, sizeof *v * (size_t)n);
    return c;
}

/* Normalizes an axis against `rank`. */
static int axis_of(Onnx *o, int64_t axis, int rank)
{
    if (axis < -(int64_t)rank || axis >= rank) onnx_fail(o, "axis %lld is out of range for rank %d", (long long)axis, rank);
    return (int)(axis < 0 ? axis + rank : axis);
}

/* A reshape of x to dims d (d[0] may be DIM_N, which must be x's). */
static Node *reshape_to(Onnx *o, Node *x, const int64_t *d, int rank)
{
    int64_t *s = ARENA_NEW_N(o->a, int64_t, rank > 0 ? rank : 1);
    for (int i = 0; i < rank; i++) s[i] = d[i] == DIM_N ? -1 : d[i];
    Attr at = attr_ints("shape", s, rank);
    return mk1(o, OP_RESHAPE, x, &at, 1);
}

/* ---- elementwise ----------------------------------------------------------- */

typedef struct OpMap {
    const char *onnx;
    OpCode op;
} OpMap;

static const OpMap unary_ops[] = {
    {"Sqrt", OP_SQRT}, {"Exp", OP_EXP},   {"Log", OP_LOG},         {"Abs", OP_ABS},   {"Neg", OP_NEG},
    {"Erf", OP_ERF},   {"Relu", OP_RELU}, {"Sigmoid", OP_SIGMOID}, {"Tanh", OP_TANH},
};
static const OpMap binary_ops[] = {
    {"Add", OP_ADD}, {"Sub", OP_SUB}, {"Mul", OP_MUL}, {"Div", OP_DIV}, {"Pow", OP_POW},
};

static OpCode find_op(const OpMap *m, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].onnx, name) == 0) return m[i].op;
    DLC_ICE("no IR op for %s", name);
}

static void lower_unary(Onnx *o, const Onnx__NodeProto *nd)
{
    arity(o, nd, 1, 1, 1);
    define(o, nd, mk1(o, find_op(unary_ops, sizeof unary_ops / sizeof *unary_ops, nd->op_type), input_node(o, nd, 0), NULL, 0));
}

static void lower_binary(Onnx *o, const Onnx__NodeProto *nd)
{
    arity(o, nd, 2, 2, 1);
    if (o->opset < 7 || oa_find(nd, "broadcast")) onnx_fail(o, "legacy broadcast attributes are not supported");
    OpCode op = find_op(binary_ops, sizeof binary_ops / sizeof *binary_ops, nd->op_type);
    define(o, nd, mk2(o, op, input_node(o, nd, 0), input_node(o, nd, 1)));
}

static void lower_alpha(Onnx *o, const Onnx__NodeProto *nd)
{
    arity(o, nd, 1, 1, 1);
    bool leaky = strcmp(nd->op_type, "LeakyRelu") == 0;
    Attr al = attr_float("alpha", oa_float(o, nd, "alpha", leaky ? 0.01 : 1.0));
    define(o, nd, mk1(o, leaky ? OP_LEAKY_RELU : OP_ELU, input_node(o, nd, 0), &al, 1));
}

/* Clip: bounds are attributes before opset 11, optional constant inputs
 * from 11 on. */
static void lower_clip(Onnx *o, const Onnx__NodeProto *nd)
{
    double lo = -FLT_MAX, hi = FLT_MAX;
    if (o->opset < 11) {
        arity(o, nd, 1, 1, 1);
        lo = oa_float(o, nd, "min", lo);
        hi = oa_float(o, nd, "max", hi);
    } else {
        arity(o, nd, 1, 3, 1);
        for (size_t k = 1; k < 3; k++) {
            if (!has_input(nd, k)) continue;
            OnnxConst *c = input_const(o, nd, k, k == 1 ? "minimum" : "maximum");
            if (c->is_int || c->numel != 1) onnx_fail(o, "the %s must be one FLOAT", k == 1 ? "minimum" : "maximum");
            if (k == 1) lo = c->f[0];
            else hi = c->f[0];
        }
    }
    if (!(lo <= hi)) onnx_fail(o, "the minimum %g is above the maximum %g", lo, hi);
    Attr b[2] = {attr_float("min", lo), attr_float("max", hi)};
    define(o, nd, mk1(o, OP_CLIP, input_node(o, nd, 0), b, 2));
}

/* Identity, and Dropout at inference: the output is the input. */
static void lower_identity(Onnx *o, const Onnx__NodeProto *nd)
{
    bool dropout = strcmp(nd->op_type, "Dropout") == 0;
    arity(o, nd, 1, dropout ? 3 : 1, 1);
    if (dropout && has_input(nd, 2)) {
        OnnxConst *c = input_const(o, nd, 2, "training_mode");
        if (c->numel != 1 || (c->is_int ? c->i[0] : c->f[0]) != 0) onnx_fail(o, "training mode is not supported");
    }
    OnnxValue *v = input_value(o, nd, 0);
    onnx_define(o, nd->output[0], v->node, v->k);
}

/* Constant: a tensor, or one of the value_* shorthands. */
static void lower_constant(Onnx *o, const Onnx__NodeProto *nd)
{
    arity(o, nd, 0, 0, 1);
    if (nd->n_attribute != 1) onnx_fail(o, "expects exactly one attribute");
    const Onnx__AttributeProto *a = nd->attribute[0];
    const char *nm = a->name ? a->name : "";
    OnnxConst *k = ARENA_NEW(o->a, OnnxConst);
    memset(k, 0, sizeof *k);
    if (strcmp(nm, "value") == 0 && a->t) {
        k = onnx_tensor(o, a->t, "the constant");
    } else if (strcmp(nm, "value_float") == 0 && a->has_f) {
        float *f = ARENA_NEW(o->a, float);
        *f = a->f;
        k->f = f, k->numel = 1;
    } else if (strcmp(nm, "value_floats") == 0) {
        float *f = ARENA_NEW_N(o->a, float, a->n_floats + 1);
        if (a->n_floats) memcpy(f, a->floats, sizeof *f * a->n_floats);
        k->f = f, k->numel = (int64_t)a->n_floats, k->rank = 1, k->dims[0] = k->numel;
    } else if (strcmp(nm, "value_int") == 0 && a->has_i) {
        int64_t *i = ARENA_NEW(o->a, int64_t);
        *i = a->i;
        k->is_int = true, k->i = i, k->numel = 1;
    } else if (strcmp(nm, "value_ints") == 0) {
        k->is_int = true, k->i = ints_copy(o, a->ints, (int)a->n_ints);
        k->numel = (int64_t)a->n_ints, k->rank = 1, k->dims[0] = k->numel;
    } else {
        onnx_fail(o, "constant attribute '%.100s' is not supported", nm);
    }
    onnx_define(o, nd->output[0], NULL, k);
}

/* ---- matrix products --------------------------------------------------------- */

static void lower_gemm(Onnx *o, const Onnx__NodeProto *nd)
{
    arity(o, nd, 2, 3, 1);
    Node *a = input_node(o, nd, 0), *b = input_node(o, nd, 1);
    if (a->type.rank != 2 || b->type.rank != 2) onnx_fail(o, "expects 2-D operands");
    Attr t[2] = {attr_bool("trans_a", oa_int(o, nd, "transA", 0) != 0),
                 attr_bool("trans_b", oa_int(o, nd, "transB", 0) != 0)};
    Node *in[2] = {a, b};
    Node *y = mk(o, OP_MATMUL, in, 2, t, 2);
    double alpha = oa_float(o, nd, "alpha", 1.0), beta = oa_float(o, nd, "beta", 1.0);
    if (alpha != 1.0) y = mk2(o, OP_MUL, y, konst(o, alpha));
    if (has_input(nd, 2) && beta != 0.0) {
        Node *c = input_node(o, nd, 2);
        if (beta != 1.0) c = mk2(o, OP_MUL, c, konst(o, beta));
        y = mk2(o, OP_ADD, y, c);
    }
    define(o, nd, y);
}

static void lower_matmul(Onnx *o, const Onnx__NodeProto *nd)
{
    arity(o, nd, 2, 2, 1);
    Node *a = input_node(o, nd, 0), *b = input_node(o, nd, 1);
    if (a->type.rank != 2 || b->type.rank != 2) {
        char s1[TT_FMT_LEN], s2[TT_FMT_LEN];
        onnx_fail(o, "only 2-D operands are supported, got %s and %s", tt_format(&a->type, s1, sizeof s1),
                  tt_format(&b->type, s2, sizeof s2));
    }
    define(o, nd, mk2(o, OP_MATMUL, a, b));
}

/* ---- softmax ------------------------------------------------------------------ */

/* Softmax / LogSoftmax.  Before opset 13 the input is coerced to 2-D at
 * `axis` (default 1): the same as the last axis when axis is the last one,
 * and a reshape around a last-axis softmax when axis is 1. */
static void lower_softmax(Onnx *o, const Onnx__NodeProto *nd)
{
    arity(o, nd, 1, 1, 1);
    Node *x = input_node(o, nd, 0);
    OpCode op = strcmp(nd->op_type, "Softmax") == 0 ? OP_SOFTMAX : OP_LOG_SOFTMAX;
    int rank = x->type.rank;
    if (rank < 1) onnx_fail(o, "expects a tensor of rank 1 or more");
    if (o->opset >= 13) {
        int ax = axis_of(o, oa_int(o, nd, "axis", -1), rank);
        Attr at = attr_int("axis", ax == rank - 1 ? -1 : ax); /* dlc's spelling of the last axis */
        define(o, nd, mk1(o, op, x, &at, 1));
        return;
    }
    int ax = axis_of(o, oa_int(o, nd, "axis", 1), rank);
    Attr last = attr_int("axis", -1);
    if (ax == rank - 1) {
        define(o, nd, mk1(o, op, x, &last, 1));
    } else if (ax == 1) {
        Node *f = mk1(o, OP_FLATTEN, x, NULL, 0);
        define(o, nd, reshape_to(o, mk1(o, op, f, &last, 1), x->type.dims, rank));
    } else {
        onnx_fail(o, "axis %d (coercing to 2-D) is supported only as 1 or the last axis", ax);
    }
}

/* ---- shapes --------------------------------------------------------------------- */

static void lower_flatten(Onnx *o, const Onnx__NodeProto *nd)
{
    arity(o, nd, 1, 1, 1);
    Node *x = input_node(o, nd, 0);
    int rank = x->type.rank;
    int64_t axis = oa_int(o, nd, "axis", 1);
    if (axis < -(int64_t)rank || axis > rank) onnx_fail(o, "axis %lld is out of range for rank %d", (long long)axis, rank);
    if (axis < 0) axis += rank;
    if (tt_has_batch(&x->type)) {
        if (axis != 1) onnx_fail(o, "axis %lld would merge the batch dimension with others (only axis 1 keeps it)", (long long)axis);
        define(o, nd, mk1(o, OP_FLATTEN, x, NULL, 0));
        return;
    }
    int64_t d[2] = {1, 1};
    for (int i = 0; i < rank; i++) d[i >= axis] *= x->type.dims[i];
    define(o, nd, reshape_to(o, x, d, 2));
}

/* Reshape with a constant shape: 0 copies a dimension (unless allowzero),
 * -1 is inferred.  With a batched input the result's dimension 0 must be
 * the batch dimension. */
static void lower_reshape(Onnx *o, const Onnx__NodeProto *nd)
{
    arity(o, nd, 2, 2, 1);
    Node *x = input_node(o, nd, 0);
    OnnxConst *s = input_const(o, nd, 1, "shape");
    if (!s->is_int || s->rank != 1) onnx_fail(o, "the shape must be a 1-D INT64 tensor");
    if (s->numel > DLC_MAX_RANK) onnx_fail(o, "the shape has %lld dimensions (at most %d)", (long long)s->numel, DLC_MAX_RANK);
    bool allowzero = oa_int(o, nd, "allowzero", 0) != 0;
    int rank = (int)s->numel, infer = -1;
    int64_t d[DLC_MAX_RANK] = {0};
    bool batched = tt_has_batch(&x->type);
    int64_t known = 1; /* product of the static output dims (without N) */
    for (int i = 0; i < rank; i++) {
        int64_t v = s->i[i];
        if (v == 0 && !allowzero) {
            if (i >= x->type.rank) onnx_fail(o, "shape entry %d copies a dimension the input does not have", i);
            if (x->type.dims[i] == DIM_N) {
                d[i] = DIM_N; /* i == 0: keeps the batch dimension */
                continue;
            }
            v = x->type.dims[i];
        } else if (i == 0 && batched && o->fixed_batch && v == o->fixed_batch) {
            d[i] = DIM_N; /* the batch size the model was exported with */
            continue;
        }
        if (v == -1) {
            if (infer >= 0) onnx_fail(o, "the shape has more than one -1");
            infer = i;
            d[i] = 0; /* filled in below (not -1: that is DIM_N) */
            continue;
        }
        if (v < 1 || v > DLC_MAX_DIM) onnx_fail(o, "invalid shape entry %lld", (long long)s->i[i]);
        if (v > DLC_MAX_DIM / known) onnx_fail(o, "the shape has too many elements");
        d[i] = v;
        known *= v;
    }
    int64_t total = tt_numel_per_sample(&x->type); /* static elements (per sample if batched) */
    if (batched && d[0] != DIM_N) {
        if (infer != 0) onnx_fail(o, "the new shape would move the batch dimension (its first entry must be 0 or -1)");
        if (known != total) onnx_fail(o, "cannot reshape the %lld elements per sample into the shape", (long long)total);
        d[0] = DIM_N;
    } else if (infer >= 0) {
        if (known == 0 || total % known != 0) onnx_fail(o, "cannot infer the -1 of the shape from %lld elements", (long long)total);
        d[infer] = total / known;
    } else if (known != total) {
        onnx_fail(o, "cannot reshape %lld elements into %lld", (long long)total, (long long)known);
    }
    define(o, nd, reshape_to(o, x, d, rank));
}

static void lower_transpose(Onnx *o, const Onnx__NodeProto *nd)
{
    arity(o, nd, 1, 1, 1);
    Node *x = input_node(o, nd, 0);
    const int64_t *p = NULL;
    int np = oa_ints(o, nd, "perm", &p);
    if (np < 0) {
        define(o, nd, mk1(o, OP_TRANSPOSE, x, NULL, 0));
        return;
    }
    Attr at = attr_ints("perm", ints_copy(o, p, np), np);
    define(o, nd, mk1(o, OP_TRANSPOSE, x, &at, 1));
}

/* Axes of Squeeze / Unsqueeze / ReduceSum: an attribute before opset 13
 * (ReduceSum, Squeeze, Unsqueeze), an optional input from 13 on.  Returns
 * the count (-1: none given). */
static int axes_arg(Onnx *o, const Onnx__NodeProto *nd, bool from_input, const int64_t **axes)
{
    if (!from_input) return oa_ints(o, nd, "axes", axes);
    if (oa_find(nd, "axes")) onnx_fail(o, "from opset 13 the axes are an input, not an attribute");
    if (!has_input(nd, 1)) return -1;
    OnnxConst *c = input_const(o, nd, 1, "axes");
    if (!c->is_int || c->rank > 1) onnx_fail(o, "the axes must be a 1-D INT64 tensor");
    if (c->numel > 64) onnx_fail(o, "too many axes");
    *axes = c->i;
    return (int)c->numel;
}

static void lower_squeeze(Onnx *o, const Onnx__NodeProto *nd)
{
    bool input_axes = o->opset >= 13;
    arity(o, nd, 1, input_axes ? 2 : 1, 1);
    Node *x = input_node(o, nd, 0);
    const int64_t *axes = NULL;
    int na = axes_arg(o, nd, input_axes, &axes);
    int rank = x->type.rank;
    bool drop[DLC_MAX_RANK] = {false};
    if (na < 0) {
        for (int i = 0; i < rank; i++) drop[i] = x->type.dims[i] == 1;
    } else {
        for (int k = 0; k < na; k++) {
            int ax = axis_of(o, axes[k], rank);
            if (x->type.dims[ax] != 1) onnx_fail(o, "cannot squeeze axis %d, whose size is not 1", ax);
            drop[ax] = true;
        }
    }
    int64_t d[DLC_MAX_RANK];
    int r = 0;
    for (int i = 0; i < rank; i++)
        if (!drop[i]) d[r++] = x->type.dims[i];
    define(o, nd, reshape_to(o, x, d, r));
}

static void lower_unsqueeze(Onnx *o, const Onnx__NodeProto *nd)
{
    bool input_axes = o->opset >= 13;
    arity(o, nd, input_axes ? 2 : 1, input_axes ? 2 : 1, 1);
    Node *x = input_node(o, nd, 0);
    const int64_t *axes = NULL;
    int na = axes_arg(o, nd, input_axes, &axes);
    if (na <= 0) onnx_fail(o, "needs axes");
    int rank = x->type.rank + na;
    if (rank > DLC_MAX_RANK) onnx_fail(o, "the result would have %d dimensions (at most %d)", rank, DLC_MAX_RANK);
    bool ins[DLC_MAX_RANK] = {false};
    for (int k = 0; k < na; k++) {
        int ax = axis_of(o, axes[k], rank);
        if (ins[ax]) onnx_fail(o, "axis %d is given twice", ax);
        ins[ax] = true;
    }
    if (ins[0] && tt_has_batch(&x->type)) onnx_fail(o, "an axis inserted at 0 would move the batch dimension");
    int64_t d[DLC_MAX_RANK];
    for (int i = 0, j = 0; i < rank; i++) d[i] = ins[i] ? 1 : x->type.dims[j++];
    define(o, nd, reshape_to(o, x, d, rank));
}

static void lower_concat(Onnx *o, const Onnx__NodeProto *nd)
{
    arity(o, nd, 1, 256, 1);
    const Onnx__AttributeProto *a = oa_find(nd, "axis");
    if (!a) onnx_fail(o, "the attribute 'axis' is required");
    Node **in = ARENA_NEW_N(o->a, Node *, nd->n_input);
    int n = 0;
    for (size_t k = 0; k < nd->n_input; k++)
        if (has_input(nd, k)) in[n++] = input_node(o, nd, k);
    Attr ax = attr_int("axis", axis_of(o, oa_int(o, nd, "axis", 0), in[0]->type.rank));
    define(o, nd, mk(o, OP_CONCAT, in, n, &ax, 1));
}

/* ReduceMean / ReduceSum (keepdims defaults to 1). */
static void lower_reduce(Onnx *o, const Onnx__NodeProto *nd)
{
    bool sum = strcmp(nd->op_type, "ReduceSum") == 0;
    bool input_axes = sum && o->opset >= 13;
    arity(o, nd, 1, input_axes ? 2 : 1, 1);
    Node *x = input_node(o, nd, 0);
    const int64_t *axes = NULL;
    int na = axes_arg(o, nd, input_axes, &axes);
    if (na <= 0 && oa_int(o, nd, "noop_with_empty_axes", 0)) {
        onnx_define(o, nd->output[0], x, NULL);
        return;
    }
    Attr at[2];
    int nat = 0;
    if (na > 0) {
        int64_t *ax = ARENA_NEW_N(o->a, int64_t, na);
        for (int k = 0; k < na; k++) ax[k] = axis_of(o, axes[k], x->type.rank);
        at[nat++] = attr_ints("axes", ax, na);
    }
    at[nat++] = attr_bool("keepdims", oa_int(o, nd, "keepdims", 1) != 0);
    define(o, nd, mk1(o, sum ? OP_SUM : OP_MEAN, x, at, nat));
}

/* ---- convolution family ------------------------------------------------------------ */

/* Reads `name` (2 entries, or absent: deflt). */
static void pair_attr(Onnx *o, const Onnx__NodeProto *nd, const char *name, int64_t lo, int64_t deflt, int64_t *out)
{
    const int64_t *v = NULL;
    int n = oa_ints(o, nd, name, &v);
    if (n < 0) {
        out[0] = out[1] = deflt;
        return;
    }
    if (n != 2) onnx_fail(o, "attribute '%s' must have 2 entries (2-D), got %d", name, n);
    for (int i = 0; i < 2; i++) {
        if (v[i] < lo || v[i] > (int64_t)1 << 30) onnx_fail(o, "attribute '%s' has an invalid entry %lld", name, (long long)v[i]);
        out[i] = v[i];
    }
}

/* pads [top, left, bottom, right] from `pads` or auto_pad, for a window
 * k (dilated span) and strides s over the input's H, W. */
static void window_pads(Onnx *o, const Onnx__NodeProto *nd, const Node *x, const int64_t *span, const int64_t *s,
                        int64_t *pads)
{
    const char *ap = oa_string(o, nd, "auto_pad", "NOTSET");
    const int64_t *v = NULL;
    int n = oa_ints(o, nd, "pads", &v);
    memset(pads, 0, 4 * sizeof *pads);
    if (strcmp(ap, "NOTSET") == 0) {
        if (n < 0) return;
        if (n != 4) onnx_fail(o, "attribute 'pads' must have 4 entries (2-D), got %d", n);
        for (int i = 0; i < 4; i++) {
            if (v[i] < 0 || v[i] > (int64_t)1 << 30) onnx_fail(o, "attribute 'pads' has an invalid entry %lld", (long long)v[i]);
            pads[i] = v[i];
        }
    } else if (strcmp(ap, "VALID") == 0) {
        return;
    } else if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0) {
        for (int i = 0; i < 2; i++) {
            int64_t in = x->type.dims[2 + i], out = (in + s[i] - 1) / s[i];
            int64_t total = (out - 1) * s[i] + span[i] - in;
            if (total < 0) total = 0;
            int64_t small = total / 2, big = total - small;
            pads[i] = ap[5] == 'U' ? small : big;
            pads[2 + i] = ap[5] == 'U' ? big : small;
        }
    } else {
        onnx_fail(o, "auto_pad '%.50s' is not supported", ap);
    }
}

static void need_nchw(Onnx *o, const Node *x)
{
    if (x->type.rank != 4) {
        char s[TT_FMT_LEN];
        onnx_fail(o, "only 2-D (NCHW, rank 4) inputs are supported, got %s", tt_format(&x->type, s, sizeof s));
    }
}

static void lower_conv(Onnx *o, const Onnx__NodeProto *nd)
{
    arity(o, nd, 2, 3, 1);
    Node *x = input_node(o, nd, 0), *w = input_node(o, nd, 1);
    need_nchw(o, x);
    if (w->type.rank != 4) onnx_fail(o, "the weights must have rank 4");
    int64_t k[2], s[2], dl[2], span[2], pads[4];
    pair_attr(o, nd, "kernel_shape", 1, -1, k);
    if (k[0] != -1 && (k[0] != w->type.dims[2] || k[1] != w->type.dims[3]))
        onnx_fail(o, "kernel_shape [%lld,%lld] does not match the weights", (long long)k[0], (long long)k[1]);
    pair_attr(o, nd, "strides", 1, 1, s);
    pair_attr(o, nd, "dilations", 1, 1, dl);
    for (int i = 0; i < 2; i++) { /* the dilated window, saturated (the shape rule rejects it if too large) */
        int64_t k1 = w->type.dims[2 + i] - 1;
        span[i] = k1 > ((int64_t)1 << 40) / dl[i] ? ((int64_t)1 << 41) : k1 * dl[i] + 1;
    }
    window_pads(o, nd, x, span, s, pads);
    Attr at[4] = {attr_ints("strides", ints_copy(o, s, 2), 2), attr_ints("pads", ints_copy(o, pads, 4), 4),
                  attr_ints("dilations", ints_copy(o, dl, 2), 2), attr_int("group", oa_int(o, nd, "group", 1))};
    Node *in[3] = {x, w, has_input(nd, 2) ? input_node(o, nd, 2) : NULL};
    define(o, nd, mk(o, OP_CONV2D, in, in[2] ? 3 : 2, at, 4));
}

/* MaxPool / AveragePool.  ceil_mode is accepted when it changes nothing. */
static void lower_pool(Onnx *o, const Onnx__NodeProto *nd)
{
    bool is_max = strcmp(nd->op_type, "MaxPool") == 0;
    arity(o, nd, 1, 1, 1);
    Node *x = input_node(o, nd, 0);
    need_nchw(o, x);
    int64_t k[2], s[2], dl[2], pads[4];
    if (!oa_find(nd, "kernel_shape")) onnx_fail(o, "the attribute 'kernel_shape' is required");
    pair_attr(o, nd, "kernel_shape", 1, 1, k);
    pair_attr(o, nd, "strides", 1, 1, s);
    pair_attr(o, nd, "dilations", 1, 1, dl);
    if (dl[0] != 1 || dl[1] != 1) onnx_fail(o, "dilated pooling is not supported");
    if (oa_int(o, nd, "storage_order", 0) != 0) onnx_fail(o, "storage_order 1 is not supported");
    window_pads(o, nd, x, k, s, pads);
    if (oa_int(o, nd, "ceil_mode", 0)) {
        for (int i = 0; i < 2; i++) {
            int64_t room = x->type.dims[2 + i] + pads[i] + pads[2 + i] - k[i];
            if (room >= 0 && room % s[i] != 0) onnx_fail(o, "ceil_mode 1 is not supported (it changes the output size here)");
        }
    }
    Attr at[4] = {attr_ints("kernel", ints_copy(o, k, 2), 2), attr_ints("strides", ints_copy(o, s, 2), 2),
                  attr_ints("pads", ints_copy(o, pads, 4), 4),
                  attr_bool("count_include_pad", oa_int(o, nd, "count_include_pad", 0) != 0)};
    define(o, nd, mk1(o, is_max ? OP_MAX_POOL2D : OP_AVG_POOL2D, x, at, is_max ? 3 : 4));
}

static void lower_global_pool(Onnx *o, const Onnx__NodeProto *nd)
{
    arity(o, nd, 1, 1, 1);
    Node *x = input_node(o, nd, 0);
    need_nchw(o, x);
    define(o, nd, mk1(o, OP_GLOBAL_AVG_POOL2D, x, NULL, 0));
}

static void lower_batch_norm(Onnx *o, const Onnx__NodeProto *nd)
{
    arity(o, nd, 5, 5, 1);
    if (oa_int(o, nd, "training_mode", 0) != 0) onnx_fail(o, "training mode is not supported");
    if (oa_int(o, nd, "spatial", 1) != 1) onnx_fail(o, "spatial 0 is not supported");
    Node *in[5];
    for (int k = 0; k < 5; k++) in[k] = input_node(o, nd, (size_t)k);
    Attr eps = attr_float("epsilon", oa_float(o, nd, "epsilon", 1e-5));
    define(o, nd, mk(o, OP_BATCH_NORM, in, 5, &eps, 1));
}

/* LayerNormalization (opset 17), decomposed: over the axes from `axis` to
 * the last, y = (x - mean) / sqrt(mean((x - mean)^2) + epsilon) * scale
 * (+ bias). */
static void lower_layer_norm(Onnx *o, const Onnx__NodeProto *nd)
{
    arity(o, nd, 2, 3, 1);
    Node *x = input_node(o, nd, 0);
    int rank = x->type.rank;
    if (rank < 1) onnx_fail(o, "expects a tensor of rank 1 or more");
    int ax = axis_of(o, oa_int(o, nd, "axis", -1), rank);
    int64_t *axes = ARENA_NEW_N(o->a, int64_t, rank - ax);
    for (int i = ax; i < rank; i++) axes[i - ax] = i;
    Attr red[2] = {attr_ints("axes", axes, rank - ax), attr_bool("keepdims", true)};
    Node *d = mk2(o, OP_SUB, x, mk1(o, OP_MEAN, x, red, 2));
    Node *var = mk1(o, OP_MEAN, mk2(o, OP_MUL, d, d), red, 2);
    Node *den = mk1(o, OP_SQRT, mk2(o, OP_ADD, var, konst(o, oa_float(o, nd, "epsilon", 1e-5))), NULL, 0);
    Node *y = mk2(o, OP_MUL, mk2(o, OP_DIV, d, den), input_node(o, nd, 1));
    if (has_input(nd, 2)) y = mk2(o, OP_ADD, y, input_node(o, nd, 2));
    define(o, nd, y);
}

/* ---- the table ---------------------------------------------------------------------- */

typedef void (*LowerFn)(Onnx *o, const Onnx__NodeProto *nd);

static const struct {
    const char *name;
    LowerFn fn;
} lowerings[] = {
    {"Gemm", lower_gemm},
    {"MatMul", lower_matmul},
    {"Add", lower_binary},
    {"Sub", lower_binary},
    {"Mul", lower_binary},
    {"Div", lower_binary},
    {"Pow", lower_binary},
    {"Sqrt", lower_unary},
    {"Exp", lower_unary},
    {"Log", lower_unary},
    {"Abs", lower_unary},
    {"Neg", lower_unary},
    {"Erf", lower_unary},
    {"Relu", lower_unary},
    {"Sigmoid", lower_unary},
    {"Tanh", lower_unary},
    {"LeakyRelu", lower_alpha},
    {"Elu", lower_alpha},
    {"Softmax", lower_softmax},
    {"LogSoftmax", lower_softmax},
    {"Flatten", lower_flatten},
    {"Reshape", lower_reshape},
    {"Transpose", lower_transpose},
    {"Squeeze", lower_squeeze},
    {"Unsqueeze", lower_unsqueeze},
    {"Concat", lower_concat},
    {"Constant", lower_constant},
    {"Identity", lower_identity},
    {"Dropout", lower_identity},
    {"ReduceMean", lower_reduce},
    {"ReduceSum", lower_reduce},
    {"Conv", lower_conv},
    {"MaxPool", lower_pool},
    {"AveragePool", lower_pool},
    {"GlobalAveragePool", lower_global_pool},
    {"BatchNormalization", lower_batch_norm},
    {"Clip", lower_clip},
    {"LayerNormalization", lower_layer_norm},
};

bool onnx_lower_node(Onnx *o, const Onnx__NodeProto *nd)
{
    for (size_t i = 0; i < sizeof lowerings / sizeof *lowerings; i++)
        if (strcmp(lowerings[i].name, nd->op_type) == 0) {
            lowerings[i].fn(o, nd);
            return true;
        }
    return false;
}
