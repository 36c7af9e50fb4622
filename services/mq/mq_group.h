/* mq_group.h - a consumer group: members, partition assignment and one PEL per partition.
 *
 * Members are the consumers that fetched (or acked) within the lease. Partitions are
 * assigned round-robin over the live members sorted by name (deterministic, so every fetch
 * sees the same owner), and reassigned whenever membership changes. Owned by its topic and
 * used under the topic's lock. */
#ifndef MQ_GROUP_H
#define MQ_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"
#include "mq_pel.h"

typedef struct mq_consumer {
	char   *name;
	int64_t last_seen; /* monotonic ns */
	int     parked;    /* long-polls waiting: alive even when silent */
} mq_consumer;

/* Fields are read by mq_topic.c; other modules use the functions. */
typedef struct mq_group {
	char        *name;
	uint32_t     nparts;
	mq_pel      *pels;  /* [nparts] */
	int         *owner; /* [nparts]: index into cons, or -1 */
	mq_consumer *cons;
	size_t       ncons, capcons;
	uint32_t     rr;          /* rotating start partition */
	int64_t      last_active; /* monotonic ns: last time the group had a member */
	uint64_t     delivered, redelivered, acked, dead_lettered, rebalances;
} mq_group;

/* starts[p]: the first offset of partition p the group will see. */
gt_err mq_group_new(mq_group **out, const char *name, uint32_t nparts, const uint64_t *starts);
void   mq_group_free(mq_group *g);

/* Records that consumer is alive at now (adding it), expires members silent for longer than
 * lease and reassigns partitions if membership changed. Returns the consumer's index via
 * *idx. */
gt_err mq_group_touch(mq_group *g, const char *consumer, int64_t now, int64_t lease, int *idx);
/* Expire silent members (not parked); returns 1 if membership changed. */
int mq_group_expire(mq_group *g, int64_t now, int64_t lease);
/* Index of consumer or -1. */
int mq_group_find(const mq_group *g, const char *consumer);
/* Messages delivered and not acked, over all partitions. */
uint64_t mq_group_pending(const mq_group *g);

#endif
