/* interp_conv.h - reference kernels (f64) of the convolution family the
 * ONNX importer added (conv2d, max_pool2d, avg_pool2d, global_avg_pool2d,
 * batch_norm; its elementwise ops erf and clip are ew formulas, computed by
 * interp.c like every elementwise op).  Internal to ir/: the
 * interpreter (interp.c) binds its k_<name> entries for these ops to
 * interp_conv_kernel, which lives in interp_conv.c.
 */
#ifndef DLC_IR_INTERP_CONV_H
#define DLC_IR_INTERP_CONV_H

#include <stdint.h>

#include "ir.h"

/* Evaluates node nd with the batch bound to n: in[k] holds operand k,
 * y receives the result (numel elements). */
void interp_conv_kernel(const Node *nd, int64_t n, const double *const *in, double *y, int64_t numel);

#endif
