# System tests: the whole pipeline (gt-streamer -> gt-mq -> gt-collector -> gt-gateway) on
# loopback, and faults injected into it.
set(E2E_UTIL test_e2e_util.c test_collector_util.c)
gt_integ_test(e2e_pipeline SOURCES test_e2e_pipeline.c ${E2E_UTIL} LIBS gt_proto TIMEOUT 120)
