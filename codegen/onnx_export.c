/* onnx_export.c - an IR graph as an ONNX ModelProto (opset 13, IR version 7).
 *
 * How it works: one pass over the graph in order builds protobuf-c
 * messages in the graph's arena, then packs them once.
 *   - inputs become graph inputs (FLOAT; the batch dimension N is the
 *     symbolic dimension "N"); params become initializers with their
 *     values; scalar consts become scalar initializers;
 *   - an op whose onnx column in ir/ops.def names an ONNX operator
 *     becomes one node of that type over the same operands (neg: Neg,
 *     maximum: Max, ...);
 *   - the others that have an equivalent are special cases here: one node
 *     with attributes (matmul: Gemm with transA / transB, softmax's axis,
 *     ...), or a few (gelu: the decomposition PyTorch exports; square:
 *     Mul(x, x)); list arguments that opset 13 takes as inputs
 *     (ReduceSum's axes, Reshape's shape, Clip's bounds) become INT64 /
 *     FLOAT initializers;
 *   - each output gets an Identity node naming it.
 * Only what the outputs need is written (nodes that only a loss or a
 * metric reads are left out).  Values are named by their leaf name, or
 * `v<id>` for computed ones.  Ops with no inference meaning outside dlc
 * (losses, metrics, dropout masks, gradients, assign) are refused with
 * their name when an output needs them.
 */
#include <math.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "onnx_export.h"

typedef struct Ex {
    Arena *a;
    const Graph *g;
    Onnx__GraphProto *gp;
    size_t cap_node, cap_init;
    const char **vname; /* by node id */
    int aux;            /* counter for auxiliary names */
} Ex;

/* ---- message builders ---------------------------------------------------- */

static void *grow(Arena *a, void *p, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap) return p;
    size_t c = *cap ? 2 * *cap : 16;
    p = arena_grow(a, p, *cap * elem, c * elem, 1);
    *cap = c;
    return p;
}

static Onnx__TensorProto *tensor_new(Ex *x, const char *name, int32_t dtype, int rank, const int64_t *dims)
{
    Onnx__TensorProto *t = ARENA_NEW(x->a, Onnx__TensorProto);
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = (size_t)rank;
    t->dims = ARENA_NEW_N(x->a, int64_t, rank > 0 ? rank : 1);
    for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
    x->gp->initializer = grow(x->a, x->gp->initializer, x->gp->n_initializer, &x->cap_init, sizeof(void *));
    x->gp->initializer[x->gp->n_initializer++] = t;
    return t;
}

/* A FLOAT initializer with n values (raw little-endian data). */
static const char *init_floats(Ex *x, const char *name, int rank, const int64_t *dims, const float *v, size_t n)
{
    Onnx__TensorProto *t = tensor_new(x, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, rank, dims);
    t->has_raw_data = 1;
    t->raw_data.len = n * sizeof(float);
    t->raw_data.data = arena_alloc(x->a, n * sizeof(float) + 1);
    if (n) memcpy(t->raw_data.data, v, n * sizeof(float));
    return name;
}

static const char *init_scalar(Ex *x, double v)
{
    float f = (float)v;
    return init_floats(x, arena_printf(x->a, "c%d", x->aux++), 0, NULL, &f, 1);
}

/* A 1-D INT64 initializer. */
static const char *init_ints(Ex *x, const int64_t *v, int n)
{
    int64_t d = n;
    const char *name = arena_printf(x->a, "c%d", x->aux++);
    Onnx__TensorProto *t = tensor_new(x, name, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, &d);
    t->n_int64_data = (size_t)n;
    t->int64_data = ARENA_NEW_N(x->a, int64_t, n > 0 ? n : 1);
    if (n) memcpy(t->int64_data, v, sizeof *v * (size_t)n);
    return name;
}

static Onnx__NodeProto *node_new(Ex *x, const char *op, const char *const *in, int nin, const char *out)
{
    Onnx__NodeProto *n = ARENA_NEW(x->a, Onnx__NodeProto);
    onnx__node_proto__init(n);
    n->op_type = (char *)op;
    n->name = arena_printf(x->a, "n%d", x->aux++);
    n->n_input = (size_t)nin;
    n->input = ARENA_NEW_N(x->a, char *, nin > 0 ? nin : 1);
    for (int i = 0; i < nin; i++) n->input[i] = (char *)in[i];
    n->n_output = 1;
    n->output = ARENA_NEW_N(x->a, char *, 1);
    n->output[0] = (char *)out;
    x->gp->node = grow(x->a, x->gp->node, x->gp->n_node, &x->cap_node, sizeof(void *));
    x->gp->node[x->gp->n_node++] = n;
    return n;
}

static Onnx__AttributeProto *attr_new(Ex *x, Onnx__NodeProto *n, const char *name, Onnx__AttributeProto__AttributeType t)
{
    Onnx__AttributeProto *a = ARENA_NEW(x->a, Onnx__AttributeProto);
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = t;
    Onnx__AttributeProto **v = ARENA_NEW_N(x->a, Onnx__AttributeProto *, n->n_attribute + 1);
    if (n->n_attribute) memcpy(v, n->attribute, sizeof *v * n->n_attribute);
    v[n->n_attribute++] = a;
    n->attribute = v;
    return a;
}

static void set_int(Ex *x, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr_new(x, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

static void set_float(Ex *x, Onnx__NodeProto *n, const char *name, double v)
{
    Onnx__AttributeProto *a = attr_new(x, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = (float)v;
}

static void set_ints(Ex *x, Onnx__NodeProto *n, const char *name, const int64_t *v, int nv)
{
    Onnx__AttributeProto *a = attr_new(x, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = (size_t)nv;
    a->ints = ARENA_NEW_N(x->a, int64_t, nv > 0 ? nv : 1);
    if (nv) memcpy(a->ints, v, sizeof *v * (size_t)nv);
}

/* The ValueInfo of a FLOAT tensor of type t. */
static Onnx__ValueInfoProto *value_info(Ex *x, const char *name, const TensorType *t)
{
    Onnx__ValueInfoProto *vi = ARENA_NEW(x->a, Onnx__ValueInfoProto);
    onnx__value_info_proto__init(vi);
    vi->name = (char *)name;
    Onnx__TypeProto *tp = ARENA_NEW(x->a, Onnx__TypeProto);
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = ARENA_NEW(x->a, Onnx__TypeProto__Tensor);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    Onnx__TensorShapeProto *sh = ARENA_NEW(x->a, Onnx__TensorShapeProto);
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t)t->rank;
    sh->dim = ARENA_NEW_N(x->a, Onnx__TensorShapeProto__Dimension *, t->rank > 0 ? t->rank : 1);
    for (int i = 0; i < t->rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = ARENA_NEW(x->a, Onnx__TensorShapeProto__Dimension);
        onnx__tensor_shape_proto__dimension__init(d);
        if (t->dims[i] == DIM_N) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = "N";
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = t->dims[i];
        }
        sh->dim[i] = d;
    }
    tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->type = tp;
    return vi;
}

/* ---- ops ------------------------------------------------------------------ */

/* Normalized reduction axes of n (all axes when the list is empty). */
static int reduce_axes(const Node *n, int64_t *ax)
{
    const int64_t *v;
    int nv = node_attr_ints(n, "axes", &v), rank = n->in[0]->type.rank;
    if (nv == 0) {
        for (int i = 0; i < rank; i++) ax[i] = i;
        return rank;
    }
    for (int i = 0; i < nv; i++) ax[i] = v[i] < 0 ? v[i] + rank : v[i];
    return nv;
}

/* Emits the ONNX node(s) of IR node n; returns false if it has none.  The
 * cases below are the ops whose export needs code (attributes, operands
 * that opset 13 takes as initializers, decompositions); every other op is
 * one node of the type in its onnx column of ops.def, or has none. */
static bool export_node(Ex *x, const Node *n)
{
    const char *y = x->vname[n->id];
    const char **in = ARENA_NEW_N(x->a, const char *, n->nin > 0 ? n->nin : 1);
    for (int k = 0; k < n->nin; k++) in[k] = x->vname[n->in[k]->id];
    Onnx__NodeProto *o;
    switch (n->op) {
    case OP_MATMUL:
        o = node_new(x, "Gemm", in, 2, y);
        if (node_attr_int(n, "trans_a")) set_int(x, o, "transA", 1);
        if (node_attr_int(n, "trans_b")) set_int(x, o, "transB", 1);
        return true;
    case OP_LEAKY_RELU:
    case OP_ELU:
        o = node_new(x, n->op == OP_ELU ? "Elu" : "LeakyRelu", in, 1, y);
        set_float(x, o, "alpha", node_attr_float(n, "alpha"));
        return true;
    case OP_SQUARE: {
        const char *xx[2] = {in[0], in[0]};
        node_new(x, "Mul", xx, 2, y);
        return true;
    }
    case OP_GELU: { /* 0.5 * x * (1 + erf(x / sqrt(2))), as PyTorch exports it */
        const char *t[2] = {in[0], init_scalar(x, sqrt(2.0))};
        const char *d = arena_printf(x->a, "%s.div", y), *e = arena_printf(x->a, "%s.erf", y);
        const char *p = arena_printf(x->a, "%s.add", y), *m = arena_printf(x->a, "%s.mul", y);
        node_new(x, "Div", t, 2, d);
        node_new(x, "Erf", &d, 1, e);
        const char *t2[2] = {e, init_scalar(x, 1.0)};
        node_new(x, "Add", t2, 2, p);
        const char *t3[2] = {in[0], p};
        node_new(x, "Mul", t3, 2, m);
        const char *t4[2] = {m, init_scalar(x, 0.5)};
        node_new(x, "Mul", t4, 2, y);
        return true;
    }
    case OP_CLIP: {
        const char *t[3] = {in[0], init_scalar(x, node_attr_float(n, "min")), init_scalar(x, node_attr_float(n, "max"))};
        node_new(x, "Clip", t, 3, y);
        return true;
    }
    case OP_SUM:
    case OP_MEAN:
    case OP_MAX: {
        int64_t ax[DLC_MAX_RANK];
        int na = reduce_axes(n, ax);
        if (n->op == OP_SUM) {
            const char *t[2] = {in[0], init_ints(x, ax, na)};
            o = node_new(x, "ReduceSum", t, 2, y);
        } else {
            o = node_new(x, n->op == OP_MEAN ? "ReduceMean" : "ReduceMax", in, 1, y);
            set_ints(x, o, "axes", ax, na);
        }
        set_int(x, o, "keepdims", node_attr_int(n, "keepdims") != 0);
        return true;
    }
    case OP_RESHAPE: {
        int64_t d[DLC_MAX_RANK];
        for (int i = 0; i < n->type.rank; i++) d[i] = n->type.dims[i] == DIM_N ? -1 : n->type.dims[i];
        const char *t[2] = {in[0], init_ints(x, d, n->type.rank)};
        node_new(x, "Reshape", t, 2, y);
        return true;
    }
    case OP_TRANSPOSE: {
        const int64_t *p;
        int np = node_attr_ints(n, "perm", &p);
        o = node_new(x, "Transpose", in, 1, y);
        if (np) set_ints(x, o, "perm", p, np);
        return true;
    }
    case OP_CONCAT: {
        int64_t axis = node_attr_int(n, "axis");
        o = node_new(x, "Concat", in, n->nin, y);
        set_int(x, o, "axis", axis < 0 ? axis + n->type.rank : axis);
        return true;
    }
    case OP_FLATTEN:
        o = node_new(x, "Flatten", in, 1, y);
        set_int(x, o, "axis", 1);
        return true;
    case OP_SOFTMAX:
    case OP_LOG_SOFTMAX:
        o = node_new(x, n->op == OP_SOFTMAX ? "Softmax" : "LogSoftmax", in, 1, y);
        set_int(x, o, "axis", node_attr_int(n, "axis"));
        return true;
    case OP_CONV2D:
    case OP_MAX_POOL2D:
    case OP_AVG_POOL2D: {
        const int64_t *v;
        int nv;
        bool conv = n->op == OP_CONV2D;
        o = node_new(x, conv ? "Conv" : n->op == OP_MAX_POOL2D ? "MaxPool" : "AveragePool", in, n->nin, y);
        if (conv) {
            int64_t k[2] = {n->in[1]->type.dims[2], n->in[1]->type.dims[3]};
            set_ints(x, o, "kernel_shape", k, 2);
            set_int(x, o, "group", node_attr_int(n, "group"));
            if ((nv = node_attr_ints(n, "dilations", &v))) set_ints(x, o, "dilations", v, nv);
        } else {
            nv = node_attr_ints(n, "kernel", &v);
            set_ints(x, o, "kernel_shape", v, nv);
            if (n->op == OP_AVG_POOL2D) set_int(x, o, "count_include_pad", node_attr_int(n, "count_include_pad") != 0);
        }
        if ((nv = node_attr_ints(n, "strides", &v))) set_ints(x, o, "strides", v, nv);
        if ((nv = node_attr_ints(n, "pads", &v))) set_ints(x, o, "pads", v, nv);
        return true;
    }
    case OP_BATCH_NORM:
        o = node_new(x, "BatchNormalization", in, 5, y);
        set_float(x, o, "epsilon", node_attr_float(n, "epsilon"));
        return true;
    default: {
        const char *type = op_info(n->op)->onnx;
        if (!*type) return false;
        node_new(x, type, in, n->nin, y);
        return true;
    }
    }
}

/* live[id]: whether an output needs node id (the graph is in topological
 * order, so one reverse sweep from the outputs marks them all).  Nodes that
 * only a loss or a metric reads - assignments the infer-mode frontend keeps,
 * targets, params of a loss term - are not exported. */
static bool *needed_nodes(Arena *a, const Graph *g)
{
    bool *live = ARENA_NEW_N(a, bool, g->next_id + 1);
    memset(live, 0, sizeof *live * (size_t)(g->next_id + 1));
    for (int j = 0; j < g->noutputs; j++) live[g->outputs[j].node->id] = true;
    for (int i = g->nnodes - 1; i >= 0; i--)
        if (live[g->nodes[i]->id])
            for (int k = 0; k < g->nodes[i]->nin; k++) live[g->nodes[i]->in[k]->id] = true;
    return live;
}

const char *onnx_export(FILE *out, const Graph *g, const float *const *param_data)
{
    Ex x;
    memset(&x, 0, sizeof x);
    x.a = g->arena, x.g = g;
    x.gp = ARENA_NEW(x.a, Onnx__GraphProto);
    onnx__graph_proto__init(x.gp);
    x.gp->name = (char *)g->name;
    x.vname = ARENA_NEW_N(x.a, const char *, g->next_id + 1);
    size_t cap_in = 0;
    const bool *live = needed_nodes(x.a, g);
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (n->dead || !live[n->id]) continue;
        if (n->type.dtype != DT_F32 && n->op != OP_INPUT)
            return arena_printf(x.a, "only f32 models can be exported (%s %s has type %s)", op_info(n->op)->name,
                                n->name ? n->name : "", dtype_name(n->type.dtype));
        switch (n->op) {
        case OP_INPUT:
            if (n->type.dtype != DT_F32) continue; /* labels: not an inference input */
            x.vname[n->id] = n->name;
            x.gp->input = grow(x.a, x.gp->input, x.gp->n_input, &cap_in, sizeof(void *));
            x.gp->input[x.gp->n_input++] = value_info(&x, n->name, &n->type);
            break;
        case OP_PARAM:
            DLC_ASSERT(param_data && param_data[n->id]);
            x.vname[n->id] = init_floats(&x, n->name, n->type.rank, n->type.dims, param_data[n->id],
                                         (size_t)tt_numel(&n->type, 1));
            break;
        case OP_CONST:
            x.vname[n->id] = init_scalar(&x, node_attr_float(n, "value"));
            break;
        case OP_STATE:
        case OP_HPARAM:
            return arena_printf(x.a, "%s '%s' has no ONNX equivalent in an inference model", op_info(n->op)->name, n->name);
        default:
            x.vname[n->id] = arena_printf(x.a, "v%d", n->id);
            for (int k = 0; k < n->nin; k++)
                if (!x.vname[n->in[k]->id])
                    return arena_printf(x.a, "'%s' reads a value that is not exported", op_info(n->op)->name);
            if (!export_node(&x, n)) return arena_printf(x.a, "op '%s' cannot be exported to ONNX", op_info(n->op)->name);
        }
    }
    x.gp->n_output = (size_t)g->noutputs;
    x.gp->output = ARENA_NEW_N(x.a, Onnx__ValueInfoProto *, g->noutputs > 0 ? g->noutputs : 1);
    for (int j = 0; j < g->noutputs; j++) {
        const Node *n = g->outputs[j].node;
        const char *v = x.vname[n->id];
        if (!v) return arena_printf(x.a, "output '%s' is not exported", g->outputs[j].name);
        node_new(&x, "Identity", &v, 1, g->outputs[j].name);
        x.gp->output[j] = value_info(&x, g->outputs[j].name, &n->type);
    }
    Onnx__OperatorSetIdProto os = ONNX__OPERATOR_SET_ID_PROTO__INIT, *osp = &os;
    os.domain = "";
    os.has_version = 1;
    os.version = 13;
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    m.has_ir_version = 1;
    m.ir_version = 7;
    m.producer_name = "dlc";
    m.producer_version = "0.1";
    m.n_opset_import = 1;
    m.opset_import = &osp;
    m.graph = x.gp;
    size_t len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = arena_alloc(x.a, len + 1);
    onnx__model_proto__pack(&m, buf);
    if (fwrite(buf, 1, len, out) != len) return "write error";
    return NULL;
}
