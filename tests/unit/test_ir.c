/* test_ir.c - unit tests of the IR core: arena, diagnostics, types, the op
 * table with its attribute schemas, operand domains, flags and ew formulas
 * (consistent with the other columns), the builder and attribute getters,
 * every shape rule (success and error cases), the verifier on corrupted
 * graphs, the printers and the shapes pass.
 *
 * User errors are caught with diag_set_recover() and their text captured
 * with diag_set_stream(); exit statuses (1 for user errors, 3 for internal
 * errors) are checked with Check's exit tests.
 */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ir/ir.h"
#include "passes/pass.h"
#include "testutil.h"

#define NB DIM_N
#define TY(dt, ...) \
    tt_make(dt, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})
#define TS(dt) tt_scalar(dt)

static Arena A;
static Graph *G;
static int ninputs;

static void setup(void) {
    arena_init(&A);
    G = ir_graph_new(&A, "t", MODE_TRAIN);
    ninputs = 0;
}

static void teardown(void) {
    diag_set_recover(NULL);
    diag_set_stream(NULL);
    arena_free(&A);
}

/* A fresh input leaf of type t. */
static Node *in_(TensorType t) {
    char name[32];
    snprintf(name, sizeof name, "x%d", ninputs++);
    return ir_input(G, name, t, SRCLOC_NONE);
}

static Node *param_(const char *name, TensorType t) { return ir_param(G, name, t, NULL, 0, SRCLOC_NONE); }

static const char *fmt(const TensorType *t) {
    static char buf[4][TT_FMT_LEN];
    static int k;
    k = (k + 1) % 4;
    return tt_format(t, buf[k], TT_FMT_LEN);
}

/* Tries op on the given operands/attrs; returns the error or NULL and the
 * result type in *ty. */
static const char *try_op(OpCode op, Node **in, int nin, const Attr *at, int nat, TensorType *ty) {
    Node *n;
    const char *err = ir_node_try(G, op, in, nin, at, nat, SRCLOC_NONE, &n);
    if (!err && ty) *ty = n->type;
    return err;
}

/* Applies op to fresh inputs of the given types; asserts success and
 * returns the result type formatted. */
static const char *ok1(OpCode op, TensorType a, const Attr *at, int nat) {
    Node *x = in_(a);
    TensorType t;
    const char *err = try_op(op, &x, 1, at, nat, &t);
    ck_assert_msg(err == NULL, "%s: unexpected error: %s", op_info(op)->name, err);
    return fmt(&t);
}

static const char *err1(OpCode op, TensorType a, const Attr *at, int nat) {
    Node *x = in_(a);
    const char *err = try_op(op, &x, 1, at, nat, NULL);
    ck_assert_msg(err != NULL, "%s: expected an error", op_info(op)->name);
    return err;
}

static const char *ok2(OpCode op, TensorType a, TensorType b, const Attr *at, int nat) {
    Node *x[2] = {in_(a), in_(b)};
    TensorType t;
    const char *err = try_op(op, x, 2, at, nat, &t);
    ck_assert_msg(err == NULL, "%s: unexpected error: %s", op_info(op)->name, err);
    return fmt(&t);
}

static const char *err2(OpCode op, TensorType a, TensorType b, const Attr *at, int nat) {
    Node *x[2] = {in_(a), in_(b)};
    const char *err = try_op(op, x, 2, at, nat, NULL);
    ck_assert_msg(err != NULL, "%s: expected an error", op_info(op)->name);
    return err;
}

#define ck_contains(hay, needle) ck_assert_msg(strstr((hay), (needle)) != NULL, "'%s' lacks '%s'", (hay), (needle))

/* ======================================================================= */
/* arena                                                                   */

START_TEST(arena_basics) {
    Arena a;
    arena_init(&a);
    char *p = arena_alloc(&a, 10);
    for (int i = 0; i < 10; i++) ck_assert_int_eq(p[i], 0);
    double *d = arena_alloc(&a, sizeof(double));
    ck_assert_uint_eq((uintptr_t)d % _Alignof(max_align_t), 0);
    void *big = arena_alloc(&a, 1 << 20); /* bigger than a block */
    memset(big, 1, 1 << 20);
    char *after = arena_alloc(&a, 8); /* still served after the big block */
    ck_assert_ptr_nonnull(after);
    ck_assert_uint_ge(a.total, (1u << 20) + 16);
    ck_assert_str_eq(arena_strdup(&a, "hello"), "hello");
    ck_assert_str_eq(arena_strndup(&a, "hello", 3), "hel");
    ck_assert_str_eq(arena_printf(&a, "%d-%s", 42, "x"), "42-x");
    int *v = ARENA_NEW_N(&a, int, 3);
    v[0] = 1, v[1] = 2, v[2] = 3;
    int *w = arena_grow(&a, v, 3, 6, sizeof(int));
    ck_assert_int_eq(w[2], 3);
    ck_assert_int_eq(w[5], 0);
    for (int i = 0; i < 10000; i++) ck_assert_ptr_nonnull(arena_alloc(&a, 100));
    arena_free(&a);
    ck_assert_ptr_null(a.head);
}
END_TEST

/* ======================================================================= */
/* types                                                                   */

START_TEST(types_basics) {
    ck_assert_str_eq(dtype_name(DT_F32), "f32");
    ck_assert_str_eq(dtype_name(DT_U8), "u8");
    ck_assert_uint_eq(dtype_size(DT_F64), 8);
    ck_assert_uint_eq(dtype_size(DT_I32), 4);
    ck_assert(dtype_is_float(DT_F64));
    ck_assert(!dtype_is_float(DT_I32));
    DType t;
    ck_assert(dtype_parse("i32", 3, &t) && t == DT_I32);
    ck_assert(dtype_parse("f32[", 3, &t) && t == DT_F32);
    ck_assert(!dtype_parse("f16", 3, &t));
    ck_assert(!dtype_parse("f3", 2, &t));

    TensorType a = TY(DT_F32, NB, 28, 28), b = TY(DT_F32, NB, 28, 28), c = TY(DT_F32, 4, 28, 28);
    ck_assert(tt_equal(&a, &b));
    ck_assert(!tt_equal(&a, &c));
    TensorType d = a;
    d.dtype = DT_F64;
    ck_assert(!tt_equal(&a, &d));
    ck_assert(tt_has_batch(&a));
    ck_assert(!tt_has_batch(&c));
    TensorType s = TS(DT_F32);
    ck_assert(!tt_has_batch(&s));
    ck_assert_int_eq(tt_numel(&a, 3), 3 * 784);
    ck_assert_int_eq(tt_numel(&c, 99), 4 * 784);
    ck_assert_int_eq(tt_numel(&s, 5), 1);
    ck_assert_int_eq(tt_numel_per_sample(&a), 784);
    ck_assert_int_eq(tt_numel_per_sample(&c), 4 * 784);

    char buf[TT_FMT_LEN];
    ck_assert_str_eq(tt_format(&a, buf, sizeof buf), "f32[N,28,28]");
    ck_assert_str_eq(tt_format(&s, buf, sizeof buf), "f32[]");
    TensorType i = TY(DT_I32, NB);
    ck_assert_str_eq(tt_format(&i, buf, sizeof buf), "i32[N]");
    char small[6];
    tt_format(&a, small, sizeof small); /* truncates safely */
    ck_assert_str_eq(small, "f32[N");
}
END_TEST

/* ======================================================================= */
/* diagnostics                                                             */

static char captured[8192];
static jmp_buf jb;

/* Runs dlc_error at loc with recovery and captures what it printed. */
static const char *capture_error(SrcLoc loc, const char *msg) {
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    diag_set_stream(f);
    diag_set_recover(&jb);
    if (setjmp(jb) == 0) {
        dlc_error(loc, "%s", msg);
        ck_abort_msg("dlc_error returned");
    }
    diag_set_recover(NULL);
    diag_set_stream(NULL);
    rewind(f);
    size_t n = fread(captured, 1, sizeof captured - 1, f);
    captured[n] = '\0';
    fclose(f);
    return captured;
}

START_TEST(diag_located) {
    SrcFile *f = srcfile_from_string(&A, "m.nn", "model m\nh = x + b\n", 18);
    const char *out = capture_error((SrcLoc){f, 2, 7}, "cannot broadcast f32[N,784] and f32[512]");
    ck_assert_str_eq(out, "m.nn:2:7: error: cannot broadcast f32[N,784] and f32[512]\n"
                          "h = x + b\n"
                          "      ^\n");
    /* no position: file only; no file: dlc */
    ck_assert_str_eq(capture_error((SrcLoc){f, 0, 0}, "oops"), "m.nn: error: oops\n");
    ck_assert_str_eq(capture_error(SRCLOC_NONE, "oops"), "dlc: error: oops\n");
    /* last line without a newline, caret at the end */
    SrcFile *g = srcfile_from_string(&A, "a.nn", "ab\ncd", 5);
    ck_assert_str_eq(capture_error((SrcLoc){g, 2, 3}, "x"), "a.nn:2:3: error: x\ncd\n  ^\n");
    /* a line past the end prints no excerpt */
    ck_assert_str_eq(capture_error((SrcLoc){g, 9, 1}, "x"), "a.nn:9:1: error: x\n");
}
END_TEST

START_TEST(diag_tabs_and_bytes) {
    const char text[] = "\tx\x01 = \xff\xc3\xa9y\r\n";
    SrcFile *f = srcfile_from_string(&A, "t.nn", text, sizeof text - 1);
    /* column 10 is 'y' (after the 2-byte UTF-8 e-acute) */
    const char *out = capture_error((SrcLoc){f, 1, 10}, "bad");
    ck_assert_str_eq(out, "t.nn:1:10: error: bad\n"
                          "\tx? = ?\xc3\xa9y\n"
                          "\t       ^\n");
}
END_TEST

START_TEST(diag_long_line) {
    size_t len = 1 << 20;
    char *text = malloc(len + 1);
    memset(text, 'a', len);
    text[500000] = 'X';
    text[len] = '\0';
    SrcFile *f = srcfile_from_string(&A, "big.nn", text, len);
    free(text);
    const char *out = capture_error((SrcLoc){f, 1, 500001}, "here");
    const char *l2 = strchr(out, '\n') + 1;
    const char *l3 = strchr(l2, '\n') + 1;
    ck_assert_uint_le((size_t)(l3 - l2), 110);
    ck_assert(strncmp(l2, "...", 3) == 0);
    ck_assert(strncmp(l3 - 4, "...\n", 4) == 0);
    /* the caret sits under the X */
    size_t caret = strchr(l3, '^') - l3;
    ck_assert_int_eq(l2[caret], 'X');
    /* near the start: no leading "..." */
    out = capture_error((SrcLoc){f, 1, 3}, "start");
    l2 = strchr(out, '\n') + 1;
    ck_assert(l2[0] == 'a');
    l3 = strchr(l2, '\n') + 1;
    ck_assert(strncmp(l3, "  ^", 3) == 0);
}
END_TEST

START_TEST(diag_srcloc_format) {
    SrcFile *f = srcfile_from_string(&A, "dir/m.nn", "", 0);
    char buf[64];
    srcloc_format((SrcLoc){f, 3, 4}, buf, sizeof buf);
    ck_assert_str_eq(buf, "dir/m.nn:3:4");
    srcloc_format((SrcLoc){f, 0, 0}, buf, sizeof buf);
    ck_assert_str_eq(buf, "dir/m.nn");
    srcloc_format(SRCLOC_NONE, buf, sizeof buf);
    ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(diag_error_exits_1) {
    diag_set_stream(fopen("/dev/null", "w"));
    dlc_error(SRCLOC_NONE, "bye");
}
END_TEST

START_TEST(diag_ice_exits_3) {
    diag_set_stream(fopen("/dev/null", "w"));
    DLC_ASSERT(1 + 1 == 3);
}
END_TEST

START_TEST(diag_ice_message) {
    FILE *f = tmpfile();
    diag_set_stream(f);
    if (fork() == 0) DLC_ICE("broken %d", 7);
    int st;
    wait(&st);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3);
    rewind(f);
    size_t n = fread(captured, 1, sizeof captured - 1, f);
    captured[n] = '\0';
    fclose(f);
    ck_contains(captured, "dlc: internal error at ");
    ck_contains(captured, "test_ir.c:");
    ck_contains(captured, ": broken 7\n");
}
END_TEST

START_TEST(srcfile_load_ok_and_missing) {
    char path[] = "/tmp/dlc_test_ir_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "abc\0def", 7), 7);
    close(fd);
    SrcFile *f = srcfile_load(&A, path);
    ck_assert_uint_eq(f->len, 7);
    ck_assert_str_eq(f->name, path);
    ck_assert(memcmp(f->text, "abc\0def", 8) == 0);
    unlink(path);
    FILE *cap = tmpfile();
    diag_set_stream(cap);
    diag_set_recover(&jb);
    if (setjmp(jb) == 0) {
        srcfile_load(&A, "/nonexistent/x.nn");
        ck_abort_msg("no error");
    }
    diag_set_recover(NULL);
    diag_set_stream(NULL);
    rewind(cap);
    size_t n = fread(captured, 1, sizeof captured - 1, cap);
    captured[n] = '\0';
    fclose(cap);
    ck_assert_str_eq(captured, "dlc: error: cannot read '/nonexistent/x.nn': No such file or directory\n");
}
END_TEST

/* ======================================================================= */
/* op table                                                                */

START_TEST(ops_lookup) {
    for (int i = 0; i < OP_COUNT; i++) {
        const OpInfo *info = op_info((OpCode)i);
        ck_assert_int_eq(info->code, i);
        OpCode back;
        ck_assert(op_lookup(info->name, strlen(info->name), &back));
        ck_assert_int_eq(back, i);
        ck_assert(info->shape != NULL);
        ck_assert(info->max_in < 0 || info->max_in >= info->min_in);
    }
    OpCode op;
    ck_assert(op_lookup("matmul", 6, &op) && op == OP_MATMUL);
    ck_assert(op_lookup("addx", 3, &op) && op == OP_ADD);
    ck_assert(!op_lookup("matmu", 5, &op));
    ck_assert(!op_lookup("conv9d", 6, &op));
    ck_assert_int_eq(op_info(OP_CONCAT)->max_in, -1);
    ck_assert_int_eq(op_info(OP_ADD)->kind, OK_BINARY);
    ck_assert_int_eq(op_info(OP_ADD)->grad, GRAD_RULE);
    ck_assert_int_eq(op_info(OP_ACCURACY)->grad, GRAD_ZERO);
    ck_assert_int_eq(op_info(OP_RELU_GRAD)->grad, GRAD_NONE);
    ck_assert_str_eq(op_info(OP_RELU)->ew, "($0 > 0 ? $0 : 0)");
}
END_TEST

START_TEST(ops_schema) {
    const OpInfo *mm = op_info(OP_MATMUL);
    ck_assert_int_eq(mm->nspecs, 2);
    ck_assert_str_eq(mm->specs[0].name, "trans_a");
    ck_assert_int_eq(mm->specs[0].kind, AK_BOOL);
    ck_assert(!mm->specs[0].required);
    ck_assert_str_eq(mm->specs[0].deflt, "0");
    const AttrSpec *s = op_attr_spec(OP_RESHAPE, "shape");
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(s->kind, AK_INTS);
    ck_assert(s->required);
    s = op_attr_spec(OP_SUM, "axes");
    ck_assert_int_eq(s->kind, AK_INTS);
    ck_assert(!s->required);
    ck_assert_str_eq(s->deflt, "");
    ck_assert_int_eq(op_info(OP_PARAM)->nspecs, 7);
    s = op_attr_spec(OP_PARAM, "init");
    ck_assert_int_eq(s->kind, AK_STR);
    ck_assert_str_eq(s->deflt, "zeros");
    ck_assert_int_eq(op_attr_spec(OP_CAST, "dtype")->kind, AK_DTYPE);
    ck_assert_int_eq(op_attr_spec(OP_LEAKY_RELU, "alpha")->kind, AK_FLOAT);
    ck_assert_str_eq(op_attr_spec(OP_LEAKY_RELU, "alpha")->deflt, "0.3");
    ck_assert_int_eq(op_attr_spec(OP_SLICE, "start")->kind, AK_INT);
    ck_assert_ptr_null(op_attr_spec(OP_ADD, "axis"));
    ck_assert_ptr_null(op_attr_spec(OP_MATMUL, "trans"));
    ck_assert_int_eq(op_info(OP_ADD)->nspecs, 0);
}
END_TEST

/* The dom column: every entry parses, with one field per operand or none;
 * G ops get a valid domain for each operand; a|b only where there is a
 * from_logits attribute to choose by. */
START_TEST(ops_domains) {
    for (int op = 0; op < OP_COUNT; op++) {
        const OpInfo *info = op_info((OpCode)op);
        bool has_logits = op_attr_spec((OpCode)op, "from_logits") != NULL;
        Domain plain[OP_MAX_DOM], logits[OP_MAX_DOM];
        int n = -1;
        const char *err = op_parse_domains(info->dom, info->max_in, has_logits, plain, logits, &n);
        ck_assert_msg(err == NULL, "%s: dom '%s': %s", info->name, info->dom, err);
        ck_assert_msg(n == 0 || n == info->max_in, "%s: %d domain fields for %d operands", info->name, n,
                      info->max_in);
        ck_assert_int_eq(n, info->ndom);
        if (info->grad != GRAD_RULE) continue;
        int nops = info->max_in < 0 ? info->min_in + 2 : info->max_in;
        for (int i = 0; i < nops; i++)
            for (int lg = 0; lg <= 1; lg++) {
                Domain d = op_domain((OpCode)op, i, lg);
                ck_assert_msg(d >= DOM_NORMAL && d <= DOM_LABEL, "%s operand %d: domain %d", info->name, i, (int)d);
                if (!has_logits) ck_assert_int_eq(d, op_domain((OpCode)op, i, !lg));
            }
    }
    ck_assert_int_eq(op_domain(OP_ADD, 1, false), DOM_NORMAL);
    ck_assert_int_eq(op_domain(OP_LOG, 0, false), DOM_POS);
    ck_assert_int_eq(op_domain(OP_RELU, 0, false), DOM_AWAY0);
    ck_assert_int_eq(op_domain(OP_POW, 0, false), DOM_POS);
    ck_assert_int_eq(op_domain(OP_POW, 1, false), DOM_NORMAL);
    ck_assert_int_eq(op_domain(OP_DIV, 0, false), DOM_NORMAL);
    ck_assert_int_eq(op_domain(OP_DIV, 1, false), DOM_AWAY0);
    ck_assert_int_eq(op_domain(OP_BINARY_CROSSENTROPY, 0, false), DOM_PROB);
    ck_assert_int_eq(op_domain(OP_BINARY_CROSSENTROPY, 0, true), DOM_NORMAL);
    ck_assert_int_eq(op_domain(OP_BINARY_CROSSENTROPY, 1, true), DOM_UNIT);
    ck_assert_int_eq(op_domain(OP_CATEGORICAL_CROSSENTROPY, 1, false), DOM_SIMPLEX);
    ck_assert_int_eq(op_domain(OP_SPARSE_CATEGORICAL_CROSSENTROPY, 1, false), DOM_LABEL);
    ck_assert_int_eq(op_domain(OP_CONCAT, 5, false), DOM_NORMAL);

    /* the parser itself */
    Domain p[OP_MAX_DOM], l[OP_MAX_DOM];
    int n;
    ck_assert_ptr_null(op_parse_domains("", 2, false, p, l, &n));
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_null(op_parse_domains(",away0", 2, false, p, l, &n));
    ck_assert(n == 2 && p[0] == DOM_NORMAL && p[1] == DOM_AWAY0 && l[1] == DOM_AWAY0);
    ck_assert_ptr_null(op_parse_domains("prob|normal,simplex,", 3, true, p, l, &n));
    ck_assert(n == 3 && p[0] == DOM_PROB && l[0] == DOM_NORMAL && p[1] == DOM_SIMPLEX && l[1] == DOM_SIMPLEX);
    ck_assert(p[2] == DOM_NORMAL && l[2] == DOM_NORMAL);
    ck_assert_str_eq(op_parse_domains("pos", 2, false, p, l, &n), "fewer fields than operands");
    ck_assert_str_eq(op_parse_domains("pos,", 1, false, p, l, &n), "more fields than operands");
    ck_assert_str_eq(op_parse_domains("pos", 0, false, p, l, &n), "more fields than operands");
    ck_assert_str_eq(op_parse_domains("pos", -1, false, p, l, &n), "a variadic op takes no per-operand domains");
    ck_assert_str_eq(op_parse_domains("positive", 1, false, p, l, &n), "unknown domain name");
    ck_assert_str_eq(op_parse_domains("prob|normal", 1, false, p, l, &n), "a|b needs a from_logits attribute");
    ck_assert_str_eq(op_parse_domains("prob|", 1, true, p, l, &n), "a|b needs two domain names");
    ck_assert_str_eq(op_parse_domains("|normal", 1, true, p, l, &n), "a|b needs two domain names");
    ck_assert_str_eq(op_parse_domains("prob|nrm", 1, true, p, l, &n), "unknown domain name");
}
END_TEST

/* The flags and ew columns of ops.def against each other and against the
 * other columns: what cse, constfold, dce, fusion and the interpreter rely
 * on.  Every op's value has exactly one origin; only pure ops are
 * elementwise, commutative or label-checked; the ops with an ew formula
 * are exactly the op_is_elementwise ones, and a formula reads only
 * operands the op has and float attributes of its schema. */
START_TEST(ops_facts) {
    const unsigned origin = OPF_PURE | OPF_EXTERN | OPF_RANDOM | OPF_EFFECT;
    int n_ew = 0;
    for (int op = 0; op < OP_COUNT; op++) {
        const OpInfo *info = op_info((OpCode)op);
        unsigned f = info->flags, o = f & origin;
        ck_assert_msg(o && (o & (o - 1)) == 0, "%s: flags %#x name %s one origin", info->name, f,
                      o ? "more than" : "no");
        ck_assert_msg((f & ~(origin | OPF_COMMUTATIVE | OPF_LABELS)) == 0, "%s: unknown flag", info->name);
        if (f & (OPF_COMMUTATIVE | OPF_LABELS)) ck_assert_msg(f & OPF_PURE, "%s: qualifies an impure op", info->name);
        if (f & OPF_COMMUTATIVE)
            ck_assert_msg(info->min_in == 2 && info->max_in == 2, "%s: commutative but not binary", info->name);
        if (f & OPF_EXTERN) ck_assert_msg(info->kind == OK_LEAF, "%s: extern but not a leaf", info->name);
        if (info->kind == OK_LEAF) ck_assert_msg(f & (OPF_EXTERN | OPF_PURE), "%s: a leaf", info->name);

        bool ew = op_is_elementwise((OpCode)op);
        ck_assert_msg(ew == (info->ew[0] != '\0'), "%s: elementwise %d but ew '%s'", info->name, ew, info->ew);
        if (!ew) continue;
        n_ew++;
        ck_assert_msg(f == OPF_PURE || f == (OPF_PURE | OPF_COMMUTATIVE), "%s: elementwise but flags %#x",
                      info->name, f);
        ck_assert_msg(info->min_in == info->max_in && info->min_in >= 1, "%s: operand count", info->name);
        for (const char *c = info->ew; (c = strchr(c, '$')) != NULL;) {
            c++;
            if (*c >= '0' && *c <= '9') {
                long k = strtol(c, (char **)&c, 10);
                ck_assert_msg(k < info->min_in, "%s: ew reads $%ld of %d operands", info->name, k, info->min_in);
            } else {
                size_t len = strspn(c, "abcdefghijklmnopqrstuvwxyz_0123456789");
                char name[64] = "";
                ck_assert(len > 0 && len < sizeof name);
                memcpy(name, c, len);
                const AttrSpec *sp = op_attr_spec((OpCode)op, name);
                ck_assert_msg(sp && sp->kind == AK_FLOAT, "%s: ew reads $%s, not a float attribute", info->name, name);
                c += len;
            }
        }
    }
    ck_assert_int_eq(n_ew, 28);
    ck_assert_uint_eq(op_info(OP_INPUT)->flags, OPF_EXTERN);
    ck_assert_uint_eq(op_info(OP_HPARAM)->flags, OPF_EXTERN);
    ck_assert_uint_eq(op_info(OP_CONST)->flags, OPF_PURE);
    ck_assert_uint_eq(op_info(OP_DROPOUT_MASK)->flags, OPF_RANDOM);
    ck_assert_uint_eq(op_info(OP_ASSIGN)->flags, OPF_EFFECT);
    ck_assert_uint_eq(op_info(OP_MAXIMUM)->flags, OPF_PURE | OPF_COMMUTATIVE);
    ck_assert_uint_eq(op_info(OP_SUB)->flags, OPF_PURE);
    ck_assert_uint_eq(op_info(OP_ACCURACY)->flags, OPF_PURE | OPF_LABELS);
    ck_assert_uint_eq(op_info(OP_SPARSE_CATEGORICAL_CROSSENTROPY_GRAD)->flags, OPF_PURE | OPF_LABELS);
    ck_assert_uint_eq(op_info(OP_CATEGORICAL_CROSSENTROPY)->flags, OPF_PURE);
    /* the column's tokens respelled as the code generators' templates */
    ck_assert_str_eq(op_info(OP_LEAKY_RELU)->ew, "($0 > 0 ? $0 : $alpha * $0)");
    ck_assert_str_eq(op_info(OP_CLIP)->ew, "fmin(fmax($0, $min), $max)");
    ck_assert_str_eq(op_info(OP_GELU_GRAD)->ew, "($0 * (0.5 * (1 + erf($1 * 0.70710678118654752440)) + $1 * "
                                                "0.39894228040143267794 * exp(-0.5 * $1 * $1)))");
    ck_assert_str_eq(op_info(OP_CAST)->ew, "$0");
    ck_assert_str_eq(op_info(OP_MATMUL)->ew, "");
    ck_assert(op_is_elementwise(OP_RELU_GRAD) && op_is_elementwise(OP_ADD) && !op_is_elementwise(OP_SOFTMAX));
}
END_TEST

/* ======================================================================= */
/* builder                                                                 */

START_TEST(builder_nodes_and_getters) {
    ck_assert_str_eq(G->name, "t");
    ck_assert_int_eq(G->mode, MODE_TRAIN);
    Node *x = in_(TY(DT_F32, NB, 10));
    ck_assert_int_eq(x->id, 0);
    ck_assert_int_eq(x->offset, -1);
    Node *r = ir_unary(G, OP_RELU, x, SRCLOC_NONE);
    ck_assert_int_eq(r->id, 1);
    ck_assert_int_eq(G->next_id, 2);
    ck_assert_int_eq(G->nnodes, 2);
    ck_assert_int_eq(r->offset, -1);
    ck_assert_int_eq(r->fuse_group, 0);
    ck_assert_ptr_eq(r->in[0], x);

    /* defaults from the schema */
    Node *lr = ir_unary(G, OP_LEAKY_RELU, x, SRCLOC_NONE);
    ck_assert(!node_has_attr(lr, "alpha"));
    ck_assert_double_eq(node_attr_float(lr, "alpha"), 0.3);
    Node *sm = ir_unary(G, OP_SOFTMAX, x, SRCLOC_NONE);
    ck_assert_int_eq(node_attr_int(sm, "axis"), -1);
    Node *s = ir_unary(G, OP_SUM, x, SRCLOC_NONE);
    static const int64_t dummy[1];
    const int64_t *ax = dummy;
    ck_assert_int_eq(node_attr_ints(s, "axes", &ax), 0);
    ck_assert_ptr_null(ax);
    ck_assert_int_eq(node_attr_int(s, "keepdims"), 0);
    Node *p = param_("w", TY(DT_F32, 3));
    ck_assert_str_eq(node_attr_str(p, "init"), "zeros");

    /* attributes set, copied, in schema order; ints coerced to floats */
    int64_t axes[] = {1};
    Attr at[2] = {attr_bool("keepdims", true), attr_ints("axes", axes, 1)};
    Node *s2 = ir_node(G, OP_SUM, &x, 1, at, 2, SRCLOC_NONE);
    axes[0] = 99; /* the node holds its own copy */
    ck_assert_str_eq(s2->attrs[0].name, "axes");
    ck_assert_int_eq(node_attr_ints(s2, "axes", &ax), 1);
    ck_assert_int_eq(ax[0], 1);
    ck_assert_int_eq(node_attr_int(s2, "keepdims"), 1);
    ck_assert_str_eq(fmt(&s2->type), "f32[N,1]");
    Attr al = attr_int("alpha", 2);
    Node *e = ir_node(G, OP_ELU, &x, 1, &al, 1, SRCLOC_NONE);
    ck_assert_int_eq(e->attrs[0].kind, AK_FLOAT);
    ck_assert_double_eq(node_attr_float(e, "alpha"), 2.0);
    Attr dt = attr_dtype("dtype", DT_I32);
    Node *c = ir_node(G, OP_CAST, &x, 1, &dt, 1, SRCLOC_NONE);
    ck_assert_int_eq(node_attr_int(c, "dtype"), DT_I32);
    Attr init[2] = {attr_str("init", "uniform"), attr_float("low", -0.5)};
    Node *p2 = ir_param(G, "w2", TY(DT_F32, 2, 2), init, 2, SRCLOC_NONE);
    ck_assert_str_eq(node_attr_str(p2, "init"), "uniform");
    ck_assert_double_eq(node_attr_float(p2, "low"), -0.5);
    ck_assert_double_eq(node_attr_float(p2, "high"), 0);

    Node *h = ir_hparam(G, "lr", 0.01, SRCLOC_NONE);
    ck_assert_str_eq(fmt(&h->type), "f32[]");
    ck_assert_double_eq(node_attr_float(h, "value"), 0.01);
    Node *k = ir_const(G, DT_F64, 2.5, SRCLOC_NONE);
    ck_assert_str_eq(fmt(&k->type), "f64[]");
    ck_assert_ptr_null(k->name);
    ck_assert_ptr_eq(ir_find_leaf(G, "w2"), p2);
    ck_assert_ptr_eq(ir_find_leaf(G, "lr"), h);
    ck_assert_ptr_null(ir_find_leaf(G, "nope"));
    ck_assert_ptr_null(ir_verify(G));
}
END_TEST

START_TEST(builder_errors) {
    Node *x = in_(TY(DT_F32, NB, 10));
    Node *y = in_(TY(DT_F32, NB, 10));
    Node *xy[3] = {x, y, x};
    Node *out = NULL;
    int before = G->nnodes;
    const char *err = ir_node_try(G, OP_ADD, xy, 3, NULL, 0, SRCLOC_NONE, &out);
    ck_assert_str_eq(err, "add expects 2 operands, got 3");
    ck_assert_int_eq(G->nnodes, before); /* not appended */
    err = ir_node_try(G, OP_CONCAT, xy, 0, NULL, 0, SRCLOC_NONE, &out);
    ck_assert_str_eq(err, "concat expects at least 1 operand, got 0");
    Attr bad = attr_int("axis", 1);
    err = ir_node_try(G, OP_RELU, &x, 1, &bad, 1, SRCLOC_NONE, &out);
    ck_assert_str_eq(err, "relu has no attribute 'axis'");
    err = ir_node_try(G, OP_RESHAPE, &x, 1, NULL, 0, SRCLOC_NONE, &out);
    ck_assert_str_eq(err, "reshape requires the attribute 'shape'");
    Attr str = attr_str("axis", "x");
    err = ir_node_try(G, OP_SOFTMAX, &x, 1, &str, 1, SRCLOC_NONE, &out);
    ck_assert_str_eq(err, "softmax: attribute 'axis' must be an integer");
    Attr two[2] = {attr_int("axis", 1), attr_int("axis", 0)};
    err = ir_node_try(G, OP_SOFTMAX, &x, 1, two, 2, SRCLOC_NONE, &out);
    ck_assert_str_eq(err, "softmax: attribute 'axis' is given twice");
    Attr b2 = attr_int("trans_a", 2);
    err = ir_node_try(G, OP_MATMUL, xy, 2, &b2, 1, SRCLOC_NONE, &out);
    ck_assert_str_eq(err, "matmul: attribute 'trans_a' must be a boolean");
    ck_assert_int_eq(G->nnodes, before);
    ck_assert_int_eq(G->next_id, before);
}
END_TEST

/* a + a (fine), then a + b at m.nn:1:7 (an error). */
static void add_twice(Node *a, Node *b, SrcFile *f) {
    ir_binary(G, OP_ADD, a, a, SRCLOC_NONE);
    Node *ab[2] = {a, b};
    ir_node(G, OP_ADD, ab, 2, NULL, 0, (SrcLoc){f, 1, 7});
}

START_TEST(builder_user_error_recovers) {
    SrcFile *f = srcfile_from_string(&A, "m.nn", "y = a + b\n", 10);
    Node *a = in_(TY(DT_F32, NB, 784));
    Node *b = param_("b", TY(DT_F32, 512));
    FILE *cap = tmpfile();
    diag_set_stream(cap);
    diag_set_recover(&jb);
    if (setjmp(jb) == 0) {
        add_twice(a, b, f);
        ck_abort_msg("no error");
    }
    diag_set_recover(NULL);
    diag_set_stream(NULL);
    rewind(cap);
    size_t n = fread(captured, 1, sizeof captured - 1, cap);
    captured[n] = '\0';
    fclose(cap);
    ck_assert_str_eq(captured, "m.nn:1:7: error: cannot broadcast f32[N,784] and f32[512]\ny = a + b\n      ^\n");
}
END_TEST

START_TEST(builder_checked_ices) {
    diag_set_stream(fopen("/dev/null", "w"));
    Node *a = in_(TY(DT_F32, 3));
    Node *b = in_(TY(DT_F32, 4));
    ir_binary(G, OP_ADD, a, b, SRCLOC_NONE);
}
END_TEST

START_TEST(builder_leaf_with_batch_param_is_user_error) {
    diag_set_stream(fopen("/dev/null", "w"));
    param_("w", TY(DT_F32, NB, 3));
}
END_TEST

START_TEST(builder_rewrites) {
    Node *x = in_(TY(DT_F32, NB, 4));
    Node *a = ir_unary(G, OP_RELU, x, SRCLOC_NONE);
    Node *b = ir_unary(G, OP_TANH, a, SRCLOC_NONE);
    Node *c = ir_binary(G, OP_ADD, a, b, SRCLOC_NONE);
    Node *s = ir_unary(G, OP_SUM, c, SRCLOC_NONE);
    G->outputs = ARENA_NEW(&A, NamedValue);
    G->outputs[0] = (NamedValue){"y", c, SRCLOC_NONE};
    G->noutputs = 1;
    G->loss = s;
    int counts[16];
    ir_use_counts(G, counts);
    ck_assert_int_eq(counts[x->id], 1);
    ck_assert_int_eq(counts[a->id], 2);
    ck_assert_int_eq(counts[b->id], 1);
    ck_assert_int_eq(counts[c->id], 2); /* sum + output */
    ck_assert_int_eq(counts[s->id], 1); /* loss */

    /* replace a by sigmoid(a): users of a move, the new node keeps a */
    Node *sg = ir_unary(G, OP_SIGMOID, a, SRCLOC_NONE);
    ir_replace_uses(G, a, sg);
    ck_assert_ptr_eq(b->in[0], sg);
    ck_assert_ptr_eq(c->in[0], sg);
    ck_assert_ptr_eq(sg->in[0], a);
    /* the graph is no longer in order: sg comes after its users */
    const char *err = ir_verify(G);
    ck_assert_ptr_nonnull(err);
    ck_contains(err, "does not come before it");

    /* replace outputs and loss */
    ir_replace_uses(G, c, b);
    ck_assert_ptr_eq(G->outputs[0].node, b);
    ck_assert_ptr_eq(s->in[0], b);
    ck_assert_ptr_eq(G->loss, s);
}
END_TEST

START_TEST(builder_compact) {
    Node *x = in_(TY(DT_F32, NB, 4));
    Node *a = ir_unary(G, OP_RELU, x, SRCLOC_NONE);
    Node *b = ir_unary(G, OP_TANH, x, SRCLOC_NONE);
    Node *c = ir_unary(G, OP_EXP, b, SRCLOC_NONE);
    a->dead = true;
    ir_compact(G);
    ck_assert_int_eq(G->nnodes, 3);
    ck_assert_ptr_eq(G->nodes[0], x);
    ck_assert_ptr_eq(G->nodes[1], b);
    ck_assert_ptr_eq(G->nodes[2], c);
    ck_assert_int_eq(c->id, 3); /* ids kept */
    ck_assert_int_eq(G->next_id, 4);
    ck_assert_ptr_null(ir_verify(G));
}
END_TEST

/* ======================================================================= */
/* shape rules                                                             */

START_TEST(shape_broadcasting) {
    ck_assert_str_eq(ok2(OP_ADD, TY(DT_F32, NB, 512), TY(DT_F32, 512), NULL, 0), "f32[N,512]");
    ck_assert_str_eq(ok2(OP_MUL, TY(DT_F32, NB, 1), TY(DT_F32, 1, 7), NULL, 0), "f32[N,7]");
    ck_assert_str_eq(ok2(OP_SUB, TY(DT_F32, NB, 3), TY(DT_F32, NB, 3), NULL, 0), "f32[N,3]");
    ck_assert_str_eq(ok2(OP_SUB, TY(DT_F32, NB, 3), TY(DT_F32, 1, 3), NULL, 0), "f32[N,3]");
    ck_assert_str_eq(ok2(OP_DIV, TY(DT_F32, 1, 3), TY(DT_F32, NB, 1), NULL, 0), "f32[N,3]");
    ck_assert_str_eq(ok2(OP_POW, TY(DT_F32, 4, 1, 5), TY(DT_F32, 3, 1), NULL, 0), "f32[4,3,5]");
    ck_assert_str_eq(ok2(OP_MAXIMUM, TS(DT_F32), TY(DT_F32, NB, 2), NULL, 0), "f32[N,2]");
    ck_assert_str_eq(ok2(OP_ADD, TS(DT_F64), TS(DT_F64), NULL, 0), "f64[]");
    ck_assert_str_eq(ok2(OP_ADD, TY(DT_I32, NB), TY(DT_I32, NB), NULL, 0), "i32[N]");
    ck_assert_str_eq(err2(OP_ADD, TY(DT_F32, NB, 784), TY(DT_F32, 512), NULL, 0),
                     "cannot broadcast f32[N,784] and f32[512]");
    ck_assert_str_eq(err2(OP_ADD, TY(DT_F32, NB, 3), TY(DT_F32, 5, 3), NULL, 0),
                     "cannot broadcast f32[N,3] and f32[5,3]");
    /* N would not stay in dimension 0 */
    ck_assert_str_eq(err2(OP_ADD, TY(DT_F32, NB), TY(DT_F32, 3, 1), NULL, 0), "cannot broadcast f32[N] and f32[3,1]");
    ck_assert_str_eq(err2(OP_MUL, TY(DT_F32, NB, 10), TY(DT_I32, NB), NULL, 0), "dtype mismatch: f32[N,10] and i32[N]");
}
END_TEST

START_TEST(shape_unary) {
    ck_assert_str_eq(ok1(OP_RELU, TY(DT_F32, NB, 5), NULL, 0), "f32[N,5]");
    ck_assert_str_eq(ok1(OP_EXP, TS(DT_F64), NULL, 0), "f64[]");
    ck_assert_str_eq(err1(OP_LOG, TY(DT_I32, NB), NULL, 0), "log expects a floating-point operand, got i32[N]");
    ck_assert_str_eq(err1(OP_SIGMOID, TY(DT_U8, 3), NULL, 0), "sigmoid expects a floating-point operand, got u8[3]");
    Attr ax = attr_int("axis", 2);
    ck_assert_str_eq(err1(OP_SOFTMAX, TY(DT_F32, NB, 10), &ax, 1), "softmax: axis 2 is out of range for f32[N,10]");
    ax.i = -2;
    ck_assert_str_eq(ok1(OP_LOG_SOFTMAX, TY(DT_F32, NB, 10), &ax, 1), "f32[N,10]");
    ck_assert_str_eq(err1(OP_SOFTMAX, TS(DT_F32), NULL, 0), "softmax: axis -1 is out of range for f32[]");
    Attr rate = attr_float("rate", 0.5);
    ck_assert_str_eq(ok1(OP_DROPOUT_MASK, TY(DT_F32, NB, 4), &rate, 1), "f32[N,4]");
    rate.f = 1.0;
    ck_assert_str_eq(err1(OP_DROPOUT_MASK, TY(DT_F32, NB, 4), &rate, 1), "dropout_mask: the rate must be in [0, 1), got 1");
    Attr dt = attr_dtype("dtype", DT_F32);
    ck_assert_str_eq(ok1(OP_CAST, TY(DT_I32, NB), &dt, 1), "f32[N]");
    dt.i = DT_U8;
    ck_assert_str_eq(ok1(OP_CAST, TY(DT_F64, 2, 2), &dt, 1), "u8[2,2]");
}
END_TEST

START_TEST(shape_ew_same_rule) {
    ck_assert_str_eq(ok2(OP_RELU_GRAD, TY(DT_F32, NB, 5), TY(DT_F32, NB, 5), NULL, 0), "f32[N,5]");
    ck_assert_str_eq(err2(OP_TANH_GRAD, TY(DT_F32, NB, 5), TY(DT_F32, NB, 6), NULL, 0),
                     "tanh_grad: operand types differ: f32[N,5] and f32[N,6]");
    ck_assert_str_eq(err2(OP_SIGMOID_GRAD, TY(DT_F32, NB, 5), TY(DT_F64, NB, 5), NULL, 0),
                     "sigmoid_grad: operand types differ: f32[N,5] and f64[N,5]");
    ck_assert_str_eq(err2(OP_RELU_GRAD, TY(DT_I32, 5), TY(DT_I32, 5), NULL, 0),
                     "relu_grad expects a floating-point operand, got i32[5]");
    Attr ax = attr_int("axis", 3);
    ck_assert_str_eq(err2(OP_SOFTMAX_GRAD, TY(DT_F32, NB, 5), TY(DT_F32, NB, 5), &ax, 1),
                     "softmax_grad: axis 3 is out of range for f32[N,5]");
}
END_TEST

START_TEST(shape_matmul_rule) {
    Attr ta = attr_bool("trans_a", true), tb = attr_bool("trans_b", true);
    ck_assert_str_eq(ok2(OP_MATMUL, TY(DT_F32, NB, 784), TY(DT_F32, 784, 512), NULL, 0), "f32[N,512]");
    ck_assert_str_eq(ok2(OP_MATMUL, TY(DT_F64, 2, 3), TY(DT_F64, 3, 4), NULL, 0), "f64[2,4]");
    /* weight gradient x^T @ dy: contracts over N, static result */
    ck_assert_str_eq(ok2(OP_MATMUL, TY(DT_F32, NB, 784), TY(DT_F32, NB, 512), &ta, 1), "f32[784,512]");
    /* input gradient dy @ W^T */
    ck_assert_str_eq(ok2(OP_MATMUL, TY(DT_F32, NB, 512), TY(DT_F32, 784, 512), &tb, 1), "f32[N,784]");
    Attr both[2] = {ta, tb};
    ck_assert_str_eq(ok2(OP_MATMUL, TY(DT_F32, 3, 2), TY(DT_F32, 5, 3), both, 2), "f32[2,5]");
    ck_assert_str_eq(err2(OP_MATMUL, TY(DT_F32, NB, 784), TY(DT_F32, 512, 10), NULL, 0),
                     "matmul: inner dimensions differ: f32[N,784] @ f32[512,10]");
    ck_assert_str_eq(err2(OP_MATMUL, TY(DT_F32, NB, 784), TY(DT_F32, 784, 512), &ta, 1),
                     "matmul: inner dimensions differ: f32[N,784]^T @ f32[784,512]");
    /* B batched without trans_a */
    ck_assert_str_eq(err2(OP_MATMUL, TY(DT_F32, 4, 3), TY(DT_F32, NB, 5), NULL, 0),
                     "matmul: inner dimensions differ: f32[4,3] @ f32[N,5]");
    ck_assert_str_eq(err2(OP_MATMUL, TY(DT_F32, 4, 3), TY(DT_F32, NB, 3), &tb, 1),
                     "matmul: the batch dimension N cannot become a column dimension: f32[4,3] @ f32[N,3]^T");
    ck_assert_str_eq(err2(OP_MATMUL, TY(DT_F32, NB, 28, 28), TY(DT_F32, 784, 512), NULL, 0),
                     "matmul: operands must be 2-D matrices: f32[N,28,28] @ f32[784,512]");
    ck_assert_str_eq(err2(OP_MATMUL, TY(DT_F32, 2, 3), TY(DT_F64, 3, 4), NULL, 0),
                     "matmul: dtype mismatch: f32[2,3] @ f64[3,4]");
    ck_assert_str_eq(err2(OP_MATMUL, TY(DT_I32, 2, 3), TY(DT_I32, 3, 4), NULL, 0),
                     "matmul expects floating-point operands, got i32[2,3] @ i32[3,4]");
}
END_TEST

START_TEST(shape_reductions) {
    int64_t a1[] = {1}, am1[] = {-1}, a0[] = {0}, a02[] = {0, 2}, bad[] = {2}, dup[] = {1, -1};
    Attr keep = attr_bool("keepdims", true);
    Attr ax = attr_ints("axes", a1, 1);
    ck_assert_str_eq(ok1(OP_SUM, TY(DT_F32, NB, 10), NULL, 0), "f32[]");
    ck_assert_str_eq(ok1(OP_SUM, TY(DT_F32, NB, 10), &ax, 1), "f32[N]");
    Attr axk[2] = {ax, keep};
    ck_assert_str_eq(ok1(OP_MEAN, TY(DT_F32, NB, 10), axk, 2), "f32[N,1]");
    ax = attr_ints("axes", am1, 1);
    ck_assert_str_eq(ok1(OP_MAX, TY(DT_F32, 4, 5, 6), &ax, 1), "f32[4,5]");
    ax = attr_ints("axes", a0, 1);
    ck_assert_str_eq(ok1(OP_SUM, TY(DT_F32, NB, 10), &ax, 1), "f32[10]"); /* over the batch */
    axk[0] = ax;
    ck_assert_str_eq(ok1(OP_MEAN, TY(DT_F32, NB, 10), axk, 2), "f32[1,10]");
    ax = attr_ints("axes", a02, 2);
    ck_assert_str_eq(ok1(OP_SUM, TY(DT_I32, 2, 3, 4), &ax, 1), "i32[3]");
    ck_assert_str_eq(ok1(OP_SUM, TY(DT_F32, 2, 3), &keep, 1), "f32[1,1]");
    ax = attr_ints("axes", bad, 1);
    ck_assert_str_eq(err1(OP_SUM, TY(DT_F32, NB, 10), &ax, 1), "sum: axis 2 is out of range for f32[N,10]");
    ax = attr_ints("axes", dup, 2);
    ck_assert_str_eq(err1(OP_MAX, TY(DT_F32, NB, 10), &ax, 1), "max: axis -1 is listed twice");
    ck_assert_str_eq(err1(OP_MEAN, TY(DT_I32, NB), NULL, 0), "mean expects a floating-point operand, got i32[N]");

    /* max_grad (dy, x, y) */
    ax = attr_ints("axes", am1, 1);
    Node *x = in_(TY(DT_F32, NB, 10));
    Node *y = ir_node(G, OP_MAX, &x, 1, &ax, 1, SRCLOC_NONE);
    Node *dy = in_(TY(DT_F32, NB));
    Node *args[3] = {dy, x, y};
    TensorType t;
    ck_assert_ptr_null(try_op(OP_MAX_GRAD, args, 3, &ax, 1, &t));
    ck_assert_str_eq(fmt(&t), "f32[N,10]");
    args[0] = x;
    const char *err = try_op(OP_MAX_GRAD, args, 3, &ax, 1, &t);
    ck_assert_str_eq(err, "max_grad: expected dy and y of type f32[N] (max of f32[N,10]), got f32[N,10] and f32[N]");
}
END_TEST

START_TEST(shape_reshape_flatten) {
    int64_t s1[] = {-1, 784}, s2[] = {784}, s3[] = {-1, 700}, s4[] = {2, -1}, s5[] = {-1, -1}, s6[] = {3, 5},
            s7[] = {-1, 4, 7, 28}, s8[] = {-1, 5}, s9[] = {4, -3};
    Attr sh = attr_ints("shape", s1, 2);
    ck_assert_str_eq(ok1(OP_RESHAPE, TY(DT_F32, NB, 28, 28), &sh, 1), "f32[N,784]");
    sh = attr_ints("shape", s7, 4);
    ck_assert_str_eq(ok1(OP_RESHAPE, TY(DT_F32, NB, 784), &sh, 1), "f32[N,4,7,28]");
    sh = attr_ints("shape", s2, 1);
    ck_assert_str_eq(err1(OP_RESHAPE, TY(DT_F32, NB, 28, 28), &sh, 1),
                     "reshape: cannot reshape batched f32[N,28,28] to the static shape [784]; use -1 as the first "
                     "dimension to keep the batch dimension N");
    sh = attr_ints("shape", s3, 2);
    ck_assert_str_eq(err1(OP_RESHAPE, TY(DT_F32, NB, 28, 28), &sh, 1),
                     "reshape: cannot reshape f32[N,28,28] to [-1,700]: the element counts differ (784 and 700)");
    sh = attr_ints("shape", s4, 2);
    ck_assert_str_eq(ok1(OP_RESHAPE, TY(DT_F32, 4, 6), &sh, 1), "f32[2,12]");
    ck_assert_str_eq(err1(OP_RESHAPE, TY(DT_F32, NB, 6), &sh, 1),
                     "reshape: only the first dimension may be -1 (the batch N) when reshaping f32[N,6], got [2,-1]");
    sh = attr_ints("shape", s5, 2);
    ck_assert_str_eq(err1(OP_RESHAPE, TY(DT_F32, 4, 6), &sh, 1), "reshape: at most one dimension may be -1, got [-1,-1]");
    sh = attr_ints("shape", s6, 2);
    ck_assert_str_eq(ok1(OP_RESHAPE, TY(DT_F32, 15), &sh, 1), "f32[3,5]");
    ck_assert_str_eq(err1(OP_RESHAPE, TY(DT_F32, 16), &sh, 1),
                     "reshape: cannot reshape f32[16] to [3,5]: the element counts differ (16 and 15)");
    sh = attr_ints("shape", s8, 2);
    ck_assert_str_eq(err1(OP_RESHAPE, TY(DT_F32, 12), &sh, 1),
                     "reshape: cannot reshape f32[12] to [-1,5]: 12 elements do not divide evenly");
    sh = attr_ints("shape", s9, 2);
    ck_assert_str_eq(err1(OP_RESHAPE, TY(DT_F32, 12), &sh, 1), "reshape: invalid dimension -3 in the shape [4,-3]");

    ck_assert_str_eq(ok1(OP_FLATTEN, TY(DT_F32, NB, 28, 28), NULL, 0), "f32[N,784]");
    ck_assert_str_eq(ok1(OP_FLATTEN, TY(DT_F32, NB, 2, 3, 4), NULL, 0), "f32[N,24]");
    ck_assert_str_eq(ok1(OP_FLATTEN, TY(DT_F32, NB), NULL, 0), "f32[N,1]");
    ck_assert_str_eq(ok1(OP_FLATTEN, TY(DT_U8, 5, 2), NULL, 0), "u8[5,2]");
    ck_assert_str_eq(err1(OP_FLATTEN, TS(DT_F32), NULL, 0), "flatten expects an operand of rank 1 or more, got f32[]");
}
END_TEST

START_TEST(shape_dim_overflow) {
    int64_t big = (int64_t)1 << 30;
    /* each dim fits, the product does not */
    int64_t s[] = {big, big};
    Attr sh = attr_ints("shape", s, 2);
    ck_assert_str_eq(err1(OP_BROADCAST_TO, TS(DT_F32), &sh, 1),
                     "broadcast_to: f32[1073741824,1073741824] has too many elements (the limit is 2^40 per sample)");
    Node *x = in_(TY(DT_F32, 2));
    int64_t s2[] = {DLC_MAX_DIM + 1};
    sh = attr_ints("shape", s2, 1);
    const char *err = try_op(OP_BROADCAST_TO, &x, 1, &sh, 1, NULL);
    ck_assert_str_eq(err, "broadcast_to: dimension 1099511627777 is too large (the limit is 2^40)");
    Node *ins[2] = {in_(TY(DT_F32, (int64_t)1 << 39)), in_(TY(DT_F32, ((int64_t)1 << 39) + 1))};
    Attr ax = attr_int("axis", 0);
    err = try_op(OP_CONCAT, ins, 2, &ax, 1, NULL);
    ck_assert_str_eq(err, "concat: the result is too large");
}
END_TEST

START_TEST(shape_transpose_concat_slice) {
    ck_assert_str_eq(ok1(OP_TRANSPOSE, TY(DT_F32, 2, 3, 4), NULL, 0), "f32[4,3,2]");
    int64_t p1[] = {0, 2, 1}, p2[] = {1, 0}, p3[] = {0, 0, 1}, p4[] = {1, 0};
    Attr perm = attr_ints("perm", p1, 3);
    ck_assert_str_eq(ok1(OP_TRANSPOSE, TY(DT_F32, NB, 3, 4), &perm, 1), "f32[N,4,3]");
    ck_assert_str_eq(err1(OP_TRANSPOSE, TY(DT_F32, NB, 3), NULL, 0),
                     "transpose: the batch dimension N of f32[N,3] must stay first");
    perm = attr_ints("perm", p2, 2);
    ck_assert_str_eq(err1(OP_TRANSPOSE, TY(DT_F32, NB, 3, 4), &perm, 1),
                     "transpose: perm [1,0] does not match the rank of f32[N,3,4]");
    perm = attr_ints("perm", p3, 3);
    ck_assert_str_eq(err1(OP_TRANSPOSE, TY(DT_F32, 2, 3, 4), &perm, 1),
                     "transpose: perm [0,0,1] is not a permutation of the axes of f32[2,3,4]");
    perm = attr_ints("perm", p4, 2);
    ck_assert_str_eq(ok1(OP_TRANSPOSE, TY(DT_F32, 3, 4), &perm, 1), "f32[4,3]");

    Node *c3[3] = {in_(TY(DT_F32, NB, 3)), in_(TY(DT_F32, NB, 4)), in_(TY(DT_F32, NB, 1))};
    TensorType t;
    ck_assert_ptr_null(try_op(OP_CONCAT, c3, 3, NULL, 0, &t));
    ck_assert_str_eq(fmt(&t), "f32[N,8]");
    ck_assert_ptr_null(try_op(OP_CONCAT, c3, 1, NULL, 0, &t));
    ck_assert_str_eq(fmt(&t), "f32[N,3]");
    Attr ax0 = attr_int("axis", 0);
    ck_assert_str_eq(try_op(OP_CONCAT, c3, 2, &ax0, 1, NULL),
                     "concat: cannot concatenate along the batch dimension N of f32[N,3]");
    Node *st[2] = {c3[0], in_(TY(DT_F32, 5, 3))};
    ck_assert_str_eq(try_op(OP_CONCAT, st, 2, NULL, 0, NULL), "concat: f32[N,3] and f32[5,3] differ outside axis 1");
    Node *same[2] = {c3[0], c3[0]};
    ck_assert_str_eq(try_op(OP_CONCAT, same, 2, &ax0, 1, NULL),
                     "concat: cannot concatenate along the batch dimension N of f32[N,3]");
    Node *mix[2] = {c3[0], in_(TY(DT_I32, NB, 3))};
    ck_assert_str_eq(try_op(OP_CONCAT, mix, 2, NULL, 0, NULL), "concat: dtype mismatch: f32[N,3] and i32[N,3]");
    Node *rk[2] = {c3[0], in_(TY(DT_F32, NB, 3, 1))};
    ck_assert_str_eq(try_op(OP_CONCAT, rk, 2, NULL, 0, NULL), "concat: rank mismatch: f32[N,3] and f32[N,3,1]");
    Attr ax5 = attr_int("axis", 5);
    ck_assert_str_eq(try_op(OP_CONCAT, c3, 2, &ax5, 1, NULL), "concat: axis 5 is out of range for f32[N,3]");
    Node *sc = in_(TS(DT_F32));
    ck_assert_str_eq(try_op(OP_CONCAT, &sc, 1, NULL, 0, NULL), "concat expects operands of rank 1 or more, got f32[]");

    Attr sl[3] = {attr_int("axis", 1), attr_int("start", 2), attr_int("size", 3)};
    ck_assert_str_eq(ok1(OP_SLICE, TY(DT_F32, NB, 8), sl, 3), "f32[N,3]");
    sl[0].i = -1;
    ck_assert_str_eq(ok1(OP_SLICE, TY(DT_F32, 4, 5), sl, 3), "f32[4,3]");
    sl[2].i = 7;
    ck_assert_str_eq(err1(OP_SLICE, TY(DT_F32, NB, 8), sl, 3), "slice: [2, 9) is out of bounds for axis 1 of f32[N,8]");
    sl[0].i = 0;
    sl[2].i = 1;
    ck_assert_str_eq(err1(OP_SLICE, TY(DT_F32, NB, 8), sl, 3), "slice: cannot slice the batch dimension N of f32[N,8]");
    sl[0].i = 2;
    ck_assert_str_eq(err1(OP_SLICE, TY(DT_F32, NB, 8), sl, 3), "slice: axis 2 is out of range for f32[N,8]");
    Attr partial[2] = {attr_int("axis", 1), attr_int("start", 0)};
    ck_assert_str_eq(err1(OP_SLICE, TY(DT_F32, NB, 8), partial, 2), "slice requires the attribute 'size'");
}
END_TEST

START_TEST(shape_broadcast_to_sum_to) {
    int64_t s1[] = {-1, 512}, s2[] = {512}, s3[] = {1, 512}, s4[] = {4, 512}, s5[] = {-1, 3}, s6[] = {2, -2};
    Attr sh = attr_ints("shape", s1, 2);
    ck_assert_str_eq(ok1(OP_BROADCAST_TO, TY(DT_F32, 512), &sh, 1), "f32[N,512]");
    ck_assert_str_eq(ok1(OP_BROADCAST_TO, TS(DT_F32), &sh, 1), "f32[N,512]");
    ck_assert_str_eq(ok1(OP_BROADCAST_TO, TY(DT_F32, NB, 1), &sh, 1), "f32[N,512]");
    ck_assert_str_eq(err1(OP_BROADCAST_TO, TY(DT_F32, 3), &sh, 1), "broadcast_to: cannot broadcast f32[3] to f32[N,512]");
    sh = attr_ints("shape", s2, 1);
    ck_assert_str_eq(err1(OP_BROADCAST_TO, TY(DT_F32, NB, 512), &sh, 1),
                     "broadcast_to: cannot broadcast f32[N,512] to f32[512]");
    sh = attr_ints("shape", s6, 2);
    ck_assert_str_eq(err1(OP_BROADCAST_TO, TS(DT_F32), &sh, 1), "broadcast_to: invalid dimension -2 in the shape [2,-2]");

    sh = attr_ints("shape", s2, 1);
    ck_assert_str_eq(ok1(OP_SUM_TO, TY(DT_F32, NB, 512), &sh, 1), "f32[512]");
    sh = attr_ints("shape", s3, 2);
    ck_assert_str_eq(ok1(OP_SUM_TO, TY(DT_F32, NB, 512), &sh, 1), "f32[1,512]");
    sh = attr_ints("shape", s1, 2);
    ck_assert_str_eq(ok1(OP_SUM_TO, TY(DT_F32, NB, 512), &sh, 1), "f32[N,512]");
    sh = attr_ints("shape", NULL, 0);
    ck_assert_str_eq(ok1(OP_SUM_TO, TY(DT_F32, NB, 512), &sh, 1), "f32[]");
    sh = attr_ints("shape", s4, 2);
    ck_assert_str_eq(err1(OP_SUM_TO, TY(DT_F32, NB, 512), &sh, 1), "sum_to: cannot reduce f32[N,512] to f32[4,512]");
    sh = attr_ints("shape", s5, 2);
    ck_assert_str_eq(err1(OP_SUM_TO, TY(DT_F32, 4, 3), &sh, 1), "sum_to: cannot reduce f32[4,3] to f32[N,3]");
}
END_TEST

START_TEST(shape_losses_and_metrics) {
    Attr fl = attr_bool("from_logits", true);
    ck_assert_str_eq(ok2(OP_SPARSE_CATEGORICAL_CROSSENTROPY, TY(DT_F32, NB, 10), TY(DT_I32, NB), &fl, 1), "f32[]");
    ck_assert_str_eq(err2(OP_SPARSE_CATEGORICAL_CROSSENTROPY, TY(DT_F32, NB, 10), TY(DT_F32, NB, 10), NULL, 0),
                     "sparse_categorical_crossentropy: the labels must be i32[N] (class indices) for f32[N,10], got "
                     "f32[N,10]");
    ck_assert_str_eq(err2(OP_SPARSE_CATEGORICAL_CROSSENTROPY, TY(DT_F32, 8, 10), TY(DT_I32, 4), NULL, 0),
                     "sparse_categorical_crossentropy: the labels must be i32[8] (class indices) for f32[8,10], got "
                     "i32[4]");
    ck_assert_str_eq(err2(OP_SPARSE_CATEGORICAL_CROSSENTROPY, TY(DT_F32, NB), TY(DT_I32, NB), NULL, 0),
                     "sparse_categorical_crossentropy expects logits or probabilities of shape [N,C], got f32[N]");
    ck_assert_str_eq(err2(OP_SPARSE_CATEGORICAL_CROSSENTROPY, TY(DT_I32, NB, 3), TY(DT_I32, NB), NULL, 0),
                     "sparse_categorical_crossentropy expects floating-point logits or probabilities, got i32[N,3]");
    ck_assert_str_eq(ok2(OP_CATEGORICAL_CROSSENTROPY, TY(DT_F32, NB, 10), TY(DT_F32, NB, 10), NULL, 0), "f32[]");
    ck_assert_str_eq(ok2(OP_MEAN_SQUARED_ERROR, TY(DT_F64, NB, 1), TY(DT_F64, NB, 1), NULL, 0), "f64[]");
    ck_assert_str_eq(err2(OP_MEAN_SQUARED_ERROR, TY(DT_F32, NB, 1), TY(DT_F32, NB), NULL, 0),
                     "mean_squared_error: predictions f32[N,1] and targets f32[N] differ in shape");
    ck_assert_str_eq(err2(OP_BINARY_CROSSENTROPY, TY(DT_F32, NB), TY(DT_I32, NB), NULL, 0),
                     "binary_crossentropy: dtype mismatch: predictions f32[N] and targets i32[N]");
    ck_assert_str_eq(err2(OP_CATEGORICAL_CROSSENTROPY, TS(DT_F32), TS(DT_F32), NULL, 0),
                     "categorical_crossentropy expects a batch of predictions, got the scalar f32[]");

    /* loss gradients (x, target, dloss) */
    Node *x = in_(TY(DT_F32, NB, 10)), *lab = in_(TY(DT_I32, NB)), *d = in_(TS(DT_F32)), *dv = in_(TY(DT_F32, 1));
    Node *args[3] = {x, lab, d};
    TensorType t;
    ck_assert_ptr_null(try_op(OP_SPARSE_CATEGORICAL_CROSSENTROPY_GRAD, args, 3, &fl, 1, &t));
    ck_assert_str_eq(fmt(&t), "f32[N,10]");
    args[2] = dv;
    ck_assert_str_eq(try_op(OP_SPARSE_CATEGORICAL_CROSSENTROPY_GRAD, args, 3, NULL, 0, NULL),
                     "sparse_categorical_crossentropy_grad: the loss gradient must be the scalar f32[], got f32[1]");
    args[1] = x;
    args[2] = d;
    ck_assert_ptr_null(try_op(OP_MEAN_SQUARED_ERROR_GRAD, args, 3, NULL, 0, &t));
    ck_assert_str_eq(fmt(&t), "f32[N,10]");
    args[1] = lab;
    ck_assert_str_eq(try_op(OP_CATEGORICAL_CROSSENTROPY_GRAD, args, 3, NULL, 0, NULL),
                     "categorical_crossentropy_grad: dtype mismatch: predictions f32[N,10] and targets i32[N]");

    ck_assert_str_eq(ok2(OP_ACCURACY, TY(DT_F32, NB, 10), TY(DT_I32, NB), NULL, 0), "f32[]");
    ck_assert_str_eq(ok2(OP_ACCURACY, TY(DT_F32, NB, 10), TY(DT_F32, NB, 10), NULL, 0), "f32[]");
    ck_assert_str_eq(ok2(OP_ACCURACY, TY(DT_F64, NB, 1), TY(DT_F64, NB, 1), NULL, 0), "f32[]");
    ck_assert_str_eq(ok2(OP_ACCURACY, TY(DT_F32, NB), TY(DT_I32, NB), NULL, 0), "f32[]");
    ck_assert_str_eq(err2(OP_ACCURACY, TY(DT_F32, NB, 10), TY(DT_I32, 10), NULL, 0),
                     "accuracy: the labels i32[10] do not fit the predictions f32[N,10] (expected i32[N] or f32[N,10])");
    ck_assert_str_eq(err2(OP_ACCURACY, TY(DT_I32, NB, 10), TY(DT_I32, NB), NULL, 0),
                     "accuracy expects floating-point predictions, got i32[N,10]");
    ck_assert_str_eq(err2(OP_ACCURACY, TY(DT_F32, NB, 2, 2), TY(DT_I32, NB), NULL, 0),
                     "accuracy expects predictions of shape [N,C] or [N], got f32[N,2,2]");
}
END_TEST

START_TEST(shape_assign_rule) {
    Node *w = param_("w", TY(DT_F32, 3));
    Node *m = ir_state(G, "m", TY(DT_F32, 3), NULL, 0, SRCLOC_NONE);
    Node *v = in_(TY(DT_F32, 3));
    Node *v4 = in_(TY(DT_F32, 4));
    Node *a[2] = {w, v};
    TensorType t;
    ck_assert_ptr_null(try_op(OP_ASSIGN, a, 2, NULL, 0, &t));
    ck_assert_str_eq(fmt(&t), "f32[3]");
    a[0] = m;
    ck_assert_ptr_null(try_op(OP_ASSIGN, a, 2, NULL, 0, &t));
    a[1] = v4;
    ck_assert_str_eq(try_op(OP_ASSIGN, a, 2, NULL, 0, NULL), "assign: the value f32[4] does not match %m f32[3]");
    a[0] = v;
    a[1] = v;
    ck_assert_str_eq(try_op(OP_ASSIGN, a, 2, NULL, 0, NULL), "assign: the target must be a param or state, got input");
}
END_TEST

START_TEST(shape_leaves) {
    Node *c = ir_const(G, DT_F32, 1, SRCLOC_NONE);
    ck_assert_str_eq(op_info(OP_CONST)->shape(G, c) ? "err" : "ok", "ok");
    Node copy = *c;
    copy.type = TY(DT_F32, 2, NB);
    ck_assert_str_eq(op_info(OP_CONST)->shape(G, &copy),
                     "const: the batch dimension N may only be the first dimension, in f32[2,N]");
    Node *h = ir_hparam(G, "lr", 0.1, SRCLOC_NONE);
    copy = *h;
    copy.type = TY(DT_F32, 2);
    ck_assert_str_eq(op_info(OP_HPARAM)->shape(G, &copy),
                     "hparam %lr: a hyperparameter must be a floating-point scalar, got f32[2]");
    Node *s = ir_state(G, "st", TY(DT_F32, 2), NULL, 0, SRCLOC_NONE);
    copy = *s;
    copy.type = TY(DT_F32, NB, 2);
    ck_assert_str_eq(op_info(OP_STATE)->shape(G, &copy),
                     "state %st: the batch dimension N is only allowed on inputs, got f32[N,2]");
    copy.type = TY(DT_F32, -5);
    ck_assert_str_eq(op_info(OP_STATE)->shape(G, &copy), "state %st: negative dimension -5");
}
END_TEST

/* ======================================================================= */
/* verifier                                                                */

/* A small well-formed training graph. */
static Node *build_mlp(void) {
    Node *x = in_(TY(DT_F32, NB, 4));
    Node *lab = in_(TY(DT_I32, NB));
    Node *w = param_("w", TY(DT_F32, 4, 3));
    Node *b = param_("b", TY(DT_F32, 3));
    Node *h = ir_binary(G, OP_MATMUL, x, w, SRCLOC_NONE);
    h = ir_binary(G, OP_ADD, h, b, SRCLOC_NONE);
    Node *ls[2] = {h, lab};
    Node *loss = ir_node(G, OP_SPARSE_CATEGORICAL_CROSSENTROPY, ls, 2, NULL, 0, SRCLOC_NONE);
    G->loss = loss;
    Node *sm = ir_unary(G, OP_SOFTMAX, h, SRCLOC_NONE);
    G->outputs = ARENA_NEW(&A, NamedValue);
    G->outputs[0] = (NamedValue){"probs", sm, SRCLOC_NONE};
    G->noutputs = 1;
    Node *ab[2] = {w, w};
    Node *upd = ir_node(G, OP_ASSIGN, ab, 2, NULL, 0, SRCLOC_NONE);
    G->grad_params = ARENA_NEW_N(&A, Node *, 1);
    G->grads = ARENA_NEW_N(&A, Node *, 1);
    G->grad_params[0] = w;
    G->grads[0] = upd;
    G->ngrads = 1;
    return h;
}

START_TEST(verify_good) {
    build_mlp();
    ck_assert_ptr_null(ir_verify(G));
}
END_TEST

START_TEST(verify_order) {
    build_mlp();
    Node *t = G->nodes[4];
    G->nodes[4] = G->nodes[5];
    G->nodes[5] = t;
    ck_contains(ir_verify(G), "does not come before it");
}
END_TEST

START_TEST(verify_type) {
    Node *h = build_mlp();
    h->type.dims[1] = 4;
    ck_contains(ir_verify(G), "has type f32[N,4] but its shape rule gives f32[N,3]");
}
END_TEST

START_TEST(verify_operands_and_attrs) {
    Node *h = build_mlp();
    h->nin = 1;
    ck_contains(ir_verify(G), "has 1 operands");
    h->nin = 2;
    Attr bogus = attr_int("axis", 1);
    h->attrs = &bogus;
    h->nattrs = 1;
    ck_contains(ir_verify(G), "has attribute 'axis', not in the schema of add");
    h->nattrs = 0;
    Node *x = G->nodes[0];
    Node *r = ir_node(G, OP_ELU, &x, 1, NULL, 0, SRCLOC_NONE);
    Attr wrong = attr_int("alpha", 1);
    r->attrs = &wrong;
    r->nattrs = 1;
    ck_contains(ir_verify(G), "attribute 'alpha' has the wrong kind");
    r->nattrs = 0;
    int64_t sh[] = {-1, 4};
    Attr s = attr_ints("shape", sh, 2);
    Node *rs = ir_node(G, OP_RESHAPE, &x, 1, &s, 1, SRCLOC_NONE);
    rs->nattrs = 0;
    ck_contains(ir_verify(G), "lacks the required attribute 'shape'");
}
END_TEST

START_TEST(verify_names_ids_roles) {
    build_mlp();
    Node *b = ir_find_leaf(G, "b");
    b->name = "w";
    ck_contains(ir_verify(G), "the name %w is defined twice");
    b->name = "b";
    int id = G->nodes[3]->id;
    G->nodes[3]->id = G->nodes[2]->id;
    ck_contains(ir_verify(G), "is used twice");
    G->nodes[3]->id = id;
    b->name = NULL;
    ck_contains(ir_verify(G), "a param leaf has no name");
    b->name = "b";
    ck_assert_ptr_null(ir_verify(G));

    Node *stray = ARENA_NEW(&A, Node);
    *stray = *G->nodes[0];
    stray->id = 0;
    G->outputs[0].node = stray;
    ck_contains(ir_verify(G), "output 'probs' does not point into the graph");
    G->outputs[0].node = G->nodes[G->nnodes - 2];
    Node *loss = G->loss;
    G->loss = G->nodes[4];
    ck_contains(ir_verify(G), "the loss has type f32[N,3], not a float scalar");
    G->loss = loss;
    G->grad_params[0] = G->nodes[0];
    ck_contains(ir_verify(G), "with respect to a non-param");
    G->grad_params[0] = b;
    ck_contains(ir_verify(G), "the gradient of %b has type f32[4,3], not f32[3]");
    G->grad_params[0] = ir_find_leaf(G, "w");
    ck_assert_ptr_null(ir_verify(G));

    Node *upd = G->grads[0];
    upd->in[0] = G->nodes[4];
    ck_contains(ir_verify(G), "which is not a param or state");
    upd->in[0] = G->grad_params[0];
    G->nodes[4]->dead = true;
    ck_contains(ir_verify(G), "which is marked dead");
}
END_TEST

/* ======================================================================= */
/* printers and the shapes pass                                            */

static char *print_to_string(const Graph *g, bool dot) {
    FILE *f = tmpfile();
    if (dot) ir_print_dot(f, g);
    else ir_print_text(f, g);
    long n = ftell(f);
    rewind(f);
    char *s = arena_alloc(&A, (size_t)n + 1);
    ck_assert_int_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

START_TEST(print_text_format) {
    SrcFile *f = srcfile_from_string(&A, "models/mlp.nn", "", 0);
    Node *x = ir_input(G, "image", TY(DT_F32, NB, 4), (SrcLoc){f, 3, 1});
    Attr init[2] = {attr_str("init", "uniform"), attr_float("low", -0.05)};
    Node *w = ir_param(G, "dense_1.kernel", TY(DT_F32, 4, 3), init, 2, (SrcLoc){f, 8, 5});
    Node *h = ir_binary(G, OP_MATMUL, x, w, (SrcLoc){f, 8, 5});
    h->var = "h";
    Attr ax = attr_int("axis", -1);
    Node *p = ir_node(G, OP_SOFTMAX, &h, 1, &ax, 1, SRCLOC_NONE);
    p->fuse_group = 2;
    p->offset = 64;
    p->live_start = 1;
    p->live_end = 4;
    G->max_batch = 8;
    ir_const(G, DT_F32, 0.1, SRCLOC_NONE);
    ir_hparam(G, "learning_rate", 1e-7, SRCLOC_NONE);
    G->outputs = ARENA_NEW(&A, NamedValue);
    G->outputs[0] = (NamedValue){"probs", p, SRCLOC_NONE};
    G->noutputs = 1;
    G->train.present = true;
    G->train.optimizer = "sgd";
    Attr oa[2] = {attr_float("learning_rate", 0.01), attr_bool("nesterov", true)};
    G->train.opt_args = oa;
    G->train.nopt_args = 2;
    G->arena_bytes = 300;
    G->arena_lower_bound = 200;
    const char *want =
        "graph t (train)\n"
        "  # arena: 300 bytes, lower bound 200 bytes (1.50x)\n"
        "  input %image : f32[N,4]                                    # mlp.nn:3\n"
        "  param %dense_1.kernel : f32[4,3] = uniform(low=-0.05)      # mlp.nn:8\n"
        "  %0 = matmul %image, %dense_1.kernel : f32[N,3]             # mlp.nn:8 (h)\n"
        "  %1 = softmax %0 {axis=-1} : f32[N,3]                       # group=2 @64+96 live=[1,4]\n"
        "  %2 = const 0.1 : f32[]\n"
        "  hparam %learning_rate : f32[] = 1e-07\n"
        "  output probs = %1\n"
        "  train sgd(learning_rate=0.01, nesterov=true) batch_size=32 epochs=1 seed=0\n";
    char *got = print_to_string(G, false);
    ck_assert_str_eq(got, want);
    /* deterministic: the same bytes again */
    ck_assert_str_eq(print_to_string(G, false), got);
}
END_TEST

START_TEST(print_attrs_schema_order) {
    Node *x = in_(TY(DT_F32, NB, 4));
    int64_t ax[] = {1};
    Attr at[2] = {attr_ints("axes", ax, 1), attr_bool("keepdims", true)};
    Node *s = ir_node(G, OP_SUM, &x, 1, at, 2, SRCLOC_NONE);
    Attr swapped[2] = {s->attrs[1], s->attrs[0]}; /* as a careless pass might */
    s->attrs = swapped;
    ck_assert_ptr_null(ir_verify(G));
    ck_contains(print_to_string(G, false), "%0 = sum %x0 {axes=[1], keepdims=true} : f32[N,1]\n");
}
END_TEST

START_TEST(print_long_line_comment) {
    SrcFile *f = srcfile_from_string(&A, "m.nn", "", 0);
    Node *x = ir_input(G, "a_really_long_input_name_that_goes_on_and_on_and_on", TY(DT_F32, NB, 1000, 1000),
                       (SrcLoc){f, 1, 1});
    (void)x;
    char *got = print_to_string(G, false);
    ck_contains(got, "f32[N,1000,1000]  # m.nn:1\n");
}
END_TEST

START_TEST(print_dot_renders) {
    build_mlp();
    G->nodes[0]->var = "has \"quotes\" and \\";
    char *dot = print_to_string(G, true);
    ck_contains(dot, "digraph \"t\" {");
    ck_contains(dot, "has \\\"quotes\\\" and \\\\");
    ck_contains(dot, "label=\"matmul\\nf32[N,3]\"");
    ck_contains(dot, "label=\"output probs\"");
    ck_contains(dot, "peripheries=2");
    if (system("command -v dot >/dev/null 2>&1") == 0) {
        char path[] = "/tmp/dlc_test_dot_XXXXXX";
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, dot, strlen(dot)), (ssize_t)strlen(dot));
        close(fd);
        char cmd[256];
        snprintf(cmd, sizeof cmd, "dot -Tsvg %s >/dev/null 2>&1", path);
        int rc = system(cmd);
        unlink(path);
        ck_assert_int_eq(rc, 0);
    }
}
END_TEST

START_TEST(pass_shapes_keeps_types) {
    build_mlp();
    char *before = print_to_string(G, false);
    PassOptions o = {0};
    pass_shapes(G, &o);
    ck_assert_str_eq(print_to_string(G, false), before);
    ck_assert_ptr_null(ir_verify(G));
}
END_TEST

START_TEST(pass_shapes_refines_dims) {
    /* an input's static batch is changed; shapes propagates it */
    Node *x = in_(TY(DT_F32, 2, 4));
    Node *r = ir_unary(G, OP_RELU, x, SRCLOC_NONE);
    Node *s = ir_unary(G, OP_SUM, r, SRCLOC_NONE);
    x->type.dims[0] = 5;
    PassOptions o = {0};
    pass_shapes(G, &o);
    ck_assert_str_eq(fmt(&r->type), "f32[5,4]");
    ck_assert_str_eq(fmt(&s->type), "f32[]");
    ck_assert_ptr_null(ir_verify(G));
}
END_TEST

START_TEST(pass_shapes_ices_on_broken_graph) {
    diag_set_stream(fopen("/dev/null", "w"));
    Node *a = in_(TY(DT_F32, 3));
    Node *b = in_(TY(DT_F32, 3));
    ir_binary(G, OP_ADD, a, b, SRCLOC_NONE);
    b->type.dims[0] = 4;
    PassOptions o = {0};
    pass_shapes(G, &o);
}
END_TEST

static Suite *ir_suite(void) {
    Suite *s = suite_create("ir");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, arena_basics);
    tcase_add_test(tc, types_basics);
    tcase_add_test(tc, diag_located);
    tcase_add_test(tc, diag_tabs_and_bytes);
    tcase_add_test(tc, diag_long_line);
    tcase_add_test(tc, diag_srcloc_format);
    tcase_add_exit_test(tc, diag_error_exits_1, 1);
    tcase_add_exit_test(tc, diag_ice_exits_3, 3);
    tcase_add_test(tc, diag_ice_message);
    tcase_add_test(tc, srcfile_load_ok_and_missing);
    tcase_add_test(tc, ops_lookup);
    tcase_add_test(tc, ops_schema);
    tcase_add_test(tc, ops_domains);
    tcase_add_test(tc, ops_facts);
    tcase_add_test(tc, builder_nodes_and_getters);
    tcase_add_test(tc, builder_errors);
    tcase_add_test(tc, builder_user_error_recovers);
    tcase_add_exit_test(tc, builder_checked_ices, 3);
    tcase_add_exit_test(tc, builder_leaf_with_batch_param_is_user_error, 1);
    tcase_add_test(tc, builder_rewrites);
    tcase_add_test(tc, builder_compact);
    tcase_add_test(tc, shape_broadcasting);
    tcase_add_test(tc, shape_unary);
    tcase_add_test(tc, shape_ew_same_rule);
    tcase_add_test(tc, shape_matmul_rule);
    tcase_add_test(tc, shape_reductions);
    tcase_add_test(tc, shape_reshape_flatten);
    tcase_add_test(tc, shape_dim_overflow);
    tcase_add_test(tc, shape_transpose_concat_slice);
    tcase_add_test(tc, shape_broadcast_to_sum_to);
    tcase_add_test(tc, shape_losses_and_metrics);
    tcase_add_test(tc, shape_assign_rule);
    tcase_add_test(tc, shape_leaves);
    tcase_add_test(tc, verify_good);
    tcase_add_test(tc, verify_order);
    tcase_add_test(tc, verify_type);
    tcase_add_test(tc, verify_operands_and_attrs);
    tcase_add_test(tc, verify_names_ids_roles);
    tcase_add_test(tc, print_text_format);
    tcase_add_test(tc, print_attrs_schema_order);
    tcase_add_test(tc, print_long_line_comment);
    tcase_add_test(tc, print_dot_renders);
    tcase_add_test(tc, pass_shapes_keeps_types);
    tcase_add_test(tc, pass_shapes_refines_dims);
    tcase_add_exit_test(tc, pass_shapes_ices_on_broken_graph, 3);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return tu_run_suite(ir_suite());
}
