/* test_gtctl_tty.c - `gtctl tail` and `gtctl top` driven under a pseudo-terminal (forkpty)
 * for a bounded time, fed by a real gt-streamer -> gt-mq -> gt-collector live feed: tail
 * prints records as they are stored and stops on Ctrl-C; top draws the fleet, redraws from
 * the feed, re-sorts on a key and quits on 'q', restoring the terminal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_time.h"
#include "gt_test.h"
#include "test_gtctl_util.h"

static void
test_gtctl_tail_under_pty_until_ctrl_c(void **state)
{
	tg_env      e;
	tg_pty      p;
	const char *args[] = {"tail", "--metric", "temperature", NULL};
	size_t      mark;

	(void)state;
	tg_start(&e, 1); /* the streamer loops wide_basic.csv (gpu_id 0..5), stamped now */
	tg_pty_start(&p, args);
	/* a record line: "<timestamp>Z  <gpu>  <host>  temperature=<v>" */
	assert_true(tg_pty_expect(&p, "  temperature=", 0, 20 * GT_NS_PER_S));
	assert_null(strstr(p.buf, "utilization=")); /* --metric filters */
	mark = p.len;
	/* still live: more lines keep coming */
	assert_true(tg_pty_expect(&p, "  temperature=", mark, 20 * GT_NS_PER_S));
	tg_pty_write(&p, "\003"); /* Ctrl-C through the terminal: SIGINT, a clean exit */
	assert_int_equal(tg_pty_wait(&p, 10 * GT_NS_PER_S), 0);
	tg_pty_free(&p);

	{
		/* only the GPUs asked for */
		const char *one[] = {"tail", "3", NULL};

		tg_pty_start(&p, one);
		assert_true(tg_pty_expect(&p, "Z  3  ", 0, 20 * GT_NS_PER_S));
		assert_true(tg_pty_expect(&p, "Z  3  ", p.len, 20 * GT_NS_PER_S));
		assert_null(strstr(p.buf, "Z  2  "));
		assert_null(strstr(p.buf, "Z  4  "));
		tg_pty_write(&p, "\003");
		assert_int_equal(tg_pty_wait(&p, 10 * GT_NS_PER_S), 0);
		tg_pty_free(&p);
	}
	tg_stop(&e);
}

static void
test_gtctl_top_under_pty_quits_on_q(void **state)
{
	tg_env      e;
	tg_pty      p;
	const char *args[] = {"top", "--interval", "200ms", NULL};
	size_t      mark;

	(void)state;
	tg_start(&e, 1);
	tg_pty_start(&p, args);
	assert_true(tg_pty_expect(&p, "\033[?1049h", 0, 10 * GT_NS_PER_S)); /* alternate screen */
	assert_true(tg_pty_expect(&p, "gtctl top", 0, 10 * GT_NS_PER_S));
	assert_true(tg_pty_expect(&p, "TEMP", 0, 10 * GT_NS_PER_S));
	/* the live feed fills the table: a frame with updates counted */
	mark = p.len;
	assert_true(tg_pty_expect(&p, "sort: gpu", mark, 10 * GT_NS_PER_S));
	{
		int64_t deadline = gt_mono_ns() + 20 * GT_NS_PER_S;
		int     fed = 0;

		while (!fed && gt_mono_ns() < deadline) {
			const char *u = strstr(p.buf + mark, "feed updates: ");

			fed = u && u[14] >= '1' && u[14] <= '9';
			if (!fed)
				tg_pty_expect(&p, "feed updates: ", p.len, 500 * GT_NS_PER_MS);
		}
		assert_true(fed);
	}
	/* 't' sorts by temperature */
	mark = p.len;
	tg_pty_write(&p, "t");
	assert_true(tg_pty_expect(&p, "sort: temperature", mark, 10 * GT_NS_PER_S));
	tg_pty_write(&p, "q");
	assert_int_equal(tg_pty_wait(&p, 10 * GT_NS_PER_S), 0);
	assert_non_null(strstr(p.buf, "\033[?1049l")); /* the terminal restored */
	tg_pty_free(&p);
	tg_stop(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_gtctl_tail_under_pty_until_ctrl_c, tc_cleanup),
	    cmocka_unit_test_teardown(test_gtctl_top_under_pty_quits_on_q, tc_cleanup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
