/* stm_prom.c - Prometheus text exposition parser (see stm_prom.h).
 *
 * The input is cut at '\n'; each line is parsed on its own with a cursor that never passes the
 * line's end, so a malformed line costs exactly that line. A label value without escapes is
 * handed out as it is in the input; one with escapes is unescaped into a reused scratch buffer
 * (offsets while it may grow, pointers once the line is complete). Simple decimals are
 * converted without strtod (exactly: see fast_float).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_buf.h"
#include "stm_prom.h"

typedef struct lab_off {
	const char *name;
	size_t      name_len;
	const char *direct; /* the value in the input (no escapes), else NULL: scratch voff */
	size_t      voff, vlen;
} lab_off;

struct stm_prom {
	gt_buf         scratch;
	lab_off        lo[STM_PROM_MAX_LABELS];
	stm_prom_label labels[STM_PROM_MAX_LABELS];
};

gt_err
stm_prom_new(stm_prom **out)
{
	stm_prom *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return GT_ENOMEM;
	gt_buf_init(&p->scratch);
	*out = p;
	return GT_OK;
}

void
stm_prom_free(stm_prom *p)
{
	if (p == NULL)
		return;
	gt_buf_fini(&p->scratch);
	free(p);
}

static int
name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static int
name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

static const char *
skip_ws(const char *s, const char *e)
{
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
    1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* [-]digits[.digits] with at most 15 significant digits: m / 10^k of two exact doubles is
 * correctly rounded, the same double strtod returns. 0 = not this simple form. */
static int
fast_float(const char *s, size_t n, double *out)
{
	uint64_t m = 0;
	int      neg = 0, digits = 0, frac = -1;

	if (n > 0 && *s == '-')
		neg = 1, s++, n--;
	if (n == 0 || n > 17)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9') {
			m = m * 10 + (uint64_t)(c - '0');
			digits++;
			if (frac >= 0)
				frac++;
		} else if (c == '.' && frac < 0 && i > 0 && i + 1 < n)
			frac = 0;
		else
			return 0;
	}
	if (digits > 15)
		return 0;
	*out = (double)m / p10[frac > 0 ? frac : 0];
	if (neg)
		*out = -*out;
	return 1;
}

/* A float token: digits, sign, '.', exponent, NaN/Inf. 1 and *out on success. */
static int
parse_float(const char *s, size_t n, double *out)
{
	char  buf[64];
	char *end;

	if (fast_float(s, n, out))
		return 1;

	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		char c = buf[i];
		if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' ||
		        c == 'E' || c == 'N' || c == 'a' || c == 'I' || c == 'n' || c == 'f'))
			return 0; /* no hex floats, no "infinity", no spaces inside */
	}
	*out = strtod(buf, &end);
	return end == buf + n;
}

static int
parse_ts(const char *s, size_t n, int64_t *out)
{
	int      neg = 0;
	uint64_t v = 0;

	if (n > 0 && (*s == '-' || *s == '+'))
		neg = *s == '-', s++, n--;
	if (n == 0 || n > 18)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 1;
}

/* Labels after '{' up to and including '}'. Returns the position after '}' or NULL. */
static const char *
parse_labels(stm_prom *p, const char *s, const char *e, size_t *nl)
{
	*nl = 0;
	for (;;) {
		const char *k;
		size_t      voff;

		s = skip_ws(s, e);
		if (s < e && *s == '}')
			return s + 1;
		if (s == e || !name_start(*s) || *nl == STM_PROM_MAX_LABELS)
			return NULL;
		k = s;
		while (s < e && name_char(*s))
			s++;
		p->lo[*nl].name = k;
		p->lo[*nl].name_len = (size_t)(s - k);
		s = skip_ws(s, e);
		if (s == e || *s != '=')
			return NULL;
		s = skip_ws(s + 1, e);
		if (s == e || *s != '"')
			return NULL;
		s++;
		{
			/* No escape: the value is the input itself; else unescaped into scratch. */
			const char *v = s, *q = s;
			while (q < e && *q != '"' && *q != '\\')
				q++;
			if (q == e)
				return NULL;
			if (*q == '"') {
				p->lo[*nl].direct = v;
				p->lo[*nl].vlen = (size_t)(q - v);
				s = q + 1;
				goto next;
			}
		}
		voff = p->scratch.len;
		for (;;) {
			if (s == e)
				return NULL;
			if (*s == '"')
				break;
			if (*s == '\\') {
				if (s + 1 == e)
					return NULL;
				switch (s[1]) {
				case '\\':
					gt_buf_putc(&p->scratch, '\\');
					break;
				case '"':
					gt_buf_putc(&p->scratch, '"');
					break;
				case 'n':
					gt_buf_putc(&p->scratch, '\n');
					break;
				default:
					return NULL;
				}
				s += 2;
			} else {
				const char *q = s;
				while (q < e && *q != '"' && *q != '\\')
					q++;
				gt_buf_append(&p->scratch, s, (size_t)(q - s));
				s = q;
			}
		}
		s++; /* closing quote */
		p->lo[*nl].direct = NULL;
		p->lo[*nl].vlen = p->scratch.len - voff;
		p->lo[*nl].voff = voff;
	next:
		(*nl)++;
		s = skip_ws(s, e);
		if (s < e && *s == ',')
			s++;
		else if (s == e || *s != '}')
			return NULL;
	}
}

/* One line without its '\n'. 1 = a sample (filled), 0 = blank/comment, -1 = malformed. */
static int
parse_line(stm_prom *p, const char *s, const char *e, stm_prom_sample *out)
{
	const char *tok;
	size_t      nl = 0;

	if (e > s && e[-1] == '\r')
		e--;
	s = skip_ws(s, e);
	if (s == e || *s == '#')
		return 0;
	if (!name_start(*s))
		return -1;
	out->name = s;
	while (s < e && name_char(*s))
		s++;
	out->name_len = (size_t)(s - out->name);
	gt_buf_reset(&p->scratch);
	if (s < e && *s == '{') {
		if ((s = parse_labels(p, s + 1, e, &nl)) == NULL)
			return -1;
		if (gt_buf_reserve(&p->scratch, 1) != GT_OK) /* data != NULL for any voff */
			return -1;
	}
	if (s == e || (*s != ' ' && *s != '\t'))
		return -1;
	s = skip_ws(s, e);
	tok = s;
	while (s < e && *s != ' ' && *s != '\t')
		s++;
	if (!parse_float(tok, (size_t)(s - tok), &out->value))
		return -1;
	s = skip_ws(s, e);
	out->ts_ms = STM_PROM_NO_TS;
	if (s < e) {
		tok = s;
		while (s < e && *s != ' ' && *s != '\t')
			s++;
		if (!parse_ts(tok, (size_t)(s - tok), &out->ts_ms))
			return -1;
		if (skip_ws(s, e) != e)
			return -1;
	}
	for (size_t i = 0; i < nl; i++) {
		p->labels[i].name = p->lo[i].name;
		p->labels[i].name_len = p->lo[i].name_len;
		p->labels[i].value = p->lo[i].direct ? p->lo[i].direct : p->scratch.data + p->lo[i].voff;
		p->labels[i].value_len = p->lo[i].vlen;
	}
	out->labels = p->labels;
	out->nlabels = nl;
	return 1;
}

gt_err
stm_prom_parse(stm_prom *p, const char *text, size_t len, stm_prom_fn fn, void *arg,
    stm_prom_stats *st)
{
	const char *s = text, *end = text + len;

	memset(st, 0, sizeof(*st));
	while (s < end) {
		const char     *nl = memchr(s, '\n', (size_t)(end - s));
		const char     *le = nl ? nl : end;
		stm_prom_sample smp;
		int             k;

		st->lines++;
		k = parse_line(p, s, le, &smp);
		if (k < 0) {
			st->bad_lines++;
			if (st->first_bad == 0)
				st->first_bad = st->lines;
		} else if (k > 0) {
			gt_err rv;
			smp.line = st->lines;
			st->samples++;
			if ((rv = fn(&smp, arg)) != GT_OK)
				return rv;
		}
		s = nl ? nl + 1 : end;
	}
	return GT_OK;
}
