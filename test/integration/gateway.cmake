# gt-gateway integration tests: real gt-mq + gt-collector(s) + gt-gateway on loopback.
set(GW_UTIL test_gateway_util.c test_collector_util.c)
gt_integ_test(gateway_api SOURCES test_gateway_api.c ${GW_UTIL} LIBS gt_proto TIMEOUT 180)
gt_integ_test(gateway_ws SOURCES test_gateway_ws.c ${GW_UTIL} LIBS gt_proto TIMEOUT 180)
gt_integ_test(gateway_multi SOURCES test_gateway_multi.c ${GW_UTIL} LIBS gt_proto TIMEOUT 180)
gt_integ_test(gateway_openapi SOURCES test_gateway_openapi.c ${GW_UTIL} LIBS gt_proto TIMEOUT 120)
gt_integ_test(gateway_alerts SOURCES test_gateway_alerts.c ${GW_UTIL} LIBS gt_proto TIMEOUT 240)
add_dependencies(integ_gateway_alerts gtctl gt-mq gt-collector gt-gateway gt-streamer)
