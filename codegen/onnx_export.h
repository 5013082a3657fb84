/* onnx_export.h - writes an inference graph and its weights as an ONNX
 * model (opset 13), so that a model built or trained with dlc runs in other
 * runtimes (`dlc export`, driver/cmd_export.c).  See onnx_export.c.
 */
#ifndef DLC_CODEGEN_ONNX_EXPORT_H
#define DLC_CODEGEN_ONNX_EXPORT_H

#include <stdio.h>

#include "../ir/ir.h"

/* Writes g (an unplanned inference graph) to `out` as a serialized
 * ModelProto: the nodes, inputs and params its outputs need, no others.  param_data[id] holds the f32 values of the param with that
 * node id (row-major).  Returns NULL, or a message naming the first node
 * that has no ONNX equivalent (nothing is written then). */
const char *onnx_export(FILE *out, const Graph *g, const float *const *param_data);

#endif
