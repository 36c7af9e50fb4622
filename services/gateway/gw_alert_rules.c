/* gw_alert_rules.c - the alert rules file: parse, validate (every error names the rule and the
 * field), match, and the XID table. Pure; any thread. */
#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gt/gt_gpu_metrics.h"
#include "gt/gt_query.h"
#include "gt/gt_time.h"
#include "gw_alert.h"

static const char *const op_names[] = {">", ">=", "<", "<=", "==", "!="};
static const char *const sev_names[] = {"warning", "critical", "info"};

/* Names the engine uses for its own alerts: a rule may not take them. */
static const char *const reserved[] = {"gpu_stale", "xid", "gpu_vanished"};

const char *
gw_alert_op_name(int op)
{
	return op >= 0 && op <= GW_OP_NE ? op_names[op] : "?";
}

const char *
gw_alert_sev_name(int sev)
{
	return sev >= 0 && sev <= GW_SEV_INFO ? sev_names[sev] : "warning";
}

int
gw_alert_sev_parse(const char *s)
{
	int i;

	for (i = 0; s && i <= GW_SEV_INFO; i++)
		if (strcmp(s, sev_names[i]) == 0)
			return i;
	return -1;
}

int
gw_alert_op_eval(int op, double v, double t)
{
	if (isnan(v))
		return 0;
	switch (op) {
	case GW_OP_GT:
		return v > t;
	case GW_OP_GE:
		return v >= t;
	case GW_OP_LT:
		return v < t;
	case GW_OP_LE:
		return v <= t;
	case GW_OP_EQ:
		return v == t;
	case GW_OP_NE:
		return v != t;
	}
	return 0;
}

static void
strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void
rule_fini(gw_alert_rule *r)
{
	free(r->name);
	free(r->metric);
	strv_free(r->gpus, r->ngpus);
	strv_free(r->hosts, r->nhosts);
}

void
gw_alert_rules_free(gw_alert_rules *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		rule_fini(&r->v[i]);
	free(r->v);
	free(r);
}

gt_err
gw_alert_rules_empty(gw_alert_rules **out)
{
	return (*out = calloc(1, sizeof(**out))) == NULL ? GT_ENOMEM : GT_OK;
}

/* "rule 2 (\"hot\"): field \"op\": ..." into err; returns GT_EINVAL. */
static gt_err __attribute__((format(printf, 5, 6)))
bad(char *err, size_t errlen, size_t idx, const char *name, const char *fmt, ...)
{
	va_list ap;
	int     n;

	if (name != NULL)
		n = snprintf(err, errlen, "rule %zu (\"%s\"): ", idx, name);
	else
		n = snprintf(err, errlen, "rule %zu: ", idx);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return GT_EINVAL;
}

/* A list of patterns: an array of non-empty strings; "*" alone means all (NULL). */
static gt_err
pattern_list(json_t *v, const char *field, char ***out, size_t *n, char *err, size_t errlen,
             size_t idx, const char *name)
{
	size_t  i;
	json_t *x;
	char  **p;

	*out = NULL;
	*n = 0;
	if (v == NULL)
		return GT_OK;
	if (!json_is_array(v))
		return bad(err, errlen, idx, name, "field \"%s\": want an array of strings", field);
	json_array_foreach(v, i, x)
	{
		if (!json_is_string(x) || json_string_length(x) == 0 || json_string_length(x) > 512)
			return bad(
			    err, errlen, idx, name,
			    "field \"%s\": item %zu: want a non-empty string (at most 512 bytes)",
			    field, i);
		if (strcmp(json_string_value(x), "*") == 0)
			return GT_OK; /* all */
	}
	if (json_array_size(v) == 0)
		return bad(err, errlen, idx, name,
		           "field \"%s\": empty (omit it, or [\"*\"], for all)", field);
	if ((p = calloc(json_array_size(v), sizeof(*p))) == NULL)
		return GT_ENOMEM;
	json_array_foreach(v, i, x)
	{
		if ((p[i] = strdup(json_string_value(x))) == NULL) {
			strv_free(p, i);
			return GT_ENOMEM;
		}
	}
	*out = p;
	*n = json_array_size(v);
	return GT_OK;
}

static gt_err
rule_parse(json_t *o, size_t idx, gw_alert_rule *r, char *err, size_t errlen)
{
	static const char *const known[] = {"name", "metric",   "op",   "threshold",
	                                    "for",  "severity", "gpus", "hosts"};
	const char              *k, *name = NULL, *s;
	json_t                  *v;
	size_t                   i;
	gt_err                   rv;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(o))
		return bad(err, errlen, idx, NULL, "want an object");
	v = json_object_get(o, "name");
	if (v == NULL)
		return bad(err, errlen, idx, NULL, "field \"name\": missing");
	if (!json_is_string(v) ||
	    !gt_query_name_ok(json_string_value(v), json_string_length(v), GW_ALERT_NAME_MAX))
		return bad(err, errlen, idx, NULL,
		           "field \"name\": want 1 to %d characters of A-Z a-z 0-9 _ . : -",
		           GW_ALERT_NAME_MAX);
	name = json_string_value(v);
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(name, reserved[i]) == 0)
			return bad(err, errlen, idx, name,
			           "field \"name\": \"%s\" is the gateway's own (built-in) alert",
			           name);
	json_object_foreach(o, k, v)
	{
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(k, known[i]) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0]))
			return bad(
			    err, errlen, idx, name,
			    "field \"%s\": unknown (name, metric, op, threshold, for, severity, "
			    "gpus, hosts)",
			    k);
	}
	v = json_object_get(o, "metric");
	if (v == NULL)
		return bad(err, errlen, idx, name, "field \"metric\": missing");
	if (!json_is_string(v) ||
	    !gt_query_name_ok(json_string_value(v), json_string_length(v), GT_QUERY_MAX_METRIC_LEN))
		return bad(err, errlen, idx, name,
		           "field \"metric\": want a metric name such as temperature or "
		           "DCGM_FI_DEV_GPU_TEMP");
	v = json_object_get(o, "op");
	s = json_string_value(v);
	for (r->op = 0; s && r->op <= GW_OP_NE; r->op++)
		if (strcmp(s, op_names[r->op]) == 0)
			break;
	if (v == NULL)
		return bad(err, errlen, idx, name, "field \"op\": missing");
	if (s == NULL || r->op > GW_OP_NE)
		return bad(err, errlen, idx, name, "field \"op\": want one of > >= < <= == !=");
	v = json_object_get(o, "threshold");
	if (v == NULL)
		return bad(err, errlen, idx, name, "field \"threshold\": missing");
	if (!json_is_number(v) || !isfinite(json_number_value(v)))
		return bad(err, errlen, idx, name, "field \"threshold\": want a number");
	r->threshold = json_number_value(v);
	if ((v = json_object_get(o, "for")) != NULL) {
		if (json_is_string(v)) {
			if (gt_duration_parse(json_string_value(v), &r->for_ns) != GT_OK)
				return bad(err, errlen, idx, name,
				           "field \"for\": want a duration such as 30s, 5m, 1h30m");
		} else if (json_is_number(v) && json_number_value(v) >= 0 &&
		           json_number_value(v) < 1e9) {
			r->for_ns = (int64_t)(json_number_value(v) * 1e9);
		} else {
			return bad(err, errlen, idx, name,
			           "field \"for\": want a duration such as 30s, 5m, 1h30m");
		}
	}
	r->severity = GW_SEV_WARNING;
	if ((v = json_object_get(o, "severity")) != NULL) {
		r->severity = gw_alert_sev_parse(json_string_value(v));
		if (r->severity < 0 || r->severity == GW_SEV_INFO)
			return bad(err, errlen, idx, name,
			           "field \"severity\": want warning or critical");
	}
	/* from here on allocations: undone by rule_fini on error */
	s = json_string_value(json_object_get(o, "metric"));
	{
		const char *c = gt_gpu_metric_canonical(s, strlen(s));

		if ((r->metric = strdup(c ? c : s)) == NULL || (r->name = strdup(name)) == NULL) {
			rule_fini(r);
			return GT_ENOMEM;
		}
	}
	if ((rv = pattern_list(json_object_get(o, "gpus"), "gpus", &r->gpus, &r->ngpus, err, errlen,
	                       idx, name)) != GT_OK ||
	    (rv = pattern_list(json_object_get(o, "hosts"), "hosts", &r->hosts, &r->nhosts, err,
	                       errlen, idx, name)) != GT_OK) {
		rule_fini(r);
		memset(r, 0, sizeof(*r));
		return rv;
	}
	return GT_OK;
}

gt_err
gw_alert_rules_parse(const char *json, size_t len, gw_alert_rules **out, char *err, size_t errlen)
{
	json_error_t    je;
	json_t         *doc, *arr;
	gw_alert_rules *rs = NULL;
	size_t          i, k;
	gt_err          rv = GT_OK;

	*out = NULL;
	if ((doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		snprintf(err, errlen, "not JSON: line %d column %d: %s", je.line, je.column,
		         je.text);
		return GT_EINVAL;
	}
	arr = json_is_array(doc) ? doc : json_object_get(doc, "rules");
	if (!json_is_array(arr) || (json_is_object(doc) && json_object_size(doc) != 1)) {
		snprintf(err, errlen, "want {\"rules\":[...]} or an array of rules");
		rv = GT_EINVAL;
		goto done;
	}
	if (json_array_size(arr) > GW_ALERT_MAX_RULES) {
		snprintf(err, errlen, "%zu rules: at most %d", json_array_size(arr),
		         GW_ALERT_MAX_RULES);
		rv = GT_EINVAL;
		goto done;
	}
	if ((rs = calloc(1, sizeof(*rs))) == NULL ||
	    (rs->v = calloc(json_array_size(arr) + 1, sizeof(*rs->v))) == NULL) {
		rv = GT_ENOMEM;
		goto done;
	}
	for (i = 0; i < json_array_size(arr); i++) {
		if ((rv = rule_parse(json_array_get(arr, i), i, &rs->v[i], err, errlen)) != GT_OK)
			goto done;
		rs->n++;
		for (k = 0; k < i; k++)
			if (strcmp(rs->v[k].name, rs->v[i].name) == 0) {
				rv = bad(err, errlen, i, rs->v[i].name,
				         "field \"name\": also the name of rule %zu", k);
				goto done;
			}
	}
done:
	json_decref(doc);
	if (rv != GT_OK) {
		gw_alert_rules_free(rs);
		return rv;
	}
	*out = rs;
	return GT_OK;
}

gt_err
gw_alert_rules_load(const char *path, gw_alert_rules **out, char *err, size_t errlen)
{
	FILE  *f;
	char  *buf = NULL;
	long   n;
	gt_err rv;
	size_t el;

	*out = NULL;
	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return GT_EINVAL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > (16 << 20) ||
	    fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		snprintf(err, errlen, "%s: cannot read (or larger than 16 MiB)", path);
		fclose(f);
		free(buf);
		return GT_EINVAL;
	}
	fclose(f);
	el = strlen(path) + 2;
	if (el < errlen) {
		snprintf(err, errlen, "%s: ", path);
		rv = gw_alert_rules_parse(buf, (size_t)n, out, err + el, errlen - el);
	} else {
		rv = gw_alert_rules_parse(buf, (size_t)n, out, err, errlen);
	}
	free(buf);
	return rv;
}

static int
match_any(char *const *pat, size_t n, const char *a, const char *b)
{
	size_t i;

	if (pat == NULL)
		return 1;
	for (i = 0; i < n; i++)
		if ((a && fnmatch(pat[i], a, 0) == 0) || (b && *b && fnmatch(pat[i], b, 0) == 0))
			return 1;
	return 0;
}

int
gw_alert_rule_applies(const gw_alert_rule *r, const char *key, const char *uuid, const char *host)
{
	return match_any(r->gpus, r->ngpus, key, uuid) &&
	       match_any(r->hosts, r->nhosts, host ? host : "", NULL);
}

/* ---- XID ---- */

static const struct {
	int         code, critical;
	const char *text;
} xids[] = {
    {13, 0, "Graphics engine exception (usually an application error)"},
    {31, 0, "GPU memory page fault (usually an application error)"},
    {32, 0, "Invalid or corrupted push buffer stream"},
    {38, 0, "Driver firmware error"},
    {43, 0, "GPU stopped processing (application fault)"},
    {45, 0, "Preemptive cleanup, due to a previous error"},
    {48, 1, "Double bit ECC error"},
    {61, 0, "Internal micro-controller breakpoint/warning"},
    {62, 1, "Internal micro-controller halt"},
    {63, 0, "ECC page retirement or row remapping recording event"},
    {64, 1, "ECC page retirement or row remapper recording failure"},
    {68, 0, "Video processor exception"},
    {69, 0, "Graphics engine class error"},
    {74, 1, "NVLink error"},
    {79, 1, "GPU has fallen off the bus"},
    {92, 0, "High single-bit ECC error rate"},
    {94, 0, "Contained ECC error (an application was affected)"},
    {95, 1, "Uncontained ECC error (GPU reset required)"},
    {119, 1, "GSP RPC timeout"},
    {120, 1, "GSP error"},
    {121, 0, "C2C link error"},
    {140, 1, "Unrecovered ECC error"},
};

const char *
gw_xid_meaning(int code)
{
	size_t i;

	for (i = 0; i < sizeof(xids) / sizeof(xids[0]); i++)
		if (xids[i].code == code)
			return xids[i].text;
	return "see the NVIDIA XID catalog";
}

int
gw_xid_severity(int code)
{
	size_t i;

	for (i = 0; i < sizeof(xids) / sizeof(xids[0]); i++)
		if (xids[i].code == code)
			return xids[i].critical ? GW_SEV_CRITICAL : GW_SEV_WARNING;
	return GW_SEV_WARNING;
}

int
gw_xid_metric(const char *name)
{
	return strcasecmp(name, "xid_errors") == 0 || strcmp(name, "DCGM_FI_DEV_XID_ERRORS") == 0;
}
