/* fuzz_http_head.c - the HTTP front door's request head check (gt__http_head_check, which
 * sees every new connection's first bytes): never reads past len, is consistent between a
 * prefix and the whole (a prefix never completes or fails differently from what follows), and
 * a head it accepts ends with its empty line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "gt_http_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so that ASan catches a read past len. */
	char       *buf = malloc(size ? size : 1);
	const char *msg = NULL;
	int         st = 0, rv, prv, pst = 0;
	size_t      max = 512;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	rv = gt__http_head_check(buf, size, max, &st, &msg);
	FUZZ_CHECK(rv >= -1);
	if (rv > 0) {
		FUZZ_CHECK((size_t)rv <= size && (size_t)rv <= max + 1);
		FUZZ_CHECK(buf[rv - 1] == '\n');
	}
	if (rv < 0)
		FUZZ_CHECK(msg != NULL && st >= 400 && st <= 505);
	if (size > 0) { /* one byte less: still undecided, or the same verdict */
		prv = gt__http_head_check(buf, size - 1, max, &pst, &msg);
		FUZZ_CHECK(prv == 0 || (prv == rv && pst == st) || (prv > 0 && rv == prv));
	}
	free(buf);
	return 0;
}
