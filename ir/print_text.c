/* print_text.c - the IR text format (docs/architecture.md).
 *
 *   graph NAME (train|infer)
 *     # arena: B bytes, lower bound L bytes (R.RRx)     (after `plan`)
 *     input %image : f32[N,28,28]                        # model.nn:4
 *     param %w : f32[784,512] = glorot_uniform()
 *     %0 = matmul %image, %w {trans_b=true} : f32[N,512] # model.nn:8 (h) group=1 @0+2048 live=[3,5]
 *     output probs = %5
 *     loss = %7
 *     metric accuracy = %8
 *     grad %w = %20
 *     train rmsprop(learning_rate=0.001) batch_size=128 epochs=5 seed=0
 *
 * Named leaves print as %name; every other node is renumbered %0, %1, ...
 * in graph order, so the text does not depend on value ids.  Each line is
 * assembled in a buffer first so its trailing comment can start at column
 * 62 (or two spaces after a longer line).  Same graph, same bytes.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "ir.h"

#define COMMENT_COL 61 /* 0-based column of '#' */

char *ir_format_double(double v, char *buf) {
    if (isnan(v)) return strcpy(buf, "nan");
    if (isinf(v)) return strcpy(buf, v < 0 ? "-inf" : "inf");
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return buf;
    }
    return buf;
}

/* A growable line buffer (malloc'd; the printer frees it). */
typedef struct {
    char *s;
    size_t len, cap;
} Line;

static void line_reserve(Line *l, size_t more) {
    if (l->len + more + 1 <= l->cap) return;
    size_t cap = l->cap ? l->cap : 256;
    while (cap < l->len + more + 1) cap *= 2;
    char *s = realloc(l->s, cap);
    if (!s) DLC_ICE("out of memory");
    l->s = s;
    l->cap = cap;
}

static void line_puts(Line *l, const char *s) {
    size_t n = strlen(s);
    line_reserve(l, n);
    memcpy(l->s + l->len, s, n + 1);
    l->len += n;
}

static void line_printf(Line *l, const char *fmt, ...) DLC_PRINTF(2, 3);
static void line_printf(Line *l, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    line_reserve(l, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(l->s + l->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    l->len += (size_t)n;
}

/* Appends an attribute value as the text format spells it. */
static void line_attr_value(Line *l, const Attr *a) {
    char num[32];
    switch (a->kind) {
    case AK_INT: line_printf(l, "%" PRId64, a->i); return;
    case AK_FLOAT: line_puts(l, ir_format_double(a->f, num)); return;
    case AK_BOOL: line_puts(l, a->i ? "true" : "false"); return;
    case AK_DTYPE: line_puts(l, (unsigned)a->i < DT_COUNT ? dtype_name((DType)a->i) : "?"); return;
    case AK_INTS:
        line_puts(l, "[");
        for (int i = 0; i < a->nints; i++) line_printf(l, "%s%" PRId64, i ? "," : "", a->ints[i]);
        line_puts(l, "]");
        return;
    case AK_STR:
        line_puts(l, "\"");
        for (const unsigned char *s = (const unsigned char *)(a->s ? a->s : ""); *s; s++) {
            if (*s == '"' || *s == '\\') line_printf(l, "\\%c", *s);
            else if (*s == '\n') line_puts(l, "\\n");
            else if (*s == '\t') line_puts(l, "\\t");
            else if (*s < 0x20 || *s == 0x7F) line_printf(l, "\\x%02x", *s);
            else line_printf(l, "%c", *s);
        }
        line_puts(l, "\"");
        return;
    }
}

/* True if s reads back as an identifier ([A-Za-z_][A-Za-z0-9_.]*). */
static bool is_ident(const char *s) {
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_')) return false;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '.'))
            return false;
    return true;
}

/* The printing context: renumbering of non-leaf nodes by id. */
typedef struct {
    const Graph *g;
    int *num; /* num[id]: K of %K, or -1 */
    Line line;
} Printer;

static void ref(Printer *p, const Node *n) {
    if (!n) line_puts(&p->line, "%?");
    else if (n->name) line_printf(&p->line, "%%%s", n->name);
    else if (n->id >= 0 && n->id < p->g->next_id && p->num[n->id] >= 0) line_printf(&p->line, "%%%d", p->num[n->id]);
    else line_printf(&p->line, "%%?%d", n->id);
}

static void type(Printer *p, const TensorType *t) {
    char buf[TT_FMT_LEN];
    line_puts(&p->line, tt_format(t, buf, sizeof buf));
}

/* Writes the collected line, then the comment, if any, aligned. */
static void flush_line(Printer *p, FILE *out, const char *comment) {
    fwrite(p->line.s, 1, p->line.len, out);
    if (comment && comment[0]) {
        size_t pad = p->line.len + 2 <= COMMENT_COL ? COMMENT_COL - p->line.len : 2;
        fprintf(out, "%*s# %s", (int)pad, "", comment);
    }
    fputc('\n', out);
    p->line.len = 0;
    if (p->line.s) p->line.s[0] = '\0';
}

/* The trailing comment of a node: source line, variable, group, memory. */
static void node_comment(const Graph *g, const Node *n, Line *c) {
    if (n->loc.line > 0 && n->loc.file && n->loc.file->name) {
        const char *base = strrchr(n->loc.file->name, '/');
        line_printf(c, "%s:%d", base ? base + 1 : n->loc.file->name, n->loc.line);
    }
    if (n->var) line_printf(c, "%s(%s)", c->len ? " " : "", n->var);
    if (n->fuse_group != 0) line_printf(c, "%sgroup=%d", c->len ? " " : "", n->fuse_group);
    if (n->offset >= 0) {
        int64_t nb = g->max_batch > 0 ? g->max_batch : 1;
        int64_t bytes = tt_numel(&n->type, nb) * (int64_t)dtype_size(n->type.dtype);
        line_printf(c, "%s@%" PRId64 "+%" PRId64 " live=[%d,%d]", c->len ? " " : "", n->offset, bytes, n->live_start,
                    n->live_end);
    }
    /* launch=t5.1,e3: launch 5 of the training step, its segment 1; launch 3
       of the evaluation step, a launch of its own */
    bool first = true;
    for (int k = 0; k < IR_NENTRIES; k++) {
        if (n->launch[k] < 0) continue;
        line_printf(c, "%s%c%d", first ? (c->len ? " launch=" : "launch=") : ",", "tep"[k], n->launch[k]);
        if (n->launch_seg[k] >= 0) line_printf(c, ".%d", n->launch_seg[k]);
        first = false;
    }
}

/* `name=value, ...` for the attributes set on n except `skip`, in schema
 * order (whatever order the node holds them in). */
static void attr_list(Printer *p, const Node *n, const char *skip) {
    const OpInfo *info = op_info(n->op);
    int k = 0;
    for (int s = 0; s < info->nspecs; s++) {
        const char *name = info->specs[s].name;
        if (skip && strcmp(name, skip) == 0) continue;
        for (int i = 0; i < n->nattrs; i++) {
            if (strcmp(n->attrs[i].name, name) != 0) continue;
            line_printf(&p->line, "%s%s=", k++ ? ", " : "", name);
            line_attr_value(&p->line, &n->attrs[i]);
            break;
        }
    }
}

static void print_node(Printer *p, FILE *out, const Node *n) {
    const OpInfo *info = op_info(n->op);
    line_puts(&p->line, "  ");
    char num[32];
    if (info->kind == OK_LEAF && n->name) {
        line_printf(&p->line, "%s %%%s : ", info->name, n->name);
        type(p, &n->type);
        if (n->op == OP_PARAM || n->op == OP_STATE) {
            /* the initializer: a bare name, quoted if it is not an identifier */
            const char *init = node_attr_str(n, "init");
            line_puts(&p->line, " = ");
            if (is_ident(init)) {
                line_puts(&p->line, init);
            } else {
                Attr s = attr_str("init", init);
                line_attr_value(&p->line, &s);
            }
            line_puts(&p->line, "(");
            attr_list(p, n, "init");
            line_puts(&p->line, ")");
        } else if (n->op == OP_HPARAM) {
            line_printf(&p->line, " = %s", ir_format_double(node_attr_float(n, "value"), num));
        }
    } else {
        ref(p, n);
        line_printf(&p->line, " = %s", info->name);
        if (n->op == OP_CONST) line_printf(&p->line, " %s", ir_format_double(node_attr_float(n, "value"), num));
        for (int i = 0; i < n->nin; i++) {
            line_puts(&p->line, i ? ", " : " ");
            ref(p, n->in[i]);
        }
        if (n->nattrs && n->op != OP_CONST) {
            line_puts(&p->line, " {");
            attr_list(p, n, NULL);
            line_puts(&p->line, "}");
        }
        line_puts(&p->line, " : ");
        type(p, &n->type);
    }
    Line c = {0};
    node_comment(p->g, n, &c);
    flush_line(p, out, c.s);
    free(c.s);
}

static void print_footer(Printer *p, FILE *out) {
    const Graph *g = p->g;
    for (int i = 0; i < g->noutputs; i++) {
        line_printf(&p->line, "  output %s = ", g->outputs[i].name);
        ref(p, g->outputs[i].node);
        flush_line(p, out, NULL);
    }
    if (g->loss) {
        line_puts(&p->line, "  loss = ");
        ref(p, g->loss);
        flush_line(p, out, NULL);
    }
    for (int i = 0; i < g->nmetrics; i++) {
        line_printf(&p->line, "  metric %s = ", g->metrics[i].name);
        ref(p, g->metrics[i].node);
        flush_line(p, out, NULL);
    }
    for (int i = 0; i < g->ngrads; i++) {
        line_puts(&p->line, "  grad ");
        ref(p, g->grad_params[i]);
        line_puts(&p->line, " = ");
        ref(p, g->grads[i]);
        flush_line(p, out, NULL);
    }
    const TrainConfig *t = &g->train;
    if (t->present) {
        line_puts(&p->line, "  train");
        if (t->optimizer) {
            line_printf(&p->line, " %s(", t->optimizer);
            for (int i = 0; i < t->nopt_args; i++) {
                line_printf(&p->line, "%s%s=", i ? ", " : "", t->opt_args[i].name);
                line_attr_value(&p->line, &t->opt_args[i]);
            }
            line_puts(&p->line, ")");
        }
        if (t->batch_size >= 0) line_printf(&p->line, " batch_size=%" PRId64, t->batch_size);
        if (t->epochs >= 0) line_printf(&p->line, " epochs=%" PRId64, t->epochs);
        if (t->seed >= 0) line_printf(&p->line, " seed=%" PRId64, t->seed);
        flush_line(p, out, NULL);
    }
}

void ir_print_text(FILE *out, const Graph *g) {
    Printer p = {g, NULL, {0}};
    p.num = malloc(sizeof(int) * (size_t)(g->next_id > 0 ? g->next_id : 1));
    if (!p.num) DLC_ICE("out of memory");
    for (int i = 0; i < g->next_id; i++) p.num[i] = -1;
    int k = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (!n->name && n->id >= 0 && n->id < g->next_id) p.num[n->id] = k++;
    }
    fprintf(out, "graph %s (%s)\n", g->name ? g->name : "model", g->mode == MODE_TRAIN ? "train" : "infer");
    if (g->arena_bytes > 0) {
        fprintf(out, "  # arena: %" PRId64 " bytes, lower bound %" PRId64 " bytes", g->arena_bytes,
                g->arena_lower_bound);
        if (g->arena_lower_bound > 0) fprintf(out, " (%.2fx)", (double)g->arena_bytes / (double)g->arena_lower_bound);
        fputc('\n', out);
    }
    for (int i = 0; i < g->nnodes; i++) print_node(&p, out, g->nodes[i]);
    print_footer(&p, out);
    free(p.line.s);
    free(p.num);
}
