/* gt_queue.h - a bounded, blocking MPMC queue of pointers (mutex + condvars).
 * Used to hand work from nng/lws callbacks to worker threads. Thread-safe. */
#ifndef GT_QUEUE_H
#define GT_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"

typedef struct gt_queue gt_queue;

/* cap = maximum items (>= 1). */
gt_err gt_queue_new(gt_queue **out, size_t cap);
/* gt_queue_free: the queue must be empty or the caller must own what is left (it is lost). */
void gt_queue_free(gt_queue *q);

/* gt_queue_push takes ownership of item on GT_OK. timeout_ns: 0 = try once (GT_EFULL when
 * full), <0 = wait forever. GT_ECLOSED after gt_queue_close. */
gt_err gt_queue_push(gt_queue *q, void *item, int64_t timeout_ns);
/* gt_queue_pop: timeout_ns as above (GT_ETIMEDOUT when it passes). After close, items still
 * queued are returned; then GT_ECLOSED. */
gt_err gt_queue_pop(gt_queue *q, void **item, int64_t timeout_ns);
/* gt_queue_pop_many pops up to max items at once (waits like pop for the first). */
gt_err gt_queue_pop_many(gt_queue *q, void **items, size_t max, size_t *n, int64_t timeout_ns);
/* Wakes every waiter; further pushes fail with GT_ECLOSED. */
void   gt_queue_close(gt_queue *q);
size_t gt_queue_len(gt_queue *q);

#endif
