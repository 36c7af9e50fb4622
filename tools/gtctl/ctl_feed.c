/* ctl_feed.c - see ctl_feed.h. */
#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_feed.h"

struct ctl_feed {
	nng_socket sock;
	int        fd;
	uint64_t   bad;
};

int
ctl_feed_open(ctl_feed **out, const char *url, char *const *gpus, int n)
{
	ctl_feed *f;
	int       rv;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return CTL_EXIT_REMOTE;
	if ((rv = nng_sub0_open(&f->sock)) != 0) {
		free(f);
		fprintf(stderr, "gtctl: live feed: %s\n", nng_strerror(rv));
		return CTL_EXIT_REMOTE;
	}
	for (int i = 0; i < n; i++)
		nng_socket_set(f->sock, NNG_OPT_SUB_SUBSCRIBE, gpus[i], strlen(gpus[i]) + 1);
	if (n == 0)
		nng_socket_set(f->sock, NNG_OPT_SUB_SUBSCRIBE, "", 0);
	/* blocking dial: a collector that is not there is reported now, not never */
	if ((rv = nng_dial(f->sock, url, NULL, 0)) != 0) {
		fprintf(stderr, "gtctl: live feed %s: unreachable (%s)\n", url, nng_strerror(rv));
		nng_close(f->sock);
		free(f);
		return CTL_EXIT_UNREACHABLE;
	}
	if ((rv = nng_socket_get_int(f->sock, NNG_OPT_RECVFD, &f->fd)) != 0) {
		fprintf(stderr, "gtctl: live feed: %s\n", nng_strerror(rv));
		nng_close(f->sock);
		free(f);
		return CTL_EXIT_REMOTE;
	}
	*out = f;
	return CTL_EXIT_OK;
}

int
ctl_feed_fd(ctl_feed *f)
{
	return f->fd;
}

int
ctl_feed_recv(ctl_feed *f, Gtpb__V1__TelemetryBatch **batch)
{
	for (;;) {
		nng_msg       *m;
		const uint8_t *p, *nul;
		size_t         len;
		int            rv;

		if ((rv = nng_recvmsg(f->sock, &m, NNG_FLAG_NONBLOCK)) != 0)
			return rv == NNG_EAGAIN ? 0 : -1;
		p = nng_msg_body(m);
		len = nng_msg_len(m);
		nul = memchr(p, '\0', len);
		*batch = nul ? gtpb__v1__telemetry_batch__unpack(NULL, len - (size_t)(nul + 1 - p),
		                                                 nul + 1)
		             : NULL;
		nng_msg_free(m);
		if (*batch != NULL)
			return 1;
		f->bad++;
	}
}

int
ctl_feed_wait(ctl_feed *f, int fd, int timeout_ms)
{
	struct pollfd pf[2];
	int           n = 0, r = 0;

	pf[n].fd = f->fd;
	pf[n++].events = POLLIN;
	if (fd >= 0) {
		pf[n].fd = fd;
		pf[n++].events = POLLIN;
	}
	if (poll(pf, (nfds_t)n, timeout_ms) > 0) {
		if (pf[0].revents & POLLIN)
			r |= 1;
		if (n > 1 && (pf[1].revents & (POLLIN | POLLHUP | POLLERR)))
			r |= 2;
	}
	return r;
}

void
ctl_feed_close(ctl_feed *f)
{
	if (f == NULL)
		return;
	nng_close(f->sock);
	free(f);
}
