/* ctl_feed.h - the collectors' live feed (nng SUB): every message is the GPU key, a NUL and a
 * packed gtpb.v1.TelemetryBatch of that GPU's records just stored. Used by tail and top. */
#ifndef CTL_FEED_H
#define CTL_FEED_H

#include "ctl.h"
#include "gtpb/v1/telemetry.pb-c.h"

typedef struct ctl_feed ctl_feed;

/* Open a SUB socket on url, subscribed to the given GPU keys (n = 0: every GPU). Returns an
 * exit status (3 when the feed is unreachable, message printed). */
int ctl_feed_open(ctl_feed **out, const char *url, char *const *gpus, int n);
/* The fd that becomes readable when a message is waiting (for poll). */
int ctl_feed_fd(ctl_feed *f);
/* Receive one batch without blocking: 1 and *batch (free with
 * gtpb__v1__telemetry_batch__free_unpacked) when one was waiting, 0 when none, -1 on error.
 * Undecodable messages are skipped (counted). */
int  ctl_feed_recv(ctl_feed *f, Gtpb__V1__TelemetryBatch **batch);
void ctl_feed_close(ctl_feed *f);

/* Wait until the terminal (fd, may be -1) or the feed is readable, or timeout_ms passes.
 * Returns a bit mask: 1 feed, 2 fd. */
int ctl_feed_wait(ctl_feed *f, int fd, int timeout_ms);

#endif
