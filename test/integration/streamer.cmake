# gt-streamer integration tests: the real gt-streamer (and gt-gen, gt-mq) on loopback.
gt_integ_test(streamer_delivery SOURCES test_streamer_delivery.c test_mq_util.c TIMEOUT 120)
gt_integ_test(streamer_bad_input SOURCES test_streamer_bad_input.c TIMEOUT 60)
gt_integ_test(streamer_limits SOURCES test_streamer_limits.c test_mq_util.c TIMEOUT 180)
