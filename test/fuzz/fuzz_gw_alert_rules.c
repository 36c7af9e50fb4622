/* fuzz_gw_alert_rules.c - the gateway's alert rules parser on arbitrary bytes: an error always
 * says which rule or what; a rule set that parses holds what the engine relies on (unique valid
 * names, known ops and severities, finite thresholds, for >= 0), and driving the engine with it
 * (a record crossing every rule, a tick past every `for`) yields valid JSON. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "gt/gt_time.h"
#include "gw_alert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gw_alert_rules  *r = NULL;
	gw_alert_engine *e = NULL;
	gw_alert_list    l;
	char             err[256] = "";
	const char      *names[GW_ALERT_MAX_RULES];
	double           vals[GW_ALERT_MAX_RULES];
	gw_alert_rec     rec = {.gpu = "h/0", .uuid = "GPU-0", .hostname = "h"};
	gt_buf           b;
	json_t          *j;
	size_t           i, k;

	if (gw_alert_rules_parse((const char *)data, size, &r, err, sizeof(err)) != GT_OK) {
		FUZZ_CHECK(r == NULL);
		FUZZ_CHECK(strncmp(err, "rule ", 5) == 0 || strncmp(err, "not JSON", 8) == 0 ||
		           strncmp(err, "want ", 5) == 0 || strstr(err, "rules: at most") != NULL);
		return 0;
	}
	FUZZ_CHECK(r->n <= GW_ALERT_MAX_RULES);
	for (i = 0; i < r->n; i++) {
		const gw_alert_rule *x = &r->v[i];

		FUZZ_CHECK(x->name[0] != '\0' && strlen(x->name) <= GW_ALERT_NAME_MAX);
		for (k = 0; k < i; k++)
			FUZZ_CHECK(strcmp(r->v[k].name, x->name) != 0);
		FUZZ_CHECK(x->op >= GW_OP_GT && x->op <= GW_OP_NE);
		FUZZ_CHECK(x->severity == GW_SEV_WARNING || x->severity == GW_SEV_CRITICAL);
		FUZZ_CHECK(isfinite(x->threshold));
		FUZZ_CHECK(x->for_ns >= 0);
		FUZZ_CHECK(x->metric[0] != '\0');
		names[i] = x->metric;
		vals[i] =
		    x->op == GW_OP_LT || x->op == GW_OP_LE ? x->threshold - 1 : x->threshold + 1;
	}
	rec.names = names;
	rec.values = vals;
	rec.n = r->n;
	FUZZ_CHECK(gw_alert_engine_new(&e, GT_NS_PER_S, 8, r, NULL, NULL) == GT_OK);
	gw_alert_engine_record(e, &rec, 1000);
	gw_alert_engine_tick(e, INT64_MAX / 2);
	FUZZ_CHECK(gw_alert_engine_current(e, NULL, &l) == GT_OK);
	gt_buf_init(&b);
	gw_alert_list_json(&b, &l, 0, NULL);
	FUZZ_CHECK((j = json_loadb(b.data, b.len, 0, NULL)) != NULL);
	json_decref(j);
	gt_buf_fini(&b);
	gw_alert_list_fini(&l);
	gw_alert_engine_free(e);
	return 0;
}
