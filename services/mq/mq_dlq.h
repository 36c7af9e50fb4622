/* mq_dlq.h - the dead-letter queue of one topic: a FIFO of letters, each with its own copy
 * of the message bytes, the group that dead-lettered it, the reason and the attempts.
 *
 * Letters get increasing dlq_offsets and leave from the front only (replay takes the
 * oldest, purge takes all), so the state of a DLQ is "the letters with dlq_offset >= a trim
 * point": the WAL logs additions and trims, and recovery rebuilds the same FIFO. An
 * embedded object (zeroed = empty), owned by its topic and used under the topic's lock. */
#ifndef MQ_DLQ_H
#define MQ_DLQ_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"
#include "mq_topic.h"

typedef struct mq_dlq_letter mq_dlq_letter;

typedef struct mq_dlq {
	mq_dlq_letter *v;
	size_t         head, n, cap; /* live letters are v[head, n) */
	uint64_t       next;         /* dlq_offset of the next letter; lower ones are taken */
} mq_dlq;

void   mq_dlq_fini(mq_dlq *q);
size_t mq_dlq_count(const mq_dlq *q);

/* Append a letter with the next dlq_offset, copying what d points at (d->dlq_offset is
 * ignored). A message that cannot be copied leaves the letter without one. *stored (may be
 * NULL) views the stored letter, lent until the DLQ changes. GT_ENOMEM: nothing added. */
gt_err mq_dlq_add(mq_dlq *q, const mq_dead_view *d, mq_dead_view *stored);
/* Recovery: append d as it was (its dlq_offset included) unless that offset is taken
 * already (held or trimmed): re-logged copies are applied once. */
gt_err mq_dlq_restore(mq_dlq *q, const mq_dead_view *d);
/* Visit up to limit (0 = all) letters, oldest first (views lent for the call). */
void mq_dlq_each(const mq_dlq *q, size_t limit, void (*fn)(void *arg, const mq_dead_view *d),
                 void *arg);
/* The oldest letter: 1 and *v (lent until the DLQ changes), or 0 when empty. */
int  mq_dlq_peek(const mq_dlq *q, mq_dead_view *v);
void mq_dlq_pop(mq_dlq *q);
/* Drop every letter; returns the count. */
size_t mq_dlq_purge(mq_dlq *q);
/* Drop the letters below `below`; later letters are numbered from `below` at least. */
void mq_dlq_trim(mq_dlq *q, uint64_t below);
/* The group was deleted: its letters are shown as of a deleted group from now on. */
void mq_dlq_group_gone(mq_dlq *q, const char *group);

#endif
