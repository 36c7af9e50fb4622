/* Unit tests: GPU key -> safe file name stem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "col_key.h"

static void
test_col_key_plain_key_unchanged(void **state)
{
	char b[COL_KEY_STEM_MAX + 1];

	(void)state;
	assert_int_equal(col_key_stem("GPU-5fd4f087-86f3-7a43-b711-4771313afc50", b, sizeof(b)), 40);
	assert_string_equal(b, "GPU-5fd4f087-86f3-7a43-b711-4771313afc50");
}

static void
test_col_key_traversal_stays_inside(void **state)
{
	const char *bad[] = {"../../etc/passwd", "..", ".", "a/b", "/abs", ".hidden", "a..b", "x\ny",
	    "sp ace", "", "\xff\xfe"};
	char        b[COL_KEY_STEM_MAX + 1];
	size_t      i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = col_key_stem(bad[i], b, sizeof(b));

		assert_true(n > 0 && n <= COL_KEY_STEM_MAX);
		assert_null(strchr(b, '/'));
		assert_null(strstr(b, ".."));
		assert_true(b[0] != '.');
		assert_non_null(strchr(b, '@')); /* sanitised names carry the hash */
	}
}

static void
test_col_key_sanitised_names_do_not_collide(void **state)
{
	char a[COL_KEY_STEM_MAX + 1], b[COL_KEY_STEM_MAX + 1], c[COL_KEY_STEM_MAX + 1];

	(void)state;
	col_key_stem("host/0", a, sizeof(a));
	col_key_stem("host_0", b, sizeof(b));
	col_key_stem("host:0", c, sizeof(c));
	assert_string_not_equal(a, b);
	assert_string_not_equal(a, c);
	assert_string_equal(b, "host_0");
	/* the sanitised form itself, used as a key, is plain only if it has no '@' */
	col_key_stem(a, c, sizeof(c));
	assert_string_not_equal(a, c);
}

static void
test_col_key_long_key_bounded(void **state)
{
	char key[1000], b[COL_KEY_STEM_MAX + 1], b2[COL_KEY_STEM_MAX + 1];

	(void)state;
	memset(key, 'a', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	assert_true(col_key_stem(key, b, sizeof(b)) <= COL_KEY_STEM_MAX);
	key[998] = 'b'; /* differs only past the truncation */
	col_key_stem(key, b2, sizeof(b2));
	assert_string_not_equal(b, b2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_col_key_plain_key_unchanged),
	    cmocka_unit_test(test_col_key_traversal_stays_inside),
	    cmocka_unit_test(test_col_key_sanitised_names_do_not_collide),
	    cmocka_unit_test(test_col_key_long_key_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
