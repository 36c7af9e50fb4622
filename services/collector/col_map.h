/* col_map.h - a string-keyed hash table of borrowed values (chained, grows by doubling).
 * Not thread-safe: the owner serialises access. Keys are copied. */
#ifndef COL_MAP_H
#define COL_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"

typedef struct col_map col_map;

gt_err col_map_new(col_map **out);
/* col_map_free frees the table and its key copies; values are the caller's. Accepts NULL. */
void col_map_free(col_map *m);
/* col_map_find returns the value for key, or NULL. */
void *col_map_find(const col_map *m, const char *key);
/* The same with the key's hash computed once by the caller (hot paths). */
uint64_t col_map_hash(const char *key, size_t len);
void    *col_map_find_h(const col_map *m, const char *key, uint64_t hash);
/* col_map_put inserts or replaces; GT_ENOMEM on failure (map unchanged). */
gt_err col_map_put(col_map *m, const char *key, void *val);
/* col_map_del removes key; returns the old value or NULL. */
void  *col_map_del(col_map *m, const char *key);
size_t col_map_len(const col_map *m);
/* col_map_each calls fn for every entry (do not modify the map inside fn). */
void col_map_each(const col_map *m, void (*fn)(const char *key, void *val, void *arg), void *arg);

#endif
