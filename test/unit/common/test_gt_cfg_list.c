/* test_gt_cfg_list.c - repeatable (GT_CFG_LIST) options: flags repeat and append, env/file
 * give comma lists or arrays, flags replace env on first use, split trims and skips empties. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gt/gt_cfg.h"

typedef struct lcfg {
	char   *urls;
	int64_t port;
} lcfg;

static const gt_cfg_opt opts[] = {
    GT_CFG_LIST("collector-url", lcfg, urls, "tcp://127.0.0.1:9093", "collectors"),
    GT_CFG_INT("port", lcfg, port, "1", 0, 65535, "port"),
};

static gt_err
load(lcfg *c, char **argv, char **envp)
{
	int  argc = 0;
	char err[256];

	while (argv[argc])
		argc++;
	memset(c, 0, sizeof(*c));
	return gt_cfg_load_ex(opts, GT_NELEM(opts), c, argc, argv, envp, "t", "t", err, sizeof(err));
}

static void
test_list_default_and_repeat(void **state)
{
	lcfg  c;
	char *a0[] = {"x", NULL};
	char *a1[] = {"x", "--collector-url", "tcp://a:1", "--port=2", "--collector-url=tcp://b:2",
	              NULL};
	char *env[] = {"GT_COLLECTOR_URL=tcp://e:1,tcp://e:2", NULL};
	(void)state;

	assert_int_equal(load(&c, a0, NULL), GT_OK);
	assert_string_equal(c.urls, "tcp://127.0.0.1:9093");
	gt_cfg_free(opts, GT_NELEM(opts), &c);
	assert_int_equal(load(&c, a1, env), GT_OK); /* flags replace env, then append */
	assert_string_equal(c.urls, "tcp://a:1,tcp://b:2");
	gt_cfg_free(opts, GT_NELEM(opts), &c);
	assert_int_equal(load(&c, a0, env), GT_OK);
	assert_string_equal(c.urls, "tcp://e:1,tcp://e:2");
	gt_cfg_free(opts, GT_NELEM(opts), &c);
}

static void
test_list_file_array(void **state)
{
	lcfg  c;
	char  path[] = "/tmp/gt_cfg_list_XXXXXX";
	int   fd = mkstemp(path);
	char *argv[] = {"x", "--config", path, NULL};
	const char *doc = "{\"collector-url\":[\"tcp://f:1\",\"tcp://f:2\"]}";
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, doc, strlen(doc)), (int)strlen(doc));
	close(fd);
	assert_int_equal(load(&c, argv, NULL), GT_OK);
	assert_string_equal(c.urls, "tcp://f:1,tcp://f:2");
	{
		char *j = gt_cfg_json(opts, GT_NELEM(opts), &c);

		assert_non_null(strstr(j, "\"collector-url\":[\"tcp://f:1\",\"tcp://f:2\"]"));
		free(j);
	}
	gt_cfg_free(opts, GT_NELEM(opts), &c);
	unlink(path);
}

static void
test_list_split(void **state)
{
	char **v;
	size_t n;
	(void)state;

	assert_int_equal(gt_cfg_list_split(" a , ,b,,c ", &v, &n), GT_OK);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "b");
	assert_string_equal(v[2], "c");
	assert_null(v[3]);
	gt_cfg_list_free(v);
	assert_int_equal(gt_cfg_list_split("", &v, &n), GT_OK);
	assert_int_equal(n, 0);
	gt_cfg_list_free(v);
	assert_int_equal(gt_cfg_list_split(NULL, &v, &n), GT_OK);
	assert_int_equal(n, 0);
	gt_cfg_list_free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_list_default_and_repeat),
	    cmocka_unit_test(test_list_file_array),
	    cmocka_unit_test(test_list_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
