/* stm_scrape.c - dcgm-exporter scrape source (see stm_scrape.h).
 *
 * Per scrape: the body is fetched into a reused buffer, parsed by stm_prom, and every DCGM_FI_*
 * sample is filed under its GPU (gpu table with per-GPU chains of metrics and labels, all
 * pointing into the body or into one arena); then each GPU becomes one record through the
 * target's stm_reader record builder.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_gpu_metrics.h"
#include "gt/gt_json.h"
#include "gt/gt_log.h"
#include "gt/gt_time.h"
#include "stm_prom.h"
#include "stm_scrape.h"

#define NONE ((size_t)-1)
#define BACKOFF_MIN (100 * GT_NS_PER_MS)
#define BACKOFF_CAP (5 * GT_NS_PER_S)

typedef struct gpu {
	size_t  key, host, uuid, device, model; /* arena offsets (NONE) */
	size_t  klen;
	int32_t index;
	int64_t ts_ms;
	size_t  m_head, m_tail, l_head, l_tail; /* chains */
} gpu;

typedef struct msample {
	const char *name; /* into the body */
	const char *canon; /* gt_gpu_metric_canonical(name) */
	size_t      len;
	double      v;
	size_t      next;
} msample;

typedef struct lsample {
	size_t k, klen, v, vlen; /* arena offsets */
	size_t next;
} lsample;

typedef struct target {
	stm_scrape *s;
	char       *url;
	CURL       *curl;
	char        curl_err[CURL_ERROR_SIZE];
	gt_buf      body;
	int         too_big;
	stm_reader *reader;
	int64_t     next_at;  /* mono */
	int64_t     t0;       /* mono start of the scrape in flight */
	int         busy;     /* in the multi handle */
	int64_t     backoff;
	int64_t     now_ns;   /* wall time of the current scrape */
	/* grouping (per scrape) */
	gt_buf      arena;
	gpu        *g;
	size_t      ng, gcap, last_g;
	msample    *m;
	size_t      nm, mcap;
	lsample    *l;
	size_t      nl, lcap;
	uint64_t    bad_ident; /* DCGM samples without a GPU identity (this scrape) */
	uint64_t    ignored;   /* other metric families (this scrape) */
	uint64_t    prev_bad;  /* bad lines of the previous scrape (logged when it changes) */
	const char *fam;       /* the family of the previous sample and its canonical name */
	size_t      fam_len;
	const char *fam_canon;

	/* stats (under s->mtx) */
	uint64_t scrapes, failures, consecutive, samples, bad_lines, ignored_total, bad_ident_total;
	int64_t  last_success_ms; /* unix ms, 0 = never */
	int64_t  last_duration_ns;
	char     last_error[256];
	stm_reader_stats rst;
} target;

struct stm_scrape {
	stm_scrape_cfg  cfg;
	target         *t;
	size_t          nt;
	stm_prom       *prom;
	CURLM          *multi; /* every due target is fetched at once (stm_scrape_run) */
	pthread_mutex_t mtx;
};

/* ---------------------------------------------------------------- grouping */

static size_t
arena_put(target *t, const char *s, size_t n)
{
	size_t off = t->arena.len;

	if (gt_buf_reserve(&t->arena, n + 1) != GT_OK)
		return NONE;
	memcpy(t->arena.data + off, s, n);
	t->arena.data[off + n] = '\0';
	t->arena.len += n + 1;
	return off;
}

static const char *
astr(target *t, size_t off)
{
	return off == NONE ? NULL : t->arena.data + off;
}

#define IS(l, lit) ((l)->name_len == sizeof(lit) - 1 && memcmp((l)->name, lit, sizeof(lit) - 1) == 0)

static gt_err
gpu_find(target *t, const char *key, size_t klen, size_t *out)
{
	gpu *g;

	/* Samples come family by family, GPU after GPU: the next GPU is the usual hit. */
	for (size_t n = 0; n < t->ng; n++) {
		size_t i = (t->last_g + 1 + n) % t->ng;
		if (t->g[i].klen == klen && memcmp(astr(t, t->g[i].key), key, klen) == 0) {
			*out = t->last_g = i;
			return GT_OK;
		}
	}
	if (t->ng == t->gcap) {
		size_t nc = t->gcap ? t->gcap * 2 : 16;
		gpu   *ng = realloc(t->g, nc * sizeof(*ng));
		if (ng == NULL)
			return GT_ENOMEM;
		t->g = ng;
		t->gcap = nc;
	}
	g = &t->g[t->ng];
	memset(g, 0, sizeof(*g));
	g->host = g->uuid = g->device = g->model = NONE;
	g->m_head = g->m_tail = g->l_head = g->l_tail = NONE;
	g->index = -1;
	g->ts_ms = STM_PROM_NO_TS;
	if ((g->key = arena_put(t, key, klen)) == NONE)
		return GT_ENOMEM;
	g->klen = klen;
	*out = t->last_g = t->ng++;
	return GT_OK;
}

static gt_err
label_keep(target *t, gpu *g, const stm_prom_label *l)
{
	lsample *ls;

	for (size_t i = g->l_head; i != NONE; i = t->l[i].next)
		if (t->l[i].klen == l->name_len && memcmp(astr(t, t->l[i].k), l->name, l->name_len) == 0)
			return GT_OK; /* first value per GPU */
	if (t->nl == t->lcap) {
		size_t   nc = t->lcap ? t->lcap * 2 : 64;
		lsample *nl = realloc(t->l, nc * sizeof(*nl));
		if (nl == NULL)
			return GT_ENOMEM;
		t->l = nl;
		t->lcap = nc;
	}
	ls = &t->l[t->nl];
	if ((ls->k = arena_put(t, l->name, l->name_len)) == NONE ||
	    (ls->v = arena_put(t, l->value, l->value_len)) == NONE)
		return GT_ENOMEM;
	ls->klen = l->name_len;
	ls->vlen = l->value_len;
	ls->next = NONE;
	if (g->l_tail == NONE)
		g->l_head = t->nl;
	else
		t->l[g->l_tail].next = t->nl;
	g->l_tail = t->nl++;
	return GT_OK;
}

static gt_err
on_sample(const stm_prom_sample *sm, void *arg)
{
	target               *t = arg;
	const stm_prom_label *uuid = NULL, *gpui = NULL, *host = NULL, *dev = NULL, *model = NULL;
	char                  kbuf[512];
	const char           *key;
	size_t                klen, gi;
	gpu                  *g;
	msample              *ms;
	gt_err                rv;

	if (sm->name_len < 8 || memcmp(sm->name, "DCGM_FI_", 8) != 0) {
		t->ignored++;
		return GT_OK;
	}
	for (size_t i = 0; i < sm->nlabels; i++) {
		const stm_prom_label *l = &sm->labels[i];
		if (IS(l, "UUID"))
			uuid = l;
		else if (IS(l, "gpu"))
			gpui = l;
		else if (IS(l, "Hostname"))
			host = l;
		else if (IS(l, "device"))
			dev = l;
		else if (IS(l, "modelName"))
			model = l;
	}
	if (uuid != NULL && uuid->value_len > 0)
		key = uuid->value, klen = uuid->value_len;
	else if (gpui != NULL && gpui->value_len > 0) {
		int n = snprintf(kbuf, sizeof(kbuf), "%.*s%s%.*s", host ? (int)host->value_len : 0,
		    host ? host->value : "", host && host->value_len ? "/" : "",
		    (int)gpui->value_len, gpui->value);
		key = kbuf;
		klen = n > 0 && (size_t)n < sizeof(kbuf) ? (size_t)n : sizeof(kbuf) - 1;
	} else {
		t->bad_ident++;
		return GT_OK;
	}
	if ((rv = gpu_find(t, key, klen, &gi)) != GT_OK)
		return rv;
	g = &t->g[gi];
	if (g->uuid == NONE && uuid && uuid->value_len)
		g->uuid = arena_put(t, uuid->value, uuid->value_len);
	if (g->host == NONE && host && host->value_len)
		g->host = arena_put(t, host->value, host->value_len);
	if (g->device == NONE && dev && dev->value_len)
		g->device = arena_put(t, dev->value, dev->value_len);
	if (g->model == NONE && model && model->value_len)
		g->model = arena_put(t, model->value, model->value_len);
	if (g->index < 0 && gpui)
		stm_parse_index(gpui->value, gpui->value_len, &g->index);
	if (g->ts_ms == STM_PROM_NO_TS)
		g->ts_ms = sm->ts_ms;
	for (size_t i = 0; i < sm->nlabels; i++) {
		const stm_prom_label *l = &sm->labels[i];
		if (l != uuid && l != gpui && l != host && l != dev && l != model &&
		    (rv = label_keep(t, g, l)) != GT_OK)
			return rv;
	}
	/* The same field twice for one GPU (series that differ in other labels) can only come in
	 * the same family, so right after the GPU's last metric: the first value is kept. */
	if (g->m_tail != NONE && t->m[g->m_tail].len == sm->name_len &&
	    memcmp(t->m[g->m_tail].name, sm->name, sm->name_len) == 0)
		return GT_OK;
	if (t->nm == t->mcap) {
		size_t   nc = t->mcap ? t->mcap * 2 : 256;
		msample *nm = realloc(t->m, nc * sizeof(*nm));
		if (nm == NULL)
			return GT_ENOMEM;
		t->m = nm;
		t->mcap = nc;
	}
	if (t->fam == NULL || t->fam_len != sm->name_len || memcmp(t->fam, sm->name, sm->name_len) != 0) {
		t->fam = sm->name; /* a new family: one lookup for all its GPUs */
		t->fam_len = sm->name_len;
		t->fam_canon = gt_gpu_metric_canonical(sm->name, sm->name_len);
	}
	ms = &t->m[t->nm];
	ms->canon = t->fam_canon;
	ms->name = sm->name;
	ms->len = sm->name_len;
	ms->v = sm->value;
	ms->next = NONE;
	if (g->m_tail == NONE)
		g->m_head = t->nm;
	else
		t->m[g->m_tail].next = t->nm;
	g->m_tail = t->nm++;
	return GT_OK;
}

/* ---------------------------------------------------------------- body -> records */

gt_err
stm_scrape_body(stm_scrape *s, size_t i, const char *body, size_t len, int64_t now_ns)
{
	target        *t = &s->t[i];
	stm_prom_stats ps;
	gt_err         rv;
	uint64_t       recs0;
	stm_reader_stats rst;

	gt_buf_reset(&t->arena);
	t->ng = t->nm = t->nl = 0;
	t->last_g = 0;
	t->bad_ident = t->ignored = 0;
	t->fam = NULL;
	rv = stm_prom_parse(s->prom, body, len, on_sample, t, &ps);
	stm_reader_get_stats(t->reader, &rst);
	recs0 = rst.records;
	for (size_t gi = 0; rv == GT_OK && gi < t->ng; gi++) {
		gpu    *g = &t->g[gi];
		int64_t ts = g->ts_ms != STM_PROM_NO_TS && g->ts_ms > 0 && g->ts_ms < INT64_MAX / 1000000
		                 ? g->ts_ms * 1000000
		                 : now_ns;
		stm_reader_rec_begin(t->reader, ts);
		stm_reader_rec_ident(t->reader, astr(t, g->host), astr(t, g->uuid), astr(t, g->device),
		    astr(t, g->model), g->index);
		for (size_t k = g->m_head; k != NONE; k = t->m[k].next)
			stm_reader_rec_metric_as(t->reader, t->m[k].canon, t->m[k].name, t->m[k].len,
			    t->m[k].v, 0);
		for (size_t k = g->l_head; k != NONE; k = t->l[k].next)
			stm_reader_rec_label(t->reader, astr(t, t->l[k].k), t->l[k].klen,
			    astr(t, t->l[k].v), t->l[k].vlen);
		rv = stm_reader_rec_emit(t->reader);
	}
	stm_reader_get_stats(t->reader, &rst);
	pthread_mutex_lock(&s->mtx);
	t->samples += ps.samples;
	t->bad_lines += ps.bad_lines;
	t->ignored_total += t->ignored;
	t->bad_ident_total += t->bad_ident;
	t->rst = rst;
	pthread_mutex_unlock(&s->mtx);
	if (ps.bad_lines > 0 && ps.bad_lines != t->prev_bad && !s->cfg.reader.quiet)
		GT_LOGW("scrape.bad_lines", GT_KV_STR("url", t->url), GT_KV_UINT("bad_lines", ps.bad_lines),
		    GT_KV_UINT("first_bad_line", ps.first_bad));
	t->prev_bad = ps.bad_lines;
	if (rv == GT_OK && rst.records == recs0 && ps.samples == 0)
		return GT_EINVAL; /* nothing usable: not an exposition */
	return rv;
}

/* ---------------------------------------------------------------- HTTP */

static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	target *t = arg;
	size_t  n = size * nmemb;

	if (t->body.len + n > t->s->cfg.max_body) {
		t->too_big = 1;
		return 0;
	}
	if (gt_buf_append(&t->body, ptr, n) != GT_OK)
		return 0;
	return n;
}

static int
on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	stm_scrape *s = arg;

	(void)a, (void)b, (void)c, (void)d;
	return s->cfg.reader.stopping && s->cfg.reader.stopping(s->cfg.reader.stopping_arg);
}

static void
scrape_failed(stm_scrape *s, target *t, const char *why)
{
	int first;

	pthread_mutex_lock(&s->mtx);
	t->failures++;
	first = t->consecutive++ == 0;
	snprintf(t->last_error, sizeof(t->last_error), "%s", why);
	pthread_mutex_unlock(&s->mtx);
	t->backoff = t->backoff ? t->backoff * 2 : BACKOFF_MIN;
	{
		int64_t cap = s->cfg.interval_ns > BACKOFF_CAP ? s->cfg.interval_ns : BACKOFF_CAP;
		if (t->backoff > cap)
			t->backoff = cap;
	}
	t->next_at = gt_mono_ns() + t->backoff;
	if (first)
		GT_LOGW("scrape.failed", GT_KV_STR("url", t->url), GT_KV_STR("reason", why),
		    GT_KV_INT("retry_in_ms", t->backoff / GT_NS_PER_MS));
}

/* Before a transfer of target i. */
static void
scrape_begin(stm_scrape *s, target *t)
{
	gt_buf_reset(&t->body);
	t->too_big = 0;
	t->curl_err[0] = '\0';
	t->t0 = gt_mono_ns();
	pthread_mutex_lock(&s->mtx);
	t->scrapes++;
	pthread_mutex_unlock(&s->mtx);
}

/* After the transfer of target i ended with cc: the body becomes records, or the failure is
 * counted and the target backs off. GT_OK, GT_EIO (this target failed), or an emit error. */
static gt_err
scrape_end(stm_scrape *s, size_t i, CURLcode cc)
{
	target *t = &s->t[i];
	long    status = 0;
	gt_err  rv;
	char    why[300];

	if (cc == CURLE_ABORTED_BY_CALLBACK)
		return GT_ECANCELED;
	if (cc != CURLE_OK) {
		snprintf(why, sizeof(why), "%s", t->too_big ? "body larger than the limit"
		                                 : *t->curl_err ? t->curl_err
		                                                : curl_easy_strerror(cc));
		scrape_failed(s, t, why);
		return GT_EIO;
	}
	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		snprintf(why, sizeof(why), "HTTP status %ld", status);
		scrape_failed(s, t, why);
		return GT_EIO;
	}
	rv = stm_scrape_body(s, i, t->body.data ? t->body.data : "", t->body.len, gt_now_ns());
	if (rv == GT_EINVAL) {
		scrape_failed(s, t, "no samples in the answer");
		return GT_EIO;
	}
	if (rv != GT_OK)
		return rv;
	pthread_mutex_lock(&s->mtx);
	if (t->consecutive > 0)
		GT_LOGI("scrape.recovered", GT_KV_STR("url", t->url),
		    GT_KV_UINT("failed_attempts", t->consecutive));
	t->consecutive = 0;
	t->last_error[0] = '\0';
	t->last_success_ms = gt_now_ns() / GT_NS_PER_MS;
	t->last_duration_ns = gt_mono_ns() - t->t0;
	pthread_mutex_unlock(&s->mtx);
	t->backoff = 0;
	t->next_at = t->t0 + s->cfg.interval_ns;
	return GT_OK;
}

gt_err
stm_scrape_once(stm_scrape *s, size_t i)
{
	scrape_begin(s, &s->t[i]);
	return scrape_end(s, i, curl_easy_perform(s->t[i].curl));
}

/* Transfers that finished: their bodies become records. GT_OK or the first hard error. */
static gt_err
scrape_collect(stm_scrape *s)
{
	CURLMsg *msg;
	int      left;
	gt_err   first = GT_OK;

	while ((msg = curl_multi_info_read(s->multi, &left)) != NULL) {
		size_t i;

		if (msg->msg != CURLMSG_DONE)
			continue;
		for (i = 0; i < s->nt && s->t[i].curl != msg->easy_handle; i++)
			;
		if (i == s->nt)
			continue;
		curl_multi_remove_handle(s->multi, s->t[i].curl);
		s->t[i].busy = 0;
		{
			gt_err rv = scrape_end(s, i, msg->data.result);

			if (rv != GT_OK && rv != GT_EIO && first == GT_OK)
				first = rv;
		}
		if (s->cfg.pipe)
			stm_pipe_linger(s->cfg.pipe, 0); /* a scrape is a complete batch */
	}
	return first;
}

/* Every due target is fetched concurrently on this thread (curl multi): a slow or silent
 * target holds only itself up to its --scrape-timeout, never the others' schedule. */
gt_err
stm_scrape_run(stm_scrape *s)
{
	const stm_reader_cfg *rc = &s->cfg.reader;
	gt_err                rv = GT_OK;

	for (;;) {
		int64_t now = gt_mono_ns(), next = now + s->cfg.interval_ns, wait;
		int     running = 0;

		if (rc->stopping && rc->stopping(rc->stopping_arg)) {
			rv = GT_ECANCELED;
			break;
		}
		for (size_t i = 0; i < s->nt; i++) {
			target *t = &s->t[i];

			if (!t->busy && now >= t->next_at) {
				scrape_begin(s, t);
				if (curl_multi_add_handle(s->multi, t->curl) != CURLM_OK) {
					scrape_failed(s, t, "cannot start the transfer");
					continue;
				}
				t->busy = 1;
			}
			if (!t->busy && t->next_at < next)
				next = t->next_at;
		}
		if (curl_multi_perform(s->multi, &running) != CURLM_OK) {
			rv = GT_EIO;
			break;
		}
		if ((rv = scrape_collect(s)) != GT_OK)
			break;
		now = gt_mono_ns();
		wait = next > now ? next - now : 0;
		if (wait > 50 * GT_NS_PER_MS) /* the stop flag is checked at least this often */
			wait = 50 * GT_NS_PER_MS;
		if (running > 0)
			curl_multi_poll(s->multi, NULL, 0, (int)(wait / GT_NS_PER_MS), NULL);
		else if (wait > 0)
			gt_sleep_ns(wait);
	}
	for (size_t i = 0; i < s->nt; i++)
		if (s->t[i].busy) {
			curl_multi_remove_handle(s->multi, s->t[i].curl);
			s->t[i].busy = 0;
		}
	return rv;
}

/* ---------------------------------------------------------------- lifecycle, stats */

gt_err
stm_scrape_new(stm_scrape **out, const stm_scrape_cfg *cfg)
{
	stm_scrape *s;
	const char *p;
	gt_err      rv = GT_ENOMEM;
	size_t      n = 1;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return GT_ENOMEM;
	s->cfg = *cfg;
	if (s->cfg.max_body == 0)
		s->cfg.max_body = 64u << 20;
	pthread_mutex_init(&s->mtx, NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (p = cfg->urls; *p; p++)
		n += *p == ',';
	if ((s->t = calloc(n, sizeof(*s->t))) == NULL || stm_prom_new(&s->prom) != GT_OK ||
	    (s->multi = curl_multi_init()) == NULL)
		goto fail;
	for (p = cfg->urls; *p;) {
		const char *e = strchr(p, ',');
		size_t      len = e ? (size_t)(e - p) : strlen(p);
		target     *t = &s->t[s->nt];

		if (len == 0) {
			p += e ? 1 : 0;
			if (!e)
				break;
			continue;
		}
		t->s = s;
		gt_buf_init(&t->body);
		gt_buf_init(&t->arena);
		s->nt++;
		if ((t->url = strndup(p, len)) == NULL ||
		    (rv = stm_reader_new(&t->reader, &cfg->reader, cfg->emit, cfg->emit_arg)) != GT_OK)
			goto fail;
		rv = GT_ENOMEM;
		stm_reader_begin(t->reader, t->url);
		if ((t->curl = curl_easy_init()) == NULL)
			goto fail;
		curl_easy_setopt(t->curl, CURLOPT_URL, t->url);
		curl_easy_setopt(t->curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(t->curl, CURLOPT_TIMEOUT_MS, (long)(cfg->timeout_ns / GT_NS_PER_MS));
		curl_easy_setopt(t->curl, CURLOPT_CONNECTTIMEOUT_MS,
		    (long)(cfg->timeout_ns / GT_NS_PER_MS));
		curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(t->curl, CURLOPT_WRITEDATA, t);
		curl_easy_setopt(t->curl, CURLOPT_ERRORBUFFER, t->curl_err);
		curl_easy_setopt(t->curl, CURLOPT_ACCEPT_ENCODING, "");
		curl_easy_setopt(t->curl, CURLOPT_USERAGENT, "gt-streamer");
		curl_easy_setopt(t->curl, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(t->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(t->curl, CURLOPT_XFERINFODATA, s);
		p = e ? e + 1 : p + len;
	}
	if (s->nt == 0) {
		rv = GT_EINVAL;
		goto fail;
	}
	*out = s;
	return GT_OK;
fail:
	stm_scrape_free(s);
	return rv;
}

void
stm_scrape_free(stm_scrape *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nt; i++) {
		target *t = &s->t[i];
		if (t->curl && t->busy)
			curl_multi_remove_handle(s->multi, t->curl);
		if (t->curl)
			curl_easy_cleanup(t->curl);
		stm_reader_free(t->reader);
		gt_buf_fini(&t->body);
		gt_buf_fini(&t->arena);
		free(t->g);
		free(t->m);
		free(t->l);
		free(t->url);
	}
	free(s->t);
	if (s->multi)
		curl_multi_cleanup(s->multi);
	stm_prom_free(s->prom);
	pthread_mutex_destroy(&s->mtx);
	curl_global_cleanup();
	free(s);
}

void
stm_scrape_json(stm_scrape *s, gt_buf *b, int *first)
{
	int64_t now_ms = gt_now_ns() / GT_NS_PER_MS;

	pthread_mutex_lock(&s->mtx);
	for (size_t i = 0; i < s->nt; i++) {
		target *t = &s->t[i];
		gt_buf_puts(b, *first ? "{\"kind\":\"scrape\",\"url\":" : ",{\"kind\":\"scrape\",\"url\":");
		*first = 0;
		gt_json_cstr(b, t->url);
		gt_buf_printf(b,
		    ",\"status\":\"%s\",\"scrapes\":%llu,\"failures\":%llu,\"consecutive_failures\":%llu,"
		    "\"samples\":%llu,\"bad_input\":%llu,\"bad_lines\":%llu,\"no_gpu_identity\":%llu,"
		    "\"ignored_samples\":%llu,\"records\":%llu,\"dropped_values\":%llu,"
		    "\"last_success_unix_ms\":%lld,\"lag_ms\":%lld,\"last_duration_ms\":%.3f,"
		    "\"last_error\":",
		    t->consecutive ? "failing" : t->last_success_ms ? "ok" : "starting",
		    (unsigned long long)t->scrapes, (unsigned long long)t->failures,
		    (unsigned long long)t->consecutive, (unsigned long long)t->samples,
		    (unsigned long long)(t->bad_lines + t->bad_ident_total),
		    (unsigned long long)t->bad_lines, (unsigned long long)t->bad_ident_total,
		    (unsigned long long)t->ignored_total, (unsigned long long)t->rst.records,
		    (unsigned long long)t->rst.dropped, (long long)t->last_success_ms,
		    (long long)(t->last_success_ms ? now_ms - t->last_success_ms : -1),
		    (double)t->last_duration_ns / 1e6);
		gt_json_cstr(b, t->last_error);
		gt_buf_puts(b, ",\"dropped_values_by_metric\":{");
		for (unsigned k = 0; k < STM_DROP_SLOTS; k++)
			gt_buf_printf(b, "%s\"%s\":%llu", k ? "," : "", stm_drop_slot_name(k),
			    (unsigned long long)t->rst.dropped_by[k]);
		gt_buf_puts(b, "}}");
	}
	pthread_mutex_unlock(&s->mtx);
}

int
stm_scrape_degraded(stm_scrape *s)
{
	int n = 0;

	pthread_mutex_lock(&s->mtx);
	for (size_t i = 0; i < s->nt; i++)
		n += s->t[i].consecutive > 0;
	pthread_mutex_unlock(&s->mtx);
	return n;
}

size_t
stm_scrape_targets(stm_scrape *s)
{
	return s->nt;
}
