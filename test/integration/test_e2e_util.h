/* test_e2e_util.h - the whole pipeline for the system tests: gt-streamer -> gt-mq ->
 * gt-collector(s) -> gt-gateway on loopback, with fixed ports (chosen free at start) so that a
 * killed service can be restarted at the same address, a WebSocket reader, and checks of a
 * data dir's JSONL files. Built on test_collector_util. */
#ifndef TEST_E2E_UTIL_H
#define TEST_E2E_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "gt_proc.h"
#include "gt_wsc.h"
#include "test_collector_util.h"

#define TE_MAX_COL 2

typedef struct te_env {
	tc_svc mq;
	char   mq_url[64];
	char  *wal; /* WAL dir (--persistence) or NULL */
	tc_svc col[TE_MAX_COL];
	char   col_rpc[TE_MAX_COL][64], col_pub[TE_MAX_COL][64];
	char  *dir[TE_MAX_COL];
	size_t ncol;
	tc_svc gw;
	int    gw_port;
	char   gw_rpc[64];
} te_env;

/* Fills the addresses (free ports) and data dirs; starts nothing. persistent: the broker
 * keeps a WAL (--persistence, --fsync always). */
void te_init(te_env *e, size_t ncol, int persistent);
void te_mq_start(te_env *e);
/* Collector i (consumer "col<i>"), extra flags may be NULL. */
void te_col_start(te_env *e, size_t i, const char *const *extra);
void te_gw_start(te_env *e);
/* Everything: mq, the collectors, the gateway. */
void te_start(te_env *e);
/* SIGTERM what runs (expect exit 0), remove the dirs. */
void te_fini(te_env *e);

/* gt-streamer on csv (one pass) against e's broker; extra flags may be NULL. */
gt_proc *te_streamer(te_env *e, const char *csv, const char *const *extra);

/* A WebSocket client on the gateway subscribed to every GPU and metric; returns once the
 * subscription is in effect (a ping sent after it was answered). NULL if the gateway cannot
 * be reached. */
gt_wsc *te_ws_subscribe(int port);
/* Reads record frames until n arrived in total (appending them to recs, a JSON array) or
 * no record frame came for idle_ns; returns how many arrived. Other frames (heartbeats)
 * are skipped. */
size_t te_ws_collect(gt_wsc *c, json_t *recs, size_t n, int64_t idle_ns);
/* Records the gateway said it dropped ({"type":"dropped","count":N} frames seen by
 * te_ws_collect, every client summed). */
extern _Atomic size_t te_ws_dropped;

/* A thread that reads a WebSocket client all the time (so it answers the gateway's pings: a
 * client that does not is closed as dead after 3 heartbeats) and keeps its record frames. */
typedef struct te_wsr te_wsr;
te_wsr               *te_wsr_start(gt_wsc *c);
/* Record frames so far. */
size_t te_wsr_count(te_wsr *r);
/* Waits until want records came (0: none expected) or none came for idle_ns, stops the thread
 * and returns the record frames (a JSON array: json_decref). The client stays open. */
json_t *te_wsr_stop(te_wsr *r, size_t want, int64_t idle_ns);

/* Every JSONL line of every file in dir, parsed, appended to out (a JSON array). */
size_t te_jsonl_read(const char *dir, json_t *out);
/* Lines in dir's JSONL files (records stored there, over every restart). */
size_t te_lines(const char *dir);
/* Wait until the collectors' total_processed sum reaches n. Returns the last sum. */
int64_t te_wait_stored(te_env *e, int64_t n, int64_t timeout_ns);

/* "2026-11-26T22:00:00.123456789Z" (fraction optional) -> ns since the epoch; -1 if not. */
int64_t te_rfc3339_ns(const char *s);

/* Random number in [lo, hi) from the test's seed (printed once; GT_E2E_SEED replays). */
int64_t te_rand(int64_t lo, int64_t hi);

#endif
