/* test_targets.c - the target table (codegen/targets.c): each target's row
 * says what the driver used to decide in several places, and the pass
 * options it sets are the ones its emitter relies on. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../codegen/cuda_emit.h"
#include "../../codegen/targets.h"
#include "testutil.h"

START_TEST(rows)
{
    const TargetInfo *c = target_lookup("c"), *cu = target_lookup("cuda");
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_nonnull(cu);
    ck_assert_ptr_null(target_lookup("metal"));
    ck_assert_ptr_null(target_lookup("CUDA"));
    ck_assert_ptr_eq(target_info(TARGET_C), c);
    ck_assert_ptr_eq(target_info(TARGET_CUDA), cu);
    ck_assert_str_eq(target_names(), "c, cuda");
    ck_assert_str_eq(target_names(), "c, cuda"); /* built once */
    ck_assert_str_eq(c->ext, "c");
    ck_assert_str_eq(cu->ext, "cu");
    ck_assert_ptr_eq(c->dialect, &cdialect_c99);
    ck_assert_ptr_eq(cu->dialect, &cdialect_cuda);
    ck_assert(c->emit == codegen_emit);
    ck_assert(cu->emit == cuda_codegen_emit);
    ck_assert_int_eq(c->toolchain, TOOLCHAIN_CC);
    ck_assert_int_eq(cu->toolchain, TOOLCHAIN_NVCC);
}
END_TEST

/* The C target fuses whole regions, the CUDA target chains only; a
 * --max-batch reaches both the plan's option and the graph, none leaves
 * the model's. */
START_TEST(pass_options)
{
    Arena a;
    arena_init(&a);
    Graph *g = ir_graph_new(&a, "t", MODE_INFER);
    g->max_batch = 32;
    PassOptions po = {0};
    target_pass_options(target_lookup("c"), g, 0, &po);
    ck_assert(po.fuse_regions);
    ck_assert(!po.launch_groups);
    ck_assert_int_eq(po.max_batch, 0);
    ck_assert_int_eq(g->max_batch, 32);
    memset(&po, 0, sizeof po);
    target_pass_options(target_lookup("cuda"), g, 7, &po);
    ck_assert(!po.fuse_regions);
    ck_assert(po.launch_groups);
    ck_assert_int_eq(po.max_batch, 7);
    ck_assert_int_eq(g->max_batch, 7);
    arena_free(&a);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("targets");
    TCase *tc = tcase_create("targets");
    tcase_add_test(tc, rows);
    tcase_add_test(tc, pass_options);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
