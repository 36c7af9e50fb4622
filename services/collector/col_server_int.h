/* col_server_int.h - the server struct, shared by col_server.c (wiring, lifecycle, stats,
 * live feed) and col_api.c (HTTP routes and RPC handlers). Not for other modules. */
#ifndef COL_SERVER_INT_H
#define COL_SERVER_INT_H

#include <nng/nng.h>

#include "col_cache.h"
#include "col_ckpt.h"
#include "col_consumer.h"
#include "col_file.h"
#include "col_map.h"
#include "col_server.h"
#include "gt/gt_buf.h"
#include "gt/gt_http.h"
#include "gt/gt_metrics.h"
#include "gt/gt_rpc.h"
#include "gtpb/v1/collector.pb-c.h"

#define COL_VERSION "0.1.0"

struct col_server {
	const col_config                  *cfg;
	char                              *consumer_name, *ckpt_path;
	int64_t                            start_mono;
	gt_metrics                        *metrics;
	col_cache                         *cache;
	col_ckpt                          *ckpt;
	col_ckpt_id                       *rec_ids; /* recovery: ids read past the checkpoint */
	size_t                             nrec_ids, caprec_ids;
	int                                rec_ids_failed;
	col_store                         *store;
	col_consumer                      *consumer;
	gt_rpc_server                     *rpc;
	gt_http                           *http;
	nng_socket                         pub;
	int                                pub_open;
	char                               rpc_url[256], pub_url[256];
	col_map                           *pub_bufs; /* writer thread only: gpu key -> gt_buf* */
	gt_counter                        *m_pub, *m_pub_drop;
	gt_hist                           *m_query;
	Gtpb__V1__TelemetryService_Service svc;
};

/* col_server.c: the /stats document (also the RPC Stats answer). */
gt_err col_server_stats_json(col_server *s, gt_buf *b);
/* col_api.c: the HTTP routes on s->http; the RPC service struct s->svc. */
gt_err col_api_routes(col_server *s);
void   col_api_service_init(col_server *s);

#endif
