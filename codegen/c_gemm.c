/* c_gemm.c - the matrix product C = op(A) op(B) as generated C: one BLAS
 * call, or portable loops that need nothing but a C compiler.
 *
 * The program unit (emit_c.c, CEmit.rt_gemm) calls the runtime's
 * dlrt_sgemm(ta, tb, M, P, K, A, lda, B, ldb, C), which cuts the product
 * into blocks of C that depend on the shape alone and runs one-threaded
 * BLAS calls on its threads (runtime/gemm.c): the bits do not depend on
 * the thread count.
 *
 * The embeddable unit, which has no runtime: cblas_sgemm, row-major,
 * transposes from the node's attributes.  When the rows of A are the
 * run-time batch n, a call with n == 1 is a matrix-vector product, and
 * cblas_sgemv is what OpenBLAS runs fastest for it (its sgemm has no such
 * shortcut): batch-1 inference takes that branch (so does dlrt_sgemm).  A weight matrix stored transposed (CEmit.stored_t: the
 * embeddable BLAS build keeps [K, P] kernels as [P, K], whose sgemv reads
 * each output's weights contiguously and splits across threads by rows)
 * flips trans_b.
 *
 * Portable loops (--no-blas, and the embeddable code): row by row, the
 * "axpy" form c[j] += a[k] * b[k][j] with j innermost and contiguous, four
 * k at a time:
 *
 *     c[j] = c[j] + a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
 *
 * C evaluates that sum left to right, so every c[j] still accumulates its
 * products in the order k = 0, 1, 2, ... exactly as the one-k-at-a-time
 * loop does (without -ffast-math the compiler may not reorder it, and it
 * need not: the j loop has independent iterations and vectorizes as it
 * is, at -O2).  Four rows of B per pass over c quarter the loads and
 * stores of c; K % 4 leftover rows take a one-k loop.  With B transposed
 * (training's backward products) the inner loop is strided; those loops
 * are correct rather than fast.
 */
#include <string.h>

#include "c_emit.h"

/* The product's sizes from the node (c_emit.h). */
GemmDims cg_gemm_dims(CEmit *e, const Node *m)
{
    GemmDims d;
    d.ta = node_attr_int(m, "trans_a") != 0;
    d.tb = node_attr_int(m, "trans_b") != 0;
    const TensorType *A = &m->in[0]->type, *B = &m->in[1]->type;
    if (A->rank != 2 || B->rank != 2) DLC_ICE("matmul of non-matrices reached the code generator");
    d.lda = A->dims[1];
    d.ldb = B->dims[1];
    Ext rows_a = ext_dims(A, 0, 1), rows_b = ext_dims(B, 0, 1);
    d.M = d.ta ? arena_printf(e->a, "%lld", (long long)d.lda) : ext_str(e, rows_a);
    d.K = d.ta ? ext_str(e, rows_a) : arena_printf(e->a, "%lld", (long long)d.lda);
    d.P = d.tb ? ext_str(e, rows_b) : arena_printf(e->a, "%lld", (long long)d.ldb);
    if (!d.tb && e->stored_t && e->stored_t[m->in[1]->id]) { /* B's memory holds B^T, [P, K] */
        d.tb = true;
        d.ldb = B->dims[0];
    }
    return d;
}

/* A's element (i, k + d), B's element (k + d, j) as C expressions. */
static const char *a_at(CEmit *e, bool ta, int64_t lda, int d)
{
    const char *k = d ? arena_printf(e->a, "(k + %d)", d) : "k";
    if (ta) return arena_printf(e->a, "a[%s * %lld + i]", k, (long long)lda);
    return d ? arena_printf(e->a, "ai[k + %d]", d) : "ai[k]";
}

static const char *b_at(CEmit *e, bool tb, int64_t ldb, int d)
{
    if (tb) return d ? arena_printf(e->a, "b[j * %lld + k + %d]", (long long)ldb, d) : arena_printf(e->a, "b[j * %lld + k]", (long long)ldb);
    const char *k = d ? arena_printf(e->a, "(k + %d)", d) : "k";
    return arena_printf(e->a, "b[%s * %lld + j]", k, (long long)ldb);
}

/* The portable loops (see the file comment). */
static void gemm_loops(CEmit *e, bool ta, bool tb, const char *M, const char *P, const char *K, int64_t lda,
                       int64_t ldb, const char *A, const char *B, const char *C)
{
    const char *r = e->p->d->restrict_kw;
    cp_block(e->p);
    cp_line(e->p, "const float *%s a = %s;", r, A);
    cp_line(e->p, "const float *%s b = %s;", r, B);
    cp_open(e->p, "for (int64_t i = 0; i < %s; i++)", M);
    if (!ta) cp_line(e->p, "const float *%s ai = a + i * %lld;", r, (long long)lda);
    bool simple = strspn(P, "0123456789") == strlen(P) || strcmp(P, "n") == 0;
    cp_line(e->p, simple ? "float *%s c = %s + i * %s;" : "float *%s c = %s + i * (%s);", r, C, P);
    cp_line(e->p, "int64_t k = 0;");
    cp_line(e->p, "for (int64_t j = 0; j < %s; j++) c[j] = 0;", P);
    cp_open(e->p, "for (; k + 4 <= %s; k += 4)", K);
    cp_line(e->p, "const float a0 = %s, a1 = %s, a2 = %s, a3 = %s;", a_at(e, ta, lda, 0), a_at(e, ta, lda, 1),
            a_at(e, ta, lda, 2), a_at(e, ta, lda, 3));
    cp_open(e->p, "for (int64_t j = 0; j < %s; j++)", P);
    cp_line(e->p, "c[j] = c[j] + a0 * %s + a1 * %s + a2 * %s + a3 * %s;", b_at(e, tb, ldb, 0), b_at(e, tb, ldb, 1),
            b_at(e, tb, ldb, 2), b_at(e, tb, ldb, 3));
    cp_close(e->p, "");
    cp_close(e->p, "");
    cp_open(e->p, "for (; k < %s; k++)", K);
    cp_line(e->p, "const float a0 = %s;", a_at(e, ta, lda, 0));
    cp_line(e->p, "for (int64_t j = 0; j < %s; j++) c[j] += a0 * %s;", P, b_at(e, tb, ldb, 0));
    cp_close(e->p, "");
    cp_close(e->p, "");
    cp_close(e->p, "");
}

void cg_gemm(CEmit *e, bool ta, bool tb, const char *M, const char *P, const char *K, int64_t lda, int64_t ldb,
             const char *A, const char *B, const char *C)
{
    if (!e->o->use_blas) {
        gemm_loops(e, ta, tb, M, P, K, lda, ldb, A, B, C);
        return;
    }
    if (e->rt_gemm) {
        cp_line(e->p, "dlrt_sgemm(%d, %d, (int)(%s), (int)(%s), (int)(%s), %s, %lld, %s, %lld, %s);", ta, tb, M, P, K, A,
                (long long)lda, B, (long long)ldb, C);
        return;
    }
    bool one_row = !ta && strcmp(M, "n") == 0;
    if (one_row) {
        /* one row: y = x op(B) is B^T x (B stored [K, P]) or B x (B stored [P, K]) */
        cp_open(e->p, "if (n == 1)");
        cp_line(e->p, "cblas_sgemv(CblasRowMajor, %s, (int)(%s), (int)(%s), 1.0f, %s, %lld, %s, 1, 0.0f, %s, 1);",
                tb ? "CblasNoTrans" : "CblasTrans", tb ? P : K, tb ? K : P, B, (long long)ldb, A, C);
        cp_close(e->p, " else {");
        e->p->indent++;
    }
    cp_line(e->p, "cblas_sgemm(CblasRowMajor, %s, %s, (int)(%s), (int)(%s), (int)(%s),", ta ? "CblasTrans" : "CblasNoTrans",
            tb ? "CblasTrans" : "CblasNoTrans", M, P, K);
    cp_line(e->p, "            1.0f, %s, %lld, %s, %lld, 0.0f, %s, (int)(%s));", A, (long long)lda, B, (long long)ldb, C, P);
    if (one_row) cp_close(e->p, "");
}
