# gt-mq integration tests: the real binary on ephemeral loopback ports.
gt_integ_test(mq_basic SOURCES test_mq_basic.c test_mq_util.c TIMEOUT 120)
gt_integ_test(mq_groups SOURCES test_mq_groups.c test_mq_util.c TIMEOUT 120)
gt_integ_test(mq_redelivery SOURCES test_mq_redelivery.c test_mq_util.c TIMEOUT 60)
gt_integ_test(mq_persist SOURCES test_mq_persist.c test_mq_util.c TIMEOUT 120)
gt_integ_test(mq_dlq_persist SOURCES test_mq_dlq_persist.c test_mq_util.c TIMEOUT 120)
gt_integ_test(mq_hostile SOURCES test_mq_hostile.c test_mq_util.c TIMEOUT 120)
gt_integ_test(mq_http_hardening SOURCES test_mq_http_hardening.c test_mq_util.c TIMEOUT 60)
