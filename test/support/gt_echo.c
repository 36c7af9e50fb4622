/* gt_echo.c - see gt_echo.h. */
#include "gt_echo.h"

#include <string.h>

#include "gt/gt_rpc.h"
#include "gt/gt_time.h"

static void
echo_echo(Gtpb__V1__Echo_Service *svc, const Gtpb__V1__EchoRequest *in,
          Gtpb__V1__EchoResponse_Closure closure, void *data)
{
	Gtpb__V1__EchoResponse out = GTPB__V1__ECHO_RESPONSE__INIT;

	(void)svc;
	if (in->sleep_ms)
		gt_sleep_ns((int64_t)in->sleep_ms * GT_NS_PER_MS);
	if (in->fail_code) {
		gt_rpc_fail(data, (gt_rpc_code)in->fail_code, "asked to fail with %d", in->fail_code);
		closure(NULL, data);
		return;
	}
	out.data = in->data;
	/* "packed:..." is answered by packing the reply in place (gt_rpc_reply_begin / _end) */
	if (in->data.len >= 7 && memcmp(in->data.data, "packed:", 7) == 0) {
		size_t   n = gtpb__v1__echo_response__get_packed_size(&out);
		uint8_t *p = gt_rpc_reply_begin(data, n);
		if (p == NULL) {
			gt_rpc_fail(data, GT_RPC_RESOURCE_EXHAUSTED, "out of memory");
			closure(NULL, data);
			return;
		}
		gtpb__v1__echo_response__pack(&out, p);
		gt_rpc_reply_end(data);
		return;
	}
	closure(&out, data);
}

static void
echo_ingest(Gtpb__V1__Echo_Service *svc, const Gtpb__V1__TelemetryBatch *in,
            Gtpb__V1__BatchAck_Closure closure, void *data)
{
	Gtpb__V1__BatchAck out = GTPB__V1__BATCH_ACK__INIT;

	(void)svc;
	out.count = (uint32_t)in->n_records;
	closure(&out, data);
}

Gtpb__V1__Echo_Service gt_echo_service = GTPB__V1__ECHO__INIT(echo_);
