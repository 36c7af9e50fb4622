/* stm_rows.c - CSV rows -> TelemetryRecord: wide and nvidia-smi rows (one record each) and
 * DCGM rows (grouped by timestamp + GPU into one record), GPU identity, labels_raw.
 *
 * Strings of the record under construction live in one reused arena (offsets, since the arena
 * may move while it grows); they become pointers only in rec_emit, which fills the reused
 * TelemetryRecord and its preallocated map entries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_log.h"
#include "gt/gt_gpu_metrics.h"
#include "stm_reader_int.h"

static size_t
arena_put(stm_reader *r, const char *s, size_t n)
{
	size_t off = r->arena.len;

	if (gt_buf_reserve(&r->arena, n + 1) != GT_OK)
		return NOSTR;
	memcpy(r->arena.data + off, s, n);
	r->arena.data[off + n] = '\0';
	r->arena.len += n + 1;
	return off;
}

static const char *
arena_str(stm_reader *r, size_t off)
{
	return off == NOSTR ? "" : r->arena.data + off;
}

void
stm__rec_reset(stm_reader *r)
{
	gt_buf_reset(&r->arena);
	r->s_host = r->s_uuid = r->s_model = r->s_device = r->s_gpu_id = r->s_key = r->s_gid = NOSTR;
	r->index = -1;
	r->ts = 0;
	r->ts_source = 0;
	r->nm = r->nl = 0;
	r->rec_rows = 0;
}

/* A sentinel or out-of-range value is never a reading: counted per metric, logged once per
 * metric (unless quiet), and left out of the record. */
static int
metric_drop(stm_reader *r, const char *key, double v)
{
	unsigned slot;

	if (stm_value_ok(key, v, &slot))
		return 0;
	r->st.dropped++;
	if (r->st.dropped_by[slot]++ == 0 && !r->cfg.quiet)
		GT_LOGW("value.dropped", GT_KV_STR("file", r->file), GT_KV_STR("metric", key),
		    GT_KV_DBL("value", v), GT_KV_STR("reason", "sentinel or out of range"));
	return 1;
}

static gt_err
metric_add(stm_reader *r, const char *key, size_t koff, double v, int dedup)
{
	if (metric_drop(r, key ? key : arena_str(r, koff), v))
		return GT_OK;
	if (dedup) {
		const char *k = key ? key : arena_str(r, koff);
		for (size_t i = 0; i < r->nm; i++) {
			const char *ki = r->m[i].key ? r->m[i].key : arena_str(r, r->m[i].koff);
			if (ki == k || strcmp(ki, k) == 0) {
				r->m[i].v = v;
				return GT_OK;
			}
		}
	}
	if (r->nm == r->mcap) {
		size_t nc = r->mcap ? r->mcap * 2 : 16;
		mref  *nm = realloc(r->m, nc * sizeof(*nm));
		if (nm == NULL)
			return GT_ENOMEM;
		r->m = nm;
		r->mcap = nc;
	}
	r->m[r->nm++] = (mref){key, koff, v};
	return GT_OK;
}

static gt_err
label_add(stm_reader *r, const char *key, size_t koff, const char *v, size_t vlen)
{
	size_t voff;

	if (r->nl == r->lcap) {
		size_t nc = r->lcap ? r->lcap * 2 : 16;
		lref  *nl = realloc(r->l, nc * sizeof(*nl));
		if (nl == NULL)
			return GT_ENOMEM;
		r->l = nl;
		r->lcap = nc;
	}
	if ((voff = arena_put(r, v, vlen)) == NOSTR)
		return GT_ENOMEM;
	r->l[r->nl++] = (lref){key, koff, voff};
	return GT_OK;
}

static gt_err
pb_grow(stm_reader *r)
{
	if (r->nm > r->pmcap) {
		size_t nc = r->nm * 2;
		void  *a = realloc(r->pm, nc * sizeof(*r->pm));
		void  *b;
		if (a == NULL)
			return GT_ENOMEM;
		r->pm = a;
		if ((b = realloc(r->ppm, nc * sizeof(*r->ppm))) == NULL)
			return GT_ENOMEM;
		r->ppm = b;
		for (size_t i = 0; i < nc; i++) {
			gtpb__v1__telemetry_record__metrics_entry__init(&r->pm[i]);
			r->ppm[i] = &r->pm[i];
		}
		r->pmcap = nc;
	}
	if (r->nl > r->plcap) {
		size_t nc = r->nl * 2;
		void  *a = realloc(r->pl, nc * sizeof(*r->pl));
		void  *b;
		if (a == NULL)
			return GT_ENOMEM;
		r->pl = a;
		if ((b = realloc(r->ppl, nc * sizeof(*r->ppl))) == NULL)
			return GT_ENOMEM;
		r->ppl = b;
		for (size_t i = 0; i < nc; i++) {
			gtpb__v1__telemetry_record__labels_entry__init(&r->pl[i]);
			r->ppl[i] = &r->pl[i];
		}
		r->plcap = nc;
	}
	return GT_OK;
}

/* Finish the record: GPU key, protobuf fields; then emit. */
static void
rec_emit(stm_reader *r)
{
	Gtpb__V1__TelemetryRecord *rec = &r->rec;
	stm_rec_info               info;
	gt_err                     rv;

	if (r->s_host == NOSTR && r->hostname != NULL)
		r->s_host = arena_put(r, r->hostname, strlen(r->hostname));
	/* The GPU identity: uuid, else hostname/gpu_index, else gpu_id (else the index). */
	if (r->s_uuid != NOSTR && *arena_str(r, r->s_uuid))
		r->s_key = r->s_uuid;
	else if (r->s_host != NOSTR && *arena_str(r, r->s_host) && r->index >= 0) {
		char k[320];
		int  n = snprintf(k, sizeof(k), "%s/%d", arena_str(r, r->s_host), (int)r->index);
		r->s_key = arena_put(r, k, n > 0 && (size_t)n < sizeof(k) ? (size_t)n : 0);
	} else if (r->s_gpu_id != NOSTR && *arena_str(r, r->s_gpu_id))
		r->s_key = r->s_gpu_id;
	else if (r->index >= 0) {
		char k[16];
		int  n = snprintf(k, sizeof(k), "%d", (int)r->index);
		r->s_key = arena_put(r, k, (size_t)n);
	}
	if (r->s_key == NOSTR || r->nm == 0) {
		stm__bad_row(r, r->rec_line, r->s_key == NOSTR ? STM_BAD_NO_IDENTITY : STM_BAD_NO_METRICS,
		    NULL);
		return;
	}
	if ((rv = pb_grow(r)) != GT_OK) {
		r->err = rv;
		return;
	}
	rec->timestamp_ns = r->ts_source ? r->ts : 0;
	rec->gpu_key = (char *)arena_str(r, r->s_key);
	rec->hostname = (char *)arena_str(r, r->s_host);
	rec->gpu_index = r->index;
	rec->device = (char *)arena_str(r, r->s_device);
	rec->uuid = (char *)arena_str(r, r->s_uuid);
	rec->model = (char *)arena_str(r, r->s_model);
	rec->gpu_id = (char *)arena_str(r, r->s_gpu_id);
	for (size_t i = 0; i < r->nm; i++) {
		r->pm[i].key = (char *)(r->m[i].key ? r->m[i].key : arena_str(r, r->m[i].koff));
		r->pm[i].value = r->m[i].v;
	}
	for (size_t i = 0; i < r->nl; i++) {
		r->pl[i].key = (char *)(r->l[i].key ? r->l[i].key : arena_str(r, r->l[i].koff));
		r->pl[i].value = (char *)arena_str(r, r->l[i].voff);
	}
	rec->n_metrics = r->nm;
	rec->metrics = r->ppm;
	rec->n_labels = r->nl;
	rec->labels = r->ppl;
	info.file = r->file;
	info.line = r->rec_line;
	info.ts_source = r->ts_source;
	info.rows = r->rec_rows ? r->rec_rows : 1;
	r->st.records++;
	if ((rv = r->emit(rec, &info, r->arg)) != GT_OK)
		r->err = rv;
}

/* Identity/timestamp columns shared by every format. Returns 0 on a bad value (*why says
 * which). An empty timestamp cell is "no timestamp" (the record is stamped at publish time);
 * anything else must be an exact timestamp in range. */
static int
row_ident(stm_reader *r, col *c, size_t i, stm_bad_reason *why)
{
	const char *s = FSTR(r, i);
	size_t      n = FLEN(r, i);

	if (n == 0)
		return 1;
	switch (c->kind) {
	case COL_TS:
		switch (stm_parse_timestamp(s, &r->ts)) {
		case STM_TS_OK:
			break;
		case STM_TS_OUT_OF_RANGE:
			*why = STM_BAD_TS_RANGE;
			return 0;
		case STM_TS_UNPARSABLE:
		default:
			*why = STM_BAD_TIMESTAMP;
			return 0;
		}
		r->ts_source = 1;
		break;
	case COL_GPU_ID:
		r->s_gpu_id = arena_put(r, s, n);
		if (r->index < 0)
			stm_parse_index(s, n, &r->index);
		break;
	case COL_HOST:
		r->s_host = arena_put(r, s, n);
		break;
	case COL_UUID:
		r->s_uuid = arena_put(r, s, n);
		break;
	case COL_DEVICE:
		r->s_device = arena_put(r, s, n);
		break;
	case COL_MODEL:
		r->s_model = arena_put(r, s, n);
		break;
	case COL_INDEX:
		if (!stm_parse_index(s, n, &r->index)) {
			*why = STM_BAD_INDEX;
			return 0;
		}
		break;
	default:
		break;
	}
	return 1;
}

/* One wide or nvidia-smi row -> one record. */
void
stm__row_wide_smi(stm_reader *r, uint64_t line)
{
	int            smi = r->fmt == STM_FMT_SMI;
	stm_bad_reason why = STM_BAD__COUNT; /* none */
	size_t         bad_col = 0;

	stm__rec_reset(r);
	r->rec_line = line;
	for (size_t i = 0; i < r->ncols && why == STM_BAD__COUNT; i++) {
		col        *c = &r->cols[i];
		const char *s = FSTR(r, i);
		size_t      n = FLEN(r, i);
		double      v;

		switch (c->kind) {
		case COL_METRIC:
			if (n == 0 || stm_is_placeholder(s, n))
				break;
			if (!stm_parse_number(s, n, smi, &v)) {
				why = STM_BAD_VALUE;
				bad_col = i;
				break;
			}
			if (metric_add(r, c->key, 0, v, 0) != GT_OK)
				r->err = GT_ENOMEM;
			break;
		case COL_AUTO:
			if (n == 0 || stm_is_placeholder(s, n))
				break;
			if (stm_parse_number(s, n, smi, &v)) {
				if (!smi)
					c->kind = COL_METRIC; /* wide: the first value decides the schema */
				if (metric_add(r, c->key, 0, v, 0) != GT_OK)
					r->err = GT_ENOMEM;
			} else {
				if (!smi)
					c->kind = COL_LABEL;
				if (label_add(r, c->key, 0, s, n) != GT_OK)
					r->err = GT_ENOMEM;
			}
			break;
		case COL_LABEL:
			if (n > 0 && !stm_is_placeholder(s, n) && label_add(r, c->key, 0, s, n) != GT_OK)
				r->err = GT_ENOMEM;
			break;
		case COL_IGNORE:
			break;
		default:
			if (!row_ident(r, c, i, &why))
				bad_col = i;
			break;
		}
	}
	if (why != STM_BAD__COUNT) {
		char detail[320];
		snprintf(detail, sizeof(detail), "column %.64s: \"%.*s\"%s", r->cols[bad_col].name,
		    (int)(FLEN(r, bad_col) > 64 ? 64 : FLEN(r, bad_col)), FSTR(r, bad_col),
		    why == STM_BAD_TS_RANGE ? " (accepted: " STM_TS_RANGE_TEXT ")" : "");
		stm__bad_row(r, line, why, detail);
		return;
	}
	r->rec_rows = 1;
	rec_emit(r);
}

/* labels_raw: DCGM_FI_DRIVER_VERSION="535.129.03",Hostname="h1" (CSV quoting already undone;
 * "" inside a value and \" escapes are accepted). Returns 0 when malformed. */
static int
dcgm_labels(stm_reader *r, const char *s, size_t n)
{
	const char *p = s, *end = s + n;

	if (p < end && *p == '{')
		p++;
	if (end > p && end[-1] == '}')
		end--;
	while (p < end) {
		const char *k, *ke;
		size_t      koff;

		while (p < end && (*p == ' ' || *p == ','))
			p++;
		if (p == end)
			break;
		k = p;
		while (p < end && *p != '=' && *p != ',')
			p++;
		if (p == end || *p != '=')
			return 0;
		ke = p++;
		while (ke > k && ke[-1] == ' ')
			ke--;
		if (ke == k)
			return 0;
		gt_buf_reset(&r->scratch);
		if (p < end && *p == '"') {
			p++;
			for (;;) {
				if (p == end)
					return 0;
				if (*p == '\\' && p + 1 < end) {
					char e = p[1];
					gt_buf_putc(&r->scratch, e == 'n' ? '\n' : e);
					p += 2;
				} else if (*p == '"' && p + 1 < end && p[1] == '"') {
					gt_buf_putc(&r->scratch, '"');
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else
					gt_buf_putc(&r->scratch, *p++);
			}
			if (p < end && *p != ',' && *p != ' ')
				return 0;
		} else {
			const char *v = p;
			while (p < end && *p != ',')
				p++;
			gt_buf_append(&r->scratch, v, (size_t)(p - v));
		}
		{
			size_t      kl = (size_t)(ke - k);
			const char *v = r->scratch.data ? r->scratch.data : "";
			size_t      vl = r->scratch.len;
#define KEYIS(lit) (kl == sizeof(lit) - 1 && memcmp(k, lit, kl) == 0)
			/* Top-level fields: fill them when their column was empty, never duplicate. */
			if (KEYIS("Hostname")) {
				if (r->s_host == NOSTR && vl)
					r->s_host = arena_put(r, v, vl);
			} else if (KEYIS("UUID")) {
				if (r->s_uuid == NOSTR && vl)
					r->s_uuid = arena_put(r, v, vl);
			} else if (KEYIS("modelName")) {
				if (r->s_model == NOSTR && vl)
					r->s_model = arena_put(r, v, vl);
			} else if (KEYIS("device")) {
				if (r->s_device == NOSTR && vl)
					r->s_device = arena_put(r, v, vl);
			} else if (KEYIS("gpu")) {
				if (r->index < 0)
					stm_parse_index(v, vl, &r->index);
			} else {
				if ((koff = arena_put(r, k, kl)) == NOSTR ||
				    label_add(r, NULL, koff, v, vl) != GT_OK) {
					r->err = GT_ENOMEM;
					return 0;
				}
			}
#undef KEYIS
		}
	}
	return 1;
}

/* Group identity of a DCGM row: timestamp, uuid, hostname, gpu_id. */
static void
dcgm_gid(stm_reader *r, gt_buf *out)
{
	gt_buf_reset(out);
	for (size_t i = 0; i < r->ncols; i++) {
		col_kind k = r->cols[i].kind;
		if (k == COL_TS || k == COL_UUID || k == COL_HOST || k == COL_GPU_ID ||
		    k == COL_INDEX) {
			gt_buf_append(out, FSTR(r, i), FLEN(r, i));
			gt_buf_putc(out, '\x1f');
		}
	}
	if (out->data == NULL)
		gt_buf_putc(out, '\0');
}

void
stm__row_dcgm(stm_reader *r, uint64_t line)
{
	const char    *mname = NULL, *val = NULL;
	stm_bad_reason why = STM_BAD__COUNT; /* none */
	size_t         mlen = 0, vlen = 0;
	double         v = 0;

	for (size_t i = 0; i < r->ncols; i++) {
		if (r->cols[i].kind == COL_MNAME)
			mname = FSTR(r, i), mlen = FLEN(r, i);
		else if (r->cols[i].kind == COL_VALUE)
			val = FSTR(r, i), vlen = FLEN(r, i);
	}
	if (mlen == 0)
		why = STM_BAD_METRIC_NAME;
	else if (vlen > 0 && stm_is_placeholder(val, vlen))
		val = NULL; /* no value: keep the group, skip the metric */
	else if (!stm_parse_number(val, vlen, 0, &v))
		why = STM_BAD_VALUE;
	if (why != STM_BAD__COUNT) {
		char detail[200];
		snprintf(detail, sizeof(detail), "%.*s=\"%.*s\"", (int)(mlen > 64 ? 64 : mlen),
		    mname ? mname : "", (int)(vlen > 64 ? 64 : vlen), val ? val : "");
		stm__bad_row(r, line, why, detail);
		return;
	}
	dcgm_gid(r, &r->gid);
	if (r->group_open && strcmp(r->gid.data, arena_str(r, r->s_gid)) != 0) {
		r->group_open = 0;
		rec_emit(r);
	}
	if (!r->group_open) {
		stm_bad_reason why2 = STM_BAD__COUNT; /* none */
		size_t         ts_col = NOSTR;

		stm__rec_reset(r);
		r->rec_line = line;
		r->s_gid = arena_put(r, r->gid.data, strlen(r->gid.data));
		for (size_t i = 0; i < r->ncols && why2 == STM_BAD__COUNT; i++) {
			col *c = &r->cols[i];
			if (c->kind == COL_LABEL) {
				if (FLEN(r, i) > 0 && label_add(r, c->key, 0, FSTR(r, i), FLEN(r, i)) != GT_OK)
					r->err = GT_ENOMEM;
			} else if (c->kind == COL_LABELS_RAW) {
				if (!dcgm_labels(r, FSTR(r, i), FLEN(r, i)))
					why2 = STM_BAD_LABELS_RAW;
			} else if (c->kind != COL_MNAME && c->kind != COL_VALUE) {
				if (c->kind == COL_TS)
					ts_col = i;
				row_ident(r, c, i, &why2);
			}
		}
		if (why2 != STM_BAD__COUNT) {
			char detail[320];
			snprintf(detail, sizeof(detail), "timestamp \"%.64s\"%s",
			    ts_col != NOSTR ? FSTR(r, ts_col) : "",
			    why2 == STM_BAD_TS_RANGE ? " (accepted: " STM_TS_RANGE_TEXT ")" : "");
			stm__bad_row(r, line, why2, detail);
			stm__rec_reset(r);
			return;
		}
		r->group_open = 1;
		r->group_off = r->line_off;
	}
	r->rec_rows++;
	if (val != NULL) {
		const char *canon = gt_gpu_metric_canonical(mname, mlen);
		gt_err      rv;
		if (canon != NULL)
			rv = metric_add(r, canon, 0, v, 1);
		else {
			size_t koff = arena_put(r, mname, mlen);
			rv = koff == NOSTR ? GT_ENOMEM : metric_add(r, NULL, koff, v, 1);
		}
		if (rv != GT_OK)
			r->err = rv;
	}
}


void
stm__dcgm_flush(stm_reader *r)
{
	if (r->group_open) {
		r->group_open = 0;
		rec_emit(r);
	}
}

/* ---------------------------------------------------------------- direct building */

void
stm_reader_rec_begin(stm_reader *r, int64_t ts_ns)
{
	stm__rec_reset(r);
	r->group_open = 0;
	r->st.rows++;
	r->rec_line = r->st.rows;
	r->rec_rows = 1;
	if (ts_ns > 0) {
		r->ts = ts_ns;
		r->ts_source = 1;
	}
}

static size_t
opt_put(stm_reader *r, const char *s)
{
	return s != NULL && *s ? arena_put(r, s, strlen(s)) : NOSTR;
}

void
stm_reader_rec_ident(stm_reader *r, const char *host, const char *uuid, const char *device,
    const char *model, int32_t index)
{
	r->s_host = opt_put(r, host);
	r->s_uuid = opt_put(r, uuid);
	r->s_device = opt_put(r, device);
	r->s_model = opt_put(r, model);
	r->index = index;
}

void
stm_reader_rec_metric(stm_reader *r, const char *name, size_t len, double v, int dedup)
{
	stm_reader_rec_metric_as(r, gt_gpu_metric_canonical(name, len), name, len, v, dedup);
}

void
stm_reader_rec_metric_as(stm_reader *r, const char *canon, const char *name, size_t len, double v,
    int dedup)
{
	gt_err rv;

	if (canon != NULL)
		rv = metric_add(r, canon, 0, v, dedup);
	else {
		size_t koff = arena_put(r, name, len);
		rv = koff == NOSTR ? GT_ENOMEM : metric_add(r, NULL, koff, v, dedup);
	}
	if (rv != GT_OK)
		r->err = rv;
}

void
stm_reader_rec_label(stm_reader *r, const char *k, size_t kl, const char *v, size_t vl)
{
	size_t koff = arena_put(r, k, kl);

	if (koff == NOSTR || label_add(r, NULL, koff, v, vl) != GT_OK)
		r->err = GT_ENOMEM;
}

gt_err
stm_reader_rec_emit(stm_reader *r)
{
	gt_err rv;

	if (r->err != GT_OK)
		return r->err;
	rec_emit(r);
	rv = r->err;
	if (rv == GT_ENOMEM || rv == GT_OK)
		return rv;
	r->err = GT_OK; /* a stop from the emit callback: the caller decides */
	return rv;
}
