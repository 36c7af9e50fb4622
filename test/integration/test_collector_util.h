/* test_collector_util.h - helpers for the gt-collector integration tests: real gt-mq and
 * gt-collector processes on ephemeral loopback ports, a publisher of TelemetryRecords. */
#ifndef TEST_COLLECTOR_UTIL_H
#define TEST_COLLECTOR_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "gt/gt_rpc.h"
#include "gtpb/v1/telemetry.pb-c.h"
#include "gt_proc.h"

typedef struct tc_svc {
	gt_proc       *proc;
	gt_rpc_client *cli;
	int            http_port;
	char          *rpc_url;
} tc_svc;

/* gt-mq with extra flags (NULL-terminated list or NULL). */
void tc_mq_start(tc_svc *m, const char *const *extra);
/* The same, but returns the error instead of failing when gt-mq does not become ready. */
gt_err tc_mq_try_start(tc_svc *m, const char *const *extra);
/* gt-collector against mq, data in dir, consumer name, extra flags. */
void tc_col_start(tc_svc *c, const tc_svc *mq, const char *dir, const char *consumer,
    const char *const *extra);
/* The same without waiting for "service.ready" (to crash it during start-up recovery);
 * http_port and rpc_url stay unset. */
void tc_col_spawn(tc_svc *c, const tc_svc *mq, const char *dir, const char *consumer,
    const char *const *extra);
/* SIGTERM and expect exit status 0. */
void tc_stop(tc_svc *s);
/* cmocka teardown: SIGKILL whatever a failed test left running. */
int tc_cleanup(void **state);
/* SIGKILL. */
void tc_kill(tc_svc *s);

/* The key of GPU g: "GPU-test-<g>" (or "host-<g>/0" when slash is set). */
void tc_key(char *buf, size_t len, unsigned g, int slash);
/* Publish records i in [first, first + n): GPU i % ngpus, timestamp ts0 + i * 1000 (so each
 * GPU's records are increasing), temperature = i. Batches of 500; producer dedup by seq. */
void tc_publish(const tc_svc *mq, uint64_t first, size_t n, unsigned ngpus, int64_t ts0, int slash);
/* Publish one packed record under key (the record's strings are not checked: the broker
 * does not look into payloads). */
void tc_publish_record(const tc_svc *mq, const char *key, const Gtpb__V1__TelemetryRecord *r);
/* Publish one message whose payload is not a TelemetryRecord. */
void tc_publish_garbage(const tc_svc *mq, const char *key);

/* GET path -> status; *json parsed body (json_decref) or NULL. accept may be NULL. */
int tc_get(const tc_svc *s, const char *path, const char *accept, json_t **json, char **raw,
    size_t *rawlen);
/* /stats integer field (-1 when absent). */
int64_t tc_stat(const tc_svc *s, const char *field);
/* gt-mq /stats: an integer field of group "collectors" on topic "gpu-telemetry" (lag, pending,
 * acked, ...; -1 when absent). */
int64_t tc_group_field(const tc_svc *mq, const char *field);
/* Wait until /stats total_processed >= n (or timeout). Returns the last value. */
int64_t tc_wait_processed(const tc_svc *s, int64_t n, int64_t timeout_ns);
/* Count lines of every <stem>.jsonl* file in dir (stem ending in '@': a prefix). */
size_t tc_count_lines(const char *dir, const char *stem);

#endif
