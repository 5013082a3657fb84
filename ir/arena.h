/* arena.h - bump allocator for compiler data.
 *
 * Everything the compiler builds (tokens, AST, IR nodes, attribute lists,
 * strings) is allocated from one Arena and released in one place with
 * arena_free().  Allocation never fails: running out of memory is an
 * internal error (exit 3).  Memory is zero-initialised.
 */
#ifndef DLC_IR_ARENA_H
#define DLC_IR_ARENA_H

#include <stddef.h>

typedef struct ArenaBlock ArenaBlock;

/* An arena: a singly linked list of blocks, newest first. */
typedef struct Arena {
    ArenaBlock *head; /* block currently being carved up */
    size_t total;     /* bytes handed out so far (for statistics) */
} Arena;

void arena_init(Arena *a);
void arena_free(Arena *a);
/* Returns `size` zeroed bytes aligned for any object type. */
void *arena_alloc(Arena *a, size_t size);
/* Copies `len` bytes of `s` into the arena and NUL-terminates them. */
char *arena_strndup(Arena *a, const char *s, size_t len);
char *arena_strdup(Arena *a, const char *s);
/* printf into freshly allocated arena memory. */
char *arena_printf(Arena *a, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Grows an arena-allocated array: returns a copy with room for `newcap`
 * elements of `elem` bytes, the first `oldcap` copied from `p`. */
void *arena_grow(Arena *a, void *p, size_t oldcap, size_t newcap, size_t elem);

#define ARENA_NEW(a, T) ((T *)arena_alloc((a), sizeof(T)))
#define ARENA_NEW_N(a, T, n) ((T *)arena_alloc((a), sizeof(T) * (size_t)(n)))

#endif
