/* node_table.c - a hash table from strings to nodes (see node_table.h):
 * open addressing, linear probing, FNV-1a, doubled when half full. */
#include <string.h>

#include "node_table.h"

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The slot holding key, or the empty slot where it would go; the table
 * must have at least one empty slot. */
static NodeTableSlot *find(const NodeTable *t, const char *key) {
    size_t i = (size_t)hash_str(key) & (t->cap - 1);
    while (t->slots[i].key && strcmp(t->slots[i].key, key) != 0) i = (i + 1) & (t->cap - 1);
    return &t->slots[i];
}

Node *node_table_get(const NodeTable *t, const char *key) {
    if (!t->cap) return NULL;
    return find(t, key)->node;
}

void node_table_put(Arena *a, NodeTable *t, const char *key, Node *n) {
    if (2 * (t->count + 1) > t->cap) {
        NodeTable old = *t;
        t->cap = old.cap ? old.cap * 2 : 64;
        t->slots = ARENA_NEW_N(a, NodeTableSlot, t->cap);
        t->count = 0;
        for (size_t i = 0; i < old.cap; i++) {
            if (!old.slots[i].key) continue;
            *find(t, old.slots[i].key) = old.slots[i];
            t->count++;
        }
    }
    NodeTableSlot *s = find(t, key);
    if (!s->key) t->count++;
    s->key = key;
    s->node = n;
}

NodeTable ir_leaf_table(const Graph *g) {
    NodeTable t = {0};
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->name && op_info(n->op)->kind == OK_LEAF && !node_table_get(&t, n->name))
            node_table_put(g->arena, &t, n->name, n);
    }
    return t;
}
