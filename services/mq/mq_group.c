/* mq_group.c - consumer membership and partition assignment. */
#include <stdlib.h>
#include <string.h>

#include "gt/gt_log.h"
#include "mq_group.h"

gt_err
mq_group_new(mq_group **out, const char *name, uint32_t nparts, const uint64_t *starts)
{
	mq_group *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return GT_ENOMEM;
	g->nparts = nparts;
	g->name = strdup(name);
	g->pels = calloc(nparts, sizeof(*g->pels));
	g->owner = malloc(nparts * sizeof(*g->owner));
	if (g->name == NULL || g->pels == NULL || g->owner == NULL) {
		mq_group_free(g);
		return GT_ENOMEM;
	}
	for (uint32_t p = 0; p < nparts; p++) {
		mq_pel_init(&g->pels[p], starts ? starts[p] : 0);
		g->owner[p] = -1;
	}
	*out = g;
	return GT_OK;
}

void
mq_group_free(mq_group *g)
{
	if (g == NULL)
		return;
	if (g->pels != NULL)
		for (uint32_t p = 0; p < g->nparts; p++)
			mq_pel_fini(&g->pels[p]);
	for (size_t i = 0; i < g->ncons; i++)
		free(g->cons[i].name);
	free(g->cons);
	free(g->pels);
	free(g->owner);
	free(g->name);
	free(g);
}

int
mq_group_find(const mq_group *g, const char *consumer)
{
	for (size_t i = 0; i < g->ncons; i++)
		if (strcmp(g->cons[i].name, consumer) == 0)
			return (int)i;
	return -1;
}

/* Members are kept sorted by name; partition p goes to member p mod n. */
static void
group_assign(mq_group *g)
{
	for (uint32_t p = 0; p < g->nparts; p++)
		g->owner[p] = g->ncons ? (int)(p % g->ncons) : -1;
	g->rebalances++;
	GT_LOGI("group.rebalance", GT_KV_STR("group", g->name), GT_KV_UINT("consumers", g->ncons));
}

int
mq_group_expire(mq_group *g, int64_t now, int64_t lease)
{
	size_t j = 0;
	int    changed = 0;

	if (g->ncons > 0)
		g->last_active = now;
	for (size_t i = 0; i < g->ncons; i++) {
		mq_consumer *c = &g->cons[i];
		if (c->parked == 0 && now - c->last_seen > lease) {
			GT_LOGI("group.consumer_expired", GT_KV_STR("group", g->name),
			        GT_KV_STR("consumer", c->name));
			free(c->name);
			changed = 1;
			continue;
		}
		g->cons[j++] = *c;
	}
	g->ncons = j;
	if (changed)
		group_assign(g);
	return changed;
}

gt_err
mq_group_touch(mq_group *g, const char *consumer, int64_t now, int64_t lease, int *idx)
{
	int    i = mq_group_find(g, consumer);
	size_t pos;

	if (i >= 0) {
		g->cons[i].last_seen = now;
		if (mq_group_expire(g, now, lease))
			i = mq_group_find(g, consumer);
		*idx = i;
		return GT_OK;
	}
	mq_group_expire(g, now, lease);
	if (g->ncons == g->capcons) {
		size_t       nc = g->capcons ? g->capcons * 2 : 4;
		mq_consumer *n = realloc(g->cons, nc * sizeof(*n));
		if (n == NULL)
			return GT_ENOMEM;
		g->cons = n;
		g->capcons = nc;
	}
	for (pos = 0; pos < g->ncons && strcmp(g->cons[pos].name, consumer) < 0; pos++)
		;
	memmove(&g->cons[pos + 1], &g->cons[pos], (g->ncons - pos) * sizeof(*g->cons));
	g->cons[pos].name = strdup(consumer);
	g->cons[pos].last_seen = now;
	g->cons[pos].parked = 0;
	if (g->cons[pos].name == NULL) {
		memmove(&g->cons[pos], &g->cons[pos + 1], (g->ncons - pos) * sizeof(*g->cons));
		return GT_ENOMEM;
	}
	g->ncons++;
	GT_LOGI("group.consumer_joined", GT_KV_STR("group", g->name),
	        GT_KV_STR("consumer", consumer));
	group_assign(g);
	*idx = (int)pos;
	return GT_OK;
}

uint64_t
mq_group_pending(const mq_group *g)
{
	uint64_t n = 0;

	for (uint32_t p = 0; p < g->nparts; p++)
		n += g->pels[p].pending;
	return n;
}
