/* c_kernels_conv.c - C kernels of the convolution family: conv2d,
 * its gradients conv2d_grad_input / conv2d_grad_filter, max_pool2d,
 * avg_pool2d, global_avg_pool2d, the pools' gradients
 * max_pool2d_grad / avg_pool2d_grad, and batch_norm (inference form), bound to the op table by the X-macro in c_kernels.c (declared in
 * c_emit.h).  erf and clip are elementwise and go through ck_elementwise.
 *
 * Direct loops over NCHW tensors, one block per node, with the geometry
 * (ir/conv.h) folded into the code as constants.  conv2d goes one kernel
 * tap at a time:
 *
 *     y[b, o, :, :] = bias[o]
 *     for c < C/group, ky < KH, kx < KW:
 *         for the output rows / columns whose input lies inside the image:
 *             y[b, o, oy, ox] += w[o, c, ky, kx] * x[b, c0 + c, iy, ix]
 *
 * Padding is never materialized: window positions outside the input are
 * skipped (for conv2d and the average they contribute 0; the max ignores
 * them; the average divides by the positions inside unless
 * count_include_pad).  Sums accumulate in float, as PyTorch does on the
 * CPU.  The semantics are those of the reference kernels, ir/interp_conv.c.
 * The gradients (conv2d_grad_input, conv2d_grad_filter, max_pool2d_grad,
 * avg_pool2d_grad) are direct loops too; an im2col + GEMM convolution and
 * its gradients are still to come (performance work of #13).
 */
#include "../ir/conv.h"
#include "c_emit.h"

/* Opens the block and declares x0.. (operands) and y (the result). */
static void open_block(CEmit *e, const Node *n)
{
    const char *r = e->p->d->restrict_kw;
    cp_block(e->p);
    for (int k = 0; k < n->nin; k++)
        cp_line(e->p, "const %s *%s x%d = %s;", ce_ctype(n->in[k]->type.dtype), r, k, ce_ref(e, n->in[k]));
    cp_line(e->p, "%s *%s y = %s;", ce_ctype(n->type.dtype), r, ce_ref(e, n));
}

/* The number of images: the run-time n, or dim 0 when it is static. */
static const char *images(CEmit *e, const Node *n)
{
    return ext_str(e, ext_dims(&n->in[0]->type, 0, 1));
}

#define LL(v) ((long long)(v))

/* The output positions [lo, hi) along one axis whose input position
 * o * s - p + k * d (for kernel tap k) lies inside [0, size). */
static void tap_range(int64_t size, int64_t out, int64_t s, int64_t p, int64_t k, int64_t d, int64_t *lo,
                      int64_t *hi)
{
    int64_t off = k * d - p; /* input position of output 0 */
    int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t b = size - 1 - off < 0 ? 0 : (size - 1 - off) / s + 1;
    *lo = a < out ? a : out;
    *hi = b < out ? b : out;
    if (*hi < *lo) *hi = *lo;
}

/* Writes `static const int64_t name[n] = {...};`. */
static void const_table(CEmit *e, const char *name, const int64_t *v, int64_t n)
{
    char buf[4096];
    size_t len = (size_t)snprintf(buf, sizeof buf, "static const int64_t %s[%lld] = {", name, LL(n));
    for (int64_t i = 0; i < n && len < sizeof buf - 32; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%lld", i ? ", " : "", LL(v[i]));
    cp_line(e->p, "%s};", buf);
}

/* Closes k nested blocks. */
static void close_blocks(CEmit *e, int k)
{
    for (int i = 0; i < k; i++) cp_close(e->p, "");
}

/* Opens conv2d's (or its gradients') block with the tap tables oy_lo /
 * oy_hi [kh] and ox_lo / ox_hi [kw]: the output rows / columns whose input
 * position for that tap lies inside the image. */
static void open_tap_block(CEmit *e, const Node *n, const ConvGeom *g)
{
    if (g->kh > 64 || g->kw > 64)
        DLC_ICE("%s: kernel %lldx%lld too large for the tap tables", op_info(n->op)->name, LL(g->kh), LL(g->kw));
    int64_t ylo[64], yhi[64], xlo[64], xhi[64];
    for (int64_t k = 0; k < g->kh; k++) tap_range(g->h, g->oh, g->sh, g->pt, k, g->dh, &ylo[k], &yhi[k]);
    for (int64_t k = 0; k < g->kw; k++) tap_range(g->w, g->ow, g->sw, g->pl, k, g->dw, &xlo[k], &xhi[k]);
    open_block(e, n);
    const_table(e, "oy_lo", ylo, g->kh);
    const_table(e, "oy_hi", yhi, g->kh);
    const_table(e, "ox_lo", xlo, g->kw);
    const_table(e, "ox_hi", xhi, g->kw);
}

/* Direct convolution, one kernel tap at a time: for each (o, c, ky, kx)
 * the tap's weight is added, times the shifted input, into every output
 * position whose input position is inside the image.  The valid ranges
 * of output rows / columns per tap are tables computed here, so the
 * innermost loop runs over contiguous outputs without a test (and
 * vectorizes for stride 1).  Each output still sums its terms in the
 * order bias, c, ky, kx. */
void ck_conv2d(CEmit *e, const Node *n)
{
    ConvGeom g = conv_geom_of(n);
    const char *ct = ce_ctype(n->type.dtype);
    int64_t cg = g.c / g.group, og = g.o / g.group;
    open_tap_block(e, n, &g);
    cp_open(e->p, "for (int64_t b = 0; b < %s; b++)", images(e, n));
    cp_open(e->p, "for (int64_t o = 0; o < %lld; o++)", LL(g.o));
    cp_line(e->p, "const %s *xb = x0 + (b * %lld + (o / %lld) * %lld) * %lld;", ct, LL(g.c), LL(og), LL(cg),
            LL(g.h * g.w));
    cp_line(e->p, "const %s *wo = x1 + o * %lld;", ct, LL(cg * g.kh * g.kw));
    cp_line(e->p, "%s *yo = y + (b * %lld + o) * %lld;", ct, LL(g.o), LL(g.oh * g.ow));
    cp_line(e->p, "for (int64_t i = 0; i < %lld; i++) yo[i] = %s;", LL(g.oh * g.ow), n->nin == 3 ? "x2[o]" : "0");
    cp_open(e->p, "for (int64_t c = 0; c < %lld; c++)", LL(cg));
    cp_open(e->p, "for (int64_t ky = 0; ky < %lld; ky++)", LL(g.kh));
    cp_open(e->p, "for (int64_t kx = 0; kx < %lld; kx++)", LL(g.kw));
    cp_line(e->p, "const %s wv = wo[(c * %lld + ky) * %lld + kx];", ct, LL(g.kh), LL(g.kw));
    cp_open(e->p, "for (int64_t oy = oy_lo[ky]; oy < oy_hi[ky]; oy++)");
    cp_line(e->p, "const %s *xr = xb + (c * %lld + oy * %lld - %lld + ky * %lld) * %lld + kx * %lld - %lld;", ct,
            LL(g.h), LL(g.sh), LL(g.pt), LL(g.dh), LL(g.w), LL(g.dw), LL(g.pl));
    cp_line(e->p, "%s *yr = yo + oy * %lld;", ct, LL(g.ow));
    if (g.sw == 1) cp_line(e->p, "for (int64_t ox = ox_lo[kx]; ox < ox_hi[kx]; ox++) yr[ox] += wv * xr[ox];");
    else cp_line(e->p, "for (int64_t ox = ox_lo[kx]; ox < ox_hi[kx]; ox++) yr[ox] += wv * xr[ox * %lld];", LL(g.sw));
    close_blocks(e, 7);
}

/* conv2d's gradients (x0 = x, x1 = w, x2 = dy), direct loops over the
 * same taps and tap tables as ck_conv2d: conv2d_grad_input adds w's tap
 * times dy into dx (the transposed convolution), conv2d_grad_filter sums
 * dy times the shifted input into each tap of dw.  The result is zeroed
 * first; the batch accumulates into dw. */
static void conv_grad(CEmit *e, const Node *n, bool want_input)
{
    ConvGeom g = conv_geom_of(n);
    const char *ct = ce_ctype(n->type.dtype);
    int64_t cg = g.c / g.group, og = g.o / g.group;
    open_tap_block(e, n, &g);
    if (want_input) {
        cp_line(e->p, "(void)x0; /* dx reads only x's shape */");
        cp_line(e->p, "for (int64_t i = 0; i < %s * %lld; i++) y[i] = 0;", images(e, n), LL(g.c * g.h * g.w));
    } else {
        cp_line(e->p, "(void)x1; /* dw reads only w's shape */");
        cp_line(e->p, "for (int64_t i = 0; i < %lld; i++) y[i] = 0;", LL(g.o * cg * g.kh * g.kw));
    }
    cp_open(e->p, "for (int64_t b = 0; b < %s; b++)", images(e, n));
    cp_open(e->p, "for (int64_t o = 0; o < %lld; o++)", LL(g.o));
    const char *xq = want_input ? "" : "const ";
    cp_line(e->p, "%s%s *xb = %s + (b * %lld + (o / %lld) * %lld) * %lld;", xq, ct, want_input ? "y" : "x0", LL(g.c),
            LL(og), LL(cg), LL(g.h * g.w));
    cp_line(e->p, "%s%s *wo = %s + o * %lld;", want_input ? "const " : "", ct, want_input ? "x1" : "y",
            LL(cg * g.kh * g.kw));
    cp_line(e->p, "const %s *dyo = x2 + (b * %lld + o) * %lld;", ct, LL(g.o), LL(g.oh * g.ow));
    cp_open(e->p, "for (int64_t c = 0; c < %lld; c++)", LL(cg));
    cp_open(e->p, "for (int64_t ky = 0; ky < %lld; ky++)", LL(g.kh));
    cp_open(e->p, "for (int64_t kx = 0; kx < %lld; kx++)", LL(g.kw));
    if (want_input) cp_line(e->p, "const %s wv = wo[(c * %lld + ky) * %lld + kx];", ct, LL(g.kh), LL(g.kw));
    else cp_line(e->p, "%s acc = 0;", ct);
    cp_open(e->p, "for (int64_t oy = oy_lo[ky]; oy < oy_hi[ky]; oy++)");
    cp_line(e->p, "%s%s *xr = xb + (c * %lld + oy * %lld - %lld + ky * %lld) * %lld + kx * %lld - %lld;", xq, ct,
            LL(g.h), LL(g.sh), LL(g.pt), LL(g.dh), LL(g.w), LL(g.dw), LL(g.pl));
    cp_line(e->p, "const %s *dr = dyo + oy * %lld;", ct, LL(g.ow));
    if (want_input)
        cp_line(e->p, "for (int64_t ox = ox_lo[kx]; ox < ox_hi[kx]; ox++) xr[ox * %lld] += wv * dr[ox];", LL(g.sw));
    else
        cp_line(e->p, "for (int64_t ox = ox_lo[kx]; ox < ox_hi[kx]; ox++) acc += dr[ox] * xr[ox * %lld];", LL(g.sw));
    cp_close(e->p, "");
    if (!want_input) cp_line(e->p, "wo[(c * %lld + ky) * %lld + kx] += acc;", LL(g.kh), LL(g.kw));
    close_blocks(e, 6);
}

void ck_conv2d_grad_input(CEmit *e, const Node *n) { conv_grad(e, n, true); }
void ck_conv2d_grad_filter(CEmit *e, const Node *n) { conv_grad(e, n, false); }

/* Max or average over each window (global_avg_pool2d: the whole plane). */
static void pool(CEmit *e, const Node *n, bool is_max)
{
    ConvGeom g = conv_geom_of(n);
    const char *ct = ce_ctype(n->type.dtype);
    bool include_pad = n->op == OP_AVG_POOL2D && node_attr_int(n, "count_include_pad");
    open_block(e, n);
    cp_open(e->p, "for (int64_t bc = 0; bc < %s * %lld; bc++)", images(e, n), LL(g.c));
    cp_line(e->p, "const %s *xp = x0 + bc * %lld;", ct, LL(g.h * g.w));
    cp_line(e->p, "%s *yp = y + bc * %lld;", ct, LL(g.oh * g.ow));
    cp_open(e->p, "for (int64_t oy = 0; oy < %lld; oy++)", LL(g.oh));
    cp_open(e->p, "for (int64_t ox = 0; ox < %lld; ox++)", LL(g.ow));
    cp_line(e->p, "%s acc = %s;", ct, is_max ? "-INFINITY" : "0");
    if (!is_max && !include_pad) cp_line(e->p, "int64_t cnt = 0;");
    cp_open(e->p, "for (int64_t ky = 0; ky < %lld; ky++)", LL(g.kh));
    cp_line(e->p, "const int64_t iy = oy * %lld - %lld + ky;", LL(g.sh), LL(g.pt));
    cp_line(e->p, "if (iy < 0 || iy >= %lld) continue;", LL(g.h));
    cp_open(e->p, "for (int64_t kx = 0; kx < %lld; kx++)", LL(g.kw));
    cp_line(e->p, "const int64_t ix = ox * %lld - %lld + kx;", LL(g.sw), LL(g.pl));
    cp_line(e->p, "if (ix < 0 || ix >= %lld) continue;", LL(g.w));
    cp_line(e->p, "const %s v = xp[iy * %lld + ix];", ct, LL(g.w));
    if (is_max) cp_line(e->p, "acc = v > acc ? v : acc;");
    else cp_line(e->p, "acc += v;%s", include_pad ? "" : " cnt++;");
    cp_close(e->p, "");
    cp_close(e->p, "");
    if (is_max) cp_line(e->p, "yp[oy * %lld + ox] = acc;", LL(g.ow));
    else if (include_pad) cp_line(e->p, "yp[oy * %lld + ox] = acc / %lld;", LL(g.ow), LL(g.kh * g.kw));
    else cp_line(e->p, "yp[oy * %lld + ox] = acc / (%s)cnt;", LL(g.ow), ct);
    cp_close(e->p, "");
    cp_close(e->p, "");
    cp_close(e->p, "");
    cp_close(e->p, "");
}

void ck_max_pool2d(CEmit *e, const Node *n) { pool(e, n, true); }
void ck_avg_pool2d(CEmit *e, const Node *n) { pool(e, n, false); }
void ck_global_avg_pool2d(CEmit *e, const Node *n) { pool(e, n, false); }

/* The pools' gradients (x0 = x, x1 = dy): dx is zeroed, then each window's
 * dy is added to the first position holding the window's maximum (strict
 * >, as the forward keeps the first maximum) or spread over the window's
 * positions inside the input, divided as the forward average divides. */
static void pool_grad(CEmit *e, const Node *n, bool is_max)
{
    ConvGeom g = conv_geom_of(n);
    const char *ct = ce_ctype(n->type.dtype);
    bool include_pad = n->op == OP_AVG_POOL2D_GRAD && node_attr_int(n, "count_include_pad");
    open_block(e, n);
    cp_line(e->p, "for (int64_t i = 0; i < %s * %lld; i++) y[i] = 0;", images(e, n), LL(g.c * g.h * g.w));
    cp_open(e->p, "for (int64_t bc = 0; bc < %s * %lld; bc++)", images(e, n), LL(g.c));
    if (is_max) cp_line(e->p, "const %s *xp = x0 + bc * %lld;", ct, LL(g.h * g.w));
    else cp_line(e->p, "(void)x0; /* the average reads only x's shape */");
    cp_line(e->p, "const %s *dp = x1 + bc * %lld;", ct, LL(g.oh * g.ow));
    cp_line(e->p, "%s *gp = y + bc * %lld;", ct, LL(g.h * g.w));
    cp_open(e->p, "for (int64_t oy = 0; oy < %lld; oy++)", LL(g.oh));
    cp_open(e->p, "for (int64_t ox = 0; ox < %lld; ox++)", LL(g.ow));
    cp_line(e->p, "const int64_t y0 = oy * %lld - %lld, x0p = ox * %lld - %lld;", LL(g.sh), LL(g.pt), LL(g.sw),
            LL(g.pl));
    cp_line(e->p, "const int64_t ya = y0 < 0 ? 0 : y0, yb = y0 + %lld > %lld ? %lld : y0 + %lld;", LL(g.kh), LL(g.h),
            LL(g.h), LL(g.kh));
    cp_line(e->p, "const int64_t xa = x0p < 0 ? 0 : x0p, xb = x0p + %lld > %lld ? %lld : x0p + %lld;", LL(g.kw),
            LL(g.w), LL(g.w), LL(g.kw));
    if (is_max) {
        cp_line(e->p, "int64_t arg = -1;");
        cp_line(e->p, "%s best = 0;", ct);
        cp_open(e->p, "for (int64_t iy = ya; iy < yb; iy++)");
        cp_open(e->p, "for (int64_t ix = xa; ix < xb; ix++)");
        cp_line(e->p, "const %s v = xp[iy * %lld + ix];", ct, LL(g.w));
        cp_line(e->p, "if (arg < 0 || v > best) { best = v; arg = iy * %lld + ix; }", LL(g.w));
        cp_close(e->p, "");
        cp_close(e->p, "");
        cp_line(e->p, "if (arg >= 0) gp[arg] += dp[oy * %lld + ox];", LL(g.ow));
    } else {
        if (include_pad) cp_line(e->p, "const %s d = dp[oy * %lld + ox] / %lld;", ct, LL(g.ow), LL(g.kh * g.kw));
        else cp_line(e->p, "const %s d = dp[oy * %lld + ox] / (%s)((yb - ya) * (xb - xa));", ct, LL(g.ow), ct);
        cp_open(e->p, "for (int64_t iy = ya; iy < yb; iy++)");
        cp_line(e->p, "for (int64_t ix = xa; ix < xb; ix++) gp[iy * %lld + ix] += d;", LL(g.w));
        cp_close(e->p, "");
    }
    cp_close(e->p, "");
    cp_close(e->p, "");
    cp_close(e->p, "");
    cp_close(e->p, "");
}

void ck_max_pool2d_grad(CEmit *e, const Node *n) { pool_grad(e, n, true); }
void ck_avg_pool2d_grad(CEmit *e, const Node *n) { pool_grad(e, n, false); }

/* y = scale * (x - mean) / sqrt(var + eps) + bias per channel (dim 1):
 * the per-channel factor and shift are computed once per channel. */
void ck_batch_norm(CEmit *e, const Node *n)
{
    const TensorType *t = &n->type;
    const char *ct = ce_ctype(t->dtype);
    int64_t inner = 1;
    for (int i = 2; i < t->rank; i++) inner *= t->dims[i];
    char eps[CP_FLOAT_LEN];
    cp_float(e->p->d, node_attr_float(n, "epsilon"), eps, sizeof eps);
    const char *sq = e->p->d->float_math && t->dtype == DT_F32 ? "sqrtf" : "sqrt";
    open_block(e, n);
    cp_open(e->p, "for (int64_t b = 0; b < %s; b++)", images(e, n));
    cp_open(e->p, "for (int64_t c = 0; c < %lld; c++)", LL(t->dims[1]));
    cp_line(e->p, "const %s k = x1[c] / %s(x4[c] + %s);", ct, sq, eps);
    cp_line(e->p, "const %s m = x2[c] - x3[c] * k;", ct);
    cp_line(e->p, "const int64_t base = (b * %lld + c) * %lld;", LL(t->dims[1]), LL(inner));
    cp_line(e->p, "for (int64_t i = 0; i < %lld; i++) y[base + i] = x0[base + i] * k + m;", LL(inner));
    cp_close(e->p, "");
    cp_close(e->p, "");
    cp_close(e->p, "");
}
