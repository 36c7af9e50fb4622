/* col_map.c - chained string hash table. */
#include <stdlib.h>
#include <string.h>

#include "col_map.h"
#include "gt/gt_hash.h"

typedef struct map_ent {
	struct map_ent *next;
	uint64_t        hash;
	void           *val;
	char            key[];
} map_ent;

struct col_map {
	map_ent **slots;
	size_t    nslots; /* power of two */
	size_t    len;
};

gt_err
col_map_new(col_map **out)
{
	col_map *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return GT_ENOMEM;
	m->nslots = 64;
	if ((m->slots = calloc(m->nslots, sizeof(*m->slots))) == NULL) {
		free(m);
		return GT_ENOMEM;
	}
	*out = m;
	return GT_OK;
}

void
col_map_free(col_map *m)
{
	size_t   i;
	map_ent *e, *next;

	if (m == NULL)
		return;
	for (i = 0; i < m->nslots; i++) {
		for (e = m->slots[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->slots);
	free(m);
}

static map_ent **
map_slot(const col_map *m, const char *key, uint64_t h)
{
	map_ent **pp = &m->slots[h & (m->nslots - 1)];

	while (*pp != NULL && ((*pp)->hash != h || strcmp((*pp)->key, key) != 0))
		pp = &(*pp)->next;
	return pp;
}

uint64_t
col_map_hash(const char *key, size_t len)
{
	return gt_hash64(key, len);
}

void *
col_map_find_h(const col_map *m, const char *key, uint64_t hash)
{
	map_ent *e = *map_slot(m, key, hash);

	return e ? e->val : NULL;
}

void *
col_map_find(const col_map *m, const char *key)
{
	return col_map_find_h(m, key, col_map_hash(key, strlen(key)));
}

static void
map_grow(col_map *m)
{
	size_t    n = m->nslots * 2, i;
	map_ent **slots, *e, *next;

	if ((slots = calloc(n, sizeof(*slots))) == NULL)
		return; /* keep working with longer chains */
	for (i = 0; i < m->nslots; i++) {
		for (e = m->slots[i]; e != NULL; e = next) {
			next = e->next;
			e->next = slots[e->hash & (n - 1)];
			slots[e->hash & (n - 1)] = e;
		}
	}
	free(m->slots);
	m->slots = slots;
	m->nslots = n;
}

gt_err
col_map_put(col_map *m, const char *key, void *val)
{
	size_t    klen = strlen(key);
	uint64_t  h = col_map_hash(key, klen);
	map_ent **pp = map_slot(m, key, h), *e;

	if (*pp != NULL) {
		(*pp)->val = val;
		return GT_OK;
	}
	if ((e = malloc(sizeof(*e) + klen + 1)) == NULL)
		return GT_ENOMEM;
	e->next = NULL;
	e->hash = h;
	e->val = val;
	memcpy(e->key, key, klen + 1);
	*pp = e;
	if (++m->len > m->nslots)
		map_grow(m);
	return GT_OK;
}

void *
col_map_del(col_map *m, const char *key)
{
	map_ent **pp = map_slot(m, key, col_map_hash(key, strlen(key))), *e = *pp;
	void     *v;

	if (e == NULL)
		return NULL;
	*pp = e->next;
	v = e->val;
	free(e);
	m->len--;
	return v;
}

size_t
col_map_len(const col_map *m)
{
	return m->len;
}

void
col_map_each(const col_map *m, void (*fn)(const char *key, void *val, void *arg), void *arg)
{
	size_t   i;
	map_ent *e;

	for (i = 0; i < m->nslots; i++)
		for (e = m->slots[i]; e != NULL; e = e->next)
			fn(e->key, e->val, arg);
}
