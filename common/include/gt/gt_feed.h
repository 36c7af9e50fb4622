/* gt_feed.h - a live feed: an nng PUB socket listening on a URL, the set-up the broker and the
 * collector share. Each message is topic + '\0' + body, so subscribers filter by topic prefix
 * (NNG_OPT_SUB_SUBSCRIBE). Sends never block: a slow or absent subscriber loses messages (live
 * fan-out only, never ingest), and the caller counts them.
 *
 * gt_feed_open/close on the owner's thread; gt_feed_send, _subscribers and _url from any
 * thread while the feed is open. */
#ifndef GT_FEED_H
#define GT_FEED_H

#include <stddef.h>

#include "gt/gt_err.h"

typedef struct gt_feed gt_feed;

/* gt_feed_open listens on url (tcp://host:port, port 0 = ephemeral; ipc://, inproc://).
 * Logs pub.listen_failed and returns the error when the URL cannot be bound. */
gt_err gt_feed_open(gt_feed **out, const char *url);
/* Closes the socket and frees. Accepts NULL. */
void gt_feed_close(gt_feed *f);
/* The URL a local subscriber dials (the bound port filled in, see gt_rpc_dial_url). */
const char *gt_feed_url(const gt_feed *f);
/* Subscribers connected now. */
int gt_feed_subscribers(const gt_feed *f);
/* gt_feed_send sends topic + '\0' + body. GT_OK when queued; GT_EFULL when not sent (no
 * room, or a send error); GT_ENOMEM. */
gt_err gt_feed_send(gt_feed *f, const char *topic, const void *body, size_t len);

#endif
