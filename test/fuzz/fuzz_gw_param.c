/* fuzz_gw_param.c - the gateway's parameter parsers (query-string values as the gateway calls
 * gt_query, cursors, the aggregate window check) and its WebSocket client-message parser on
 * arbitrary bytes, each checked against what it promises. The first byte picks the parser; the rest is the input. */
#include <ctype.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "gw_param.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_names(const char *s)
{
	gt_query_metrics m;
	char             msg[160];
	size_t           i, k;

	if (gt_query_names_parse("metric", s, GW_NAME_MAX, &m, msg, sizeof(msg)) != GT_OK) {
		FUZZ_CHECK(strncmp(msg, "invalid parameter metric: ", 26) == 0);
		return;
	}
	FUZZ_CHECK(m.n <= GW_MAX_NAMES);
	for (i = 0; i < m.n; i++) {
		FUZZ_CHECK(m.names[i][0] != '\0' && strlen(m.names[i]) <= GW_NAME_MAX);
		for (k = 0; m.names[i][k]; k++)
			FUZZ_CHECK(isalnum((unsigned char)m.names[i][k]) ||
			           strchr("_.:-", m.names[i][k]));
		FUZZ_CHECK(strstr(s, m.names[i]) != NULL);
	}
}

static void
check_uint(const char *s)
{
	uint64_t v;
	char     back[32], msg[160];

	if (gt_query_uint("limit", s, 1, 1000000, &v, msg, sizeof(msg)) != GT_OK) {
		FUZZ_CHECK(strncmp(msg, "invalid parameter limit: ", 25) == 0);
		return;
	}
	FUZZ_CHECK(v >= 1 && v <= 1000000);
	while (s[0] == '0' && s[1] != '\0')
		s++;
	snprintf(back, sizeof(back), "%" PRIu64, v);
	FUZZ_CHECK(strcmp(back, s) == 0);
}

static void
check_time(const char *s)
{
	int64_t now = INT64_C(1700000000000000000), a, b;
	char    msg[160];
	gt_err  r1 = gt_query_time("since", s, now, &a, msg, sizeof(msg)),
	       r2 = gt_query_time("since", s, now, &b, msg, sizeof(msg));

	FUZZ_CHECK(r1 == r2);
	if (r1 == GT_OK) {
		FUZZ_CHECK(a == b);
		if (s[0] == '-' && !isdigit((unsigned char)s[1]))
			FUZZ_CHECK(a <= now);
	} else {
		FUZZ_CHECK(strncmp(msg, "invalid parameter since: ", 25) == 0);
	}
}

static void
check_cursor(const char *s)
{
	char    host[256], key[512], back[2100], low[2100];
	int32_t idx;
	size_t  i;

	if (gw_cursor_decode(s, host, sizeof(host), &idx, key, sizeof(key)) != GT_OK)
		return;
	FUZZ_CHECK(gw_cursor_encode(host, idx, key, back, sizeof(back)) == GT_OK);
	for (i = 0; s[i] && i < sizeof(low) - 1; i++)
		low[i] = (char)tolower((unsigned char)s[i]);
	low[i] = '\0';
	/* the index may have been written with a '+' or leading zeros: decode again instead */
	{
		char    h2[256], k2[512];
		int32_t i2;

		FUZZ_CHECK(gw_cursor_decode(back, h2, sizeof(h2), &i2, k2, sizeof(k2)) == GT_OK);
		FUZZ_CHECK(strcmp(h2, host) == 0 && strcmp(k2, key) == 0 && i2 == idx);
	}
}

static void
check_agg(const uint8_t *p, size_t n)
{
	int64_t     v[3] = {0, 0, 0};
	const char *bad;

	memcpy(v, p, n < sizeof(v) ? n : sizeof(v));
	bad = gw_agg_check(v[0], v[1], v[2]);
	if (bad == NULL) {
		__int128 span = (__int128)v[1] - (__int128)v[0];

		FUZZ_CHECK(v[2] > 0 && span >= 0);
		FUZZ_CHECK(span / v[2] < GW_MAX_AGG_POINTS);
	}
}

static void
check_ws(const uint8_t *p, size_t n)
{
	gw_ws_msg m;
	char      err[160];
	size_t    i;

	if (gw_ws_msg_parse(p, n, &m, err, sizeof(err)) != GT_OK) {
		FUZZ_CHECK(err[0] != '\0');
		return;
	}
	FUZZ_CHECK(m.type == GW_WS_SUBSCRIBE || m.type == GW_WS_PING);
	if (m.type == GW_WS_PING)
		FUZZ_CHECK(m.ping != NULL);
	FUZZ_CHECK(m.ngpus <= GW_MAX_WS_GPUS && m.nmetrics <= GW_MAX_NAMES);
	for (i = 0; i < m.ngpus; i++)
		FUZZ_CHECK(m.gpus[i] != NULL && m.gpus[i][0] != '\0');
	gw_ws_msg_fini(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size == 0)
		return 0;
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 6) {
	case 0:
		check_time(s);
		break;
	case 1:
		check_uint(s);
		break;
	case 2:
		check_names(s);
		break;
	case 3:
		check_cursor(s);
		break;
	case 4:
		check_agg(data + 1, size - 1);
		break;
	default:
		check_ws(data + 1, size - 1);
		break;
	}
	free(s);
	return 0;
}
