/* gt_echo.h - the test Echo service (proto/gtpb/v1/test.proto) for RPC tests: Echo returns
 * its data after sleep_ms, or fails with fail_code when set (data starting "packed:" is
 * answered through gt_rpc_reply_begin / _end); Ingest answers the number of records. Add it with gt_rpc_server_add(srv, &gt_echo_service.base). */
#ifndef GT_ECHO_H
#define GT_ECHO_H

#include "gtpb/v1/test.pb-c.h"

extern Gtpb__V1__Echo_Service gt_echo_service;

#endif
