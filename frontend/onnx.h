/* onnx.h - the ONNX importer (frontend/onnx_*.c) and the .nn writer.
 *
 * onnx_import() reads an ONNX ModelProto (protobuf, parsed by protobuf-c
 * code generated at build time from Debian's onnx.proto) and builds the
 * same kind of IR graph the .nn frontend builds: graph inputs become
 * `input` leaves (a symbolic first dimension becomes the batch dimension
 * N), float initializers used as tensors become `param` leaves whose values
 * are returned in OnnxWeights, scalar constants become `const` nodes, and
 * each node lowers to one or a few IR ops (docs/onnx.md lists them).
 * Only inference graphs: an ONNX file carries no loss and no optimizer.
 *
 * Every problem with the file is a user error (exit 1, or a longjmp under
 * diag_set_recover) that names the file and, for a node, the op, the node
 * and the opset.  All memory (the parsed protobuf included) comes from the
 * arena, so a recovered error leaks nothing.
 */
#ifndef DLC_FRONTEND_ONNX_H
#define DLC_FRONTEND_ONNX_H

#include <stdio.h>

#include "../ir/ir.h"

/* The deepest nesting of protobuf messages an ONNX file may have (the
 * model is 1, its graph 2, a node 3, an attribute 4, a graph in that
 * attribute 5, ...; a graph input's dimension is 7): deeper files are
 * refused before they are unpacked, since protobuf-c unpacks recursively. */
#define ONNX_MAX_NESTING 64

/* The value of one imported parameter (an initializer), f32, row-major. */
typedef struct OnnxWeight {
    const char *name; /* the param's name in the graph */
    TensorType type;
    const float *data;
} OnnxWeight;

typedef struct OnnxWeights {
    OnnxWeight *w;
    int n;
} OnnxWeights;

/* Imports the model at `path`.  External tensor data is read only from
 * files inside the model's own folder.  `weights` may be NULL. */
Graph *onnx_import(Arena *a, const char *path, GraphMode mode, OnnxWeights *weights);
/* Imports a model already in memory (file->text, file->len bytes; file->name
 * for messages).  `dir` is the folder external data may come from, or NULL
 * to refuse external data. */
Graph *onnx_import_bytes(Arena *a, const SrcFile *file, const char *dir, GraphMode mode, OnnxWeights *weights);

/* Writes g (an inference graph of ops callable in .nn) as .nn text; params
 * get `zeros()` initializers (their values travel in a safetensors file).
 * `note` is written as a leading comment (may be NULL).  Returns NULL, or
 * a message naming a node that the .nn language cannot express. */
const char *nn_write(FILE *out, const Graph *g, const char *note);

#endif
