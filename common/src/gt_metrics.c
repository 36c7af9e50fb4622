/* gt_metrics.c - metric registry; atomic updates, locked registration and export. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_json.h"
#include "gt/gt_metrics.h"

/* Upper bounds of the histogram buckets in seconds (+Inf is implicit). */
static const double hist_bounds[] = {1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3,
    2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 60};
#define HIST_N (sizeof(hist_bounds) / sizeof(hist_bounds[0]))

typedef enum { M_COUNTER, M_GAUGE, M_HIST } metric_kind;

struct gt_counter {
	_Atomic uint64_t v;
};
struct gt_gauge {
	_Atomic uint64_t bits; /* a double */
	double (*fn)(void *);
	void *arg;
};
struct gt_hist {
	_Atomic uint64_t buckets[HIST_N + 1];
	_Atomic uint64_t count;
	_Atomic uint64_t sum_ns;
};

typedef struct metric {
	struct metric *next;
	metric_kind    kind;
	char          *name;
	char          *labels;
	char          *help;
	union {
		struct gt_counter c;
		struct gt_gauge   g;
		struct gt_hist    h;
	} u;
} metric;

struct gt_metrics {
	pthread_mutex_t mtx;
	char           *prefix;
	metric         *head, **tail;
};

gt_err
gt_metrics_new(gt_metrics **out, const char *prefix)
{
	gt_metrics *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return GT_ENOMEM;
	if ((m->prefix = strdup(prefix ? prefix : "")) == NULL) {
		free(m);
		return GT_ENOMEM;
	}
	pthread_mutex_init(&m->mtx, NULL);
	m->tail = &m->head;
	*out = m;
	return GT_OK;
}

void
gt_metrics_free(gt_metrics *m)
{
	metric *x, *next;

	if (m == NULL)
		return;
	for (x = m->head; x != NULL; x = next) {
		next = x->next;
		free(x->name);
		free(x->labels);
		free(x->help);
		free(x);
	}
	pthread_mutex_destroy(&m->mtx);
	free(m->prefix);
	free(m);
}

static metric *
metrics_get(gt_metrics *m, metric_kind kind, const char *name, const char *labels, const char *help)
{
	metric *x;

	if (labels == NULL)
		labels = "";
	pthread_mutex_lock(&m->mtx);
	for (x = m->head; x != NULL; x = x->next) {
		if (x->kind == kind && strcmp(x->name, name) == 0 && strcmp(x->labels, labels) == 0)
			goto out;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL)
		goto out;
	x->kind = kind;
	x->name = strdup(name);
	x->labels = strdup(labels);
	x->help = strdup(help ? help : name);
	if (x->name == NULL || x->labels == NULL || x->help == NULL) {
		free(x->name);
		free(x->labels);
		free(x->help);
		free(x);
		x = NULL;
		goto out;
	}
	*m->tail = x;
	m->tail = &x->next;
out:
	pthread_mutex_unlock(&m->mtx);
	return x;
}

gt_counter *
gt_metrics_counter(gt_metrics *m, const char *name, const char *labels, const char *help)
{
	metric *x = metrics_get(m, M_COUNTER, name, labels, help);
	return x ? &x->u.c : NULL;
}

gt_gauge *
gt_metrics_gauge(gt_metrics *m, const char *name, const char *labels, const char *help)
{
	metric *x = metrics_get(m, M_GAUGE, name, labels, help);
	return x ? &x->u.g : NULL;
}

gt_gauge *
gt_metrics_gauge_fn(gt_metrics *m, const char *name, const char *labels, const char *help,
    double (*fn)(void *arg), void *arg)
{
	metric *x = metrics_get(m, M_GAUGE, name, labels, help);

	if (x == NULL)
		return NULL;
	pthread_mutex_lock(&m->mtx);
	x->u.g.fn = fn;
	x->u.g.arg = arg;
	pthread_mutex_unlock(&m->mtx);
	return &x->u.g;
}

gt_hist *
gt_metrics_hist(gt_metrics *m, const char *name, const char *labels, const char *help)
{
	metric *x = metrics_get(m, M_HIST, name, labels, help);
	return x ? &x->u.h : NULL;
}

void
gt_counter_add(gt_counter *c, uint64_t n)
{
	if (c != NULL)
		atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
}

void
gt_counter_inc(gt_counter *c)
{
	gt_counter_add(c, 1);
}

uint64_t
gt_counter_get(const gt_counter *c)
{
	return c ? atomic_load_explicit(&((gt_counter *)c)->v, memory_order_relaxed) : 0;
}

static uint64_t
dbl_bits(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof(u));
	return u;
}

static double
bits_dbl(uint64_t u)
{
	double d;
	memcpy(&d, &u, sizeof(d));
	return d;
}

void
gt_gauge_set(gt_gauge *g, double v)
{
	if (g != NULL)
		atomic_store_explicit(&g->bits, dbl_bits(v), memory_order_relaxed);
}

void
gt_gauge_add(gt_gauge *g, double d)
{
	uint64_t old;

	if (g == NULL)
		return;
	old = atomic_load_explicit(&g->bits, memory_order_relaxed);
	while (!atomic_compare_exchange_weak(&g->bits, &old, dbl_bits(bits_dbl(old) + d)))
		;
}

double
gt_gauge_get(const gt_gauge *g)
{
	if (g == NULL)
		return 0;
	if (g->fn != NULL)
		return g->fn(g->arg);
	return bits_dbl(atomic_load_explicit(&((gt_gauge *)g)->bits, memory_order_relaxed));
}

void
gt_hist_observe_ns(gt_hist *h, int64_t ns)
{
	double s = (double)ns / 1e9;
	size_t i = 0;

	if (h == NULL)
		return;
	if (ns < 0)
		ns = 0;
	while (i < HIST_N && s > hist_bounds[i])
		i++;
	atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, (uint64_t)ns, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

uint64_t
gt_hist_count(const gt_hist *h)
{
	return h ? atomic_load(&((gt_hist *)h)->count) : 0;
}

double
gt_hist_quantile(const gt_hist *hc, double q)
{
	gt_hist *h = (gt_hist *)hc;
	uint64_t counts[HIST_N + 1], total = 0, acc = 0;
	double   rank;

	if (h == NULL)
		return 0;
	for (size_t i = 0; i <= HIST_N; i++) {
		counts[i] = atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
		total += counts[i];
	}
	if (total == 0)
		return 0;
	rank = q * (double)total;
	for (size_t i = 0; i <= HIST_N; i++) {
		if (counts[i] > 0 && (double)(acc + counts[i]) >= rank) {
			double lo = i == 0 ? 0 : hist_bounds[i - 1];
			double hi = i < HIST_N ? hist_bounds[i] : hist_bounds[HIST_N - 1] * 2;
			double frac = (rank - (double)acc) / (double)counts[i];
			if (frac < 0)
				frac = 0;
			return lo + (hi - lo) * frac;
		}
		acc += counts[i];
	}
	return hist_bounds[HIST_N - 1];
}

static void
prom_series(gt_buf *out, const char *prefix, const char *name, const char *suffix,
    const char *labels, const char *extra)
{
	int has = labels && *labels;

	gt_buf_printf(out, "%s%s%s", prefix, name, suffix);
	if (has || extra) {
		gt_buf_printf(out, "{%s%s%s}", has ? labels : "", has && extra ? "," : "",
		    extra ? extra : "");
	}
	gt_buf_putc(out, ' ');
}

static void
prom_double(gt_buf *out, double v)
{
	if (isnan(v))
		gt_buf_puts(out, "NaN");
	else if (isinf(v))
		gt_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
	else
		gt_buf_printf(out, "%.17g", v);
}

gt_err
gt_metrics_prometheus(gt_metrics *m, gt_buf *out)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};

	pthread_mutex_lock(&m->mtx);
	for (metric *x = m->head; x != NULL; x = x->next) {
		int seen = 0;
		for (metric *y = m->head; y != x; y = y->next) {
			if (strcmp(y->name, x->name) == 0) {
				seen = 1;
				break;
			}
		}
		if (seen)
			continue;
		gt_buf_printf(out, "# HELP %s%s %s\n# TYPE %s%s %s\n", m->prefix, x->name, x->help,
		    m->prefix, x->name, types[x->kind]);
		for (metric *y = x; y != NULL; y = y->next) {
			if (strcmp(y->name, x->name) != 0)
				continue;
			switch (y->kind) {
			case M_COUNTER:
				prom_series(out, m->prefix, y->name, "", y->labels, NULL);
				gt_buf_printf(out, "%llu\n", (unsigned long long)gt_counter_get(&y->u.c));
				break;
			case M_GAUGE:
				prom_series(out, m->prefix, y->name, "", y->labels, NULL);
				prom_double(out, gt_gauge_get(&y->u.g));
				gt_buf_putc(out, '\n');
				break;
			case M_HIST: {
				uint64_t acc = 0;
				char     le[48];
				for (size_t i = 0; i <= HIST_N; i++) {
					acc += atomic_load(&y->u.h.buckets[i]);
					if (i < HIST_N)
						snprintf(le, sizeof(le), "le=\"%g\"", hist_bounds[i]);
					else
						snprintf(le, sizeof(le), "le=\"+Inf\"");
					prom_series(out, m->prefix, y->name, "_bucket", y->labels, le);
					gt_buf_printf(out, "%llu\n", (unsigned long long)acc);
				}
				prom_series(out, m->prefix, y->name, "_sum", y->labels, NULL);
				gt_buf_printf(out, "%.9f\n", (double)atomic_load(&y->u.h.sum_ns) / 1e9);
				prom_series(out, m->prefix, y->name, "_count", y->labels, NULL);
				gt_buf_printf(out, "%llu\n", (unsigned long long)atomic_load(&y->u.h.count));
				break;
			}
			}
		}
	}
	pthread_mutex_unlock(&m->mtx);
	return out->data == NULL ? gt_buf_puts(out, "") : GT_OK;
}

gt_err
gt_metrics_json(gt_metrics *m, gt_buf *out, int *first)
{
	gt_buf key;

	gt_buf_init(&key);
	pthread_mutex_lock(&m->mtx);
	for (metric *x = m->head; x != NULL; x = x->next) {
		gt_buf_reset(&key);
		gt_buf_puts(&key, x->name);
		if (*x->labels)
			gt_buf_printf(&key, "{%s}", x->labels);
		gt_json_key(out, first, key.data);
		switch (x->kind) {
		case M_COUNTER:
			gt_json_uint(out, gt_counter_get(&x->u.c));
			break;
		case M_GAUGE:
			gt_json_dbl(out, gt_gauge_get(&x->u.g));
			break;
		case M_HIST:
			gt_buf_printf(out, "{\"count\":%llu,\"p50_ms\":",
			    (unsigned long long)gt_hist_count(&x->u.h));
			gt_json_dbl(out, gt_hist_quantile(&x->u.h, 0.5) * 1e3);
			gt_buf_puts(out, ",\"p99_ms\":");
			gt_json_dbl(out, gt_hist_quantile(&x->u.h, 0.99) * 1e3);
			gt_buf_putc(out, '}');
			break;
		}
	}
	pthread_mutex_unlock(&m->mtx);
	gt_buf_fini(&key);
	return GT_OK;
}
