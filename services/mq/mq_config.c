/* mq_config.c - gt-mq's options: one table, every flag with its GT_* twin (gt_cfg). */
#include <string.h>

#include "gt/gt_cfg.h"
#include "gt/gt_time.h"
#include "mq_server.h"

/* ---- configuration ---- */

static const char *const fsync_choices[] = {"always", "interval", "never", NULL};
static const char *const level_choices[] = {"debug", "info", "warn", "error", "off", NULL};

static const gt_cfg_opt mq_opts[] = {
    GT_CFG_INT("port", mq_config, port, "9090", 0, 65535, "HTTP admin port (0 = any)"),
    GT_CFG_STR("bind", mq_config, bind, "0.0.0.0", "HTTP bind address"),
    GT_CFG_STR("rpc-url", mq_config, rpc_url, "tcp://0.0.0.0:9091", "RPC listen URL (nng REP)"),
    GT_CFG_STR("pub-url", mq_config, pub_url, "tcp://0.0.0.0:9092",
               "live feed URL (nng PUB); empty = off"),
    GT_CFG_BOOL("persistence", mq_config, persistence, "false", "write-ahead log on disk"),
    GT_CFG_STR("persistence-path", mq_config, persistence_path, "./data/mq", "WAL directory"),
    GT_CFG_ENUM("fsync", mq_config, fsync, "interval", fsync_choices, "always|interval|never"),
    GT_CFG_DUR("fsync-interval", mq_config, fsync_interval, "100ms", GT_NS_PER_MS, 60 * GT_NS_PER_S,
               "fsync period for --fsync interval"),
    GT_CFG_INT("segment-bytes", mq_config, segment_bytes, "67108864", 1 << 16, INT64_C(1) << 34,
               "WAL segment size"),
    GT_CFG_DUR("ack-timeout", mq_config, ack_timeout, "5s", GT_NS_PER_MS, 3600 * GT_NS_PER_S,
               "redeliver unacked messages after this (doubles per attempt)"),
    GT_CFG_INT("max-retries", mq_config, max_retries, "3", 0, 1000, "redeliveries before the DLQ"),
    GT_CFG_INT("partitions", mq_config, partitions, "8", 1, 64, "partitions per topic"),
    GT_CFG_INT("max-topic-bytes", mq_config, max_topic_bytes, "1073741824", 0, INT64_MAX,
               "retained bytes per topic before RESOURCE_EXHAUSTED (0 = unbounded)"),
    GT_CFG_DUR("consumer-lease", mq_config, consumer_lease, "0", 0, 3600 * GT_NS_PER_S,
               "a consumer silent this long leaves its group (0 = 3 x ack-timeout)"),
    GT_CFG_DUR("nack-delay", mq_config, nack_delay, "100ms", 0, 3600 * GT_NS_PER_S,
               "redelivery delay after a Nack (doubles per attempt)"),
    GT_CFG_DUR("backoff-cap", mq_config, backoff_cap, "5m", GT_NS_PER_MS, 24 * 3600 * GT_NS_PER_S,
               "longest redelivery delay"),
    GT_CFG_DUR("group-ttl", mq_config, group_ttl, "0", 0, INT64_C(365) * 24 * 3600 * GT_NS_PER_S,
               "delete a group that has had no consumer for this long (0 = never)"),
    GT_CFG_STR("topics", mq_config, topics, "gpu-telemetry",
               "topics created at start (comma-separated)"),
    GT_CFG_INT("rpc-workers", mq_config, rpc_workers, "4", 1, 64, "RPC handler threads"),
    GT_CFG_INT("rpc-contexts", mq_config, rpc_contexts, "128", 32, 4096, "RPC requests in flight"),
    GT_CFG_DUR("max-fetch-wait", mq_config, max_fetch_wait, "30s", GT_NS_PER_MS,
               3600 * GT_NS_PER_S, "longest long-poll: a Fetch's wait_ms is capped to this"),
    GT_CFG_STR("token", mq_config, token, "", "shared secret for RPC (empty = none)"),
    GT_CFG_ENUM("log-level", mq_config, log_level, "info", level_choices,
                "debug|info|warn|error|off"),
};

gt_err
mq_config_load(mq_config *cfg, int argc, char **argv)
{
	memset(cfg, 0, sizeof(*cfg));
	return gt_cfg_load(
	    mq_opts, GT_NELEM(mq_opts), cfg, argc, argv, "gt-mq",
	    "GPU telemetry message broker: topics, consumer groups, acks, redelivery, DLQ, WAL");
}

void
mq_config_free(mq_config *cfg)
{
	gt_cfg_free(mq_opts, GT_NELEM(mq_opts), cfg);
}
