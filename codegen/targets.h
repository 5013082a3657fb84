/* targets.h - the code generation targets, one row each (codegen/targets.c).
 *
 * Everything the driver needs to know about a target is a column of the
 * table: the name --target takes, the extension of the generated unit, the
 * dialect the shared printer writes it in (codegen/cprint.h), the pass
 * options its emitter relies on (fusion regions, launch grouping), the
 * emitter itself and the toolchain that compiles what it writes.  The
 * driver looks a target up once (target_lookup) and reads the row; it
 * never compares target names or ids itself.
 */
#ifndef DLC_CODEGEN_TARGETS_H
#define DLC_CODEGEN_TARGETS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../passes/pass.h"
#include "codegen.h"
#include "cprint.h"

/* What compiles a target's unit into a program (driver/build.c runs cc,
 * driver/build_cuda.c nvcc). */
typedef enum { TOOLCHAIN_CC, TOOLCHAIN_NVCC } Toolchain;

typedef struct TargetInfo {
    Target target;            /* CodegenOptions.target */
    const char *name;         /* as --target names it */
    const char *ext;          /* extension of the generated unit ("c", "cu"); the header is .h */
    const CDialect *dialect;  /* the shared printer's dialect for it */
    bool fuse_regions;        /* PassOptions.fuse_regions: the emitter writes region kernels */
    bool launch_groups;       /* PassOptions.launch_groups: the emitter reads the `launch` pass's groups */
    int (*emit)(const Graph *g, const CodegenOptions *o, FILE *unit, FILE *h); /* writes NAME.<ext>, NAME.h */
    Toolchain toolchain;
} TargetInfo;

/* The target called `name`, or NULL. */
const TargetInfo *target_lookup(const char *name);
/* The row of target t. */
const TargetInfo *target_info(Target t);
/* The targets' names, comma-separated in table order ("c, cuda"), for
 * messages. */
const char *target_names(void);
/* Sets the pass options target t needs, and the batch the graph is planned
 * for: max_batch when > 0 (po->max_batch and g->max_batch), else the
 * model's.  The one place the driver's --max-batch reaches the graph. */
void target_pass_options(const TargetInfo *t, Graph *g, int64_t max_batch, PassOptions *po);

#endif
