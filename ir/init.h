/* init.h - parameter initializers, resolved to a distribution.
 *
 * Keras' initializers (glorot_uniform, glorot_normal, he_uniform, he_normal,
 * lecun_normal, lecun_uniform, zeros, ones, constant, uniform, normal,
 * truncated_normal) reduce to one of four distributions with two numbers,
 * computed from the parameter's shape (fan in / fan out as Keras computes
 * them: for a kernel [.., in, out] with receptive field = product of the
 * leading dims).  Both the code generators and the interpreter use this.
 */
#ifndef DLC_IR_INIT_H
#define DLC_IR_INIT_H

#include <stdbool.h>

#include "ir.h"

typedef enum { INIT_CONSTANT, INIT_UNIFORM, INIT_NORMAL, INIT_TRUNCATED_NORMAL } InitDist;

typedef struct InitSpec {
    InitDist dist;
    double a, b;  /* constant: a = value; uniform: [a, b); normal: mean a, stddev b */
} InitSpec;

/* Resolves the `init` attribute of a param or state node.  Returns NULL on
 * success, else a message naming the unknown initializer. */
const char *init_resolve(const Node *n, InitSpec *out);
/* True if `name` is a known initializer. */
bool init_known(const char *name);
/* The list of known initializer names, NULL-terminated (for messages). */
const char *const *init_names(void);

#endif
