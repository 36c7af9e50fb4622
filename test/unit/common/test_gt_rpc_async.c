/* test_gt_rpc_async.c - gt_rpc_call_async: round trips, many in flight on one client, handler
 * status, deadline, no server, close cancels calls in flight (callback runs exactly once). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_rpc.h"
#include "gt/gt_time.h"
#include "gt_echo.h"
#include "gtpb/v1/test.pb-c.h"

/* Completion record: the callback fills it and signals. */
typedef struct done {
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	int             calls;
	int             ok;
	gt_rpc_code     code;
	char            data[64];
} done;

static void
done_init(done *d)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
}

static void
on_done(void *arg, const gt_rpc_status *st, const uint8_t *payload, size_t len)
{
	done *d = arg;

	pthread_mutex_lock(&d->mu);
	d->calls++;
	d->code = st->code;
	if (st->code == GT_RPC_OK) {
		Gtpb__V1__EchoResponse *r = gtpb__v1__echo_response__unpack(NULL, len, payload);

		if (r != NULL) {
			d->ok++;
			snprintf(d->data, sizeof(d->data), "%.*s", (int)r->data.len,
			         (const char *)r->data.data);
			gtpb__v1__echo_response__free_unpacked(r, NULL);
		}
	}
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

static void
done_wait(done *d, int calls)
{
	pthread_mutex_lock(&d->mu);
	while (d->calls < calls)
		pthread_cond_wait(&d->cv, &d->mu);
	pthread_mutex_unlock(&d->mu);
}

static gt_err
send_echo(gt_rpc_client *c, const char *text, uint32_t sleep_ms, int fail, int64_t timeout,
          done *d)
{
	Gtpb__V1__EchoRequest req = GTPB__V1__ECHO_REQUEST__INIT;

	req.data.data = (uint8_t *)text;
	req.data.len = strlen(text);
	req.sleep_ms = sleep_ms;
	req.fail_code = fail;
	return gt_rpc_call_async(c, &gtpb__v1__echo__descriptor, "Echo", &req.base, timeout, on_done,
	                         d);
}

typedef struct fixture {
	gt_rpc_server *srv;
	gt_rpc_client *cli;
} fixture;

static int
setup(void **state)
{
	fixture          *f = calloc(1, sizeof(*f));
	gt_rpc_server_cfg scfg = {.url = "tcp://127.0.0.1:0", .contexts = 64, .workers = 4};
	char              url[64];

	assert_int_equal(gt_rpc_server_new(&f->srv, &scfg), GT_OK);
	assert_int_equal(gt_rpc_server_add(f->srv, &gt_echo_service.base), GT_OK);
	assert_int_equal(gt_rpc_server_start(f->srv), GT_OK);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", gt_rpc_server_port(f->srv));
	assert_int_equal(gt_rpc_client_open(&f->cli, url, NULL), GT_OK);
	/* One round trip first, so the connection is complete: nng 1.5.2 leaks a dialer's pipe
	 * when the socket is closed while the dial is still negotiating (LeakSanitizer saw it
	 * under load in a test that closes its client quickly). */
	{
		gt_rpc_stub           stub;
		Gtpb__V1__EchoRequest req = GTPB__V1__ECHO_REQUEST__INIT;
		ProtobufCMessage     *out = NULL;

		gt_rpc_stub_init(&stub, f->cli, &gtpb__v1__echo__descriptor, 5 * GT_NS_PER_S);
		assert_int_equal(gt_rpc_call_by_name(&stub, "Echo", &req.base, &out), GT_OK);
		protobuf_c_message_free_unpacked(out, NULL);
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fixture *f = *state;

	gt_rpc_client_close(f->cli);
	gt_rpc_server_free(f->srv);
	free(f);
	return 0;
}

static void
test_async_round_trip(void **state)
{
	fixture *f = *state;
	done     d;

	done_init(&d);
	assert_int_equal(send_echo(f->cli, "hello", 0, 0, 5 * GT_NS_PER_S, &d), GT_OK);
	done_wait(&d, 1);
	assert_int_equal(d.code, GT_RPC_OK);
	assert_string_equal(d.data, "hello");
	/* the pooled call object is reused */
	assert_int_equal(send_echo(f->cli, "again", 0, 0, 5 * GT_NS_PER_S, &d), GT_OK);
	done_wait(&d, 2);
	assert_string_equal(d.data, "again");
}

static void
test_async_many_in_flight(void **state)
{
	fixture *f = *state;
	done     d;
	int      i;

	done_init(&d);
	for (i = 0; i < 50; i++)
		assert_int_equal(send_echo(f->cli, "x", 20, 0, 10 * GT_NS_PER_S, &d), GT_OK);
	done_wait(&d, 50);
	assert_int_equal(d.ok, 50);
}

static void
test_async_handler_status(void **state)
{
	fixture *f = *state;
	done     d;

	done_init(&d);
	assert_int_equal(send_echo(f->cli, "x", 0, GT_RPC_NOT_FOUND, 5 * GT_NS_PER_S, &d), GT_OK);
	done_wait(&d, 1);
	assert_int_equal(d.code, GT_RPC_NOT_FOUND);
	assert_int_equal(d.ok, 0);
}

static void
test_async_deadline(void **state)
{
	fixture *f = *state;
	done     d;

	done_init(&d);
	assert_int_equal(send_echo(f->cli, "x", 500, 0, 100 * GT_NS_PER_MS, &d), GT_OK);
	done_wait(&d, 1);
	assert_int_equal(d.code, GT_RPC_DEADLINE_EXCEEDED);
}

static void
test_async_unknown_method_and_args(void **state)
{
	fixture              *f = *state;
	Gtpb__V1__EchoRequest req = GTPB__V1__ECHO_REQUEST__INIT;
	done                  d;

	done_init(&d);
	assert_int_equal(gt_rpc_call_async(f->cli, &gtpb__v1__echo__descriptor, "Nope", &req.base,
	                                   0, on_done, &d),
	                 GT_EINVAL);
	assert_int_equal(gt_rpc_call_async(NULL, &gtpb__v1__echo__descriptor, "Echo", &req.base, 0,
	                                   on_done, &d),
	                 GT_EINVAL);
	assert_int_equal(d.calls, 0);
}

static void
test_async_no_server_and_close_cancels(void **state)
{
	gt_rpc_client *c;
	done           d1, d2;
	(void)state;

	done_init(&d1);
	done_init(&d2);
	/* nobody listens: the call fails by its deadline */
	assert_int_equal(gt_rpc_client_open(&c, "tcp://127.0.0.1:1", NULL), GT_OK);
	assert_int_equal(send_echo(c, "x", 0, 0, 150 * GT_NS_PER_MS, &d1), GT_OK);
	done_wait(&d1, 1);
	assert_int_equal(d1.code, GT_RPC_DEADLINE_EXCEEDED);
	/* a call in flight at close runs its callback once, CANCELLED */
	assert_int_equal(send_echo(c, "x", 0, 0, 60 * GT_NS_PER_S, &d2), GT_OK);
	gt_rpc_client_close(c);
	assert_int_equal(d2.calls, 1);
	assert_int_equal(d2.code, GT_RPC_CANCELLED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_async_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_async_many_in_flight, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_async_handler_status, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_async_deadline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_async_unknown_method_and_args, setup, teardown),
	    cmocka_unit_test(test_async_no_server_and_close_cancels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
