/* nn_write.c - writes an inference graph back as .nn text (`dlc import`).
 *
 * The text is the tensor-level form of the model language (docs/dsl.md):
 *
 *     model mlp
 *
 *     input x: f32[N, 20]
 *     param fc1.weight: f32[32, 20] = zeros()      # values: the .safetensors
 *
 *     t0 = matmul(x, fc1.weight, trans_b=true)
 *     t1 = add(t0, fc1.bias)
 *     output y = softmax(t1, axis=-1)
 *
 * one statement per node, in graph order, with the attributes set on the
 * node as keyword arguments.  Scalar constants are written inline as
 * numbers (in a call they take the type of the tensor operand, which is
 * what the IR's `const` nodes of an f32 graph are).  Compiling the written
 * file in infer mode gives the same graph (tests/lit/onnx/import.test).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ir/node_table.h"
#include "onnx.h"

/* The shortest %g form of v that reads back to the same double. */
static void fmt_number(char *buf, size_t len, double v)
{
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, len, "%.*g", p, v);
        if (strtod(buf, NULL) == v) return;
    }
}

/* Writes operand k of n: a number for a constant, else its name. */
static void put_operand(FILE *out, const Node *a, char **names)
{
    if (a->op == OP_CONST) {
        char num[40];
        fmt_number(num, sizeof num, node_attr_float(a, "value"));
        fputs(num, out);
    } else {
        fputs(names[a->id], out);
    }
}

/* Writes one attribute value as a keyword argument. */
static void put_attr(FILE *out, const Attr *at)
{
    char num[40];
    fprintf(out, ", %s=", at->name);
    switch (at->kind) {
    case AK_INT: fprintf(out, "%lld", (long long)at->i); break;
    case AK_BOOL: fputs(at->i ? "true" : "false", out); break;
    case AK_FLOAT:
        fmt_number(num, sizeof num, at->f);
        fputs(num, out);
        break;
    case AK_INTS:
        fputc('[', out);
        for (int i = 0; i < at->nints; i++) fprintf(out, "%s%lld", i ? ", " : "", (long long)at->ints[i]);
        fputc(']', out);
        break;
    case AK_STR: fprintf(out, "\"%s\"", at->s); break;
    case AK_DTYPE: fputs(dtype_name((DType)at->i), out); break;
    }
}

static void put_type(FILE *out, const TensorType *t)
{
    fprintf(out, "%s[", dtype_name(t->dtype));
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] == DIM_N) fprintf(out, "%sN", i ? ", " : "");
        else fprintf(out, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
    }
    fputc(']', out);
}

/* True for the ops a model may call (docs/dsl.md, section 4). */
static bool callable(OpCode op)
{
    const char *nm = op_info(op)->name;
    size_t n = strlen(nm);
    if (op_info(op)->kind == OK_LEAF || (n > 5 && strcmp(nm + n - 5, "_grad") == 0)) return false;
    return op != OP_ASSIGN && op != OP_SUM_TO && op != OP_BROADCAST_TO && op != OP_SLICE;
}

const char *nn_write(FILE *out, const Graph *g, const char *note)
{
    char **names = calloc((size_t)g->next_id + 1, sizeof *names);
    if (!names) return "out of memory";
    const char *err = NULL;
    NodeTable leaves = ir_leaf_table(g); /* a made-up name must not be a leaf's */
    for (int i = 0; i < g->nnodes && !err; i++) {
        const Node *n = g->nodes[i];
        if (n->op == OP_CONST) {
            double v = node_attr_float(n, "value");
            if (!isfinite(v)) err = arena_printf(g->arena, "the constant %g has no .nn spelling", v);
            if (n->type.rank != 0) err = "a non-scalar constant has no .nn spelling";
        } else if (op_info(n->op)->kind == OK_LEAF) {
            if (n->op != OP_INPUT && n->op != OP_PARAM)
                err = arena_printf(g->arena, "%s '%s' has no .nn spelling", op_info(n->op)->name, n->name);
            names[n->id] = (char *)n->name;
        } else if (!callable(n->op)) {
            err = arena_printf(g->arena, "op '%s' cannot be written in .nn", op_info(n->op)->name);
        } else {
            const char *nm = NULL;
            for (int k = 0; !nm || node_table_get(&leaves, nm); k++) nm = arena_printf(g->arena, "%st%d", k ? "_" : "", i);
            names[n->id] = (char *)nm;
        }
    }
    for (int j = 0; j < g->noutputs && !err; j++)
        if (g->outputs[j].node->op == OP_CONST) err = "a constant output has no .nn spelling";
    if (err) {
        free(names);
        return err;
    }
    if (note) fprintf(out, "# %s\n", note);
    fprintf(out, "model %s\n\n", g->name);
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (n->op == OP_INPUT) {
            fprintf(out, "input %s: ", n->name);
            put_type(out, &n->type);
            fputc('\n', out);
        }
    }
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (n->op != OP_PARAM) continue;
        fprintf(out, "param %s: ", n->name);
        put_type(out, &n->type);
        fputs(" = zeros()\n", out);
    }
    fputc('\n', out);
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (op_info(n->op)->kind == OK_LEAF) continue;
        fprintf(out, "%s = %s(", names[n->id], op_info(n->op)->name);
        for (int k = 0; k < n->nin; k++) {
            if (k) fputs(", ", out);
            put_operand(out, n->in[k], names);
        }
        for (int k = 0; k < n->nattrs; k++) put_attr(out, &n->attrs[k]);
        fputs(")\n", out);
    }
    fputc('\n', out);
    for (int j = 0; j < g->noutputs; j++) fprintf(out, "output %s = %s\n", g->outputs[j].name, names[g->outputs[j].node->id]);
    free(names);
    return NULL;
}
