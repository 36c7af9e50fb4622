/* test_gt_cfg.c - config table: sources in order, every error path exits 2 naming the flag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gt/gt_cfg.h"
#include "gt/gt_time.h"

typedef struct tcfg {
	int64_t port;
	char   *url;
	int64_t timeout;
	bool    persist;
	int     fsync;
	double  ratio;
} tcfg;

static const char *const fsync_modes[] = {"always", "interval", "never", NULL};

static const gt_cfg_opt opts[] = {
    GT_CFG_INT("port", tcfg, port, "9090", 0, 65535, "HTTP port"),
    GT_CFG_STR("mq-url", tcfg, url, "tcp://127.0.0.1:9091", "broker URL"),
    GT_CFG_DUR("ack-timeout", tcfg, timeout, "5s", GT_NS_PER_MS, 3600 * GT_NS_PER_S, "ack timeout"),
    GT_CFG_BOOL("persistence", tcfg, persist, "false", "write-ahead log"),
    GT_CFG_ENUM("fsync", tcfg, fsync, "interval", fsync_modes, "fsync policy"),
    GT_CFG_DBL("ratio", tcfg, ratio, "0.5", 0, 1, "a ratio"),
};

static gt_err
load(tcfg *c, char **argv, char **envp, char *err)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	memset(c, 0, sizeof(*c));
	return gt_cfg_load_ex(opts, GT_NELEM(opts), c, argc, argv, envp, "gt-test", "test", err, 256);
}

static void
test_cfg_defaults(void **state)
{
	tcfg  c;
	char *argv[] = {"x", NULL};
	char  err[256] = "";
	(void)state;

	assert_int_equal(load(&c, argv, NULL, err), GT_OK);
	assert_int_equal(c.port, 9090);
	assert_string_equal(c.url, "tcp://127.0.0.1:9091");
	assert_int_equal(c.timeout, 5 * GT_NS_PER_S);
	assert_false(c.persist);
	assert_int_equal(c.fsync, 1);
	assert_true(c.ratio == 0.5);
	gt_cfg_free(opts, GT_NELEM(opts), &c);
}

static void
test_cfg_env_then_flags_win(void **state)
{
	tcfg  c;
	char *argv[] = {"x", "--port=7000", "--persistence", "--fsync", "never", NULL};
	char *envp[] = {"GT_PORT=8000", "GT_MQ_URL=ipc:///tmp/q", "GT_ACK_TIMEOUT=250ms", "OTHER=1", NULL};
	char  err[256] = "";
	(void)state;

	assert_int_equal(load(&c, argv, envp, err), GT_OK);
	assert_int_equal(c.port, 7000);
	assert_string_equal(c.url, "ipc:///tmp/q");
	assert_int_equal(c.timeout, 250 * GT_NS_PER_MS);
	assert_true(c.persist);
	assert_int_equal(c.fsync, 2);
	gt_cfg_free(opts, GT_NELEM(opts), &c);
}

static void
test_cfg_file_between_defaults_and_env(void **state)
{
	char  path[] = "/tmp/gt-cfg-XXXXXX";
	int   fd = mkstemp(path);
	tcfg  c;
	char  arg[64];
	char *argv[] = {"x", "--config", arg, NULL};
	char *envp[] = {"GT_RATIO=0.25", NULL};
	char  err[256] = "";
	const char *json = "{\"port\": 1234, \"ratio\": 0.75, \"persistence\": true, \"ack-timeout\": \"1m\"}";
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
	close(fd);
	snprintf(arg, sizeof(arg), "%s", path);
	assert_int_equal(load(&c, argv, envp, err), GT_OK);
	assert_int_equal(c.port, 1234);
	assert_true(c.persist);
	assert_true(c.ratio == 0.25); /* env beats file */
	assert_int_equal(c.timeout, 60 * GT_NS_PER_S);
	gt_cfg_free(opts, GT_NELEM(opts), &c);
	unlink(path);
}

static void
test_cfg_every_error_names_the_flag(void **state)
{
	static const struct {
		const char *arg;
		const char *expect;
	} bad[] = {
	    {"--port=70000", "--port: must be between 0 and 65535 (got 70000)"},
	    {"--port=abc", "--port: not an integer"},
	    {"--ack-timeout=5", NULL}, /* 5 s is fine: checked below as OK */
	    {"--ack-timeout=forever", "--ack-timeout: not a duration"},
	    {"--ack-timeout=2h", "--ack-timeout: must be between"},
	    {"--persistence=maybe", "--persistence: not a boolean"},
	    {"--fsync=sometimes", "--fsync: must be one of always|interval|never"},
	    {"--ratio=2", "--ratio: must be between"},
	    {"--ratio=nan", "--ratio: not a number"},
	    {"--nope=1", "unknown option --nope"},
	    {"positional", "unexpected argument"},
	    {"--port", "--port: needs a value"},
	    {"--config=/nonexistent/x.json", "--config: /nonexistent/x.json"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tcfg  c;
		char *argv[] = {"x", (char *)bad[i].arg, NULL};
		char  err[256] = "";
		gt_err rv = load(&c, argv, NULL, err);
		if (bad[i].expect == NULL) {
			assert_int_equal(rv, GT_OK);
			gt_cfg_free(opts, GT_NELEM(opts), &c);
			continue;
		}
		assert_int_equal(rv, GT_EINVAL);
		assert_int_equal(gt_exit_code(rv), 2);
		if (strstr(err, bad[i].expect) == NULL)
			fail_msg("%s: got \"%s\", want \"%s\"", bad[i].arg, err, bad[i].expect);
	}
	{
		tcfg  c;
		char *envp[] = {"GT_PORT=-1", NULL};
		char *argv[] = {"x", NULL};
		char  err[256] = "";
		assert_int_equal(load(&c, argv, envp, err), GT_EINVAL);
		assert_non_null(strstr(err, "GT_PORT: --port: must be between"));
	}
}

static void
test_cfg_help_and_print_config_are_done(void **state)
{
	tcfg  c;
	char *argv1[] = {"x", "--print-config", "--port=1", NULL};
	char *argv2[] = {"x", "--help", NULL};
	char  err[256] = "";
	char *j;
	json_t *root;
	(void)state;

	assert_int_equal(load(&c, argv1, NULL, err), GT_EDONE);
	j = gt_cfg_json(opts, GT_NELEM(opts), &c);
	root = json_loads(j, 0, NULL);
	assert_non_null(root);
	assert_int_equal(json_integer_value(json_object_get(root, "port")), 1);
	assert_string_equal(json_string_value(json_object_get(root, "ack-timeout")), "5s");
	assert_string_equal(json_string_value(json_object_get(root, "fsync")), "interval");
	json_decref(root);
	free(j);
	gt_cfg_free(opts, GT_NELEM(opts), &c);
	assert_int_equal(load(&c, argv2, NULL, err), GT_EDONE);
	assert_int_equal(gt_exit_code(GT_EDONE), 0);
	gt_cfg_free(opts, GT_NELEM(opts), &c);
}

static const gt_cfg_opt alias_opts[] = {
    GT_CFG_INT("port", tcfg, port, "9090", -1, 65535, "HTTP port"),
    GT_CFG_ALIAS("api-port", "port"),
    GT_CFG_ALIAS("http-port", "port"),
    GT_CFG_STR("mq-url", tcfg, url, "tcp://127.0.0.1:9091", "broker URL"),
};

static gt_err
load_alias(const gt_cfg_opt *o, size_t n, tcfg *c, char **argv, char **envp, char *err)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	memset(c, 0, sizeof(*c));
	return gt_cfg_load_ex(o, n, c, argc, argv, envp, "gt-test", "test", err, 256);
}

/* Old flag names kept as aliases: flag, env twin and config key set the option they name. */
static void
test_cfg_alias_sets_its_target_everywhere(void **state)
{
	tcfg   c;
	char  *argv1[] = {"x", "--api-port=7", NULL};
	char  *argv2[] = {"x", "--http-port", "8", NULL};
	char  *argv3[] = {"x", "--http-port=9", NULL};
	char  *argv4[] = {"x", "--print-config", "--api-port=11", NULL};
	char  *none[] = {"x", NULL};
	char  *env1[] = {"GT_HTTP_PORT=-1", NULL};
	char  *env2[] = {"GT_PORT=5", NULL};
	char   err[256] = "";
	char  *j;
	json_t *root;
	(void)state;

	assert_int_equal(load_alias(alias_opts, GT_NELEM(alias_opts), &c, argv1, NULL, err), GT_OK);
	assert_int_equal(c.port, 7);
	gt_cfg_free(alias_opts, GT_NELEM(alias_opts), &c);
	assert_int_equal(load_alias(alias_opts, GT_NELEM(alias_opts), &c, argv2, NULL, err), GT_OK);
	assert_int_equal(c.port, 8);
	gt_cfg_free(alias_opts, GT_NELEM(alias_opts), &c);
	/* env twin of the alias */
	assert_int_equal(load_alias(alias_opts, GT_NELEM(alias_opts), &c, none, env1, err), GT_OK);
	assert_int_equal(c.port, -1);
	gt_cfg_free(alias_opts, GT_NELEM(alias_opts), &c);
	/* a flag (any name) beats the env (any name) */
	assert_int_equal(load_alias(alias_opts, GT_NELEM(alias_opts), &c, argv3, env2, err), GT_OK);
	assert_int_equal(c.port, 9);
	gt_cfg_free(alias_opts, GT_NELEM(alias_opts), &c);
	/* bad values through an alias are checked as the option's */
	{
		char *bad[] = {"x", "--api-port=70000", NULL};
		assert_int_equal(load_alias(alias_opts, GT_NELEM(alias_opts), &c, bad, NULL, err),
		                 GT_EINVAL);
		assert_non_null(strstr(err, "--port: must be between -1 and 65535 (got 70000)"));
	}
	/* --print-config shows the option once, under its name */
	assert_int_equal(load_alias(alias_opts, GT_NELEM(alias_opts), &c, argv4, NULL, err),
	                 GT_EDONE);
	j = gt_cfg_json(alias_opts, GT_NELEM(alias_opts), &c);
	root = json_loads(j, 0, NULL);
	assert_non_null(root);
	assert_int_equal(json_integer_value(json_object_get(root, "port")), 11);
	assert_null(json_object_get(root, "api-port"));
	assert_int_equal(json_object_size(root), 2);
	json_decref(root);
	free(j);
	gt_cfg_free(alias_opts, GT_NELEM(alias_opts), &c);
}

static void
test_cfg_alias_file_key_and_bad_table(void **state)
{
	char        path[] = "/tmp/gt-cfg-XXXXXX";
	int         fd = mkstemp(path);
	tcfg        c;
	char        arg[64];
	char       *argv[] = {"x", "--config", arg, NULL};
	char        err[256] = "";
	const char *json = "{\"api-port\": 4321}";
	static const gt_cfg_opt broken[] = {
	    GT_CFG_INT("port", tcfg, port, "1", 0, 10, "p"),
	    GT_CFG_ALIAS("old", "no-such-option"),
	};
	char *none[] = {"x", NULL};
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
	close(fd);
	snprintf(arg, sizeof(arg), "%s", path);
	assert_int_equal(load_alias(alias_opts, GT_NELEM(alias_opts), &c, argv, NULL, err), GT_OK);
	assert_int_equal(c.port, 4321);
	gt_cfg_free(alias_opts, GT_NELEM(alias_opts), &c);
	unlink(path);
	assert_int_equal(load_alias(broken, GT_NELEM(broken), &c, none, NULL, err), GT_EINVAL);
	assert_non_null(strstr(err, "--old: alias of an unknown option"));
}

static void
test_cfg_env_name(void **state)
{
	char buf[64];
	(void)state;

	gt_cfg_env_name("mq-url", buf, sizeof(buf));
	assert_string_equal(buf, "GT_MQ_URL");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cfg_defaults),
	    cmocka_unit_test(test_cfg_env_then_flags_win),
	    cmocka_unit_test(test_cfg_file_between_defaults_and_env),
	    cmocka_unit_test(test_cfg_every_error_names_the_flag),
	    cmocka_unit_test(test_cfg_help_and_print_config_are_done),
	    cmocka_unit_test(test_cfg_env_name),
	    cmocka_unit_test(test_cfg_alias_sets_its_target_everywhere),
	    cmocka_unit_test(test_cfg_alias_file_key_and_bad_table),
	};
	return cmocka_run_group_tests_name("unit.common.cfg", tests, NULL, NULL);
}
