/* ops.c - the op table, generated from ops.def with an X-macro.
 *
 * op_table[] holds one OpInfo per OP(...) line.  The attribute schema
 * strings ("axes:is=,keepdims:b=0") are parsed once, on first use of the
 * table, into AttrSpec arrays kept in static storage; a malformed schema in
 * ops.def is an internal error.
 */
#include <string.h>

#include "ir.h"
#include "shape.h"

/* The grad column of ops.def is a bare letter: G, Z or _. */
#define GRADK_G GRAD_RULE
#define GRADK_Z GRAD_ZERO
#define GRADK__ GRAD_NONE

static OpInfo op_table[OP_COUNT] = {
#define OP(e, nm, lo, hi, kind, attrs, shape, grad, ew) \
    {OP_##e, #nm, lo, hi, kind, attrs, shape, GRADK_##grad, ew, NULL, 0},
#include "ops.def"
#undef OP
};

#define SPEC_POOL 512
#define NAME_POOL 8192
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

/* Parses every schema, once. */
static void op_table_init(void) {
    if (table_ready) return;
    int nspec = 0;
    size_t nused = 0;
    for (int i = 0; i < OP_COUNT; i++) {
        DLC_ASSERT(op_table[i].code == (OpCode)i);
        parse_schema(&op_table[i], &nspec, &nused);
    }
    table_ready = true;
}

const OpInfo *op_info(OpCode op) {
    DLC_ASSERT((unsigned)op < OP_COUNT);
    op_table_init();
    return &op_table[op];
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

const AttrSpec *op_attr_spec(OpCode op, const char *name) {
    const OpInfo *info = op_info(op);
    for (int i = 0; i < info->nspecs; i++)
        if (strcmp(info->specs[i].name, name) == 0) return &info->specs[i];
    return NULL;
}
