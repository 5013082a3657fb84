/* init.c - parameter initializers (Keras' names) resolved to a distribution.
 *
 * A param or state node carries `init` (a name) and optional numbers
 * (scale, low, high, mean, stddev, value).  init_resolve() turns them into
 * one of four distributions (constant, uniform, normal, normal truncated at
 * two standard deviations) with two numbers, exactly as Keras computes them:
 *
 *   fans (Keras' _compute_fans over the shape):
 *     rank 0: fan_in = fan_out = 1
 *     rank 1: fan_in = fan_out = dims[0]
 *     rank 2: fan_in = dims[0], fan_out = dims[1]
 *     rank>2: receptive = prod(dims[0 .. rank-3]);
 *             fan_in = dims[rank-2] * receptive, fan_out = dims[rank-1] * receptive
 *
 *   VarianceScaling(scale, mode, distribution):
 *     s = scale / max(1, fan)     fan = fan_in | fan_out | (fan_in+fan_out)/2
 *     uniform:           U(-sqrt(3 s), sqrt(3 s))
 *     truncated normal:  stddev = sqrt(s) / 0.87962566103423978
 *                        (the stddev of a unit normal truncated at +-2)
 *
 *   glorot_uniform  scale 1, fan_avg, uniform     glorot_normal  scale 1, fan_avg, truncated
 *   he_uniform      scale 2, fan_in,  uniform     he_normal      scale 2, fan_in,  truncated
 *   lecun_uniform   scale 1, fan_in,  uniform     lecun_normal   scale 1, fan_in,  truncated
 *   a `scale` attribute, when set, overrides the scale of these six.
 *
 *   zeros, ones, constant(value)
 *   uniform / random_uniform (low = -0.05, high = 0.05)
 *   normal / random_normal (mean = 0, stddev = 0.05)
 *   truncated_normal (mean = 0, stddev = 0.05)
 *
 * An attribute counts as given only if it is present on the node
 * (node_has_attr), since the schema defaults are all 0.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "init.h"

typedef enum { FAN_IN, FAN_OUT, FAN_AVG } FanMode;

/* Keras' _compute_fans for the node's shape.  Params and states have no
 * batch dimension, but a DIM_N (should one appear) counts as 1. */
static void compute_fans(const TensorType *t, double *fan_in, double *fan_out)
{
    double d[DLC_MAX_RANK];
    for (int i = 0; i < t->rank; i++) d[i] = t->dims[i] == DIM_N ? 1.0 : (double)t->dims[i];
    if (t->rank == 0) {
        *fan_in = *fan_out = 1.0;
    } else if (t->rank == 1) {
        *fan_in = *fan_out = d[0];
    } else if (t->rank == 2) {
        *fan_in = d[0];
        *fan_out = d[1];
    } else {
        double receptive = 1.0;
        for (int i = 0; i < t->rank - 2; i++) receptive *= d[i];
        *fan_in = d[t->rank - 2] * receptive;
        *fan_out = d[t->rank - 1] * receptive;
    }
}

/* A float attribute if present on the node, else `deflt`. */
static double attr_or(const Node *n, const char *name, double deflt)
{
    return node_has_attr(n, name) ? node_attr_float(n, name) : deflt;
}

/* Keras' VarianceScaling with a uniform or a truncated normal distribution. */
static void variance_scaling(const Node *n, double scale, FanMode mode, bool uniform, InitSpec *out)
{
    double fan_in, fan_out, fan;
    compute_fans(&n->type, &fan_in, &fan_out);
    fan = mode == FAN_IN ? fan_in : mode == FAN_OUT ? fan_out : (fan_in + fan_out) / 2.0;
    double s = attr_or(n, "scale", scale) / (fan > 1.0 ? fan : 1.0);
    if (uniform) {
        double limit = sqrt(3.0 * s);
        out->dist = INIT_UNIFORM;
        out->a = -limit;
        out->b = limit;
    } else {
        out->dist = INIT_TRUNCATED_NORMAL;
        out->a = 0.0;
        out->b = sqrt(s) / 0.87962566103423978;
    }
}

static const char *const names[] = {
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
    "zeros", "ones", "constant", "uniform", "random_uniform", "normal", "random_normal",
    "truncated_normal", NULL,
};

const char *const *init_names(void)
{
    return names;
}

bool init_known(const char *name)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], name) == 0) return true;
    return false;
}

const char *init_resolve(const Node *n, InitSpec *out)
{
    const char *name = node_attr_str(n, "init");
    if (!name || !*name) name = "zeros";
    out->a = out->b = 0.0;
    if (strcmp(name, "glorot_uniform") == 0) {
        variance_scaling(n, 1.0, FAN_AVG, true, out);
    } else if (strcmp(name, "glorot_normal") == 0) {
        variance_scaling(n, 1.0, FAN_AVG, false, out);
    } else if (strcmp(name, "he_uniform") == 0) {
        variance_scaling(n, 2.0, FAN_IN, true, out);
    } else if (strcmp(name, "he_normal") == 0) {
        variance_scaling(n, 2.0, FAN_IN, false, out);
    } else if (strcmp(name, "lecun_uniform") == 0) {
        variance_scaling(n, 1.0, FAN_IN, true, out);
    } else if (strcmp(name, "lecun_normal") == 0) {
        variance_scaling(n, 1.0, FAN_IN, false, out);
    } else if (strcmp(name, "zeros") == 0) {
        out->dist = INIT_CONSTANT;
    } else if (strcmp(name, "ones") == 0) {
        out->dist = INIT_CONSTANT;
        out->a = 1.0;
    } else if (strcmp(name, "constant") == 0) {
        out->dist = INIT_CONSTANT;
        out->a = attr_or(n, "value", 0.0);
    } else if (strcmp(name, "uniform") == 0 || strcmp(name, "random_uniform") == 0) {
        out->dist = INIT_UNIFORM;
        out->a = attr_or(n, "low", -0.05);
        out->b = attr_or(n, "high", 0.05);
    } else if (strcmp(name, "normal") == 0 || strcmp(name, "random_normal") == 0) {
        out->dist = INIT_NORMAL;
        out->a = attr_or(n, "mean", 0.0);
        out->b = attr_or(n, "stddev", 0.05);
    } else if (strcmp(name, "truncated_normal") == 0) {
        out->dist = INIT_TRUNCATED_NORMAL;
        out->a = attr_or(n, "mean", 0.0);
        out->b = attr_or(n, "stddev", 0.05);
    } else {
        /* A static buffer: the message is read at once by the caller. */
        static char msg[200];
        snprintf(msg, sizeof msg, "unknown initializer '%.100s'", name);
        return msg;
    }
    return NULL;
}
