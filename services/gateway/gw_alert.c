/* gw_alert.c - the alert engine: per GPU and rule state (inactive, pending, firing), the
 * built-in staleness rule, XID and vanished-GPU events, the bounded change history. Time is
 * passed in by the caller (realtime ns). One mutex guards everything; the emit callback runs
 * under it (lock order: engine -> whatever the callback takes). */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_hash.h"
#include "gt/gt_json.h"
#include "gt/gt_time.h"
#include "gw_alert.h"

#define AL_BUCKETS 1024
#define ST_INACTIVE (-1)

typedef struct ast {
	int     state; /* ST_INACTIVE, GW_AS_PENDING, GW_AS_FIRING */
	int     applies;
	int64_t since, active_since;
	double  value;
} ast;

typedef struct ahost {
	struct ahost *next;
	uint64_t      hash;
	char         *name;
	int64_t       rx_ns; /* newest record of any of its GPUs */
} ahost;

typedef struct agpu {
	struct agpu *next;
	uint64_t     hash;
	char        *key, *uuid;
	ahost       *host;
	int64_t      rx_ns;
	int          stale, vanished, has_xid;
	int64_t      stale_since;
	double       xid;
	ast         *st; /* one per rule */
} agpu;

struct gw_alert_engine {
	pthread_mutex_t mu;
	gw_alert_rules *rules;
	int64_t         stale_after;
	agpu           *b[AL_BUCKETS];
	ahost          *hb[AL_BUCKETS];
	gw_alert       *hist; /* ring of hcap */
	size_t          hcap, hhead, hn;
	uint64_t        seq;
	gw_alert_emit   emit;
	void           *arg;
};

static void
alert_fini(gw_alert *a)
{
	free(a->rule);
	free(a->gpu);
	free(a->uuid);
	free(a->hostname);
	free(a->metric);
	free(a->message);
	memset(a, 0, sizeof(*a));
}

static char *
xdup(const char *s)
{
	return strdup(s ? s : "");
}

/* Deep copy; GT_ENOMEM leaves dst zeroed. */
static gt_err
alert_copy(gw_alert *dst, const gw_alert *src)
{
	*dst = *src;
	dst->rule = xdup(src->rule);
	dst->gpu = xdup(src->gpu);
	dst->uuid = xdup(src->uuid);
	dst->hostname = xdup(src->hostname);
	dst->metric = xdup(src->metric);
	dst->message = xdup(src->message);
	if (!dst->rule || !dst->gpu || !dst->uuid || !dst->hostname || !dst->metric ||
	    !dst->message) {
		alert_fini(dst);
		return GT_ENOMEM;
	}
	return GT_OK;
}

void
gw_alert_list_fini(gw_alert_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		alert_fini(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- messages ---- */

static void
fmt_dur(int64_t ns, char *buf, size_t len)
{
	gt_duration_format(ns, buf, len);
}

static void
msg_threshold(char *buf, size_t len, const gw_alert_rule *r, double v, int state)
{
	char num[GT_JSON_DBL_MAX], thr[GT_JSON_DBL_MAX], d[32];

	gt_json_dbl_fmt(num, v);
	gt_json_dbl_fmt(thr, r->threshold);
	fmt_dur(r->for_ns, d, sizeof(d));
	if (state == GW_AS_RESOLVED)
		snprintf(buf, len, "%s %s, no longer %s %s", r->metric, num,
		         gw_alert_op_name(r->op), thr);
	else if (state == GW_AS_PENDING)
		snprintf(buf, len, "%s %s %s %s, firing if it lasts %s", r->metric, num,
		         gw_alert_op_name(r->op), thr, d);
	else if (r->for_ns > 0)
		snprintf(buf, len, "%s %s %s %s for %s", r->metric, num, gw_alert_op_name(r->op),
		         thr, d);
	else
		snprintf(buf, len, "%s %s %s %s", r->metric, num, gw_alert_op_name(r->op), thr);
}

/* ---- tables (under mu) ---- */

static ahost *
host_get(gw_alert_engine *e, const char *name)
{
	uint64_t h = gt_hash64(name, strlen(name));
	ahost   *x;

	for (x = e->hb[h % AL_BUCKETS]; x != NULL; x = x->next)
		if (x->hash == h && strcmp(x->name, name) == 0)
			return x;
	if ((x = calloc(1, sizeof(*x))) == NULL || (x->name = strdup(name)) == NULL) {
		free(x);
		return NULL;
	}
	x->hash = h;
	x->next = e->hb[h % AL_BUCKETS];
	e->hb[h % AL_BUCKETS] = x;
	return x;
}

static void
gpu_applies(gw_alert_engine *e, agpu *g)
{
	size_t j;

	for (j = 0; j < e->rules->n; j++)
		g->st[j].applies =
		    gw_alert_rule_applies(&e->rules->v[j], g->key, g->uuid, g->host->name);
}

static agpu *
gpu_get(gw_alert_engine *e, const char *key)
{
	uint64_t h = gt_hash64(key, strlen(key));
	agpu    *x;

	for (x = e->b[h % AL_BUCKETS]; x != NULL; x = x->next)
		if (x->hash == h && strcmp(x->key, key) == 0)
			return x;
	return NULL;
}

static agpu *
gpu_new(gw_alert_engine *e, const char *key, const char *uuid, const char *host)
{
	uint64_t h = gt_hash64(key, strlen(key));
	agpu    *x;
	size_t   j;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->key = strdup(key);
	x->uuid = strdup(uuid);
	x->host = host_get(e, host);
	x->st = calloc(e->rules->n + 1, sizeof(*x->st));
	if (!x->key || !x->uuid || !x->host || !x->st) {
		free(x->key);
		free(x->uuid);
		free(x->st);
		free(x);
		return NULL;
	}
	for (j = 0; j < e->rules->n; j++)
		x->st[j].state = ST_INACTIVE;
	gpu_applies(e, x);
	x->hash = h;
	x->next = e->b[h % AL_BUCKETS];
	e->b[h % AL_BUCKETS] = x;
	return x;
}

/* ---- changes ---- */

/* Records a change in the history and emits it. a's strings are borrowed. */
static void
change(gw_alert_engine *e, gw_alert *a)
{
	gw_alert *slot;

	a->seq = ++e->seq;
	if (e->hn == e->hcap) {
		slot = &e->hist[e->hhead];
		alert_fini(slot);
		e->hhead = (e->hhead + 1) % e->hcap;
		e->hn--;
	}
	slot = &e->hist[(e->hhead + e->hn) % e->hcap];
	if (alert_copy(slot, a) == GT_OK)
		e->hn++;
	if (e->emit)
		e->emit(e->arg, a);
}

static void
fill_gpu(gw_alert *a, const agpu *g)
{
	a->gpu = g->key;
	a->uuid = g->uuid;
	a->hostname = g->host->name;
}

/* The alert of rule j on g in state (st's current one unless given). */
static void
threshold_alert(gw_alert *a, const gw_alert_rule *r, const agpu *g, const ast *st, int state,
                char *msg, size_t msglen)
{
	memset(a, 0, sizeof(*a));
	fill_gpu(a, g);
	a->rule = r->name;
	a->kind = GW_AK_THRESHOLD;
	a->state = state;
	a->severity = r->severity;
	a->metric = r->metric;
	a->op = r->op;
	a->has_threshold = 1;
	a->threshold = r->threshold;
	a->has_value = 1;
	a->value = st->value;
	a->since_ns = st->since;
	a->active_since_ns = st->active_since;
	msg_threshold(msg, msglen, r, st->value, state);
	a->message = msg;
}

static int
set_state(gw_alert_engine *e, const gw_alert_rule *r, agpu *g, ast *st, int state, int64_t now)
{
	gw_alert a;
	char     msg[256];

	st->since = now;
	threshold_alert(&a, r, g, st, state, msg, sizeof(msg));
	st->state = state == GW_AS_RESOLVED ? ST_INACTIVE : state;
	change(e, &a);
	return GW_AR_CHANGED;
}

static void
stale_alert(gw_alert *a, const gw_alert_engine *e, const agpu *g, int state, char *msg,
            size_t msglen, int64_t now)
{
	char d[32];

	memset(a, 0, sizeof(*a));
	fill_gpu(a, g);
	a->rule = "gpu_stale";
	a->kind = GW_AK_STALE;
	a->state = state;
	a->severity = GW_SEV_WARNING;
	a->since_ns = state == GW_AS_RESOLVED ? now : g->stale_since;
	a->active_since_ns = g->stale_since;
	if (state == GW_AS_RESOLVED) {
		fmt_dur(now - g->rx_ns, d, sizeof(d));
		snprintf(msg, msglen, "records again after %s of silence", d);
	} else {
		fmt_dur(e->stale_after, d, sizeof(d));
		snprintf(msg, msglen, "no record for %s", d);
	}
	a->message = msg;
}

static int
event(gw_alert_engine *e, const agpu *g, const char *rule, int sev, int has_value, double value,
      const char *msg, int64_t now)
{
	gw_alert a;

	memset(&a, 0, sizeof(a));
	fill_gpu(&a, g);
	a.rule = (char *)rule;
	a.kind = GW_AK_EVENT;
	a.state = GW_AS_EVENT;
	a.severity = sev;
	a.has_value = has_value;
	a.value = value;
	a.since_ns = now;
	a.active_since_ns = now;
	a.message = (char *)msg;
	change(e, &a);
	return GW_AR_CHANGED;
}

/* ---- API ---- */

gt_err
gw_alert_engine_new(gw_alert_engine **out, int64_t stale_after_ns, size_t history,
                    gw_alert_rules *rules, gw_alert_emit emit, void *arg)
{
	gw_alert_engine *e;
	gt_err           rv;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return GT_ENOMEM;
	e->hcap = history ? history : 1;
	if ((e->hist = calloc(e->hcap, sizeof(*e->hist))) == NULL) {
		free(e);
		return GT_ENOMEM;
	}
	if (rules == NULL && (rv = gw_alert_rules_empty(&rules)) != GT_OK) {
		free(e->hist);
		free(e);
		return rv;
	}
	e->rules = rules;
	e->stale_after = stale_after_ns;
	e->emit = emit;
	e->arg = arg;
	pthread_mutex_init(&e->mu, NULL);
	*out = e;
	return GT_OK;
}

void
gw_alert_engine_free(gw_alert_engine *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < AL_BUCKETS; i++) {
		agpu  *g, *gn;
		ahost *h, *hn;

		for (g = e->b[i]; g != NULL; g = gn) {
			gn = g->next;
			free(g->key);
			free(g->uuid);
			free(g->st);
			free(g);
		}
		for (h = e->hb[i]; h != NULL; h = hn) {
			hn = h->next;
			free(h->name);
			free(h);
		}
	}
	for (i = 0; i < e->hn; i++)
		alert_fini(&e->hist[(e->hhead + i) % e->hcap]);
	free(e->hist);
	gw_alert_rules_free(e->rules);
	pthread_mutex_destroy(&e->mu);
	free(e);
}

int
gw_alert_engine_set_rules(gw_alert_engine *e, gw_alert_rules *rules, int64_t now)
{
	gw_alert_rules *old;
	ast           **nst = NULL;
	size_t          i, j, k, n = 0, m = 0;
	int             res = 0;

	if (rules == NULL && gw_alert_rules_empty(&rules) != GT_OK)
		return -1;
	pthread_mutex_lock(&e->mu);
	/* every new state array first: on ENOMEM nothing changes */
	for (i = 0; i < AL_BUCKETS; i++)
		for (agpu *g = e->b[i]; g != NULL; g = g->next)
			n++;
	if ((nst = calloc(n + 1, sizeof(*nst))) == NULL)
		goto nomem;
	for (m = 0; m < n; m++)
		if ((nst[m] = calloc(rules->n + 1, sizeof(**nst))) == NULL)
			goto nomem;
	old = e->rules;
	m = 0;
	for (i = 0; i < AL_BUCKETS; i++)
		for (agpu *g = e->b[i]; g != NULL; g = g->next) {
			ast *st = nst[m++];

			for (j = 0; j < rules->n; j++) {
				st[j].state = ST_INACTIVE;
				for (k = 0; k < old->n; k++)
					if (strcmp(old->v[k].name, rules->v[j].name) == 0) {
						st[j] = g->st[k];
						g->st[k].state = ST_INACTIVE;
						break;
					}
			}
			/* alerts of rules that went away resolve (or, pending, disappear) */
			for (k = 0; k < old->n; k++) {
				if (g->st[k].state == GW_AS_FIRING)
					res |= set_state(e, &old->v[k], g, &g->st[k],
					                 GW_AS_RESOLVED, now);
				else if (g->st[k].state == GW_AS_PENDING)
					res |= GW_AR_DROPPED;
			}
			free(g->st);
			g->st = st;
		}
	free(nst);
	e->rules = rules;
	/* kept rules whose GPU or host patterns no longer match this GPU resolve too */
	for (i = 0; i < AL_BUCKETS; i++)
		for (agpu *g = e->b[i]; g != NULL; g = g->next) {
			gpu_applies(e, g);
			for (j = 0; j < rules->n; j++) {
				if (g->st[j].applies)
					continue;
				if (g->st[j].state == GW_AS_FIRING)
					res |= set_state(e, &rules->v[j], g, &g->st[j],
					                 GW_AS_RESOLVED, now);
				else if (g->st[j].state == GW_AS_PENDING) {
					g->st[j].state = ST_INACTIVE;
					res |= GW_AR_DROPPED;
				}
			}
		}
	pthread_mutex_unlock(&e->mu);
	gw_alert_rules_free(old);
	return res;
nomem:
	pthread_mutex_unlock(&e->mu);
	for (i = 0; nst && i < m; i++)
		free(nst[i]);
	free(nst);
	gw_alert_rules_free(rules);
	return -1;
}

static int
eval_rule(gw_alert_engine *e, size_t j, agpu *g, double v, int64_t now)
{
	const gw_alert_rule *r = &e->rules->v[j];
	ast                 *st = &g->st[j];
	int                  cond = gw_alert_op_eval(r->op, v, r->threshold);

	if (cond) {
		st->value = v;
		if (st->state == ST_INACTIVE) {
			st->active_since = now;
			return set_state(e, r, g, st, r->for_ns > 0 ? GW_AS_PENDING : GW_AS_FIRING,
			                 now);
		}
		if (st->state == GW_AS_PENDING && now - st->active_since >= r->for_ns)
			return set_state(e, r, g, st, GW_AS_FIRING, now);
		return 0;
	}
	if (st->state == GW_AS_PENDING) {
		st->state = ST_INACTIVE;
		return GW_AR_DROPPED;
	}
	if (st->state == GW_AS_FIRING) {
		st->value = v;
		return set_state(e, r, g, st, GW_AS_RESOLVED, now);
	}
	return 0;
}

int
gw_alert_engine_record(gw_alert_engine *e, const gw_alert_rec *r, int64_t now)
{
	agpu       *g;
	const char *host = r->hostname ? r->hostname : "", *uuid = r->uuid ? r->uuid : "";
	size_t      i, j;
	int         res = 0;
	char        msg[256];

	if (r->gpu == NULL || *r->gpu == '\0')
		return 0;
	pthread_mutex_lock(&e->mu);
	if ((g = gpu_get(e, r->gpu)) == NULL) {
		if ((g = gpu_new(e, r->gpu, uuid, host)) == NULL)
			goto done;
	} else if (strcmp(g->uuid, uuid) != 0 || strcmp(g->host->name, host) != 0) {
		char  *u = strdup(uuid);
		ahost *h = host_get(e, host);

		if (u != NULL && h != NULL) {
			free(g->uuid);
			g->uuid = u;
			g->host = h;
			gpu_applies(e, g);
		} else {
			free(u);
		}
	}
	if (g->stale) {
		gw_alert a;

		stale_alert(&a, e, g, GW_AS_RESOLVED, msg, sizeof(msg), now);
		g->stale = 0;
		change(e, &a);
		res |= GW_AR_CHANGED;
	}
	g->vanished = 0;
	g->rx_ns = now;
	if (now > g->host->rx_ns)
		g->host->rx_ns = now;
	for (i = 0; i < r->n; i++) {
		if (!gw_xid_metric(r->names[i]))
			continue;
		/* the value is the last XID and never resets: a change is a new error; the first
		 * value seen is the baseline (a restarted gateway does not replay old errors) */
		if (g->has_xid && r->values[i] != g->xid && r->values[i] > 0 &&
		    r->values[i] < 1e9) {
			int code = (int)r->values[i];

			snprintf(msg, sizeof(msg), "XID %d: %s", code, gw_xid_meaning(code));
			res |= event(e, g, "xid", gw_xid_severity(code), 1, r->values[i], msg, now);
		}
		g->has_xid = 1;
		g->xid = r->values[i];
	}
	for (j = 0; j < e->rules->n; j++) {
		const gw_alert_rule *rule = &e->rules->v[j];

		if (!g->st[j].applies)
			continue;
		for (i = 0; i < r->n; i++)
			if (strcmp(r->names[i], rule->metric) == 0) {
				res |= eval_rule(e, j, g, r->values[i], now);
				break;
			}
	}
done:
	pthread_mutex_unlock(&e->mu);
	return res;
}

int
gw_alert_engine_tick(gw_alert_engine *e, int64_t now)
{
	size_t i, j;
	int    res = 0;
	char   msg[256];

	pthread_mutex_lock(&e->mu);
	for (i = 0; i < AL_BUCKETS; i++)
		for (agpu *g = e->b[i]; g != NULL; g = g->next) {
			for (j = 0; j < e->rules->n; j++)
				if (g->st[j].state == GW_AS_PENDING &&
				    now - g->st[j].active_since >= e->rules->v[j].for_ns)
					res |= set_state(e, &e->rules->v[j], g, &g->st[j],
					                 GW_AS_FIRING, now);
			if (!g->stale && now - g->rx_ns >= e->stale_after) {
				gw_alert a;

				g->stale = 1;
				g->stale_since = now;
				stale_alert(&a, e, g, GW_AS_FIRING, msg, sizeof(msg), now);
				change(e, &a);
				res |= GW_AR_CHANGED;
			}
			/* its host reported after it had been silent for --stale-after */
			if (g->stale && !g->vanished &&
			    g->host->rx_ns > g->rx_ns + e->stale_after) {
				g->vanished = 1;
				snprintf(
				    msg, sizeof(msg),
				    "GPU %s stopped reporting while %s still reports other GPUs",
				    g->key, g->host->name);
				res |= event(e, g, "gpu_vanished", GW_SEV_WARNING, 0, 0, msg, now);
			}
		}
	pthread_mutex_unlock(&e->mu);
	return res;
}

/* ---- reading ---- */

static int
cmp_current(const void *x, const void *y)
{
	const gw_alert *a = x, *b = y;

	if (a->state != b->state)
		return a->state == GW_AS_FIRING ? -1 : 1;
	if (a->since_ns != b->since_ns)
		return a->since_ns < b->since_ns ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int
filter_ok(const gw_alert_filter *f, const gw_alert *a)
{
	if (f == NULL)
		return 1;
	return (f->state < 0 || f->state == a->state) &&
	       (f->severity < 0 || f->severity == a->severity) &&
	       (f->gpu == NULL || strcmp(f->gpu, a->gpu) == 0) &&
	       (f->host == NULL || strcmp(f->host, a->hostname) == 0);
}

static gt_err
list_add(gw_alert_list *l, size_t *cap, const gw_alert *a)
{
	if (l->n == *cap) {
		size_t    nc = *cap ? *cap * 2 : 16;
		gw_alert *v = realloc(l->v, nc * sizeof(*v));

		if (v == NULL)
			return GT_ENOMEM;
		l->v = v;
		*cap = nc;
	}
	if (alert_copy(&l->v[l->n], a) != GT_OK)
		return GT_ENOMEM;
	l->n++;
	return GT_OK;
}

gt_err
gw_alert_engine_current(gw_alert_engine *e, const gw_alert_filter *f, gw_alert_list *out)
{
	size_t i, j, cap = 0;
	gt_err rv = GT_OK;
	char   msg[256];

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&e->mu);
	out->last_seq = e->seq;
	for (i = 0; i < AL_BUCKETS && rv == GT_OK; i++)
		for (agpu *g = e->b[i]; g != NULL && rv == GT_OK; g = g->next) {
			gw_alert a;

			if (g->stale) {
				stale_alert(&a, e, g, GW_AS_FIRING, msg, sizeof(msg), 0);
				out->firing++;
				if (filter_ok(f, &a))
					rv = list_add(out, &cap, &a);
			}
			for (j = 0; j < e->rules->n && rv == GT_OK; j++) {
				if (g->st[j].state == ST_INACTIVE)
					continue;
				threshold_alert(&a, &e->rules->v[j], g, &g->st[j], g->st[j].state,
				                msg, sizeof(msg));
				if (a.state == GW_AS_FIRING)
					out->firing++;
				else
					out->pending++;
				if (filter_ok(f, &a))
					rv = list_add(out, &cap, &a);
			}
		}
	pthread_mutex_unlock(&e->mu);
	if (rv != GT_OK) {
		gw_alert_list_fini(out);
		return rv;
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_current);
	return GT_OK;
}

gt_err
gw_alert_engine_history(gw_alert_engine *e, uint64_t after, size_t limit, gw_alert_list *out)
{
	size_t i, cap = 0;
	gt_err rv = GT_OK;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&e->mu);
	out->last_seq = e->seq;
	for (i = 0; i < e->hn && out->n < limit && rv == GT_OK; i++) {
		const gw_alert *a = &e->hist[(e->hhead + i) % e->hcap];

		if (a->seq > after)
			rv = list_add(out, &cap, a);
	}
	pthread_mutex_unlock(&e->mu);
	if (rv != GT_OK)
		gw_alert_list_fini(out);
	return rv;
}

uint64_t
gw_alert_engine_last_seq(gw_alert_engine *e)
{
	uint64_t s;

	pthread_mutex_lock(&e->mu);
	s = e->seq;
	pthread_mutex_unlock(&e->mu);
	return s;
}

void
gw_alert_engine_counts(gw_alert_engine *e, gw_alert_counts *out)
{
	size_t i, j;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&e->mu);
	out->rules = e->rules->n;
	out->changes = e->seq;
	for (i = 0; i < AL_BUCKETS; i++)
		for (agpu *g = e->b[i]; g != NULL; g = g->next) {
			if (g->stale)
				out->firing++;
			for (j = 0; j < e->rules->n; j++) {
				if (g->st[j].state == GW_AS_FIRING)
					out->firing++;
				else if (g->st[j].state == GW_AS_PENDING)
					out->pending++;
			}
		}
	pthread_mutex_unlock(&e->mu);
}
