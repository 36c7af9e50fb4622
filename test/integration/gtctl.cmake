# gtctl integration tests: the real gtctl binary against real gt-mq, gt-collector and
# gt-streamer processes; tail and top under a pseudo-terminal (forkpty, libutil).
gt_integ_test(gtctl SOURCES test_gtctl.c test_gtctl_util.c test_collector_util.c
  LIBS util TIMEOUT 240)
gt_integ_test(gtctl_tty SOURCES test_gtctl_tty.c test_gtctl_util.c test_collector_util.c
  LIBS util TIMEOUT 180)
add_dependencies(integ_gtctl gtctl gt-mq gt-collector gt-streamer)
add_dependencies(integ_gtctl_tty gtctl gt-mq gt-collector gt-streamer)
# ... and every command that talks to the gateway, against a real gt-gateway in front of them.
gt_integ_test(gtctl_gateway SOURCES test_gtctl_gateway.c test_gtctl_util.c test_collector_util.c
  LIBS util TIMEOUT 240)
add_dependencies(integ_gtctl_gateway gtctl gt-mq gt-collector gt-streamer gt-gateway)
