/* onnx_internal.h - shared by the ONNX importer's files:
 *
 *   onnx_import.c  the model: protobuf parsing (into the arena), opsets,
 *                  tensors and their data (external data confined to the
 *                  model's folder), the value table, inputs and outputs
 *   onnx_ops.c     one lowering function per supported ONNX op
 *
 * An ONNX value (a tensor name) is either a graph node or a constant known
 * at import time (an initializer or a Constant node's tensor): constants
 * feed shape arguments (Reshape's shape, axes) directly, and become a
 * `const` node (one element) or a `param` (more) when used as a tensor.
 */
#ifndef DLC_FRONTEND_ONNX_INTERNAL_H
#define DLC_FRONTEND_ONNX_INTERNAL_H

#include "onnx.h"
#include "onnx.pb-c.h"

/* A constant tensor: f32 or int64 values, row-major. */
typedef struct OnnxConst {
    bool is_int;
    int rank;
    int64_t dims[DLC_MAX_RANK];
    int64_t numel;
    const float *f;    /* !is_int */
    const int64_t *i;  /* is_int */
} OnnxConst;

/* One entry of the value table. */
typedef struct OnnxValue {
    const char *name;  /* the ONNX name (NULL: empty slot) */
    Node *node;        /* the graph node, once there is one */
    OnnxConst *k;      /* the constant, if it is one */
} OnnxValue;

/* A name given to a graph leaf or output, and the next numbered suffix to
 * try when another ONNX name maps to it (onnx_unique_name). */
typedef struct NameSlot {
    const char *name; /* NULL: an empty slot */
    int next;
} NameSlot;

/* An open-addressing hash set of those names. */
typedef struct NameSet {
    NameSlot *slot;
    size_t cap, n;
} NameSet;

typedef struct Onnx {
    Arena *a;
    Graph *g;
    const SrcFile *file;   /* the model file (for messages) */
    const char *dir;       /* folder external data may come from, or NULL */
    int64_t opset;         /* of the default domain */
    int64_t fixed_batch;   /* a graph input's fixed first dimension, taken as N (0: none) */
    OnnxValue *vals;       /* open-addressing table of values */
    size_t vcap, nvals;
    NameSet names;         /* names used in the graph */
    OnnxWeights *weights;  /* where imported parameter values go (or NULL) */
    int wcap;
    const Onnx__NodeProto *node; /* the node being lowered (messages) */
    size_t node_index;
} Onnx;

/* Reports a user error; inside a node it names the node, its op and the
 * opset: "node 'fc1' (Gemm, opset 13): ...". */
DLC_NORETURN void onnx_fail(Onnx *o, const char *fmt, ...) DLC_PRINTF(2, 3);

/* Looks a value up (NULL if undefined). */
OnnxValue *onnx_value(Onnx *o, const char *name);
/* Defines the value `name` (an ONNX name) as node n or constant k. */
void onnx_define(Onnx *o, const char *name, Node *n, OnnxConst *k);
/* The graph node of a value, creating a const or param for a constant. */
Node *onnx_as_node(Onnx *o, OnnxValue *v);
/* Reads a TensorProto into a constant (`what` names it in messages). */
OnnxConst *onnx_tensor(Onnx *o, const Onnx__TensorProto *t, const char *what);
/* A fresh graph name derived from an ONNX name (unique, .nn-safe). */
const char *onnx_unique_name(Onnx *o, const char *onnx_name, const char *fallback);

/* Lowers the current node o->node; false if the op is not supported. */
bool onnx_lower_node(Onnx *o, const Onnx__NodeProto *nd);

#endif
