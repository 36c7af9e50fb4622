/* test_stm_config.c - the gt-streamer option table: defaults, env twins, validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "gt/gt_time.h"
#include "stm_config.h"

static void
test_stm_config_defaults_match_the_issue(void **state)
{
	stm_config c;
	char      *argv[] = {"gt-streamer", "--csv=x.csv", NULL};
	char      *envp[] = {NULL};
	char       err[256];
	(void)state;

	assert_int_equal(stm_config_load_ex(&c, 2, argv, envp, err, sizeof(err)), GT_OK);
	assert_string_equal(c.csv, "x.csv");
	assert_int_equal(c.workers, 4);
	assert_true(c.rate == 0);
	assert_int_equal(c.duration, 0);
	assert_string_equal(c.mq_url, "tcp://localhost:9091");
	assert_string_equal(c.topic, "gpu-telemetry");
	assert_int_equal(c.format, 0);
	assert_false(c.loop);
	assert_int_equal(stm_config_stamp_now(&c), 0); /* single pass: source timestamps */
	stm_config_free(&c);
}

static void
test_stm_config_env_twins_and_loop_stamps_now(void **state)
{
	stm_config c;
	char      *argv[] = {"gt-streamer", "--loop", NULL};
	char      *envp[] = {"GT_CSV=/data/a.csv", "GT_RATE=12.5", "GT_DURATION=90s",
	         "GT_FORMAT=nvidia-smi", "GT_MQ_URL=ipc:///tmp/mq", NULL};
	char       err[256];
	(void)state;

	assert_int_equal(stm_config_load_ex(&c, 2, argv, envp, err, sizeof(err)), GT_OK);
	assert_string_equal(c.csv, "/data/a.csv");
	assert_true(c.rate == 12.5);
	assert_int_equal(c.duration, 90 * GT_NS_PER_S);
	assert_int_equal(c.format, 3);
	assert_string_equal(c.mq_url, "ipc:///tmp/mq");
	assert_true(c.loop);
	assert_int_equal(stm_config_stamp_now(&c), 1); /* --loop: a live series */
	stm_config_free(&c);
}

static void
test_stm_config_rejects_bad_values(void **state)
{
	stm_config c;
	char      *envp[] = {NULL};
	char       err[256];
	char      *no_csv[] = {"gt-streamer", NULL};
	char      *workers[] = {"gt-streamer", "--csv=x", "--workers=0", NULL};
	char      *rate[] = {"gt-streamer", "--csv=x", "--rate=-1", NULL};
	char      *ts[] = {"gt-streamer", "--csv=x", "--timestamps=later", NULL};
	char      *cols[] = {"gt-streamer", "--csv=x", "--format=dcgm", "--columns=index", NULL};
	(void)state;

	assert_int_equal(stm_config_load_ex(&c, 1, no_csv, envp, err, sizeof(err)), GT_EINVAL);
	assert_non_null(strstr(err, "--csv"));
	assert_int_equal(stm_config_load_ex(&c, 3, workers, envp, err, sizeof(err)), GT_EINVAL);
	assert_int_equal(stm_config_load_ex(&c, 3, rate, envp, err, sizeof(err)), GT_EINVAL);
	assert_int_equal(stm_config_load_ex(&c, 3, ts, envp, err, sizeof(err)), GT_EINVAL);
	assert_int_equal(stm_config_load_ex(&c, 4, cols, envp, err, sizeof(err)), GT_EINVAL);
	assert_non_null(strstr(err, "--columns"));
}

static void
test_stm_config_live_sources(void **state)
{
	stm_config c;
	char      *envp[] = {NULL};
	char       err[256];
	char      *a1[] = {"gt-streamer", "--scrape=http://a:9400/metrics", "--scrape",
	         "http://b:9400/metrics", NULL};
	char      *a2[] = {"gt-streamer", "--csv=-", NULL};
	char      *a3[] = {"gt-streamer", "--csv=x.csv", "--follow", "--state-file=/tmp/s", NULL};
	char      *bad[][5] = {
	    {"gt-streamer", "--csv=x.csv", "--scrape=http://a/metrics", NULL},
	    {"gt-streamer", "--csv=-", "--follow", NULL},
	    {"gt-streamer", "--csv=-", "--loop", NULL},
	    {"gt-streamer", "--csv=x.csv", "--state-file=/tmp/s", NULL},
	    {"gt-streamer", "--csv=x.csv", "--follow", "--loop", NULL},
	};
	(void)state;

	assert_int_equal(stm_config_load_ex(&c, 4, a1, envp, err, sizeof(err)), GT_OK);
	assert_string_equal(c.scrape, "http://a:9400/metrics,http://b:9400/metrics");
	assert_int_equal(c.scrape_interval, GT_NS_PER_S);
	assert_int_equal(c.linger, 20 * GT_NS_PER_MS);
	stm_config_free(&c);
	assert_int_equal(stm_config_load_ex(&c, 2, a2, envp, err, sizeof(err)), GT_OK);
	assert_string_equal(c.csv, "-");
	stm_config_free(&c);
	assert_int_equal(stm_config_load_ex(&c, 4, a3, envp, err, sizeof(err)), GT_OK);
	assert_true(c.follow);
	assert_string_equal(c.state_file, "/tmp/s");
	stm_config_free(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n = 0;
		while (bad[i][n])
			n++;
		err[0] = '\0';
		assert_int_equal(stm_config_load_ex(&c, n, bad[i], envp, err, sizeof(err)), GT_EINVAL);
		assert_true(strlen(err) > 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stm_config_defaults_match_the_issue),
		cmocka_unit_test(test_stm_config_env_twins_and_loop_stamps_now),
		cmocka_unit_test(test_stm_config_rejects_bad_values),
		cmocka_unit_test(test_stm_config_live_sources),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
