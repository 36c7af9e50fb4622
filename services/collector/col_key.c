/* col_key.c - GPU key -> safe file name stem. */
#include <stdio.h>
#include <string.h>

#include "col_key.h"
#include "gt/gt_hash.h"

static int
key_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

static int
key_is_plain(const char *key, size_t n)
{
	size_t i;

	if (n == 0 || n > COL_KEY_RAW_MAX || key[0] == '.' || strstr(key, "..") != NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (!key_char_ok((unsigned char)key[i]))
			return 0;
	return 1;
}

size_t
col_key_stem(const char *key, char *buf, size_t len)
{
	size_t n = strlen(key), i, o;

	if (len < COL_KEY_STEM_MAX + 1)
		return 0;
	if (key_is_plain(key, n)) {
		memcpy(buf, key, n + 1);
		return n;
	}
	for (i = 0, o = 0; i < n && o < COL_KEY_RAW_MAX; i++) {
		unsigned char c = (unsigned char)key[i];

		if (!key_char_ok(c) || (o == 0 && c == '.') ||
		    (c == '.' && o > 0 && buf[o - 1] == '.'))
			c = '_';
		buf[o++] = (char)c;
	}
	o += (size_t)snprintf(buf + o, len - o, "@%016llx", (unsigned long long)gt_hash64(key, n));
	return o;
}
