/* threads.c - how many threads a generated program uses, and the pool that
 * runs its parallel work.
 *
 * The count is the program's --threads N, else $OMP_NUM_THREADS, else
 * $OPENBLAS_NUM_THREADS (so that a benchmark setting those gets what it
 * asked for), else the number of online cores.  The generated setup()
 * gives it to OpenMP (the large fused loops of a -fopenmp build) and pins
 * OpenBLAS to one thread: the GEMMs run on this file's pool instead
 * (runtime/gemm.c), split into blocks that do not depend on the count, so
 * that results do not either (docs/runtime.md, "Threads and determinism").
 * OpenMP's loops and the pool never run at the same time, so one kernel at
 * a time keeps every core busy and none is oversubscribed.
 *
 * The pool: dlrt_parallel_for(count, body, ctx) runs body(ctx, i) for
 * every i in [0, count), on the calling thread and up to count - 1 of
 * dlrt_threads() - 1 workers, started on first use and kept until the
 * process ends; between jobs a worker polls for POOL_SPIN_NS, yielding,
 * then sleeps on a condition variable.  Tasks are handed out one at a
 * time under the pool's mutex, in increasing order; which thread runs
 * which task is left to timing, so a body must write what task i owns and
 * nothing else.  The caller takes tasks too, then polls until the
 * workers' last ones return.  A second caller that finds the pool busy
 * (another model's entry point on another thread) runs its tasks itself,
 * in order.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "dlrt.h"

static int chosen; /* --threads, 0: not given */

void dlrt_set_threads(int n)
{
    chosen = n > 0 ? n : 0;
}

/* A positive integer from the environment variable, or 0. */
static int env_count(const char *name)
{
    const char *s = getenv(name);
    if (!s || !*s) return 0;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    return (*end == '\0' && v > 0 && v <= 4096) ? (int)v : 0;
}

static int by_default;                 /* without --threads: from the environment or the cores */
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

/* Sets by_default, once: every product asks, and sysconf reads a file. */
static void find_default(void)
{
    int n = env_count("OMP_NUM_THREADS");
    if (!n) n = env_count("OPENBLAS_NUM_THREADS");
    if (!n) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 && c <= 4096 ? (int)c : 1;
    }
    by_default = n;
}

int dlrt_threads(void)
{
    if (chosen > 0) return chosen;
    pthread_once(&default_once, find_default);
    return by_default;
}

/* ---- the pool ------------------------------------------------------------ */

#define POOL_MAX_WORKERS 255
/* How long an idle worker polls for the next job (yielding the core to
   anything else runnable) before it sleeps: longer than the gap between
   two products of a training step, so that a step's products do not wait
   for a wake-up; OpenBLAS's own threads poll for longer. */
#define POOL_SPIN_NS 2000000L

static struct {
    pthread_mutex_t mu;           /* guards what follows, but for the atomics */
    pthread_cond_t wake;          /* a job was posted */
    int started;                  /* workers running */
    int sleepers;                 /* workers waiting on `wake` */
    _Atomic unsigned long gen;    /* jobs posted so far (written under mu) */
    int helpers;                  /* workers 0..helpers-1 may join the job */
    int count, next;              /* the job's tasks: all, handed out */
    _Atomic int done;             /* tasks returned */
    void (*body)(void *ctx, int i);
    void *ctx;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, 0, 0, NULL, NULL};

static atomic_flag pool_busy = ATOMIC_FLAG_INIT; /* a caller is using the pool */
static unsigned long first_gen[POOL_MAX_WORKERS]; /* jobs posted before worker w started */

/* Runs tasks of job `gen` one at a time until none is left (or another
 * job was posted); called and returns with the mutex held, which it
 * releases around each body. */
static void run_tasks(unsigned long gen)
{
    while (atomic_load_explicit(&pool.gen, memory_order_relaxed) == gen && pool.next < pool.count) {
        int i = pool.next++;
        void (*body)(void *, int) = pool.body;
        void *ctx = pool.ctx;
        pthread_mutex_unlock(&pool.mu);
        body(ctx, i);
        atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
        pthread_mutex_lock(&pool.mu);
    }
}

/* Nanoseconds on the monotonic clock. */
static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* A worker: waits for each job posted after it started (polling for
 * POOL_SPIN_NS, then asleep) and, if it is one of the job's helpers,
 * takes tasks until none is left. */
static void *worker(void *arg)
{
    int w = (int)(intptr_t)arg;
    pthread_mutex_lock(&pool.mu);
    unsigned long seen = first_gen[w]; /* the job being posted as it starts is its first */
    for (;;) {
        pthread_mutex_unlock(&pool.mu);
        long long until = now_ns() + POOL_SPIN_NS;
        while (atomic_load_explicit(&pool.gen, memory_order_relaxed) == seen && now_ns() < until) sched_yield();
        pthread_mutex_lock(&pool.mu);
        while (atomic_load(&pool.gen) == seen) {
            pool.sleepers++;
            pthread_cond_wait(&pool.wake, &pool.mu);
            pool.sleepers--;
        }
        seen = atomic_load(&pool.gen);
        if (w < pool.helpers) run_tasks(seen);
    }
    return NULL;
}

/* Starts workers until `want` run (fewer if the system refuses threads);
 * with the mutex held.  Returns how many run.  Workers block every signal,
 * so that the process's signals (SIGINT during a save: atomic.c) reach
 * the thread that runs the program. */
static int start_workers(int want)
{
    if (want > POOL_MAX_WORKERS) want = POOL_MAX_WORKERS;
    if (pool.started >= want) return want;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    while (pool.started < want) {
        pthread_t t;
        pthread_attr_t attr;
        if (pthread_attr_init(&attr)) break;
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        first_gen[pool.started] = atomic_load(&pool.gen);
        int rc = pthread_create(&t, &attr, worker, (void *)(intptr_t)pool.started);
        pthread_attr_destroy(&attr);
        if (rc) break;
        pool.started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return pool.started < want ? pool.started : want;
}

void dlrt_parallel_for(int count, void (*body)(void *ctx, int i), void *ctx)
{
    int threads = count > 1 ? dlrt_threads() : 1;
    if (threads <= 1 || atomic_flag_test_and_set(&pool_busy)) {
        for (int i = 0; i < count; i++) body(ctx, i);
        return;
    }
    pthread_mutex_lock(&pool.mu);
    int helpers = start_workers((threads < count ? threads : count) - 1);
    pool.body = body;
    pool.ctx = ctx;
    pool.count = count;
    pool.next = 0;
    atomic_store(&pool.done, 0);
    pool.helpers = helpers;
    unsigned long gen = atomic_load(&pool.gen) + 1;
    atomic_store(&pool.gen, gen);
    if (pool.sleepers > 0) pthread_cond_broadcast(&pool.wake);
    run_tasks(gen);
    pthread_mutex_unlock(&pool.mu);
    /* the tasks still running are the workers' last ones */
    while (atomic_load_explicit(&pool.done, memory_order_acquire) < count) sched_yield();
    atomic_flag_clear(&pool_busy);
}
