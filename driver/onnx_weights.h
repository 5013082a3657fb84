/* onnx_weights.h - the driver's side of ONNX weights (onnx_weights.c):
 * writing an imported model's initializers as a safetensors checkpoint
 * (the runtime's format, runtime/safetensors.c), which `dlc import` and
 * `dlc build MODEL.onnx` produce. */
#ifndef DLC_DRIVER_ONNX_WEIGHTS_H
#define DLC_DRIVER_ONNX_WEIGHTS_H

#include <stdbool.h>

#include "../frontend/onnx.h"

/* True if `path` names an ONNX model (by its extension). */
bool is_onnx_path(const char *path);
/* Writes the weights to `path` atomically; a failure is a user error. */
void onnx_weights_save(const OnnxWeights *w, const char *path);
/* Imports `model` again for its initializers and writes them to `path`
 * (`dlc build` / `dlc emit` of an .onnx file). */
void onnx_weights_sidecar(const char *model, const char *path);

#endif
