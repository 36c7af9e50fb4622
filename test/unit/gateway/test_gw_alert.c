/* test_gw_alert.c - the alert engine with injected time: thresholds crossing and recrossing
 * with `for`, staleness, XID and vanished events, reloads, history bounds, JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_time.h"
#include "gw_alert.h"

#define S GT_NS_PER_S
#define T0 (1800000000LL * S)

/* What the emit callback saw: "rule/state/gpu" lines. */
static char   seen[64][160];
static size_t nseen;

static void
on_emit(void *arg, const gw_alert *a)
{
	(void)arg;
	assert_true(nseen < 64);
	snprintf(seen[nseen++], sizeof(seen[0]), "%s/%s/%s", a->rule, gw_alert_state_name(a->state),
	         a->gpu);
}

static void
expect(const char *const *want, size_t n)
{
	size_t i;

	if (nseen != n) {
		for (i = 0; i < nseen; i++)
			print_message("seen %s\n", seen[i]);
		fail_msg("%zu changes, want %zu", nseen, n);
	}
	for (i = 0; i < n; i++)
		assert_string_equal(seen[i], want[i]);
	nseen = 0;
}

static gw_alert_engine *
engine(const char *rules, int64_t stale, size_t hist)
{
	gw_alert_rules  *r = NULL;
	gw_alert_engine *e = NULL;
	char             err[256];

	if (rules != NULL &&
	    gw_alert_rules_parse(rules, strlen(rules), &r, err, sizeof(err)) != GT_OK)
		fail_msg("%s", err);
	assert_int_equal(gw_alert_engine_new(&e, stale, hist, r, on_emit, NULL), GT_OK);
	nseen = 0;
	return e;
}

static int
rec(gw_alert_engine *e, const char *gpu, const char *host, const char *metric, double v,
    int64_t now)
{
	const char  *names[2] = {metric, "other"};
	double       vals[2] = {v, 0};
	gw_alert_rec r = {
	    .gpu = gpu, .uuid = "GPU-u", .hostname = host, .names = names, .values = vals, .n = 2};

	return gw_alert_engine_record(e, &r, now);
}

static const char hot[] = "[{\"name\":\"hot\",\"metric\":\"temperature\",\"op\":\">\","
                          "\"threshold\":85,\"for\":\"30s\",\"severity\":\"critical\"}]";

static void
test_gw_alert_for_holds_pending_then_fires_and_resolves(void **state)
{
	gw_alert_engine *e = engine(hot, 3600 * S, 100);
	gw_alert_list    l;
	(void)state;

	assert_int_equal(rec(e, "h/0", "h", "temperature", 80, T0), 0);
	assert_int_equal(rec(e, "h/0", "h", "temperature", 90, T0 + 1 * S), GW_AR_CHANGED);
	expect((const char *[]){"hot/pending/h/0"}, 1);
	/* true for 29 s: still pending (record and tick) */
	assert_int_equal(rec(e, "h/0", "h", "temperature", 91, T0 + 30 * S), 0);
	assert_int_equal(gw_alert_engine_tick(e, T0 + 30 * S), 0);
	assert_int_equal(gw_alert_engine_current(e, NULL, &l), GT_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.pending, 1);
	assert_int_equal(l.v[0].state, GW_AS_PENDING);
	assert_true(l.v[0].value == 91);
	assert_int_equal(l.v[0].active_since_ns, T0 + 1 * S);
	gw_alert_list_fini(&l);
	/* 30 s: the timer fires it without a new record */
	assert_int_equal(gw_alert_engine_tick(e, T0 + 31 * S), GW_AR_CHANGED);
	expect((const char *[]){"hot/firing/h/0"}, 1);
	assert_int_equal(gw_alert_engine_current(e, NULL, &l), GT_OK);
	assert_int_equal(l.firing, 1);
	assert_int_equal(l.v[0].since_ns, T0 + 31 * S);
	assert_int_equal(l.v[0].active_since_ns, T0 + 1 * S);
	assert_string_equal(l.v[0].message, "temperature 91 > 85 for 30s");
	gw_alert_list_fini(&l);
	/* staying above: no change; dropping below: resolved with the value */
	assert_int_equal(rec(e, "h/0", "h", "temperature", 95, T0 + 40 * S), 0);
	assert_int_equal(rec(e, "h/0", "h", "temperature", 85, T0 + 41 * S), GW_AR_CHANGED);
	expect((const char *[]){"hot/resolved/h/0"}, 1);
	assert_int_equal(gw_alert_engine_current(e, NULL, &l), GT_OK);
	assert_int_equal(l.n, 0);
	gw_alert_list_fini(&l);
	/* recrossing starts over: pending, then below before `for` -> it just goes away */
	assert_int_equal(rec(e, "h/0", "h", "temperature", 86, T0 + 50 * S), GW_AR_CHANGED);
	expect((const char *[]){"hot/pending/h/0"}, 1);
	assert_int_equal(rec(e, "h/0", "h", "temperature", 84, T0 + 60 * S), GW_AR_DROPPED);
	assert_int_equal(gw_alert_engine_tick(e, T0 + 100 * S), 0);
	expect(NULL, 0);
	/* a record whose own arrival passes `for` fires it */
	rec(e, "h/0", "h", "temperature", 86, T0 + 200 * S);
	assert_int_equal(rec(e, "h/0", "h", "temperature", 87, T0 + 230 * S), GW_AR_CHANGED);
	expect((const char *[]){"hot/pending/h/0", "hot/firing/h/0"}, 2);
	/* history: every change, oldest first, seq increasing */
	assert_int_equal(gw_alert_engine_history(e, 0, 100, &l), GT_OK);
	assert_int_equal(l.n, 6);
	assert_int_equal(l.last_seq, 6);
	assert_int_equal(l.v[0].seq, 1);
	assert_int_equal(l.v[2].state, GW_AS_RESOLVED);
	assert_true(l.v[2].value == 85);
	gw_alert_list_fini(&l);
	assert_int_equal(gw_alert_engine_history(e, 4, 1, &l), GT_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].seq, 5);
	gw_alert_list_fini(&l);
	gw_alert_engine_free(e);
}

static void
test_gw_alert_for_zero_fires_at_once_per_gpu(void **state)
{
	gw_alert_engine *e = engine("[{\"name\":\"low\",\"metric\":\"power_draw\",\"op\":\"<\","
	                            "\"threshold\":10,\"hosts\":[\"a\"]}]",
	                            3600 * S, 100);
	gw_alert_list    l;
	gw_alert_filter  f = {.state = -1, .severity = -1, .gpu = "a/1"};
	(void)state;

	rec(e, "a/0", "a", "power_draw", 5, T0);
	rec(e, "a/1", "a", "power_draw", 5, T0 + 1);
	rec(e, "b/0", "b", "power_draw", 5, T0 + 2);  /* not its host */
	rec(e, "a/2", "a", "temperature", 5, T0 + 3); /* no power_draw: nothing */
	expect((const char *[]){"low/firing/a/0", "low/firing/a/1"}, 2);
	assert_int_equal(gw_alert_engine_current(e, &f, &l), GT_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.firing, 2);
	assert_string_equal(l.v[0].gpu, "a/1");
	gw_alert_list_fini(&l);
	gw_alert_engine_free(e);
}

/* The /stats counts: rules, firing (stale included) and pending as current() counts them, and
 * the changes so far (the last seq). */
static void
test_gw_alert_counts(void **state)
{
	gw_alert_engine *e = engine(hot, 10 * S, 100);
	gw_alert_counts  c;
	gw_alert_list    l;
	(void)state;

	gw_alert_engine_counts(e, &c);
	assert_int_equal(c.rules, 1);
	assert_int_equal(c.firing + c.pending + c.changes, 0);
	rec(e, "h/0", "h", "temperature", 90, T0);
	rec(e, "h/1", "h", "temperature", 90, T0);
	rec(e, "h/2", "h", "temperature", 50, T0);
	gw_alert_engine_counts(e, &c);
	assert_int_equal(c.pending, 2);
	assert_int_equal(c.firing, 0);
	assert_int_equal(c.changes, 2);
	/* h/0 fires after `for`, h/1 stays pending, h/2 goes stale */
	rec(e, "h/0", "h", "temperature", 90, T0 + 9 * S);
	rec(e, "h/1", "h", "temperature", 90, T0 + 9 * S);
	rec(e, "h/0", "h", "temperature", 90, T0 + 30 * S);
	rec(e, "h/1", "h", "temperature", 90, T0 + 29 * S);
	assert_true(gw_alert_engine_tick(e, T0 + 29 * S) & GW_AR_CHANGED);
	gw_alert_engine_counts(e, &c);
	assert_int_equal(gw_alert_engine_current(e, NULL, &l), GT_OK);
	assert_int_equal(c.firing, 2); /* hot on h/0, gpu_stale on h/2 */
	assert_int_equal(c.pending, 1);
	assert_int_equal(c.firing, l.firing);
	assert_int_equal(c.pending, l.pending);
	assert_int_equal(c.changes, gw_alert_engine_last_seq(e));
	gw_alert_list_fini(&l);
	nseen = 0;
	/* a reload without rules: they resolve, nothing counted but the stale one */
	assert_true(gw_alert_engine_set_rules(e, NULL, T0 + 30 * S) >= 0);
	gw_alert_engine_counts(e, &c);
	assert_int_equal(c.rules, 0);
	assert_int_equal(c.firing, 1);
	assert_int_equal(c.pending, 0);
	nseen = 0;
	gw_alert_engine_free(e);
}

static void
test_gw_alert_stale_and_vanished(void **state)
{
	gw_alert_engine *e = engine(NULL, 10 * S, 100);
	gw_alert_list    l;
	int64_t          t;
	(void)state;

	rec(e, "h/0", "h", "temperature", 50, T0);
	rec(e, "h/1", "h", "temperature", 50, T0);
	assert_int_equal(gw_alert_engine_tick(e, T0 + 9 * S), 0);
	/* h/1 keeps reporting, h/0 stops */
	for (t = T0 + S; t <= T0 + 10 * S; t += S)
		rec(e, "h/1", "h", "temperature", 50, t);
	assert_int_equal(gw_alert_engine_tick(e, T0 + 10 * S), GW_AR_CHANGED);
	expect((const char *[]){"gpu_stale/firing/h/0"}, 1);
	/* vanished once its host reported after it had been silent --stale-after */
	rec(e, "h/1", "h", "temperature", 50, T0 + 11 * S);
	assert_int_equal(gw_alert_engine_tick(e, T0 + 11 * S), GW_AR_CHANGED);
	expect((const char *[]){"gpu_vanished/event/h/0"}, 1);
	rec(e, "h/1", "h", "temperature", 50, T0 + 12 * S);
	assert_int_equal(gw_alert_engine_tick(e, T0 + 12 * S), 0);
	assert_int_equal(gw_alert_engine_current(e, NULL, &l), GT_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].kind, GW_AK_STALE);
	assert_false(l.v[0].has_value);
	assert_string_equal(l.v[0].message, "no record for 10s");
	gw_alert_list_fini(&l);
	/* it comes back: resolved */
	rec(e, "h/0", "h", "temperature", 50, T0 + 13 * S);
	expect((const char *[]){"gpu_stale/resolved/h/0"}, 1);
	/* the whole host stops: both stale, nobody vanished */
	assert_int_equal(gw_alert_engine_tick(e, T0 + 30 * S), GW_AR_CHANGED);
	assert_int_equal(nseen, 2);
	nseen = 0;
	assert_int_equal(gw_alert_engine_tick(e, T0 + 60 * S), 0);
	gw_alert_engine_free(e);
}

static void
test_gw_alert_xid_changes_are_events(void **state)
{
	gw_alert_engine *e = engine(NULL, 3600 * S, 100);
	gw_alert_list    l;
	(void)state;

	rec(e, "h/0", "h", "DCGM_FI_DEV_XID_ERRORS", 13, T0); /* baseline */
	rec(e, "h/0", "h", "DCGM_FI_DEV_XID_ERRORS", 13, T0 + S);
	expect(NULL, 0);
	rec(e, "h/0", "h", "DCGM_FI_DEV_XID_ERRORS", 79, T0 + 2 * S);
	rec(e, "h/0", "h", "xid_errors", 79, T0 + 3 * S);
	rec(e, "h/0", "h", "xid_errors", 0, T0 + 4 * S); /* cleared: no error */
	rec(e, "h/0", "h", "xid_errors", 79, T0 + 5 * S);
	expect((const char *[]){"xid/event/h/0", "xid/event/h/0"}, 2);
	assert_int_equal(gw_alert_engine_history(e, 0, 10, &l), GT_OK);
	assert_string_equal(l.v[0].message, "XID 79: GPU has fallen off the bus");
	assert_int_equal(l.v[0].severity, GW_SEV_CRITICAL);
	assert_true(l.v[0].value == 79);
	gw_alert_list_fini(&l);
	/* events are not current alerts */
	assert_int_equal(gw_alert_engine_current(e, NULL, &l), GT_OK);
	assert_int_equal(l.n, 0);
	gw_alert_list_fini(&l);
	gw_alert_engine_free(e);
}

static void
test_gw_alert_reload_keeps_and_resolves(void **state)
{
	gw_alert_engine *e =
	    engine("[{\"name\":\"a\",\"metric\":\"temperature\",\"op\":\">\",\"threshold\":1},"
	           "{\"name\":\"b\",\"metric\":\"temperature\",\"op\":\">\",\"threshold\":2},"
	           "{\"name\":\"c\",\"metric\":\"temperature\",\"op\":\">\",\"threshold\":3,"
	           "\"for\":\"1h\"}]",
	           3600 * S, 100);
	gw_alert_rules   *r = NULL;
	gw_alert_list     l;
	char              err[128];
	static const char next[] =
	    "[{\"name\":\"b\",\"metric\":\"temperature\",\"op\":\">\",\"threshold\":2},"
	    "{\"name\":\"d\",\"metric\":\"temperature\",\"op\":\">\",\"threshold\":1}]";
	(void)state;

	rec(e, "h/0", "h", "temperature", 10, T0);
	expect((const char *[]){"a/firing/h/0", "b/firing/h/0", "c/pending/h/0"}, 3);
	assert_int_equal(gw_alert_rules_parse(next, strlen(next), &r, err, sizeof(err)), GT_OK);
	/* a resolves, c's pending disappears, b keeps firing (same since) */
	assert_int_equal(gw_alert_engine_set_rules(e, r, T0 + S), GW_AR_CHANGED | GW_AR_DROPPED);
	expect((const char *[]){"a/resolved/h/0"}, 1);
	assert_int_equal(gw_alert_engine_current(e, NULL, &l), GT_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].rule, "b");
	assert_int_equal(l.v[0].since_ns, T0);
	gw_alert_list_fini(&l);
	rec(e, "h/0", "h", "temperature", 10, T0 + 2 * S);
	expect((const char *[]){"d/firing/h/0"}, 1);
	assert_int_equal(gw_alert_engine_set_rules(e, NULL, T0 + 3 * S), GW_AR_CHANGED);
	expect((const char *[]){"b/resolved/h/0", "d/resolved/h/0"}, 2);
	gw_alert_engine_free(e);
}

static void
test_gw_alert_history_bounded_and_json(void **state)
{
	gw_alert_engine *e = engine("[{\"name\":\"hot\",\"metric\":\"temperature\",\"op\":\">=\","
	                            "\"threshold\":85.5,\"severity\":\"critical\"}]",
	                            3600 * S, 3);
	gw_alert_list    l;
	gt_buf           b;
	json_t          *j, *a;
	int              i;
	(void)state;

	for (i = 0; i < 5; i++) {
		rec(e, "h/0", "h\"q", "temperature", 90, T0 + i * 2 * S);
		rec(e, "h/0", "h\"q", "temperature", 80, T0 + (i * 2 + 1) * S);
	}
	nseen = 0;
	assert_int_equal(gw_alert_engine_history(e, 0, 100, &l), GT_OK);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[0].seq, 8);
	assert_int_equal(l.last_seq, 10);
	gw_alert_list_fini(&l);
	rec(e, "h/0", "h\"q", "temperature", 90.25, T0 + 100 * S);
	assert_int_equal(gw_alert_engine_current(e, NULL, &l), GT_OK);
	gt_buf_init(&b);
	gw_alert_list_json(&b, &l, 0, "\"type\":\"alerts\",");
	j = json_loadb(b.data, b.len, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "alerts");
	assert_int_equal(json_integer_value(json_object_get(j, "firing")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "last_seq")), 11);
	a = json_array_get(json_object_get(j, "alerts"), 0);
	assert_string_equal(json_string_value(json_object_get(a, "rule")), "hot");
	assert_string_equal(json_string_value(json_object_get(a, "kind")), "threshold");
	assert_string_equal(json_string_value(json_object_get(a, "state")), "firing");
	assert_string_equal(json_string_value(json_object_get(a, "severity")), "critical");
	assert_string_equal(json_string_value(json_object_get(a, "hostname")), "h\"q");
	assert_string_equal(json_string_value(json_object_get(a, "op")), ">=");
	assert_true(json_real_value(json_object_get(a, "threshold")) == 85.5);
	assert_true(json_number_value(json_object_get(a, "value")) == 90.25);
	assert_int_equal(json_integer_value(json_object_get(a, "since_ns")), T0 + 100 * S);
	assert_string_equal(json_string_value(json_object_get(a, "since")),
	                    "2027-01-15T08:01:40.000Z");
	json_decref(j);
	gt_buf_reset(&b);
	gw_alert_engine_prometheus(e, &b);
	assert_non_null(strstr(b.data,
	                       "gt_alert_firing{alertname=\"hot\",gpu=\"h/0\",UUID=\"GPU-u\","
	                       "Hostname=\"h\\\"q\",severity=\"critical\"} 1\n"));
	assert_non_null(strstr(b.data, "gt_alerts_firing 1\n"));
	gt_buf_fini(&b);
	gw_alert_list_fini(&l);
	gw_alert_engine_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gw_alert_for_holds_pending_then_fires_and_resolves),
	    cmocka_unit_test(test_gw_alert_for_zero_fires_at_once_per_gpu),
	    cmocka_unit_test(test_gw_alert_counts),
	    cmocka_unit_test(test_gw_alert_stale_and_vanished),
	    cmocka_unit_test(test_gw_alert_xid_changes_are_events),
	    cmocka_unit_test(test_gw_alert_reload_keeps_and_resolves),
	    cmocka_unit_test(test_gw_alert_history_bounded_and_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
