/* mq_dlq.c - a topic's dead-letter FIFO. */
#include <stdlib.h>
#include <string.h>

#include "mq_dlq.h"

struct mq_dlq_letter {
	char    *group; /* the group that dead-lettered it */
	int      gone;  /* that group was deleted since */
	mq_id    id;
	unsigned attempts;
	char    *reason;
	uint8_t *msg;
	size_t   len;
	uint64_t dlq_offset;
};

static void
letter_fini(mq_dlq_letter *l)
{
	free(l->group);
	free(l->reason);
	free(l->msg);
}

static void
letter_view(const mq_dlq_letter *l, mq_dead_view *v)
{
	v->group = l->group ? l->group : "";
	v->group_gone = l->gone;
	v->id = l->id;
	v->attempts = l->attempts;
	v->reason = l->reason ? l->reason : "";
	v->msg = l->msg;
	v->len = l->len;
	v->dlq_offset = l->dlq_offset;
}

void
mq_dlq_fini(mq_dlq *q)
{
	for (size_t i = q->head; i < q->n; i++)
		letter_fini(&q->v[i]);
	free(q->v);
	memset(q, 0, sizeof(*q));
}

size_t
mq_dlq_count(const mq_dlq *q)
{
	return q->n - q->head;
}

/* A fresh slot at the tail (zeroed, not counted yet), or NULL. */
static mq_dlq_letter *
dlq_slot(mq_dlq *q)
{
	mq_dlq_letter *l;

	if (q->n == q->cap) {
		if (q->head > 0) {
			memmove(q->v, q->v + q->head, (q->n - q->head) * sizeof(*q->v));
			q->n -= q->head;
			q->head = 0;
		}
		if (q->n == q->cap) {
			size_t         nc = q->cap ? q->cap * 2 : 16;
			mq_dlq_letter *nv = realloc(q->v, nc * sizeof(*nv));
			if (nv == NULL)
				return NULL;
			q->v = nv;
			q->cap = nc;
		}
	}
	l = &q->v[q->n];
	memset(l, 0, sizeof(*l));
	return l;
}

/* Copy d into a fresh slot; the message copy may fail (then none). */
static mq_dlq_letter *
dlq_copy(mq_dlq *q, const mq_dead_view *d)
{
	mq_dlq_letter *l = dlq_slot(q);

	if (l == NULL)
		return NULL;
	if ((l->group = strdup(d->group)) == NULL)
		return NULL;
	if (d->msg != NULL && (l->msg = malloc(d->len ? d->len : 1)) != NULL) {
		memcpy(l->msg, d->msg, d->len);
		l->len = d->len;
	}
	l->gone = d->group_gone;
	l->id = d->id;
	l->attempts = d->attempts;
	l->reason = strdup(d->reason ? d->reason : "");
	return l;
}

gt_err
mq_dlq_add(mq_dlq *q, const mq_dead_view *d, mq_dead_view *stored)
{
	mq_dlq_letter *l = dlq_copy(q, d);

	if (l == NULL)
		return GT_ENOMEM;
	l->dlq_offset = q->next++;
	q->n++;
	if (stored != NULL)
		letter_view(l, stored);
	return GT_OK;
}

gt_err
mq_dlq_restore(mq_dlq *q, const mq_dead_view *d)
{
	mq_dlq_letter *l;

	if (d->dlq_offset < q->next)
		return GT_OK; /* held already, or trimmed */
	if ((l = dlq_copy(q, d)) == NULL || l->reason == NULL ||
	    (d->msg != NULL && l->msg == NULL)) {
		if (l != NULL)
			letter_fini(l);
		return GT_ENOMEM;
	}
	l->dlq_offset = d->dlq_offset;
	q->next = d->dlq_offset + 1;
	q->n++;
	return GT_OK;
}

void
mq_dlq_each(const mq_dlq *q, size_t limit, void (*fn)(void *arg, const mq_dead_view *d), void *arg)
{
	size_t n = 0;

	for (size_t i = q->head; i < q->n && (limit == 0 || n < limit); i++, n++) {
		mq_dead_view v;
		letter_view(&q->v[i], &v);
		fn(arg, &v);
	}
}

int
mq_dlq_peek(const mq_dlq *q, mq_dead_view *v)
{
	if (q->head == q->n)
		return 0;
	letter_view(&q->v[q->head], v);
	return 1;
}

void
mq_dlq_pop(mq_dlq *q)
{
	if (q->head < q->n)
		letter_fini(&q->v[q->head++]);
	if (q->head == q->n)
		q->head = q->n = 0;
}

size_t
mq_dlq_purge(mq_dlq *q)
{
	size_t n = mq_dlq_count(q);

	for (size_t i = q->head; i < q->n; i++)
		letter_fini(&q->v[i]);
	q->head = q->n = 0;
	return n;
}

void
mq_dlq_trim(mq_dlq *q, uint64_t below)
{
	while (q->head < q->n && q->v[q->head].dlq_offset < below)
		mq_dlq_pop(q);
	if (below > q->next)
		q->next = below;
}

void
mq_dlq_group_gone(mq_dlq *q, const char *group)
{
	for (size_t i = q->head; i < q->n; i++)
		if (q->v[i].group != NULL && strcmp(q->v[i].group, group) == 0)
			q->v[i].gone = 1;
}
