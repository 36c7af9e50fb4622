# gt-collector integration tests: real gt-mq + gt-collector on ephemeral loopback ports.
gt_integ_test(collector_basic SOURCES test_collector_basic.c test_collector_util.c TIMEOUT 120)
gt_integ_test(collector_crash SOURCES test_collector_crash.c test_collector_util.c TIMEOUT 180)
gt_integ_test(collector_group SOURCES test_collector_group.c test_collector_util.c TIMEOUT 120)
gt_integ_test(collector_chaos SOURCES test_collector_chaos.c test_collector_util.c TIMEOUT 500)
gt_integ_test(collector_diskfull SOURCES test_collector_diskfull.c test_collector_util.c TIMEOUT 180)
