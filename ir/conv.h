/* conv.h - the geometry of the convolution-family ops (conv2d, max_pool2d,
 * avg_pool2d, global_avg_pool2d), shared by their shape rules
 * (ir/shape_conv.c), the reference kernels (ir/interp_conv.c) and the C
 * kernels (codegen/c_kernels_conv.c), so that all three agree on what the
 * attributes mean.
 *
 * Layout is NCHW.  An output position (oy, ox) reads input rows
 * oy * sh - pt + ky * dh for ky in [0, kh), columns likewise; positions
 * outside [0, h) x [0, w) are padding.
 */
#ifndef DLC_IR_CONV_H
#define DLC_IR_CONV_H

#include <stdint.h>

#include "ir.h"

typedef struct ConvGeom {
    int64_t c, h, w;          /* input channels and spatial size (dims 1..3) */
    int64_t o, oh, ow;        /* output channels and spatial size */
    int64_t kh, kw;           /* kernel window */
    int64_t sh, sw;           /* strides */
    int64_t pt, pl, pb, pr;   /* padding: top, left, bottom, right */
    int64_t dh, dw;           /* dilations */
    int64_t group;            /* conv2d: channel groups (1 otherwise) */
} ConvGeom;

/* Computes the geometry of a convolution-family node from its operand
 * types and attributes.  Returns NULL, or a message for people writing
 * models (allocated in g's arena) when the attributes or shapes do not fit
 * together.  The shape rules call it; kernels call conv_geom_of(). */
const char *conv_geom(Graph *g, const Node *n, ConvGeom *out);
/* The geometry of a node whose shape rule has succeeded (internal error
 * otherwise). */
ConvGeom conv_geom_of(const Node *n);

#endif
