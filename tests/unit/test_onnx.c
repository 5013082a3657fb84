/* test_onnx.c - unit tests of the ONNX importer, the .nn writer, the
 * exporter and the convolution family's reference kernels:
 *
 *  - the reference interpreter (ir/interp_conv.c) on the imported PyTorch
 *    fixtures gives PyTorch's outputs (tests/onnx/fixtures);
 *  - nn_write's text compiles back to the same graph;
 *  - export then import gives the same graph and the same weights;
 *  - every elementwise op exports as its onnx column in ir/ops.def says
 *    (one plain node), as a special case, or is refused by name;
 *  - the new ops' shape rules reject bad geometry with clear messages and
 *    their nodes survive the IR text round trip;
 *  - every prefix of a fixture, and deterministic byte mutations of it,
 *    import to a graph or to one located error, never a crash;
 *  - thousands of inputs that map to one identifier are named in linear
 *    memory.
 */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/onnx_export.h"
#include "onnx.pb-c.h"
#include "frontend/frontend.h"
#include "frontend/onnx.h"
#include "ir/interp.h"
#include "runtime/rt_npy.h"
#include "testutil.h"

#define FIX DLC_SOURCE_DIR "/tests/onnx/fixtures/"

static Arena A;
static jmp_buf jb;
static FILE *sink;

static void setup(void)
{
    arena_init(&A);
    sink = tmpfile();
    diag_set_stream(sink);
}

static void teardown(void)
{
    diag_set_recover(NULL);
    diag_set_stream(NULL);
    if (sink) fclose(sink);
    arena_free(&A);
}

/* The text dump of g without comments (for comparing graphs). */
static char *dump(const Graph *g)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ir_print_text(f, g);
    fclose(f);
    char *s = arena_strdup(&A, buf);
    free(buf);
    char *w = s;
    for (char *r = s; *r;) { /* drop `  # ...` comments to the end of each line */
        if (*r == '#') {
            while (w > s && w[-1] == ' ') w--;
            while (*r && *r != '\n') r++;
            continue;
        }
        *w++ = *r++;
    }
    *w = '\0';
    return s;
}

/* Runs the interpreter on fixture `name` with its imported weights and
 * checks PyTorch's outputs (1e-5 relative, 1e-6 absolute). */
static void check_fixture(const char *name)
{
    OnnxWeights w;
    Graph *g = onnx_import(&A, arena_printf(&A, FIX "%s.onnx", name), MODE_INFER, &w);
    dlrt_npy x, y;
    dlrt_err e;
    ck_assert_int_eq(dlrt_npy_read(arena_printf(&A, FIX "%s.input.npy", name), &x, &e), 0);
    ck_assert_int_eq(dlrt_npy_read(arena_printf(&A, FIX "%s.expected.npy", name), &y, &e), 0);
    int64_t n = x.dims[0];
    Interp *it = interp_new(g, n, 0);
    for (int i = 0; i < w.n; i++) {
        const Node *p = ir_find_leaf(g, w.w[i].name);
        ck_assert_ptr_nonnull(p);
        double *b = interp_buf(it, p);
        for (int64_t j = 0; j < interp_numel(it, p); j++) b[j] = w.w[i].data[j];
    }
    const Node *in = ir_find_leaf(g, "x");
    ck_assert_int_eq(interp_numel(it, in), x.numel);
    for (int64_t j = 0; j < x.numel; j++) interp_buf(it, in)[j] = ((const float *)x.data)[j];
    interp_run(it);
    const Node *out = g->outputs[0].node;
    ck_assert_int_eq(interp_numel(it, out), y.numel);
    const double *got = interp_buf(it, out);
    for (int64_t j = 0; j < y.numel; j++) {
        double want = ((const float *)y.data)[j];
        ck_assert_msg(fabs(got[j] - want) <= 1e-6 + 1e-5 * fabs(want), "%s[%lld]: %.9g, PyTorch %.9g", name,
                      (long long)j, got[j], want);
    }
    interp_free(it);
    dlrt_npy_free(&x);
    dlrt_npy_free(&y);
}

START_TEST(interp_matches_pytorch)
{
    check_fixture("mlp");
    check_fixture("cnn");
    check_fixture("resblock");
    check_fixture("ops");
}
END_TEST

/* nn_write's text compiles to the same graph as the import. */
START_TEST(nn_text_round_trip)
{
    static const char *const names[] = {"mlp", "cnn", "resblock", "ops"};
    for (int k = 0; k < 4; k++) {
        Graph *g = onnx_import(&A, arena_printf(&A, FIX "%s.onnx", names[k]), MODE_INFER, NULL);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        ck_assert_ptr_null(nn_write(f, g, "test"));
        fclose(f);
        SrcFile *src = srcfile_from_string(&A, "t.nn", buf, len);
        Graph *h = nn_compile(&A, src, MODE_INFER);
        free(buf);
        ck_assert_str_eq(dump(h), dump(g));
    }
}
END_TEST

/* Export then import: the same graph, the same weights. */
START_TEST(export_import_round_trip)
{
    static const char *const names[] = {"mlp", "cnn", "resblock", "ops"};
    for (int k = 0; k < 4; k++) {
        OnnxWeights w;
        Graph *g = onnx_import(&A, arena_printf(&A, FIX "%s.onnx", names[k]), MODE_INFER, &w);
        const float **pd = ARENA_NEW_N(&A, const float *, g->next_id + 1);
        memset(pd, 0, sizeof *pd * (size_t)(g->next_id + 1));
        for (int i = 0; i < w.n; i++) pd[ir_find_leaf(g, w.w[i].name)->id] = w.w[i].data;
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        ck_assert_ptr_null(onnx_export(f, g, pd));
        fclose(f);
        SrcFile *src = srcfile_from_string(&A, arena_printf(&A, "%s.onnx", names[k]), buf, len);
        OnnxWeights w2;
        Graph *h = onnx_import_bytes(&A, src, NULL, MODE_INFER, &w2);
        free(buf);
        ck_assert_str_eq(dump(h), dump(g));
        ck_assert_int_eq(w2.n, w.n);
        for (int i = 0; i < w.n; i++) {
            ck_assert_str_eq(w2.w[i].name, w.w[i].name);
            ck_assert(memcmp(w2.w[i].data, w.w[i].data, sizeof(float) * (size_t)tt_numel(&w.w[i].type, 1)) == 0);
        }
    }
}
END_TEST

/* Makes y the only output of g (a graph without params) and exports g
 * into *buf (malloc'd, *len bytes); returns onnx_export's message. */
static const char *export_output(Graph *g, Node *y, char **buf, size_t *len)
{
    g->outputs = ARENA_NEW(&A, NamedValue);
    g->outputs[0] = (NamedValue){"y", y, SRCLOC_NONE};
    g->noutputs = 1;
    *buf = NULL;
    *len = 0;
    FILE *f = open_memstream(buf, len);
    const char *err = onnx_export(f, g, NULL);
    fclose(f);
    return err;
}

/* The onnx column of ops.def against the exporter, for every elementwise
 * op alone on f32[N,4] operands: an op that names an ONNX operator
 * exports as exactly one node of that type over its operands, with no
 * attributes; any other is either a special case of onnx_export.c (it
 * exports) or one of the ops with no inference meaning outside dlc
 * (activation gradients, cast), refused with the documented message. */
START_TEST(export_follows_op_table)
{
    int plain = 0, special = 0, refused = 0;
    for (int op = 0; op < OP_COUNT; op++) {
        const OpInfo *info = op_info((OpCode)op);
        if (!op_is_elementwise((OpCode)op)) continue;
        Graph *g = ir_graph_new(&A, "t", MODE_INFER);
        int64_t d[2] = {DIM_N, 4};
        Node *in[2] = {ir_input(g, "x", tt_make(DT_F32, 2, d), SRCLOC_NONE),
                       ir_input(g, "x2", tt_make(DT_F32, 2, d), SRCLOC_NONE)};
        Attr dt = attr_dtype("dtype", DT_F32);
        bool cast = op == OP_CAST;
        Node *y;
        ck_assert_ptr_null(ir_node_try(g, (OpCode)op, in, info->min_in, &dt, cast, SRCLOC_NONE, &y));
        char *buf;
        size_t len;
        const char *err = export_output(g, y, &buf, &len);
        if (err) {
            ck_assert_str_eq(err, arena_printf(&A, "op '%s' cannot be exported to ONNX", info->name));
            ck_assert_msg(!*info->onnx, "%s names ONNX op %s but is refused", info->name, info->onnx);
            ck_assert_msg(info->kind == OK_EW || cast, "%s: an elementwise op that cannot be exported", info->name);
            refused++;
            free(buf);
            continue;
        }
        Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, (const uint8_t *)buf);
        free(buf);
        ck_assert_ptr_nonnull(m);
        Onnx__GraphProto *gp = m->graph;
        ck_assert_uint_ge(gp->n_node, 2);
        ck_assert_str_eq(gp->node[gp->n_node - 1]->op_type, "Identity");
        if (*info->onnx) {
            ck_assert_msg(gp->n_node == 2, "%s: %zu nodes", info->name, gp->n_node);
            const Onnx__NodeProto *n = gp->node[0];
            ck_assert_str_eq(n->op_type, info->onnx);
            ck_assert_uint_eq(n->n_attribute, 0);
            ck_assert_uint_eq(n->n_input, (size_t)info->min_in);
            for (int k = 0; k < info->min_in; k++) ck_assert_str_eq(n->input[k], in[k]->name);
            plain++;
        } else {
            special++;
        }
        onnx__model_proto__free_unpacked(m, NULL);
    }
    /* neg ... erf, add ... maximum; leaky_relu, elu, square, gelu, clip;
     * cast and the six activation gradients */
    ck_assert_int_eq(plain, 16);
    ck_assert_int_eq(special, 5);
    ck_assert_int_eq(refused, 7);
}
END_TEST

/* Builds op on x [N,c,h,w] (and w for conv2d); returns the shape rule's
 * message (NULL: accepted). */
static const char *try_op(OpCode op, int64_t c, int64_t h, const int64_t *wd, const Attr *at, int nat)
{
    Graph *g = ir_graph_new(&A, "t", MODE_INFER);
    int64_t xd[4] = {DIM_N, c, h, h};
    Node *in[3] = {ir_input(g, "x", tt_make(DT_F32, 4, xd), SRCLOC_NONE), NULL, NULL};
    int nin = 1;
    if (wd) in[nin++] = ir_param(g, "w", tt_make(DT_F32, 4, wd), NULL, 0, SRCLOC_NONE);
    Node *out;
    return ir_node_try(g, op, in, nin, at, nat, SRCLOC_NONE, &out);
}

START_TEST(shape_rules)
{
    int64_t w[4] = {4, 3, 3, 3}, wg[4] = {4, 2, 3, 3}, s2[2] = {2, 2}, p1[4] = {1, 1, 1, 1}, k2[2] = {2, 2},
            p2[4] = {2, 0, 0, 0}, k9[2] = {9, 9};
    Attr at[2] = {attr_ints("strides", s2, 2), attr_ints("pads", p1, 4)};
    ck_assert_ptr_null(try_op(OP_CONV2D, 3, 8, w, at, 2));
    ck_assert_str_eq(try_op(OP_CONV2D, 4, 8, w, NULL, 0),
                     "conv2d: weights f32[4,3,3,3] expect 3 input channels, the input f32[N,4,8,8] has 4");
    Attr grp = attr_int("group", 3);
    ck_assert_str_eq(try_op(OP_CONV2D, 6, 8, wg, &grp, 1),
                     "conv2d: group 3 must divide the input channels (6) and the output channels (4)");
    Attr bad = attr_ints("strides", k2, 1);
    ck_assert_str_eq(try_op(OP_CONV2D, 3, 8, w, &bad, 1), "conv2d: `strides` must have 2 entries, got 1");
    Attr pk[2] = {attr_ints("kernel", k2, 2), attr_ints("pads", p2, 4)};
    ck_assert_str_eq(try_op(OP_MAX_POOL2D, 3, 8, NULL, pk, 2), "max_pool2d: padding must be smaller than the kernel window");
    Attr big = attr_ints("kernel", k9, 2);
    ck_assert_str_eq(try_op(OP_AVG_POOL2D, 3, 8, NULL, &big, 1),
                     "avg_pool2d: the 9x9 window does not fit the padded 8x8 input f32[N,3,8,8]");
    ck_assert_ptr_null(try_op(OP_GLOBAL_AVG_POOL2D, 3, 5, NULL, NULL, 0));
}
END_TEST

/* The new ops print and read back. */
START_TEST(text_round_trip)
{
    Graph *g = onnx_import(&A, FIX "cnn.onnx", MODE_INFER, NULL);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ir_print_text(f, g);
    fclose(f);
    Graph *h = ir_parse_text(&A, srcfile_from_string(&A, "cnn.ir", buf, len));
    free(buf);
    ck_assert_str_eq(dump(h), dump(g));
}
END_TEST

/* Imports bytes; true if it gave a graph, false on a user error. */
static bool import_ok(const char *bytes, size_t len)
{
    Arena a;
    arena_init(&a);
    SrcFile f = {"fuzz.onnx", bytes, len};
    diag_set_recover(&jb);
    bool ok = false;
    if (setjmp(jb) == 0) {
        onnx_import_bytes(&a, &f, NULL, MODE_INFER, NULL);
        ok = true;
    }
    diag_set_recover(NULL);
    arena_free(&a);
    return ok;
}

/* 4000 graph inputs whose names share a 210-character prefix, more than
 * the 200 bytes an imported name keeps, so that all make one identifier:
 * they are numbered _1, _2, ... in order, and the import allocates
 * linearly (it allocated one name per retry, quadratic: 1.7 GB here).  The
 * model is written by the exporter: inputs summed by a chain of adds. */
START_TEST(same_prefix_names_linear)
{
    enum { N = 4000 };
    char prefix[211];
    memset(prefix, 'x', 210);
    prefix[210] = '\0';
    Graph *g = ir_graph_new(&A, "wide", MODE_INFER);
    int64_t d[2] = {DIM_N, 1};
    Node *sum = NULL;
    for (int i = 0; i < N; i++) {
        Node *x = ir_input(g, arena_printf(&A, "%s%d", prefix, i), tt_make(DT_F32, 2, d), SRCLOC_NONE);
        sum = sum ? ir_binary(g, OP_ADD, sum, x, SRCLOC_NONE) : x;
    }
    char *buf;
    size_t len;
    ck_assert_ptr_null(export_output(g, sum, &buf, &len));
    Arena B;
    arena_init(&B);
    SrcFile *src = srcfile_from_string(&B, "wide.onnx", buf, len);
    free(buf);
    size_t before = B.total;
    Graph *h = onnx_import_bytes(&B, src, NULL, MODE_INFER, NULL);
    ck_assert_int_eq(h->nnodes, 2 * N - 1);
    ck_assert_str_eq(h->nodes[0]->name, arena_strndup(&A, prefix, 200));
    ck_assert_str_eq(h->nodes[1]->name, arena_printf(&A, "%.200s_1", prefix));
    ck_assert_str_eq(h->nodes[N - 1]->name, arena_printf(&A, "%.200s_%d", prefix, N - 1));
    size_t used = B.total - before;
    ck_assert_msg(used < (size_t)N * 16384, "the import took %zu bytes for %d inputs", used, N);
    arena_free(&B);
}
END_TEST
/* Every prefix of a fixture (a truncated download) and 3000 deterministic
 * byte mutations: a graph or a user error, never a crash or an ICE. */
START_TEST(truncations_and_mutations)
{
    SrcFile *f = srcfile_load(&A, FIX "cnn.onnx");
    ck_assert(import_ok(f->text, f->len));
    int oks = 0;
    for (size_t n = 0; n < f->len; n++) oks += import_ok(f->text, n);
    ck_assert_int_eq(oks, 0); /* the graph field comes last: any cut loses it */
    char *m = malloc(f->len);
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (int k = 0; k < 3000; k++) {
        memcpy(m, f->text, f->len);
        for (int j = 0; j < 1 + k % 4; j++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            m[(s >> 33) % f->len] = (char)(s >> 20);
        }
        import_ok(m, f->len);
    }
    free(m);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("onnx");
    TCase *tc = tcase_create("onnx");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, interp_matches_pytorch);
    tcase_add_test(tc, nn_text_round_trip);
    tcase_add_test(tc, export_import_round_trip);
    tcase_add_test(tc, export_follows_op_table);
    tcase_add_test(tc, shape_rules);
    tcase_add_test(tc, text_round_trip);
    tcase_add_test(tc, truncations_and_mutations);
    tcase_add_test(tc, same_prefix_names_linear);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
