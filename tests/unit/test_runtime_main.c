/* test_runtime_main.c - dlrt_main end to end, on a real model written by
 * hand: softmax regression (16 inputs, 3 classes) with SGD + momentum,
 * implementing the dlrt_model interface exactly as generated code does
 * (arena from dlrt_arena_alloc, tensors pointing into it, momentum slots as
 * optimizer state).  The data is a small synthetic IDX dataset written
 * here (each class lights one region of a 4x4 image).
 *
 * Covered: argument errors (exit 2), train with progress lines, --log,
 * --trace, --save; eval --json; predict on IDX and .npy with -o;
 * --resume reproducing an uninterrupted run bit for bit; determinism;
 * --weights; bad data and bad checkpoints (exit 1). */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "runtime/dlrt.h"
#include "runtime/rt_ckpt.h"
#include "runtime/rt_npy.h"
#include "testutil.h"

/* ---- the model: softmax regression ------------------------------------- */

#define NIN 16
#define NCLS 3
#define MAXB 32

static float *arena;
static float *W, *Bv, *VW, *Vb, *G, *Gb, *P; /* params, momentum, grads, probs */
static double lr = 0.5;

static dlrt_tensor toy_tensors[4] = {
    {"dense.kernel", DLRT_F32, 2, {NIN, NCLS}, NULL},
    {"dense.bias", DLRT_F32, 1, {NCLS}, NULL},
    {"sgd.dense.kernel.momentum", DLRT_F32, 2, {NIN, NCLS}, NULL},
    {"sgd.dense.bias.momentum", DLRT_F32, 1, {NCLS}, NULL},
};

static int toy_setup(void)
{
    size_t n = 2 * (NIN * NCLS + NCLS) + NIN * NCLS + NCLS + MAXB * NCLS;
    arena = dlrt_arena_alloc(n * sizeof(float));
    if (!arena) return -1;
    W = arena;
    Bv = W + NIN * NCLS;
    VW = Bv + NCLS;
    Vb = VW + NIN * NCLS;
    G = Vb + NCLS;
    Gb = G + NIN * NCLS;
    P = Gb + NCLS;
    toy_tensors[0].data = W;
    toy_tensors[1].data = Bv;
    toy_tensors[2].data = VW;
    toy_tensors[3].data = Vb;
    return 0;
}

static void toy_teardown(void)
{
    dlrt_arena_free(arena);
    arena = NULL;
}

static void toy_init(uint64_t seed)
{
    dlrt_init_uniform(W, NIN * NCLS, -0.1f, 0.1f, dlrt_key(seed, 0));
    dlrt_init_constant(Bv, NCLS, 0);
    dlrt_init_constant(VW, NIN * NCLS, 0);
    dlrt_init_constant(Vb, NCLS, 0);
    lr = 0.5;
}

/* Forward: probabilities into P; returns the mean loss, writes accuracy. */
static float toy_forward(const float *x, const int32_t *y, int64_t n, float *acc)
{
    double loss = 0;
    int64_t right = 0;
    for (int64_t s = 0; s < n; s++) {
        float z[NCLS], mx = -INFINITY;
        for (int c = 0; c < NCLS; c++) {
            z[c] = Bv[c];
            for (int i = 0; i < NIN; i++) z[c] += x[s * NIN + i] * W[i * NCLS + c];
            if (z[c] > mx) mx = z[c];
        }
        double sum = 0;
        for (int c = 0; c < NCLS; c++) sum += exp(z[c] - mx);
        int best = 0;
        for (int c = 0; c < NCLS; c++) {
            P[s * NCLS + c] = (float)(exp(z[c] - mx) / sum);
            if (z[c] > z[best]) best = c;
        }
        if (y) {
            loss -= log(P[s * NCLS + y[s]] + 1e-12);
            right += best == y[s];
        }
    }
    *acc = (float)right / (float)n;
    return (float)(loss / (double)n);
}

static void toy_train(const float *x, const void *yv, int64_t n, uint64_t key, float *loss, float *metrics)
{
    (void)key;
    const int32_t *y = yv;
    *loss = toy_forward(x, y, n, &metrics[0]);
    memset(G, 0, sizeof(float) * (NIN * NCLS + NCLS));
    for (int64_t s = 0; s < n; s++)
        for (int c = 0; c < NCLS; c++) {
            float d = (P[s * NCLS + c] - (c == y[s])) / (float)n;
            Gb[c] += d;
            for (int i = 0; i < NIN; i++) G[i * NCLS + c] += x[s * NIN + i] * d;
        }
    for (int k = 0; k < NIN * NCLS; k++) {
        VW[k] = 0.9f * VW[k] + G[k];
        W[k] -= (float)lr * VW[k];
    }
    for (int c = 0; c < NCLS; c++) {
        Vb[c] = 0.9f * Vb[c] + Gb[c];
        Bv[c] -= (float)lr * Vb[c];
    }
}

static void toy_eval(const float *x, const void *y, int64_t n, float *loss, float *metrics)
{
    ck_assert_int_le(n, MAXB);
    *loss = toy_forward(x, y, n, &metrics[0]);
}

static void toy_predict(const float *x, float *out, int64_t n)
{
    float acc;
    toy_forward(x, NULL, n, &acc);
    memcpy(out, P, sizeof(float) * (size_t)(n * NCLS));
}

static void toy_set_lr(double v)
{
    lr = v;
}

static const char *const toy_metrics[] = {"accuracy"};

static const dlrt_model toy = {
    .name = "toy",
    .in_rank = 2,
    .in_dims = {4, 4},
    .in_size = NIN,
    .out_size = NCLS,
    .label_dtype = DLRT_I32,
    .label_size = 1,
    .max_batch = MAXB,
    .batch_size = 16,
    .epochs = 2,
    .seed = 1,
    .learning_rate = 0.5,
    .optimizer = "sgd",
    .nmetrics = 1,
    .metric_names = toy_metrics,
    .nparams = 2,
    .nstate = 2,
    .tensors = toy_tensors,
    .setup = toy_setup,
    .teardown = toy_teardown,
    .init_params = toy_init,
    .train_step = toy_train,
    .eval_step = toy_eval,
    .predict = toy_predict,
    .set_learning_rate = toy_set_lr,
};

/* The toy with a step that goes wrong at step poison_at (1-based, counted
 * in the child that runs it): POISON_LOSS returns a NaN loss (and makes
 * the weights NaN, as a diverging step does), POISON_INF an infinite loss,
 * POISON_WEIGHTS a finite loss but NaN weights (the last step of an epoch
 * can do that: only the test loss shows it). */
enum { POISON_LOSS, POISON_INF, POISON_WEIGHTS };
static int64_t poison_at;
static int poison_kind;

static void toy_train_poisoned(const float *x, const void *y, int64_t n, uint64_t key, float *loss, float *metrics)
{
    static int64_t steps;
    toy_train(x, y, n, key, loss, metrics);
    if (++steps != poison_at) return;
    if (poison_kind != POISON_INF) W[0] = NAN;
    if (poison_kind == POISON_LOSS) *loss = NAN;
    if (poison_kind == POISON_INF) *loss = INFINITY;
}

/* The model run() runs. */
static const dlrt_model *model = &toy;

/* ---- files and running ------------------------------------------------- */

static char dir[512], data[600];

static const char *tp(const char *name)
{
    static char buf[8][800];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* Writes an IDX u8 file (gzip'd when the name ends in .gz). */
static void write_idx(const char *path, int rank, const uint32_t *dims, const uint8_t *p)
{
    size_t numel = 1;
    unsigned char head[4 + 4 * 4] = {0, 0, 8, (unsigned char)rank};
    for (int k = 0; k < rank; k++) {
        numel *= dims[k];
        head[4 + 4 * k] = (unsigned char)(dims[k] >> 24);
        head[5 + 4 * k] = (unsigned char)(dims[k] >> 16);
        head[6 + 4 * k] = (unsigned char)(dims[k] >> 8);
        head[7 + 4 * k] = (unsigned char)dims[k];
    }
    gzFile f = gzopen(path, strstr(path, ".gz") ? "wb" : "wbT");
    ck_assert_ptr_nonnull(f);
    gzwrite(f, head, (unsigned)(4 + 4 * rank));
    gzwrite(f, p, (unsigned)numel);
    ck_assert_int_eq(gzclose(f), Z_OK);
}

/* n samples of class c lighting rows c of the 4x4 image (plus noise). */
static void write_split(const char *prefix, uint32_t n, int gz)
{
    uint8_t *img = malloc(n * NIN), *lab = malloc(n);
    for (uint32_t s = 0; s < n; s++) {
        int c = (int)(dlrt_uniform01(77, s) * NCLS);
        lab[s] = (uint8_t)c;
        for (int i = 0; i < NIN; i++) {
            int bright = i / 4 == c;
            img[s * NIN + i] = (uint8_t)((bright ? 150 : 0) + dlrt_uniform01(78, s * NIN + (uint32_t)i) * 100);
        }
    }
    char p[900];
    uint32_t idims[3] = {n, 4, 4}, ldims[1] = {n};
    snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte%s", data, prefix, gz ? ".gz" : "");
    write_idx(p, 3, idims, img);
    snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte%s", data, prefix, gz ? ".gz" : "");
    write_idx(p, 1, ldims, lab);
    free(img);
    free(lab);
}

static void setup_dir(void)
{
    tu_make_tmpdir(dir, sizeof dir, "rt-main");
    snprintf(data, sizeof data, "%s/data", dir);
    ck_assert_int_eq(mkdir(data, 0755), 0);
    write_split("train", 150, 1);
    write_split("t10k", 60, 0);
}

static void remove_dir(void)
{
    tu_remove_tmpdir(dir);
}

static char out_text[1 << 16], err_text[1 << 16];

static void slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    buf[n] = '\0';
    if (f) fclose(f);
}

/* Runs dlrt_main(&toy, "toy", args...) in a child with stdout and stderr
 * captured into out_text / err_text; returns the exit status. */
static int run(const char *first, ...)
{
    char *argv[64];
    int argc = 0;
    argv[argc++] = "./toy";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *)) argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    char op[800], ep[800];
    snprintf(op, sizeof op, "%s/stdout", dir);
    snprintf(ep, sizeof ep, "%s/stderr", dir);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0644), e = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(o, 1);
        dup2(e, 2);
        int rc = dlrt_main(model, argc, argv);
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }
    int ws;
    waitpid(pid, &ws, 0);
    slurp(op, out_text, sizeof out_text);
    slurp(ep, err_text, sizeof err_text);
    ck_assert_msg(WIFEXITED(ws), "dlrt_main crashed; stderr: %s", err_text);
    return WEXITSTATUS(ws);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static int same_file(const char *a, const char *b)
{
    static char x[1 << 16], y[1 << 16];
    FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
    if (!f || !g) {
        if (f) fclose(f);
        if (g) fclose(g);
        return 0;
    }
    size_t n = fread(x, 1, sizeof x, f), m = fread(y, 1, sizeof y, g);
    fclose(f);
    fclose(g);
    return n == m && memcmp(x, y, n) == 0;
}

#define EXPECT_USAGE(msg, ...)                                                                       \
    do {                                                                                             \
        ck_assert_int_eq(run(__VA_ARGS__, NULL), 2);                                                 \
        ck_assert_msg(strstr(err_text, msg) != NULL, "stderr '%s' lacks '%s'", err_text, msg);       \
    } while (0)

/* ---- tests ------------------------------------------------------------- */

START_TEST(usage_errors)
{
    setup_dir();
    ck_assert_int_eq(run(NULL), 2);
    ck_assert_ptr_nonnull(strstr(err_text, "no command"));
    EXPECT_USAGE("unknown command 'fly'", "fly");
    EXPECT_USAGE("unknown option '--bogus' for train", "train", "--bogus");
    EXPECT_USAGE("unknown option '--json' for train", "train", "--json");
    EXPECT_USAGE("--epochs needs a value", "train", "--epochs");
    EXPECT_USAGE("--epochs expects an integer, not 'five'", "train", "--epochs", "five");
    EXPECT_USAGE("--epochs expects an integer, not '3x'", "train", "--epochs=3x");
    EXPECT_USAGE("--epochs must be non-negative, not -2", "train", "--epochs", "-2");
    EXPECT_USAGE("--batch-size must be positive", "train", "--batch-size", "0");
    EXPECT_USAGE("--learning-rate expects a number", "train", "--learning-rate", "fast");
    EXPECT_USAGE("--learning-rate must be positive", "train", "--learning-rate", "-1");
    EXPECT_USAGE("--quiet takes no value", "train", "--quiet=yes");
    EXPECT_USAGE("train takes no argument 'extra'", "train", "extra");
    EXPECT_USAGE("--resume and --weights cannot be combined", "train", "--resume", "a", "--weights", "b");
    EXPECT_USAGE("eval needs --weights FILE", "eval");
    EXPECT_USAGE("predict needs an INPUT file", "predict", "--weights", "w");
    EXPECT_USAGE("predict takes one INPUT file", "predict", "--weights", "w", "a", "b");
    EXPECT_USAGE("rebuild it with `dlc build --max-batch 64`", "train", "--data", data, "--batch-size", "64");
    /* help */
    ck_assert_int_eq(run("--help", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "usage: toy COMMAND"));
    ck_assert_int_eq(run("train", "--help", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "--max-steps N"));
    ck_assert_int_eq(run("eval", "-h", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "--json"));
    ck_assert_int_eq(run("predict", "--help", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "-o, --output"));
    remove_dir();
}
END_TEST

START_TEST(train_eval_predict)
{
    setup_dir();
    int rc = run("train", "--data", data, "--epochs", "3", "--save", tp("w.st"), "--log", tp("h.csv"), "--trace",
                 tp("t.csv"), "--seed", "3", NULL);
    ck_assert_msg(rc == 0, "stderr: %s", err_text);
    /* not a terminal: one plain line per epoch, then the test result */
    ck_assert_ptr_nonnull(strstr(out_text, "epoch 1/3 - "));
    ck_assert_ptr_nonnull(strstr(out_text, "epoch 3/3 - "));
    ck_assert_ptr_nonnull(strstr(out_text, " - loss: "));
    ck_assert_ptr_nonnull(strstr(out_text, " - val_accuracy: "));
    ck_assert_ptr_null(strchr(out_text, '\r'));
    ck_assert_int_eq(count_lines(out_text), 4);
    const char *t = strstr(out_text, "test - loss: ");
    ck_assert_ptr_nonnull(t);
    double acc = atof(strstr(t, "accuracy: ") + 10);
    ck_assert_msg(acc > 0.9, "accuracy %g: %s", acc, out_text);

    /* the history */
    char buf[4096];
    slurp(tp("h.csv"), buf, sizeof buf);
    ck_assert_int_eq(strncmp(buf, "epoch,seconds,loss,accuracy,val_loss,val_accuracy\n1,", 52), 0);
    ck_assert_int_eq(count_lines(buf), 4);
    ck_assert_ptr_nonnull(strstr(buf, "\n3,"));
    /* the trace: 10 steps per epoch (150 / 16 rounded up), 1-based */
    static char tr[1 << 14];
    slurp(tp("t.csv"), tr, sizeof tr);
    ck_assert_int_eq(strncmp(tr, "step,loss\n1,", 12), 0);
    ck_assert_int_eq(count_lines(tr), 31);
    ck_assert_ptr_nonnull(strstr(tr, "\n30,"));

    /* eval --json: exactly one line, the same figures */
    ck_assert_int_eq(run("eval", "--weights", tp("w.st"), "--data", data, "--json", NULL), 0);
    ck_assert_int_eq(count_lines(out_text), 1);
    double l, a;
    ck_assert_int_eq(sscanf(out_text, "{\"loss\":%lf,\"accuracy\":%lf}", &l, &a), 2);
    ck_assert_double_eq_tol(a, acc, 1e-4);
    ck_assert_int_eq(run("eval", "--weights", tp("w.st"), "--data", data, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "loss: "));

    /* predict on the IDX test images, with -o */
    char img[900];
    snprintf(img, sizeof img, "%s/t10k-images-idx3-ubyte", data);
    ck_assert_int_eq(run("predict", "--weights", tp("w.st"), img, "-o", tp("p.npy"), NULL), 0);
    ck_assert_int_eq(count_lines(out_text), 60);
    dlrt_npy p;
    dlrt_err e;
    ck_assert_int_eq(dlrt_npy_read(tp("p.npy"), &p, &e), 0);
    ck_assert_int_eq(p.rank, 2);
    ck_assert_int_eq(p.dims[0], 60);
    ck_assert_int_eq(p.dims[1], 3);
    const float *pr = p.data;
    ck_assert_float_eq_tol(pr[0] + pr[1] + pr[2], 1.0f, 1e-5f);
    int first = (int)strtol(out_text, NULL, 10);
    int best = pr[1] > pr[0] ? 1 : 0;
    if (pr[2] > pr[best]) best = 2;
    ck_assert_int_eq(first, best);
    dlrt_npy_free(&p);

    /* predict on a .npy: one sample without the batch dim, u8 and f32 */
    uint8_t one[NIN] = {0};
    for (int i = 8; i < 12; i++) one[i] = 220; /* class 2 */
    int64_t d2[2] = {4, 4};
    ck_assert_int_eq(dlrt_npy_write(tp("one.npy"), DLRT_U8, 2, d2, one, &e), 0);
    ck_assert_int_eq(run("predict", "--weights", tp("w.st"), tp("one.npy"), NULL), 0);
    ck_assert_str_eq(out_text, "2\n");
    float two[2 * NIN] = {0};
    for (int i = 0; i < 4; i++) two[i] = 0.9f;            /* class 0 */
    for (int i = 4; i < 8; i++) two[NIN + i] = 0.9f;      /* class 1 */
    int64_t d3[3] = {2, 4, 4};
    ck_assert_int_eq(dlrt_npy_write(tp("two.npy"), DLRT_F32, 3, d3, two, &e), 0);
    ck_assert_int_eq(run("predict", "--weights", tp("w.st"), tp("two.npy"), NULL), 0);
    ck_assert_str_eq(out_text, "0\n1\n");
    int64_t d1[1] = {5};
    ck_assert_int_eq(dlrt_npy_write(tp("odd.npy"), DLRT_F32, 1, d1, two, &e), 0);
    ck_assert_int_eq(run("predict", "--weights", tp("w.st"), tp("odd.npy"), NULL), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "odd.npy has shape (5,) but model 'toy' takes samples of shape (4, 4): "
                                           "expected (N, 4, 4), or (4, 4) for one sample\n"));
    remove_dir();
}
END_TEST

START_TEST(resume_reproduces)
{
    setup_dir();
    /* 4 epochs straight */
    ck_assert_int_eq(run("train", "--data", data, "--epochs", "4", "--seed", "9", "--save", tp("full.st"), "--quiet",
                         NULL),
                     0);
    /* 2 epochs, then resumed to 4 (the seed comes from the checkpoint) */
    ck_assert_int_eq(run("train", "--data", data, "--epochs", "2", "--seed", "9", "--save", tp("part.st"), "--log",
                         tp("h.csv"), "--quiet", NULL),
                     0);
    ck_assert_int_eq(run("train", "--data", data, "--epochs", "4", "--resume", tp("part.st"), "--save",
                         tp("part.st"), "--log", tp("h.csv"), "--quiet", NULL),
                     0);
    ck_assert_msg(same_file(tp("full.st"), tp("part.st")), "resumed run differs from the uninterrupted one");
    char buf[4096];
    slurp(tp("h.csv"), buf, sizeof buf);
    ck_assert_int_eq(count_lines(buf), 5); /* header + 2 + 2 rows */
    ck_assert_ptr_nonnull(strstr(buf, "\n4,"));
    /* batch size and learning rate given on the first run are restored too */
    ck_assert_int_eq(run("train", "--data", data, "--epochs", "3", "--batch-size", "8", "--learning-rate", "0.2",
                         "--save", tp("full8.st"), "--quiet", NULL),
                     0);
    ck_assert_int_eq(run("train", "--data", data, "--epochs", "1", "--batch-size", "8", "--learning-rate", "0.2",
                         "--save", tp("part8.st"), "--quiet", NULL),
                     0);
    ck_assert_int_eq(run("train", "--data", data, "--epochs", "3", "--resume", tp("part8.st"), "--save",
                         tp("part8.st"), "--quiet", NULL),
                     0);
    ck_assert_msg(same_file(tp("full8.st"), tp("part8.st")), "resumed run lost its batch size or learning rate");
    /* determinism: the same seed gives the same bits, another seed others */
    ck_assert_int_eq(run("train", "--data", data, "--epochs", "4", "--seed", "9", "--save", tp("again.st"),
                         "--quiet", NULL),
                     0);
    ck_assert(same_file(tp("full.st"), tp("again.st")));
    ck_assert_int_eq(run("train", "--data", data, "--epochs", "4", "--seed", "10", "--save", tp("other.st"),
                         "--quiet", NULL),
                     0);
    ck_assert(!same_file(tp("full.st"), tp("other.st")));
    /* resuming a finished run trains nothing */
    ck_assert_int_eq(run("train", "--data", data, "--epochs", "4", "--resume", tp("full.st"), NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "nothing to train"));
    remove_dir();
}
END_TEST

START_TEST(steps_weights_and_lr)
{
    setup_dir();
    ck_assert_int_eq(run("train", "--data", data, "--no-shuffle", "--max-steps", "5", "--trace", tp("t.csv"),
                         "--save", tp("a.st"), "--quiet", NULL),
                     0);
    static char tr[1 << 14];
    slurp(tp("t.csv"), tr, sizeof tr);
    ck_assert_int_eq(count_lines(tr), 6);
    ck_assert_ptr_nonnull(strstr(tr, "\n5,"));
    /* --weights: parameters from the file, fresh momentum: a new run from
       a.st differs from resuming it */
    ck_assert_int_eq(run("train", "--data", data, "--epochs", "1", "--weights", tp("a.st"), "--save", tp("b.st"),
                         "--quiet", NULL),
                     0);
    /* --learning-rate changes the trajectory */
    ck_assert_int_eq(run("train", "--data", data, "--epochs", "1", "--weights", tp("a.st"), "--learning-rate",
                         "0.01", "--save", tp("c.st"), "--quiet", NULL),
                     0);
    ck_assert(!same_file(tp("b.st"), tp("c.st")));
    /* --epochs 0 evaluates and saves the initial weights */
    ck_assert_int_eq(run("train", "--data", data, "--epochs", "0", "--save", tp("z.st"), NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "test - loss: "));
    remove_dir();
}
END_TEST

START_TEST(bad_inputs)
{
    setup_dir();
    ck_assert_int_eq(run("train", "--data", tp("nowhere"), NULL), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "toy: error: cannot find"));
    ck_assert_int_eq(run("eval", "--weights", tp("none.st"), "--data", data, NULL), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "cannot open"));
    /* a checkpoint of another model */
    float w[NIN * NCLS] = {0};
    dlrt_tensor t = {"dense.kernel", DLRT_F32, 2, {NIN, NCLS}, w};
    const char *meta[] = {"model", "mnist_mlp"};
    dlrt_err e;
    ck_assert_int_eq(dlrt_st_write(tp("other.st"), &t, 1, meta, 1, &e), 0);
    ck_assert_int_eq(run("eval", "--weights", tp("other.st"), "--data", data, NULL), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "is a checkpoint of model 'mnist_mlp', not of 'toy'"));
    /* --resume from parameters without optimizer state suggests --weights */
    float bz[NCLS] = {0};
    dlrt_tensor pt[2] = {t, {"dense.bias", DLRT_F32, 1, {NCLS}, bz}};
    ck_assert_int_eq(dlrt_st_write(tp("params.st"), pt, 2, NULL, 0, &e), 0);
    ck_assert_int_eq(run("train", "--data", data, "--resume", tp("params.st"), NULL), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "no tensor 'sgd.dense.kernel.momentum'"));
    ck_assert_ptr_nonnull(strstr(err_text, "use --weights"));
    ck_assert_int_eq(run("train", "--data", data, "--weights", tp("params.st"), "--epochs", "1", "--quiet", NULL), 0);
    /* a truncated checkpoint (the tail cut off) */
    ck_assert_int_eq(run("train", "--data", data, "--epochs", "1", "--save", tp("w.st"), "--quiet", NULL), 0);
    FILE *f = fopen(tp("w.st"), "rb");
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    f = fopen(tp("cut.st"), "wb");
    fwrite(buf, 1, n - 10, f);
    fclose(f);
    ck_assert_int_eq(run("predict", "--weights", tp("cut.st"), tp("w.st"), NULL), 1);
    ck_assert_int_eq(run("train", "--data", data, "--resume", tp("cut.st"), NULL), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "out of range"));
    /* garbage as predict input */
    f = fopen(tp("junk"), "wb");
    fputs("hello", f);
    fclose(f);
    ck_assert_int_eq(run("predict", "--weights", tp("w.st"), tp("junk"), NULL), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "bad magic"));
    /* a --save into a missing folder fails cleanly */
    ck_assert_int_eq(run("train", "--data", data, "--epochs", "1", "--save", tp("no/dir/w.st"), "--quiet", NULL), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "cannot write"));
    /* images and labels that disagree */
    uint32_t d[1] = {7};
    uint8_t lab[7] = {0};
    char p[900];
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte", data);
    write_idx(p, 1, d, lab);
    ck_assert_int_eq(run("eval", "--weights", tp("w.st"), "--data", data, NULL), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "has 60 samples but"));
    remove_dir();
}
END_TEST

/* A loss that is not finite stops training (exit 1) naming the step and
 * epoch, and --save keeps the last good checkpoint (Keras' TerminateOnNaN). */
START_TEST(nonfinite_loss_stops)
{
    setup_dir();
    ck_assert_int_eq(run("train", "--data", data, "--epochs", "1", "--save", tp("one.st"), "--quiet", NULL), 0);
    dlrt_model poisoned = toy;
    poisoned.train_step = toy_train_poisoned;
    model = &poisoned;
    /* NaN at the 5th of the 10 batches of epoch 2: epoch 1's checkpoint stays */
    poison_at = 15;
    poison_kind = POISON_LOSS;
    ck_assert_int_eq(run("train", "--data", data, "--epochs", "3", "--save", tp("w.st"), "--trace", tp("t.csv"),
                         "--quiet", NULL),
                     1);
    char want[2048];
    snprintf(want, sizeof want,
             "toy: error: the loss is nan at step 15 (epoch 2, batch 5 of 10); training stopped: %s keeps the "
             "checkpoint of epoch 1 (is the learning rate too large?)\n",
             tp("w.st"));
    ck_assert_str_eq(err_text, want);
    ck_assert_str_eq(out_text, "");
    ck_assert_msg(same_file(tp("w.st"), tp("one.st")), "the checkpoint of epoch 1 was overwritten");
    static char tr[1 << 14];
    slurp(tp("t.csv"), tr, sizeof tr);
    ck_assert_int_eq(count_lines(tr), 16); /* the header, steps 1 to 15 */
    /* an infinite loss, nothing saved yet, no --save */
    poison_at = 3;
    poison_kind = POISON_INF;
    ck_assert_int_eq(run("train", "--data", data, "--quiet", NULL), 1);
    ck_assert_str_eq(err_text, "toy: error: the loss is inf at step 3 (epoch 1, batch 3 of 10); training stopped "
                               "(is the learning rate too large?)\n");
    /* NaN weights after the last step of epoch 1: the test loss shows it,
       and nothing is saved */
    poison_at = 10;
    poison_kind = POISON_WEIGHTS;
    ck_assert_int_eq(run("train", "--data", data, "--save", tp("w2.st"), "--quiet", NULL), 1);
    snprintf(want, sizeof want,
             "toy: error: the test loss after epoch 1 is nan; training stopped: nothing was saved to %s (is the "
             "learning rate too large?)\n",
             tp("w2.st"));
    ck_assert_str_eq(err_text, want);
    ck_assert_int_eq(access(tp("w2.st"), F_OK), -1);
    model = &toy;
    remove_dir();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("runtime_main");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, usage_errors);
    tcase_add_test(tc, train_eval_predict);
    tcase_add_test(tc, resume_reproduces);
    tcase_add_test(tc, steps_weights_and_lr);
    tcase_add_test(tc, bad_inputs);
    tcase_add_test(tc, nonfinite_loss_stops);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
