/* col_server.c - wiring, TelemetryService RPC, HTTP routes, live PUB feed. */
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
#include "col_server.h"
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

#define COL_VERSION "0.1.0"

/* ---- configuration ---- */

static const char *const fsync_choices[] = {"always", "interval", "never", NULL};
static const char *const level_choices[] = {"debug", "info", "warn", "error", "off", NULL};

static const gt_cfg_opt col_opts[] = {
    GT_CFG_STR("mq-url", col_config, mq_url, "tcp://127.0.0.1:9091", "gt-mq RPC URL"),
    GT_CFG_STR("topic", col_config, topic, "gpu-telemetry", "topic to consume"),
    GT_CFG_STR("group", col_config, group, "collectors", "consumer group"),
    GT_CFG_STR("consumer", col_config, consumer, "", "consumer name in the group (default: hostname; keep it stable across restarts)"),
    GT_CFG_STR("token", col_config, token, "", "shared token for gt-mq and for this service's RPC"),
    GT_CFG_INT("workers", col_config, workers, "4", 1, 64, "decode/validate worker threads"),
    GT_CFG_INT("fetchers", col_config, fetchers, "1", 1, 8, "Fetch calls in flight"),
    GT_CFG_INT("fetch-max", col_config, fetch_max, "10000", 1, 100000, "deliveries per Fetch (the broker also caps a response at 4 MiB)"),
    GT_CFG_DUR("fetch-wait", col_config, fetch_wait, "500ms", 0, 60 * GT_NS_PER_S, "Fetch long-poll wait"),
    GT_CFG_STR("data-dir", col_config, data_dir, "data", "directory of the per-GPU JSONL files"),
    GT_CFG_ENUM("fsync", col_config, fsync, "interval", fsync_choices, "when written records are fsynced before the ack: always|interval|never"),
    GT_CFG_DUR("fsync-interval", col_config, fsync_interval, "200ms", GT_NS_PER_MS, 60 * GT_NS_PER_S, "fsync (then ack) period with --fsync interval"),
    GT_CFG_BOOL("checkpoint", col_config, checkpoint, "true", "keep a checkpoint of stored offsets (exactly-once storage across restarts)"),
    GT_CFG_STR("checkpoint-file", col_config, checkpoint_file, "", "checkpoint path (default <data-dir>/.checkpoint.json)"),
    GT_CFG_DUR("checkpoint-interval", col_config, checkpoint_interval, "1s", GT_NS_PER_MS, 3600 * GT_NS_PER_S, "checkpoint save period"),
    GT_CFG_INT("max-entries", col_config, max_entries, "1000", 1, 10000000, "records kept in memory per GPU"),
    GT_CFG_INT("max-cache-bytes", col_config, max_cache_bytes, "268435456", 0, INT64_MAX, "memory budget of the cache (0 = unlimited); LRU GPUs are evicted"),
    GT_CFG_INT("rotate-bytes", col_config, rotate_bytes, "67108864", 0, INT64_MAX, "rotate a GPU file past this size (0 = never)"),
    GT_CFG_DUR("retention", col_config, retention, "0", 0, INT64_MAX, "delete rotated files older than this (0 = keep)"),
    GT_CFG_INT("retention-bytes", col_config, retention_bytes, "0", 0, INT64_MAX, "per GPU: delete the oldest rotated files past this size (0 = keep)"),
    GT_CFG_INT("index-every", col_config, index_every, "128", 1, 1000000, "lines per sparse time-index block"),
    GT_CFG_INT("api-port", col_config, api_port, "8080", 0, 65535, "HTTP port (0 = ephemeral)"),
    GT_CFG_STR("bind", col_config, bind, "0.0.0.0", "HTTP bind address"),
    GT_CFG_INT("http-workers", col_config, http_workers, "2", 1, 64, "threads for file-reading HTTP routes"),
    GT_CFG_STR("rpc-url", col_config, rpc_url, "tcp://0.0.0.0:9093", "TelemetryService RPC URL"),
    GT_CFG_INT("rpc-workers", col_config, rpc_workers, "2", 1, 64, "RPC handler threads"),
    GT_CFG_STR("pub-url", col_config, pub_url, "tcp://0.0.0.0:9094", "live feed (nng PUB) URL; empty = off"),
    GT_CFG_ENUM("log-level", col_config, log_level, "info", level_choices, "debug|info|warn|error|off"),
};

gt_err
col_config_load(col_config *cfg, int argc, char **argv)
{
	memset(cfg, 0, sizeof(*cfg));
	return gt_cfg_load(col_opts, GT_NELEM(col_opts), cfg, argc, argv, "gt-collector",
	    "consume GPU telemetry from gt-mq, store per-GPU JSONL + a memory cache, serve queries");
}

void
col_config_free(col_config *cfg)
{
	gt_cfg_free(col_opts, GT_NELEM(col_opts), cfg);
}

/* ---- server ---- */

struct col_server {
	const col_config *cfg;
	char             *consumer_name, *ckpt_path;
	int64_t           start_mono;
	gt_metrics       *metrics;
	col_cache        *cache;
	col_ckpt         *ckpt;
	col_store        *store;
	col_consumer     *consumer;
	gt_rpc_server    *rpc;
	gt_http          *http;
	nng_socket        pub;
	int               pub_open;
	char              rpc_url[256], pub_url[256];
	col_map          *pub_bufs; /* writer thread only: gpu key -> gt_buf* */
	gt_counter       *m_pub, *m_pub_drop;
	gt_hist          *m_query;
	Gtpb__V1__TelemetryService_Service svc;
};

/* The RPC handlers find the server through the service struct. */
static col_server *
svc_server(Gtpb__V1__TelemetryService_Service *svc)
{
	return (col_server *)((char *)svc - offsetof(col_server, svc));
}

/* ---- recovery callbacks ---- */

static void
recover_id(const col_delivery *id, void *arg)
{
	col_server *s = arg;

	col_ckpt_mark(s->ckpt, id->epoch, id->partition, id->offset);
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
		gt_buf  *b = col_map_find_h(s->pub_bufs, recs[i]->gpu_key, recs[i]->key_hash);
		uint8_t  hdr[11];
		size_t   hl = 0;

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

static gt_err
stats_json(col_server *s, gt_buf *b)
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
	gt_json_uint(b, st.fetched > st.acked + st.invalid ? st.fetched - st.acked - st.invalid : 0);
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

/* ---- query helpers ---- */

/* Parse "a,b,c" into q->metrics (pointers into buf, which is modified). */
static int
parse_metrics(char *buf, col_query *q)
{
	char *save = NULL, *t;

	for (t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		if (*t == '\0')
			continue;
		if (q->nmetrics == COL_QUERY_MAX_METRICS)
			return -1;
		q->metrics[q->nmetrics++] = t;
	}
	return 0;
}

static int
parse_bool(const char *v, int *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes")) {
		*out = 1;
		return 0;
	}
	if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no")) {
		*out = 0;
		return 0;
	}
	return -1;
}

static int
parse_uint(const char *v, uint64_t max, uint64_t *out)
{
	char              *end;
	unsigned long long x;

	if (*v < '0' || *v > '9')
		return -1;
	x = strtoull(v, &end, 10);
	if (*end != '\0' || x > max)
		return -1;
	*out = x;
	return 0;
}

/* ---- HTTP ---- */

static void
h_health(gt_http_req *req, void *arg)
{
	col_server        *s = arg;
	col_consumer_stats st;
	gt_buf             b;

	col_consumer_stats_get(s->consumer, &st);
	gt_buf_init(&b);
	gt_buf_printf(&b, "{\"status\":\"%s\",\"service\":\"collector\",\"version\":\"%s\","
	                  "\"uptime_seconds\":%.3f,\"mq_connected\":%s}",
	    st.connected ? "ok" : "degraded", COL_VERSION, (double)(gt_mono_ns() - s->start_mono) / 1e9,
	    st.connected ? "true" : "false");
	gt_http_reply_json(req, 200, &b);
	gt_buf_fini(&b);
}

static void
h_stats(gt_http_req *req, void *arg)
{
	gt_buf b;

	gt_buf_init(&b);
	stats_json(arg, &b);
	gt_http_reply_json(req, 200, &b);
	gt_buf_fini(&b);
}

static void
h_metrics(gt_http_req *req, void *arg)
{
	col_server *s = arg;
	gt_buf      b;

	gt_buf_init(&b);
	gt_metrics_prometheus(s->metrics, &b);
	gt_http_reply(req, 200, "text/plain; version=0.0.4", b.data, b.len);
	gt_buf_fini(&b);
}

static void
reply_pb(gt_http_req *req, const ProtobufCMessage *m)
{
	size_t   n = protobuf_c_message_get_packed_size(m);
	uint8_t *p = malloc(n ? n : 1);

	if (p == NULL) {
		gt_http_error(req, 500, "out of memory");
		return;
	}
	protobuf_c_message_pack(m, p);
	gt_http_reply(req, 200, "application/x-protobuf", p, n);
	free(p);
}

static void
h_telemetry(gt_http_req *req, void *arg)
{
	col_server *s = arg;
	col_query   q;
	col_result  res;
	const char *v;
	char        mbuf[1024], kbuf[1200];
	uint64_t    u;
	int64_t     t0 = gt_mono_ns();
	size_t      i;
	gt_err      rv;

	col_query_init(&q);
	/* The key: /telemetry/{gpu}, /telemetry/{host}/{index} (keys "hostname/gpu_index": lws
	 * decodes %2F before routing, so such a key cannot be one segment), or ?gpu=. */
	if ((q.gpu = gt_http_req_param(req, "gpu")) == NULL) {
		const char *a = gt_http_req_param(req, "host"), *b = gt_http_req_param(req, "index");

		if (a != NULL && b != NULL) {
			snprintf(kbuf, sizeof(kbuf), "%s/%s", a, b);
			q.gpu = kbuf;
		} else {
			q.gpu = gt_http_req_query(req, "gpu");
		}
	}
	if (q.gpu == NULL || *q.gpu == '\0') {
		gt_http_error(req, 400, "missing parameter gpu");
		return;
	}
	if ((v = gt_http_req_query(req, "limit")) != NULL) {
		if (parse_uint(v, COL_QUERY_MAX_LIMIT, &u) != 0 || u == 0) {
			gt_http_error(req, 400, "invalid parameter limit: want an integer 1..%d", COL_QUERY_MAX_LIMIT);
			return;
		}
		q.limit = (size_t)u;
	}
	if ((v = gt_http_req_query(req, "reverse")) != NULL && parse_bool(v, &q.reverse) != 0) {
		gt_http_error(req, 400, "invalid parameter reverse: want true or false");
		return;
	}
	if ((v = gt_http_req_query(req, "since")) != NULL && gt_time_parse(v, &q.since) != GT_OK) {
		gt_http_error(req, 400, "invalid parameter since: want RFC 3339 or unix ns");
		return;
	}
	if ((v = gt_http_req_query(req, "until")) != NULL && gt_time_parse(v, &q.until) != GT_OK) {
		gt_http_error(req, 400, "invalid parameter until: want RFC 3339 or unix ns");
		return;
	}
	if ((v = gt_http_req_query(req, "metric")) != NULL) {
		snprintf(mbuf, sizeof(mbuf), "%s", v);
		if (strlen(v) >= sizeof(mbuf) || parse_metrics(mbuf, &q) != 0) {
			gt_http_error(req, 400, "invalid parameter metric: at most %d names", COL_QUERY_MAX_METRICS);
			return;
		}
	}
	if (!col_store_has(s->store, q.gpu)) {
		gt_http_error(req, 404, "no such gpu: %s", q.gpu);
		return;
	}
	if ((rv = col_query_run(s->store, s->cache, &q, &res)) != GT_OK) {
		if (rv == GT_ENOENT)
			gt_http_error(req, 404, "no such gpu: %s", q.gpu);
		else
			gt_http_error(req, 500, "query failed: %s", gt_strerror(rv));
		return;
	}
	if (gt_http_req_wants_protobuf(req)) {
		Gtpb__V1__GetTelemetryResponse out = GTPB__V1__GET_TELEMETRY_RESPONSE__INIT;
		Gtpb__V1__TelemetryRecord    **v2 = calloc(res.n ? res.n : 1, sizeof(*v2));

		if (v2 == NULL) {
			gt_http_error(req, 500, "out of memory");
		} else {
			for (i = 0; i < res.n; i++)
				v2[out.n_records++] = col_rec_pb_new(res.recs[i], q.metrics, q.nmetrics);
			for (i = 0; i < out.n_records; i++)
				if (v2[i] == NULL)
					break;
			if (i < out.n_records) {
				gt_http_error(req, 500, "out of memory");
			} else {
				out.records = v2;
				out.truncated = res.truncated;
				reply_pb(req, &out.base);
			}
			for (i = 0; i < out.n_records; i++)
				free(v2[i]);
			free(v2);
		}
	} else {
		gt_buf b;

		gt_buf_init(&b);
		gt_buf_puts(&b, "{\"gpu\":");
		gt_json_cstr(&b, q.gpu);
		gt_buf_printf(&b, ",\"count\":%zu,\"truncated\":%s,\"source\":\"%s\",\"records\":[", res.n,
		    res.truncated ? "true" : "false", res.from_cache ? "cache" : "file");
		for (i = 0; i < res.n; i++) {
			if (i)
				gt_buf_putc(&b, ',');
			col_jsonl_encode_obj(&b, res.recs[i], NULL, q.metrics, q.nmetrics);
		}
		gt_buf_puts(&b, "]}");
		gt_http_reply_json(req, 200, &b);
		gt_buf_fini(&b);
	}
	col_result_fini(&res);
	gt_hist_observe_ns(s->m_query, gt_mono_ns() - t0);
}

static void
h_gpus(gt_http_req *req, void *arg)
{
	col_server   *s = arg;
	col_gpu_info *v = NULL;
	size_t        n = 0, i;
	uint32_t      k;

	if (col_store_list(s->store, &v, &n) != GT_OK) {
		gt_http_error(req, 500, "out of memory");
		return;
	}
	if (gt_http_req_wants_protobuf(req)) {
		Gtpb__V1__ListGpusResponse out = GTPB__V1__LIST_GPUS_RESPONSE__INIT;
		Gtpb__V1__GpuInfo        *gi = calloc(n ? n : 1, sizeof(*gi));
		Gtpb__V1__GpuInfo       **gp = calloc(n ? n : 1, sizeof(*gp));
		Gtpb__V1__TelemetryRecord **tmp = calloc(n ? n : 1, sizeof(*tmp));

		if (gi && gp && tmp) {
			for (i = 0; i < n; i++) {
				gtpb__v1__gpu_info__init(&gi[i]);
				gi[i].gpu_key = v[i].gpu_key;
				gi[i].hostname = v[i].hostname;
				gi[i].uuid = v[i].uuid;
				gi[i].model = v[i].model;
				gi[i].device = v[i].device;
				gi[i].gpu_index = v[i].gpu_index;
				gi[i].last_seen_ns = v[i].last_seen_ns;
				gi[i].records = v[i].records;
				if ((tmp[i] = col_rec_pb_new(v[i].latest, NULL, 0)) != NULL) {
					gi[i].n_latest = tmp[i]->n_metrics;
					gi[i].latest = (Gtpb__V1__GpuInfo__LatestEntry **)tmp[i]->metrics;
				}
				gp[i] = &gi[i];
			}
			out.n_gpus = n;
			out.gpus = gp;
			reply_pb(req, &out.base);
		} else {
			gt_http_error(req, 500, "out of memory");
		}
		for (i = 0; tmp && i < n; i++)
			free(tmp[i]);
		free(tmp);
		free(gi);
		free(gp);
	} else {
		gt_buf b;
		char   ts[40];

		gt_buf_init(&b);
		gt_buf_printf(&b, "{\"count\":%zu,\"gpus\":[", n);
		for (i = 0; i < n; i++) {
			int first = 1, f2 = 1;

			if (i)
				gt_buf_putc(&b, ',');
			gt_buf_putc(&b, '{');
			gt_json_key(&b, &first, "gpu_key");
			gt_json_cstr(&b, v[i].gpu_key);
			gt_json_key(&b, &first, "hostname");
			gt_json_cstr(&b, v[i].hostname);
			gt_json_key(&b, &first, "uuid");
			gt_json_cstr(&b, v[i].uuid);
			gt_json_key(&b, &first, "model");
			gt_json_cstr(&b, v[i].model);
			gt_json_key(&b, &first, "device");
			gt_json_cstr(&b, v[i].device);
			gt_json_key(&b, &first, "gpu_index");
			gt_json_int(&b, v[i].gpu_index);
			gt_json_key(&b, &first, "records");
			gt_json_uint(&b, v[i].records);
			gt_json_key(&b, &first, "last_seen");
			gt_rfc3339_format(v[i].last_seen_ns, 9, ts, sizeof(ts));
			gt_json_cstr(&b, ts);
			gt_json_key(&b, &first, "last_seen_ns");
			gt_json_int(&b, v[i].last_seen_ns);
			gt_json_key(&b, &first, "latest");
			gt_buf_putc(&b, '{');
			for (k = 0; v[i].latest && k < v[i].latest->nmetrics; k++) {
				gt_json_key(&b, &f2, v[i].latest->metrics[k].name);
				gt_json_dbl(&b, v[i].latest->metrics[k].value);
			}
			gt_buf_puts(&b, "}}");
		}
		gt_buf_puts(&b, "]}");
		gt_http_reply_json(req, 200, &b);
		gt_buf_fini(&b);
	}
	col_store_list_free(v, n);
}

/* ---- RPC ---- */

static void
r_list_gpus(Gtpb__V1__TelemetryService_Service *svc, const Gtpb__V1__ListGpusRequest *in,
    Gtpb__V1__ListGpusResponse_Closure closure, void *cd)
{
	col_server                 *s = svc_server(svc);
	Gtpb__V1__ListGpusResponse  out = GTPB__V1__LIST_GPUS_RESPONSE__INIT;
	col_gpu_info               *v = NULL;
	size_t                      n = 0, i;
	Gtpb__V1__GpuInfo          *gi;
	Gtpb__V1__GpuInfo         **gp;
	Gtpb__V1__TelemetryRecord **tmp;

	(void)in;
	if (col_store_list(s->store, &v, &n) != GT_OK) {
		gt_rpc_fail(cd, GT_RPC_INTERNAL, "out of memory");
		closure(NULL, cd);
		return;
	}
	gi = calloc(n ? n : 1, sizeof(*gi));
	gp = calloc(n ? n : 1, sizeof(*gp));
	tmp = calloc(n ? n : 1, sizeof(*tmp));
	if (gi && gp && tmp) {
		for (i = 0; i < n; i++) {
			gtpb__v1__gpu_info__init(&gi[i]);
			gi[i].gpu_key = v[i].gpu_key;
			gi[i].hostname = v[i].hostname;
			gi[i].uuid = v[i].uuid;
			gi[i].model = v[i].model;
			gi[i].device = v[i].device;
			gi[i].gpu_index = v[i].gpu_index;
			gi[i].last_seen_ns = v[i].last_seen_ns;
			gi[i].records = v[i].records;
			if ((tmp[i] = col_rec_pb_new(v[i].latest, NULL, 0)) != NULL) {
				gi[i].n_latest = tmp[i]->n_metrics;
				gi[i].latest = (Gtpb__V1__GpuInfo__LatestEntry **)tmp[i]->metrics;
			}
			gp[i] = &gi[i];
		}
		out.n_gpus = n;
		out.gpus = gp;
		closure(&out, cd);
	} else {
		gt_rpc_fail(cd, GT_RPC_INTERNAL, "out of memory");
		closure(NULL, cd);
	}
	for (i = 0; tmp && i < n; i++)
		free(tmp[i]);
	free(tmp);
	free(gi);
	free(gp);
	col_store_list_free(v, n);
}

static void
r_get_telemetry(Gtpb__V1__TelemetryService_Service *svc, const Gtpb__V1__GetTelemetryRequest *in,
    Gtpb__V1__GetTelemetryResponse_Closure closure, void *cd)
{
	col_server                    *s = svc_server(svc);
	Gtpb__V1__GetTelemetryResponse out = GTPB__V1__GET_TELEMETRY_RESPONSE__INIT;
	col_query                      q;
	col_result                     res;
	size_t                         i;
	gt_err                         rv;

	col_query_init(&q);
	q.gpu = in->gpu;
	q.limit = in->limit > COL_QUERY_MAX_LIMIT ? COL_QUERY_MAX_LIMIT : in->limit;
	q.reverse = in->reverse;
	if (in->since_ns)
		q.since = in->since_ns;
	if (in->until_ns)
		q.until = in->until_ns;
	if (in->n_metrics > COL_QUERY_MAX_METRICS) {
		gt_rpc_fail(cd, GT_RPC_INVALID_ARGUMENT, "at most %d metrics", COL_QUERY_MAX_METRICS);
		closure(NULL, cd);
		return;
	}
	for (i = 0; i < in->n_metrics; i++)
		q.metrics[q.nmetrics++] = in->metrics[i];
	if (q.gpu == NULL || *q.gpu == '\0') {
		gt_rpc_fail(cd, GT_RPC_INVALID_ARGUMENT, "gpu is required");
		closure(NULL, cd);
		return;
	}
	if (!col_store_has(s->store, q.gpu)) {
		gt_rpc_fail(cd, GT_RPC_NOT_FOUND, "no such gpu: %s", q.gpu);
		closure(NULL, cd);
		return;
	}
	if ((rv = col_query_run(s->store, s->cache, &q, &res)) != GT_OK) {
		gt_rpc_fail(cd, rv == GT_ENOENT ? GT_RPC_NOT_FOUND : GT_RPC_INTERNAL, "query failed: %s",
		    gt_strerror(rv));
		closure(NULL, cd);
		return;
	}
	out.records = calloc(res.n ? res.n : 1, sizeof(*out.records));
	for (i = 0; out.records && i < res.n; i++) {
		if ((out.records[i] = col_rec_pb_new(res.recs[i], q.metrics, q.nmetrics)) == NULL)
			break;
		out.n_records++;
	}
	if (out.records == NULL || out.n_records < res.n) {
		gt_rpc_fail(cd, GT_RPC_INTERNAL, "out of memory");
		closure(NULL, cd);
	} else {
		out.truncated = res.truncated;
		closure(&out, cd);
	}
	for (i = 0; i < out.n_records; i++)
		free(out.records[i]);
	free(out.records);
	col_result_fini(&res);
}

static void
r_aggregate(Gtpb__V1__TelemetryService_Service *svc, const Gtpb__V1__AggregateRequest *in,
    Gtpb__V1__AggregateResponse_Closure closure, void *cd)
{
	col_server                  *s = svc_server(svc);
	Gtpb__V1__AggregateResponse  out = GTPB__V1__AGGREGATE_RESPONSE__INIT;
	col_agg_point               *pts = NULL;
	Gtpb__V1__AggregatePoint    *pv = NULL, **pp = NULL;
	size_t                       n = 0, i;
	int64_t                      until = in->until_ns ? in->until_ns : gt_now_ns();
	int64_t                      since = in->since_ns ? in->since_ns : until - 3600 * GT_NS_PER_S;
	int64_t                      step = in->step_ns ? in->step_ns : (until - since) / 60 + 1;
	gt_err                       rv;

	if (in->gpu == NULL || *in->gpu == '\0' || in->metric == NULL || *in->metric == '\0') {
		gt_rpc_fail(cd, GT_RPC_INVALID_ARGUMENT, "gpu and metric are required");
		closure(NULL, cd);
		return;
	}
	if (step <= 0 || since > until) {
		gt_rpc_fail(cd, GT_RPC_INVALID_ARGUMENT, "need since <= until and step_ns > 0");
		closure(NULL, cd);
		return;
	}
	if (!col_store_has(s->store, in->gpu)) {
		gt_rpc_fail(cd, GT_RPC_NOT_FOUND, "no such gpu: %s", in->gpu);
		closure(NULL, cd);
		return;
	}
	rv = col_query_aggregate(s->store, s->cache, in->gpu, in->metric, since, until, step, &pts, &n);
	if (rv != GT_OK) {
		gt_rpc_fail(cd, rv == GT_EINVAL ? GT_RPC_INVALID_ARGUMENT : GT_RPC_INTERNAL,
		    "aggregate: %s", rv == GT_EINVAL ? "too many steps" : gt_strerror(rv));
		closure(NULL, cd);
		return;
	}
	pv = calloc(n ? n : 1, sizeof(*pv));
	pp = calloc(n ? n : 1, sizeof(*pp));
	if (pv == NULL || pp == NULL) {
		gt_rpc_fail(cd, GT_RPC_INTERNAL, "out of memory");
		closure(NULL, cd);
	} else {
		for (i = 0; i < n; i++) {
			gtpb__v1__aggregate_point__init(&pv[i]);
			pv[i].t_ns = pts[i].t_ns;
			pv[i].min = pts[i].min;
			pv[i].avg = pts[i].avg;
			pv[i].max = pts[i].max;
			pv[i].last = pts[i].last;
			pv[i].count = pts[i].count;
			pp[i] = &pv[i];
		}
		out.n_points = n;
		out.points = pp;
		closure(&out, cd);
	}
	free(pv);
	free(pp);
	free(pts);
}

static void
r_stats(Gtpb__V1__TelemetryService_Service *svc, const Gtpb__V1__StatsRequest *in,
    Gtpb__V1__StatsResponse_Closure closure, void *cd)
{
	Gtpb__V1__StatsResponse out = GTPB__V1__STATS_RESPONSE__INIT;
	gt_buf                  b;

	(void)in;
	gt_buf_init(&b);
	stats_json(svc_server(svc), &b);
	out.json = b.data ? b.data : "";
	closure(&out, cd);
	gt_buf_fini(&b);
}

static void
r_health(Gtpb__V1__TelemetryService_Service *svc, const Gtpb__V1__HealthRequest *in,
    Gtpb__V1__HealthResponse_Closure closure, void *cd)
{
	col_server              *s = svc_server(svc);
	Gtpb__V1__HealthResponse out = GTPB__V1__HEALTH_RESPONSE__INIT;
	col_consumer_stats       st;

	(void)in;
	col_consumer_stats_get(s->consumer, &st);
	out.status = st.connected ? "ok" : "degraded";
	out.service = "collector";
	out.version = COL_VERSION;
	out.uptime_ns = gt_mono_ns() - s->start_mono;
	closure(&out, cd);
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
	s->svc = (Gtpb__V1__TelemetryService_Service)GTPB__V1__TELEMETRY_SERVICE__INIT(r_);
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
			    GT_KV_UINT("intervals", col_ckpt_intervals(s->ckpt)), GT_KV_UINT("files", nfiles));
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
		{
			col_store_stats fs;
			col_cache_stats cs;

			col_store_stats_get(s->store, &fs);
			col_cache_stats_get(s->cache, &cs);
			GT_LOGI("recovery.done", GT_KV_UINT("gpus", fs.gpus), GT_KV_UINT("lines", fs.lines),
			    GT_KV_UINT("cache_entries", cs.entries), GT_KV_UINT("repaired_files", fs.repaired_files),
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
	s->m_pub = gt_metrics_counter(s->metrics, "pub_messages_total", NULL, "live feed messages sent");
	s->m_pub_drop = gt_metrics_counter(s->metrics, "pub_dropped_total", NULL, "live feed messages not sent");
	s->m_query = gt_metrics_hist(s->metrics, "query_seconds", NULL, "GET /telemetry latency");
	gt_metrics_gauge_fn(s->metrics, "cache_entries", NULL, "records in the memory cache", g_cache_entries, s->cache);
	gt_metrics_gauge_fn(s->metrics, "cache_bytes", NULL, "bytes in the memory cache", g_cache_bytes, s->cache);
	gt_metrics_gauge_fn(s->metrics, "cache_hit_ratio", NULL, "queries answered from the cache", g_cache_hit_rate, s->cache);
	gt_metrics_gauge_fn(s->metrics, "gpus", NULL, "GPUs with files", g_gpus, s->store);
	gt_metrics_gauge_fn(s->metrics, "file_entries", NULL, "records in the files", g_lines, s->store);
	*out = s;
	return GT_OK;
fail:
	col_server_free(s);
	return rv;
}

/* "tcp://0.0.0.0:0" + port -> "tcp://127.0.0.1:<port>" (a URL a local client can dial). */
static void
url_with_port(const char *url, int port, char *buf, size_t len)
{
	const char *host = strstr(url, "://"), *colon;

	if (port <= 0 || host == NULL || strncmp(url, "tcp", 3) != 0) {
		snprintf(buf, len, "%s", url);
		return;
	}
	host += 3;
	colon = strrchr(host, ':');
	if (colon == NULL)
		colon = host + strlen(host);
	if ((colon - host == 7 && strncmp(host, "0.0.0.0", 7) == 0) || colon == host ||
	    (colon - host == 1 && *host == '*'))
		snprintf(buf, len, "%.*s127.0.0.1:%d", (int)(host - url), url, port);
	else
		snprintf(buf, len, "%.*s:%d", (int)(colon - url), url, port);
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
			GT_LOGE("pub.listen_failed", GT_KV_STR("url", cfg->pub_url), GT_KV_STR("error", nng_strerror(nrv)));
			return gt_err_from_nng(nrv);
		}
		if (strncmp(cfg->pub_url, "tcp", 3) == 0)
			nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port);
		url_with_port(cfg->pub_url, port, s->pub_url, sizeof(s->pub_url));
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
	url_with_port(cfg->rpc_url, gt_rpc_server_port(s->rpc), s->rpc_url, sizeof(s->rpc_url));
	/* HTTP */
	hcfg.service = "collector";
	hcfg.bind = cfg->bind;
	hcfg.port = (int)cfg->api_port;
	hcfg.workers = (int)cfg->http_workers;
	hcfg.token = cfg->token && *cfg->token ? cfg->token : NULL;
	if ((rv = gt_http_new(&s->http, &hcfg)) != GT_OK ||
	    (rv = gt_http_route(s->http, "GET", "/health", h_health, s, 0)) != GT_OK ||
	    (rv = gt_http_route(s->http, "GET", "/stats", h_stats, s, 0)) != GT_OK ||
	    (rv = gt_http_route(s->http, "GET", "/metrics", h_metrics, s, 0)) != GT_OK ||
	    (rv = gt_http_route(s->http, "GET", "/telemetry/{gpu}", h_telemetry, s, GT_HTTP_WORKER)) != GT_OK ||
	    (rv = gt_http_route(s->http, "GET", "/telemetry/{host}/{index}", h_telemetry, s, GT_HTTP_WORKER)) != GT_OK ||
	    (rv = gt_http_route(s->http, "GET", "/telemetry", h_telemetry, s, GT_HTTP_WORKER)) != GT_OK ||
	    (rv = gt_http_route(s->http, "GET", "/gpus", h_gpus, s, GT_HTTP_WORKER)) != GT_OK ||
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
	if (s->pub_bufs) {
		col_map_each(s->pub_bufs, pub_buf_free, NULL);
		col_map_free(s->pub_bufs);
	}
	gt_metrics_free(s->metrics);
	free(s->consumer_name);
	free(s->ckpt_path);
	free(s);
}
