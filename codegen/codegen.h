/* codegen.h - code generators: planned IR in, C or CUDA source out.
 *
 * The emitters walk a graph that has been through the whole pipeline
 * (types, gradients and updates in train mode, fusion, memory plan) and
 * write straight-line code over one planned arena: no graph interpretation,
 * no allocation inside a step.  Each kernel is preceded by a comment naming
 * the IR node(s) it implements, their .nn source line and their shapes.
 */
#ifndef DLC_CODEGEN_CODEGEN_H
#define DLC_CODEGEN_CODEGEN_H

#include <stdbool.h>
#include <stdio.h>

#include "../ir/ir.h"

typedef enum { TARGET_C, TARGET_CUDA } Target;

typedef struct CodegenOptions {
    Target target;
    const char *prefix;   /* symbol prefix and file stem; default: model name */
    bool with_main;       /* emit a main() calling dlrt_main (executables) */
    bool use_blas;        /* matmuls through cblas_sgemm (else portable loops) */
} CodegenOptions;

/* Writes the translation unit to `c` and its header to `h` (which the unit
 * includes as "<prefix>.h").  Returns 0. */
int codegen_emit(const Graph *g, const CodegenOptions *o, FILE *c, FILE *h);

#endif
