/* print_dot.c - Graphviz rendering of a graph (`dlc ir --format dot`).
 *
 * One dot node per IR node, labelled with its op (or leaf kind and name),
 * the .nn variable and its type; one edge per operand, from the operand to
 * its user.  Leaves are drawn as filled ellipses (inputs, params, states,
 * hparams in different colours); outputs, metrics and the loss get a
 * plaintext marker node with an edge from the value.  Labels are escaped
 * for dot's quoted strings.  Deterministic: nodes in graph order.
 */
#include <string.h>

#include "ir.h"

/* Writes s inside a dot quoted string: quotes and backslashes escaped,
 * control characters replaced. */
static void esc(FILE *out, const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7F) fputc('?', out);
        else fputc(*p, out);
    }
}

static const char *leaf_color(OpCode op) {
    switch (op) {
    case OP_INPUT: return "lightblue";
    case OP_PARAM: return "palegreen";
    case OP_STATE: return "khaki";
    case OP_HPARAM: return "plum";
    default: return "lightgrey";
    }
}

/* A marker node for an output / metric / loss, with an edge from n. */
static void marker(FILE *out, const char *id, const char *label, const Node *n) {
    fprintf(out, "  %s [shape=plaintext, label=\"", id);
    esc(out, label);
    fprintf(out, "\"];\n");
    if (n) fprintf(out, "  n%d -> %s [style=bold];\n", n->id, id);
}

void ir_print_dot(FILE *out, const Graph *g) {
    char buf[TT_FMT_LEN];
    fprintf(out, "digraph \"");
    esc(out, g->name ? g->name : "model");
    fprintf(out, "\" {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n");
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        const OpInfo *info = op_info(n->op);
        fprintf(out, "  n%d [label=\"", n->id);
        esc(out, info->name);
        if (n->name) {
            fputs(" %", out);
            esc(out, n->name);
        }
        if (n->op == OP_CONST) fprintf(out, " %g", node_attr_float(n, "value"));
        if (n->var) {
            fputs(" (", out);
            esc(out, n->var);
            fputc(')', out);
        }
        fputs("\\n", out);
        esc(out, tt_format(&n->type, buf, sizeof buf));
        fputc('"', out);
        if (info->kind == OK_LEAF)
            fprintf(out, ", shape=ellipse, style=filled, fillcolor=%s", leaf_color(n->op));
        if (n == g->loss) fprintf(out, ", peripheries=2, color=red");
        fprintf(out, "];\n");
    }
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        for (int k = 0; k < n->nin; k++) fprintf(out, "  n%d -> n%d;\n", n->in[k]->id, n->id);
    }
    char id[48], label[256];
    for (int i = 0; i < g->noutputs; i++) {
        snprintf(id, sizeof id, "output_%d", i);
        snprintf(label, sizeof label, "output %s", g->outputs[i].name);
        marker(out, id, label, g->outputs[i].node);
    }
    for (int i = 0; i < g->nmetrics; i++) {
        snprintf(id, sizeof id, "metric_%d", i);
        snprintf(label, sizeof label, "metric %s", g->metrics[i].name);
        marker(out, id, label, g->metrics[i].node);
    }
    if (g->loss) marker(out, "loss", "loss", g->loss);
    fprintf(out, "}\n");
}
