/* gw_alert_hook.c - the alert webhook (--alert-webhook): one sender thread POSTs each change
 * as JSON, in order. A failed POST (no answer, or a status other than 2xx) is retried with
 * backoff (250ms doubling to 10s, at most HOOK_ATTEMPTS times). The queue is bounded: when
 * the receiver is down long enough to fill it, the oldest bodies are dropped. push never
 * waits on the network. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gt/gt_log.h"
#include "gt/gt_time.h"
#include "gw_alert.h"

#define HOOK_ATTEMPTS 12
#define HOOK_BACKOFF_MIN (250 * GT_NS_PER_MS)
#define HOOK_BACKOFF_MAX (10 * GT_NS_PER_S)

typedef struct hbody {
	struct hbody *next;
	size_t        len;
	char          data[];
} hbody;

struct gw_alert_hook {
	char                *url;
	pthread_t            thr;
	pthread_mutex_t      mu;
	pthread_cond_t       cv; /* CLOCK_MONOTONIC */
	hbody               *head, *tail;
	size_t               n, max;
	int                  stopping, busy; /* busy: the head is being posted (not dropped) */
	atomic_uint_fast64_t failures, sent, dropped;
};

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* One POST; 1 when the receiver answered 2xx. */
static int
post(CURL *c, const char *url, const hbody *b, char *why, size_t whylen)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	long               code = 0;
	CURLcode           rc;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, &b->data[0]);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)b->len);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "gt-gateway");
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	if (rc != CURLE_OK)
		snprintf(why, whylen, "%s", curl_easy_strerror(rc));
	else if (code < 200 || code > 299)
		snprintf(why, whylen, "HTTP status %ld", code);
	return rc == CURLE_OK && code >= 200 && code <= 299;
}

/* Under mu: waits until ns (monotonic) or a signal. */
static void
wait_until(gw_alert_hook *h, int64_t ns)
{
	struct timespec ts;

	ts.tv_sec = ns / GT_NS_PER_S;
	ts.tv_nsec = ns % GT_NS_PER_S;
	pthread_cond_timedwait(&h->cv, &h->mu, &ts);
}

static void *
hook_thread(void *arg)
{
	gw_alert_hook *h = arg;
	CURL          *c = curl_easy_init();
	int            attempts = 0;
	int64_t        backoff = HOOK_BACKOFF_MIN, retry_at = 0;
	char           why[256];

	pthread_mutex_lock(&h->mu);
	while (!h->stopping) {
		hbody *b;
		int    ok;

		if (h->head == NULL) {
			pthread_cond_wait(&h->cv, &h->mu);
			continue;
		}
		if (retry_at > gt_mono_ns()) {
			wait_until(h, retry_at);
			continue;
		}
		b = h->head; /* stays queued while posting; busy keeps push from dropping it */
		h->busy = 1;
		pthread_mutex_unlock(&h->mu);
		ok = c != NULL && post(c, h->url, b, why, sizeof(why));
		if (c == NULL)
			snprintf(why, sizeof(why), "curl_easy_init failed");
		pthread_mutex_lock(&h->mu);
		h->busy = 0;
		attempts++;
		if (!ok) {
			atomic_fetch_add(&h->failures, 1);
			GT_LOGW("alert.webhook_failed", GT_KV_STR("url", h->url),
			        GT_KV_STR("error", why), GT_KV_INT("attempt", attempts));
			if (attempts < HOOK_ATTEMPTS) {
				retry_at = gt_mono_ns() + backoff;
				backoff =
				    backoff * 2 > HOOK_BACKOFF_MAX ? HOOK_BACKOFF_MAX : backoff * 2;
				continue;
			}
			atomic_fetch_add(&h->dropped, 1);
		} else {
			atomic_fetch_add(&h->sent, 1);
		}
		h->head = b->next;
		if (h->head == NULL)
			h->tail = NULL;
		h->n--;
		free(b);
		attempts = 0;
		backoff = HOOK_BACKOFF_MIN;
		retry_at = 0;
	}
	pthread_mutex_unlock(&h->mu);
	if (c != NULL)
		curl_easy_cleanup(c);
	return NULL;
}

gt_err
gw_alert_hook_start(gw_alert_hook **out, const char *url, size_t queue)
{
	gw_alert_hook     *h;
	pthread_condattr_t ca;
	int                err;

	if ((h = calloc(1, sizeof(*h))) == NULL || (h->url = strdup(url)) == NULL) {
		free(h);
		return GT_ENOMEM;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	h->max = queue ? queue : 1;
	pthread_mutex_init(&h->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((err = pthread_create(&h->thr, NULL, hook_thread, h)) != 0) {
		pthread_cond_destroy(&h->cv);
		pthread_mutex_destroy(&h->mu);
		free(h->url);
		free(h);
		return gt_err_from_errno(err);
	}
	*out = h;
	return GT_OK;
}

void
gw_alert_hook_push(gw_alert_hook *h, const char *body, size_t len)
{
	hbody *b;

	if (h == NULL || (b = malloc(sizeof(*b) + len + 1)) == NULL)
		return;
	b->next = NULL;
	b->len = len;
	memcpy(b->data, body, len);
	b->data[len] = '\0';
	pthread_mutex_lock(&h->mu);
	if (h->n >= h->max) {
		/* the oldest that is not being posted */
		hbody **pp = h->busy ? &h->head->next : &h->head, *old = *pp;

		atomic_fetch_add(&h->dropped, 1);
		if (old == NULL) {
			pthread_mutex_unlock(&h->mu);
			free(b);
			return;
		}
		*pp = old->next;
		if (h->tail == old)
			h->tail = pp == &h->head ? NULL : h->head;
		h->n--;
		free(old);
	}
	if (h->tail)
		h->tail->next = b;
	else
		h->head = b;
	h->tail = b;
	h->n++;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

uint64_t
gw_alert_hook_failures(gw_alert_hook *h)
{
	return h ? atomic_load(&h->failures) : 0;
}

uint64_t
gw_alert_hook_sent(gw_alert_hook *h)
{
	return h ? atomic_load(&h->sent) : 0;
}

void
gw_alert_hook_stats_get(gw_alert_hook *h, gw_alert_hook_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (h == NULL)
		return;
	out->sent = atomic_load(&h->sent);
	out->failed = atomic_load(&h->failures);
	out->dropped = atomic_load(&h->dropped);
	pthread_mutex_lock(&h->mu);
	out->queued = h->n;
	pthread_mutex_unlock(&h->mu);
}

void
gw_alert_hook_stop(gw_alert_hook *h)
{
	hbody *b, *next;

	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	h->stopping = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thr, NULL);
	for (b = h->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h->url);
	free(h);
	curl_global_cleanup();
}
