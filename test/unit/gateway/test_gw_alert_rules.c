/* test_gw_alert_rules.c - the alert rules file: valid documents, defaults, and every error
 * naming the rule and the field. */
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
#include "gw_alert.h"

static gw_alert_rules *
parse_ok(const char *doc)
{
	gw_alert_rules *r = NULL;
	char            err[256] = "";

	if (gw_alert_rules_parse(doc, strlen(doc), &r, err, sizeof(err)) != GT_OK)
		fail_msg("%s: %s", doc, err);
	return r;
}

static void
parse_bad(const char *doc, const char *want)
{
	gw_alert_rules *r = NULL;
	char            err[256] = "";

	assert_int_equal(gw_alert_rules_parse(doc, strlen(doc), &r, err, sizeof(err)), GT_EINVAL);
	assert_null(r);
	if (strstr(err, want) == NULL)
		fail_msg("%s: error \"%s\" does not say \"%s\"", doc, err, want);
}

static void
test_gw_alert_rules_full_and_defaults(void **state)
{
	gw_alert_rules *r;
	(void)state;

	r = parse_ok(
	    "{\"rules\":[{\"name\":\"hot\",\"metric\":\"temperature\",\"op\":\">\","
	    "\"threshold\":85,\"for\":\"30s\",\"severity\":\"critical\",\"gpus\":[\"host-a/*\"],"
	    "\"hosts\":[\"host-a\"]},"
	    "{\"name\":\"idle\",\"metric\":\"DCGM_FI_DEV_GPU_UTIL\",\"op\":\"<=\",\"threshold\":1."
	    "5}]}");
	assert_int_equal(r->n, 2);
	assert_string_equal(r->v[0].name, "hot");
	assert_int_equal(r->v[0].op, GW_OP_GT);
	assert_int_equal(r->v[0].for_ns, 30 * GT_NS_PER_S);
	assert_int_equal(r->v[0].severity, GW_SEV_CRITICAL);
	assert_int_equal(r->v[0].ngpus, 1);
	assert_true(gw_alert_rule_applies(&r->v[0], "host-a/0", "GPU-1", "host-a"));
	assert_false(gw_alert_rule_applies(&r->v[0], "host-b/0", "GPU-2", "host-a"));
	assert_false(gw_alert_rule_applies(&r->v[0], "host-a/0", "GPU-1", "host-b"));
	/* defaults: for 0, warning, every GPU and host; DCGM names become canonical */
	assert_string_equal(r->v[1].metric, "utilization");
	assert_int_equal(r->v[1].op, GW_OP_LE);
	assert_int_equal(r->v[1].for_ns, 0);
	assert_int_equal(r->v[1].severity, GW_SEV_WARNING);
	assert_null(r->v[1].gpus);
	assert_null(r->v[1].hosts);
	assert_true(gw_alert_rule_applies(&r->v[1], "x", "", ""));
	gw_alert_rules_free(r);
	/* a bare array, "*" and a UUID match */
	r = parse_ok(
	    "[{\"name\":\"a\",\"metric\":\"power_draw\",\"op\":\"!=\",\"threshold\":0,"
	    "\"gpus\":[\"GPU-9\"]},{\"name\":\"b\",\"metric\":\"x\",\"op\":\"==\",\"threshold\":"
	    "-1,\"gpus\":[\"*\"]}]");
	assert_true(gw_alert_rule_applies(&r->v[0], "h/3", "GPU-9", "h"));
	assert_null(r->v[1].gpus);
	gw_alert_rules_free(r);
	r = parse_ok("{\"rules\":[]}");
	assert_int_equal(r->n, 0);
	gw_alert_rules_free(r);
}

static void
test_gw_alert_rules_errors_name_rule_and_field(void **state)
{
	(void)state;
	parse_bad("{", "not JSON");
	parse_bad("{\"rulez\":[]}", "want {\"rules\"");
	parse_bad("[1]", "rule 0: want an object");
	parse_bad("[{\"metric\":\"t\",\"op\":\">\",\"threshold\":1}]",
	          "rule 0: field \"name\": missing");
	parse_bad("[{\"name\":\"a b\",\"metric\":\"t\",\"op\":\">\",\"threshold\":1}]",
	          "rule 0: field \"name\"");
	parse_bad("[{\"name\":\"ok\",\"metric\":\"t\",\"op\":\">\",\"threshold\":1},"
	          "{\"name\":\"hot\",\"metric\":\"t\",\"op\":\"=>\",\"threshold\":1}]",
	          "rule 1 (\"hot\"): field \"op\"");
	parse_bad("[{\"name\":\"hot\",\"metric\":\"t\",\"threshold\":1}]",
	          "rule 0 (\"hot\"): field \"op\": missing");
	parse_bad("[{\"name\":\"hot\",\"metric\":\"t\",\"op\":\">\"}]",
	          "field \"threshold\": missing");
	parse_bad("[{\"name\":\"hot\",\"metric\":\"t\",\"op\":\">\",\"threshold\":\"85\"}]",
	          "field \"threshold\": want a number");
	parse_bad("[{\"name\":\"hot\",\"op\":\">\",\"threshold\":1}]", "field \"metric\": missing");
	parse_bad(
	    "[{\"name\":\"hot\",\"metric\":\"t\",\"op\":\">\",\"threshold\":1,\"for\":\"soon\"}]",
	    "rule 0 (\"hot\"): field \"for\"");
	parse_bad("[{\"name\":\"hot\",\"metric\":\"t\",\"op\":\">\",\"threshold\":1,\"severity\":"
	          "\"bad\"}]",
	          "field \"severity\"");
	parse_bad(
	    "[{\"name\":\"hot\",\"metric\":\"t\",\"op\":\">\",\"threshold\":1,\"gpus\":\"x\"}]",
	    "field \"gpus\"");
	parse_bad(
	    "[{\"name\":\"hot\",\"metric\":\"t\",\"op\":\">\",\"threshold\":1,\"hosts\":[\"\"]}]",
	    "field \"hosts\": item 0");
	parse_bad(
	    "[{\"name\":\"hot\",\"metric\":\"t\",\"op\":\">\",\"threshold\":1,\"treshold\":2}]",
	    "field \"treshold\": unknown");
	parse_bad("[{\"name\":\"hot\",\"metric\":\"t\",\"op\":\">\",\"threshold\":1},"
	          "{\"name\":\"hot\",\"metric\":\"u\",\"op\":\"<\",\"threshold\":1}]",
	          "rule 1 (\"hot\"): field \"name\": also the name of rule 0");
	parse_bad("[{\"name\":\"gpu_stale\",\"metric\":\"t\",\"op\":\">\",\"threshold\":1}]",
	          "built-in");
}

static void
test_gw_alert_rules_load_file(void **state)
{
	gw_alert_rules *r = NULL;
	char           *dir = gt_test_tmpdir("gwrules"), err[256], path[512];
	FILE           *f;
	(void)state;

	snprintf(path, sizeof(path), "%s/rules.json", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(
	    "[{\"name\":\"x\",\"metric\":\"temperature\",\"op\":\">\",\"threshold\":1,\"for\":5}]",
	    f);
	fclose(f);
	assert_int_equal(gw_alert_rules_load(path, &r, err, sizeof(err)), GT_OK);
	assert_int_equal(r->v[0].for_ns, 5 * GT_NS_PER_S);
	gw_alert_rules_free(r);
	remove(path);
	assert_int_equal(gw_alert_rules_load(path, &r, err, sizeof(err)), GT_EINVAL);
	assert_non_null(strstr(err, "cannot open"));
	gt_test_rmrf(dir);
	free(dir);
}

static void
test_gw_alert_xid_words(void **state)
{
	(void)state;
	assert_string_equal(gw_xid_meaning(79), "GPU has fallen off the bus");
	assert_int_equal(gw_xid_severity(79), GW_SEV_CRITICAL);
	assert_int_equal(gw_xid_severity(13), GW_SEV_WARNING);
	assert_non_null(gw_xid_meaning(99999));
	assert_true(gw_xid_metric("DCGM_FI_DEV_XID_ERRORS"));
	assert_true(gw_xid_metric("xid_errors"));
	assert_false(gw_xid_metric("temperature"));
	assert_true(gw_alert_op_eval(GW_OP_GE, 2, 2));
	assert_false(gw_alert_op_eval(GW_OP_GT, 2, 2));
	assert_true(gw_alert_op_eval(GW_OP_NE, 1, 2));
	assert_false(gw_alert_op_eval(GW_OP_NE, 0.0 / 0.0, 2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gw_alert_rules_full_and_defaults),
	    cmocka_unit_test(test_gw_alert_rules_errors_name_rule_and_field),
	    cmocka_unit_test(test_gw_alert_rules_load_file),
	    cmocka_unit_test(test_gw_alert_xid_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
