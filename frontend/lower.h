/* lower.h - internals shared by the parts of the .nn lowering.
 *
 * The lowering walks the Program (parser.h) statement by statement and
 * builds the IR graph with the builder of ir/ir.h.  lower.c holds the
 * driver, names, expressions and op calls; layers.c the layer sugar
 * (dense, dropout, ...); train.c the train block.  Nothing here is used
 * outside frontend/ except by the unit tests.
 */
#ifndef DLC_FRONTEND_LOWER_H
#define DLC_FRONTEND_LOWER_H

#include <stdbool.h>
#include <stdint.h>

#include "../ir/ir.h"
#include "parser.h"

/* The value of an expression: a tensor (node != NULL) or a number literal
 * not yet given a dtype.  A literal becomes a scalar `const` node when it
 * meets a tensor, with that tensor's dtype ("x * 2" with x: i32 gives an
 * i32 constant). */
typedef struct Value {
    Node *node;
    double num;   /* literal value */
    bool is_int;  /* literal written as an integer (and still one) */
    int64_t ival; /* its value if is_int */
    SrcLoc loc;   /* where the literal was written */
} Value;

/* A name in scope: a variable, input or parameter. */
typedef struct Binding {
    const char *name;
    Value value;
    SrcLoc loc; /* where it was defined */
} Binding;

/* A set of bindings by name: an open-addressing hash table. */
typedef struct NameTable {
    Binding *slots; /* cap slots, unused ones have name == NULL */
    int n, cap;
} NameTable;

/* The binding of `name`, or NULL. */
Binding *names_find(const NameTable *t, const char *name);
/* Adds b (its name must not be in the table yet). */
void names_add(Arena *a, NameTable *t, Binding b);

typedef struct Lower {
    Arena *arena;
    Graph *g;
    const Program *prog;
    GraphMode mode;
    NameTable scope; /* every name defined so far */
    int layer_count[16]; /* per entry of the layer table: names given so far */
} Lower;

/* ---- lower.c ---------------------------------------------------------- */

/* Evaluates an expression to a value (tensor or literal). */
Value lower_expr(Lower *L, const Expr *e);
/* Evaluates an expression that must be a tensor; a literal becomes a
 * const of dtype `dt`. */
Node *lower_tensor(Lower *L, const Expr *e, DType dt);
/* A literal value as a scalar const node of dtype dt (a tensor is kept). */
Node *materialize(Lower *L, Value v, DType dt);
/* Folds e to a literal Value if it is a number at compile time (literals,
 * unary minus, arithmetic, names bound to numbers); no side effects.
 * Returns false if it is not a compile-time number. */
bool const_number(Lower *L, const Expr *e, Value *out);

/* Looks a name up; NULL if undefined. */
const Binding *lower_lookup(const Lower *L, const char *name);
/* Binds a new name; a redefinition is an error at loc. */
void lower_define(Lower *L, const char *name, Value v, SrcLoc loc);
/* Creates a param leaf named `name` (bound as a name as well) with
 * initializer `init` (checked with init_known; error at init_loc) and the
 * initializer's numeric arguments. */
Node *lower_param(Lower *L, const char *name, TensorType t, const char *init, SrcLoc init_loc, const Attr *args,
                  int nargs, SrcLoc loc);
/* Checks an initializer name, reporting an unknown one at loc. */
void check_initializer(Lower *L, const char *name, SrcLoc loc);

/* "x, y or z" of a NULL-terminated list of names, for messages. */
const char *name_list(Arena *a, const char *const *names);
/* The candidate closest to `name` by edit distance if close enough to be a
 * likely typo, else NULL. */
const char *closest_name(const char *name, const char *const *cands, int ncands);

/* ---- layers.c --------------------------------------------------------- */

typedef struct LayerDef LayerDef;
/* The layer called `name`, or NULL. */
const LayerDef *layer_lookup(const char *name);
/* Lowers a call of a layer. */
Value lower_layer_call(Lower *L, const LayerDef *def, const Expr *call);
/* Names of all layers, NULL-terminated (for suggestions). */
const char *const *layer_names(void);

/* ---- train.c ---------------------------------------------------------- */

/* Checks a train block and fills *cfg (defaults for what it leaves out). */
void lower_train(Lower *L, const Stmt *s, TrainConfig *cfg);

#endif
