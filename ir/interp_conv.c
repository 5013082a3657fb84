/* interp_conv.c - the reference kernels of the convolution family, in f64
 * (see interp_conv.h).  Straightforward loops, the executable
 * specification the C kernels (codegen/c_kernels_conv.c) are tested
 * against:
 *
 *  - conv2d: y[b,o,oy,ox] = bias[o] + sum over the channels of o's group
 *    and the window of x[b,c,iy,ix] * w[o,c',ky,kx], where
 *    iy = oy*sh - pt + ky*dh, ix likewise; padding reads as 0.
 *  - max_pool2d: the maximum of the window's positions inside the input
 *    (padding never wins).  avg_pool2d: the sum over the positions inside
 *    the input divided by their count, or by kh*kw with count_include_pad.
 *  - global_avg_pool2d: the mean over H x W.
 *  - conv2d_grad_input / conv2d_grad_filter (x, w, dy): dx or dw = 0,
 *    then dy[b,o,oy,ox] times w (or x) added for each term of conv2d's sum.
 *  - max_pool2d_grad / avg_pool2d_grad (x, dy): dx = 0, then each
 *    window's dy goes to the first position (row-major) of the window
 *    holding its maximum, or is spread evenly over the window's positions
 *    inside the input (divided as the forward average divides).
 *  - batch_norm: scale * (x - mean) / sqrt(var + epsilon) + bias, per
 *    channel (dimension 1).
 * (erf and clip, elementwise, are their ew formulas in interp.c.)
 */
#include <math.h>

#include "conv.h"
#include "interp_conv.h"

/* What conv2d_terms computes. */
enum { CONV_FWD, CONV_GRAD_INPUT, CONV_GRAD_FILTER };

/* conv2d over a batch of n, or its gradients: each term x[b, c, iy, ix] *
 * w[o, c, ky, kx] of the forward sum (padding terms do not exist) is added
 * into y[b, o, oy, ox] after the bias (CONV_FWD; in: x, w [, bias]), or,
 * times dy[b, o, oy, ox], dy * w into dx[b, c, iy, ix] (CONV_GRAD_INPUT)
 * or dy * x into dw[o, c, ky, kx] (CONV_GRAD_FILTER; in: x, w, dy), the
 * result zeroed first. */
static void conv2d_terms(const Node *nd, int64_t n, const double *const *in, double *out, int what)
{
    ConvGeom g = conv_geom_of(nd);
    const double *x = in[0], *w = in[1], *third = nd->nin == 3 ? in[2] : NULL;
    int64_t cg = g.c / g.group, og = g.o / g.group;
    int64_t nb = nd->in[0]->type.dims[0] == DIM_N ? n : nd->in[0]->type.dims[0];
    int64_t nout = what == CONV_GRAD_INPUT ? nb * g.c * g.h * g.w : g.o * cg * g.kh * g.kw;
    if (what != CONV_FWD)
        for (int64_t i = 0; i < nout; i++) out[i] = 0.0;
    for (int64_t b = 0; b < nb; b++)
        for (int64_t o = 0; o < g.o; o++) {
            int64_t c0 = (o / og) * cg;
            for (int64_t oy = 0; oy < g.oh; oy++)
                for (int64_t ox = 0; ox < g.ow; ox++) {
                    int64_t yi = ((b * g.o + o) * g.oh + oy) * g.ow + ox;
                    double d = what == CONV_FWD ? 0.0 : third[yi];
                    if (what == CONV_FWD) out[yi] = third ? third[o] : 0.0;
                    for (int64_t c = 0; c < cg; c++)
                        for (int64_t ky = 0; ky < g.kh; ky++) {
                            int64_t iy = oy * g.sh - g.pt + ky * g.dh;
                            if (iy < 0 || iy >= g.h) continue;
                            for (int64_t kx = 0; kx < g.kw; kx++) {
                                int64_t ix = ox * g.sw - g.pl + kx * g.dw;
                                if (ix < 0 || ix >= g.w) continue;
                                int64_t xi = ((b * g.c + c0 + c) * g.h + iy) * g.w + ix;
                                int64_t wi = ((o * cg + c) * g.kh + ky) * g.kw + kx;
                                if (what == CONV_FWD) out[yi] += x[xi] * w[wi];
                                else if (what == CONV_GRAD_INPUT) out[xi] += d * w[wi];
                                else out[wi] += d * x[xi];
                            }
                        }
                }
        }
}

/* The input rows [*y0, *y1) and columns [*x0, *x1) that pooling window
 * (oy, ox) covers, clipped to the input (padding holds no positions). */
static void pool_window(const ConvGeom *g, int64_t oy, int64_t ox, int64_t *y0, int64_t *y1, int64_t *x0, int64_t *x1)
{
    int64_t ty = oy * g->sh - g->pt, tx = ox * g->sw - g->pl;
    *y0 = ty < 0 ? 0 : ty;
    *y1 = ty + g->kh > g->h ? g->h : ty + g->kh;
    *x0 = tx < 0 ? 0 : tx;
    *x1 = tx + g->kw > g->w ? g->w : tx + g->kw;
}

/* What an average divides by: the window's positions inside the input, or
 * every position (kh * kw) with count_include_pad. */
static double pool_divisor(const ConvGeom *g, bool include_pad, int64_t y0, int64_t y1, int64_t x0, int64_t x1)
{
    return (double)(include_pad ? g->kh * g->kw : (y1 - y0) * (x1 - x0));
}

/* max_pool2d (is_max) or avg_pool2d / global_avg_pool2d. */
static void pool2d(const Node *nd, int64_t n, const double *x, double *y, bool is_max)
{
    ConvGeom g = conv_geom_of(nd);
    bool include_pad = nd->op == OP_AVG_POOL2D && node_attr_int(nd, "count_include_pad");
    int64_t nb = nd->in[0]->type.dims[0] == DIM_N ? n : nd->in[0]->type.dims[0];
    for (int64_t bc = 0; bc < nb * g.c; bc++)
        for (int64_t oy = 0; oy < g.oh; oy++)
            for (int64_t ox = 0; ox < g.ow; ox++) {
                int64_t y0, y1, x0, x1;
                pool_window(&g, oy, ox, &y0, &y1, &x0, &x1);
                double acc = is_max ? -INFINITY : 0.0;
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++) {
                        double v = x[(bc * g.h + iy) * g.w + ix];
                        acc = is_max ? (v > acc ? v : acc) : acc + v;
                    }
                if (!is_max) acc /= pool_divisor(&g, include_pad, y0, y1, x0, x1);
                y[(bc * g.oh + oy) * g.ow + ox] = acc;
            }
}

/* max_pool2d_grad (is_max) or avg_pool2d_grad: the vector-Jacobian
 * product of pool2d with dy, accumulated into dx over overlapping windows.
 * The max goes to the first maximal position (strict >, as the forward
 * keeps the first maximum); a window of -inf only sends it to its first
 * position inside the input. */
static void pool2d_grad(const Node *nd, int64_t n, const double *x, const double *dy, double *dx, bool is_max)
{
    ConvGeom g = conv_geom_of(nd);
    bool include_pad = nd->op == OP_AVG_POOL2D_GRAD && node_attr_int(nd, "count_include_pad");
    int64_t nb = nd->in[0]->type.dims[0] == DIM_N ? n : nd->in[0]->type.dims[0];
    for (int64_t i = 0; i < nb * g.c * g.h * g.w; i++) dx[i] = 0.0;
    for (int64_t bc = 0; bc < nb * g.c; bc++)
        for (int64_t oy = 0; oy < g.oh; oy++)
            for (int64_t ox = 0; ox < g.ow; ox++) {
                int64_t y0, y1, x0, x1;
                pool_window(&g, oy, ox, &y0, &y1, &x0, &x1);
                double d = dy[(bc * g.oh + oy) * g.ow + ox], best = -INFINITY;
                double share = is_max ? 0.0 : d / pool_divisor(&g, include_pad, y0, y1, x0, x1);
                int64_t arg = -1;
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++) {
                        int64_t at = (bc * g.h + iy) * g.w + ix;
                        if (!is_max) dx[at] += share;
                        else if (arg < 0 || x[at] > best) best = x[at], arg = at;
                    }
                if (is_max && arg >= 0) dx[arg] += d;
            }
}

/* batch_norm over channel dimension 1. */
static void batch_norm(const Node *nd, const double *const *in, double *y, int64_t numel)
{
    const TensorType *t = &nd->type;
    int64_t c = t->dims[1], inner = 1;
    for (int i = 2; i < t->rank; i++) inner *= t->dims[i];
    double eps = node_attr_float(nd, "epsilon");
    for (int64_t i = 0; i < numel; i++) {
        int64_t ch = (i / inner) % c;
        y[i] = in[1][ch] * (in[0][i] - in[3][ch]) / sqrt(in[4][ch] + eps) + in[2][ch];
    }
}

void interp_conv_kernel(const Node *nd, int64_t n, const double *const *in, double *y, int64_t numel)
{
    switch (nd->op) {
    case OP_CONV2D: conv2d_terms(nd, n, in, y, CONV_FWD); break;
    case OP_CONV2D_GRAD_INPUT: conv2d_terms(nd, n, in, y, CONV_GRAD_INPUT); break;
    case OP_CONV2D_GRAD_FILTER: conv2d_terms(nd, n, in, y, CONV_GRAD_FILTER); break;
    case OP_MAX_POOL2D: pool2d(nd, n, in[0], y, true); break;
    case OP_AVG_POOL2D:
    case OP_GLOBAL_AVG_POOL2D: pool2d(nd, n, in[0], y, false); break;
    case OP_MAX_POOL2D_GRAD: pool2d_grad(nd, n, in[0], in[1], y, true); break;
    case OP_AVG_POOL2D_GRAD: pool2d_grad(nd, n, in[0], in[1], y, false); break;
    case OP_BATCH_NORM: batch_norm(nd, in, y, numel); break;
    default: DLC_ICE("interp_conv: no kernel for '%s'", op_info(nd->op)->name);
    }
}
