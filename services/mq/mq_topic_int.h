/* mq_topic_int.h - the topic's state, shared by mq_topic.c (publish side, retention,
 * recovery) and mq_consume.c (fetch, ack, nack, redelivery, dead letters). Not for other
 * modules; everything here runs under the topic owner's lock. */
#ifndef MQ_TOPIC_INT_H
#define MQ_TOPIC_INT_H

#include "mq_dlq.h"
#include "mq_group.h"
#include "mq_plog.h"
#include "mq_topic.h"

typedef struct mq_producer mq_producer; /* dedup state of one producer_id (mq_topic.c) */

struct mq_topic {
	char        *name;
	mq_topic_cfg cfg;
	mq_plog     *parts;
	mq_group   **groups;
	size_t       ngroups, capgroups;
	mq_producer *prods; /* an LRU of at most 4096 */
	size_t       nprods;
	uint64_t     tick;
	mq_dlq       dlq;
	uint32_t     rr_pub;
	uint64_t     messages, bytes, retained, duplicates, rejected_full;
};

/* mq_topic.c */
/* The group called name, or NULL. Borrowed until the groups change. */
mq_group *mq_topic_group_find(const mq_topic *t, const char *name);
/* The group called name, created (starting at the oldest retained offsets) if new. */
gt_err mq_topic_group_create(mq_topic *t, const char *name, mq_group **out);
/* Drop what every group is done with from partition pi / from every partition. */
void mq_topic_trim(mq_topic *t, uint32_t pi);
void mq_topic_trim_all(mq_topic *t);

#endif
