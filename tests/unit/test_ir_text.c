/* test_ir_text.c - the IR text format: print -> parse -> print round trips
 * on graphs built with the builder (every op, every attribute kind, leaves,
 * footer lines, odd float values), reading hand-written text, and the
 * located error messages for malformed input.
 */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "testutil.h"

#define NB DIM_N
#define TY(dt, ...) \
    tt_make(dt, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})
#define TS(dt) tt_scalar(dt)
#define NONE SRCLOC_NONE

static Arena A;
static jmp_buf jb;

static void setup(void) { arena_init(&A); }
static void teardown(void) {
    diag_set_recover(NULL);
    diag_set_stream(NULL);
    arena_free(&A);
}

static char *print_text(const Graph *g) {
    FILE *f = tmpfile();
    ir_print_text(f, g);
    long n = ftell(f);
    rewind(f);
    char *s = arena_alloc(&A, (size_t)n + 1);
    ck_assert_int_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* The text without comments and the blanks before them. */
static char *strip_comments(const char *s) {
    char *out = arena_alloc(&A, strlen(s) + 1), *o = out;
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        const char *hash = memchr(s, '#', len);
        size_t keep = hash ? (size_t)(hash - s) : len;
        while (keep && s[keep - 1] == ' ') keep--;
        if (keep) { /* drop comment-only lines */
            memcpy(o, s, keep);
            o += keep;
            *o++ = '\n';
        }
        s += len + (nl ? 1 : 0);
    }
    *o = '\0';
    return out;
}

static Graph *parse(const char *text) {
    SrcFile *f = srcfile_from_string(&A, "t.ir", text, strlen(text));
    return ir_parse_text(&A, f);
}

/* print -> parse -> print equals the first print modulo comments, and a
 * second round is byte-identical (comments included). */
static void check_round_trip(Graph *g) {
    ck_assert_msg(ir_verify(g) == NULL, "input graph invalid: %s", ir_verify(g));
    char *t1 = print_text(g);
    Graph *g2 = parse(t1);
    ck_assert_ptr_null(ir_verify(g2));
    char *t2 = print_text(g2);
    ck_assert_str_eq(strip_comments(t2), strip_comments(t1));
    char *t3 = print_text(parse(t2));
    ck_assert_str_eq(t3, t2);
}

static void add_output(Graph *g, const char *name, Node *n) {
    g->outputs = arena_grow(&A, g->outputs, (size_t)g->noutputs, (size_t)g->noutputs + 1, sizeof(NamedValue));
    g->outputs[g->noutputs++] = (NamedValue){name, n, NONE};
}

/* The seed MLP in train mode, with gradients, an update and a train line. */
static Graph *build_mlp(void) {
    SrcFile *src = srcfile_from_string(&A, "models/mnist_mlp.nn", "", 0);
    Graph *g = ir_graph_new(&A, "mnist_mlp", MODE_TRAIN);
    Node *img = ir_input(g, "image", TY(DT_F32, NB, 28, 28), (SrcLoc){src, 4, 7});
    Node *lab = ir_input(g, "label", TY(DT_I32, NB), (SrcLoc){src, 5, 7});
    Attr glorot = attr_str("init", "glorot_uniform");
    Node *w = ir_param(g, "dense_1.kernel", TY(DT_F32, 784, 16), &glorot, 1, (SrcLoc){src, 8, 10});
    Node *b = ir_param(g, "dense_1.bias", TY(DT_F32, 16), NULL, 0, (SrcLoc){src, 8, 10});
    Node *w2 = ir_param(g, "dense_2.kernel", TY(DT_F32, 16, 10), &glorot, 1, (SrcLoc){src, 9, 10});
    Node *x = ir_unary(g, OP_FLATTEN, img, (SrcLoc){src, 7, 10});
    x->var = "x";
    Node *h = ir_binary(g, OP_ADD, ir_binary(g, OP_MATMUL, x, w, NONE), b, NONE);
    h = ir_unary(g, OP_RELU, h, NONE);
    h->var = "h";
    Node *logits = ir_binary(g, OP_MATMUL, h, w2, NONE);
    Attr ax = attr_int("axis", -1);
    Node *probs = ir_node(g, OP_SOFTMAX, &logits, 1, &ax, 1, NONE);
    Attr fl = attr_bool("from_logits", true);
    Node *ll[2] = {logits, lab};
    Node *loss = ir_node(g, OP_SPARSE_CATEGORICAL_CROSSENTROPY, ll, 2, &fl, 1, NONE);
    Node *pl[2] = {probs, lab};
    Node *acc = ir_node(g, OP_ACCURACY, pl, 2, NULL, 0, NONE);
    /* backward (hand-built, enough to exercise the format) */
    Node *one = ir_const(g, DT_F32, 1, NONE);
    Node *lg[3] = {logits, lab, one};
    Node *dlogits = ir_node(g, OP_SPARSE_CATEGORICAL_CROSSENTROPY_GRAD, lg, 3, &fl, 1, NONE);
    Attr ta = attr_bool("trans_a", true), tb = attr_bool("trans_b", true);
    Node *hw[2] = {h, dlogits};
    Node *dw2 = ir_node(g, OP_MATMUL, hw, 2, &ta, 1, NONE);
    Node *dw[2] = {dlogits, w2};
    Node *dh = ir_node(g, OP_MATMUL, dw, 2, &tb, 1, NONE);
    Node *rg[2] = {dh, h};
    Node *dpre = ir_node(g, OP_RELU_GRAD, rg, 2, NULL, 0, NONE);
    int64_t bs[] = {16};
    Attr sh = attr_ints("shape", bs, 1);
    Node *db = ir_node(g, OP_SUM_TO, &dpre, 1, &sh, 1, NONE);
    Node *xd[2] = {x, dpre};
    Node *dw1 = ir_node(g, OP_MATMUL, xd, 2, &ta, 1, NONE);
    Node *lr = ir_hparam(g, "learning_rate", 0.001, NONE);
    Attr st_init[2] = {attr_str("init", "constant"), attr_float("value", 0.1)};
    Node *acc_w = ir_state(g, "dense_1.kernel.rms", TY(DT_F32, 784, 16), st_init, 2, NONE);
    Node *upd = ir_binary(g, OP_SUB, w, ir_binary(g, OP_MUL, lr, dw1, NONE), NONE);
    Node *aw[2] = {w, upd};
    ir_node(g, OP_ASSIGN, aw, 2, NULL, 0, NONE);
    Node *sq[2] = {acc_w, ir_unary(g, OP_SQUARE, dw1, NONE)};
    ir_node(g, OP_ASSIGN, sq, 2, NULL, 0, NONE);
    add_output(g, "probs", probs);
    g->loss = loss;
    g->metrics = ARENA_NEW(&A, NamedValue);
    g->metrics[0] = (NamedValue){"accuracy", acc, NONE};
    g->nmetrics = 1;
    g->grad_params = ARENA_NEW_N(&A, Node *, 3);
    g->grads = ARENA_NEW_N(&A, Node *, 3);
    g->grad_params[0] = w, g->grads[0] = dw1;
    g->grad_params[1] = b, g->grads[1] = db;
    g->grad_params[2] = w2, g->grads[2] = dw2;
    g->ngrads = 3;
    g->train.present = true;
    g->train.optimizer = "rmsprop";
    Attr *oa = ARENA_NEW_N(&A, Attr, 3);
    oa[0] = attr_float("learning_rate", 0.001);
    oa[1] = attr_float("rho", 0.9);
    oa[2] = attr_bool("centered", false);
    g->train.opt_args = oa;
    g->train.nopt_args = 3;
    g->train.batch_size = 128;
    g->train.epochs = 5;
    g->train.seed = 42;
    return g;
}

START_TEST(round_trip_mlp) {
    Graph *g = build_mlp();
    check_round_trip(g);
    /* a few lines, exactly */
    char *t = strip_comments(print_text(parse(print_text(g))));
    const char *want_lines[] = {
        "graph mnist_mlp (train)\n",
        "  param %dense_1.kernel : f32[784,16] = glorot_uniform()\n",
        "  param %dense_1.bias : f32[16] = zeros()\n",
        "  %6 = sparse_categorical_crossentropy %4, %label {from_logits=true} : f32[]\n",
        "  %10 = matmul %3, %9 {trans_a=true} : f32[16,10]\n",
        "  hparam %learning_rate : f32[] = 0.001\n",
        "  state %dense_1.kernel.rms : f32[784,16] = constant(value=0.1)\n",
        "  grad %dense_1.bias = %13\n",
        "  train rmsprop(learning_rate=0.001, rho=0.9, centered=false) batch_size=128 epochs=5 seed=42\n",
    };
    for (size_t i = 0; i < sizeof want_lines / sizeof *want_lines; i++)
        ck_assert_msg(strstr(t, want_lines[i]) != NULL, "missing line: %s\nin:\n%s", want_lines[i], t);
}
END_TEST

/* One node of every non-leaf op, with attributes of every kind. */
START_TEST(round_trip_every_op) {
    Graph *g = ir_graph_new(&A, "all_ops", MODE_INFER);
    Node *x = ir_input(g, "x", TY(DT_F32, NB, 4, 6), NONE);
    Node *v = ir_input(g, "v", TY(DT_F32, NB, 24), NONE);
    Node *lab = ir_input(g, "lab", TY(DT_I32, NB), NONE);
    Node *p = ir_param(g, "p", TY(DT_F32, 24, 3), NULL, 0, NONE);
    Node *st = ir_state(g, "st", TY(DT_F32, 3), NULL, 0, NONE);
    Node *one = ir_const(g, DT_F32, 1, NONE);
    bool seen[OP_COUNT] = {false};
    for (int op = 0; op < OP_COUNT; op++) {
        const OpInfo *info = op_info((OpCode)op);
        Node *n = NULL;
        switch (info->kind) {
        case OK_LEAF: seen[op] = true; continue;
        case OK_UNARY:
            if (op == OP_CAST) {
                Attr dt = attr_dtype("dtype", DT_F64);
                n = ir_node(g, (OpCode)op, &v, 1, &dt, 1, NONE);
            } else if (op == OP_LEAKY_RELU) {
                Attr al = attr_float("alpha", 0.2);
                n = ir_node(g, (OpCode)op, &v, 1, &al, 1, NONE);
            } else {
                n = ir_unary(g, (OpCode)op, v, NONE);
            }
            break;
        case OK_BINARY: n = ir_binary(g, (OpCode)op, v, one, NONE); break;
        case OK_EW: n = ir_binary(g, (OpCode)op, v, v, NONE); break;
        default: break;
        }
        if (n) seen[op] = true;
    }
    Node *vp[2] = {v, p};
    Node *mm = ir_node(g, OP_MATMUL, vp, 2, NULL, 0, NONE);
    seen[OP_MATMUL] = true;
    int64_t a1[] = {1}, a12[] = {-1, -2};
    Attr red[2] = {attr_ints("axes", a12, 2), attr_bool("keepdims", true)};
    ir_node(g, OP_SUM, &x, 1, red, 2, NONE);
    Attr ax1 = attr_ints("axes", a1, 1);
    ir_node(g, OP_MEAN, &v, 1, &ax1, 1, NONE);
    Node *mx = ir_node(g, OP_MAX, &v, 1, &ax1, 1, NONE);
    Node *mg[3] = {mx, v, mx};
    ir_node(g, OP_MAX_GRAD, mg, 3, &ax1, 1, NONE);
    seen[OP_SUM] = seen[OP_MEAN] = seen[OP_MAX] = seen[OP_MAX_GRAD] = true;
    int64_t rs[] = {-1, 2, 12}, perm[] = {0, 2, 1}, bt[] = {-1, 24}, stt[] = {24};
    Attr r = attr_ints("shape", rs, 3);
    ir_node(g, OP_RESHAPE, &v, 1, &r, 1, NONE);
    ir_unary(g, OP_FLATTEN, x, NONE);
    Attr pm = attr_ints("perm", perm, 3);
    ir_node(g, OP_TRANSPOSE, &x, 1, &pm, 1, NONE);
    Node *cc[3] = {v, v, v};
    Attr cax = attr_int("axis", 1);
    ir_node(g, OP_CONCAT, cc, 3, &cax, 1, NONE);
    Attr sl[3] = {attr_int("axis", -1), attr_int("start", 3), attr_int("size", 5)};
    ir_node(g, OP_SLICE, &v, 1, sl, 3, NONE);
    Attr b = attr_ints("shape", bt, 2);
    ir_node(g, OP_BROADCAST_TO, &one, 1, &b, 1, NONE);
    Attr s = attr_ints("shape", stt, 1);
    ir_node(g, OP_SUM_TO, &v, 1, &s, 1, NONE);
    seen[OP_RESHAPE] = seen[OP_FLATTEN] = seen[OP_TRANSPOSE] = seen[OP_CONCAT] = seen[OP_SLICE] = true;
    seen[OP_BROADCAST_TO] = seen[OP_SUM_TO] = true;
    Node *sm = ir_unary(g, OP_SOFTMAX, v, NONE);
    Attr a0 = attr_int("axis", 1);
    ir_node(g, OP_LOG_SOFTMAX, &v, 1, &a0, 1, NONE);
    Node *sg[2] = {v, sm};
    ir_node(g, OP_SOFTMAX_GRAD, sg, 2, NULL, 0, NONE);
    ir_node(g, OP_LOG_SOFTMAX_GRAD, sg, 2, &a0, 1, NONE);
    Attr rate = attr_float("rate", 0.25);
    ir_node(g, OP_DROPOUT_MASK, &v, 1, &rate, 1, NONE);
    seen[OP_SOFTMAX] = seen[OP_LOG_SOFTMAX] = seen[OP_SOFTMAX_GRAD] = seen[OP_LOG_SOFTMAX_GRAD] = true;
    seen[OP_DROPOUT_MASK] = true;
    Node *lx[2] = {v, lab}, *dx[2] = {v, v}, *gx[3] = {v, lab, one}, *gd[3] = {v, v, one};
    ir_node(g, OP_SPARSE_CATEGORICAL_CROSSENTROPY, lx, 2, NULL, 0, NONE);
    ir_node(g, OP_CATEGORICAL_CROSSENTROPY, dx, 2, NULL, 0, NONE);
    ir_node(g, OP_BINARY_CROSSENTROPY, dx, 2, NULL, 0, NONE);
    ir_node(g, OP_MEAN_SQUARED_ERROR, dx, 2, NULL, 0, NONE);
    ir_node(g, OP_SPARSE_CATEGORICAL_CROSSENTROPY_GRAD, gx, 3, NULL, 0, NONE);
    Attr fl = attr_bool("from_logits", false);
    ir_node(g, OP_CATEGORICAL_CROSSENTROPY_GRAD, gd, 3, &fl, 1, NONE);
    ir_node(g, OP_BINARY_CROSSENTROPY_GRAD, gd, 3, NULL, 0, NONE);
    ir_node(g, OP_MEAN_SQUARED_ERROR_GRAD, gd, 3, NULL, 0, NONE);
    ir_node(g, OP_ACCURACY, lx, 2, NULL, 0, NONE);
    int64_t three[] = {3};
    Attr s3 = attr_ints("shape", three, 1);
    Node *as[2] = {st, ir_node(g, OP_SUM_TO, &mm, 1, &s3, 1, NONE)};
    ir_node(g, OP_ASSIGN, as, 2, NULL, 0, NONE);
    for (int op = OP_SPARSE_CATEGORICAL_CROSSENTROPY; op < OP_COUNT; op++) seen[op] = true;
    for (int op = 0; op < OP_COUNT; op++) ck_assert_msg(seen[op], "op %s not covered", op_info((OpCode)op)->name);
    add_output(g, "y", sm);
    add_output(g, "z", v);
    check_round_trip(g);
}
END_TEST

START_TEST(round_trip_floats) {
    Graph *g = ir_graph_new(&A, "floats", MODE_INFER);
    double vals[] = {0.1, 1.0 / 3, -2.5e-300, 1e300, 123456789.125, -0.0, 0, 1e-7, 5e-324, INFINITY, -INFINITY,
                     3.0e+38};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) ir_const(g, DT_F64, vals[i], NONE);
    Node *x = ir_input(g, "x", TY(DT_F32, 3), NONE);
    Attr al = attr_float("alpha", 0.30000000000000004);
    ir_node(g, OP_ELU, &x, 1, &al, 1, NONE);
    ir_hparam(g, "h", 0.7, NONE);
    check_round_trip(g);
    Graph *g2 = parse(print_text(g));
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        double v = node_attr_float(g2->nodes[i], "value");
        ck_assert_msg(memcmp(&v, &vals[i], sizeof v) == 0, "value %zu: %.17g != %.17g", i, v, vals[i]);
    }
    char *t = print_text(g);
    ck_assert_ptr_nonnull(strstr(t, "%0 = const 0.1 : f64[]\n"));
    ck_assert_ptr_nonnull(strstr(t, "%3 = const 1e+300 : f64[]\n"));
    ck_assert_ptr_nonnull(strstr(t, "%9 = const inf : f64[]\n"));
    ck_assert_ptr_nonnull(strstr(t, "{alpha=0.30000000000000004}"));
}
END_TEST

START_TEST(round_trip_strings_and_names) {
    Graph *g = ir_graph_new(&A, "s.1", MODE_INFER);
    Attr init = attr_str("init", "we\"ird\\init\t\x01");
    ir_param(g, "layer_2.conv.kernel", TY(DT_F32, 2), &init, 1, NONE);
    ir_input(g, "_x9", TY(DT_U8, NB, 2), NONE);
    check_round_trip(g);
    char *t = print_text(g);
    ck_assert_ptr_nonnull(strstr(t, "= \"we\\\"ird\\\\init\\t\\x01\"()"));
    Graph *g2 = parse(t);
    ck_assert_str_eq(node_attr_str(g2->nodes[0], "init"), "we\"ird\\init\t\x01");
}
END_TEST

START_TEST(parse_hand_written) {
    const char *text = "# a hand-written test graph\n"
                       "\n"
                       "graph tiny (infer)   # comment after the header\n"
                       "  input %x : f32[N,3]\n"
                       "  param %w : f32[3,2] = he_normal(stddev=0.5)\n"
                       "  %10 = matmul %x, %w : f32[N,2]      # any distinct numbers\n"
                       "  %7 = relu %10 : f32[N,2]\n"
                       "\t%3 = sum %7 {axes=[1], keepdims=1} : f32[N,1]\n"
                       "  output y = %3\n"
                       "  output w = %w\n";
    Graph *g = parse(text);
    ck_assert_str_eq(g->name, "tiny");
    ck_assert_int_eq(g->mode, MODE_INFER);
    ck_assert_int_eq(g->nnodes, 5);
    ck_assert_int_eq(g->noutputs, 2);
    ck_assert_ptr_eq(g->outputs[1].node, ir_find_leaf(g, "w"));
    ck_assert_double_eq(node_attr_float(ir_find_leaf(g, "w"), "stddev"), 0.5);
    ck_assert_int_eq(g->nodes[2]->loc.line, 6);
    ck_assert_str_eq(strip_comments(print_text(g)), "graph tiny (infer)\n"
                                                    "  input %x : f32[N,3]\n"
                                                    "  param %w : f32[3,2] = he_normal(stddev=0.5)\n"
                                                    "  %0 = matmul %x, %w : f32[N,2]\n"
                                                    "  %1 = relu %0 : f32[N,2]\n"
                                                    "  %2 = sum %1 {axes=[1], keepdims=true} : f32[N,1]\n"
                                                    "  output y = %2\n"
                                                    "  output w = %w\n");
    ck_assert_ptr_nonnull(strstr(print_text(g), "  %0 = matmul %x, %w : f32[N,2]                              # t.ir:6\n"));
}
END_TEST

/* Parses text expecting a user error; returns what was printed. */
static char captured[4096];
static const char *parse_error(const char *text) {
    FILE *f = tmpfile();
    diag_set_stream(f);
    diag_set_recover(&jb);
    if (setjmp(jb) == 0) {
        parse(text);
        diag_set_recover(NULL);
        diag_set_stream(NULL);
        fclose(f);
        ck_abort_msg("no error for:\n%s", text);
    }
    diag_set_recover(NULL);
    diag_set_stream(NULL);
    rewind(f);
    size_t n = fread(captured, 1, sizeof captured - 1, f);
    captured[n] = '\0';
    fclose(f);
    return captured;
}

/* Only the first line (file:line:col: error: message). */
static const char *first_line(const char *s) {
    static char buf[1024];
    size_t n = strcspn(s, "\n");
    if (n >= sizeof buf) n = sizeof buf - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

#define HDR "graph g (infer)\n  input %x : f32[N,3]\n"

START_TEST(parse_errors) {
    ck_assert_str_eq(parse_error(HDR "  %0 = frobnicate %x : f32[N,3]\n"),
                     "t.ir:3:8: error: unknown op 'frobnicate'\n"
                     "  %0 = frobnicate %x : f32[N,3]\n"
                     "       ^\n");
    ck_assert_str_eq(first_line(parse_error(HDR "  %0 = relu %y : f32[N,3]\n")), "t.ir:3:13: error: undefined value %y");
    ck_assert_str_eq(first_line(parse_error(HDR "  %0 = relu %1 : f32[N,3]\n")), "t.ir:3:13: error: undefined value %1");
    ck_assert_str_eq(first_line(parse_error(HDR "  %0 = relu %x : f16[N,3]\n")),
                     "t.ir:3:18: error: unknown dtype 'f16' (expected f32, f64, i32 or u8)");
    ck_assert_str_eq(first_line(parse_error(HDR "  %0 = relu %x : f32[3,N]\n")),
                     "t.ir:3:24: error: the batch dimension N may only be the first dimension");
    ck_assert_str_eq(first_line(parse_error(HDR "  %0 = relu %x : f32[N,3\n")),
                     "t.ir:3:25: error: expected ',' or ']' in the type, found the end of the line");
    ck_assert_str_eq(first_line(parse_error(HDR "  param %w : f32[4]\n  %0 = add %x, %w : f32[N,3]\n")),
                     "t.ir:4:8: error: cannot broadcast f32[N,3] and f32[4]");
    ck_assert_str_eq(first_line(parse_error(HDR "  %0 = relu %x : f32[N,4]\n")),
                     "t.ir:3:18: error: relu gives f32[N,3] here, but the type written is f32[N,4]");
    ck_assert_str_eq(first_line(parse_error(HDR "  %0 = relu %x {alpha=1} : f32[N,3]\n")),
                     "t.ir:3:17: error: relu has no attribute 'alpha'");
    ck_assert_str_eq(first_line(parse_error(HDR "  %0 = softmax %x {axis=true} : f32[N,3]\n")),
                     "t.ir:3:25: error: expected an integer, found 'true'");
    ck_assert_str_eq(first_line(parse_error(HDR "  %0 = reshape %x : f32[N,3]\n")),
                     "t.ir:3:8: error: reshape requires the attribute 'shape'");
    ck_assert_str_eq(first_line(parse_error(HDR "  %0 = add %x : f32[N,3]\n")),
                     "t.ir:3:8: error: add expects 2 operands, got 1");
    ck_assert_str_eq(first_line(parse_error(HDR "  input %x : f32[3]\n")), "t.ir:3:9: error: the name %x is defined twice");
    ck_assert_str_eq(first_line(parse_error(HDR "  %0 = relu %x : f32[N,3]\n  %0 = relu %x : f32[N,3]\n")),
                     "t.ir:4:3: error: %0 is defined twice");
    ck_assert_str_eq(first_line(parse_error(HDR "  %y = relu %x : f32[N,3]\n")),
                     "t.ir:3:3: error: only input, param, state and hparam values have names; number other values "
                     "%0, %1, ...");
    ck_assert_str_eq(first_line(parse_error(HDR "  %0 = relu %x : f32[N,3] extra\n")),
                     "t.ir:3:27: error: expected the end of the line, found 'e'");
    ck_assert_str_eq(first_line(parse_error("graph g (eval)\n")), "t.ir:1:10: error: expected train or infer, found 'eval'");
    ck_assert_str_eq(first_line(parse_error("grap g (infer)\n")), "t.ir:1:1: error: expected 'graph NAME (train|infer)'");
    ck_assert_str_eq(first_line(parse_error("# only a comment\n")),
                     "t.ir:1:1: error: expected 'graph NAME (train|infer)', found an empty file");
    ck_assert_str_eq(first_line(parse_error(HDR "  frob %x\n")),
                     "t.ir:3:3: error: unknown definition 'frob' (expected %K = op ..., input, param, state, hparam, "
                     "output, loss, metric, grad or train)");
    ck_assert_str_eq(first_line(parse_error(HDR "  loss = %x\n")), "t.ir:3:10: error: the loss must be a float scalar, not f32[N,3]");
    ck_assert_str_eq(first_line(parse_error(HDR "  grad %x = %x\n")),
                     "t.ir:3:8: error: a gradient is taken with respect to a param");
    ck_assert_str_eq(first_line(parse_error(HDR "  param %w : f32[N,3]\n")),
                     "t.ir:3:3: error: param %w: the batch dimension N is only allowed on inputs, got f32[N,3]");
    ck_assert_str_eq(first_line(parse_error(HDR "  param %w : f32[3] = zeros(colour=1)\n")),
                     "t.ir:3:29: error: param has no attribute 'colour'");
    ck_assert_str_eq(first_line(parse_error(HDR "  param %w : f32[3] = zeros(init=\"x\")\n")),
                     "t.ir:3:29: error: param has no attribute 'init'");
    ck_assert_str_eq(first_line(parse_error(HDR "  %0 = const 1e999999 : f32[]\n")),
                     "t.ir:3:14: error: the number 1e999999 is out of range");
    ck_assert_str_eq(first_line(parse_error(HDR "  %0 = const 1.2.3 : f32[]\n")),
                     "t.ir:3:14: error: malformed number '1.2.3'");
    ck_assert_str_eq(first_line(parse_error(HDR "  %0 = const x : f32[]\n")), "t.ir:3:14: error: expected a number, found 'x'");
    ck_assert_str_eq(first_line(parse_error(HDR "  train sgd(lr=1) batch_size=-4\n")),
                     "t.ir:3:19: error: 'batch_size' must not be negative");
    ck_assert_str_eq(first_line(parse_error(HDR "  train sgd() epoch=4\n")),
                     "t.ir:3:15: error: unknown train setting 'epoch' (expected batch_size, epochs or seed)");
    ck_assert_str_eq(first_line(parse_error(HDR "  %0 = relu %x : f32[N,99999999999999]\n")),
                     "t.ir:3:24: error: the dimension 99999999999999 is too large (the limit is 2^40)");
    ck_assert_str_eq(first_line(parse_error(HDR "  input %y : f32[1,2,3,4,5,6,7,8,9]\n")),
                     "t.ir:3:34: error: too many dimensions (at most 8)");
    ck_assert_str_eq(first_line(parse_error(HDR "  %0 = input : f32[]\n")),
                     "t.ir:3:8: error: input values are written 'input %name : TYPE', not numbered");
    ck_assert_str_eq(first_line(parse_error(HDR "  param %w : f32[3] = zeros(stddev=\"a\")\n")),
                     "t.ir:3:36: error: expected a number, found '\"'");
}
END_TEST

START_TEST(parse_binary_garbage) {
    const char text[] = "graph g (infer)\n  \x80\x01\xff junk\n";
    ck_assert_str_eq(first_line(parse_error(text)), "t.ir:2:3: error: expected a definition, found an unexpected character");
    ck_assert_str_eq(first_line(parse_error("graph g (infer)\n  %0 = const \"abc : f32[]\n")),
                     "t.ir:2:14: error: expected a number, found '\"'");
    ck_assert_str_eq(first_line(parse_error("graph g (infer)\n  param %w : f32[2] = zeros(init=\"unterminated\n")),
                     "t.ir:2:29: error: param has no attribute 'init'");
}
END_TEST

static Suite *text_suite(void) {
    Suite *s = suite_create("ir_text");
    TCase *tc = tcase_create("text");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, round_trip_mlp);
    tcase_add_test(tc, round_trip_every_op);
    tcase_add_test(tc, round_trip_floats);
    tcase_add_test(tc, round_trip_strings_and_names);
    tcase_add_test(tc, parse_hand_written);
    tcase_add_test(tc, parse_errors);
    tcase_add_test(tc, parse_binary_garbage);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return tu_run_suite(text_suite());
}
