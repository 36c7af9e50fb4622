/* gt_queue.c - bounded blocking MPMC ring of pointers. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "gt/gt_queue.h"
#include "gt/gt_time.h"

struct gt_queue {
	pthread_mutex_t mtx;
	pthread_cond_t  not_empty;
	pthread_cond_t  not_full;
	void          **items;
	size_t          cap, head, len;
	int             closed;
};

gt_err
gt_queue_new(gt_queue **out, size_t cap)
{
	gt_queue          *q;
	pthread_condattr_t ca;

	if (cap == 0)
		return GT_EINVAL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return GT_ENOMEM;
	if ((q->items = calloc(cap, sizeof(void *))) == NULL) {
		free(q);
		return GT_ENOMEM;
	}
	q->cap = cap;
	pthread_mutex_init(&q->mtx, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->not_empty, &ca);
	pthread_cond_init(&q->not_full, &ca);
	pthread_condattr_destroy(&ca);
	*out = q;
	return GT_OK;
}

void
gt_queue_free(gt_queue *q)
{
	if (q == NULL)
		return;
	pthread_mutex_destroy(&q->mtx);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
	free(q->items);
	free(q);
}

/* Wait on cv until deadline (monotonic ns); returns nonzero on timeout. */
static int
queue_wait(pthread_cond_t *cv, pthread_mutex_t *m, int64_t deadline)
{
	struct timespec ts;

	if (deadline < 0) {
		pthread_cond_wait(cv, m);
		return 0;
	}
	ts.tv_sec = (time_t)(deadline / GT_NS_PER_S);
	ts.tv_nsec = (long)(deadline % GT_NS_PER_S);
	return pthread_cond_timedwait(cv, m, &ts) != 0;
}

gt_err
gt_queue_push(gt_queue *q, void *item, int64_t timeout_ns)
{
	int64_t deadline = timeout_ns < 0 ? -1 : gt_mono_ns() + timeout_ns;

	pthread_mutex_lock(&q->mtx);
	while (!q->closed && q->len == q->cap) {
		if (timeout_ns == 0 || (queue_wait(&q->not_full, &q->mtx, deadline) &&
		                           q->len == q->cap && !q->closed)) {
			pthread_mutex_unlock(&q->mtx);
			return timeout_ns == 0 ? GT_EFULL : GT_ETIMEDOUT;
		}
	}
	if (q->closed) {
		pthread_mutex_unlock(&q->mtx);
		return GT_ECLOSED;
	}
	q->items[(q->head + q->len) % q->cap] = item;
	q->len++;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->mtx);
	return GT_OK;
}

gt_err
gt_queue_pop_many(gt_queue *q, void **items, size_t max, size_t *n, int64_t timeout_ns)
{
	int64_t deadline = timeout_ns < 0 ? -1 : gt_mono_ns() + timeout_ns;
	size_t  k = 0;

	*n = 0;
	pthread_mutex_lock(&q->mtx);
	while (q->len == 0 && !q->closed) {
		if (timeout_ns == 0 ||
		    (queue_wait(&q->not_empty, &q->mtx, deadline) && q->len == 0 && !q->closed)) {
			pthread_mutex_unlock(&q->mtx);
			return GT_ETIMEDOUT;
		}
	}
	if (q->len == 0) {
		pthread_mutex_unlock(&q->mtx);
		return GT_ECLOSED;
	}
	while (k < max && q->len > 0) {
		items[k++] = q->items[q->head];
		q->head = (q->head + 1) % q->cap;
		q->len--;
	}
	if (k > 1)
		pthread_cond_broadcast(&q->not_full);
	else
		pthread_cond_signal(&q->not_full);
	pthread_mutex_unlock(&q->mtx);
	*n = k;
	return GT_OK;
}

gt_err
gt_queue_pop(gt_queue *q, void **item, int64_t timeout_ns)
{
	size_t n;

	return gt_queue_pop_many(q, item, 1, &n, timeout_ns);
}

void
gt_queue_close(gt_queue *q)
{
	pthread_mutex_lock(&q->mtx);
	q->closed = 1;
	pthread_cond_broadcast(&q->not_empty);
	pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->mtx);
}

size_t
gt_queue_len(gt_queue *q)
{
	size_t n;

	pthread_mutex_lock(&q->mtx);
	n = q->len;
	pthread_mutex_unlock(&q->mtx);
	return n;
}
