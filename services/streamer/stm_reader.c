/* stm_reader.c - streaming CSV parser for the three telemetry formats (see stm_reader.h):
 * header and format detection, the libcsv driver, and the public API. Rows become records
 * in stm_rows.c; field values are parsed in stm_values.c.
 *
 * Input is cut at '\n' and each line goes to libcsv separately, so the line number of every
 * row is known and a parse error costs exactly one line: the parser is reset (csv_fini with
 * no callbacks) and the rest of the line skipped. Telemetry fields never hold newlines, so a
 * row that is still open at the end of its line (an unterminated quote) is a bad row too;
 * this is what keeps one broken quote from swallowing the rest of the file.
 *
 * Fields of the current row are copied into one reused buffer (rowbuf).
 *
 * Limits keep the work linear and the memory bounded: a line longer than max_line bytes is
 * one bad row, and the rest of it is skipped (never buffered) up to the next '\n'; a row with
 * more than max_fields fields is a bad row, a header with more is an error. libcsv grows its
 * field buffer by a fixed block (128 bytes by default: quadratic copying for a long field),
 * so the block is raised to the buffer's current size (or the segment's, when larger) before
 * csv_parse, which makes the growth geometric. cfg.stopping is polled about every 64 KiB of
 * input, so a stop request ends a pass even in the middle of a long line.
 */
#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gt/gt_buf.h"
#include "gt/gt_log.h"
#include "gt/gt_time.h"
#include "gt/gt_gpu_metrics.h"
#include "stm_reader_int.h"

#define READ_BLOCK (256u * 1024u)
#define POLL_BYTES (64u * 1024u)  /* input between two polls of cfg.stopping */
#define CSV_BLK_MIN (4u * 1024u)  /* libcsv's smallest growth step */

const char *const stm_format_names[] = {"auto", "wide", "dcgm", "nvidia-smi", NULL};

/* ---------------------------------------------------------------- columns */

typedef struct name_kind {
	const char *name;
	col_kind    kind;
	unsigned    fmts; /* bit per format: 1<<STM_FMT_* ; 0 = every format */
} name_kind;

#define F(x) (1u << (x))

static const name_kind name_kinds[] = {
	{"timestamp", COL_TS, 0},
	{"gpu_id", COL_GPU_ID, 0},
	{"hostname", COL_HOST, 0},
	{"Hostname", COL_HOST, 0},
	{"host", COL_HOST, 0},
	{"uuid", COL_UUID, 0},
	{"UUID", COL_UUID, 0},
	{"gpu_uuid", COL_UUID, 0},
	{"device", COL_DEVICE, 0},
	{"modelName", COL_MODEL, 0},
	{"model", COL_MODEL, 0},
	{"model_name", COL_MODEL, 0},
	{"gpu_index", COL_INDEX, 0},
	{"index", COL_INDEX, 0},
	{"metric_name", COL_MNAME, F(STM_FMT_DCGM)},
	{"value", COL_VALUE, F(STM_FMT_DCGM)},
	{"labels_raw", COL_LABELS_RAW, F(STM_FMT_DCGM)},
	{"name", COL_MODEL, F(STM_FMT_SMI)},
	{"gpu_name", COL_MODEL, F(STM_FMT_SMI)},
	/* nvidia-smi string fields: labels, never metrics */
	{"pci.bus_id", COL_LABEL, F(STM_FMT_SMI)},
	{"gpu_bus_id", COL_LABEL, F(STM_FMT_SMI)},
	{"driver_version", COL_LABEL, F(STM_FMT_SMI)},
	{"vbios_version", COL_LABEL, F(STM_FMT_SMI)},
	{"serial", COL_LABEL, F(STM_FMT_SMI)},
	{"pstate", COL_LABEL, F(STM_FMT_SMI)},
	{"compute_mode", COL_LABEL, F(STM_FMT_SMI)},
	{"persistence_mode", COL_LABEL, F(STM_FMT_SMI)},
	{"display_mode", COL_LABEL, F(STM_FMT_SMI)},
	{"display_active", COL_LABEL, F(STM_FMT_SMI)},
	{"mig.mode.current", COL_LABEL, F(STM_FMT_SMI)},
};

static col_kind
col_classify(stm_format fmt, const char *name, size_t len, const char **key)
{
	const char *canon;

	for (size_t i = 0; i < sizeof(name_kinds) / sizeof(name_kinds[0]); i++) {
		const name_kind *nk = &name_kinds[i];
		if ((nk->fmts == 0 || (nk->fmts & F(fmt))) && strlen(nk->name) == len &&
		    memcmp(nk->name, name, len) == 0)
			return nk->kind;
	}
	if ((canon = gt_gpu_metric_canonical(name, len)) != NULL) {
		*key = canon;
		return COL_METRIC;
	}
	switch (fmt) {
	case STM_FMT_DCGM:
		return COL_LABEL; /* container, pod, namespace and any extra column */
	case STM_FMT_WIDE:
	case STM_FMT_SMI:
	default:
		return COL_AUTO;
	}
}

static void
cols_free(stm_reader *r)
{
	for (size_t i = 0; i < r->ncols; i++) {
		free(r->cols[i].name);
		free(r->cols[i].own_key);
	}
	free(r->cols);
	r->cols = NULL;
	r->ncols = 0;
}

static int
cols_has(stm_reader *r, col_kind k)
{
	for (size_t i = 0; i < r->ncols; i++)
		if (r->cols[i].kind == k)
			return 1;
	return 0;
}

static gt_err
reader_fail(stm_reader *r, gt_err e, const char *fmt, const char *a)
{
	snprintf(r->errmsg, sizeof(r->errmsg), fmt, a);
	r->err = e;
	return e;
}

static stm_format
detect_format(char **names, size_t n)
{
	int mname = 0, value = 0, gpu_id = 0, smi = 0;

	for (size_t i = 0; i < n; i++) {
		const char *s = names[i];
		mname |= strcmp(s, "metric_name") == 0;
		value |= strcmp(s, "value") == 0;
		gpu_id |= strcmp(s, "gpu_id") == 0;
		smi |= strchr(s, '[') != NULL || strchr(s, '.') != NULL || strcmp(s, "index") == 0;
	}
	if (mname && value)
		return STM_FMT_DCGM;
	if (gpu_id)
		return STM_FMT_WIDE;
	if (smi)
		return STM_FMT_SMI;
	return STM_FMT_AUTO;
}

/* Set up columns from header names (taken: freed here on error too). */
static gt_err
header_apply(stm_reader *r, char **names, size_t n)
{
	stm_format fmt = r->cfg.format;
	gt_err     rv = GT_OK;

	cols_free(r);
	if (fmt == STM_FMT_AUTO && (fmt = detect_format(names, n)) == STM_FMT_AUTO) {
		rv = reader_fail(r, GT_EINVAL,
		    "%s: unknown CSV header (expected the wide format with gpu_id, a DCGM export with "
		    "metric_name and value, or nvidia-smi --query-gpu --format=csv output)",
		    r->file);
		goto out;
	}
	if ((r->cols = calloc(n, sizeof(*r->cols))) == NULL) {
		rv = GT_ENOMEM;
		goto out;
	}
	r->ncols = n;
	r->fmt = fmt;
	for (size_t i = 0; i < n; i++) {
		col   *c = &r->cols[i];
		size_t len = strlen(names[i]);

		c->name = names[i];
		names[i] = NULL;
		if (fmt == STM_FMT_SMI)
			len = gt_gpu_metric_strip_unit(c->name, len);
		c->key = NULL;
		c->kind = col_classify(fmt, c->name, len, &c->key);
		if (c->key == NULL) {
			if ((c->own_key = strndup(c->name, len)) == NULL) {
				rv = GT_ENOMEM;
				goto out;
			}
			c->key = c->own_key;
		}
	}
	if (fmt == STM_FMT_DCGM && !(cols_has(r, COL_MNAME) && cols_has(r, COL_VALUE)))
		rv = reader_fail(r, GT_EINVAL, "%s: DCGM header needs metric_name and value columns",
		    r->file);
	else if (!cols_has(r, COL_UUID) && !cols_has(r, COL_GPU_ID) && !cols_has(r, COL_INDEX))
		rv = reader_fail(r, GT_EINVAL,
		    "%s: header has no GPU identity column (gpu_id, uuid or index)", r->file);
	else
		r->have_header = 1;
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (rv != GT_OK)
		cols_free(r);
	return rv;
}

/* ---------------------------------------------------------------- bad rows */

static const char *const bad_names[STM_BAD__COUNT][2] = {
	[STM_BAD_FIELD_COUNT] = {"wrong_field_count", "wrong field count"},
	[STM_BAD_LINE_TOO_LONG] = {"line_too_long", "line too long"},
	[STM_BAD_QUOTING] = {"malformed_quoting", "malformed quoting"},
	[STM_BAD_UNTERMINATED] = {"unterminated_quote", "unterminated quoted field"},
	[STM_BAD_VALUE] = {"unparsable_value", "unparsable value"},
	[STM_BAD_TIMESTAMP] = {"unparsable_timestamp", "unparsable timestamp"},
	[STM_BAD_TS_RANGE] = {"timestamp_out_of_range", "timestamp out of range"},
	[STM_BAD_INDEX] = {"unparsable_gpu_index", "unparsable GPU index"},
	[STM_BAD_METRIC_NAME] = {"empty_metric_name", "empty metric_name"},
	[STM_BAD_LABELS_RAW] = {"malformed_labels_raw", "malformed labels_raw"},
	[STM_BAD_NO_IDENTITY] = {"no_gpu_identity", "no GPU identity"},
	[STM_BAD_NO_METRICS] = {"no_metric_values", "no metric values"},
};

const char *
stm_bad_reason_name(stm_bad_reason why)
{
	return (unsigned)why < STM_BAD__COUNT ? bad_names[why][0] : "unknown";
}

const char *
stm_bad_reason_text(stm_bad_reason why)
{
	return (unsigned)why < STM_BAD__COUNT ? bad_names[why][1] : "unknown";
}

void
stm__bad_row(stm_reader *r, uint64_t line, stm_bad_reason why, const char *detail)
{
	r->st.bad_rows++;
	r->st.bad[(unsigned)why < STM_BAD__COUNT ? why : STM_BAD_FIELD_COUNT]++;
	if (!r->cfg.quiet) {
		char where[600];
		snprintf(where, sizeof(where), "%s:%llu", r->file, (unsigned long long)line);
		GT_LOGW("csv.bad_row", GT_KV_STR("at", where), GT_KV_STR("file", r->file),
		    GT_KV_UINT("line", line), GT_KV_STR("reason", stm_bad_reason_text(why)),
		    GT_KV_STR("id", stm_bad_reason_name(why)),
		    GT_KV_STR("detail", detail ? detail : ""));
	}
}

/* ---------------------------------------------------------------- libcsv callbacks */

static void
on_field(void *s, size_t len, void *data)
{
	stm_reader *r = data;

	if (r->row_bad)
		return; /* over max_fields: the row is bad, its other fields are not kept */
	if (r->nflds == r->max_fields) {
		r->row_bad = 1;
		return;
	}
	if (r->nflds == r->fcap) {
		size_t nc = r->fcap ? r->fcap * 2 : 32;
		fld   *nf;
		if (nc > r->max_fields)
			nc = r->max_fields;
		if ((nf = realloc(r->flds, nc * sizeof(*nf))) == NULL) {
			r->err = GT_ENOMEM;
			r->row_bad = 1;
			return;
		}
		r->flds = nf;
		r->fcap = nc;
	}
	r->flds[r->nflds].off = (uint32_t)r->rowbuf.len;
	r->flds[r->nflds].len = (uint32_t)len;
	r->nflds++;
	if (gt_buf_reserve(&r->rowbuf, len + 1) != GT_OK) {
		r->err = GT_ENOMEM;
		r->row_bad = 1;
		return;
	}
	if (len)
		memcpy(r->rowbuf.data + r->rowbuf.len, s, len);
	r->rowbuf.data[r->rowbuf.len + len] = '\0';
	r->rowbuf.len += len + 1;
}

/* Reset libcsv after an error. csv_fini refuses (and keeps its state) for an open quoted
 * field under CSV_STRICT_FINI, so that option is lifted for the reset. */
static void
csv_reset(stm_reader *r)
{
	int opts = csv_get_opts(&r->csv);

	csv_set_opts(&r->csv, (unsigned char)(opts & ~CSV_STRICT_FINI));
	csv_fini(&r->csv, NULL, NULL, NULL);
	csv_set_opts(&r->csv, (unsigned char)opts);
}

static void
row_clear(stm_reader *r)
{
	r->nflds = 0;
	r->row_bad = 0;
	gt_buf_reset(&r->rowbuf);
}

static gt_err
header_from_row(stm_reader *r)
{
	char **names = calloc(r->nflds ? r->nflds : 1, sizeof(*names));

	if (names == NULL)
		return GT_ENOMEM;
	for (size_t i = 0; i < r->nflds; i++) {
		const char *s = FSTR(r, i);
		size_t      n = FLEN(r, i);
		if (i == 0 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
			s += 3, n -= 3; /* UTF-8 byte order mark */
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if ((names[i] = strndup(s, n)) == NULL) {
			for (size_t j = 0; j < i; j++)
				free(names[j]);
			free(names);
			return GT_ENOMEM;
		}
	}
	return header_apply(r, names, r->nflds);
}

static void
on_row(int c, void *data)
{
	stm_reader *r = data;
	uint64_t    line = r->line + 1;

	(void)c;
	if (r->err != GT_OK)
		goto out;
	if (!r->have_header) {
		gt_err rv;
		if (r->row_bad) {
			snprintf(r->errmsg, sizeof(r->errmsg),
			    "%s: the header has more than %u columns (the limit)", r->file,
			    r->max_fields);
			r->err = GT_EINVAL;
			goto out;
		}
		rv = header_from_row(r);
		if (rv != GT_OK && r->err == GT_OK)
			r->err = rv;
		goto out;
	}
	if (r->nflds == 1 && FLEN(r, 0) == 0)
		goto out; /* a blank line of spaces */
	r->st.rows++;
	if (r->row_bad || r->nflds != r->ncols) {
		char detail[96];
		if (r->row_bad)
			snprintf(detail, sizeof(detail), "expected %zu fields, got more than %u (the limit)",
			    r->ncols, r->max_fields);
		else
			snprintf(detail, sizeof(detail), "expected %zu fields, got %zu", r->ncols,
			    r->nflds);
		stm__bad_row(r, line, STM_BAD_FIELD_COUNT, detail);
		goto out;
	}
	if (r->fmt == STM_FMT_DCGM)
		stm__row_dcgm(r, line);
	else
		stm__row_wide_smi(r, line);
out:
	row_clear(r);
}

/* ---------------------------------------------------------------- public */

gt_err
stm_reader_new(stm_reader **out, const stm_reader_cfg *cfg, stm_emit_fn emit, void *arg)
{
	stm_reader *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return GT_ENOMEM;
	r->cfg = *cfg;
	r->emit = emit;
	r->arg = arg;
	gt_buf_init(&r->rowbuf);
	gt_buf_init(&r->arena);
	gt_buf_init(&r->scratch);
	gt_buf_init(&r->gid);
	gtpb__v1__telemetry_record__init(&r->rec);
	if (csv_init(&r->csv, CSV_STRICT | CSV_STRICT_FINI) != 0)
		goto fail;
	csv_set_blk_size(&r->csv, CSV_BLK_MIN);
	if ((cfg->columns && *cfg->columns && (r->columns = strdup(cfg->columns)) == NULL) ||
	    (cfg->hostname && *cfg->hostname && (r->hostname = strdup(cfg->hostname)) == NULL))
		goto fail_csv;
	r->cfg.columns = r->columns;
	r->cfg.hostname = r->hostname;
	r->max_line = cfg->max_line ? cfg->max_line : STM_MAX_LINE;
	r->max_fields = cfg->max_fields ? cfg->max_fields : STM_MAX_FIELDS;
	if (r->columns != NULL && r->cfg.format == STM_FMT_AUTO)
		r->cfg.format = STM_FMT_SMI;
	if ((r->file = strdup("-")) == NULL)
		goto fail_csv;
	stm__rec_reset(r);
	*out = r;
	return GT_OK;
fail_csv:
	csv_free(&r->csv);
fail:
	free(r->columns);
	free(r->hostname);
	free(r);
	return GT_ENOMEM;
}

void
stm_reader_free(stm_reader *r)
{
	if (r == NULL)
		return;
	csv_free(&r->csv);
	cols_free(r);
	gt_buf_fini(&r->rowbuf);
	gt_buf_fini(&r->arena);
	gt_buf_fini(&r->scratch);
	gt_buf_fini(&r->gid);
	free(r->flds);
	free(r->m);
	free(r->l);
	free(r->pm);
	free(r->ppm);
	free(r->pl);
	free(r->ppl);
	free(r->columns);
	free(r->hostname);
	free(r->file);
	free(r->block);
	free(r);
}

/* The --columns list as a header (split on ',', spaces trimmed). */
static gt_err
header_from_columns(stm_reader *r)
{
	const char *p = r->columns;
	size_t      n = 1, i = 0;
	char      **names;

	for (const char *q = p; *q; q++)
		n += *q == ',';
	if (n > r->max_fields) {
		snprintf(r->errmsg, sizeof(r->errmsg),
		    "--columns: more than %u columns (the limit)", r->max_fields);
		return r->err = GT_EINVAL;
	}
	if ((names = calloc(n, sizeof(*names))) == NULL)
		return GT_ENOMEM;
	while (i < n) {
		const char *e = strchr(p, ',');
		size_t      len = e ? (size_t)(e - p) : strlen(p);
		while (len > 0 && *p == ' ')
			p++, len--;
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if ((names[i++] = strndup(p, len)) == NULL) {
			for (size_t j = 0; j < i; j++)
				free(names[j]);
			free(names);
			return GT_ENOMEM;
		}
		p = e ? e + 1 : p + len;
	}
	return header_apply(r, names, n);
}

gt_err
stm_reader_begin(stm_reader *r, const char *file)
{
	char *f = strdup(file ? file : "-");

	if (f == NULL)
		return GT_ENOMEM;
	free(r->file);
	r->file = f;
	csv_reset(r);
	row_clear(r);
	stm__rec_reset(r);
	r->group_open = 0;
	r->have_header = 0;
	r->skip_line = 0;
	r->line_len = 0;
	r->unpolled = 0;
	r->at_start = 1;
	r->bom_pos = 0;
	r->line = 0;
	r->fed = r->line_off = r->group_off = 0;
	r->err = GT_OK;
	r->errmsg[0] = '\0';
	if (r->columns != NULL)
		return header_from_columns(r);
	return GT_OK;
}

/* Count a bad line that never became a row (broken quoting, a quote still open, too long)
 * and reset libcsv and the row for the next line. */
static void
line_bad(stm_reader *r, stm_bad_reason why, const char *detail)
{
	/* counted as a row even before the header: bad_rows never exceeds rows */
	stm__bad_row(r, r->line + 1, why, detail);
	r->st.rows++;
	csv_reset(r);
	row_clear(r);
}

static int
poll_stop(stm_reader *r)
{
	r->unpolled = 0;
	if (r->cfg.stopping != NULL && r->cfg.stopping(r->cfg.stopping_arg)) {
		r->err = GT_ECANCELED;
		return 1;
	}
	return 0;
}

gt_err
stm_reader_feed(stm_reader *r, const void *data, size_t len)
{
	const char *p = data, *end = p + len;
	uint64_t    base = r->fed;

	if (r->err != GT_OK)
		return r->err;
	r->fed += len;
	/* A UTF-8 byte order mark before the header is dropped (it may arrive split). */
	while (r->at_start && p < end) {
		if (*p == "\xEF\xBB\xBF"[r->bom_pos]) {
			p++;
			if (++r->bom_pos == 3)
				r->at_start = 0;
		} else {
			r->at_start = 0;
			if (r->bom_pos > 0) {
				r->line_len = (size_t)r->bom_pos;
				csv_parse(&r->csv, "\xEF\xBB\xBF", (size_t)r->bom_pos, on_field, on_row, r);
			}
		}
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *seg_end = nl ? nl + 1 : end;
		size_t      seg = (size_t)(seg_end - p);

		if ((r->unpolled += seg) >= POLL_BYTES && poll_stop(r))
			return r->err;
		if (r->skip_line) {
			if (nl) {
				r->skip_line = 0;
				r->line_len = 0;
				r->line++;
				r->line_off = base + (uint64_t)(seg_end - (const char *)data);
			}
			p = seg_end;
			continue;
		}
		if (r->line_len + seg - (nl != NULL) > r->max_line) {
			/* Too long: one bad row; the rest of the line is skipped, not buffered. */
			char detail[64];
			snprintf(detail, sizeof(detail), "longer than %zu bytes (the limit)",
			    r->max_line);
			line_bad(r, STM_BAD_LINE_TOO_LONG, detail);
			r->skip_line = nl == NULL;
			r->line_len = 0;
			if (nl) {
				r->line++;
				r->line_off = base + (uint64_t)(seg_end - (const char *)data);
			}
			p = seg_end;
			continue;
		}
		r->line_len += seg;
		/* libcsv's field buffer grows by blk_size: at least its current size (geometric) and
		 * at least this segment (a field of it fits in one or two steps). Both are bounded
		 * by the line limit, so the buffer stays a few times max_line at most. */
		if (r->csv.entry_size > r->csv.blk_size || seg > r->csv.blk_size)
			csv_set_blk_size(&r->csv, r->csv.entry_size > seg ? r->csv.entry_size : seg);
		if (csv_parse(&r->csv, p, seg, on_field, on_row, r) != seg) {
			/* Broken quoting ("a"b, a"b): one bad line, then resynchronise. */
			line_bad(r, STM_BAD_QUOTING, csv_strerror(csv_error(&r->csv)));
			if (!nl)
				r->skip_line = 1;
		} else if (nl && r->csv.pstate != 0) {
			/* The row goes on past its line: an unterminated quoted field. */
			line_bad(r, STM_BAD_UNTERMINATED, NULL);
		}
		if (nl) {
			r->line++;
			r->line_len = 0;
			r->line_off = base + (uint64_t)(seg_end - (const char *)data);
		}
		p = seg_end;
		if (r->err != GT_OK)
			return r->err;
	}
	return GT_OK;
}

gt_err
stm_reader_end(stm_reader *r)
{
	if (r->err != GT_OK)
		return r->err;
	if (!r->skip_line && csv_fini(&r->csv, on_field, on_row, r) != 0)
		line_bad(r, STM_BAD_UNTERMINATED, NULL);
	if (r->err != GT_OK)
		return r->err;
	if (!r->have_header)
		return reader_fail(r, GT_EINVAL, "%s: no CSV header (empty file)", r->file);
	stm__dcgm_flush(r);
	return r->err;
}

/* A pipe or FIFO may have nothing to read for a long time (nvidia-smi -l 1 | ...): wait in
 * short polls so that a stop request is noticed, and call cfg.idle before every wait (it
 * flushes partial batches: --linger) and sleep no longer than it allows. A regular file is
 * always readable. */
static gt_err
wait_readable(stm_reader *r, int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	if (r->cfg.stopping == NULL && r->cfg.idle == NULL)
		return GT_OK;
	for (;;) {
		int ms = 100, n;
		if (r->cfg.idle != NULL) {
			int64_t w = r->cfg.idle(r->cfg.idle_arg);
			if (w >= 0 && w < 100 * GT_NS_PER_MS)
				ms = (int)((w + GT_NS_PER_MS - 1) / GT_NS_PER_MS);
		}
		n = poll(&pfd, 1, ms);
		if (n > 0 || (n < 0 && errno != EINTR))
			return GT_OK; /* readable, hung up, or an error that read() reports */
		if (poll_stop(r))
			return r->err;
	}
}

static gt_err
read_fd(stm_reader *r, int fd, uint64_t *consumed)
{
	gt_err  rv = GT_OK;
	ssize_t n;

	if (r->block == NULL && (r->block = malloc(READ_BLOCK)) == NULL)
		return GT_ENOMEM;
	while (rv == GT_OK && (rv = wait_readable(r, fd)) == GT_OK &&
	       (n = read(fd, r->block, READ_BLOCK)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(r->errmsg, sizeof(r->errmsg), "%s: read: %s", r->file, strerror(errno));
			rv = r->err = GT_EIO;
			break;
		}
		if (consumed != NULL)
			*consumed += (uint64_t)n;
		rv = stm_reader_feed(r, r->block, (size_t)n);
	}
	return rv;
}

gt_err
stm_reader_fd(stm_reader *r, int fd, const char *name)
{
	gt_err rv;

	if ((rv = stm_reader_begin(r, name)) != GT_OK)
		return rv;
	if ((rv = read_fd(r, fd, NULL)) == GT_OK)
		rv = stm_reader_end(r);
	return rv;
}

gt_err
stm_reader_drain_fd(stm_reader *r, int fd, uint64_t *consumed)
{
	return read_fd(r, fd, consumed);
}

gt_err
stm_reader_file(stm_reader *r, const char *path)
{
	int    fd;
	gt_err rv;

	if (strcmp(path, "-") == 0)
		return stm_reader_fd(r, 0, "-");
	if ((rv = stm_reader_begin(r, path)) != GT_OK)
		return rv;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(r->errmsg, sizeof(r->errmsg), "%s: cannot open: %s", path, strerror(errno));
		return r->err = GT_EIO;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	rv = stm_reader_fd(r, fd, path);
	close(fd);
	return rv;
}

uint64_t
stm_reader_pending(stm_reader *r)
{
	return r->fed - (r->group_open ? r->group_off : r->line_off);
}

int
stm_reader_has_header(stm_reader *r)
{
	return r->have_header;
}

void
stm_reader_set_quiet(stm_reader *r, int quiet)
{
	r->cfg.quiet = quiet;
}

const char *
stm_reader_error(stm_reader *r)
{
	return r->errmsg;
}

stm_format
stm_reader_format(stm_reader *r)
{
	return r->have_header ? r->fmt : STM_FMT_AUTO;
}

void
stm_reader_get_stats(stm_reader *r, stm_reader_stats *st)
{
	*st = r->st;
}
