/* test_mq_util.h - helpers shared by the gt-mq integration tests (test_mq_*.c). */
#ifndef TEST_MQ_UTIL_H
#define TEST_MQ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_rpc.h"
#include "gt_proc.h"
#include "gtpb/v1/mq.pb-c.h"

typedef struct tmq {
	gt_proc       *proc;
	gt_rpc_client *cli;
	int            http_port;
	char          *rpc_url;
	char          *pub_url;
	uint64_t       epoch;
} tmq;

/* Deadline of tmq_publish calls (default 10 s). */
extern int64_t tmq_timeout_ns;

/* Start gt-mq on ephemeral loopback ports with extra flags (NULL-terminated). */
void tmq_start(tmq *m, const char *const *extra);
/* SIGTERM, expect exit 0, free. */
void tmq_stop(tmq *m);
/* cmocka teardown: kill and free whatever a failed test left running. */
int tmq_cleanup(void **state);
/* SIGKILL (for crash tests), free. */
void tmq_kill(tmq *m);

/* Publish n messages key_fmt % (i % nkeys) with payload "<tag>:<seq_base+i>"; returns the
 * status code. */
gt_rpc_code tmq_publish(tmq *m, const char *topic, const char *producer, uint64_t seq,
                        uint64_t first, size_t n, unsigned nkeys, size_t payload_pad,
                        Gtpb__V1__PublishResponse **out);
/* Fetch; returns the status code; *out owned by the caller (may be NULL on error). */
gt_rpc_code tmq_fetch(tmq *m, const char *topic, const char *group, const char *consumer,
                      uint32_t max, uint32_t wait_ms, Gtpb__V1__FetchResponse **out);
/* Ack every delivery of r; returns status code. */
gt_rpc_code tmq_ack(tmq *m, const char *topic, const char *group, const char *consumer,
                    const Gtpb__V1__FetchResponse *r, uint32_t *acked);
gt_rpc_code tmq_ack_ids(tmq *m, const char *topic, const char *group, Gtpb__V1__DeliveryId **ids,
                        size_t n, uint32_t *acked);
/* The sequence number written into a test payload ("<n>|..."), or -1. */
int64_t tmq_payload_seq(const Gtpb__V1__Message *msg);
/* GET path over HTTP; returns status; body malloc'd. */
int tmq_http(tmq *m, const char *path, char **body);
/* Stats JSON value at topics.<topic>.groups.<group>.<field> (-1 if absent). */
int64_t tmq_group_stat(tmq *m, const char *topic, const char *group, const char *field);

#endif
