/* cverify.c - checks C source with libclang (see cverify.h for the rules).
 *
 * How it works:
 *  1. The file is parsed once with clang_parseTranslationUnit2, keeping the
 *     detailed preprocessing record so that #include directives appear as
 *     cursors.  clang's diagnostics are printed first, in clang's order.
 *  2. Includes: every inclusion directive of the translation unit is
 *     collected with the file that contains it.  The set of *checked* files
 *     starts as {the .c file} and grows to a fixpoint: a quoted include,
 *     written in a checked file, that resolves to a file in the .c file's
 *     own directory is one of its own headers and is checked too.  Then
 *     each directive written in a checked file is judged against the
 *     allow-list.
 *  3. Code: each top-level declaration located in a checked file is walked
 *     (clang_visitChildren, recursively).  Calls and references are matched
 *     by the referenced declaration's name against the forbidden lists,
 *     declarations and casts are tested for variable-length array types,
 *     and every call from a function defined here to another function is an
 *     edge of the call graph.
 *  4. Recursion: Tarjan's algorithm splits the call graph of the functions
 *     defined in checked files into strongly connected components.  A
 *     self-call is direct recursion; a component of two or more functions is
 *     mutual recursion, reported once with its shortest cycle through the
 *     component's first function (breadth-first search).
 *  5. Violations are sorted by (checked file, line, column) and printed.
 *
 * Locations are expansion locations: a violation inside a macro is reported
 * where the macro is used.  Memory comes from one Arena per check.
 */
#define _XOPEN_SOURCE 700 /* realpath */

#include "cverify.h"

#include <clang-c/Index.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../ir/arena.h"
#include "../ir/diag.h"

/* ---- forbidden names --------------------------------------------------- */

static const char *const heap_names[] = {
    "malloc", "calloc", "realloc", "free", "aligned_alloc", "posix_memalign", "alloca",
    "__builtin_alloca", "__builtin_malloc", "__builtin_calloc", "__builtin_realloc",
    "__builtin_free", NULL};

/* Functions, objects and types of <stdio.h>.  Anything else declared in a
 * file named stdio.h is caught by the location of its declaration. */
static const char *const stdio_names[] = {
    "FILE", "_IO_FILE", "fpos_t", "stdin", "stdout", "stderr", "printf", "fprintf",
    "sprintf", "snprintf", "vprintf", "vfprintf", "vsprintf", "vsnprintf", "dprintf",
    "vdprintf", "puts", "fputs", "putchar", "putc", "fputc", "getchar", "getc", "fgetc",
    "fgets", "gets", "ungetc", "scanf", "fscanf", "sscanf", "vscanf", "vfscanf",
    "vsscanf", "fopen", "freopen", "fdopen", "fclose", "fflush", "fread", "fwrite",
    "fseek", "fseeko", "ftell", "ftello", "rewind", "fgetpos", "fsetpos", "feof", "ferror",
    "clearerr", "fileno", "perror", "remove", "rename", "tmpfile", "tmpnam", "setbuf",
    "setvbuf", "getline", "getdelim", "popen", "pclose", NULL};

/* System headers embedded code may include (<cblas.h> separately). */
static const char *const allowed_headers[] = {"stdint.h", "stddef.h", "string.h", "math.h",
                                              NULL};

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0) return true;
    return false;
}

/* ---- state of one check ------------------------------------------------ */

typedef struct Violation {
    int file;          /* index into Check.files */
    unsigned line, col;
    int seq;           /* order found, to keep the sort stable */
    const char *text;  /* "FILE:L:C: error: [embedded] rule: detail" */
} Violation;

/* An #include directive anywhere in the translation unit. */
typedef struct Include {
    CXFile from;       /* file that contains the directive */
    CXFile to;         /* file it resolved to (NULL: not found) */
    unsigned line, col;/* position of the header name */
    bool angled;       /* <x.h> rather than "x.h" */
    const char *name;  /* as written between the delimiters */
} Include;

/* A call from a function defined in a checked file. */
typedef struct Edge {
    int caller;        /* index into Check.fns */
    int callee;        /* index into Check.fns, or -1 (defined elsewhere) */
    const char *callee_name;
    int file;
    unsigned line, col;
} Edge;

/* A function defined in a checked file: a node of the call graph. */
typedef struct Fn {
    const char *name;
    int first_edge, n_edges; /* its calls: edges[first_edge ..] */
} Fn;

typedef struct Check {
    Arena arena;
    const CVerifyOptions *o;
    CXTranslationUnit tu;
    char *main_dir;    /* real path of the .c file's directory */
    CXFile *files;     /* checked files; [0] is the .c file */
    int n_files, cap_files;
    Include *incs;
    int n_incs, cap_incs;
    Violation *viols;
    int n_viols, cap_viols;
    Fn *fns;
    int n_fns, cap_fns;
    Edge *edges;
    int n_edges, cap_edges;
    /* The callee expression of the last call seen, so that the reference
     * inside `malloc(n)` is not reported a second time. */
    CXFile last_call_file;
    unsigned last_call_offset;
} Check;

/* Doubles the capacity of an arena array (at least 16 elements). */
static void *grow_array(Check *c, void *p, int *cap, size_t elem)
{
    int old = *cap;
    *cap = old ? 2 * old : 16;
    return arena_grow(&c->arena, p, (size_t)old, (size_t)*cap, elem);
}

/* Appends one zeroed element to an arena array; yields its address. */
#define PUSH(c, arr, n, cap)                                                               \
    ((n) == (cap) ? ((arr) = grow_array((c), (arr), &(cap), sizeof *(arr))) : 0,          \
     memset(&(arr)[(n)], 0, sizeof *(arr)), &(arr)[(n)++])

/* Copies a CXString into the arena and disposes of it. */
static const char *take(Check *c, CXString s)
{
    const char *p = clang_getCString(s);
    const char *r = arena_strdup(&c->arena, p ? p : "");
    clang_disposeString(s);
    return r;
}

/* Index of `f` among the checked files, or -1. */
static int checked_index(const Check *c, CXFile f)
{
    if (!f) return -1;
    for (int i = 0; i < c->n_files; i++)
        if (clang_File_isEqual(c->files[i], f)) return i;
    return -1;
}

/* Expansion location of a cursor: file, line, column, byte offset. */
static CXFile cursor_pos(CXCursor cur, unsigned *line, unsigned *col, unsigned *off)
{
    CXFile f = NULL;
    unsigned l = 0, k = 0, o = 0;
    clang_getExpansionLocation(clang_getCursorLocation(cur), &f, &l, &k, &o);
    if (line) *line = l;
    if (col) *col = k;
    if (off) *off = o;
    return f;
}

/* Records a violation of `rule` at (file, line, col). */
static void violation(Check *c, CXFile file, unsigned line, unsigned col, const char *rule,
                      const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;
static void violation(Check *c, CXFile file, unsigned line, unsigned col, const char *rule,
                      const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    const char *fname = take(c, clang_getFileName(file));
    Violation *v = PUSH(c, c->viols, c->n_viols, c->cap_viols);
    v->file = checked_index(c, file);
    v->line = line;
    v->col = col;
    v->seq = c->n_viols;
    v->text = arena_printf(&c->arena, "%s:%u:%u: error: [embedded] %s: %s", fname, line, col,
                           rule, detail);
}

static void violation_at(Check *c, CXCursor cur, const char *rule, const char *detail)
{
    unsigned line, col;
    CXFile f = cursor_pos(cur, &line, &col, NULL);
    violation(c, f, line, col, rule, "%s", detail);
}

/* Real path of the directory holding `path` (arena), or NULL.  Only the
 * directory is resolved, not a symbolic link in the last component: clang
 * looks for quoted includes next to the path as given. */
static char *real_dir(Check *c, const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash == path ? arena_strdup(&c->arena, "/")
                : slash      ? arena_strndup(&c->arena, path, (size_t)(slash - path))
                             : arena_strdup(&c->arena, ".");
    char *rp = realpath(dir, NULL);
    if (!rp) return NULL;
    char *r = arena_strdup(&c->arena, rp);
    free(rp);
    return r;
}

/* ---- diagnostics ------------------------------------------------------- */

/* Prints clang's diagnostics as FILE:LINE:COL: SEVERITY: message [-Wflag]. */
static void report_diagnostics(Check *c, const char *path, FILE *out, CVerifyStats *st)
{
    unsigned n = clang_getNumDiagnostics(c->tu);
    for (unsigned i = 0; i < n; i++) {
        CXDiagnostic d = clang_getDiagnostic(c->tu, i);
        enum CXDiagnosticSeverity sev = clang_getDiagnosticSeverity(d);
        const char *what = NULL;
        switch (sev) {
        case CXDiagnostic_Ignored: break;
        case CXDiagnostic_Note: what = "note"; break;
        case CXDiagnostic_Warning: what = "warning"; st->warnings++; break;
        case CXDiagnostic_Error:
        case CXDiagnostic_Fatal: what = "error"; st->errors++; break;
        }
        if (what) {
            CXFile f = NULL;
            unsigned line = 0, col = 0;
            clang_getExpansionLocation(clang_getDiagnosticLocation(d), &f, &line, &col, NULL);
            const char *msg = take(c, clang_getDiagnosticSpelling(d));
            const char *opt = take(c, clang_getDiagnosticOption(d, NULL));
            if (f)
                fprintf(out, "%s:%u:%u: ", take(c, clang_getFileName(f)), line, col);
            else
                fprintf(out, "%s: ", path);
            fprintf(out, "%s: %s", what, msg);
            if (*opt) fprintf(out, " [%s]", opt);
            fputc('\n', out);
        }
        clang_disposeDiagnostic(d);
    }
}

/* ---- includes ---------------------------------------------------------- */

/* Collects every inclusion directive (they are children of the translation
 * unit) with the delimiters and position of the header name, read from the
 * including file's text. */
static enum CXChildVisitResult collect_include(CXCursor cur, CXCursor parent, CXClientData data)
{
    Check *c = data;
    if (clang_getCursorKind(cur) != CXCursor_InclusionDirective) return CXChildVisit_Continue;
    unsigned line, col, off;
    CXFile from = cursor_pos(cur, &line, &col, &off);
    if (!from) return CXChildVisit_Continue;
    Include *inc = PUSH(c, c->incs, c->n_incs, c->cap_incs);
    inc->from = from;
    inc->to = clang_getIncludedFile(cur);
    inc->name = take(c, clang_getCursorSpelling(cur));
    inc->line = line;
    inc->col = col;
    inc->angled = true; /* `#include MACRO`: judged like an angled include */
    /* Scan "#  include  <x.h>" from the directive's start for the delimiter. */
    size_t size = 0;
    const char *text = clang_getFileContents(c->tu, from, &size);
    if (text && off < size) {
        size_t i = off;
        if (text[i] == '#') i++;
        while (i < size && (text[i] == ' ' || text[i] == '\t')) i++;
        while (i < size && text[i] >= 'a' && text[i] <= 'z') i++; /* include, include_next */
        while (i < size && text[i] == '_') {
            i++;
            while (i < size && text[i] >= 'a' && text[i] <= 'z') i++;
        }
        while (i < size && (text[i] == ' ' || text[i] == '\t')) i++;
        if (i < size && (text[i] == '<' || text[i] == '"')) {
            inc->angled = text[i] == '<';
            inc->col = col + (unsigned)(i - off);
        }
    }
    return CXChildVisit_Continue;
}

/* True when `inc` names one of the file's own headers: quoted, and found in
 * the .c file's directory. */
static bool is_own_header(Check *c, const Include *inc)
{
    if (inc->angled || !inc->to || !c->main_dir) return false;
    const char *name = take(c, clang_getFileName(inc->to));
    const char *dir = real_dir(c, name);
    return dir && strcmp(dir, c->main_dir) == 0;
}

/* Grows the checked set to its fixpoint, then judges each directive written
 * in a checked file. */
static void check_includes(Check *c)
{
    clang_visitChildren(clang_getTranslationUnitCursor(c->tu), collect_include, c);
    bool *own = ARENA_NEW_N(&c->arena, bool, c->n_incs + 1);
    for (bool grew = true; grew;) {
        grew = false;
        for (int i = 0; i < c->n_incs; i++) {
            Include *inc = &c->incs[i];
            if (own[i] || checked_index(c, inc->from) < 0 || !is_own_header(c, inc)) continue;
            own[i] = true;
            if (checked_index(c, inc->to) < 0) {
                *PUSH(c, c->files, c->n_files, c->cap_files) = inc->to;
                grew = true;
            }
        }
    }
    for (int i = 0; i < c->n_incs; i++) {
        const Include *inc = &c->incs[i];
        if (own[i] || checked_index(c, inc->from) < 0) continue;
        char open = inc->angled ? '<' : '"', close = inc->angled ? '>' : '"';
        if (strcmp(inc->name, "stdio.h") == 0) {
            violation(c, inc->from, inc->line, inc->col, "stdio", "#include %c%s%c", open,
                      inc->name, close);
        } else if (strcmp(inc->name, "cblas.h") == 0) {
            if (c->o->no_blas)
                violation(c, inc->from, inc->line, inc->col, "include",
                          "%c%s%c is not allowed: BLAS is disabled (--no-blas)", open,
                          inc->name, close);
        } else if (in_list(allowed_headers, inc->name)) {
            /* allowed, whatever the delimiters */
        } else if (!inc->angled && !inc->to) {
            /* not found: clang has reported it; where it would be is unknown */
        } else if (!inc->angled) {
            violation(c, inc->from, inc->line, inc->col, "include",
                      "\"%s\" is not in the directory of the checked file (only its own "
                      "headers may be included with quotes)",
                      inc->name);
        } else {
            violation(c, inc->from, inc->line, inc->col, "include",
                      "<%s> is not allowed (allowed: <stdint.h>, <stddef.h>, <string.h>, "
                      "<math.h>%s)",
                      inc->name, c->o->no_blas ? "" : ", <cblas.h>");
        }
    }
}

/* ---- code -------------------------------------------------------------- */

/* True when `t` is, or points to, or is an array of, a variable-length
 * array type (typedefs looked through). */
static bool has_vla(CXType t)
{
    for (int depth = 0; depth < 64; depth++) {
        t = clang_getCanonicalType(t);
        switch (t.kind) {
        case CXType_VariableArray: return true;
        case CXType_Pointer: t = clang_getPointeeType(t); break;
        case CXType_ConstantArray:
        case CXType_IncompleteArray: t = clang_getArrayElementType(t); break;
        default: return false;
        }
    }
    return false;
}

/* True when the declaration `decl` is written in a file named stdio.h. */
static bool declared_in_stdio(Check *c, CXCursor decl)
{
    CXFile f = cursor_pos(decl, NULL, NULL, NULL);
    if (!f) return false;
    const char *name = take(c, clang_getFileName(f));
    const char *base = strrchr(name, '/');
    return strcmp(base ? base + 1 : name, "stdio.h") == 0;
}

/* Checks a reference (call or not) to the declaration `ref` at `cur`. */
static void check_reference(Check *c, CXCursor cur, CXCursor ref, bool call)
{
    enum CXCursorKind k = clang_getCursorKind(ref);
    if (k != CXCursor_FunctionDecl && k != CXCursor_VarDecl && k != CXCursor_TypedefDecl &&
        k != CXCursor_StructDecl)
        return;
    const char *name = take(c, clang_getCursorSpelling(ref));
    const char *how = call ? "call to" : "use of";
    char detail[512];
    snprintf(detail, sizeof detail, "%s '%s'", how, name);
    if (k == CXCursor_FunctionDecl && in_list(heap_names, name))
        violation_at(c, cur, "heap", detail);
    else if (in_list(stdio_names, name) || declared_in_stdio(c, ref))
        violation_at(c, cur, "stdio", detail);
    else if (k == CXCursor_FunctionDecl && c->o->no_blas && strncmp(name, "cblas_", 6) == 0) {
        snprintf(detail, sizeof detail, "%s '%s': BLAS is disabled (--no-blas)", how, name);
        violation_at(c, cur, "blas", detail);
    }
}

/* Reports `cur` if its declared (or cast-to) type is a VLA type. */
static void check_vla(Check *c, CXCursor cur)
{
    enum CXCursorKind k = clang_getCursorKind(cur);
    CXType t;
    const char *what;
    if (k == CXCursor_VarDecl || k == CXCursor_FieldDecl) {
        t = clang_getCursorType(cur);
        what = "";
    } else if (k == CXCursor_ParmDecl) {
        t = clang_getCursorType(cur);
        what = "parameter ";
    } else if (k == CXCursor_TypedefDecl) {
        t = clang_getTypedefDeclUnderlyingType(cur);
        what = "typedef ";
    } else if (k == CXCursor_CStyleCastExpr || k == CXCursor_CompoundLiteralExpr) {
        t = clang_getCursorType(cur);
        if (!has_vla(t)) return;
        char detail[512];
        snprintf(detail, sizeof detail, "%s variable-length array type '%s'",
                 k == CXCursor_CStyleCastExpr ? "cast to" : "compound literal of",
                 take(c, clang_getTypeSpelling(t)));
        violation_at(c, cur, "vla", detail);
        return;
    } else {
        return;
    }
    if (!has_vla(t)) return;
    char detail[512];
    snprintf(detail, sizeof detail, "%s'%s' has variable-length array type '%s'", what,
             take(c, clang_getCursorSpelling(cur)), take(c, clang_getTypeSpelling(t)));
    violation_at(c, cur, "vla", detail);
}

/* Where the walk is: the function being walked (-1 outside functions). */
typedef struct Walk {
    Check *c;
    int fn;
} Walk;

/* Visits every cursor below a checked top-level declaration. */
static enum CXChildVisitResult walk_code(CXCursor cur, CXCursor parent, CXClientData data)
{
    Walk *w = data;
    Check *c = w->c;
    enum CXCursorKind k = clang_getCursorKind(cur);
    check_vla(c, cur);
    if (k == CXCursor_CallExpr) {
        CXCursor ref = clang_getCursorReferenced(cur);
        if (!clang_Cursor_isNull(ref) && clang_getCursorKind(ref) == CXCursor_FunctionDecl) {
            unsigned line, col, off;
            CXFile f = cursor_pos(cur, &line, &col, &off);
            c->last_call_file = f;
            c->last_call_offset = off;
            check_reference(c, cur, ref, true);
            if (w->fn >= 0) {
                Edge *e = PUSH(c, c->edges, c->n_edges, c->cap_edges);
                e->caller = w->fn;
                e->callee = -1;
                e->callee_name = take(c, clang_getCursorSpelling(ref));
                e->file = checked_index(c, f);
                e->line = line;
                e->col = col;
                c->fns[w->fn].n_edges++;
            }
        }
    } else if (k == CXCursor_DeclRefExpr || k == CXCursor_TypeRef) {
        unsigned off;
        CXFile f = cursor_pos(cur, NULL, NULL, &off);
        bool callee = k == CXCursor_DeclRefExpr && c->last_call_file &&
                      clang_File_isEqual(f, c->last_call_file) && off == c->last_call_offset;
        if (!callee) check_reference(c, cur, clang_getCursorReferenced(cur), false);
    }
    return CXChildVisit_Recurse;
}

/* Walks each top-level declaration located in a checked file; function
 * definitions become nodes of the call graph. */
static enum CXChildVisitResult walk_top(CXCursor cur, CXCursor parent, CXClientData data)
{
    Check *c = data;
    enum CXCursorKind k = clang_getCursorKind(cur);
    if (clang_isPreprocessing(k)) return CXChildVisit_Continue;
    if (checked_index(c, cursor_pos(cur, NULL, NULL, NULL)) < 0) return CXChildVisit_Continue;
    Walk w = {c, -1};
    if (k == CXCursor_FunctionDecl && clang_isCursorDefinition(cur)) {
        Fn *fn = PUSH(c, c->fns, c->n_fns, c->cap_fns);
        fn->name = take(c, clang_getCursorSpelling(cur));
        fn->first_edge = c->n_edges;
        w.fn = c->n_fns - 1;
    }
    check_vla(c, cur);
    clang_visitChildren(cur, walk_code, &w);
    return CXChildVisit_Continue;
}

/* ---- recursion --------------------------------------------------------- */

typedef struct Tarjan {
    Check *c;
    int *index, *low, *comp, *stack;
    bool *on_stack;
    int counter, sp, n_comp;
} Tarjan;

/* Tarjan's strongly connected components, from node v. */
static void strong_connect(Tarjan *t, int v)
{
    const Fn *fn = &t->c->fns[v];
    t->index[v] = t->low[v] = t->counter++;
    t->stack[t->sp++] = v;
    t->on_stack[v] = true;
    for (int i = fn->first_edge; i < fn->first_edge + fn->n_edges; i++) {
        int u = t->c->edges[i].callee;
        if (u < 0) continue;
        if (t->index[u] < 0) {
            strong_connect(t, u);
            if (t->low[u] < t->low[v]) t->low[v] = t->low[u];
        } else if (t->on_stack[u] && t->index[u] < t->low[v]) {
            t->low[v] = t->index[u];
        }
    }
    if (t->low[v] == t->index[v]) {
        int u;
        do {
            u = t->stack[--t->sp];
            t->on_stack[u] = false;
            t->comp[u] = t->n_comp;
        } while (u != v);
        t->n_comp++;
    }
}

/* Reports the shortest cycle through `first` inside its component: a
 * breadth-first search over the component's edges, self-calls skipped. */
static void report_cycle(Check *c, const Tarjan *t, int first)
{
    int n = c->n_fns;
    int *via = ARENA_NEW_N(&c->arena, int, n); /* edge that reached each node */
    int *queue = ARENA_NEW_N(&c->arena, int, n);
    for (int i = 0; i < n; i++) via[i] = -1;
    int head = 0, tail = 0, closing = -1;
    queue[tail++] = first;
    while (head < tail && closing < 0) {
        const Fn *fn = &c->fns[queue[head++]];
        for (int i = fn->first_edge; i < fn->first_edge + fn->n_edges && closing < 0; i++) {
            int u = c->edges[i].callee;
            if (u < 0 || u == c->edges[i].caller || t->comp[u] != t->comp[first]) continue;
            if (u == first) closing = i;
            else if (via[u] < 0) {
                via[u] = i;
                queue[tail++] = u;
            }
        }
    }
    DLC_ASSERT(closing >= 0); /* a component of 2+ nodes has a cycle through each */
    /* Walk back from the closing edge to `first`, collecting the path. */
    int *path = ARENA_NEW_N(&c->arena, int, n + 1), len = 0;
    for (int e = closing;; e = via[c->edges[e].caller]) {
        path[len++] = e;
        if (c->edges[e].caller == first) break;
    }
    char text[1024];
    size_t used = (size_t)snprintf(text, sizeof text, "cycle '%s'", c->fns[first].name);
    for (int i = len - 1; i >= 0 && used < sizeof text; i--)
        used += (size_t)snprintf(text + used, sizeof text - used, " -> '%s'",
                                 c->fns[c->edges[path[i]].callee].name);
    const Edge *e0 = &c->edges[path[len - 1]];
    violation(c, c->files[e0->file], e0->line, e0->col, "recursion", "%s", text);
}

/* Resolves call edges to defined functions and reports every recursion. */
static void check_recursion(Check *c)
{
    int n = c->n_fns;
    if (n == 0) return;
    for (int i = 0; i < c->n_edges; i++)
        for (int j = 0; j < n; j++)
            if (strcmp(c->edges[i].callee_name, c->fns[j].name) == 0) c->edges[i].callee = j;
    /* Direct recursion: each function's first self-call. */
    for (int v = 0; v < n; v++) {
        const Fn *fn = &c->fns[v];
        for (int i = fn->first_edge; i < fn->first_edge + fn->n_edges; i++) {
            const Edge *e = &c->edges[i];
            if (e->callee != v) continue;
            violation(c, c->files[e->file], e->line, e->col, "recursion", "'%s' calls itself",
                      fn->name);
            break;
        }
    }
    /* Mutual recursion: components of two or more functions. */
    Tarjan t = {.c = c};
    t.index = ARENA_NEW_N(&c->arena, int, n);
    t.low = ARENA_NEW_N(&c->arena, int, n);
    t.comp = ARENA_NEW_N(&c->arena, int, n);
    t.stack = ARENA_NEW_N(&c->arena, int, n);
    t.on_stack = ARENA_NEW_N(&c->arena, bool, n);
    for (int v = 0; v < n; v++) t.index[v] = -1;
    for (int v = 0; v < n; v++)
        if (t.index[v] < 0) strong_connect(&t, v);
    int *size = ARENA_NEW_N(&c->arena, int, t.n_comp);
    bool *done = ARENA_NEW_N(&c->arena, bool, t.n_comp);
    for (int v = 0; v < n; v++) size[t.comp[v]]++;
    for (int v = 0; v < n; v++) { /* v: the component's first function in source order */
        if (size[t.comp[v]] < 2 || done[t.comp[v]]) continue;
        done[t.comp[v]] = true;
        report_cycle(c, &t, v);
    }
}

/* ---- driver ------------------------------------------------------------ */

static int cmp_violation(const void *pa, const void *pb)
{
    const Violation *a = pa, *b = pb;
    if (a->file != b->file) return a->file < b->file ? -1 : 1;
    if (a->line != b->line) return a->line < b->line ? -1 : 1;
    if (a->col != b->col) return a->col < b->col ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

/* Builds the clang command line: C99, warnings, the caller's -I and -D,
 * and the directory of the cblas.h dlc was built with. */
static const char **clang_args(Check *c, int *n)
{
    const CVerifyOptions *o = c->o;
    const char **argv = ARENA_NEW_N(&c->arena, const char *, 8 + o->n_include_dirs + o->n_defines);
    int k = 0;
    argv[k++] = "-x";
    argv[k++] = "c";
    argv[k++] = "-std=c99";
    argv[k++] = "-pedantic";
    argv[k++] = "-Wall";
    for (int i = 0; i < o->n_include_dirs; i++)
        argv[k++] = arena_printf(&c->arena, "-I%s", o->include_dirs[i]);
    for (int i = 0; i < o->n_defines; i++)
        argv[k++] = arena_printf(&c->arena, "-D%s", o->defines[i]);
#ifdef DLC_CBLAS_INCLUDE
    argv[k++] = "-I" DLC_CBLAS_INCLUDE;
#endif
    *n = k;
    return argv;
}

int cverify_file_stats(const char *path, const CVerifyOptions *o, FILE *report,
                       CVerifyStats *stats)
{
    static const CVerifyOptions plain = {0};
    CVerifyStats st = {0};
    if (stats) *stats = st;
    if (!o) o = &plain;
    /* libclang's message for a missing file is vague: look first. */
    FILE *f = fopen(path, "rb");
    int err = f ? 0 : errno;
    if (f) {
        errno = 0;
        (void)getc(f);
        if (ferror(f)) err = errno ? errno : EIO; /* a directory: EISDIR */
        fclose(f);
    }
    if (err) {
        fprintf(report, "dlc: error: cannot read '%s': %s\n", path, strerror(err));
        return -1;
    }

    Check c = {.o = o};
    arena_init(&c.arena);
    int nargs;
    const char **args = clang_args(&c, &nargs);
    CXIndex index = clang_createIndex(0, 0);
    enum CXErrorCode ec = clang_parseTranslationUnit2(
        index, path, args, nargs, NULL, 0, CXTranslationUnit_DetailedPreprocessingRecord, &c.tu);
    if (ec != CXError_Success || !c.tu) {
        fprintf(report, "dlc: error: libclang could not parse '%s' (error %d)\n", path, (int)ec);
        clang_disposeIndex(index);
        arena_free(&c.arena);
        return -1;
    }
    report_diagnostics(&c, path, report, &st);
    if (o->embedded) {
        CXFile main_file = clang_getFile(c.tu, path);
        DLC_ASSERT(main_file != NULL); /* parsed, so clang knows it */
        *PUSH(&c, c.files, c.n_files, c.cap_files) = main_file;
        c.main_dir = real_dir(&c, path);
        check_includes(&c);
        clang_visitChildren(clang_getTranslationUnitCursor(c.tu), walk_top, &c);
        check_recursion(&c);
        if (c.n_viols > 1) qsort(c.viols, (size_t)c.n_viols, sizeof *c.viols, cmp_violation);
        for (int i = 0; i < c.n_viols; i++) fprintf(report, "%s\n", c.viols[i].text);
        st.violations = c.n_viols;
        st.files = c.n_files;
        st.functions = c.n_fns;
    }
    clang_disposeTranslationUnit(c.tu);
    clang_disposeIndex(index);
    arena_free(&c.arena);
    if (stats) *stats = st;
    return st.errors + st.violations;
}

int cverify_file(const char *path, const CVerifyOptions *o, FILE *report)
{
    return cverify_file_stats(path, o, report, NULL);
}
