/* ops.c - the op table, generated from ops.def with an X-macro.
 *
 * op_table[] holds one OpInfo per OP(...) line.  The attribute schema
 * strings ("axes:is=,keepdims:b=0") are parsed once, on first use of the
 * table, into AttrSpec arrays kept in static storage, and the operand
 * domain strings ("pos,", "prob|normal,simplex") into the two Domain arrays
 * of each OpInfo (one for from_logits false, one for true); a malformed
 * schema or domain entry in ops.def is an internal error.  The ew column,
 * C tokens there, is stringified and respelled once into the $-template
 * of OpInfo.ew (see ops.def).
 */
#include <ctype.h>
#include <string.h>

#include "ir.h"
#include "shape.h"

/* The grad column of ops.def is a bare letter: G, Z or _. */
#define GRADK_G GRAD_RULE
#define GRADK_Z GRAD_ZERO
#define GRADK__ GRAD_NONE

/* The ew column is C tokens; stringified here, respelled by ew_template. */
static OpInfo op_table[OP_COUNT] = {
#define OP(e, nm, lo, hi, kind, flags, attrs, shape, grad, ew, onnx, dom) \
    {OP_##e, #nm, lo, hi, kind, flags, attrs, shape, GRADK_##grad, #ew, onnx, dom, NULL, 0, 0, {DOM_NORMAL}, {DOM_NORMAL}},
#include "ops.def"
#undef OP
};

#define SPEC_POOL 512
#define NAME_POOL 16384
static AttrSpec spec_pool[SPEC_POOL];
static char name_pool[NAME_POOL];
static bool table_ready;

/* Copies [s, s+len) into the static name pool. */
static const char *pool_str(const char *s, size_t len, size_t *used) {
    if (*used + len + 1 > NAME_POOL) DLC_ICE("ops.def: attribute schemas exceed the name pool");
    char *p = name_pool + *used;
    memcpy(p, s, len);
    p[len] = '\0';
    *used += len + 1;
    return p;
}

/* Parses one op's schema string into spec_pool[*nspec...]. */
static void parse_schema(OpInfo *op, int *nspec, size_t *nused) {
    const char *s = op->attrs;
    op->specs = spec_pool + *nspec;
    op->nspecs = 0;
    while (*s) {
        const char *end = strchr(s, ',');
        if (!end) end = s + strlen(s);
        const char *colon = memchr(s, ':', (size_t)(end - s));
        if (!colon || colon == s) DLC_ICE("ops.def: bad attribute schema for %s: '%s'", op->name, op->attrs);
        const char *eq = memchr(colon, '=', (size_t)(end - colon));
        const char *kend = eq ? eq : end;
        size_t klen = (size_t)(kend - colon - 1);
        AttrKind kind;
        if (klen == 1 && colon[1] == 'i') kind = AK_INT;
        else if (klen == 1 && colon[1] == 'f') kind = AK_FLOAT;
        else if (klen == 1 && colon[1] == 'b') kind = AK_BOOL;
        else if (klen == 2 && colon[1] == 'i' && colon[2] == 's') kind = AK_INTS;
        else if (klen == 1 && colon[1] == 's') kind = AK_STR;
        else if (klen == 1 && colon[1] == 't') kind = AK_DTYPE;
        else DLC_ICE("ops.def: bad attribute kind for %s: '%s'", op->name, op->attrs);
        if (*nspec >= SPEC_POOL) DLC_ICE("ops.def: too many attributes");
        AttrSpec *sp = &spec_pool[(*nspec)++];
        sp->name = pool_str(s, (size_t)(colon - s), nused);
        sp->kind = kind;
        sp->required = eq == NULL;
        sp->deflt = eq ? pool_str(eq + 1, (size_t)(end - eq - 1), nused) : "";
        if (kind == AK_INTS && sp->deflt[0]) DLC_ICE("ops.def: int list defaults must be empty (%s)", op->name);
        op->nspecs++;
        s = *end ? end + 1 : end;
    }
    if (op->nspecs == 0) op->specs = NULL;
}

static bool ident_char(char c) {
    return isalnum((unsigned char)c) || c == '_';
}

/* Respells an ew column as stringified from ops.def into the template the
 * code generators expand: X<k> becomes $<k>, ATTR(name) $name, and the
 * placeholder _ of an op without a formula "".  Everything else (spacing
 * included) is kept, so the template is the column's text. */
static const char *ew_template(const OpInfo *op, size_t *used) {
    const char *s = op->ew;
    if (strcmp(s, "_") == 0) return "";
    char out[512];
    size_t n = 0;
    while (*s) {
        if (n + 64 >= sizeof out) DLC_ICE("ops.def: the ew formula of %s is too long", op->name);
        if (!ident_char(*s)) {
            out[n++] = *s++;
            continue;
        }
        const char *q = s;
        while (ident_char(*s)) s++;
        size_t len = (size_t)(s - q);
        if (q[0] == 'X' && len > 1 && strspn(q + 1, "0123456789") == len - 1) {
            out[n++] = '$';
            memcpy(out + n, q + 1, len - 1);
            n += len - 1;
        } else if (len == 4 && memcmp(q, "ATTR", 4) == 0) {
            const char *name = s + 1, *end = name;
            while (ident_char(*end)) end++;
            if (*s != '(' || end == name || *end != ')' || (size_t)(end - name) > 48)
                DLC_ICE("ops.def: bad ATTR(...) in the ew formula of %s: '%s'", op->name, op->ew);
            out[n++] = '$';
            memcpy(out + n, name, (size_t)(end - name));
            n += (size_t)(end - name);
            s = end + 1;
        } else {
            memcpy(out + n, q, len);
            n += len;
        }
    }
    return pool_str(out, n, used);
}

/* The spellings of the Domain enumerators in the dom column, in order. */
static const char *const dom_names[] = {"normal", "pos", "away0", "prob", "unit", "simplex", "label"};

/* The Domain spelled [s, s+len) ("" is normal); false if none is. */
static bool dom_name(const char *s, size_t len, Domain *out) {
    if (len == 0) {
        *out = DOM_NORMAL;
        return true;
    }
    for (size_t d = 0; d < sizeof dom_names / sizeof dom_names[0]; d++)
        if (strlen(dom_names[d]) == len && memcmp(dom_names[d], s, len) == 0) {
            *out = (Domain)d;
            return true;
        }
    return false;
}

/* One field per operand, split at commas; each field is a name, or a|b
 * (b read into logits[], a into both otherwise). */
const char *op_parse_domains(const char *dom, int max_in, bool has_from_logits, Domain *plain, Domain *logits,
                             int *n) {
    *n = 0;
    if (!*dom) return NULL;
    if (max_in < 0) return "a variadic op takes no per-operand domains";
    for (const char *s = dom;;) {
        const char *end = strchr(s, ',');
        if (!end) end = s + strlen(s);
        if (*n >= OP_MAX_DOM || *n >= max_in) return "more fields than operands";
        const char *bar = memchr(s, '|', (size_t)(end - s));
        const char *name_end = bar ? bar : end;
        if (!dom_name(s, (size_t)(name_end - s), &plain[*n])) return "unknown domain name";
        logits[*n] = plain[*n];
        if (bar) {
            if (!has_from_logits) return "a|b needs a from_logits attribute";
            if (bar == s || bar + 1 == end) return "a|b needs two domain names";
            if (!dom_name(bar + 1, (size_t)(end - bar - 1), &logits[*n])) return "unknown domain name";
        }
        (*n)++;
        if (!*end) break;
        s = end + 1;
    }
    if (*n != max_in) return "fewer fields than operands";
    return NULL;
}

/* Parses every schema and domain entry, once. */
static void op_table_init(void) {
    if (table_ready) return;
    int nspec = 0;
    size_t nused = 0;
    for (int i = 0; i < OP_COUNT; i++) {
        OpInfo *op = &op_table[i];
        DLC_ASSERT(op->code == (OpCode)i);
        parse_schema(op, &nspec, &nused);
        op->ew = ew_template(op, &nused);
        bool has_logits = false;
        for (int k = 0; k < op->nspecs; k++) has_logits |= strcmp(op->specs[k].name, "from_logits") == 0;
        const char *err = op_parse_domains(op->dom, op->max_in, has_logits, op->dom_plain, op->dom_logits, &op->ndom);
        if (err) DLC_ICE("ops.def: bad domain entry for %s: '%s': %s", op->name, op->dom, err);
    }
    table_ready = true;
}

const OpInfo *op_info(OpCode op) {
    DLC_ASSERT((unsigned)op < OP_COUNT);
    op_table_init();
    return &op_table[op];
}

bool op_is_elementwise(OpCode op) {
    OpKind k = op_info(op)->kind;
    return k == OK_UNARY || k == OK_BINARY || k == OK_EW;
}

bool op_lookup(const char *name, size_t len, OpCode *out) {
    for (int i = 0; i < OP_COUNT; i++) {
        if (strlen(op_table[i].name) == len && memcmp(op_table[i].name, name, len) == 0) {
            *out = (OpCode)i;
            return true;
        }
    }
    return false;
}

Domain op_domain(OpCode op, int i, bool from_logits) {
    const OpInfo *info = op_info(op);
    if (info->ndom == 0) return DOM_NORMAL;
    DLC_ASSERT(i >= 0 && i < info->ndom);
    return from_logits ? info->dom_logits[i] : info->dom_plain[i];
}

const AttrSpec *op_attr_spec(OpCode op, const char *name) {
    const OpInfo *info = op_info(op);
    for (int i = 0; i < info->nspecs; i++)
        if (strcmp(info->specs[i].name, name) == 0) return &info->specs[i];
    return NULL;
}
