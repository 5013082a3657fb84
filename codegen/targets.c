/* targets.c - the table of code generation targets (codegen/targets.h).
 *
 * One row per target; adding a target is adding a row (and its emitter).
 */
#include <string.h>

#include "cuda_emit.h"
#include "targets.h"

static const TargetInfo targets[] = {
    /* target      name    ext   dialect         fuse   launch emitter            toolchain */
    {TARGET_C,    "c",    "c",  &cdialect_c99,  true,  false, codegen_emit,      TOOLCHAIN_CC},
    {TARGET_CUDA, "cuda", "cu", &cdialect_cuda, false, true,  cuda_codegen_emit, TOOLCHAIN_NVCC},
};

enum { NTARGETS = (int)(sizeof targets / sizeof targets[0]) };

const TargetInfo *target_lookup(const char *name)
{
    for (int i = 0; i < NTARGETS; i++)
        if (strcmp(targets[i].name, name) == 0) return &targets[i];
    return NULL;
}

const TargetInfo *target_info(Target t)
{
    for (int i = 0; i < NTARGETS; i++)
        if (targets[i].target == t) return &targets[i];
    DLC_ICE("target %d has no row in the target table", (int)t);
}

const char *target_names(void)
{
    static char buf[128];
    if (!buf[0])
        for (int i = 0; i < NTARGETS; i++) {
            if (i) strcat(buf, ", ");
            strcat(buf, targets[i].name);
        }
    return buf;
}

void target_pass_options(const TargetInfo *t, Graph *g, int64_t max_batch, PassOptions *po)
{
    po->fuse_regions = t->fuse_regions;
    po->launch_groups = t->launch_groups;
    po->max_batch = max_batch;
    if (max_batch > 0) g->max_batch = max_batch;
}
