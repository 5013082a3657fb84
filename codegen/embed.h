/* embed.h - the embeddable inference emitter (codegen/emit_embed.c).
 *
 * `dlc emit --mode infer --embed-weights` (or --weights-file) writes C99
 * meant to be dropped into another program, a microcontroller firmware
 * say: no heap, no stdio, no runtime library, one static arena of the
 * planned size plus a variant where the caller passes the arena, and the
 * weights as const arrays (or a separate blob the caller loads).  The
 * graph must have been planned with PassOptions.external_leaves, so that
 * the arena holds activations only.  docs/embedded.md documents the API of
 * what it writes.
 */
#ifndef DLC_CODEGEN_EMBED_H
#define DLC_CODEGEN_EMBED_H

#include <stdbool.h>
#include <stdio.h>

#include "../ir/ir.h"
#include "weights.h"

typedef struct EmbedOptions {
    const char *prefix;   /* symbol prefix and file stem (a C identifier); default: model name */
    bool use_blas;        /* matmuls through cblas (else portable loops, libm only) */
    bool weights_file;    /* weights in a separate blob (NAME.weights) the caller loads */
    const Weights *w;     /* the values of the graph's params and states */
} EmbedOptions;

/* Writes the unit to `c`, its header to `h` and, with weights_file, the
 * weights blob to `blob` (else blob may be NULL).  User errors (a model the
 * embedded API cannot express) go through dlc_error.  Returns 0. */
int codegen_emit_embed(const Graph *g, const EmbedOptions *o, FILE *c, FILE *h, FILE *blob);

/* The blob's header: 8 magic bytes, then little-endian u32 float count and
 * u32 FNV-1a hash of the data, zero padding; data from byte 64 on. */
#define EMBED_BLOB_MAGIC "DLCW0001"
#define EMBED_BLOB_HEADER 64

#endif
