/* ir.h - the dlc intermediate representation.
 *
 * A Graph is a list of Nodes in topological order: every operand of a node
 * appears before it.  Each node defines one SSA value (a tensor); a node is
 * immutable once built except through the rewrite helpers below.  Nodes are
 * allocated from the graph's arena and live until the arena is freed.
 *
 * Op semantics live in one table, ir/ops.def; op_info() gives the entry.
 * The builder (ir_node / ir_*) runs the op's shape rule on every new node, so
 * a well-formed graph always has types on all nodes.  ir_verify() checks the
 * invariants and is run between passes.
 *
 * Leaves: input (data fed per step), param (trainable weights), state
 * (persistent non-trainable tensors: optimizer slots, step counter), hparam
 * (scalar hyperparameters the runtime may change, e.g. the learning rate),
 * const (a scalar constant broadcast to its type).
 */
#ifndef DLC_IR_IR_H
#define DLC_IR_IR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "diag.h"
#include "types.h"

/* ---- the op table ------------------------------------------------------ */

typedef enum {
#define OP(e, name, lo, hi, kind, flags, attrs, shape, grad, ew, onnx, dom) OP_##e,
#include "ops.def"
#undef OP
    OP_COUNT
} OpCode;

typedef enum { OK_LEAF, OK_UNARY, OK_BINARY, OK_EW, OK_REDUCE, OK_SHAPE, OK_OTHER } OpKind;

/* Op facts (the flags column of ops.def, documented there): exactly one of
 * the first four says where the value comes from; the others qualify it. */
enum {
    OPF_PURE = 1 << 0,        /* a function of its operands and attributes */
    OPF_EXTERN = 1 << 1,      /* fed from outside the graph (data, weights, state) */
    OPF_RANDOM = 1 << 2,      /* draws random numbers of its own */
    OPF_EFFECT = 1 << 3,      /* changes state beyond its value */
    OPF_COMMUTATIVE = 1 << 4, /* its two operands may be swapped */
    OPF_LABELS = 1 << 5,      /* checks class labels at run time */
};

/* Kinds of attribute values (the letters of the attrs schema in ops.def). */
typedef enum { AK_INT, AK_FLOAT, AK_BOOL, AK_INTS, AK_STR, AK_DTYPE } AttrKind;

/* One attribute in an op's schema. */
typedef struct AttrSpec {
    const char *name;
    AttrKind kind;
    bool required;       /* no default in the schema */
    const char *deflt;   /* default as written in ops.def ("" for none) */
} AttrSpec;

typedef struct Node Node;
typedef struct Graph Graph;

/* Shape rule: sets n->type from n's operands and attributes.  Returns NULL
 * on success, or an error message (allocated in g's arena) that names the
 * offending shapes, e.g. "cannot broadcast f32[N,784] and f32[512]". */
typedef const char *(*ShapeRule)(Graph *g, Node *n);

/* Gradient availability (the grad column of ops.def). */
typedef enum { GRAD_NONE = 0, GRAD_RULE, GRAD_ZERO } GradKind;

/* Operand value domains (the names of the dom column of ops.def): where an
 * op's derivative exists and is well conditioned, so where gradcheck draws
 * finite-difference points.  The ranges are documented in ops.def. */
typedef enum { DOM_NORMAL, DOM_POS, DOM_AWAY0, DOM_PROB, DOM_UNIT, DOM_SIMPLEX, DOM_LABEL } Domain;
#define OP_MAX_DOM 8 /* most operands a dom entry may list */

typedef struct OpInfo {
    OpCode code;
    const char *name;     /* "matmul" */
    int min_in, max_in;   /* max_in < 0: variadic */
    OpKind kind;
    unsigned flags;       /* OPF_* */
    const char *attrs;    /* schema string from ops.def */
    ShapeRule shape;
    GradKind grad;
    const char *ew;       /* elementwise C expression template ($0, $alpha), or "" */
    const char *onnx;     /* ONNX operator type of a plain one-node export, or "" */
    const char *dom;      /* operand domains as written in ops.def */
    const AttrSpec *specs;/* parsed schema (filled by op_table_init) */
    int nspecs;
    int ndom;             /* parsed dom (op_table_init): 0 (all normal) or max_in */
    Domain dom_plain[OP_MAX_DOM], dom_logits[OP_MAX_DOM]; /* from_logits false / true */
} OpInfo;

const OpInfo *op_info(OpCode op);
/* True for the elementwise kinds (unary, binary, ew): the ops with an ew
 * formula, computed element by element (fusion, folding on scalars, the
 * generated loops and the interpreter all go by this). */
bool op_is_elementwise(OpCode op);
/* Looks an op up by name; returns false if there is none. */
bool op_lookup(const char *name, size_t len, OpCode *out);
/* Finds attribute `name` in op's schema, or NULL. */
const AttrSpec *op_attr_spec(OpCode op, const char *name);
/* The domain of operand i of op, for a node whose from_logits attribute is
 * from_logits (false for ops without one); normal for an empty dom. */
Domain op_domain(OpCode op, int i, bool from_logits);
/* Parses a dom entry of ops.def for an op with max_in operands (< 0:
 * variadic) that has a from_logits attribute or not, into plain[] and
 * logits[] (OP_MAX_DOM entries each) and *n (the fields, 0 for "").
 * Returns NULL, or what is wrong with the entry. */
const char *op_parse_domains(const char *dom, int max_in, bool has_from_logits, Domain *plain, Domain *logits,
                             int *n);

/* ---- nodes ----------------------------------------------------------- */

/* An attribute value on a node. */
typedef struct Attr {
    const char *name;  /* as in the op's schema */
    AttrKind kind;
    int64_t i;         /* AK_INT, AK_BOOL, AK_DTYPE (a DType) */
    double f;          /* AK_FLOAT */
    const int64_t *ints; int nints; /* AK_INTS */
    const char *s;     /* AK_STR */
} Attr;

/* The entry points of a generated unit, the index of Node.launch: a
 * training step (loss, metrics and the updates), an evaluation step (loss
 * and metrics), predict (output 0).  Codegen's EntryKind has this order. */
typedef enum { IR_ENTRY_TRAIN, IR_ENTRY_EVAL, IR_ENTRY_PREDICT, IR_NENTRIES } IrEntry;

/* One IR node: an op applied to operands, defining one tensor value. */
struct Node {
    int id;             /* value number, printed %id; unique within the graph */
    OpCode op;          /* what it computes (index into the op table) */
    const char *name;   /* leaves: the user-visible name ("dense_1.kernel"),
                           printed %name; NULL for other nodes */
    const char *var;    /* the .nn variable it was assigned to, or NULL;
                           shown in dumps, not semantic */
    Node **in;          /* operands, each earlier in the graph order */
    int nin;
    Attr *attrs;        /* attributes, only names from the op's schema; a
                           schema attribute missing here takes its default */
    int nattrs;
    TensorType type;    /* result type, set by the op's shape rule */
    SrcLoc loc;         /* source position it came from (line 0: none) */
    int fuse_group;     /* fusion region id (0: not fused), set by `fuse` */
    int64_t offset;     /* byte offset in the arena (-1: unplanned), by `plan` */
    int live_start, live_end; /* schedule positions of its lifetime, by `plan` */
    int launch[IR_NENTRIES];  /* per entry point: the CUDA launch that runs it, in the
                                 entry's enqueue order (-1: none), by `launch` */
    int launch_seg[IR_NENTRIES]; /* its segment within that launch group (-1: a
                                 launch of its own, or none) */
    bool dead;          /* marked for removal by a pass; ir_compact drops it */
};

/* Attribute getters: the node's value, or the schema default. */
int64_t node_attr_int(const Node *n, const char *name);
double node_attr_float(const Node *n, const char *name);
const char *node_attr_str(const Node *n, const char *name);
/* Int lists: returns the count and sets *out (NULL when empty). */
int node_attr_ints(const Node *n, const char *name, const int64_t **out);
bool node_has_attr(const Node *n, const char *name);

/* ---- graphs ---------------------------------------------------------- */

typedef enum { MODE_INFER, MODE_TRAIN } GraphMode;

/* A named value the program exposes: an output, a metric. */
typedef struct NamedValue {
    const char *name;
    Node *node;
    SrcLoc loc;
} NamedValue;

/* Hyperparameters from the train block; unset numbers are < 0 / NULL. */
typedef struct TrainConfig {
    bool present;          /* the model has a train block */
    SrcLoc loc;            /* of the train block */
    const char *optimizer; /* "rmsprop", "adam", "sgd", "adagrad" */
    SrcLoc optimizer_loc;
    Attr *opt_args;        /* keyword arguments to the optimizer */
    int nopt_args;
    int64_t batch_size;    /* default 32 */
    int64_t epochs;        /* default 1 */
    int64_t seed;          /* default 0 */
} TrainConfig;

struct Graph {
    Arena *arena;          /* owns every node, attribute and string */
    const char *name;      /* model name */
    const SrcFile *file;   /* the source it came from (may be NULL) */
    GraphMode mode;
    Node **nodes;          /* topological order */
    int nnodes, cap;
    int next_id;           /* next value number */
    NamedValue *outputs; int noutputs;
    NamedValue *metrics; int nmetrics;
    Node *loss;            /* scalar loss, or NULL */
    SrcLoc loss_loc;       /* of the loss; without one, where autodiff reports that (.nn: the model name) */
    /* Set by autodiff: grads[i] is d loss / d params[i]. */
    Node **grad_params; Node **grads; int ngrads;
    TrainConfig train;
    int64_t max_batch;     /* the N the memory plan is made for (>= 1) */
    /* Set by `shapes` in train mode: output 0 combines the samples of a
       batch (passes/batch_rows.c; in infer mode that is an error), so a
       program's predict must not split its input into chunks. */
    bool output0_mixes_rows;
    int64_t arena_bytes;   /* planned arena size (by `plan`, else 0) */
    int64_t arena_lower_bound; /* max bytes simultaneously live (by `plan`) */
};

Graph *ir_graph_new(Arena *a, const char *name, GraphMode mode);

/* Creates a node with op, operands and attributes (copied), appends it to
 * the graph, runs the shape rule and returns it.  If the shape rule fails,
 * reports a user error at loc (exit 1): the builder is used by frontends on
 * user input.  Passes, which should never produce ill-typed nodes, use
 * ir_node_checked, which reports an internal error instead. */
Node *ir_node(Graph *g, OpCode op, Node **in, int nin, const Attr *attrs, int nattrs, SrcLoc loc);
Node *ir_node_checked(Graph *g, OpCode op, Node **in, int nin, const Attr *attrs, int nattrs, SrcLoc loc);
/* Like ir_node but returns the shape rule's message (NULL on success) and
 * the node in *out without appending it on failure. */
const char *ir_node_try(Graph *g, OpCode op, Node **in, int nin, const Attr *attrs, int nattrs, SrcLoc loc, Node **out);

/* Leaves. `name` is copied. */
Node *ir_input(Graph *g, const char *name, TensorType t, SrcLoc loc);
Node *ir_param(Graph *g, const char *name, TensorType t, const Attr *init, int ninit, SrcLoc loc);
Node *ir_state(Graph *g, const char *name, TensorType t, const Attr *init, int ninit, SrcLoc loc);
Node *ir_hparam(Graph *g, const char *name, double value, SrcLoc loc);
/* A scalar constant of dtype dt. */
Node *ir_const(Graph *g, DType dt, double value, SrcLoc loc);

/* Attribute constructors (name is not copied: use literals or arena strings). */
Attr attr_int(const char *name, int64_t v);
Attr attr_bool(const char *name, bool v);
Attr attr_float(const char *name, double v);
Attr attr_str(const char *name, const char *s);
Attr attr_ints(const char *name, const int64_t *v, int n); /* v not copied */
Attr attr_dtype(const char *name, DType t);

/* Convenience builders for passes (internal-error on a type mismatch). */
Node *ir_unary(Graph *g, OpCode op, Node *a, SrcLoc loc);
Node *ir_binary(Graph *g, OpCode op, Node *a, Node *b, SrcLoc loc);

/* Finds a leaf (input/param/state/hparam) by name, or NULL. */
Node *ir_find_leaf(const Graph *g, const char *name);
/* Replaces every use of `from` (operands, outputs, metrics, loss, grads) by `to`. */
void ir_replace_uses(Graph *g, Node *from, Node *to);
/* Drops nodes marked dead and keeps the order; ids are kept. */
void ir_compact(Graph *g);
/* Number of uses of each node (operands + outputs/metrics/loss/grads),
 * written to counts[id]; counts must hold g->next_id ints. */
void ir_use_counts(const Graph *g, int *counts);

/* Who reads each node, by position in g->nodes (arena-allocated, built in
 * one walk): index[id] is the position of node id; the readers of the node
 * at position x are the positions reader[first[x]] .. reader[first[x+1]-1],
 * in graph order, one entry per operand slot (outputs, the loss, metrics
 * and gradients are not readers).  Lets a pass visit the users of a node
 * instead of scanning the graph for them. */
typedef struct Readers {
    int *index;  /* by node id (g->next_id entries) */
    int *first;  /* by position, g->nnodes + 1 entries */
    int *reader; /* first[g->nnodes] entries */
} Readers;
Readers ir_readers(const Graph *g);

/* ---- checking and printing -------------------------------------------- */

/* Checks the graph's invariants (order, operand counts, attribute schema,
 * types agree with the shape rules, unique names and ids, roles).  Returns
 * NULL if it is well formed, else a message describing the first problem.
 * `after` names the pass that ran last, for the message. */
const char *ir_verify(Graph *g);

/* Text dump: deterministic, one node per line, shapes and source lines. */
void ir_print_text(FILE *out, const Graph *g);
/* Graphviz dot. */
void ir_print_dot(FILE *out, const Graph *g);

/* Reads the text format back (the one ir_print_text writes) from `file`.
 * User errors are reported at their position in `file`. */
Graph *ir_parse_text(Arena *a, const SrcFile *file);

/* Loads a whole file into the arena; reports a user error if it cannot. */
SrcFile *srcfile_load(Arena *a, const char *path);
SrcFile *srcfile_from_string(Arena *a, const char *name, const char *text, size_t len);

#endif
