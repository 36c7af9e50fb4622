/* col_writer.c - the writer thread (batches in fetch order: dedup against the checkpoint marks,
 * append + commit to the files, cache, live feed, dead-letter invalid records) and the syncer
 * thread (fdatasync, checkpoint save, then Ack of what became durable). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "col_consumer_int.h"
#include "gt/gt_log.h"
#include "gt/gt_time.h"

/* A unit of durability: fsync these descriptors, then write this checkpoint document, then
 * ack these ids. Built by the writer, run by the syncer thread in order. */
struct sync_job {
	int   *fds;
	size_t nfds;
	id_vec acks;
	gt_buf ckpt;
	int    has_ckpt;
};

static void
ack_ids(col_consumer *c, gt_rpc_stub *stub, const id_vec *v)
{
	Gtpb__V1__AckRange **rgs;
	size_t               i = 0;

	if (v->n == 0)
		return;
	if ((rgs = malloc((v->n < ACK_MAX ? v->n : ACK_MAX) * sizeof(*rgs))) == NULL)
		return; /* not acked: redelivered, then acked as duplicates */
	while (i < v->n) {
		Gtpb__V1__AckRequest req = GTPB__V1__ACK_REQUEST__INIT;
		ProtobufCMessage    *out = NULL;
		size_t               k = 0, n = 0;
		int                  tries;
		gt_err               rv = GT_EUNAVAIL;

		/* up to ACK_MAX runs and ACK_MAX_IDS ids (a run holds at most that many) */
		while (i + k < v->n && k < ACK_MAX && n + v->v[i + k].count <= ACK_MAX_IDS) {
			rgs[k] = &v->v[i + k];
			n += v->v[i + k].count;
			k++;
		}
		req.topic = c->topic;
		req.group = c->group;
		req.consumer = c->name;
		req.n_ranges = k;
		req.ranges = rgs;
		for (tries = 0; tries < 3; tries++) {
			if ((rv = gt_rpc_call_by_name(stub, "Ack", &req.base, &out)) == GT_OK ||
			    stub->status.code == GT_RPC_NOT_FOUND ||
			    stub->status.code == GT_RPC_INVALID_ARGUMENT)
				break;
			gt_sleep_ns(50 * GT_NS_PER_MS);
		}
		if (rv == GT_OK) {
			gt_counter_add(c->m_acked, n);
			protobuf_c_message_free_unpacked(out, NULL);
		} else {
			/* NOT_FOUND: another epoch or a rebalanced partition. Either way the broker
			 * redelivers and the checkpoint marks turn that into a plain ack. */
			gt_counter_add(c->m_ackfail, n);
			GT_LOGW("consumer.ack_failed",
			        GT_KV_STR("code", gt_rpc_code_name(stub->status.code)),
			        GT_KV_STR("detail", stub->status.message), GT_KV_UINT("ids", n));
		}
		i += k;
	}
	free(rgs);
}

void
col_sync_job_free(sync_job *j)
{
	size_t i;

	if (j == NULL)
		return;
	for (i = 0; i < j->nfds; i++)
		close(j->fds[i]);
	free(j->fds);
	free(j->acks.v);
	gt_buf_fini(&j->ckpt);
	free(j);
}

void *
col_syncer_main(void *arg)
{
	col_consumer *c = arg;
	gt_rpc_stub   stub;
	void         *item;

	pthread_setname_np(pthread_self(), "col-sync");
	gt_rpc_stub_init(&stub, c->cli, &gtpb__v1__message_queue__descriptor, 5 * GT_NS_PER_S);
	while (gt_queue_pop(c->syncq, &item, -1) == GT_OK) {
		sync_job *j = item;
		size_t    i;
		int64_t   t0 = gt_mono_ns();
		int       ok = 1;

		for (i = 0; i < j->nfds; i++) {
			if (fdatasync(j->fds[i]) != 0) {
				ok = 0;
				atomic_store(&c->sync_err, (int)gt_err_from_errno(errno));
				GT_LOGE("file.fsync_failed", GT_KV_STR("error", strerror(errno)));
			}
		}
		if (ok && j->nfds > 0)
			atomic_store(&c->sync_err, GT_OK);
		if (j->nfds > 0)
			gt_hist_observe_ns(c->m_sync, gt_mono_ns() - t0);
		if (j->has_ckpt) {
			gt_err rv = col_ckpt_write(c->ckpt_path, j->ckpt.data, j->ckpt.len);

			if (rv != GT_OK)
				GT_LOGE("checkpoint.save_failed", GT_KV_STR("path", c->ckpt_path),
				        GT_KV_ERR(rv));
			else
				atomic_fetch_add(&c->checkpoints, 1);
		}
		/* not durable: no ack (the broker redelivers; the marks deduplicate) */
		if (ok)
			ack_ids(c, &stub, &j->acks);
		col_sync_job_free(j);
	}
	return NULL;
}

/* Dead-letter the invalid deliveries of a batch: one Nack per distinct reason (reasons are
 * static strings, so pointers compare). */
static void
nack_invalid(col_consumer *c, gt_rpc_stub *stub, cons_batch *b)
{
	size_t                n = b->fetch.n, i, k;
	Gtpb__V1__DeliveryId *idv, **ids;
	const char           *done[16];
	size_t                ndone = 0;

	idv = malloc(n * sizeof(*idv));
	ids = malloc(n * sizeof(*ids));
	if (idv == NULL || ids == NULL)
		goto out; /* not acked either: redelivered, then dead-lettered after the retries */
	for (;;) {
		const char           *reason = NULL;
		Gtpb__V1__NackRequest req = GTPB__V1__NACK_REQUEST__INIT;
		ProtobufCMessage     *out = NULL;

		for (i = 0, k = 0; i < n; i++) {
			const char    *r = b->items[i].reason;
			const col_dlv *d = &b->fetch.v[i];
			size_t         j;
			int            seen = 0;

			if (r == NULL || !d->has_id)
				continue;
			for (j = 0; j < ndone; j++)
				seen |= done[j] == r;
			if (seen || (reason != NULL && r != reason))
				continue;
			reason = r;
			gtpb__v1__delivery_id__init(&idv[k]);
			idv[k].epoch = d->epoch;
			idv[k].partition = d->partition;
			idv[k].offset = d->offset;
			ids[k] = &idv[k];
			k++;
		}
		if (k == 0 || ndone == 16)
			break;
		done[ndone++] = reason;
		req.topic = c->topic;
		req.group = c->group;
		req.consumer = c->name;
		req.n_ids = k;
		req.ids = ids;
		req.reason = (char *)reason;
		req.dead_letter = 1;
		GT_LOGW("consumer.invalid_record", GT_KV_STR("reason", reason),
		        GT_KV_UINT("count", k), GT_KV_UINT("partition", ids[0]->partition),
		        GT_KV_UINT("offset", ids[0]->offset));
		if (gt_rpc_call_by_name(stub, "Nack", &req.base, &out) == GT_OK)
			protobuf_c_message_free_unpacked(out, NULL);
		else
			GT_LOGW("consumer.nack_failed",
			        GT_KV_STR("code", gt_rpc_code_name(stub->status.code)));
	}
out:
	free(ids);
	free(idv);
}

/* Hand what was written since the last call to the syncer: descriptors to fsync (interval
 * policy), the checkpoint when due, the ids to ack afterwards. force: everything now. */
static void
writer_durable(col_consumer *c, int force)
{
	int64_t   now = gt_mono_ns();
	sync_job *j;
	int       want_ckpt;

	if (c->cfg.fsync == COL_FSYNC_INTERVAL && !force && now < c->next_sync)
		return;
	want_ckpt = c->ckpt_path != NULL && c->ckpt_dirty && (force || now >= c->next_ckpt);
	if (c->pending.ids == 0 && !want_ckpt && c->cfg.fsync != COL_FSYNC_INTERVAL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return;
	gt_buf_init(&j->ckpt);
	if (c->cfg.fsync == COL_FSYNC_INTERVAL) {
		col_store_sync_take(c->store, &j->fds, &j->nfds);
		c->next_sync = now + c->cfg.fsync_interval_ns;
	}
	if (want_ckpt) {
		col_ckpt_file *files = NULL;
		size_t         n = 0;

		if (col_store_files(c->store, &files, &n) == GT_OK &&
		    col_ckpt_encode(c->ckpt, files, n, &j->ckpt) == GT_OK)
			j->has_ckpt = 1;
		col_ckpt_files_free(files, n);
		c->ckpt_dirty = 0;
		c->next_ckpt = now + c->cfg.ckpt_interval_ns;
	}
	j->acks = c->pending; /* moved; the next interval likely needs as many */
	memset(&c->pending, 0, sizeof(c->pending));
	if (j->acks.n > 0 && (c->pending.v = malloc(j->acks.n * sizeof(*c->pending.v))) != NULL)
		c->pending.cap = j->acks.n;
	atomic_store(&c->pending_n, 0);
	if (j->nfds == 0 && j->acks.ids == 0 && !j->has_ckpt) {
		col_sync_job_free(j);
		return;
	}
	if (gt_queue_push(c->syncq, j, -1) != GT_OK)
		col_sync_job_free(j);
}

static int64_t
store_floor(void *store, const char *key)
{
	return col_store_batch_floor(store, key);
}

/* Append items todo[0..ntodo) of b and commit. What was written is marked, queued for its
 * ack, cached and published; what was not (disk full, I/O error) is left in todo (compacted)
 * for the caller to retry. Returns the number left. */
static size_t
writer_store(col_consumer *c, cons_batch *b, size_t *todo, size_t ntodo, int *rotated)
{
	col_rec       **recs = c->wrecs;
	const uint8_t **pays = c->wpays;
	size_t         *lens = c->wlens;
	size_t          t, k = 0, left = 0;
	int64_t         t0 = gt_mono_ns();
	gt_err          rv, arv = GT_OK;

	for (t = 0; t < ntodo; t++) {
		size_t      i = todo[t];
		cons_item  *it = &b->items[i];
		cons_chunk *ch = &b->chunks[i / CHUNK];

		if (arv == GT_OK)
			arv = col_store_append_ref(c->store, it->rec,
			                           ch->lines.data + it->line_off, it->line_len);
		if (arv != GT_OK) {
			todo[left++] = i; /* not appended: retried */
			continue;
		}
		recs[k] = it->rec;
		lens[k] = i; /* index for now */
		k++;
	}
	if (arv != GT_OK)
		GT_LOGE("consumer.append_failed", GT_KV_ERR(arv), GT_KV_UINT("appended", k));
	rv = col_store_commit(c->store, rotated);
	gt_hist_observe_ns(c->m_write, gt_mono_ns() - t0);
	if (rv != GT_OK) {
		size_t kk = 0;

		/* keep what reached its file; the rest is retried */
		for (t = 0; t < k; t++) {
			if (col_store_committed(c->store, recs[t])) {
				recs[kk] = recs[t];
				lens[kk++] = lens[t];
			} else {
				todo[left++] = lens[t];
			}
		}
		atomic_store(&c->write_err, (int)rv);
		if (kk < k)
			GT_LOGE("consumer.write_failed", GT_KV_ERR(rv), GT_KV_UINT("written", kk),
			        GT_KV_UINT("not_written", k - kk));
		k = kk;
	}
	for (t = 0; t < k; t++) {
		const col_dlv *d = &b->fetch.v[lens[t]];

		col_ckpt_mark(c->ckpt, d->epoch, d->partition, d->offset);
		col_ids_push(&c->pending, d);
		pays[t] = d->payload;
		lens[t] = d->payload_len;
	}
	col_cache_put_batch(c->cache, recs, k, store_floor, c->store);
	if (k > 0)
		c->ckpt_dirty = 1;
	if (*rotated)
		c->next_ckpt = 0; /* save now: recovery scans from the saved sizes */
	gt_counter_add(c->m_stored, k);
	atomic_store(&c->pending_n, c->pending.ids);
	if (k > 0 && c->stored)
		c->stored(c->stored_arg, recs, pays, lens, k);
	return left;
}

static void
writer_batch(col_consumer *c, gt_rpc_stub *stub, cons_batch *b)
{
	uint64_t epoch = b->fetch.epoch;
	size_t   n = b->fetch.n, i, ntodo = 0;
	int      rotated = 0, stalled = 0;
	uint64_t dups = 0, invalid = 0;

	pthread_mutex_lock(&b->mtx);
	while (b->left > 0)
		pthread_cond_wait(&b->cv, &b->mtx);
	pthread_mutex_unlock(&b->mtx);
	atomic_fetch_add(&c->batches, 1);
	if (col_ckpt_epoch(c->ckpt, epoch)) {
		GT_LOGI("consumer.epoch", GT_KV_UINT("epoch", epoch));
		c->ckpt_dirty = 1;
	}
	if (c->pending.ids > 0 && c->pending_epoch != epoch) {
		c->pending.n = c->pending.ids = 0; /* the old broker epoch is gone */
		atomic_store(&c->pending_n, 0);
	}
	c->pending_epoch = epoch;
	if (c->wcap < n) {
		free(c->wrecs);
		free(c->wpays);
		free(c->wlens);
		free(c->wtodo);
		c->wrecs = malloc(n * sizeof(*c->wrecs));
		c->wpays = malloc(n * sizeof(*c->wpays));
		c->wlens = malloc(n * sizeof(*c->wlens));
		c->wtodo = malloc(n * sizeof(*c->wtodo));
		c->wcap = n;
		if (c->wrecs == NULL || c->wpays == NULL || c->wlens == NULL || c->wtodo == NULL) {
			c->wcap = 0;
			goto out; /* nothing acked: redelivered */
		}
	}
	for (i = 0; i < n; i++) {
		const col_dlv *d = &b->fetch.v[i];

		if (!d->has_id)
			continue;
		if (b->items[i].reason != NULL) {
			invalid++;
			continue;
		}
		if (d->epoch == epoch &&
		    col_ckpt_seen(c->ckpt, d->epoch, d->partition, d->offset)) {
			dups++;
			col_ids_push(&c->pending, d);
			continue;
		}
		c->wtodo[ntodo++] = i;
	}
	if (invalid > 0)
		nack_invalid(c, stub, b);
	gt_counter_add(c->m_dup, dups);
	gt_counter_add(c->m_invalid, invalid);
	/* Write until everything is in its file. While writes fail (disk full, I/O errors) the
	 * batch is retried every second and nothing more is fetched (col_consumer's fetch loop
	 * waits on `stalled`): the deliveries stay pending at the broker, are neither nacked
	 * nor redelivered into the DLQ, and what did get written is acked meanwhile. On stop the
	 * rest stays unacked and comes back to the next run. */
	while ((ntodo = writer_store(c, b, c->wtodo, ntodo, &rotated)) > 0) {
		if (!stalled) {
			stalled = 1;
			atomic_store(&c->stalled, 1);
			GT_LOGE("consumer.write_stalled",
			        GT_KV_ERR((gt_err)atomic_load(&c->write_err)),
			        GT_KV_UINT("records", ntodo));
		}
		writer_durable(c, 0);
		for (i = 0; i < 20 && !atomic_load(&c->stopping); i++)
			gt_sleep_ns(50 * GT_NS_PER_MS);
		if (atomic_load(&c->stopping))
			break;
	}
	if (stalled && ntodo == 0) {
		atomic_store(&c->stalled, 0);
		GT_LOGI("consumer.write_resumed");
	}
out:
	writer_durable(c, c->pending.ids >= 200000);
}

void *
col_writer_main(void *arg)
{
	col_consumer *c = arg;
	gt_rpc_stub   stub;
	void         *item;
	gt_err        rv;

	pthread_setname_np(pthread_self(), "col-writer");
	gt_rpc_stub_init(&stub, c->cli, &gtpb__v1__message_queue__descriptor, 5 * GT_NS_PER_S);
	c->next_sync = gt_mono_ns() + c->cfg.fsync_interval_ns;
	c->next_ckpt = gt_mono_ns() + c->cfg.ckpt_interval_ns;
	c->next_retention = gt_mono_ns();
	for (;;) {
		rv = gt_queue_pop(c->writeq, &item, 50 * GT_NS_PER_MS);
		if (rv == GT_OK) {
			writer_batch(c, &stub, item);
			col_batch_recycle(c, item);
		} else if (rv == GT_ETIMEDOUT) {
			writer_durable(c, 0);
		} else {
			break; /* closed and drained */
		}
		if (c->cfg.retention_every_ns > 0 && gt_mono_ns() >= c->next_retention) {
			col_store_retention(c->store, gt_now_ns());
			c->next_retention = gt_mono_ns() + c->cfg.retention_every_ns;
		}
	}
	c->ckpt_dirty = c->ckpt_path != NULL;
	writer_durable(c, 1);
	gt_queue_close(c->syncq);
	return NULL;
}
