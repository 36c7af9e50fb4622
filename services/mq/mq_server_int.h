/* mq_server_int.h - the broker's state, shared by mq_server.c (lifecycle, topic registry,
 * timer, live feed), mq_rpc.c (RPC hot path), mq_persist.c (WAL hooks and recovery) and
 * mq_admin.c (Stats/Topics/Health/DLQ RPCs and the HTTP admin endpoints). Not for other
 * modules. */
#ifndef MQ_SERVER_INT_H
#define MQ_SERVER_INT_H

#include <nng/nng.h>
#include <protobuf-c/protobuf-c.h>
#include <pthread.h>
#include <stdatomic.h>

#include "gt/gt_http.h"
#include "gt/gt_metrics.h"
#include "gt/gt_rpc.h"
#include "gtpb/v1/mq.pb-c.h"
#include "mq_server.h"
#include "mq_topic.h"
#include "mq_wal.h"

#define MQ_MAX_TOPICS 256
#define MQ_NAME_MAX 128
#define MQ_VERSION "0.1.0"

/* ---- server state ---- */

typedef struct waiter {
	struct waiter   *next;
	const char      *group; /* borrowed from the request (valid until the closure) */
	const char      *consumer;
	uint32_t         max_msgs;
	size_t           max_bytes;
	int64_t          deadline; /* monotonic */
	ProtobufCClosure closure;
	void            *cdata;
} waiter;

typedef struct srv_topic {
	mq_topic       *t;
	pthread_mutex_t mu;
	waiter         *waiters;
	atomic_size_t   nwaiters;      /* written under mu; peeked without it */
	uint64_t        last_messages; /* for throughput */
	double          rate;
	uint32_t        wal_id;
} srv_topic;

typedef struct out_pool {
	struct out_pool *next;
	mq_fetch_out     out;
} out_pool;

struct mq_server {
	mq_config                      cfg;
	uint64_t                       epoch;
	int64_t                        start_mono;
	gt_rpc_server                 *rpc;
	gt_http                       *http;
	gt_metrics                    *metrics;
	Gtpb__V1__MessageQueue_Service svc;
	ProtobufCServiceDescriptor     desc;
	ProtobufCMethodDescriptor      methods[16];
	nng_socket                     pub;
	int                            pub_open;
	atomic_int                     subscribers;
	atomic_int                     parked; /* long-polls parked, all topics */
	pthread_rwlock_t               topics_lock;
	srv_topic                     *topics[MQ_MAX_TOPICS];
	atomic_int                     ntopics;
	mq_topic_cfg                   tcfg;
	pthread_t                      timer;
	int                            timer_started;
	atomic_int                     stopping;
	pthread_mutex_t                pool_mu;
	out_pool                      *pool;
	mq_wal                        *wal;
	char                           rpc_url[256];
	char                           pub_url[256];
	/* metrics */
	gt_counter *m_published, *m_batches, *m_delivered, *m_redelivered, *m_acked, *m_nacked;
	gt_counter *m_rejected, *m_duplicates, *m_waits, *m_cancelled;
	gt_hist    *m_publish_lat;
};

/* Handler of one RPC method; s is the server the service belongs to. */
typedef void (*mq_handler)(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure closure,
                           void *cdata);

/* mq_server.c: topic registry (any thread) and live feed. */
srv_topic *mq_srv_find(mq_server *s, const char *name); /* NULL if unknown */
/* The topic called name, created (and declared to the WAL once it runs) if new. */
gt_err mq_srv_create(mq_server *s, const char *name, srv_topic **out);
/* [A-Za-z0-9._-]{1,128}; not ending in .dlq unless allow_dlq. */
int mq_srv_valid_name(const char *s, int allow_dlq);
/* Send accepted messages on the PUB socket (non-blocking; skipped without subscribers). */
void mq_srv_pub_send(mq_server *s, const char *topic, const ProtobufCBinaryData *msgs, size_t n);

/* mq_rpc.c: the hot-path handlers (worker threads) and parked fetches. */
void mq_rpc_publish(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure c, void *d);
void mq_rpc_fetch(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure c, void *d);
void mq_rpc_ack(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure c, void *d);
void mq_rpc_nack(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure c, void *d);
/* Answer the parked fetches of st that have data now (or expired, with check_deadlines;
 * all of them once stopping). Any thread, no lock held. */
void        mq_srv_wake(mq_server *s, srv_topic *st, int check_deadlines);
void        mq_srv_wake_all(mq_server *s, int check_deadlines);
gt_rpc_code mq_srv_code(gt_err e);

/* mq_persist.c: WAL start-up (main thread, in mq_server_new) and the topic hooks. */
gt_err mq_persist_open(mq_server *s);
void   mq_persist_on_dead(void *arg, mq_topic *t, const mq_dead_view *d);
void mq_persist_on_redeliver(void *arg, mq_topic *t, const char *group, uint32_t part, uint64_t off,
                             unsigned attempts);
void mq_persist_on_group_deleted(void *arg, mq_topic *t, const char *group);
void mq_persist_on_delivered(void *arg, mq_topic *t, const char *group, const mq_run *runs,
                             size_t n);

/* mq_admin.c: RPC handlers (worker threads) and HTTP routes (registered before start). */
void   mq_admin_stats(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure c, void *d);
void   mq_admin_health(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure c, void *d);
void   mq_admin_topics(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure c, void *d);
void   mq_admin_dlq_list(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure c, void *d);
void   mq_admin_dlq_replay(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure c, void *d);
void   mq_admin_dlq_purge(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure c, void *d);
void   mq_admin_purge(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure c, void *d);
gt_err mq_admin_routes(mq_server *s);

#endif
