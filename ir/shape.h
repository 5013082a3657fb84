/* shape.h - the shape rules named in ops.def, and helpers they share.
 *
 * Internal to ir/: each rule has the ShapeRule signature (ir.h).  The
 * declarations are generated from ops.def, so a rule named there but not
 * defined fails at link time, and a defined rule with the wrong signature
 * fails at compile time.
 */
#ifndef DLC_IR_SHAPE_H
#define DLC_IR_SHAPE_H

#include "ir.h"

#define OP(e, name, lo, hi, kind, flags, attrs, shape, grad, ew, onnx, dom) const char *shape(Graph *g, Node *n);
#include "ops.def"
#undef OP

/* Formats a type into an arena string (for messages). */
const char *shape_fmt(Graph *g, const TensorType *t);
/* NumPy broadcasting of a and b with the batch dimension rules; on failure
 * returns false. */
bool shape_broadcast_types(const TensorType *a, const TensorType *b, TensorType *out);
/* Checks the dims of a type: rank, N only in dim 0, sizes and the element
 * count within DLC_MAX_DIM.  Returns NULL or a message naming `what`. */
const char *shape_check_dims(Graph *g, const TensorType *t, const char *what);

#endif
