/* col_key.h - a GPU key made into a safe, collision-free file name stem.
 *
 * A key made only of [A-Za-z0-9_.-], not starting with '.', without "..", and at most
 * COL_KEY_RAW_MAX bytes is used as it is. Any other key is sanitised (other bytes -> '_',
 * a leading '.' -> '_', truncated) and gets "@" + 16 hex digits of its FNV-1a hash; '@' never
 * appears in an unchanged name, so the two forms cannot collide. The stem never contains '/',
 * never is "." or "..", and is at most COL_KEY_STEM_MAX bytes. Pure function, any thread. */
#ifndef COL_KEY_H
#define COL_KEY_H

#include <stddef.h>

#define COL_KEY_RAW_MAX 120
#define COL_KEY_STEM_MAX (COL_KEY_RAW_MAX + 17)

/* col_key_stem writes the stem into buf (len >= COL_KEY_STEM_MAX + 1); returns its length. */
size_t col_key_stem(const char *key, char *buf, size_t len);

#endif
