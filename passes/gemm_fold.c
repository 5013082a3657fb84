/* gemm_fold.c - the `gemm_fold` pass: transposes folded into matmul flags.
 *
 * A GEMM reads either operand transposed for free (the trans_a / trans_b
 * flags, BLAS's transa / transb), while an explicit 2-D transpose copies
 * the whole matrix.  Two rewrites, in graph order:
 *
 *   matmul(transpose(a), b) {trans_a=t}  ->  matmul(a, b) {trans_a=!t}
 *   matmul(a, transpose(b)) {trans_b=t}  ->  matmul(a, b) {trans_b=!t}
 *       for a 2-D transpose (perm [1,0], or no perm: the reversal);
 *   transpose(matmul(a, b) {ta, tb})     ->  matmul(b, a) {!tb, !ta}
 *       ((A B)^T = B^T A^T) when the matmul is 2-D and the transpose is
 *       its only reader, so no product is computed twice.
 *
 * The first form removes the transposes a user writes (`x @ transpose(w)`)
 * and those autodiff makes for them: the gradient of a transpose is a
 * transpose of the incoming gradient, and the gradient of the matmul that
 * reads it comes back as a matmul; the second form folds the gradient of
 * `transpose(w)` itself.  (autodiff's own matmul gradients already use the
 * flags and need nothing here.)  A rewrite is kept only if the new matmul
 * type-checks with the same type (the batch dimension N may never become
 * a column, which the shape rule enforces).  A transpose that loses its
 * last reader is removed by `dce`.
 */
#include <stdlib.h>

#include "pass.h"
#include "rewrite.h"

/* True if n is a transpose that swaps the two axes of a matrix. */
static bool is_transpose_2d(const Node *n)
{
    if (n->op != OP_TRANSPOSE || n->type.rank != 2) return false;
    const int64_t *perm;
    int np = node_attr_ints(n, "perm", &perm);
    if (np == 0) return true;
    int64_t p0 = perm[0] < 0 ? perm[0] + 2 : perm[0];
    return np == 2 && p0 == 1;
}

/* Builds matmul(a, b) {ta, tb} in place of the node at pos if it has the
 * same type; returns true if it did. */
static bool put_matmul(Sweep *s, int pos, Node *a, Node *b, bool ta, bool tb)
{
    Graph *g = s->g;
    Node *n = g->nodes[pos], *m;
    Node *in[2] = {a, b};
    Attr at[2];
    int na = 0; /* only true flags are set, as autodiff writes them */
    if (ta) at[na++] = attr_bool("trans_a", true);
    if (tb) at[na++] = attr_bool("trans_b", true);
    if (ir_node_try(g, OP_MATMUL, in, 2, at, na, n->loc, &m)) return false;
    if (!tt_equal(&m->type, &n->type)) {
        rw_drop_last(g, m);
        return false;
    }
    rw_put(s, pos, m);
    return true;
}

/* True if x has exactly one use (operand or output, loss, metric, grad).
 * Counted afresh, after resolving every pending forwarding: the candidates
 * are rare and ids grow while we rewrite. */
static bool single_use(Sweep *s, const Node *x)
{
    sw_flush(s);
    const Graph *g = s->g;
    int *uses = calloc((size_t)g->next_id, sizeof *uses);
    DLC_ASSERT(uses);
    ir_use_counts(g, uses);
    bool one = uses[x->id] == 1;
    free(uses);
    return one;
}

void pass_gemm_fold(Graph *g, const PassOptions *o)
{
    if (o && o->no_simplify) return;
    Sweep s;
    sw_begin(&s, g);
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        sw_visit(&s, n);
        if (n->op == OP_MATMUL) {
            /* both operands may be transposes: fold one, then look again */
            for (int k = 0; k < 2; k++) {
                n = g->nodes[i];
                Node *a = n->in[0], *b = n->in[1];
                bool ta = node_attr_int(n, "trans_a") != 0, tb = node_attr_int(n, "trans_b") != 0;
                if (k == 0 && is_transpose_2d(a)) put_matmul(&s, i, a->in[0], b, !ta, tb);
                if (k == 1 && is_transpose_2d(b)) put_matmul(&s, i, a, b->in[0], ta, !tb);
            }
        } else if (is_transpose_2d(n) && n->in[0]->op == OP_MATMUL && n->in[0]->type.rank == 2 &&
                   single_use(&s, n->in[0])) {
            Node *mm = n->in[0];
            bool ta = node_attr_int(mm, "trans_a") != 0, tb = node_attr_int(mm, "trans_b") != 0;
            if (put_matmul(&s, i, mm->in[1], mm->in[0], !tb, !ta)) mm->dead = true; /* its one reader is gone */
        }
    }
    sw_finish(&s);
}
