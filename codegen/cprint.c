/* cprint.c - the C-like printer and the ew-template expander (cprint.h).
 *
 * The template expander is a tiny scanner over the template text:
 *   `$` digits      -> operand expression (parenthesised by the caller when
 *                      it is not a primary expression)
 *   `$` identifier  -> the node's float attribute as a literal
 *   identifier `(`  -> a math function: respelled for the dialect (exp ->
 *                      expf) when it is one of the C99 double functions
 *   number with `.` or an exponent -> a floating literal, suffixed for the
 *                      dialect (0.5 -> 0.5f) so float code stays float
 *   anything else   -> copied.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cprint.h"

const CDialect cdialect_c99 = {
    .name = "c99",
    .float_math = true,
    .float_suffix = "f",
    .restrict_kw = "restrict",
    .fn_export = "",
};

/* CUDA C++ (codegen/emit_cuda.c): the same float spellings (expf is a
 * device function too), nvcc's restrict, and C linkage for the entry
 * points so that C programs (and dlopen) find them by name. */
const CDialect cdialect_cuda = {
    .name = "cuda",
    .float_math = true,
    .float_suffix = "f",
    .restrict_kw = "__restrict__",
    .fn_export = "extern \"C\" ",
};

void cp_init(CPrinter *p, FILE *f, const CDialect *d)
{
    p->f = f;
    p->d = d;
    p->indent = 0;
}

static void vline(CPrinter *p, const char *fmt, va_list ap, const char *tail)
{
    if (*fmt || *tail)
        for (int i = 0; i < p->indent; i++) fputs("    ", p->f);
    vfprintf(p->f, fmt, ap);
    fputs(tail, p->f);
    fputc('\n', p->f);
}

void cp_line(CPrinter *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(p, fmt, ap, "");
    va_end(ap);
}

void cp_open(CPrinter *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(p, fmt, ap, *fmt ? " {" : "{");
    va_end(ap);
    p->indent++;
}

void cp_block(CPrinter *p)
{
    for (int i = 0; i < p->indent; i++) fputs("    ", p->f);
    fputs("{\n", p->f);
    p->indent++;
}

void cp_close(CPrinter *p, const char *tail)
{
    DLC_ASSERT(p->indent > 0);
    p->indent--;
    for (int i = 0; i < p->indent; i++) fputs("    ", p->f);
    fprintf(p->f, "}%s\n", tail ? tail : "");
}

void cp_blank(CPrinter *p)
{
    fputc('\n', p->f);
}

char *cp_float(const CDialect *d, double v, char *buf, size_t len)
{
    if (isnan(v)) {
        snprintf(buf, len, "NAN");
        return buf;
    }
    if (isinf(v)) {
        snprintf(buf, len, v > 0 ? "INFINITY" : "(-INFINITY)");
        return buf;
    }
    char num[40];
    /* The shortest %g form that reads back as the same float. */
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(num, sizeof num, "%.*g", prec, fabs(v));
        if ((float)strtod(num, NULL) == (float)fabs(v)) break;
    }
    if (!strpbrk(num, ".e")) strcat(num, ".0");
    snprintf(buf, len, v < 0 ? "(-%s%s)" : "%s%s", num, d->float_suffix);
    return buf;
}

/* A growing string in the arena. */
typedef struct Buf {
    Arena *a;
    char *s;
    size_t len, cap;
} Buf;

static void buf_put(Buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 64) + n;
        b->s = arena_grow(b->a, b->s, b->cap, cap, 1);
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static bool is_math_fn(const char *s, size_t n)
{
    static const char *const fns[] = {"exp",  "log",  "sqrt", "fabs", "tanh",  "erf",   "pow",
                                      "fmax", "fmin", "log1p", "expm1", "floor", "ceil", "sin",
                                      "cos",  "tan",  "atan", "cbrt", NULL};
    for (int i = 0; fns[i]; i++)
        if (strlen(fns[i]) == n && memcmp(fns[i], s, n) == 0) return true;
    return false;
}

char *cp_expand(Arena *a, const CDialect *d, const char *tmpl, const char *const *operands, int nops,
                const Node *n)
{
    Buf b = {a, NULL, 0, 0};
    buf_put(&b, "", 0);
    const char *s = tmpl;
    while (*s) {
        if (*s == '$' && isdigit((unsigned char)s[1])) {
            int k = 0;
            s++;
            while (isdigit((unsigned char)*s)) k = k * 10 + (*s++ - '0');
            if (k >= nops) DLC_ICE("ew template '%s' uses operand $%d of %d", tmpl, k, nops);
            buf_put(&b, operands[k], strlen(operands[k]));
        } else if (*s == '$' && (isalpha((unsigned char)s[1]) || s[1] == '_')) {
            const char *q = ++s;
            while (isalnum((unsigned char)*s) || *s == '_') s++;
            char name[64], lit[CP_FLOAT_LEN];
            size_t len = (size_t)(s - q) < sizeof name - 1 ? (size_t)(s - q) : sizeof name - 1;
            memcpy(name, q, len);
            name[len] = '\0';
            cp_float(d, node_attr_float(n, name), lit, sizeof lit);
            buf_put(&b, lit, strlen(lit));
        } else if (isalpha((unsigned char)*s) || *s == '_') {
            const char *q = s;
            while (isalnum((unsigned char)*s) || *s == '_') s++;
            buf_put(&b, q, (size_t)(s - q));
            if (*s == '(' && d->float_math && is_math_fn(q, (size_t)(s - q))) buf_put(&b, "f", 1);
        } else if (isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1]))) {
            const char *q = s;
            bool fl = false;
            while (isdigit((unsigned char)*s) || *s == '.') fl |= *s++ == '.';
            if ((*s == 'e' || *s == 'E') &&
                (isdigit((unsigned char)s[1]) || ((s[1] == '-' || s[1] == '+') && isdigit((unsigned char)s[2])))) {
                fl = true;
                s += 2;
                while (isdigit((unsigned char)*s)) s++;
            }
            buf_put(&b, q, (size_t)(s - q));
            if (fl) buf_put(&b, d->float_suffix, strlen(d->float_suffix));
        } else {
            buf_put(&b, s++, 1);
        }
    }
    return b.s;
}
