/* node_table.h - a hash table from strings to nodes.
 *
 * Open addressing with linear probing over a power-of-two array of slots,
 * grown (doubled, everything re-inserted) before it is half full; keys are
 * hashed with FNV-1a.  Memory comes from an arena.  Keys are not copied:
 * they must live as long as the table (arena strings, node names).  Used
 * where a name lookup is repeated once per node or per parameter (the IR
 * reader's values, the optimizer's slot names), which a scan of the graph
 * would make quadratic.
 */
#ifndef DLC_IR_NODE_TABLE_H
#define DLC_IR_NODE_TABLE_H

#include "ir.h"

typedef struct NodeTableSlot {
    const char *key; /* NULL: an empty slot */
    Node *node;
} NodeTableSlot;

/* Zero-initialise to get an empty table. */
typedef struct NodeTable {
    NodeTableSlot *slots;
    size_t cap, count; /* cap is 0 or a power of two */
} NodeTable;

/* The node stored under key, or NULL. */
Node *node_table_get(const NodeTable *t, const char *key);
/* Stores n under key, replacing what was there. */
void node_table_put(Arena *a, NodeTable *t, const char *key, Node *n);
/* A table of g's named leaves (input, param, state, hparam) by name; where
 * two share a name the first in graph order wins, as with ir_find_leaf. */
NodeTable ir_leaf_table(const Graph *g);

#endif
