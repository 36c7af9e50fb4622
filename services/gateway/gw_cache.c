/* gw_cache.c - the response cache: answer bytes by request key, each kept --cache-ttl.
 * One mutex over a chained hash table; at most max entries (when full, expired entries are
 * swept, and if none expired the new answer is simply not cached). Any thread. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_hash.h"
#include "gt/gt_time.h"
#include "gw_int.h"

typedef struct centry {
	struct centry *next;
	uint64_t       hash;
	int64_t        expires; /* monotonic ns */
	int            status;
	char          *key, *ctype;
	size_t         len;
	unsigned char *body;
} centry;

struct gw_cache {
	pthread_mutex_t mu;
	centry        **b;
	size_t          nb, n, max;
	int64_t         ttl;
	uint64_t        hits, misses;
};

static void
centry_free(centry *e)
{
	free(e->key);
	free(e->ctype);
	free(e->body);
	free(e);
}

gt_err
gw_cache_new(gw_cache **out, size_t max_entries, int64_t ttl_ns)
{
	gw_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return GT_ENOMEM;
	c->nb = 64;
	while (c->nb < max_entries)
		c->nb <<= 1;
	if ((c->b = calloc(c->nb, sizeof(*c->b))) == NULL) {
		free(c);
		return GT_ENOMEM;
	}
	pthread_mutex_init(&c->mu, NULL);
	c->max = max_entries;
	c->ttl = ttl_ns;
	*out = c;
	return GT_OK;
}

void
gw_cache_free(gw_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nb; i++) {
		centry *e = c->b[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			centry_free(e);
		}
	}
	free(c->b);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

int
gw_cache_get(gw_cache *c, const char *key,
             void (*fn)(void *arg, int status, const char *ctype, const void *body, size_t len),
             void *arg)
{
	uint64_t h;
	centry  *e;
	int64_t  now;

	if (c == NULL || c->ttl <= 0 || key == NULL)
		return 0;
	h = gt_hash64(key, strlen(key));
	now = gt_mono_ns();
	pthread_mutex_lock(&c->mu);
	for (e = c->b[h & (c->nb - 1)]; e != NULL; e = e->next)
		if (e->hash == h && strcmp(e->key, key) == 0 && e->expires > now)
			break;
	if (e == NULL) {
		c->misses++;
		pthread_mutex_unlock(&c->mu);
		return 0;
	}
	c->hits++;
	fn(arg, e->status, e->ctype, e->body, e->len);
	pthread_mutex_unlock(&c->mu);
	return 1;
}

/* Under mu: drop every expired entry. */
static void
sweep(gw_cache *c, int64_t now)
{
	size_t i;

	for (i = 0; i < c->nb; i++) {
		centry **pp = &c->b[i];

		while (*pp != NULL) {
			centry *e = *pp;

			if (e->expires <= now) {
				*pp = e->next;
				centry_free(e);
				c->n--;
			} else {
				pp = &e->next;
			}
		}
	}
}

void
gw_cache_put(gw_cache *c, const char *key, int status, const char *ctype, const void *body,
             size_t len)
{
	centry  *e, **pp;
	uint64_t h;
	int64_t  now;

	if (c == NULL || c->ttl <= 0 || key == NULL)
		return;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return;
	h = gt_hash64(key, strlen(key));
	e->hash = h;
	e->status = status;
	e->len = len;
	e->key = strdup(key);
	e->ctype = strdup(ctype ? ctype : "application/octet-stream");
	e->body = malloc(len ? len : 1);
	if (e->key == NULL || e->ctype == NULL || e->body == NULL) {
		centry_free(e);
		return;
	}
	if (len)
		memcpy(e->body, body, len);
	now = gt_mono_ns();
	e->expires = now + c->ttl;
	pthread_mutex_lock(&c->mu);
	/* replace an existing entry for the key */
	for (pp = &c->b[h & (c->nb - 1)]; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0) {
			centry *old = *pp;

			e->next = old->next;
			*pp = e;
			pthread_mutex_unlock(&c->mu);
			centry_free(old);
			return;
		}
	}
	if (c->n >= c->max)
		sweep(c, now);
	if (c->n >= c->max) {
		pthread_mutex_unlock(&c->mu);
		centry_free(e);
		return;
	}
	e->next = c->b[h & (c->nb - 1)];
	c->b[h & (c->nb - 1)] = e;
	c->n++;
	pthread_mutex_unlock(&c->mu);
}

void
gw_cache_stats(gw_cache *c, uint64_t *hits, uint64_t *misses, size_t *entries)
{
	*hits = *misses = 0;
	*entries = 0;
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	*hits = c->hits;
	*misses = c->misses;
	*entries = c->n;
	pthread_mutex_unlock(&c->mu);
}
