/* mq_server.h - the broker process: configuration, RPC service, HTTP admin, live PUB feed,
 * timers and (optional) persistence. main.c: mq_config_load -> mq_server_new ->
 * mq_server_run -> mq_server_free. */
#ifndef MQ_SERVER_H
#define MQ_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "gt/gt_err.h"

enum { MQ_FSYNC_ALWAYS = 0, MQ_FSYNC_INTERVAL = 1, MQ_FSYNC_NEVER = 2 };

typedef struct mq_config {
	int64_t port;
	char   *bind;
	char   *rpc_url;
	char   *pub_url;
	bool    persistence;
	char   *persistence_path;
	int     fsync;
	int64_t fsync_interval;
	int64_t segment_bytes;
	int64_t ack_timeout;
	int64_t max_retries;
	int64_t partitions;
	int64_t max_topic_bytes;
	int64_t consumer_lease; /* 0 = 3 x ack_timeout */
	int64_t nack_delay;
	int64_t backoff_cap;
	int64_t group_ttl; /* 0 = groups live forever */
	char   *topics;    /* comma-separated topics created at start */
	int64_t rpc_workers;
	int64_t rpc_contexts;
	int64_t max_fetch_wait; /* longest long-poll, whatever wait_ms asks */
	char   *token;
	int     log_level;
} mq_config;

/* Parses flags/env (gt_cfg). GT_EDONE after --help/--print-config. */
gt_err mq_config_load(mq_config *cfg, int argc, char **argv);
void   mq_config_free(mq_config *cfg);

typedef struct mq_server mq_server;

/* Builds everything, recovers the WAL, binds every socket. Main thread. */
gt_err mq_server_new(mq_server **out, const mq_config *cfg);
/* Logs service.ready and serves until SIGINT/SIGTERM. Main thread. */
gt_err mq_server_run(mq_server *s);
/* Stops serving, answers parked fetches, flushes the WAL, frees. Accepts NULL. */
void mq_server_free(mq_server *s);

#endif
