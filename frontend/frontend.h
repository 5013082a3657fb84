/* frontend.h - turning model files into IR graphs.
 *
 * model_load() picks the frontend by file extension: `.nn` (the dlc model
 * language, docs/dsl.md), `.ir` (the IR text format, for pass tests) and
 * `.onnx` (the ONNX importer, frontend/onnx.h).  A user error in the file is reported with its location
 * and ends the command (exit 1; see ir/diag.h).
 */
#ifndef DLC_FRONTEND_FRONTEND_H
#define DLC_FRONTEND_FRONTEND_H

#include "../ir/ir.h"

/* Parses and lowers a .nn source into a graph for `mode`.  In infer mode
 * the loss, metrics and train block are parsed and checked but not lowered
 * into the graph; dropout lowers to its operand. */
Graph *nn_compile(Arena *a, const SrcFile *file, GraphMode mode);

/* Loads MODEL by extension. */
Graph *model_load(Arena *a, const char *path, GraphMode mode);

#endif
