/* ctl_out.c - one data model (a JSON array of row objects), three renderings: an aligned
 * table (numbers right-aligned), CSV (RFC 4180 quoting, the keys as header) and JSON. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "gt/gt_time.h"

const char *
ctl_ts(int64_t ns, char *buf, size_t len)
{
	if (ns <= 0)
		snprintf(buf, len, "-");
	else
		gt_rfc3339_format(ns, 3, buf, len);
	return buf;
}

const char *
ctl_age(int64_t ns, char *buf, size_t len)
{
	double s = (double)ns / 1e9;

	if (ns < 0)
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%.1fs", s);
	else if (s < 3600)
		snprintf(buf, len, "%.0fm", s / 60);
	else if (s < 86400 * 2)
		snprintf(buf, len, "%.1fh", s / 3600);
	else
		snprintf(buf, len, "%.0fd", s / 86400);
	return buf;
}

const char *
ctl_cell_text(json_t *v, char *buf, size_t len, int prec)
{
	if (v == NULL || json_is_null(v))
		snprintf(buf, len, "-");
	else if (json_is_string(v))
		return json_string_value(v);
	else if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.*f", prec, json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
	else {
		char *s = json_dumps(v, JSON_COMPACT);

		snprintf(buf, len, "%s", s ? s : "?");
		free(s);
	}
	return buf;
}

void
ctl_csv_field(FILE *f, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

const char *
ctl_real(double v, char *buf, size_t len)
{
	snprintf(buf, len, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, len, "%.17g", v);
	return buf;
}

static void
out_json(json_t *rows)
{
	json_dumpf(rows, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	fputc('\n', stdout);
}

static void
out_csv(const char **keys, size_t n, json_t *rows)
{
	size_t  i, r;
	json_t *row;
	char    buf[128];

	for (i = 0; i < n; i++) {
		if (i)
			fputc(',', stdout);
		ctl_csv_field(stdout, keys[i]);
	}
	fputc('\n', stdout);
	json_array_foreach(rows, r, row)
	{
		for (i = 0; i < n; i++) {
			json_t *v = json_object_get(row, keys[i]);

			if (i)
				fputc(',', stdout);
			if (v == NULL || json_is_null(v))
				continue;
			if (json_is_real(v))
				ctl_real(json_real_value(v), buf, sizeof(buf));
			ctl_csv_field(
			    stdout, json_is_real(v) ? buf : ctl_cell_text(v, buf, sizeof(buf), 3));
		}
		fputc('\n', stdout);
	}
}

static void
out_table(const char **keys, const char **titles, size_t n, json_t *rows)
{
	size_t *w = calloc(n ? n : 1, sizeof(*w));
	size_t  i, r;
	json_t *row;
	char    buf[128];

	if (w == NULL)
		return;
	for (i = 0; i < n; i++)
		w[i] = strlen(titles[i]);
	json_array_foreach(rows, r, row)
	{
		for (i = 0; i < n; i++) {
			size_t l = strlen(
			    ctl_cell_text(json_object_get(row, keys[i]), buf, sizeof(buf), 1));

			if (l > w[i])
				w[i] = l;
		}
	}
	for (i = 0; i < n; i++) {
		int num = 0;

		json_array_foreach(rows, r, row)
		{
			json_t *v = json_object_get(row, keys[i]);

			if (v && !json_is_null(v)) {
				num = json_is_number(v);
				break;
			}
		}
		if (num)
			printf("%*s%s", (int)w[i], titles[i], i + 1 < n ? "  " : "\n");
		else
			printf("%-*s%s", i + 1 < n ? (int)w[i] : 0, titles[i],
			       i + 1 < n ? "  " : "\n");
	}
	json_array_foreach(rows, r, row)
	{
		for (i = 0; i < n; i++) {
			json_t     *v = json_object_get(row, keys[i]);
			const char *t = ctl_cell_text(v, buf, sizeof(buf), 1);
			int         num = json_is_number(v);

			if (num)
				printf("%*s", (int)w[i], t);
			else
				printf("%-*s", i + 1 < n ? (int)w[i] : 0, t);
			fputs(i + 1 < n ? "  " : "\n", stdout);
		}
	}
	free(w);
}

static void
render(const ctl_ctx *c, const char **keys, const char **titles, size_t n, json_t *rows)
{
	switch (c->fmt) {
	case CTL_OUT_JSON:
		out_json(rows);
		break;
	case CTL_OUT_CSV:
		out_csv(keys, n, rows);
		break;
	default:
		out_table(keys, titles, n, rows);
	}
}

void
ctl_out_rows(const ctl_ctx *c, const ctl_col *cols, size_t ncols, json_t *rows)
{
	const char *keys[64], *titles[64];
	size_t      i;

	for (i = 0; i < ncols && i < 64; i++) {
		keys[i] = cols[i].key;
		titles[i] = cols[i].title ? cols[i].title : cols[i].key;
	}
	render(c, keys, titles, i, rows);
}

void
ctl_out_rows_dyn(const ctl_ctx *c, json_t *cols, json_t *rows)
{
	const char *keys[64];
	size_t      i, n = 0;
	json_t     *v;

	json_array_foreach(cols, i, v)
	{
		if (n < 64)
			keys[n++] = json_string_value(v);
	}
	render(c, keys, keys, n, rows);
}
