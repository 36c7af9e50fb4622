/* gt_wsc.h - a minimal WebSocket client over a plain socket for integration tests (no client
 * library under test): handshake, masked text frames out, unfragmented frames in, pings
 * answered with pongs while reading. */
#ifndef GT_WSC_H
#define GT_WSC_H

#include <stddef.h>
#include <stdint.h>

typedef struct gt_wsc gt_wsc;

/* Connects to 127.0.0.1:port and upgrades path. rcvbuf > 0 sets SO_RCVBUF (a small buffer
 * makes a client that stops reading stall quickly). NULL on failure. */
gt_wsc *gt_wsc_open(int port, const char *path, int rcvbuf);
/* Sends one text frame. 0 on success. */
int gt_wsc_send(gt_wsc *c, const char *text);
/* The next text frame (malloc'd, NUL-terminated) within timeout_ns, or NULL (timeout or
 * closed). Ping frames are answered unless gt_wsc_no_pong was called. */
char *gt_wsc_recv(gt_wsc *c, int64_t timeout_ns);
/* Stop answering pings (a client that looks dead to the server). */
void gt_wsc_no_pong(gt_wsc *c);
/* 1 once the server closed the connection. */
int gt_wsc_closed(gt_wsc *c);
void gt_wsc_close(gt_wsc *c);

#endif
