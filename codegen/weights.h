/* weights.h - parameter values for code that carries its weights
 * (`dlc emit --embed-weights` / `--weights-file`, codegen/emit_embed.c).
 *
 * The values come from a checkpoint (the safetensors files the generated
 * training programs write, docs/runtime.md), read with the runtime's own
 * reader, which checks the file and that every tensor the graph needs is
 * there with its dtype and shape; or, without a checkpoint, from the
 * parameters' initializers (the reference interpreter draws them).
 */
#ifndef DLC_CODEGEN_WEIGHTS_H
#define DLC_CODEGEN_WEIGHTS_H

#include <stdint.h>

#include "../ir/ir.h"

/* The values of the persistent leaves (params and states) of a graph. */
typedef struct Weights {
    int n;
    const Node **leaf;   /* params and states, in graph order */
    float **data;        /* by leaf: tt_numel(&leaf->type, 1) floats */
    const char *source;  /* for comments (never a comment end): the checkpoint, or "initializers (seed S)" */
} Weights;

/* Reads the graph's params and states from a safetensors checkpoint (the
 * graph's arena holds the values).  A file that cannot be read, is not a
 * checkpoint, belongs to another model, or lacks a tensor or has it with
 * another dtype or shape is the user's error (dlc_error, exit 1). */
Weights *weights_load(const Graph *g, const char *path);

/* The initializers' values, drawn with `seed` as the reference interpreter
 * draws them. */
Weights *weights_init(const Graph *g, uint64_t seed);

/* The values of a param or state leaf of the graph (NULL if it has none). */
const float *weights_of(const Weights *w, const Node *leaf);

#endif
