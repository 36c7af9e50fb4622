/* col_server.h - gt-collector: configuration, wiring (store, cache, checkpoint, consumer),
 * the TelemetryService RPC, the HTTP routes and the live PUB feed.
 *
 * Threads: main (run: waits for a stop signal), consumer threads (col_consumer.h), RPC worker
 * threads (handlers), the lws thread (/health, /stats, /metrics) and HTTP worker threads
 * (/telemetry, /gpus: they read files). Everything a handler touches is thread-safe (store
 * and cache lock internally; metrics are atomics). */
#ifndef COL_SERVER_H
#define COL_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "gt/gt_err.h"

typedef struct col_config {
	char   *mq_url, *topic, *group, *consumer, *token;
	char   *data_dir, *checkpoint_file, *bind, *rpc_url, *pub_url;
	int64_t api_port, workers, fetchers, fetch_max, fetch_wait;
	int     fsync;
	int64_t fsync_interval;
	bool    checkpoint;
	int64_t checkpoint_interval;
	int64_t max_entries, max_cache_bytes;
	int64_t rotate_bytes, retention, retention_bytes, index_every;
	int64_t http_workers, rpc_workers;
	int     log_level;
} col_config;

typedef struct col_server col_server;

/* col_config_load: defaults -> --config -> GT_* env -> flags. GT_EDONE for --help. */
gt_err col_config_load(col_config *cfg, int argc, char **argv);
void   col_config_free(col_config *cfg);

/* col_server_new recovers the data dir and prepares everything; nothing is bound yet. */
gt_err col_server_new(col_server **out, const col_config *cfg);
/* col_server_start binds HTTP, RPC and PUB, starts consuming and logs "service.ready". */
gt_err col_server_start(col_server *s);
/* col_server_run blocks until SIGINT/SIGTERM, then drains (writes, fsync, acks, checkpoint). */
gt_err col_server_run(col_server *s);
void   col_server_free(col_server *s);

#endif
