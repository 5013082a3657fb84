/* internal.h - helpers shared by the files of ir/ (not part of its API). */
#ifndef DLC_IR_INTERNAL_H
#define DLC_IR_INTERNAL_H

#include "ir.h"

/* Runs n's shape rule and validates the resulting dims (rank, N placement,
 * DLC_MAX_DIM).  Returns NULL or the rule's message. */
const char *ir_shape_infer(Graph *g, Node *n);

/* Checks attributes against op's schema and copies them into the arena in
 * schema order, converting compatible kinds (an int where a float is
 * expected, 0/1 for a bool).  Returns NULL or a message. */
const char *ir_attrs_normalize(Graph *g, OpCode op, const Attr *attrs, int nattrs, Attr **out, int *nout);

/* Writes a double in the shortest form that strtod reads back exactly
 * ("0.001", "1e-07", "2", "inf", "-inf", "nan"); buf needs 32 bytes. */
char *ir_format_double(double v, char *buf);

#endif
