/* dlrt.h - the dlc runtime: what generated training/inference programs link.
 *
 * The runtime knows nothing of the compiler.  Generated code describes the
 * model it implements with a dlrt_model (sizes, persistent tensors, entry
 * points) and hands it to dlrt_main(), which implements the program's
 * command line: train / eval / predict, data loading (IDX, gzip'd or not;
 * .npy), shuffling and batching, the progress line, the CSV history and
 * checkpoints (safetensors, written atomically).
 *
 * Generated code also calls the helpers below (initializers, dropout masks,
 * the arena, the matrix products) from its kernels.  All functions are
 * thread-compatible; none allocates inside a training step but the first
 * parallel product, which starts the thread pool (runtime/threads.c).
 */
#ifndef DLRT_H
#define DLRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DLRT_MAX_RANK 8

typedef enum { DLRT_F32 = 0, DLRT_F64, DLRT_I32, DLRT_U8 } dlrt_dtype;

/* A persistent tensor of the model (a parameter or an optimizer slot). */
typedef struct dlrt_tensor {
    const char *name;              /* checkpoint name, e.g. "dense_1.kernel" */
    dlrt_dtype dtype;
    int rank;
    int64_t dims[DLRT_MAX_RANK];   /* static: persistent tensors have no N */
    void *data;                    /* set by the model's setup() */
} dlrt_tensor;

/* The description of a compiled model, filled in by generated code. */
typedef struct dlrt_model {
    const char *name;              /* model name */
    /* ---- data ---- */
    int in_rank;                   /* per-sample input dims (without N) */
    int64_t in_dims[DLRT_MAX_RANK];
    int64_t in_size;               /* elements per sample of the input (f32) */
    int64_t out_size;              /* elements per sample of the first output (f32) */
    dlrt_dtype label_dtype;        /* DLRT_I32 (class indices) or DLRT_F32 */
    int64_t label_size;            /* elements per sample of the label (1 for i32) */
    /* What a label may be, checked when a data set is loaded (a label out
       of range would train silently: zero loss and gradient for its row).
       label_classes > 0: each i32 label is a class index in
       [0, label_classes) (the class count of the sparse crossentropy or
       accuracy that reads it); 0: not checked.  label_binary: each f32
       label lies in [0, 1] (binary crossentropy targets).  One-hot rows
       (f32, label_size > 1) always have label_size classes. */
    int64_t label_classes;
    int label_binary;
    /* How predict prints output 0 when out_size > 1: 0 the index of its
       largest value (the class of a classifier; also what an inference-only
       build, which has no loss to tell by, prints), 1 the values
       themselves (a model trained with neither a categorical crossentropy
       nor an accuracy: a regression, a multi-label output). */
    int out_values;
    /* 1: output 0 combines the samples of a batch (a training model's
       batch statistic), so predict refuses more than max_batch samples
       rather than return values that depend on its chunking. */
    int out_mixes_rows;
    int64_t max_batch;             /* largest n the entry points accept */
    /* ---- training defaults from the train block ---- */
    int64_t batch_size;
    int64_t epochs;
    uint64_t seed;
    double learning_rate;          /* < 0: the model has no learning rate */
    const char *optimizer;         /* for messages; NULL in inference builds */
    /* ---- metrics, in the order train_step/eval_step report them ---- */
    int nmetrics;
    const char *const *metric_names;
    /* ---- persistent tensors: tensors[0..nparams) are the parameters,
       tensors[nparams..nparams+nstate) optimizer state (step counter,
       slots).  Checkpoints hold all of them; eval/predict need only the
       parameters. ---- */
    int nparams, nstate;
    dlrt_tensor *tensors;
    /* ---- entry points ---- */
    /* Allocates the planned arena and points the tensors into it.
       Returns 0, or -1 if memory could not be had. */
    int (*setup)(void);
    void (*teardown)(void);
    /* Fills the parameters from their initializers and zeroes the state. */
    void (*init_params)(uint64_t seed);
    /* One optimization step on a batch of n <= max_batch samples.
       x: n*in_size floats; y: n*label_size labels of label_dtype;
       rng_key: keys the dropout masks of this step.
       Writes the batch's mean loss and its metrics (nmetrics floats). */
    void (*train_step)(const float *x, const void *y, int64_t n, uint64_t rng_key,
                       float *loss, float *metrics);
    /* Loss and metrics without updating anything (no dropout). */
    void (*eval_step)(const float *x, const void *y, int64_t n, float *loss, float *metrics);
    /* Inference: out receives n*out_size floats. */
    void (*predict)(const float *x, float *out, int64_t n);
    /* Changes the learning rate hyperparameter (NULL if none). */
    void (*set_learning_rate)(double lr);
    /* ---- optional: data sets the model keeps a copy of.  The CUDA target
       keeps them on the device (images as bytes) and gathers and converts
       each batch there, so a step moves only its row numbers.  NULL where
       the model takes host batches only; the runtime also falls back to
       host batches when bind_data returns -1. ---- */
    /* Takes a copy of data set `split` (0 training, 1 test) of count
       samples: the inputs as bytes xb (each read as byte / 255.0f) or as
       floats x (count * in_size; the other pointer NULL), the labels y
       (count * label_size 4-byte values of label_dtype).  A later call for
       the same split replaces the copy.  Returns 0, or -1 if the model
       cannot keep it (no memory). */
    int (*bind_data)(int split, int64_t count, const uint8_t *xb, const float *x, const void *y);
    /* train_step on samples rows[0..n) of the bound training split, in
       that order (the same results as train_step on the gathered batch). */
    void (*train_step_rows)(const int64_t *rows, int64_t n, uint64_t rng_key, float *loss, float *metrics);
    /* eval_step on samples rows[0..n) of bound split `split`. */
    void (*eval_step_rows)(int split, const int64_t *rows, int64_t n, float *loss, float *metrics);
} dlrt_model;

/* The generated program's main: parses argv and runs the command.
 * Returns the process exit status (0 ok, 1 bad input, 2 bad usage). */
int dlrt_main(const dlrt_model *m, int argc, char **argv);

/* ---- helpers called by generated code ---- */

/* Aligned (64-byte) zeroed allocation for the arena; NULL on failure. */
void *dlrt_arena_alloc(size_t bytes);
void dlrt_arena_free(void *p);

/* Counter-based random numbers: the i-th draw of stream `key` is a pure
 * function of (key, i), so work can be split across threads and runs are
 * reproducible.  dlrt_key(a, b) mixes two numbers into a key. */
uint64_t dlrt_key(uint64_t a, uint64_t b);
double dlrt_uniform01(uint64_t key, uint64_t i); /* in [0, 1) */

/* Initializers over n floats, drawn from stream `key`. */
void dlrt_init_constant(float *p, int64_t n, float value);
void dlrt_init_uniform(float *p, int64_t n, float low, float high, uint64_t key);
void dlrt_init_normal(float *p, int64_t n, float mean, float stddev, uint64_t key);
/* Normal truncated at two standard deviations (redrawn), as Keras does. */
void dlrt_init_truncated_normal(float *p, int64_t n, float mean, float stddev, uint64_t key);

/* Dropout mask over n floats: 0 with probability rate, else 1/(1-rate). */
void dlrt_dropout_mask(float *mask, int64_t n, float rate, uint64_t key);

/* Threads for the GEMMs and the parallel loops (runtime/threads.c): the
 * program's --threads, else $OMP_NUM_THREADS, else $OPENBLAS_NUM_THREADS,
 * else the online cores.  setup() gives it to OpenMP and pins OpenBLAS to
 * one thread; dlrt_set_threads(n > 0) overrides it (the --threads flag). */
int dlrt_threads(void);
void dlrt_set_threads(int n);

/* Runs body(ctx, i) for i = 0 .. count-1 on up to dlrt_threads() threads
 * (the caller's included) and returns when all have returned.  Which
 * thread runs which i is unspecified: body(ctx, i) must write only what i
 * owns (runtime/threads.c). */
void dlrt_parallel_for(int count, void (*body)(void *ctx, int i), void *ctx);

/* Row-major C[M, P] = op(A) op(B) (op(A) M x K, op(B) K x P; ta, tb: the
 * operand is stored transposed; lda, ldb: stored row lengths; C's rows are
 * P long) through one-threaded BLAS calls over blocks of C that depend on
 * the shape only, spread over dlrt_parallel_for: the result is the same
 * bits for every thread count (runtime/gemm.c).  Needs a BLAS that runs
 * each call on one thread (setup() sets OpenBLAS so). */
void dlrt_sgemm(int ta, int tb, int M, int P, int K, const float *A, int lda, const float *B, int ldb, float *C);

#ifdef __cplusplus
}
#endif
#endif
