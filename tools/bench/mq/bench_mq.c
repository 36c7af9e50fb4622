/* bench_mq.c - gt-mq against Redis Streams, same workload, same machine, same run.
 *
 * Workload: N records (default 1,000,000) of ~200 bytes (64 GPU keys), one producer, one
 * consumer acking every record. For each broker configuration (gt-mq in memory, gt-mq
 * with --persistence --fsync interval, Redis in memory, Redis AOF everysec):
 *   publish    N records, batches of --batch (Redis: XADD pipelined x100)
 *   e2e        producer and consumer together; time until the last record is acked
 *   paced      --paced-rate msg/s for --paced-seconds, one record per publish; latency
 *              publish call -> consumer receipt (p50/p99)
 *   rss        peak RSS of the broker after N records queued and delivered, none acked
 *   wal        bytes on disk per record (persistent configurations)
 * Each figure is the median of --runs runs (fresh broker process per run).
 * Brokers are spawned on loopback ephemeral ports; nothing is left running. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gt/gt_rpc.h"
#include "gt/gt_time.h"
#include "gtpb/v1/mq.pb-c.h"
#include "mq_codec.h"

#define NKEYS 64
#define PAYLOAD 200
#define MAXRUNS 9

typedef struct opts {
	long        records;
	int         runs;
	int         batch;
	int         paced_rate;
	int         paced_seconds;
	const char *mq_bin;
	const char *redis_bin;
	int         skip_redis;
	const char *only;
} opts;

static opts O = {1000000, 3, 1000, 5000, 3, NULL, "redis-server", 0, NULL};

/* ---- processes ---- */

typedef struct broker {
	pid_t pid;
	char  dir[256];
	char  url[256]; /* mq rpc url */
	int   port;     /* redis port */
} broker;

static void
rmrf(const char *path)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: cannot remove %s\n", path);
}

static pid_t
spawn(char *const argv[], const char *out_path)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void
stop(broker *b)
{
	int status;

	if (b->pid <= 0)
		return;
	kill(b->pid, SIGTERM);
	for (int i = 0; i < 500; i++) {
		if (waitpid(b->pid, &status, WNOHANG) == b->pid) {
			b->pid = 0;
			break;
		}
		gt_sleep_ns(10 * GT_NS_PER_MS);
	}
	if (b->pid > 0) {
		kill(b->pid, SIGKILL);
		waitpid(b->pid, &status, 0);
		b->pid = 0;
	}
	rmrf(b->dir);
}

static long
proc_status_kb(pid_t pid, const char *field)
{
	char  path[64], line[256];
	FILE *f;
	long  v = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0)
			v = strtol(line + strlen(field) + 1, NULL, 10);
	fclose(f);
	return v;
}

static int
mq_start(broker *b, int persistent)
{
	char  log[300], pflag[300];
	char *argv[16];
	int   n = 0;

	memset(b, 0, sizeof(*b));
	snprintf(b->dir, sizeof(b->dir), "/tmp/bench-mq-XXXXXX");
	if (mkdtemp(b->dir) == NULL)
		return -1;
	snprintf(log, sizeof(log), "%s/mq.log", b->dir);
	snprintf(pflag, sizeof(pflag), "--persistence-path=%s/wal", b->dir);
	argv[n++] = (char *)O.mq_bin;
	argv[n++] = "--port=0";
	argv[n++] = "--bind=127.0.0.1";
	argv[n++] = "--rpc-url=tcp://127.0.0.1:0";
	argv[n++] = "--pub-url=";
	argv[n++] = "--topics=bench";
	argv[n++] = "--max-topic-bytes=4294967296";
	argv[n++] = "--log-level=warn";
	if (persistent) {
		argv[n++] = "--persistence";
		argv[n++] = pflag;
		argv[n++] = "--fsync=interval";
	}
	argv[n] = NULL;
	/* service.ready is info level: raise the level after start? No: read the URL from a
	 * warn-level run is impossible, so log at info but the hot path logs nothing. */
	argv[7] = "--log-level=info";
	b->pid = spawn(argv, log);
	for (int i = 0; i < 500; i++) {
		char  buf[8192];
		FILE *f = fopen(log, "r");
		if (f != NULL) {
			size_t r = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
			buf[r] = 0;
			char *p = strstr(buf, "\"rpc_url\":\"");
			if (p != NULL && strstr(buf, "service.ready")) {
				p += 11;
				char *e = strchr(p, '"');
				if (e != NULL) {
					snprintf(b->url, sizeof(b->url), "%.*s", (int)(e - p), p);
					return 0;
				}
			}
		}
		gt_sleep_ns(10 * GT_NS_PER_MS);
	}
	fprintf(stderr, "bench: gt-mq did not start (see %s)\n", log);
	return -1;
}

static int
free_port(void)
{
	struct sockaddr_in a = {0};
	socklen_t          l = sizeof(a);
	int                fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int
redis_start(broker *b, int aof)
{
	char  log[300], port[16];
	char *argv[24];
	int   n = 0;

	memset(b, 0, sizeof(*b));
	snprintf(b->dir, sizeof(b->dir), "/tmp/bench-redis-XXXXXX");
	if (mkdtemp(b->dir) == NULL)
		return -1;
	snprintf(log, sizeof(log), "%s/redis.log", b->dir);
	b->port = free_port();
	snprintf(port, sizeof(port), "%d", b->port);
	argv[n++] = (char *)O.redis_bin;
	argv[n++] = "--port";
	argv[n++] = port;
	argv[n++] = "--bind";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--save";
	argv[n++] = "";
	argv[n++] = "--dir";
	argv[n++] = b->dir;
	argv[n++] = "--appendonly";
	argv[n++] = aof ? "yes" : "no";
	argv[n++] = "--appendfsync";
	argv[n++] = "everysec";
	argv[n] = NULL;
	b->pid = spawn(argv, log);
	for (int i = 0; i < 500; i++) {
		redisContext *c = redisConnect("127.0.0.1", b->port);
		if (c != NULL && !c->err) {
			redisReply *r = redisCommand(c, "PING");
			int         ok = r != NULL && r->type == REDIS_REPLY_STATUS;
			freeReplyObject(r);
			redisFree(c);
			if (ok)
				return 0;
		} else if (c != NULL) {
			redisFree(c);
		}
		gt_sleep_ns(10 * GT_NS_PER_MS);
	}
	fprintf(stderr, "bench: redis-server did not start (see %s)\n", log);
	return -1;
}

static long
dir_bytes(const char *path)
{
	DIR           *d = opendir(path);
	struct dirent *de;
	long           n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char        p[600];
		struct stat st;
		if (strncmp(de->d_name, "wal-", 4) != 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		if (stat(p, &st) == 0)
			n += st.st_size;
	}
	closedir(d);
	return n;
}

/* ---- records ---- */

static size_t
put_u64(char *p, uint64_t v)
{
	char   tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/* "<seq>|<mono ns>|xxxx..." (PAYLOAD bytes). */
static void
fill_payload(char *p, long seq, int64_t mono)
{
	size_t l = put_u64(p, (uint64_t)seq);
	p[l++] = '|';
	l += put_u64(p + l, (uint64_t)mono);
	p[l++] = '|';
	memset(p + l, 'x', PAYLOAD - l);
}

static const char *
key_of(long seq)
{
	static char keys[NKEYS][32];
	static int  init;
	if (!init) {
		for (int i = 0; i < NKEYS; i++)
			snprintf(keys[i], sizeof(keys[i]), "host-%03d/gpu%d", i / 8, i % 8);
		init = 1;
	}
	return keys[seq % NKEYS];
}

static int64_t
payload_mono(const uint8_t *p, size_t n)
{
	char   buf[64];
	size_t k = n < 63 ? n : 63;
	char  *bar;
	memcpy(buf, p, k);
	buf[k] = 0;
	bar = strchr(buf, '|');
	return bar ? strtoll(bar + 1, NULL, 10) : 0;
}

/* ---- gt-mq client side ---- */

static int
mq_publish_range(gt_rpc_client *cli, long first, long n, int batch, uint64_t *seq)
{
	Gtpb__V1__Message  *msgs = calloc((size_t)batch, sizeof(*msgs));
	Gtpb__V1__Message **mp = calloc((size_t)batch, sizeof(*mp));
	char               *pay = malloc((size_t)batch * PAYLOAD);
	gt_rpc_stub         stub;
	int                 rc = 0;

	gt_rpc_stub_init(&stub, cli, &gtpb__v1__message_queue__descriptor, 30 * GT_NS_PER_S);
	for (int i = 0; i < batch; i++) {
		gtpb__v1__message__init(&msgs[i]);
		msgs[i].payload.data = (uint8_t *)pay + (size_t)i * PAYLOAD;
		msgs[i].payload.len = PAYLOAD;
		mp[i] = &msgs[i];
	}
	for (long done = 0; done < n && rc == 0;) {
		Gtpb__V1__PublishRequest req = GTPB__V1__PUBLISH_REQUEST__INIT;
		ProtobufCMessage        *out = NULL;
		int                      k = (int)(n - done < batch ? n - done : batch);
		int64_t                  now = gt_mono_ns();
		for (int i = 0; i < k; i++) {
			msgs[i].key = (char *)key_of(first + done + i);
			fill_payload(pay + (size_t)i * PAYLOAD, first + done + i, now);
		}
		req.topic = "bench";
		req.producer_id = "bench-producer";
		req.sequence = ++*seq;
		req.omit_positions = 1;
		req.n_messages = (size_t)k;
		req.messages = mp;
		for (;;) {
			if (gt_rpc_call_by_name(&stub, "Publish", &req.base, &out) == GT_OK) {
				protobuf_c_message_free_unpacked(out, NULL);
				break;
			}
			if (stub.status.code != GT_RPC_RESOURCE_EXHAUSTED) {
				fprintf(stderr, "bench: publish: %s %s\n",
				        gt_rpc_code_name(stub.status.code), stub.status.message);
				rc = -1;
				break;
			}
			gt_sleep_ns(GT_NS_PER_MS);
		}
		done += k;
	}
	free(msgs);
	free(mp);
	free(pay);
	return rc;
}

typedef struct consume_ctx {
	gt_rpc_client *cli;
	long           want;
	int            ack;
	atomic_long    got;
	int64_t        done_at;
	int64_t       *lat; /* paced: latency per record, or NULL */
	long           nlat;
	long           redelivered;
	int            rc;
} consume_ctx;

/* The consumer decodes Fetch responses with the broker's raw descriptor (one allocation per
 * delivery instead of five) and walks each Delivery's bytes by hand. */
static ProtobufCServiceDescriptor raw_desc;
static ProtobufCMethodDescriptor  raw_methods[16];

static void
raw_desc_init(void)
{
	const ProtobufCServiceDescriptor *d = &gtpb__v1__message_queue__descriptor;

	raw_desc = *d;
	memcpy(raw_methods, d->methods, d->n_methods * sizeof(*raw_methods));
	for (unsigned i = 0; i < d->n_methods; i++)
		if (strcmp(raw_methods[i].name, "Fetch") == 0)
			raw_methods[i].output = &mq_raw_fetch_descriptor;
	raw_desc.methods = raw_methods;
}

typedef struct dview {
	uint64_t       epoch, offset;
	uint32_t       partition, attempt;
	const uint8_t *payload;
	size_t         payload_len;
} dview;

static int
get_len(const uint8_t **p, const uint8_t *end, const uint8_t **v, size_t *n)
{
	uint64_t l;
	if (gt_pb_get_varint(p, end, &l) != GT_OK || l > (uint64_t)(end - *p))
		return -1;
	*v = *p;
	*n = (size_t)l;
	*p += l;
	return 0;
}

static int
delivery_view(const uint8_t *p, size_t n, dview *d)
{
	const uint8_t *end = p + n, *v;
	size_t         vl;
	uint64_t       tag, x;

	memset(d, 0, sizeof(*d));
	while (p < end) {
		if (gt_pb_get_varint(&p, end, &tag) != GT_OK)
			return -1;
		if ((tag & 7) == 0) {
			if (gt_pb_get_varint(&p, end, &x) != GT_OK)
				return -1;
			if ((tag >> 3) == 2)
				d->attempt = (uint32_t)x;
		} else if ((tag & 7) == 2) {
			if (get_len(&p, end, &v, &vl) != 0)
				return -1;
			const uint8_t *q = v, *qe = v + vl;
			while (q < qe) {
				uint64_t       t2, y;
				const uint8_t *w;
				size_t         wl;
				if (gt_pb_get_varint(&q, qe, &t2) != GT_OK)
					return -1;
				if ((t2 & 7) == 0) {
					if (gt_pb_get_varint(&q, qe, &y) != GT_OK)
						return -1;
					if ((tag >> 3) == 1 && (t2 >> 3) == 1)
						d->epoch = y;
					else if ((tag >> 3) == 1 && (t2 >> 3) == 2)
						d->partition = (uint32_t)y;
					else if ((tag >> 3) == 1 && (t2 >> 3) == 3)
						d->offset = y;
				} else if ((t2 & 7) == 2) {
					if (get_len(&q, qe, &w, &wl) != 0)
						return -1;
					if ((tag >> 3) == 3 && (t2 >> 3) == 2) {
						d->payload = w;
						d->payload_len = wl;
					}
				} else {
					return -1;
				}
			}
		} else {
			return -1;
		}
	}
	return 0;
}

typedef struct ranges {
	Gtpb__V1__AckRange  *v;
	Gtpb__V1__AckRange **pv;
	size_t               n, cap;
} ranges;

static void
ranges_add(ranges *r, uint64_t epoch, uint32_t part, uint64_t off)
{
	if (r->n > 0) {
		Gtpb__V1__AckRange *l = &r->v[r->n - 1];
		if (l->epoch == epoch && l->partition == part && l->offset + l->count == off) {
			l->count++;
			return;
		}
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		r->pv = realloc(r->pv, r->cap * sizeof(*r->pv));
	}
	gtpb__v1__ack_range__init(&r->v[r->n]);
	r->v[r->n].epoch = epoch;
	r->v[r->n].partition = part;
	r->v[r->n].offset = off;
	r->v[r->n].count = 1;
	r->n++;
}

static void *
mq_consumer(void *arg)
{
	consume_ctx *c = arg;
	gt_rpc_stub  stub;
	ranges       acks = {0};

	gt_rpc_stub_init(&stub, c->cli, &gtpb__v1__message_queue__descriptor, 30 * GT_NS_PER_S);
	stub.base.descriptor = &raw_desc;
	while (atomic_load(&c->got) < c->want) {
		Gtpb__V1__FetchRequest req = GTPB__V1__FETCH_REQUEST__INIT;
		mq_raw_fetch          *r = NULL;
		req.topic = "bench";
		req.group = "bench-group";
		req.consumer = "bench-consumer";
		req.max_messages = 2000;
		req.max_bytes = 4u << 20;
		req.wait_ms = 1000;
		for (size_t i = 0; i < acks.n; i++)
			acks.pv[i] = &acks.v[i];
		req.n_ack = acks.n; /* acks of the previous batch ride on this Fetch */
		req.ack = acks.pv;
		if (gt_rpc_call_by_name(&stub, "Fetch", &req.base, (ProtobufCMessage **)&r) !=
		    GT_OK) {
			fprintf(stderr, "bench: fetch: %s %s\n", gt_rpc_code_name(stub.status.code),
			        stub.status.message);
			c->rc = -1;
			break;
		}
		acks.n = 0;
		int64_t now = gt_mono_ns();
		for (size_t i = 0; i < r->n_deliveries; i++) {
			dview d;
			if (delivery_view(r->deliveries[i].data, r->deliveries[i].len, &d) != 0) {
				fprintf(stderr, "bench: bad delivery\n");
				c->rc = -1;
				break;
			}
			if (d.attempt > 1)
				c->redelivered++;
			if (c->lat != NULL && c->nlat < c->want)
				c->lat[c->nlat++] = now - payload_mono(d.payload, d.payload_len);
			if (c->ack)
				ranges_add(&acks, d.epoch, d.partition, d.offset);
		}
		atomic_fetch_add(&c->got, (long)r->n_deliveries);
		protobuf_c_message_free_unpacked(&r->base, NULL);
		if (c->rc)
			break;
	}
	if (c->rc == 0 && acks.n > 0) { /* the last batch */
		Gtpb__V1__AckRequest ar = GTPB__V1__ACK_REQUEST__INIT;
		ProtobufCMessage    *out = NULL;
		gt_rpc_stub          as;
		for (size_t i = 0; i < acks.n; i++)
			acks.pv[i] = &acks.v[i];
		gt_rpc_stub_init(&as, c->cli, &gtpb__v1__message_queue__descriptor,
		                 30 * GT_NS_PER_S);
		ar.topic = "bench";
		ar.group = "bench-group";
		ar.consumer = "bench-consumer";
		ar.n_ranges = acks.n;
		ar.ranges = acks.pv;
		if (gt_rpc_call_by_name(&as, "Ack", &ar.base, &out) != GT_OK) {
			fprintf(stderr, "bench: ack: %s\n", as.status.message);
			c->rc = -1;
		} else {
			protobuf_c_message_free_unpacked(out, NULL);
		}
	}
	c->done_at = gt_mono_ns();
	free(acks.v);
	free(acks.pv);
	return NULL;
}

/* ---- Redis client side ---- */

static int
redis_check(redisReply *r, const char *what)
{
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "bench: redis %s: %s\n", what, r ? r->str : "no reply");
		freeReplyObject(r);
		return -1;
	}
	freeReplyObject(r);
	return 0;
}

static int
redis_publish_range(int port, long first, long n, int pipeline)
{
	redisContext *c = redisConnect("127.0.0.1", port);
	char          pay[PAYLOAD];
	int           rc = 0;

	if (c == NULL || c->err)
		return -1;
	for (long done = 0; done < n && rc == 0;) {
		int     k = (int)(n - done < pipeline ? n - done : pipeline);
		int64_t now = gt_mono_ns();
		for (int i = 0; i < k; i++) {
			fill_payload(pay, first + done + i, now);
			redisAppendCommand(c, "XADD bench * k %s p %b", key_of(first + done + i),
			                   pay, (size_t)PAYLOAD);
		}
		for (int i = 0; i < k; i++) {
			redisReply *r = NULL;
			if (redisGetReply(c, (void **)&r) != REDIS_OK ||
			    redis_check(r, "XADD") != 0)
				rc = -1;
		}
		done += k;
	}
	redisFree(c);
	return rc;
}

typedef struct redis_consume_ctx {
	int         port;
	long        want;
	int         ack;
	atomic_long got;
	int64_t     done_at;
	int64_t    *lat;
	long        nlat;
	int         count;
	int         rc;
} redis_consume_ctx;

static void *
redis_consumer(void *arg)
{
	redis_consume_ctx *c = arg;
	redisContext      *rc = redisConnect("127.0.0.1", c->port);
	const char       **argv = malloc((3 + (size_t)c->count) * sizeof(char *));
	size_t            *lens = malloc((3 + (size_t)c->count) * sizeof(size_t));

	if (rc == NULL || rc->err) {
		c->rc = -1;
		return NULL;
	}
	int pending_ack = 0;
	while (atomic_load(&c->got) < c->want) {
		redisReply *r = NULL;
		size_t      n = 0;
		int64_t     now;
		/* The XACK of the previous batch is pipelined with this XREADGROUP. */
		redisAppendCommand(rc, "XREADGROUP GROUP g c1 COUNT %d BLOCK 1000 STREAMS bench >",
		                   c->count);
		if (pending_ack) {
			redisReply *a = NULL;
			if (redisGetReply(rc, (void **)&a) != REDIS_OK ||
			    redis_check(a, "XACK") != 0)
				c->rc = -1;
			pending_ack = 0;
		}
		if (redisGetReply(rc, (void **)&r) != REDIS_OK)
			r = NULL;
		now = gt_mono_ns();
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			redis_check(r, "XREADGROUP");
			c->rc = -1;
			break;
		}
		if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
			redisReply *entries = r->element[0]->element[1];
			n = entries->elements;
			argv[0] = "XACK";
			argv[1] = "bench";
			argv[2] = "g";
			for (size_t i = 0; i < n; i++) {
				redisReply *e = entries->element[i];
				argv[3 + i] = e->element[0]->str;
				lens[3 + i] = e->element[0]->len;
				if (c->lat != NULL && c->nlat < c->want &&
				    e->element[1]->elements >= 4)
					c->lat[c->nlat++] =
					    now -
					    payload_mono(
					        (const uint8_t *)e->element[1]->element[3]->str,
					        e->element[1]->element[3]->len);
			}
			lens[0] = 4;
			lens[1] = 5;
			lens[2] = 1;
			if (c->ack && n > 0) {
				redisAppendCommandArgv(rc, (int)(3 + n), argv, lens);
				pending_ack = 1;
			}
		}
		freeReplyObject(r);
		atomic_fetch_add(&c->got, (long)n);
		if (c->rc)
			break;
	}
	if (pending_ack) {
		redisReply *a = NULL;
		if (redisGetReply(rc, (void **)&a) != REDIS_OK || redis_check(a, "XACK") != 0)
			c->rc = -1;
	}
	c->done_at = gt_mono_ns();
	free(argv);
	free(lens);
	redisFree(rc);
	return NULL;
}

static int
redis_group(int port)
{
	redisContext *c = redisConnect("127.0.0.1", port);
	int           rc;

	if (c == NULL || c->err)
		return -1;
	rc = redis_check(redisCommand(c, "XGROUP CREATE bench g 0 MKSTREAM"), "XGROUP");
	redisFree(c);
	return rc;
}

/* ---- workloads ---- */

enum { K_MQ_MEM, K_MQ_WAL, K_REDIS_MEM, K_REDIS_AOF, K_N };
static const char *kind_name[K_N] = {"gt-mq (memory)", "gt-mq (WAL, fsync interval)",
                                     "Redis Streams (memory)", "Redis Streams (AOF everysec)"};

typedef struct result {
	double pub_rate, e2e_rate, p50_ms, p99_ms, rss_mb, rss_queued_mb, wal_bytes;
} result;

static int
start_kind(int k, broker *b)
{
	switch (k) {
	case K_MQ_MEM:
		return mq_start(b, 0);
	case K_MQ_WAL:
		return mq_start(b, 1);
	case K_REDIS_MEM:
		return redis_start(b, 0) || redis_group(b->port);
	default:
		return redis_start(b, 1) || redis_group(b->port);
	}
}

static int
is_mq(int k)
{
	return k == K_MQ_MEM || k == K_MQ_WAL;
}

/* Publish N; returns msg/s. */
static double
run_publish(int k, double *wal_bytes)
{
	broker   b;
	int64_t  t0, t1;
	uint64_t seq = 0;
	int      rc;

	if (start_kind(k, &b) != 0)
		return -1;
	t0 = gt_mono_ns();
	if (is_mq(k)) {
		gt_rpc_client *cli;
		gt_rpc_client_open(&cli, b.url, NULL);
		rc = mq_publish_range(cli, 0, O.records, O.batch, &seq);
		gt_rpc_client_close(cli);
	} else {
		rc = redis_publish_range(b.port, 0, O.records, 100);
	}
	t1 = gt_mono_ns();
	if (wal_bytes != NULL && k == K_MQ_WAL) {
		char p[400];
		gt_sleep_ns(300 * GT_NS_PER_MS); /* the writer flushes */
		snprintf(p, sizeof(p), "%s/wal", b.dir);
		*wal_bytes = (double)dir_bytes(p) / (double)O.records;
	}
	stop(&b);
	return rc ? -1 : (double)O.records / ((double)(t1 - t0) / 1e9);
}

typedef struct pub_thread {
	int   k;
	char *url;
	int   port;
	int   rc;
} pub_thread;

static void *
pub_main(void *arg)
{
	pub_thread *p = arg;
	uint64_t    seq = 0;

	if (is_mq(p->k)) {
		gt_rpc_client *cli;
		gt_rpc_client_open(&cli, p->url, NULL);
		p->rc = mq_publish_range(cli, 0, O.records, O.batch, &seq);
		gt_rpc_client_close(cli);
	} else {
		p->rc = redis_publish_range(p->port, 0, O.records, 100);
	}
	return NULL;
}

/* Producer + consumer together; returns msg/s end to end. */
static double
run_e2e(int k, double *wal_bytes)
{
	broker     b;
	pthread_t  pt, ct;
	pub_thread p;
	int64_t    t0;
	double     rate = -1;

	if (start_kind(k, &b) != 0)
		return -1;
	p.k = k;
	p.url = b.url;
	p.port = b.port;
	p.rc = 0;
	if (is_mq(k)) {
		consume_ctx c = {0};
		gt_rpc_client_open(&c.cli, b.url, NULL);
		c.want = O.records;
		c.ack = 1;
		/* the group exists before the first record */
		{
			Gtpb__V1__FetchRequest req = GTPB__V1__FETCH_REQUEST__INIT;
			gt_rpc_stub            stub;
			ProtobufCMessage      *out = NULL;
			gt_rpc_stub_init(&stub, c.cli, &gtpb__v1__message_queue__descriptor,
			                 5 * GT_NS_PER_S);
			req.topic = "bench";
			req.group = "bench-group";
			req.consumer = "bench-consumer";
			if (gt_rpc_call_by_name(&stub, "Fetch", &req.base, &out) == GT_OK)
				protobuf_c_message_free_unpacked(out, NULL);
		}
		t0 = gt_mono_ns();
		pthread_create(&ct, NULL, mq_consumer, &c);
		pthread_create(&pt, NULL, pub_main, &p);
		pthread_join(pt, NULL);
		pthread_join(ct, NULL);
		if (c.rc == 0 && p.rc == 0)
			rate = (double)O.records / ((double)(c.done_at - t0) / 1e9);
		if (c.redelivered)
			fprintf(stderr, "bench: %ld redeliveries during e2e\n", c.redelivered);
		gt_rpc_client_close(c.cli);
	} else {
		redis_consume_ctx c = {0};
		c.port = b.port;
		c.want = O.records;
		c.ack = 1;
		c.count = 100;
		t0 = gt_mono_ns();
		pthread_create(&ct, NULL, redis_consumer, &c);
		pthread_create(&pt, NULL, pub_main, &p);
		pthread_join(pt, NULL);
		pthread_join(ct, NULL);
		if (c.rc == 0 && p.rc == 0)
			rate = (double)O.records / ((double)(c.done_at - t0) / 1e9);
	}
	if (wal_bytes != NULL && k == K_MQ_WAL) {
		char path[400];
		gt_sleep_ns(300 * GT_NS_PER_MS);
		snprintf(path, sizeof(path), "%s/wal", b.dir);
		*wal_bytes = (double)dir_bytes(path) / (double)O.records;
	}
	stop(&b);
	return rate;
}

/* Sleep until the monotonic deadline (no spinning: the machine has 2 cores). */
static void
sleep_until(int64_t due)
{
	int64_t left = due - gt_mono_ns();
	if (left > 0)
		gt_sleep_ns(left);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Paced: one record per publish at rate; p50/p99 publish->receipt in ms. */
static int
run_paced(int k, double *p50, double *p99)
{
	broker    b;
	pthread_t ct;
	long      n = (long)O.paced_rate * O.paced_seconds;
	int64_t  *lat = calloc((size_t)n, sizeof(*lat));
	int64_t   period = GT_NS_PER_S / O.paced_rate, start;
	long      nlat = 0;
	int       rc = 0;

	if (start_kind(k, &b) != 0)
		return -1;
	if (is_mq(k)) {
		consume_ctx    c = {0};
		gt_rpc_client *pc;
		uint64_t       seq = 0;
		gt_rpc_client_open(&c.cli, b.url, NULL);
		gt_rpc_client_open(&pc, b.url, NULL);
		c.want = n;
		c.ack = 1;
		c.lat = lat;
		pthread_create(&ct, NULL, mq_consumer, &c);
		gt_sleep_ns(200 * GT_NS_PER_MS); /* the consumer is parked in a long-poll */
		start = gt_mono_ns();
		for (long i = 0; i < n && rc == 0; i++) {
			sleep_until(start + i * period);
			rc = mq_publish_range(pc, i, 1, 1, &seq);
		}
		pthread_join(ct, NULL);
		nlat = c.nlat;
		rc |= c.rc;
		gt_rpc_client_close(pc);
		gt_rpc_client_close(c.cli);
	} else {
		redis_consume_ctx c = {0};
		redisContext     *pc = redisConnect("127.0.0.1", b.port);
		char              pay[PAYLOAD];
		c.port = b.port;
		c.want = n;
		c.ack = 1;
		c.lat = lat;
		c.count = 100;
		pthread_create(&ct, NULL, redis_consumer, &c);
		gt_sleep_ns(200 * GT_NS_PER_MS);
		start = gt_mono_ns();
		for (long i = 0; i < n && rc == 0; i++) {
			sleep_until(start + i * period);
			fill_payload(pay, i, gt_mono_ns());
			rc = redis_check(redisCommand(pc, "XADD bench * k %s p %b", key_of(i), pay,
			                              (size_t)PAYLOAD),
			                 "XADD");
		}
		pthread_join(ct, NULL);
		nlat = c.nlat;
		rc |= c.rc;
		redisFree(pc);
	}
	stop(&b);
	if (rc != 0 || nlat == 0) {
		free(lat);
		return -1;
	}
	qsort(lat, (size_t)nlat, sizeof(*lat), cmp_i64);
	*p50 = (double)lat[nlat / 2] / 1e6;
	*p99 = (double)lat[(size_t)((double)nlat * 0.99)] / 1e6;
	free(lat);
	return 0;
}

/* N records queued and delivered, none acked: peak RSS of the broker in MB. */
static double
run_rss(int k, int deliver)
{
	broker    b;
	pthread_t ct;
	double    mb = -1;
	uint64_t  seq = 0;

	if (start_kind(k, &b) != 0)
		return -1;
	if (is_mq(k)) {
		consume_ctx    c = {0};
		gt_rpc_client *pc;
		gt_rpc_client_open(&pc, b.url, NULL);
		gt_rpc_client_open(&c.cli, b.url, NULL);
		int prc = mq_publish_range(pc, 0, O.records, O.batch, &seq);
		if (prc == 0 && !deliver) {
			mb = (double)proc_status_kb(b.pid, "VmHWM") / 1024.0;
		} else if (prc == 0) {
			c.want = O.records;
			c.ack = 0;
			pthread_create(&ct, NULL, mq_consumer, &c);
			pthread_join(ct, NULL);
			if (c.rc == 0)
				mb = (double)proc_status_kb(b.pid, "VmHWM") / 1024.0;
		}
		gt_rpc_client_close(pc);
		gt_rpc_client_close(c.cli);
	} else {
		redis_consume_ctx c = {0};
		int               prc = redis_publish_range(b.port, 0, O.records, 100);
		if (prc == 0 && !deliver) {
			mb = (double)proc_status_kb(b.pid, "VmHWM") / 1024.0;
		} else if (prc == 0) {
			c.port = b.port;
			c.want = O.records;
			c.ack = 0;
			c.count = 1000;
			pthread_create(&ct, NULL, redis_consumer, &c);
			pthread_join(ct, NULL);
			if (c.rc == 0)
				mb = (double)proc_status_kb(b.pid, "VmHWM") / 1024.0;
		}
	}
	stop(&b);
	return mb;
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_dbl);
	return n ? v[n / 2] : -1;
}

static int
wanted(const char *what)
{
	return O.only == NULL || strstr(O.only, what) != NULL;
}

int
main(int argc, char **argv)
{
	result res[K_N];
	char   self[4096];

	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--records=", 10) == 0)
			O.records = atol(argv[i] + 10);
		else if (strncmp(argv[i], "--runs=", 7) == 0)
			O.runs = atoi(argv[i] + 7);
		else if (strncmp(argv[i], "--batch=", 8) == 0)
			O.batch = atoi(argv[i] + 8);
		else if (strncmp(argv[i], "--paced-rate=", 13) == 0)
			O.paced_rate = atoi(argv[i] + 13);
		else if (strncmp(argv[i], "--paced-seconds=", 16) == 0)
			O.paced_seconds = atoi(argv[i] + 16);
		else if (strncmp(argv[i], "--mq-bin=", 9) == 0)
			O.mq_bin = argv[i] + 9;
		else if (strncmp(argv[i], "--redis-bin=", 12) == 0)
			O.redis_bin = argv[i] + 12;
		else if (strcmp(argv[i], "--skip-redis") == 0)
			O.skip_redis = 1;
		else if (strncmp(argv[i], "--only=", 7) == 0)
			O.only = argv[i] + 7;
		else {
			fprintf(stderr, "usage: bench_mq [--records=N] [--runs=R] [--batch=B] "
			                "[--paced-rate=R]\n"
			                "  [--paced-seconds=S] [--mq-bin=PATH] [--redis-bin=PATH] "
			                "[--skip-redis]\n"
			                "  [--only=publish,e2e,paced,rss]\n");
			return 2;
		}
	}
	if (O.runs < 1 || O.runs > MAXRUNS || O.records < 1 || O.batch < 1 || O.paced_rate < 1)
		return 2;
	if (O.mq_bin == NULL) {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 16);
		if (n > 0) {
			self[n] = 0;
			char *slash = strrchr(self, '/');
			strcpy(slash + 1, "gt-mq");
			O.mq_bin = self;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	raw_desc_init();
	printf("bench_mq: %ld records x %d bytes, %d keys, batch %d, %d runs (median), paced %d "
	       "msg/s x %d s\n",
	       O.records, PAYLOAD, NKEYS, O.batch, O.runs, O.paced_rate, O.paced_seconds);
	fflush(stdout);
	for (int k = 0; k < K_N; k++) {
		double v[MAXRUNS], w[MAXRUNS], p50[MAXRUNS], p99[MAXRUNS];
		memset(&res[k], 0, sizeof(res[k]));
		res[k].pub_rate = res[k].e2e_rate = res[k].p50_ms = res[k].p99_ms = res[k].rss_mb =
		    res[k].wal_bytes = -1;
		if (!is_mq(k) && O.skip_redis)
			continue;
		if (wanted("publish")) {
			for (int r = 0; r < O.runs; r++)
				v[r] = run_publish(k, &w[r]);
			res[k].pub_rate = median(v, O.runs);
			if (k == K_MQ_WAL)
				res[k].wal_bytes = median(w, O.runs);
		}
		if (wanted("e2e")) {
			for (int r = 0; r < O.runs; r++)
				v[r] = run_e2e(k, NULL);
			res[k].e2e_rate = median(v, O.runs);
		}
		if (wanted("paced") && (k == K_MQ_MEM || k == K_REDIS_MEM)) {
			int ok = 0;
			for (int r = 0; r < O.runs; r++)
				if (run_paced(k, &p50[ok], &p99[ok]) == 0)
					ok++;
			res[k].p50_ms = median(p50, ok);
			res[k].p99_ms = median(p99, ok);
		}
		res[k].rss_queued_mb = -1;
		if (wanted("rss") && (k == K_MQ_MEM || k == K_REDIS_MEM)) {
			for (int r = 0; r < O.runs; r++)
				v[r] = run_rss(k, 1);
			res[k].rss_mb = median(v, O.runs);
			for (int r = 0; r < O.runs; r++)
				v[r] = run_rss(k, 0);
			res[k].rss_queued_mb = median(v, O.runs);
		}
		printf("%-29s publish %8.0f/s  e2e %8.0f/s  paced p50 %6.3f p99 %6.3f ms  "
		       "peak RSS %6.1f MB (queued only %6.1f)  WAL %6.1f B/msg\n",
		       kind_name[k], res[k].pub_rate, res[k].e2e_rate, res[k].p50_ms, res[k].p99_ms,
		       res[k].rss_mb, res[k].rss_queued_mb, res[k].wal_bytes);
		fflush(stdout);
	}
	if (!O.skip_redis) {
		printf("\nratios (gt-mq / Redis, same run):\n");
		if (res[K_REDIS_MEM].e2e_rate > 0)
			printf("  e2e in memory:        %.2fx\n",
			       res[K_MQ_MEM].e2e_rate / res[K_REDIS_MEM].e2e_rate);
		if (res[K_REDIS_AOF].e2e_rate > 0)
			printf("  e2e WAL vs AOF:       %.2fx\n",
			       res[K_MQ_WAL].e2e_rate / res[K_REDIS_AOF].e2e_rate);
		if (res[K_REDIS_MEM].pub_rate > 0)
			printf("  publish in memory:    %.2fx\n",
			       res[K_MQ_MEM].pub_rate / res[K_REDIS_MEM].pub_rate);
		if (res[K_REDIS_MEM].rss_mb > 0)
			printf("  peak RSS (delivered, unacked): %.2fx\n",
			       res[K_MQ_MEM].rss_mb / res[K_REDIS_MEM].rss_mb);
		if (res[K_REDIS_MEM].rss_queued_mb > 0)
			printf("  peak RSS (queued, unread):     %.2fx\n",
			       res[K_MQ_MEM].rss_queued_mb / res[K_REDIS_MEM].rss_queued_mb);
		if (res[K_REDIS_MEM].p99_ms > 0)
			printf("  paced p99:            %.2fx\n",
			       res[K_MQ_MEM].p99_ms / res[K_REDIS_MEM].p99_ms);
	}
	printf("payload bytes per record: %d (+ key %zu bytes)\n", PAYLOAD, strlen(key_of(0)));
	return 0;
}
