/* gw_live.c - the live side: the collectors' PUB feeds (nng SUB, aio receive loop, one
 * TelemetryBatch per message), the latest-values table they keep up to date (for /metrics,
 * /health and staleness), and the WebSocket fan-out.
 *
 * Fan-out: clients with the same metric filter share one "filter" slot; each record is
 * encoded once per active filter and broadcast with topic "<slot>\x1f<gpu key>"; the want()
 * filter (lws thread) passes it to the clients of that slot subscribed to that GPU. A slow
 * client's queue is bounded in bytes by gt_http (--ws-queue-bytes): it loses the oldest
 * frames and is told {"type":"dropped","count":N}. */
#include <inttypes.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_gpu_metrics.h"
#include "gt/gt_hash.h"
#include "gt/gt_json.h"
#include "gt/gt_log.h"
#include "gt/gt_record.h"
#include "gt/gt_time.h"
#include "gtpb/v1/telemetry.pb-c.h"
#include "gw_int.h"
#include "gw_param.h"

#define LIVE_BUCKETS 4096
#define LIVE_FILTERS 64

typedef struct lkv {
	char  *k;
	char  *s; /* labels */
	double v; /* metrics */
} lkv;

typedef struct lgpu {
	struct lgpu *next;
	uint64_t     hash;
	char        *key, *hostname, *uuid, *model, *device;
	int32_t      index;
	int64_t      last_seen_ns, rx_ns;
	uint64_t     records;
	lkv         *m, *l;
	size_t       nm, nl, capm;
} lgpu;

typedef struct lsub {
	gw_live   *l;
	nng_socket sock;
	nng_aio   *aio;
	int        open;
	char      *url;
} lsub;

typedef struct lfilter {
	int    refs;
	char   names[GW_MAX_NAMES][GW_NAME_MAX + 1];
	size_t n;
} lfilter;

typedef struct wclient {
	uint64_t id;
	int      subscribed, all, fid;
	char   **gpus; /* sorted */
	size_t   ngpus;
} wclient;

struct gw_live {
	gw             *g;
	pthread_mutex_t mu; /* the table */
	lgpu           *b[LIVE_BUCKETS];
	size_t          ngpus;
	int64_t         last_rx_ns;
	lsub           *subs;
	size_t          nsubs;
	pthread_mutex_t fmu; /* filters */
	lfilter         f[LIVE_FILTERS];
	size_t          nclients; /* lws thread */
	atomic_uint_fast64_t records_in, frames_sent, decode_errors;
	atomic_int      stopping;
};

/* ---- the table ---- */

static char *
xstrdup(const char *s)
{
	return strdup(s ? s : "");
}

static void
set_str(char **dst, const char *src)
{
	char *n;

	if (src == NULL)
		src = "";
	if (*dst != NULL && strcmp(*dst, src) == 0)
		return;
	if ((n = strdup(src)) != NULL) {
		free(*dst);
		*dst = n;
	}
}

static void
lgpu_free(lgpu *x)
{
	size_t i;

	for (i = 0; i < x->nm; i++)
		free(x->m[i].k);
	for (i = 0; i < x->nl; i++) {
		free(x->l[i].k);
		free(x->l[i].s);
	}
	free(x->m);
	free(x->l);
	free(x->key);
	free(x->hostname);
	free(x->uuid);
	free(x->model);
	free(x->device);
	free(x);
}

/* Under mu. */
static lgpu *
lgpu_get(gw_live *l, const char *key, int create)
{
	uint64_t h = gt_hash64(key, strlen(key));
	lgpu    *x;

	for (x = l->b[h % LIVE_BUCKETS]; x != NULL; x = x->next)
		if (x->hash == h && strcmp(x->key, key) == 0)
			return x;
	if (!create || (x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	if ((x->key = xstrdup(key)) == NULL) {
		free(x);
		return NULL;
	}
	x->hash = h;
	x->next = l->b[h % LIVE_BUCKETS];
	l->b[h % LIVE_BUCKETS] = x;
	l->ngpus++;
	return x;
}

static void
lgpu_metric(lgpu *x, const char *name, double v)
{
	size_t i;

	for (i = 0; i < x->nm; i++)
		if (strcmp(x->m[i].k, name) == 0) {
			x->m[i].v = v;
			return;
		}
	if (x->nm == x->capm) {
		size_t cap = x->capm ? x->capm * 2 : 16;
		lkv   *m = realloc(x->m, cap * sizeof(*m));

		if (m == NULL)
			return;
		x->m = m;
		x->capm = cap;
	}
	if ((x->m[x->nm].k = strdup(name)) == NULL)
		return;
	x->m[x->nm++].v = v;
}

/* Replaces the labels when they differ. */
static void
lgpu_labels(lgpu *x, char *const *keys, char *const *vals, size_t n)
{
	size_t i;
	lkv   *l;

	if (n == x->nl) {
		for (i = 0; i < n; i++)
			if (strcmp(x->l[i].k, keys[i]) != 0 || strcmp(x->l[i].s, vals[i]) != 0)
				break;
		if (i == n)
			return;
	}
	if ((l = calloc(n ? n : 1, sizeof(*l))) == NULL)
		return;
	for (i = 0; i < n; i++) {
		l[i].k = xstrdup(keys[i]);
		l[i].s = xstrdup(vals[i]);
	}
	for (i = 0; i < x->nl; i++) {
		free(x->l[i].k);
		free(x->l[i].s);
	}
	free(x->l);
	x->l = l;
	x->nl = n;
}

static void
table_record(gw_live *l, const Gtpb__V1__TelemetryRecord *r, int64_t now)
{
	lgpu  *x;
	size_t i;
	char  *lk[64], *lv[64];

	pthread_mutex_lock(&l->mu);
	if ((x = lgpu_get(l, r->gpu_key, 1)) != NULL) {
		set_str(&x->hostname, r->hostname);
		set_str(&x->uuid, r->uuid);
		set_str(&x->model, r->model);
		set_str(&x->device, r->device);
		x->index = r->gpu_index;
		if (r->timestamp_ns > x->last_seen_ns)
			x->last_seen_ns = r->timestamp_ns;
		x->rx_ns = now;
		x->records++;
		for (i = 0; i < r->n_metrics; i++)
			lgpu_metric(x, r->metrics[i]->key, r->metrics[i]->value);
		for (i = 0; i < r->n_labels && i < 64; i++) {
			lk[i] = r->labels[i]->key;
			lv[i] = r->labels[i]->value;
		}
		lgpu_labels(x, lk, lv, i);
	}
	l->last_rx_ns = now;
	pthread_mutex_unlock(&l->mu);
}

void
gw_live_seed(gw_live *l, const Gtpb__V1__ListGpusResponse *r)
{
	size_t i, k;
	char  *lk[64], *lv[64];

	pthread_mutex_lock(&l->mu);
	for (i = 0; i < r->n_gpus; i++) {
		const Gtpb__V1__GpuInfo *gi = r->gpus[i];
		lgpu                    *x;

		if (lgpu_get(l, gi->gpu_key, 0) != NULL || (x = lgpu_get(l, gi->gpu_key, 1)) == NULL)
			continue;
		set_str(&x->hostname, gi->hostname);
		set_str(&x->uuid, gi->uuid);
		set_str(&x->model, gi->model);
		set_str(&x->device, gi->device);
		x->index = gi->gpu_index;
		x->last_seen_ns = gi->last_seen_ns;
		x->records = gi->records;
		for (k = 0; k < gi->n_latest; k++)
			lgpu_metric(x, gi->latest[k]->key, gi->latest[k]->value);
		for (k = 0; k < gi->n_labels && k < 64; k++) {
			lk[k] = gi->labels[k]->key;
			lv[k] = gi->labels[k]->value;
		}
		lgpu_labels(x, lk, lv, k);
	}
	pthread_mutex_unlock(&l->mu);
}

static int
is_stale(const gw_live *l, const lgpu *x, int64_t now)
{
	int64_t last = x->rx_ns > x->last_seen_ns ? x->rx_ns : x->last_seen_ns;

	return last < now - l->g->cfg->stale_after;
}

int64_t
gw_live_last_rx(gw_live *l, const char *key)
{
	lgpu   *x;
	int64_t v = 0;

	pthread_mutex_lock(&l->mu);
	if ((x = lgpu_get(l, key, 0)) != NULL)
		v = x->rx_ns;
	pthread_mutex_unlock(&l->mu);
	return v;
}

void
gw_live_stats_get(gw_live *l, gw_live_stats *st)
{
	int64_t now = gt_now_ns();
	size_t  i;

	memset(st, 0, sizeof(*st));
	st->records_in = atomic_load(&l->records_in);
	st->frames_sent = atomic_load(&l->frames_sent);
	st->decode_errors = atomic_load(&l->decode_errors);
	st->frames_dropped = gt_http_ws_dropped(l->g->http);
	st->clients = gt_http_ws_clients(l->g->http);
	pthread_mutex_lock(&l->mu);
	st->gpus = l->ngpus;
	st->last_rx_ns = l->last_rx_ns;
	for (i = 0; i < LIVE_BUCKETS; i++)
		for (lgpu *x = l->b[i]; x != NULL; x = x->next)
			st->stale += (size_t)is_stale(l, x, now);
	pthread_mutex_unlock(&l->mu);
}

/* ---- Prometheus ---- */

static void
prom_value(gt_buf *b, const char *s)
{
	gt_buf_putc(b, '"');
	for (; s && *s; s++) {
		if (*s == '\\')
			gt_buf_puts(b, "\\\\");
		else if (*s == '"')
			gt_buf_puts(b, "\\\"");
		else if (*s == '\n')
			gt_buf_puts(b, "\\n");
		else
			gt_buf_putc(b, *s);
	}
	gt_buf_putc(b, '"');
}

static const char *
lgpu_label(const lgpu *x, const char *k)
{
	size_t i;

	for (i = 0; i < x->nl; i++)
		if (strcmp(x->l[i].k, k) == 0)
			return x->l[i].s;
	return NULL;
}

/* Value of a dcgm-exporter label for x, or NULL. */
static const char *
std_label(const lgpu *x, const char *name, char *tmp, size_t cap)
{
	if (strcmp(name, "gpu") == 0) {
		snprintf(tmp, cap, "%d", x->index);
		return tmp;
	}
	if (strcmp(name, "UUID") == 0)
		return x->uuid;
	if (strcmp(name, "device") == 0)
		return x->device;
	if (strcmp(name, "modelName") == 0)
		return x->model;
	if (strcmp(name, "Hostname") == 0)
		return x->hostname;
	return lgpu_label(x, name);
}

static int
prom_name_ok(const char *s)
{
	size_t i;

	if (s == NULL || *s == '\0' || (s[0] == '_' && s[1] == '_'))
		return 0;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' ||
		      (i > 0 && s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

static void
prom_labels(gw_live *l, gt_buf *b, const lgpu *x)
{
	char   tmp[32];
	size_t i;
	int    first = 1;

	gt_buf_putc(b, '{');
	for (i = 0; i < l->g->nmlabels; i++) {
		const char *v = std_label(x, l->g->mlabels[i], tmp, sizeof(tmp));

		if (v == NULL || !prom_name_ok(l->g->mlabels[i]))
			continue;
		if (!first)
			gt_buf_putc(b, ',');
		first = 0;
		gt_buf_puts(b, l->g->mlabels[i]);
		gt_buf_putc(b, '=');
		prom_value(b, v);
	}
	gt_buf_putc(b, '}');
}

gt_err
gw_live_prometheus(gw_live *l, gt_buf *b)
{
	const gt_gpu_metric *tab;
	size_t               ntab, t, i, k;
	int64_t              now = gt_now_ns();
	char                 num[GT_JSON_DBL_MAX];

	tab = gt_gpu_metric_table(&ntab);
	pthread_mutex_lock(&l->mu);
	for (t = 0; t < ntab; t++) {
		int header = 0;

		for (i = 0; i < LIVE_BUCKETS; i++)
			for (lgpu *x = l->b[i]; x != NULL; x = x->next) {
				if (is_stale(l, x, now))
					continue;
				for (k = 0; k < x->nm; k++)
					if (strcmp(x->m[k].k, tab[t].canonical) == 0)
						break;
				if (k == x->nm)
					continue;
				if (!header) {
					gt_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", tab[t].dcgm,
					              tab[t].help, tab[t].dcgm);
					header = 1;
				}
				gt_buf_puts(b, tab[t].dcgm);
				prom_labels(l, b, x);
				gt_json_dbl_fmt(num, x->m[k].v);
				gt_buf_printf(b, " %s\n", strcmp(num, "null") == 0 ? "NaN" : num);
			}
	}
	gt_buf_puts(b, "# HELP gt_gpu_info Static facts of a GPU (value 1): model, driver, serial "
	               "and the record labels.\n# TYPE gt_gpu_info gauge\n");
	for (i = 0; i < LIVE_BUCKETS; i++)
		for (lgpu *x = l->b[i]; x != NULL; x = x->next) {
			char tmp[32];

			if (is_stale(l, x, now))
				continue;
			snprintf(tmp, sizeof(tmp), "%d", x->index);
			gt_buf_puts(b, "gt_gpu_info{gpu=");
			prom_value(b, tmp);
			gt_buf_puts(b, ",UUID=");
			prom_value(b, x->uuid);
			gt_buf_puts(b, ",device=");
			prom_value(b, x->device);
			gt_buf_puts(b, ",modelName=");
			prom_value(b, x->model);
			gt_buf_puts(b, ",Hostname=");
			prom_value(b, x->hostname);
			gt_buf_puts(b, ",gpu_key=");
			prom_value(b, x->key);
			for (k = 0; k < x->nl; k++) {
				if (!prom_name_ok(x->l[k].k) || !strcmp(x->l[k].k, "gpu") ||
				    !strcmp(x->l[k].k, "UUID") || !strcmp(x->l[k].k, "device") ||
				    !strcmp(x->l[k].k, "modelName") || !strcmp(x->l[k].k, "Hostname") ||
				    !strcmp(x->l[k].k, "gpu_key"))
					continue;
				gt_buf_printf(b, ",%s=", x->l[k].k);
				prom_value(b, x->l[k].s);
			}
			gt_buf_puts(b, "} 1\n");
		}
	pthread_mutex_unlock(&l->mu);
	return GT_OK;
}

/* ---- WebSocket ---- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
client_gpus_free(wclient *c)
{
	size_t i;

	for (i = 0; i < c->ngpus; i++)
		free(c->gpus[i]);
	free(c->gpus);
	c->gpus = NULL;
	c->ngpus = 0;
}

/* Under fmu: the slot for this metric filter (names sorted), or -1 when all are taken. */
static int
filter_acquire(gw_live *l, char names[][GW_NAME_MAX + 1], size_t n)
{
	size_t i, k;
	int    freeslot = -1;

	qsort(names, n, GW_NAME_MAX + 1, (int (*)(const void *, const void *))strcmp);
	for (i = 0; i < LIVE_FILTERS; i++) {
		lfilter *f = &l->f[i];

		if (f->refs == 0) {
			if (freeslot < 0)
				freeslot = (int)i;
			continue;
		}
		if (f->n != n)
			continue;
		for (k = 0; k < n && strcmp(f->names[k], names[k]) == 0; k++)
			;
		if (k == n) {
			f->refs++;
			return (int)i;
		}
	}
	if (freeslot < 0)
		return -1;
	l->f[freeslot].refs = 1;
	l->f[freeslot].n = n;
	memcpy(l->f[freeslot].names, names, n * (GW_NAME_MAX + 1));
	return freeslot;
}

static void *
ws_open(uint64_t id, void *arg)
{
	gw_live *l = arg;
	wclient *c = calloc(1, sizeof(*c));
	char     hello[160];
	int      n;

	if (c == NULL)
		return NULL;
	c->id = id;
	c->fid = -1;
	l->nclients++;
	n = snprintf(hello, sizeof(hello),
	             "{\"type\":\"hello\",\"version\":\"" GT_VERSION "\",\"heartbeat_ms\":%" PRId64
	             "}",
	             l->g->cfg->ws_heartbeat / GT_NS_PER_MS);
	gt_http_ws_send(l->g->http, id, hello, (size_t)n);
	gw_alerts_ws_open(l->g->alerts, id);
	return c;
}

static void
ws_close(uint64_t id, void *user, void *arg)
{
	gw_live *l = arg;
	wclient *c = user;

	(void)id;
	l->nclients--;
	if (c == NULL)
		return;
	if (c->fid >= 0) {
		pthread_mutex_lock(&l->fmu);
		l->f[c->fid].refs--;
		pthread_mutex_unlock(&l->fmu);
	}
	client_gpus_free(c);
	free(c);
}

static void
ws_send_error(gw_live *l, uint64_t id, const char *msg)
{
	gt_buf b;

	gt_buf_init(&b);
	gt_buf_puts(&b, "{\"type\":\"error\",\"message\":");
	gt_json_cstr(&b, msg);
	gt_buf_putc(&b, '}');
	gt_http_ws_send(l->g->http, id, b.data, b.len);
	gt_buf_fini(&b);
}

static void
ws_message(uint64_t id, void *user, const void *data, size_t len, void *arg)
{
	gw_live  *l = arg;
	wclient  *c = user;
	gw_ws_msg m;
	char      err[160];

	if (c == NULL)
		return;
	if (gw_ws_msg_parse(data, len, &m, err, sizeof(err)) != GT_OK) {
		ws_send_error(l, id, err);
		return;
	}
	if (m.type == GW_WS_PING) {
		gt_buf b;

		gt_buf_init(&b);
		gt_buf_printf(&b, "{\"type\":\"pong\",\"ping\":%s}", m.ping);
		gt_http_ws_send(l->g->http, id, b.data, b.len);
		gt_buf_fini(&b);
	} else {
		int fid;

		pthread_mutex_lock(&l->fmu);
		fid = filter_acquire(l, m.metrics, m.nmetrics);
		if (fid >= 0 && c->fid >= 0)
			l->f[c->fid].refs--;
		pthread_mutex_unlock(&l->fmu);
		if (fid < 0) {
			ws_send_error(l, id, "too many distinct metric filters in use; subscribe to "
			                     "all metrics or a common set");
		} else {
			client_gpus_free(c);
			c->fid = fid;
			c->all = m.all_gpus;
			c->gpus = m.gpus;
			c->ngpus = m.ngpus;
			m.gpus = NULL;
			m.ngpus = 0;
			qsort(c->gpus, c->ngpus, sizeof(char *), cmp_str);
			c->subscribed = 1;
		}
	}
	gw_ws_msg_fini(&m);
}

static int
ws_want(void *user, const char *topic, void *arg)
{
	gw_live    *l = arg;
	wclient    *c = user;
	const char *sep;
	long        fid;
	char       *end;

	if (c == NULL || !c->subscribed || (sep = strchr(topic, '\x1f')) == NULL)
		return 0;
	fid = strtol(topic, &end, 10);
	if (end != sep || fid != c->fid)
		return 0;
	sep++;
	if (!c->all && bsearch(&sep, c->gpus, c->ngpus, sizeof(char *), cmp_str) == NULL)
		return 0;
	atomic_fetch_add(&l->frames_sent, 1);
	return 1;
}

static size_t
ws_dropped(void *user, uint64_t n, char *buf, size_t cap, void *arg)
{
	int w;

	(void)user;
	(void)arg;
	w = snprintf(buf, cap, "{\"type\":\"dropped\",\"count\":%" PRIu64 "}", n);
	return w > 0 && (size_t)w < cap ? (size_t)w : 0;
}

gt_err
gw_live_ws_register(gw_live *l)
{
	static const gt_ws_ops ops = {
	    .open = ws_open,
	    .message = ws_message,
	    .close = ws_close,
	    .want = ws_want,
	    .dropped = ws_dropped,
	};

	return gt_http_ws(l->g->http, "/ws", &ops, l);
}

void
gw_live_heartbeat(gw_live *l)
{
	char b[96];
	int  n = snprintf(b, sizeof(b), "{\"type\":\"heartbeat\",\"timestamp_ns\":%" PRId64 "}",
	                  gt_now_ns());

	gt_http_ws_broadcast(l->g->http, NULL, b, (size_t)n);
}

/* Encodes r once per active metric filter and broadcasts it. */
static void
fan_out(gw_live *l, const Gtpb__V1__TelemetryRecord *r, gt_buf *b)
{
	size_t      i, k;
	char        topic[600];
	const char *nm[GW_MAX_NAMES];

	if (strlen(r->gpu_key) > 512)
		return;
	pthread_mutex_lock(&l->fmu);
	for (i = 0; i < LIVE_FILTERS; i++) {
		lfilter *f = &l->f[i];
		size_t   w;

		if (f->refs == 0)
			continue;
		for (k = 0; k < f->n; k++)
			nm[k] = f->names[k];
		gt_buf_reset(b);
		w = gw_record_json(b, r, nm, f->n, "record");
		if (f->n > 0 && w == 0)
			continue;
		snprintf(topic, sizeof(topic), "%zu\x1f%s", i, r->gpu_key);
		gt_http_ws_broadcast(l->g->http, topic, b->data, b->len);
	}
	pthread_mutex_unlock(&l->fmu);
}

/* ---- the SUB feeds ---- */

static void
batch_free(Gtpb__V1__TelemetryRecord **recs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(recs[i]); /* gt_record_pb_new_wire: one allocation each */
	free(recs);
}

/* The records of a packed TelemetryBatch, through the common record codec; all or none, as
 * protobuf-c's unpack of the batch: GT_EPROTO (or GT_ENOMEM) and nothing to free when any
 * record is malformed. */
static gt_err
batch_decode(const uint8_t *p, size_t len, Gtpb__V1__TelemetryRecord ***out, size_t *nout)
{
	const uint8_t              *end = p + len, *rec;
	Gtpb__V1__TelemetryRecord **v = NULL, **nv;
	size_t                      n = 0, cap = 0, rl;
	gt_err                      rv;

	while ((rv = gt_record_batch_next(&p, end, &rec, &rl)) == GT_OK) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				rv = GT_ENOMEM;
				goto fail;
			}
			v = nv;
		}
		if ((v[n] = gt_record_pb_new_wire(rec, rl, &rv)) == NULL)
			goto fail;
		n++;
	}
	if (rv != GT_ENOENT)
		goto fail;
	*out = v;
	*nout = n;
	return GT_OK;
fail:
	batch_free(v, n);
	return rv;
}

static void
sub_cb(void *arg)
{
	lsub    *s = arg;
	gw_live *l = s->l;
	int      rv = nng_aio_result(s->aio);
	nng_msg *m;

	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED || atomic_load(&l->stopping))
		return;
	if (rv == 0) {
		const char                 *body;
		size_t                      len, kl, n = 0;
		Gtpb__V1__TelemetryRecord **recs = NULL;

		m = nng_aio_get_msg(s->aio);
		body = nng_msg_body(m);
		len = nng_msg_len(m);
		kl = strnlen(body, len);
		if (kl < len && batch_decode((const uint8_t *)body + kl + 1, len - kl - 1, &recs,
		                             &n) == GT_OK) {
			int64_t now = gt_now_ns();
			gt_buf  b;
			size_t  i;

			gt_buf_init(&b);
			for (i = 0; i < n; i++) {
				table_record(l, recs[i], now);
				gw_alerts_record(l->g->alerts, recs[i], now);
				fan_out(l, recs[i], &b);
			}
			gt_buf_fini(&b);
			atomic_fetch_add(&l->records_in, n);
			batch_free(recs, n);
		} else {
			atomic_fetch_add(&l->decode_errors, 1);
		}
		nng_msg_free(m);
	}
	nng_recv_aio(s->sock, s->aio);
}

gt_err
gw_live_new(gw_live **out, gw *g)
{
	gw_live *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return GT_ENOMEM;
	l->g = g;
	pthread_mutex_init(&l->mu, NULL);
	pthread_mutex_init(&l->fmu, NULL);
	*out = l;
	return GT_OK;
}

gt_err
gw_live_start(gw_live *l)
{
	size_t i;
	int    rv;

	if ((l->subs = calloc(l->g->nlive ? l->g->nlive : 1, sizeof(*l->subs))) == NULL)
		return GT_ENOMEM;
	for (i = 0; i < l->g->nlive; i++) {
		lsub *s = &l->subs[i];

		s->l = l;
		s->url = l->g->live_urls[i];
		if ((rv = nng_sub0_open(&s->sock)) != 0)
			return gt_err_from_nng(rv);
		s->open = 1;
		l->nsubs++;
		nng_socket_set(s->sock, NNG_OPT_SUB_SUBSCRIBE, "", 0);
		nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, 64u << 20);
		nng_socket_set_ms(s->sock, NNG_OPT_RECONNMINT, 100);
		nng_socket_set_ms(s->sock, NNG_OPT_RECONNMAXT, 1000);
		nng_socket_set_int(s->sock, NNG_OPT_RECVBUF, 1024);
		if ((rv = nng_aio_alloc(&s->aio, sub_cb, s)) != 0)
			return gt_err_from_nng(rv);
		if ((rv = nng_dial(s->sock, s->url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
			GT_LOGE("live.dial_failed", GT_KV_STR("url", s->url),
			        GT_KV_STR("error", nng_strerror(rv)));
			return gt_err_from_nng(rv);
		}
		nng_recv_aio(s->sock, s->aio);
	}
	return GT_OK;
}

void
gw_live_stop(gw_live *l)
{
	size_t i;

	if (l == NULL)
		return;
	atomic_store(&l->stopping, 1);
	for (i = 0; i < l->nsubs; i++)
		if (l->subs[i].aio != NULL)
			nng_aio_stop(l->subs[i].aio);
	for (i = 0; i < l->nsubs; i++)
		if (l->subs[i].open) {
			nng_close(l->subs[i].sock);
			l->subs[i].open = 0;
		}
}

void
gw_live_free(gw_live *l)
{
	size_t i;

	if (l == NULL)
		return;
	gw_live_stop(l);
	for (i = 0; i < l->nsubs; i++)
		nng_aio_free(l->subs[i].aio);
	free(l->subs);
	for (i = 0; i < LIVE_BUCKETS; i++) {
		lgpu *x = l->b[i], *next;

		for (; x != NULL; x = next) {
			next = x->next;
			lgpu_free(x);
		}
	}
	pthread_mutex_destroy(&l->mu);
	pthread_mutex_destroy(&l->fmu);
	free(l);
}
