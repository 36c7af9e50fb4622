/* ctl_rpc.c - gtctl's RPC calls: one cached gt_rpc_client per URL, a connection probe so a
 * service that is down is reported at once (not after the timeout), and the mapping from RPC
 * status to exit status: refused / no answer in time / UNAVAILABLE -> 3, anything else -> 1. */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define CTL_MAX_CLIENTS 8

static struct {
	char          *url;
	gt_rpc_client *cli;
	int            probe; /* 0 untested, 1 reachable, -1 refused */
	char           why[128];
} clients[CTL_MAX_CLIENTS];

/* A blocking dial on a throwaway socket: refused or unresolvable fails at once. */
static int
probe(const char *url, char *why, size_t len)
{
	nng_socket s;
	int        rv;

	if (strncmp(url, "inproc://", 9) == 0)
		return 1;
	if ((rv = nng_req0_open(&s)) != 0) {
		snprintf(why, len, "%s", nng_strerror(rv));
		return -1;
	}
	rv = nng_dial(s, url, NULL, 0);
	nng_close(s);
	if (rv != 0) {
		snprintf(why, len, "%s", nng_strerror(rv));
		return -1;
	}
	return 1;
}

static int
client_for(ctl_ctx *c, const char *url, gt_rpc_client **out, char *why, size_t len)
{
	gt_rpc_client_cfg cc = {0};
	size_t            i;

	for (i = 0; i < CTL_MAX_CLIENTS && clients[i].url; i++)
		if (strcmp(clients[i].url, url) == 0)
			break;
	if (i == CTL_MAX_CLIENTS)
		i = CTL_MAX_CLIENTS - 1; /* never more than a handful of services */
	if (clients[i].url == NULL) {
		if ((clients[i].url = strdup(url)) == NULL) {
			snprintf(why, len, "out of memory");
			return CTL_EXIT_REMOTE;
		}
		clients[i].probe = probe(url, clients[i].why, sizeof(clients[i].why));
		if (clients[i].probe > 0) {
			cc.token = c->token;
			cc.timeout_ns = c->timeout_ns;
			if (gt_rpc_client_open(&clients[i].cli, url, &cc) != GT_OK) {
				clients[i].probe = -1;
				snprintf(clients[i].why, sizeof(clients[i].why), "cannot dial");
			}
		}
	}
	if (clients[i].probe < 0) {
		snprintf(why, len, "unreachable (%s)", clients[i].why);
		return CTL_EXIT_UNREACHABLE;
	}
	*out = clients[i].cli;
	return CTL_EXIT_OK;
}

/* The gateway when it answers connections (it serves TelemetryService from the collectors),
 * else the collector itself. */
const char *
ctl_telemetry_url(ctl_ctx *c)
{
	const char    *gw = c->gateway_url ? c->gateway_url : c->gateway_dflt;
	gt_rpc_client *cli;
	char           why[160];

	return client_for(c, gw, &cli, why, sizeof(why)) == CTL_EXIT_OK ? gw : c->collector_url;
}

int
ctl_call(ctl_ctx *c, const char *url, const ProtobufCServiceDescriptor *desc, const char *method,
         const ProtobufCMessage *in, ProtobufCMessage **out, int quiet, char *why)
{
	gt_rpc_client *cli = NULL;
	gt_rpc_stub    stub;
	char           buf[GT_RPC_MSG_MAX + 64];
	int            rc;

	*out = NULL;
	if ((rc = client_for(c, url, &cli, buf, sizeof(buf))) == CTL_EXIT_OK) {
		gt_rpc_stub_init(&stub, cli, desc, c->timeout_ns);
		if (gt_rpc_call_by_name(&stub, method, in, out) == GT_OK)
			return CTL_EXIT_OK;
		switch (stub.status.code) {
		case GT_RPC_UNAVAILABLE:
		case GT_RPC_DEADLINE_EXCEEDED:
			snprintf(buf, sizeof(buf), "unreachable (%s: %s)",
			         gt_rpc_code_name(stub.status.code), stub.status.message);
			rc = CTL_EXIT_UNREACHABLE;
			break;
		default:
			snprintf(buf, sizeof(buf), "%s: %s", gt_rpc_code_name(stub.status.code),
			         stub.status.message);
			rc = CTL_EXIT_REMOTE;
		}
		*out = NULL;
	}
	if (!quiet)
		fprintf(stderr, "gtctl: %s %s/%s: %s\n", url, desc->short_name, method, buf);
	if (why)
		snprintf(why, GT_RPC_MSG_MAX, "%.*s", GT_RPC_MSG_MAX - 1, buf);
	return rc;
}

void
ctl_rpc_close(void)
{
	for (size_t i = 0; i < CTL_MAX_CLIENTS; i++) {
		gt_rpc_client_close(clients[i].cli);
		free(clients[i].url);
		memset(&clients[i], 0, sizeof(clients[i]));
	}
}
