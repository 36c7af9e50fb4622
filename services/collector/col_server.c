/* col_server.c - configuration, wiring (store, cache, checkpoint, consumer), stats, live PUB
 * feed, lifecycle. The query API is col_api.c. */
#include <inttypes.h>
#include <limits.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/transport/tcp/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "col_cache.h"
#include "col_ckpt.h"
#include "col_consumer.h"
#include "col_file.h"
#include "col_jsonl.h"
#include "col_map.h"
#include "col_query.h"
#include "col_server_int.h"
#include "gt/gt_cfg.h"
#include "gt/gt_http.h"
#include "gt/gt_json.h"
#include "gt/gt_log.h"
#include "gt/gt_metrics.h"
#include "gt/gt_pb.h"
#include "gt/gt_rpc.h"
#include "gt/gt_signal.h"
#include "gt/gt_time.h"
#include "gtpb/v1/collector.pb-c.h"

/* ---- configuration ---- */

static const char *const fsync_choices[] = {"always", "interval", "never", NULL};
static const char *const level_choices[] = {"debug", "info", "warn", "error", "off", NULL};

static const gt_cfg_opt col_opts[] = {
    GT_CFG_STR("mq-url", col_config, mq_url, "tcp://127.0.0.1:9091", "gt-mq RPC URL"),
    GT_CFG_STR("topic", col_config, topic, "gpu-telemetry", "topic to consume"),
    GT_CFG_STR("group", col_config, group, "collectors", "consumer group"),
    GT_CFG_STR("consumer", col_config, consumer, "",
               "consumer name in the group (default: hostname; keep it stable across restarts)"),
    GT_CFG_STR("token", col_config, token, "", "shared token for gt-mq and for this service's RPC"),
    GT_CFG_INT("workers", col_config, workers, "4", 1, 64, "decode/validate worker threads"),
    GT_CFG_INT("fetchers", col_config, fetchers, "1", 1, 8, "Fetch calls in flight"),
    GT_CFG_INT("fetch-max", col_config, fetch_max, "10000", 1, 100000,
               "deliveries per Fetch (the broker also caps a response at 4 MiB)"),
    GT_CFG_DUR("fetch-wait", col_config, fetch_wait, "500ms", 0, 60 * GT_NS_PER_S,
               "Fetch long-poll wait"),
    GT_CFG_STR("data-dir", col_config, data_dir, "data", "directory of the per-GPU JSONL files"),
    GT_CFG_ENUM("fsync", col_config, fsync, "interval", fsync_choices,
                "when written records are fsynced before the ack: always|interval|never"),
    GT_CFG_DUR("fsync-interval", col_config, fsync_interval, "200ms", GT_NS_PER_MS,
               60 * GT_NS_PER_S, "fsync (then ack) period with --fsync interval"),
    GT_CFG_BOOL("checkpoint", col_config, checkpoint, "true",
                "keep a checkpoint of stored offsets (exactly-once storage across restarts)"),
    GT_CFG_STR("checkpoint-file", col_config, checkpoint_file, "",
               "checkpoint path (default <data-dir>/.checkpoint.json)"),
    GT_CFG_DUR("checkpoint-interval", col_config, checkpoint_interval, "1s", GT_NS_PER_MS,
               3600 * GT_NS_PER_S, "checkpoint save period"),
    GT_CFG_INT("max-entries", col_config, max_entries, "1000", 1, 10000000,
               "records kept in memory per GPU"),
    GT_CFG_INT("max-cache-bytes", col_config, max_cache_bytes, "268435456", 0, INT64_MAX,
               "memory budget of the cache (0 = unlimited); LRU GPUs are evicted"),
    GT_CFG_INT("rotate-bytes", col_config, rotate_bytes, "67108864", 0, INT64_MAX,
               "rotate a GPU file past this size (0 = never)"),
    GT_CFG_DUR("retention", col_config, retention, "0", 0, INT64_MAX,
               "delete rotated files older than this (0 = keep)"),
    GT_CFG_INT("retention-bytes", col_config, retention_bytes, "0", 0, INT64_MAX,
               "per GPU: delete the oldest rotated files past this size (0 = keep)"),
    GT_CFG_INT("index-every", col_config, index_every, "128", 1, 1000000,
               "lines per sparse time-index block"),
    GT_CFG_INT("api-port", col_config, api_port, "8080", 0, 65535, "HTTP port (0 = ephemeral)"),
    GT_CFG_STR("bind", col_config, bind, "0.0.0.0", "HTTP bind address"),
    GT_CFG_INT("http-workers", col_config, http_workers, "2", 1, 64,
               "threads for file-reading HTTP routes"),
    GT_CFG_STR("rpc-url", col_config, rpc_url, "tcp://0.0.0.0:9093", "TelemetryService RPC URL"),
    GT_CFG_INT("rpc-workers", col_config, rpc_workers, "2", 1, 64, "RPC handler threads"),
    GT_CFG_STR("pub-url", col_config, pub_url, "tcp://0.0.0.0:9094",
               "live feed (nng PUB) URL; empty = off"),
    GT_CFG_ENUM("log-level", col_config, log_level, "info", level_choices,
                "debug|info|warn|error|off"),
};

gt_err
col_config_load(col_config *cfg, int argc, char **argv)
{
	memset(cfg, 0, sizeof(*cfg));
	return gt_cfg_load(col_opts, GT_NELEM(col_opts), cfg, argc, argv, "gt-collector",
	                   "consume GPU telemetry from gt-mq, store per-GPU JSONL + a memory "
	                   "cache, serve queries");
}

void
col_config_free(col_config *cfg)
{
	gt_cfg_free(col_opts, GT_NELEM(col_opts), cfg);
}

/* ---- recovery callbacks ---- */

/* Ids are collected and marked once sorted (col_ckpt_mark_many): the files give one
 * partition's offsets interleaved, GPU by GPU. */
static void
recover_id(const col_delivery *id, void *arg)
{
	col_server *s = arg;

	if (s->nrec_ids == s->caprec_ids) {
		size_t       ncap = s->caprec_ids ? s->caprec_ids * 2 : 4096;
		col_ckpt_id *nv = realloc(s->rec_ids, ncap * sizeof(*nv));

		if (nv == NULL) {
			s->rec_ids_failed = 1;
			return;
		}
		s->rec_ids = nv;
		s->caprec_ids = ncap;
	}
	s->rec_ids[s->nrec_ids].epoch = id->epoch;
	s->rec_ids[s->nrec_ids].partition = id->partition;
	s->rec_ids[s->nrec_ids].offset = id->offset;
	s->nrec_ids++;
}

static void
recover_rec(col_rec *r, int64_t floor, void *arg)
{
	col_server *s = arg;

	col_cache_put(s->cache, r, floor);
}

/* ---- live feed: one PUB message per GPU per batch ----
 * topic (gpu key) + '\0' + packed gtpb.v1.TelemetryBatch of that GPU's records. */

static void
pub_flush_cb(const char *key, void *val, void *arg)
{
	col_server *s = arg;
	gt_buf     *b = val;
	nng_msg    *m;
	size_t      kl = strlen(key);

	if (b->len == 0)
		return;
	if (nng_msg_alloc(&m, kl + 1 + b->len) == 0) {
		char *p = nng_msg_body(m);

		memcpy(p, key, kl + 1);
		memcpy(p + kl + 1, b->data, b->len);
		if (nng_sendmsg(s->pub, m, NNG_FLAG_NONBLOCK) == 0)
			gt_counter_inc(s->m_pub);
		else {
			nng_msg_free(m);
			gt_counter_inc(s->m_pub_drop);
		}
	}
	gt_buf_reset(b);
}

static void
on_stored(void *arg, col_rec *const *recs, const uint8_t *const *payloads, const size_t *lens,
          size_t n)
{
	col_server *s = arg;
	size_t      i;

	if (!s->pub_open)
		return;
	for (i = 0; i < n; i++) {
		gt_buf *b = col_map_find_h(s->pub_bufs, recs[i]->gpu_key, recs[i]->key_hash);
		uint8_t hdr[11];
		size_t  hl = 0;

		if (b == NULL) {
			if ((b = calloc(1, sizeof(*b))) == NULL)
				continue;
			gt_buf_init(b);
			if (col_map_put(s->pub_bufs, recs[i]->gpu_key, b) != GT_OK) {
				free(b);
				continue;
			}
		}
		hdr[hl++] = 0x0a; /* field 1 (records), length-delimited */
		hl += gt_pb_put_varint(hdr + hl, lens[i]);
		gt_buf_append(b, hdr, hl);
		gt_buf_append(b, payloads[i], lens[i]);
	}
	col_map_each(s->pub_bufs, pub_flush_cb, s);
}

/* ---- stats ---- */

static double
hit_rate(const col_cache_stats *cs)
{
	uint64_t t = cs->hits + cs->misses;

	return t ? (double)cs->hits / (double)t : 0.0;
}

gt_err
col_server_stats_json(col_server *s, gt_buf *b)
{
	col_cache_stats    cs;
	col_store_stats    fs;
	col_consumer_stats st;
	int                first = 1;

	col_cache_stats_get(s->cache, &cs);
	col_store_stats_get(s->store, &fs);
	col_consumer_stats_get(s->consumer, &st);
	gt_buf_putc(b, '{');
	gt_json_key(b, &first, "service");
	gt_json_cstr(b, "collector");
	gt_json_key(b, &first, "total_processed");
	gt_json_uint(b, st.stored);
	gt_json_key(b, &first, "active_gpus");
	gt_json_uint(b, fs.gpus);
	gt_json_key(b, &first, "file_entries");
	gt_json_uint(b, fs.lines);
	gt_json_key(b, &first, "cache_entries");
	gt_json_uint(b, cs.entries);
	gt_json_key(b, &first, "uptime_seconds");
	gt_json_dbl(b, (double)(gt_mono_ns() - s->start_mono) / 1e9);
	gt_json_key(b, &first, "cache_hit_rate");
	gt_json_dbl(b, hit_rate(&cs));
	gt_json_key(b, &first, "cache_hits");
	gt_json_uint(b, cs.hits);
	gt_json_key(b, &first, "cache_misses");
	gt_json_uint(b, cs.misses);
	gt_json_key(b, &first, "cache_bytes");
	gt_json_uint(b, cs.bytes);
	gt_json_key(b, &first, "cache_gpus");
	gt_json_uint(b, cs.gpus);
	gt_json_key(b, &first, "cache_evicted_gpus");
	gt_json_uint(b, cs.evicted_gpus);
	/* lag: fetched but not yet acked (in the pipeline or waiting for fsync) */
	gt_json_key(b, &first, "lag");
	gt_json_uint(b,
	             st.fetched > st.acked + st.invalid ? st.fetched - st.acked - st.invalid : 0);
	gt_json_key(b, &first, "write_latency_ms");
	gt_buf_printf(b, "{\"p50\":%.3f,\"p99\":%.3f}", st.write_p50_ms, st.write_p99_ms);
	gt_json_key(b, &first, "fsync_latency_ms");
	gt_buf_printf(b, "{\"p50\":%.3f,\"p99\":%.3f}", st.fsync_p50_ms, st.fsync_p99_ms);
	gt_json_key(b, &first, "pending_acks");
	gt_json_uint(b, st.pending_acks);
	gt_json_key(b, &first, "fetched");
	gt_json_uint(b, st.fetched);
	gt_json_key(b, &first, "acked");
	gt_json_uint(b, st.acked);
	gt_json_key(b, &first, "duplicates");
	gt_json_uint(b, st.duplicates);
	gt_json_key(b, &first, "invalid");
	gt_json_uint(b, st.invalid);
	gt_json_key(b, &first, "broker_epoch");
	gt_buf_printf(b, "\"%" PRIu64 "\"", st.epoch);
	gt_json_key(b, &first, "connected");
	gt_buf_puts(b, st.connected ? "true" : "false");
	gt_json_key(b, &first, "checkpoints");
	gt_json_uint(b, st.checkpoints);
	gt_json_key(b, &first, "file_bytes");
	gt_json_uint(b, fs.bytes);
	gt_json_key(b, &first, "file_segments");
	gt_json_uint(b, fs.segments);
	gt_json_key(b, &first, "rotations");
	gt_json_uint(b, fs.rotations);
	gt_json_key(b, &first, "retention_deleted");
	gt_json_uint(b, fs.deleted_segments);
	gt_json_key(b, &first, "repaired_files");
	gt_json_uint(b, fs.repaired_files);
	gt_json_key(b, &first, "index_blocks_read");
	gt_json_uint(b, fs.blocks_read);
	gt_json_key(b, &first, "metrics");
	gt_buf_putc(b, '{');
	{
		int f2 = 1;

		gt_metrics_json(s->metrics, b, &f2);
	}
	gt_buf_putc(b, '}');
	return gt_buf_putc(b, '}');
}

static double
g_cache_entries(void *arg)
{
	col_cache_stats cs;

	col_cache_stats_get(arg, &cs);
	return (double)cs.entries;
}

static double
g_cache_bytes(void *arg)
{
	col_cache_stats cs;

	col_cache_stats_get(arg, &cs);
	return (double)cs.bytes;
}

static double
g_cache_hit_rate(void *arg)
{
	col_cache_stats cs;

	col_cache_stats_get(arg, &cs);
	return hit_rate(&cs);
}

static double
g_gpus(void *arg)
{
	col_store_stats fs;

	col_store_stats_get(arg, &fs);
	return (double)fs.gpus;
}

static double
g_lines(void *arg)
{
	col_store_stats fs;

	col_store_stats_get(arg, &fs);
	return (double)fs.lines;
}

/* ---- lifecycle ---- */

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

gt_err
col_server_new(col_server **out, const col_config *cfg)
{
	col_server       *s;
	col_cache_cfg     ccfg;
	col_store_cfg     scfg;
	col_store_recover rc;
	col_consumer_cfg  kcfg;
	col_ckpt_file    *files = NULL;
	size_t            nfiles = 0;
	char              host[256];
	gt_err            rv;

	raise_nofile();
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return GT_ENOMEM;
	s->cfg = cfg;
	s->start_mono = gt_mono_ns();
	col_api_service_init(s);
	if ((rv = gt_metrics_new(&s->metrics, "gt_collector_")) != GT_OK ||
	    (rv = col_map_new(&s->pub_bufs)) != GT_OK || (rv = col_ckpt_new(&s->ckpt)) != GT_OK)
		goto fail;
	ccfg.max_entries = (size_t)cfg->max_entries;
	ccfg.max_bytes = (size_t)cfg->max_cache_bytes;
	if ((rv = col_cache_new(&s->cache, &ccfg)) != GT_OK)
		goto fail;
	if (cfg->checkpoint) {
		size_t n = strlen(cfg->data_dir) + 32;

		if (cfg->checkpoint_file && *cfg->checkpoint_file) {
			s->ckpt_path = strdup(cfg->checkpoint_file);
		} else if ((s->ckpt_path = malloc(n)) != NULL) {
			snprintf(s->ckpt_path, n, "%s/.checkpoint.json", cfg->data_dir);
		}
		if (s->ckpt_path == NULL) {
			rv = GT_ENOMEM;
			goto fail;
		}
		rv = col_ckpt_load(s->ckpt, s->ckpt_path, &files, &nfiles);
		if (rv == GT_ECORRUPT)
			GT_LOGW("checkpoint.corrupt", GT_KV_STR("path", s->ckpt_path));
		else if (rv == GT_OK)
			GT_LOGI("checkpoint.loaded", GT_KV_STR("path", s->ckpt_path),
			        GT_KV_UINT("intervals", col_ckpt_intervals(s->ckpt)),
			        GT_KV_UINT("files", nfiles));
		else if (rv != GT_ENOENT)
			goto fail;
	}
	memset(&scfg, 0, sizeof(scfg));
	scfg.dir = cfg->data_dir;
	scfg.fsync = (col_fsync)cfg->fsync;
	scfg.rotate_bytes = (uint64_t)cfg->rotate_bytes;
	scfg.retention_ns = cfg->retention;
	scfg.retention_bytes = (uint64_t)cfg->retention_bytes;
	scfg.index_every = (uint32_t)cfg->index_every;
	memset(&rc, 0, sizeof(rc));
	/* Without a (readable) checkpoint every line's delivery id is re-read. */
	rc.files = files;
	rc.nfiles = nfiles;
	rc.scan_ids = cfg->checkpoint;
	rc.tail_lines = (size_t)cfg->max_entries;
	rc.id = recover_id;
	rc.rec = recover_rec;
	rc.arg = s;
	{
		int64_t t0 = gt_mono_ns();

		rv = col_store_open(&s->store, &scfg, &rc);
		col_ckpt_files_free(files, nfiles);
		if (rv != GT_OK) {
			GT_LOGE("file.open_failed", GT_KV_STR("dir", cfg->data_dir), GT_KV_ERR(rv));
			goto fail;
		}
		/* A stored record whose id is not marked would be stored again: no partial
		 * recovery. */
		if (s->rec_ids_failed ||
		    (rv = col_ckpt_mark_many(s->ckpt, s->rec_ids, s->nrec_ids)) != GT_OK) {
			rv = GT_ENOMEM;
			GT_LOGE("recovery.failed", GT_KV_ERR(rv));
			goto fail;
		}
		free(s->rec_ids);
		s->rec_ids = NULL;
		s->nrec_ids = s->caprec_ids = 0;
		{
			col_store_stats fs;
			col_cache_stats cs;

			col_store_stats_get(s->store, &fs);
			col_cache_stats_get(s->cache, &cs);
			GT_LOGI("recovery.done", GT_KV_UINT("gpus", fs.gpus),
			        GT_KV_UINT("lines", fs.lines),
			        GT_KV_UINT("cache_entries", cs.entries),
			        GT_KV_UINT("repaired_files", fs.repaired_files),
			        GT_KV_UINT("intervals", col_ckpt_intervals(s->ckpt)),
			        GT_KV_DBL("seconds", (double)(gt_mono_ns() - t0) / 1e9));
		}
	}
	if (cfg->consumer && *cfg->consumer) {
		s->consumer_name = strdup(cfg->consumer);
	} else {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "collector");
		host[sizeof(host) - 1] = '\0';
		s->consumer_name = strdup(host);
	}
	if (s->consumer_name == NULL) {
		rv = GT_ENOMEM;
		goto fail;
	}
	memset(&kcfg, 0, sizeof(kcfg));
	kcfg.mq_url = cfg->mq_url;
	kcfg.token = cfg->token && *cfg->token ? cfg->token : NULL;
	kcfg.topic = cfg->topic;
	kcfg.group = cfg->group;
	kcfg.consumer = s->consumer_name;
	kcfg.workers = (int)cfg->workers;
	kcfg.fetchers = (int)cfg->fetchers;
	kcfg.fetch_max = (uint32_t)cfg->fetch_max;
	kcfg.fetch_wait_ms = (uint32_t)(cfg->fetch_wait / GT_NS_PER_MS);
	kcfg.fsync = (col_fsync)cfg->fsync;
	kcfg.fsync_interval_ns = cfg->fsync_interval;
	kcfg.ckpt_path = s->ckpt_path;
	kcfg.ckpt_interval_ns = cfg->checkpoint_interval;
	kcfg.retention_every_ns = 10 * GT_NS_PER_S;
	kcfg.queue_batches = 4;
	if ((rv = col_consumer_new(&s->consumer, &kcfg, s->store, s->cache, s->ckpt, s->metrics,
	                           on_stored, s)) != GT_OK)
		goto fail;
	s->m_pub =
	    gt_metrics_counter(s->metrics, "pub_messages_total", NULL, "live feed messages sent");
	s->m_pub_drop = gt_metrics_counter(s->metrics, "pub_dropped_total", NULL,
	                                   "live feed messages not sent");
	s->m_query = gt_metrics_hist(s->metrics, "query_seconds", NULL, "GET /telemetry latency");
	gt_metrics_gauge_fn(s->metrics, "cache_entries", NULL, "records in the memory cache",
	                    g_cache_entries, s->cache);
	gt_metrics_gauge_fn(s->metrics, "cache_bytes", NULL, "bytes in the memory cache",
	                    g_cache_bytes, s->cache);
	gt_metrics_gauge_fn(s->metrics, "cache_hit_ratio", NULL, "queries answered from the cache",
	                    g_cache_hit_rate, s->cache);
	gt_metrics_gauge_fn(s->metrics, "gpus", NULL, "GPUs with files", g_gpus, s->store);
	gt_metrics_gauge_fn(s->metrics, "file_entries", NULL, "records in the files", g_lines,
	                    s->store);
	*out = s;
	return GT_OK;
fail:
	col_server_free(s);
	return rv;
}

gt_err
col_server_start(col_server *s)
{
	const col_config *cfg = s->cfg;
	gt_rpc_server_cfg rcfg = {0};
	gt_http_cfg       hcfg = {0};
	gt_err            rv;
	int               nrv;

	/* live feed */
	if (cfg->pub_url && *cfg->pub_url) {
		nng_listener l;
		int          port = 0;

		if ((nrv = nng_pub0_open(&s->pub)) != 0)
			return gt_err_from_nng(nrv);
		s->pub_open = 1;
		if ((nrv = nng_listen(s->pub, cfg->pub_url, &l, 0)) != 0) {
			GT_LOGE("pub.listen_failed", GT_KV_STR("url", cfg->pub_url),
			        GT_KV_STR("error", nng_strerror(nrv)));
			return gt_err_from_nng(nrv);
		}
		if (strncmp(cfg->pub_url, "tcp", 3) == 0)
			nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port);
		gt_rpc_dial_url(s->pub_url, sizeof(s->pub_url), cfg->pub_url, port);
	}
	/* RPC */
	rcfg.url = cfg->rpc_url;
	rcfg.workers = (int)cfg->rpc_workers;
	rcfg.token = cfg->token;
	if ((rv = gt_rpc_server_new(&s->rpc, &rcfg)) != GT_OK ||
	    (rv = gt_rpc_server_add(s->rpc, &s->svc.base)) != GT_OK ||
	    (rv = gt_rpc_server_start(s->rpc)) != GT_OK) {
		GT_LOGE("rpc.start_failed", GT_KV_STR("url", cfg->rpc_url), GT_KV_ERR(rv));
		return rv;
	}
	gt_rpc_dial_url(s->rpc_url, sizeof(s->rpc_url), cfg->rpc_url, gt_rpc_server_port(s->rpc));
	/* HTTP */
	hcfg.service = "collector";
	hcfg.bind = cfg->bind;
	hcfg.port = (int)cfg->api_port;
	hcfg.workers = (int)cfg->http_workers;
	hcfg.token = cfg->token && *cfg->token ? cfg->token : NULL;
	if ((rv = gt_http_new(&s->http, &hcfg)) != GT_OK || (rv = col_api_routes(s)) != GT_OK ||
	    (rv = gt_http_start(s->http)) != GT_OK) {
		GT_LOGE("http.start_failed", GT_KV_INT("port", cfg->api_port), GT_KV_ERR(rv));
		return rv;
	}
	if ((rv = col_consumer_start(s->consumer)) != GT_OK)
		return rv;
	GT_LOGI("service.ready", GT_KV_INT("http_port", gt_http_port(s->http)),
	        GT_KV_STR("rpc_url", s->rpc_url), GT_KV_STR("pub_url", s->pub_url),
	        GT_KV_STR("mq_url", cfg->mq_url), GT_KV_STR("consumer", s->consumer_name),
	        GT_KV_STR("data_dir", cfg->data_dir));
	return GT_OK;
}

gt_err
col_server_run(col_server *s)
{
	while (!gt_signal_wait(-1))
		;
	GT_LOGI("service.stopping", GT_KV_STR("reason", "signal"));
	/* Stop ingest first: it drains, fsyncs, acks and saves the checkpoint. */
	col_consumer_stop(s->consumer);
	return GT_OK;
}

static void
pub_buf_free(const char *key, void *val, void *arg)
{
	(void)key;
	(void)arg;
	gt_buf_fini(val);
	free(val);
}

void
col_server_free(col_server *s)
{
	if (s == NULL)
		return;
	col_consumer_stop(s->consumer);
	gt_http_free(s->http);
	gt_rpc_server_free(s->rpc);
	col_consumer_free(s->consumer);
	if (s->pub_open)
		nng_close(s->pub);
	col_store_close(s->store);
	col_cache_free(s->cache);
	col_ckpt_free(s->ckpt);
	free(s->rec_ids);
	if (s->pub_bufs) {
		col_map_each(s->pub_bufs, pub_buf_free, NULL);
		col_map_free(s->pub_bufs);
	}
	gt_metrics_free(s->metrics);
	free(s->consumer_name);
	free(s->ckpt_path);
	free(s);
}
