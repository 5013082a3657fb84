/* test_kernels.c - the consistency of the kernel-description table
 * (codegen/kernels.h): every op that is not a leaf has a description, the
 * elementwise ones the elementwise space, every space with a body has one,
 * and the ops whose kernel exists for the C target only are exactly the
 * listed ones (an op added without a CUDA launcher fails here, not at
 * `dlc emit --target cuda` time).
 */
#include <check.h>
#include <string.h>

#include "codegen/kernels.h"
#include "testutil.h"

/* The ops without a CUDA kernel, in ops.def order: the convolution family,
 * whose CUDA kernels are still to be written (docs/cuda.md). */
#define C_ONLY "conv2d conv2d_grad_input conv2d_grad_filter max_pool2d avg_pool2d global_avg_pool2d max_pool2d_grad avg_pool2d_grad batch_norm"

START_TEST(every_op_is_described)
{
    for (int op = 0; op < OP_COUNT; op++) {
        const OpInfo *oi = op_info((OpCode)op);
        const KernelDesc *d = kd_of((OpCode)op);
        ck_assert_msg(d->space != KS_NONE, "op '%s' has no kernel description", oi->name);
        ck_assert_msg((oi->kind == OK_LEAF) == (d->space == KS_LEAF), "op '%s': leaf kind and KS_LEAF disagree", oi->name);
        ck_assert_msg(op_is_elementwise((OpCode)op) == (d->space == KS_EW), "op '%s': elementwise and KS_EW disagree",
                      oi->name);
        bool needs_body = d->space == KS_ROWS || d->space == KS_ELEMS || d->space == KS_TERMS;
        ck_assert_msg(needs_body == (d->body != NULL), "op '%s': a body exactly for rows, elements and terms", oi->name);
    }
}
END_TEST

START_TEST(cuda_lacks_only_the_listed_ops)
{
    char got[1024] = "";
    size_t len = 0;
    for (int op = 0; op < OP_COUNT; op++) {
        const KernelDesc *d = kd_of((OpCode)op);
        if (d->space == KS_LEAF || kd_cuda_ok(d->space)) continue;
        len += (size_t)snprintf(got + len, sizeof got - len, "%s%s", len ? " " : "", op_info((OpCode)op)->name);
    }
    ck_assert_str_eq(got, C_ONLY);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("kernels");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, every_op_is_described);
    tcase_add_test(tc, cuda_lacks_only_the_listed_ops);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
