/* arena.c - bump allocator for compiler data (see arena.h).
 *
 * An arena is a list of malloc'd blocks, newest first.  Allocation carves
 * the next aligned chunk off the head block; when it does not fit, a new
 * block of max(ARENA_BLOCK, request) bytes is pushed.  Requests larger than
 * a quarter block get a block of their own, pushed *behind* the head, so the
 * head's free space is not wasted.  arena_free() releases every block.
 */
#include "arena.h"

#include <stdarg.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

#define ARENA_BLOCK ((size_t)64 * 1024)
#define ARENA_ALIGN (alignof(max_align_t))

struct ArenaBlock {
    ArenaBlock *next;
    size_t size; /* usable bytes in data[] */
    size_t used;
    alignas(max_align_t) unsigned char data[];
};

void arena_init(Arena *a) {
    a->head = NULL;
    a->total = 0;
}

void arena_free(Arena *a) {
    ArenaBlock *b = a->head;
    while (b) {
        ArenaBlock *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->total = 0;
}

/* Allocates a zeroed block with `size` usable bytes. */
static ArenaBlock *block_new(size_t size) {
    if (size > SIZE_MAX - sizeof(ArenaBlock)) DLC_ICE("out of memory (arena request of %zu bytes)", size);
    ArenaBlock *b = calloc(1, sizeof(ArenaBlock) + size);
    if (!b) DLC_ICE("out of memory (arena request of %zu bytes)", size);
    b->size = size;
    return b;
}

void *arena_alloc(Arena *a, size_t size) {
    if (size == 0) size = 1;
    if (size > SIZE_MAX - ARENA_ALIGN) DLC_ICE("out of memory (arena request of %zu bytes)", size);
    size_t rounded = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
    ArenaBlock *h = a->head;
    if (h && h->size - h->used >= rounded) {
        void *p = h->data + h->used;
        h->used += rounded;
        a->total += rounded;
        return p;
    }
    if (rounded > ARENA_BLOCK / 4) {
        /* A big request: its own block, kept behind the head. */
        ArenaBlock *b = block_new(rounded);
        b->used = rounded;
        if (h) {
            b->next = h->next;
            h->next = b;
        } else {
            a->head = b;
        }
        a->total += rounded;
        return b->data;
    }
    ArenaBlock *b = block_new(ARENA_BLOCK);
    b->next = h;
    a->head = b;
    b->used = rounded;
    a->total += rounded;
    return b->data;
}

char *arena_strndup(Arena *a, const char *s, size_t len) {
    char *p = arena_alloc(a, len + 1);
    if (len) memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *arena_strdup(Arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

char *arena_printf(Arena *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) DLC_ICE("arena_printf: bad format '%s'", fmt);
    char *p = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void *arena_grow(Arena *a, void *p, size_t oldcap, size_t newcap, size_t elem) {
    if (elem && newcap > SIZE_MAX / elem) DLC_ICE("out of memory (arena array of %zu x %zu bytes)", newcap, elem);
    void *q = arena_alloc(a, newcap * elem);
    if (p && oldcap) memcpy(q, p, (oldcap < newcap ? oldcap : newcap) * elem);
    return q;
}
