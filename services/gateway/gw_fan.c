/* gw_fan.c - scatter-gather: one asynchronous RPC per dependency, answers gathered, one done
 * callback when the last arrives (each call carries the deadline, so done always runs by
 * then: a collector that is down or stuck makes the answer partial, never a hang). */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_json.h"
#include "gt/gt_time.h"
#include "gw_int.h"

/* Each unpacked answer lives in an arena of its own (protobuf-c allocates every string, map
 * entry and repeated field separately: thousands of mallocs for 100 records), released at
 * once after done. One arena per answer, not per scatter-gather: an answer is unpacked by
 * one callback thread, so its arena needs no lock. */
typedef struct arena_chunk {
	struct arena_chunk *next;
	size_t              used, cap;
	max_align_t         data[];
} arena_chunk;

typedef struct arena {
	arena_chunk       *head;
	ProtobufCAllocator alloc; /* allocator_data = this arena */
} arena;

static void *
arena_alloc(void *data, size_t size)
{
	arena       *a = data;
	arena_chunk *c;
	void        *p;

	size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	c = a->head;
	if (c == NULL || c->cap - c->used < size) {
		size_t cap = size > 256 * 1024 ? size : 256 * 1024;

		if ((c = malloc(sizeof(*c) + cap)) == NULL)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
	}
	p = (char *)c->data + c->used;
	c->used += size;
	return p;
}

static void
arena_free(void *data, void *p)
{
	(void)data;
	(void)p;
}

typedef struct fan {
	gw                               *g;
	arena                            *ar; /* one per answer */
	const ProtobufCMessageDescriptor *outd;
	atomic_size_t                     left;
	gw_fan_done                       done;
	void                             *arg;
	size_t                            n;
	gw_fan_res                        res[];
} fan;

typedef struct fan_slot {
	fan   *f;
	size_t i;
} fan_slot;

static void
fan_finish(fan *f)
{
	size_t i;

	f->done(f->arg, f->res, f->n);
	for (i = 0; i < f->n; i++)
		while (f->ar[i].head != NULL) {
			arena_chunk *c = f->ar[i].head;

			f->ar[i].head = c->next;
			free(c);
		}
	free(f->ar);
	free(f);
}

static void
fan_one_done(fan *f)
{
	if (atomic_fetch_sub(&f->left, 1) == 1)
		fan_finish(f);
}

/* nng callback thread */
static void
fan_cb(void *arg, const gt_rpc_status *st, const uint8_t *payload, size_t len)
{
	fan_slot   *s = arg;
	fan        *f = s->f;
	gw_fan_res *r = &f->res[s->i];

	r->code = st->code;
	snprintf(r->msg, sizeof(r->msg), "%s", st->message);
	if (st->code == GT_RPC_OK && (r->out = protobuf_c_message_unpack(
	                                  f->outd, &f->ar[s->i].alloc, len, payload)) == NULL) {
		r->code = GT_RPC_INTERNAL;
		snprintf(r->msg, sizeof(r->msg), "undecodable %s", f->outd->name);
	}
	free(s);
	fan_one_done(f);
}

gt_err
gw_fan(gw *g, gw_dep *const *deps, size_t n, const ProtobufCServiceDescriptor *svc,
       const char *method, const ProtobufCMessage *in, int64_t timeout, gw_fan_done done, void *arg)
{
	const ProtobufCMethodDescriptor *md;
	fan                             *f;
	size_t                           i;

	if (n == 0 || (svc == NULL && deps[0]->svc == NULL))
		return GT_EINVAL;
	md = protobuf_c_service_descriptor_get_method_by_name(svc ? svc : deps[0]->svc, method);
	if (md == NULL)
		return GT_EINVAL;
	if ((f = calloc(1, sizeof(*f) + n * sizeof(f->res[0]))) == NULL)
		return GT_ENOMEM;
	if ((f->ar = calloc(n ? n : 1, sizeof(*f->ar))) == NULL) {
		free(f);
		return GT_ENOMEM;
	}
	f->g = g;
	for (i = 0; i < n; i++) {
		f->ar[i].alloc.alloc = arena_alloc;
		f->ar[i].alloc.free = arena_free;
		f->ar[i].alloc.allocator_data = &f->ar[i];
	}
	f->outd = md->output;
	f->done = done;
	f->arg = arg;
	f->n = n;
	atomic_init(&f->left, n + 1);
	if (timeout <= 0)
		timeout = g->cfg->rpc_timeout;
	for (i = 0; i < n; i++) {
		gw_fan_res *r = &f->res[i];
		fan_slot   *s;
		gt_err      rv;

		r->dep = deps[i];
		if (atomic_load(&deps[i]->down)) {
			r->code = GT_RPC_UNAVAILABLE;
			snprintf(r->msg, sizeof(r->msg), "%s is down (%s)", deps[i]->name,
			         "last health check failed");
			atomic_fetch_sub(&f->left, 1);
			continue;
		}
		if ((s = malloc(sizeof(*s))) == NULL) {
			r->code = GT_RPC_RESOURCE_EXHAUSTED;
			snprintf(r->msg, sizeof(r->msg), "out of memory");
			atomic_fetch_sub(&f->left, 1);
			continue;
		}
		s->f = f;
		s->i = i;
		rv = gt_rpc_call_async(deps[i]->cli, svc ? svc : deps[i]->svc, method, in, timeout,
		                       fan_cb, s);
		if (rv != GT_OK) {
			free(s);
			r->code = rv == GT_ECLOSED ? GT_RPC_CANCELLED : GT_RPC_UNAVAILABLE;
			snprintf(r->msg, sizeof(r->msg), "call failed: %s", gt_strerror(rv));
			atomic_fetch_sub(&f->left, 1);
		}
	}
	fan_one_done(f);
	return GT_OK;
}

size_t
gw_collectors(gw *g, gw_dep **out)
{
	size_t i;

	for (i = 0; i < g->ncol; i++)
		out[i] = &g->col[i];
	return g->ncol;
}

size_t
gw_partial_json(gt_buf *b, const gw_fan_res *res, size_t n)
{
	size_t i, missing = 0;

	for (i = 0; i < n; i++)
		if (res[i].code != GT_RPC_OK && res[i].code != GT_RPC_NOT_FOUND)
			missing++;
	if (missing == 0)
		return (size_t)gt_buf_puts(b, ",\"partial\":false") * 0;
	gt_buf_puts(b, ",\"partial\":true,\"missing\":[");
	missing = 0;
	for (i = 0; i < n; i++) {
		if (res[i].code == GT_RPC_OK || res[i].code == GT_RPC_NOT_FOUND)
			continue;
		if (missing++)
			gt_buf_putc(b, ',');
		gt_json_cstr(b, res[i].dep->name);
	}
	gt_buf_putc(b, ']');
	return missing;
}

int
gw_fan_fail_status(const gw_fan_res *res, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (res[i].code == GT_RPC_DEADLINE_EXCEEDED)
			return 504;
	return 503;
}
