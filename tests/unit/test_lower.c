/* test_lower.c - lowering .nn programs to IR graphs (frontend/lower.c,
 * layers.c, train.c).
 *
 * The central check: the layer form (dense) and the tensor form (param, @,
 * +, relu) of a network lower to the same graph up to parameter names.
 * Graphs are compared structurally: a walk from every output, the loss and
 * the metrics matches node to node (op, type, attributes, operands in
 * order; leaves by role, type and initializer), the match must be one to
 * one, and both graphs must have the same number of nodes, so nothing
 * unreachable differs either.  Also: locations and variable names on nodes,
 * infer versus train mode, the train config, layer naming, model_load.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <check.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "ir/ir.h"
#include "testutil.h"

static Arena arena;

static void setup(void) { arena_init(&arena); }
static void teardown(void) { arena_free(&arena); }

static const char *const HEAD = "model m\n"
                                "input image: f32[N, 28, 28]\n"
                                "input label: i32[N]\n"
                                "x = flatten(image)\n";
static const char *const TAIL = "output probs = softmax(logits)\n"
                                "loss = sparse_categorical_crossentropy(logits, label, from_logits=true)\n"
                                "metric accuracy(probs, label)\n"
                                "train {\n  optimizer = rmsprop(learning_rate=0.001, rho=0.9)\n  batch_size = 128\n}\n";

static Graph *compile(const char *src, GraphMode mode) {
    return nn_compile(&arena, srcfile_from_string(&arena, "t.nn", src, strlen(src)), mode);
}

/* HEAD + body + TAIL. */
static Graph *compile_model(const char *body, GraphMode mode) {
    char *src = arena_printf(&arena, "%s%s%s", HEAD, body, TAIL);
    return compile(src, mode);
}

/* compile's arguments for compile_cb. */
typedef struct CompileArgs {
    const char *src;
    GraphMode mode;
} CompileArgs;

/* tu_capture_error callback: compiles the CompileArgs *ctx. */
static void compile_cb(void *ctx) {
    const CompileArgs *c = ctx;
    compile(c->src, c->mode);
}

/* Compiles expecting a user error; returns "line:col: message". */
static char *compile_error(const char *src, GraphMode mode) {
    static char msg[512];
    CompileArgs c = {src, mode};
    char *buf = tu_capture_error(compile_cb, &c);
    ck_assert_msg(buf != NULL, "compiling succeeded, an error was expected: %s", src);
    char *nl = strchr(buf, '\n');
    if (nl) *nl = '\0';
    int line = 0, col = 0, n = 0;
    if (sscanf(buf, "t.nn:%d:%d: error: %n", &line, &col, &n) == 2)
        snprintf(msg, sizeof msg, "%d:%d: %s", line, col, buf + n);
    else
        snprintf(msg, sizeof msg, "%s", buf);
    free(buf);
    return msg;
}

/* ---- structural comparison ---------------------------------------------- */

typedef struct Match {
    const Graph *a, *b;
    int *a2b, *b2a; /* node id -> matched id in the other graph, or -1 */
    char why[256];  /* first difference found */
} Match;

static bool attrs_equal(const Node *x, const Node *y) {
    if (x->nattrs != y->nattrs) return false;
    for (int i = 0; i < x->nattrs; i++) {
        const Attr *p = &x->attrs[i], *q = &y->attrs[i];
        if (strcmp(p->name, q->name) != 0 || p->kind != q->kind) return false;
        switch (p->kind) {
        case AK_INT: case AK_BOOL: case AK_DTYPE:
            if (p->i != q->i) return false;
            break;
        case AK_FLOAT:
            if (p->f != q->f) return false;
            break;
        case AK_STR:
            if (strcmp(p->s, q->s) != 0) return false;
            break;
        case AK_INTS:
            if (p->nints != q->nints) return false;
            for (int k = 0; k < p->nints; k++)
                if (p->ints[k] != q->ints[k]) return false;
            break;
        }
    }
    return true;
}

/* Matches node x of graph a with node y of graph b, recursively. */
static bool match(Match *m, const Node *x, const Node *y) {
    if (m->a2b[x->id] >= 0 || m->b2a[y->id] >= 0) {
        if (m->a2b[x->id] == y->id && m->b2a[y->id] == x->id) return true;
        snprintf(m->why, sizeof m->why, "node %d / %d: shared differently", x->id, y->id);
        return false;
    }
    char t1[TT_FMT_LEN], t2[TT_FMT_LEN];
    if (x->op != y->op || !tt_equal(&x->type, &y->type) || x->nin != y->nin || !attrs_equal(x, y)) {
        snprintf(m->why, sizeof m->why, "%s %s vs %s %s", op_info(x->op)->name, tt_format(&x->type, t1, sizeof t1),
                 op_info(y->op)->name, tt_format(&y->type, t2, sizeof t2));
        return false;
    }
    /* Inputs are the interface: their names must agree too. */
    if (x->op == OP_INPUT && strcmp(x->name, y->name) != 0) {
        snprintf(m->why, sizeof m->why, "input %s vs %s", x->name, y->name);
        return false;
    }
    m->a2b[x->id] = y->id;
    m->b2a[y->id] = x->id;
    for (int i = 0; i < x->nin; i++)
        if (!match(m, x->in[i], y->in[i])) return false;
    return true;
}

/* True if a and b are the same graph up to parameter names; else sets why. */
static bool same_graph(const Graph *a, const Graph *b, char *why, size_t whylen) {
    Match m = {a, b, NULL, NULL, ""};
    m.a2b = ARENA_NEW_N(&arena, int, a->next_id + 1);
    m.b2a = ARENA_NEW_N(&arena, int, b->next_id + 1);
    for (int i = 0; i <= a->next_id; i++) m.a2b[i] = -1;
    for (int i = 0; i <= b->next_id; i++) m.b2a[i] = -1;
    bool ok = a->nnodes == b->nnodes && a->noutputs == b->noutputs && a->nmetrics == b->nmetrics &&
              (a->loss == NULL) == (b->loss == NULL);
    if (!ok) snprintf(m.why, sizeof m.why, "counts differ: %d/%d nodes", a->nnodes, b->nnodes);
    for (int i = 0; ok && i < a->noutputs; i++)
        ok = strcmp(a->outputs[i].name, b->outputs[i].name) == 0 && match(&m, a->outputs[i].node, b->outputs[i].node);
    for (int i = 0; ok && i < a->nmetrics; i++)
        ok = strcmp(a->metrics[i].name, b->metrics[i].name) == 0 && match(&m, a->metrics[i].node, b->metrics[i].node);
    if (ok && a->loss) ok = match(&m, a->loss, b->loss);
    /* Every node reachable: with equal counts, the match covers both. */
    for (int i = 0; ok && i < a->nnodes; i++)
        if (m.a2b[a->nodes[i]->id] < 0) {
            snprintf(m.why, sizeof m.why, "node %%%d (%s) unreachable", a->nodes[i]->id, op_info(a->nodes[i]->op)->name);
            ok = false;
        }
    snprintf(why, whylen, "%s", m.why);
    return ok;
}

static const char *const LAYER_FORM = "h      = dense(x, 512, activation=relu)\n"
                                      "logits = dense(h, 10)\n";
static const char *const TENSOR_FORM = "param w1: f32[784, 512] = glorot_uniform()\n"
                                       "param b1: f32[512]      = zeros()\n"
                                       "h = relu(x @ w1 + b1)\n"
                                       "param w2: f32[512, 10] = glorot_uniform()\n"
                                       "param b2: f32[10]      = zeros()\n"
                                       "logits = h @ w2 + b2\n";

START_TEST(test_forms_equal) {
    char why[256];
    for (int mode = 0; mode < 2; mode++) {
        GraphMode gm = mode ? MODE_TRAIN : MODE_INFER;
        Graph *a = compile_model(LAYER_FORM, gm);
        Graph *b = compile_model(TENSOR_FORM, gm);
        ck_assert_msg(same_graph(a, b, why, sizeof why), "mode %d: %s", mode, why);
        ck_assert_int_eq(a->nnodes, mode ? 15 : 12);
        /* Even the order is the same: dense creates both parameters first. */
        for (int i = 0; i < a->nnodes; i++) ck_assert_int_eq(a->nodes[i]->op, b->nodes[i]->op);
        ck_assert_ptr_nonnull(ir_find_leaf(a, "dense_1.kernel"));
        ck_assert_ptr_nonnull(ir_find_leaf(b, "w1"));
    }
    /* Declaring the parameters elsewhere changes the order, not the graph. */
    Graph *a = compile_model(LAYER_FORM, MODE_TRAIN);
    Graph *c = compile("model m\n"
                       "param b2: f32[10] = zeros()\n"
                       "param w2: f32[512, 10] = glorot_uniform()\n"
                       "input image: f32[N, 28, 28]\n"
                       "param w1: f32[784, 512] = glorot_uniform()\n"
                       "input label: i32[N]\n"
                       "param b1: f32[512] = zeros()\n"
                       "h = relu(flatten(image) @ w1 + b1)\n"
                       "logits = h @ w2 + b2\n"
                       "output probs = softmax(logits)\n"
                       "loss = sparse_categorical_crossentropy(logits, label, from_logits=true)\n"
                       "metric accuracy(probs, label)\n"
                       "train {\n  optimizer = rmsprop(learning_rate=0.001, rho=0.9)\n  batch_size = 128\n}\n",
                       MODE_TRAIN);
    ck_assert_msg(same_graph(a, c, why, sizeof why), "%s", why);
}
END_TEST

/* The comparison is not vacuous: each of these differs from the layer form. */
START_TEST(test_forms_differ) {
    static const char *const variants[] = {
        "h = dense(x, 512, activation=sigmoid)\nlogits = dense(h, 10)\n",         /* another op */
        "h = dense(x, 256, activation=relu)\nlogits = dense(h, 10)\n",            /* another shape */
        "h = dense(x, 512, activation=relu, use_bias=false)\nlogits = dense(h, 10)\n", /* fewer nodes */
        "h = dense(x, 512, activation=relu, kernel_initializer=zeros)\nlogits = dense(h, 10)\n",
        "param w1: f32[784, 512] = glorot_uniform()\nparam b1: f32[512] = zeros()\n"
        "h = relu(b1 + x @ w1)\nlogits = dense(h, 10)\n",                          /* operand order */
        "h = dense(x, 512, activation=relu)\nlogits = dense(h, 10) * 1\n",        /* an extra node */
    };
    char why[256];
    for (int mode = 0; mode < 2; mode++) {
        Graph *a = compile_model(LAYER_FORM, mode ? MODE_TRAIN : MODE_INFER);
        for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
            Graph *b = compile_model(variants[i], mode ? MODE_TRAIN : MODE_INFER);
            ck_assert_msg(!same_graph(a, b, why, sizeof why), "variant %zu compared equal", i);
        }
    }
}
END_TEST

/* Nodes carry the location of their operator or call and the variable. */
START_TEST(test_locations_and_vars) {
    Graph *g = compile("model m\n"
                       "input x: f32[N, 4]\n"
                       "param w: f32[4, 4] = zeros()\n"
                       "y = x @ w + x\n"
                       "z = dense(y, 2)\n"
                       "a = z\n"
                       "output a\n",
                       MODE_INFER);
    const Node *mm = NULL, *add = NULL, *dense_add = NULL, *kernel = ir_find_leaf(g, "dense_1.kernel");
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->op == OP_MATMUL && !mm) mm = n;
        else if (n->op == OP_ADD && !add) add = n;
        else if (n->op == OP_ADD) dense_add = n;
    }
    ck_assert_ptr_nonnull(mm);
    ck_assert_int_eq(mm->loc.line, 4);
    ck_assert_int_eq(mm->loc.col, 7); /* '@' */
    ck_assert_ptr_null(mm->var);
    ck_assert_int_eq(add->loc.col, 11); /* '+' */
    ck_assert_str_eq(add->var, "y");
    ck_assert_int_eq(dense_add->loc.line, 5);
    ck_assert_int_eq(dense_add->loc.col, 5); /* 'dense' */
    ck_assert_str_eq(dense_add->var, "z"); /* a = z does not rename it */
    ck_assert_ptr_nonnull(kernel);
    ck_assert_int_eq(kernel->loc.col, 5);
    ck_assert_str_eq(node_attr_str(kernel, "init"), "glorot_uniform");
    ck_assert_int_eq(g->noutputs, 1);
    ck_assert_str_eq(g->outputs[0].name, "a");
    ck_assert_ptr_eq(g->outputs[0].node, dense_add);
    ck_assert_ptr_eq(g->file->name, g->nodes[0]->loc.file->name);
}
END_TEST

START_TEST(test_modes) {
    Graph *t = compile_model(LAYER_FORM, MODE_TRAIN);
    Graph *i = compile_model(LAYER_FORM, MODE_INFER);
    ck_assert_int_eq(t->mode, MODE_TRAIN);
    ck_assert_ptr_nonnull(t->loss);
    ck_assert_int_eq(t->loss->op, OP_SPARSE_CATEGORICAL_CROSSENTROPY);
    ck_assert_int_eq(t->loss_loc.line, 8);
    ck_assert_int_eq(t->nmetrics, 1);
    ck_assert_str_eq(t->metrics[0].name, "accuracy");
    ck_assert_int_eq(t->metrics[0].node->op, OP_ACCURACY);
    ck_assert_ptr_nonnull(ir_find_leaf(t, "label"));
    /* infer: no loss, metrics, train config, nor the label input they used */
    ck_assert_int_eq(i->mode, MODE_INFER);
    ck_assert_ptr_null(i->loss);
    ck_assert_int_eq(i->nmetrics, 0);
    ck_assert(!i->train.present);
    ck_assert_ptr_null(ir_find_leaf(i, "label"));
    ck_assert_int_eq(i->noutputs, 1);
    for (int k = 0; k < i->nnodes; k++) {
        ck_assert_int_ne(i->nodes[k]->op, OP_ACCURACY);
        ck_assert_int_ne(i->nodes[k]->op, OP_SPARSE_CATEGORICAL_CROSSENTROPY);
    }
    ck_assert_ptr_null(ir_verify(i));
    ck_assert_ptr_null(ir_verify(t));
    /* both: the batch the memory plan is made for */
    ck_assert_int_eq(t->max_batch, 128);
    ck_assert_int_eq(i->max_batch, 128);
}
END_TEST

START_TEST(test_train_config) {
    Graph *g = compile_model(LAYER_FORM, MODE_TRAIN);
    const TrainConfig *c = &g->train;
    ck_assert(c->present);
    ck_assert_int_eq(c->loc.line, 10);
    ck_assert_str_eq(c->optimizer, "rmsprop");
    ck_assert_int_eq(c->optimizer_loc.line, 11);
    ck_assert_int_eq(c->optimizer_loc.col, 15);
    ck_assert_int_eq(c->nopt_args, 2);
    ck_assert_str_eq(c->opt_args[0].name, "learning_rate");
    ck_assert_double_eq(c->opt_args[0].f, 0.001);
    ck_assert_str_eq(c->opt_args[1].name, "rho");
    ck_assert_double_eq(c->opt_args[1].f, 0.9);
    ck_assert_int_eq(c->batch_size, 128);
    ck_assert_int_eq(c->epochs, 1); /* defaults */
    ck_assert_int_eq(c->seed, 0);

    g = compile("model m\ninput x: f32[N, 2]\noutput x\nloss = mean(x)\n"
                "train {\n  seed = 42\n  optimizer = adam(amsgrad=true, beta_1=0.8)\n  epochs = 7\n}\n",
                MODE_TRAIN);
    c = &g->train;
    ck_assert_str_eq(c->optimizer, "adam");
    ck_assert_int_eq(c->nopt_args, 2);
    ck_assert_int_eq(c->opt_args[0].kind, AK_BOOL);
    ck_assert_int_eq(c->opt_args[0].i, 1);
    ck_assert_double_eq(c->opt_args[0].f, 1.0);
    ck_assert_double_eq(c->opt_args[1].f, 0.8);
    ck_assert_int_eq(c->batch_size, 32);
    ck_assert_int_eq(c->epochs, 7);
    ck_assert_int_eq(c->seed, 42);
    ck_assert_int_eq(g->max_batch, 32);

    /* No train block: defaults, not present; a loss alone is fine. */
    g = compile("model m\ninput x: f32[N, 2]\nloss = mean(x)\n", MODE_TRAIN);
    ck_assert(!g->train.present);
    ck_assert_ptr_null(g->train.optimizer);
    ck_assert_int_eq(g->train.batch_size, 32);
    ck_assert_int_eq(g->max_batch, 32);
    ck_assert_ptr_nonnull(g->loss);
}
END_TEST

START_TEST(test_layer_names) {
    Graph *g = compile("model m\ninput x: f32[N, 3]\n"
                       "a = dense(x, 4)\n"
                       "b = dense(a, 4, name=\"enc.proj\")\n"
                       "c = dense(b, 4, use_bias=false)\n"
                       "d = dropout(c, 0.1)\n"
                       "output e = dense(d, 1, activation=sigmoid) + sum(dense_2.kernel)\n",
                       MODE_TRAIN);
    static const char *const want[] = {"dense_1.kernel", "dense_1.bias", "enc.proj.kernel", "enc.proj.bias",
                                       "dense_2.kernel", "dense_3.kernel", "dense_3.bias"};
    int k = 0;
    for (int i = 0; i < g->nnodes; i++) {
        if (g->nodes[i]->op != OP_PARAM) continue;
        ck_assert_int_lt(k, 7);
        ck_assert_str_eq(g->nodes[i]->name, want[k++]);
    }
    ck_assert_int_eq(k, 7);
    const Node *enc = ir_find_leaf(g, "enc.proj.kernel");
    ck_assert_int_eq(enc->type.dims[0], 4);
    ck_assert_int_eq(enc->type.dims[1], 4);
    /* dropout in train mode: x * dropout_mask(x){rate} */
    int masks = 0;
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i]->op == OP_DROPOUT_MASK) {
            masks++;
            ck_assert_double_eq_tol(node_attr_float(g->nodes[i], "rate"), 0.1, 1e-12);
            ck_assert_int_eq(g->nodes[i + 1]->op, OP_MUL);
            ck_assert_ptr_eq(g->nodes[i + 1]->in[1], g->nodes[i]);
        }
    ck_assert_int_eq(masks, 1);
}
END_TEST

/* A handful of semantic errors through the API (the lit tests in
 * tests/lit/errors cover every message with its exact location). */
START_TEST(test_errors) {
    ck_assert_str_eq(compile_error("model m\ninput x: f32[N, 4]\nh = relu(x, x)\noutput h\n", MODE_INFER),
                     "3:5: 'relu' takes 1 operand, got 2");
    ck_assert_str_eq(compile_error("model m\ninput x: f32[N, 4]\noutput x\ntrain { optimizer = sgd }\n", MODE_TRAIN),
                     "4:1: a train block needs a loss to minimize (add 'loss = ...')");
    /* Infer mode checks the loss and train block just as train mode does. */
    ck_assert_str_eq(compile_error("model m\ninput x: f32[N, 4]\noutput x\nloss = x\n", MODE_INFER),
                     "4:8: the loss must be a scalar, got f32[N,4]");
    ck_assert_str_eq(
        compile_error("model m\ninput x: f32[N, 4]\noutput x\nloss = mean(x)\ntrain { optimizer = sgd(lr=1) }\n",
                      MODE_INFER),
        "5:25: 'sgd' has no hyperparameter 'lr' (valid: learning_rate, momentum or nesterov)");
    /* After an error the arena is still usable for the next compile. */
    ck_assert_ptr_nonnull(compile("model m\ninput x: f32[N, 4]\noutput x\n", MODE_INFER));
}
END_TEST

/* tu_capture_error callback: loads a file with an unknown extension. */
static void load_bak_cb(void *ctx) {
    (void)ctx;
    model_load(&arena, "model.onnx.bak", MODE_INFER);
}

START_TEST(test_model_load) {
    char *buf = tu_capture_error(load_bak_cb, NULL);
    ck_assert(buf != NULL);
    ck_assert_str_eq(buf, "model.onnx.bak: error: unsupported model file extension (expected .nn, .ir or .onnx)\n");
    free(buf);
    Graph *g = model_load(&arena, DLC_SOURCE_DIR "/models/mnist_mlp.nn", MODE_TRAIN);
    ck_assert_str_eq(g->name, "mnist_mlp");
    ck_assert_str_eq(g->train.optimizer, "rmsprop");
    ck_assert_int_eq(g->train.epochs, 5);
    Graph *h = model_load(&arena, DLC_SOURCE_DIR "/models/mnist_mlp_ops.nn", MODE_TRAIN);
    char why[256];
    ck_assert_msg(same_graph(g, h, why, sizeof why), "%s", why);
}
END_TEST

Suite *lower_suite(void) {
    Suite *s = suite_create("lower");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_forms_equal);
    tcase_add_test(tc, test_forms_differ);
    tcase_add_test(tc, test_locations_and_vars);
    tcase_add_test(tc, test_modes);
    tcase_add_test(tc, test_train_config);
    tcase_add_test(tc, test_layer_names);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_model_load);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return tu_run_suite(lower_suite());
}
