/* test_mq_http_hardening.c - the HTTP side of a real gt-mq against hostile clients: with
 * --token every route but /health and /metrics wants the bearer token; a flood of idle and
 * slowloris connections leaves /health answerable; CONNECT gets a JSON 405. (The same
 * runtime, gt_http, serves every service; its unit tests cover the details.)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <nng/nng.h>

#include "gt/gt_time.h"
#include "gt_test.h"
#include "gt/gt_rpc.h"
#include "gtpb/v1/mq.pb-c.h"
#include "gtpb/v1/rpc.pb-c.h"
#include "test_mq_util.h"

#define TOKEN "s3cret"
#define AUTH "Authorization: Bearer " TOKEN "\r\n"

static int
http(tmq *m, const char *path, const char *extra, char **body)
{
	*body = NULL;
	return gt_test_http(m->http_port, "GET", path, extra, NULL, 0, body, NULL);
}

/* One RPC round trip, so the client's connection is complete before it is closed (nng 1.5.2
 * leaks a dialer's pipe when the socket is closed while the dial is still negotiating; the
 * sanitizer build reported it when this test stopped the broker right after starting it). */
static void
rpc_health(tmq *m, const char *token)
{
	gt_rpc_client_cfg        cc = {0};
	gt_rpc_client           *cli;
	gt_rpc_stub              stub;
	Gtpb__V1__HealthRequest  hr = GTPB__V1__HEALTH_REQUEST__INIT;
	ProtobufCMessage        *out = NULL;

	cc.token = token;
	cc.timeout_ns = 5 * GT_NS_PER_S;
	assert_int_equal(gt_rpc_client_open(&cli, m->rpc_url, &cc), GT_OK);
	gt_rpc_stub_init(&stub, cli, &gtpb__v1__message_queue__descriptor, 5 * GT_NS_PER_S);
	assert_int_equal(gt_rpc_call_by_name(&stub, "Health", &hr.base, &out), GT_OK);
	protobuf_c_message_free_unpacked(out, NULL);
	gt_rpc_client_close(cli);
	/* and the tmq's own client has connected by now too */
	gt_rpc_stub_init(&stub, m->cli, &gtpb__v1__message_queue__descriptor, 5 * GT_NS_PER_S);
	if (gt_rpc_call_by_name(&stub, "Health", &hr.base, &out) == GT_OK)
		protobuf_c_message_free_unpacked(out, NULL);
}

static void
test_mq_token_guards_data_routes(void **state)
{
	static const char *guarded[] = {"/stats", "/topics"};
	static const char *open_[] = {"/health", "/metrics"};
	const char        *extra[] = {"--token=" TOKEN, NULL};
	tmq                m;
	char              *body;
	size_t             i;

	(void)state;
	tmq_start(&m, extra);
	for (i = 0; i < sizeof(guarded) / sizeof(guarded[0]); i++) {
		assert_int_equal(http(&m, guarded[i], NULL, &body), 401);
		assert_non_null(strstr(body, "\"code\":401"));
		free(body);
		assert_int_equal(http(&m, guarded[i], "Authorization: Bearer nope\r\n", &body),
		                 401);
		free(body);
		assert_int_equal(http(&m, guarded[i], AUTH, &body), 200);
		free(body);
	}
	for (i = 0; i < sizeof(open_) / sizeof(open_[0]); i++) {
		assert_int_equal(http(&m, open_[i], NULL, &body), 200);
		free(body);
	}
	rpc_health(&m, TOKEN);
	tmq_stop(&m);
	/* Without --token nothing is guarded. */
	tmq_start(&m, NULL);
	assert_int_equal(http(&m, "/stats", NULL, &body), 200);
	free(body);
	rpc_health(&m, NULL);
	tmq_stop(&m);
}

static int
connect_port(int port)
{
	struct sockaddr_in sa;
	struct timeval     tv = {.tv_sec = 5};
	int                fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* 300 silent and 30 slowloris connections (more than lws's old header pool): /health still
 * answers within a second or two, several times over. */
static void
test_mq_health_answers_under_idle_flood(void **state)
{
	enum { NIDLE = 300, NSLOW = 30 };
	int   idle[NIDLE], slow[NSLOW], i, round;
	tmq   m;
	char *body;

	(void)state;
	tmq_start(&m, NULL);
	for (i = 0; i < NIDLE; i++)
		assert_true((idle[i] = connect_port(m.http_port)) >= 0);
	for (i = 0; i < NSLOW; i++) {
		assert_true((slow[i] = connect_port(m.http_port)) >= 0);
		send(slow[i], "GET /stats HTTP/1.1\r\n", 21, MSG_NOSIGNAL);
	}
	for (round = 0; round < 3; round++) {
		int64_t t0 = gt_mono_ns(), ms;

		for (i = 0; i < NSLOW; i++)
			send(slow[i], "X", 1, MSG_NOSIGNAL);
		assert_int_equal(http(&m, "/health", NULL, &body), 200);
		free(body);
		ms = (gt_mono_ns() - t0) / GT_NS_PER_MS;
		if (ms > 2000)
			fail_msg("/health took %lld ms under the flood", (long long)ms);
		gt_sleep_ns(300 * GT_NS_PER_MS);
	}
	for (i = 0; i < NIDLE; i++)
		close(idle[i]);
	for (i = 0; i < NSLOW; i++)
		close(slow[i]);
	tmq_stop(&m);
}

static void
test_mq_connect_gets_json_405(void **state)
{
	static const char req[] = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n";
	char              buf[1024];
	ssize_t           n;
	size_t            got = 0;
	tmq               m;
	int               fd;

	(void)state;
	tmq_start(&m, NULL);
	fd = connect_port(m.http_port);
	assert_true(fd >= 0);
	assert_int_equal(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(req) - 1);
	while (got < sizeof(buf) - 1 && (n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	assert_non_null(strstr(buf, "HTTP/1.1 405"));
	assert_non_null(strstr(buf, "\"code\":405"));
	tmq_stop(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_mq_token_guards_data_routes, tmq_cleanup),
	    cmocka_unit_test_teardown(test_mq_health_answers_under_idle_flood, tmq_cleanup),
	    cmocka_unit_test_teardown(test_mq_connect_gets_json_405, tmq_cleanup),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	/* nng frees a closed client's pipes on its reaper thread: wait for it, or LeakSanitizer
	 * reports them when the process exits right after the last close */
	nng_fini();
	return rc;
}
