/* test_gt_http_route.c - the pure HTTP helpers: pairs, percent-decoding, query strings,
 * route patterns with {param} captures, and the static-file resolver (never escapes root). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../common/src/gt_http_int.h"

/* ---- percent-decoding ---- */

static void
test_gt_http_pct_decode_basic(void **state)
{
	char   out[64];
	size_t n;

	(void)state;
	assert_int_equal(gt__http_pct_decode("a%20b%2Fc", 9, out, sizeof(out), 0, &n), GT_OK);
	assert_string_equal(out, "a b/c");
	assert_int_equal(n, 5);
	assert_int_equal(gt__http_pct_decode("x+y", 3, out, sizeof(out), 0, NULL), GT_OK);
	assert_string_equal(out, "x+y");
	assert_int_equal(gt__http_pct_decode("x+y", 3, out, sizeof(out), GT__HTTP_DEC_PLUS, NULL),
	                 GT_OK);
	assert_string_equal(out, "x y");
	assert_int_equal(gt__http_pct_decode("%e2%82%AC", 9, out, sizeof(out), 0, &n), GT_OK);
	assert_string_equal(out, "\xe2\x82\xac");
	assert_int_equal(gt__http_pct_decode("", 0, out, sizeof(out), 0, &n), GT_OK);
	assert_string_equal(out, "");
}

static void
test_gt_http_pct_decode_rejects_bad_input(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(gt__http_pct_decode("%", 1, out, sizeof(out), 0, NULL), GT_EINVAL);
	assert_int_equal(gt__http_pct_decode("%2", 2, out, sizeof(out), 0, NULL), GT_EINVAL);
	assert_int_equal(gt__http_pct_decode("%zz", 3, out, sizeof(out), 0, NULL), GT_EINVAL);
	assert_int_equal(gt__http_pct_decode("a%00b", 5, out, sizeof(out), 0, NULL), GT_EINVAL);
	assert_int_equal(gt__http_pct_decode("a\0b", 3, out, sizeof(out), 0, NULL), GT_EINVAL);
	assert_int_equal(
	    gt__http_pct_decode("a%2fb", 5, out, sizeof(out), GT__HTTP_DEC_NO_SLASH, NULL),
	    GT_EINVAL);
	assert_int_equal(
	    gt__http_pct_decode("a%5Cb", 5, out, sizeof(out), GT__HTTP_DEC_NO_SLASH, NULL),
	    GT_EINVAL);
	/* Too small for the output plus its NUL. */
	assert_int_equal(gt__http_pct_decode("abcd", 4, out, 4, 0, NULL), GT_EFULL);
	assert_int_equal(gt__http_pct_decode("abc", 3, out, 4, 0, NULL), GT_OK);
}

/* ---- query strings ---- */

static void
test_gt_http_query_parse_decodes(void **state)
{
	gt__http_pairs q;
	const char    *qs = "limit=10&name=a%20b+c&flag&empty=&&x=%3D%26;last=1";

	(void)state;
	gt__http_pairs_init(&q);
	assert_int_equal(gt__http_query_parse(qs, strlen(qs), &q), GT_OK);
	assert_int_equal(q.n, 6);
	assert_string_equal(gt__http_pairs_get(&q, "limit"), "10");
	assert_string_equal(gt__http_pairs_get(&q, "name"), "a b c");
	assert_string_equal(gt__http_pairs_get(&q, "flag"), "");
	assert_string_equal(gt__http_pairs_get(&q, "empty"), "");
	assert_string_equal(gt__http_pairs_get(&q, "x"), "=&");
	assert_string_equal(gt__http_pairs_get(&q, "last"), "1");
	assert_null(gt__http_pairs_get(&q, "missing"));
	gt__http_pairs_fini(&q);
}

static void
test_gt_http_query_parse_first_value_wins_and_errors_roll_back(void **state)
{
	gt__http_pairs q;

	(void)state;
	gt__http_pairs_init(&q);
	assert_int_equal(gt__http_query_parse("a=1&a=2", 7, &q), GT_OK);
	assert_string_equal(gt__http_pairs_get(&q, "a"), "1");
	assert_int_equal(gt__http_query_parse("b=1&c=%zz", 9, &q), GT_EINVAL);
	assert_int_equal(q.n, 2); /* b was rolled back */
	assert_null(gt__http_pairs_get(&q, "b"));
	gt__http_pairs_fini(&q);
}

static void
test_gt_http_query_parse_is_bounded(void **state)
{
	gt__http_pairs q;
	char           qs[4096];
	size_t         len = 0;
	int            i;

	(void)state;
	for (i = 0; i < GT__HTTP_MAX_PAIRS + 5; i++)
		len += (size_t)snprintf(qs + len, sizeof(qs) - len, "k%d=v&", i);
	gt__http_pairs_init(&q);
	assert_int_equal(gt__http_query_parse(qs, len, &q), GT_EFULL);
	assert_int_equal(q.n, 0);
	gt__http_pairs_fini(&q);
}

/* ---- routes ---- */

static void
test_gt_http_pattern_check(void **state)
{
	(void)state;
	assert_int_equal(gt__http_pattern_check("/"), GT_OK);
	assert_int_equal(gt__http_pattern_check("/health"), GT_OK);
	assert_int_equal(gt__http_pattern_check("/api/v1/gpus/{id}/telemetry"), GT_OK);
	assert_int_equal(gt__http_pattern_check("/files/{rest...}"), GT_OK);
	assert_int_equal(gt__http_pattern_check("health"), GT_EINVAL);
	assert_int_equal(gt__http_pattern_check("/a/{}"), GT_EINVAL);
	assert_int_equal(gt__http_pattern_check("/a/{x"), GT_EINVAL);
	assert_int_equal(gt__http_pattern_check("/a/x}"), GT_EINVAL);
	assert_int_equal(gt__http_pattern_check("/a/pre{x}"), GT_EINVAL);
	assert_int_equal(gt__http_pattern_check("/a/{x y}"), GT_EINVAL);
	assert_int_equal(gt__http_pattern_check(NULL), GT_EINVAL);
}

static void
test_gt_http_route_match_literals(void **state)
{
	gt__http_pairs p;

	(void)state;
	gt__http_pairs_init(&p);
	assert_int_equal(gt__http_route_match("/health", "/health", 1, &p), GT_OK);
	assert_int_equal(gt__http_route_match("/health", "/healthz", 1, &p), GT_ENOENT);
	assert_int_equal(gt__http_route_match("/health", "/health/", 1, &p), GT_ENOENT);
	assert_int_equal(gt__http_route_match("/health", "/", 1, &p), GT_ENOENT);
	assert_int_equal(gt__http_route_match("/", "/", 1, &p), GT_OK);
	assert_int_equal(gt__http_route_match("/a/b", "/a", 1, &p), GT_ENOENT);
	assert_int_equal(gt__http_route_match("/a", "/a/b", 1, &p), GT_ENOENT);
	assert_int_equal(gt__http_route_match("/a", "a", 1, &p), GT_ENOENT);
	assert_int_equal(p.n, 0);
	gt__http_pairs_fini(&p);
}

static void
test_gt_http_route_match_captures_params(void **state)
{
	gt__http_pairs p;

	(void)state;
	gt__http_pairs_init(&p);
	assert_int_equal(gt__http_route_match("/api/v1/gpus/{id}/telemetry",
	                                      "/api/v1/gpus/GPU-1234/telemetry", 1, &p),
	                 GT_OK);
	assert_string_equal(gt__http_pairs_get(&p, "id"), "GPU-1234");
	gt__http_pairs_fini(&p);

	/* Captures are percent-decoded when asked, so "host%2F0" is one segment "host/0". */
	assert_int_equal(gt__http_route_match("/api/v1/gpus/{id}/telemetry",
	                                      "/api/v1/gpus/host%2F0/telemetry", 1, &p),
	                 GT_OK);
	assert_string_equal(gt__http_pairs_get(&p, "id"), "host/0");
	gt__http_pairs_fini(&p);

	/* ...and copied as is when the server already decoded the path. */
	assert_int_equal(gt__http_route_match("/x/{a}/{b}", "/x/one/t%77o", 0, &p), GT_OK);
	assert_string_equal(gt__http_pairs_get(&p, "a"), "one");
	assert_string_equal(gt__http_pairs_get(&p, "b"), "t%77o");
	gt__http_pairs_fini(&p);

	/* An empty segment never satisfies a capture. */
	assert_int_equal(gt__http_route_match("/x/{a}", "/x/", 1, &p), GT_ENOENT);
	assert_int_equal(gt__http_route_match("/x/{a}/y", "/x//y", 1, &p), GT_ENOENT);
	assert_int_equal(p.n, 0);

	/* A bad escape inside a capture is an error, not a silent mismatch. */
	assert_int_equal(gt__http_route_match("/x/{a}", "/x/%zz", 1, &p), GT_EINVAL);
	assert_int_equal(p.n, 0);
	gt__http_pairs_fini(&p);
}

static void
test_gt_http_route_match_multi_segment_capture(void **state)
{
	gt__http_pairs p;

	(void)state;
	gt__http_pairs_init(&p);
	assert_int_equal(gt__http_route_match("/api/v1/gpus/{id...}/telemetry",
	                                      "/api/v1/gpus/host-a/0/telemetry", 0, &p),
	                 GT_OK);
	assert_string_equal(gt__http_pairs_get(&p, "id"), "host-a/0");
	gt__http_pairs_fini(&p);
	assert_int_equal(gt__http_route_match("/api/v1/gpus/{id...}/telemetry",
	                                      "/api/v1/gpus/GPU-1/telemetry", 0, &p),
	                 GT_OK);
	assert_string_equal(gt__http_pairs_get(&p, "id"), "GPU-1");
	gt__http_pairs_fini(&p);
	assert_int_equal(gt__http_route_match("/files/{rest...}", "/files/a/b/c.txt", 0, &p),
	                 GT_OK);
	assert_string_equal(gt__http_pairs_get(&p, "rest"), "a/b/c.txt");
	gt__http_pairs_fini(&p);
	assert_int_equal(
	    gt__http_route_match("/api/v1/gpus/{id...}/telemetry", "/api/v1/gpus/telemetry", 0, &p),
	    GT_ENOENT);
	assert_int_equal(gt__http_route_match("/files/{rest...}", "/files/", 0, &p), GT_ENOENT);
	gt__http_pairs_fini(&p);
}

/* ---- static files ---- */

typedef struct fixture {
	char base[PATH_MAX];      /* tmp dir */
	char root[PATH_MAX + 16]; /* base/www, realpath'd */
} fixture;

static void
write_file(const char *dir, const char *name, const char *text)
{
	char  path[PATH_MAX + 256]; /* room for any dir (< PATH_MAX) and the short names used */
	FILE *f;

	assert_true((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) < sizeof(path));
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int
static_setup(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));
	char     tmpl[PATH_MAX], dir[2 * PATH_MAX], link[2 * PATH_MAX];
	char    *d;

	snprintf(tmpl, sizeof(tmpl), "%s/gt-http-route-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if ((d = mkdtemp(tmpl)) == NULL)
		return -1;
	if (realpath(d, fx->base) == NULL)
		return -1;
	snprintf(fx->root, sizeof(fx->root), "%s/www", fx->base);
	mkdir(fx->root, 0700);
	snprintf(dir, sizeof(dir), "%s/assets", fx->root);
	mkdir(dir, 0700);
	snprintf(dir, sizeof(dir), "%s/docs", fx->root);
	mkdir(dir, 0700);
	write_file(fx->root, "index.html", "<html>index</html>");
	write_file(fx->root, "assets/app.js", "console.log(1)");
	write_file(fx->root, "docs/index.html", "docs");
	write_file(fx->root, ".env", "SECRET=1");
	write_file(fx->base, "secret.txt", "top secret");
	/* A symlink inside the root that points outside it. */
	snprintf(link, sizeof(link), "%s/escape.txt", fx->root);
	snprintf(dir, sizeof(dir), "%s/secret.txt", fx->base);
	if (symlink(dir, link) != 0)
		return -1;
	*state = fx;
	return 0;
}

static int
static_teardown(void **state)
{
	fixture *fx = *state;
	char     cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->base);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

static gt_err
resolve(fixture *fx, const char *path, int flags, char *out)
{
	return gt__http_static_resolve(fx->root, path, "index.html", flags, out, PATH_MAX);
}

static void
test_gt_http_static_resolve_serves_files(void **state)
{
	fixture *fx = *state;
	char     out[PATH_MAX], want[PATH_MAX + 32];

	assert_int_equal(resolve(fx, "/assets/app.js", 0, out), GT_OK);
	snprintf(want, sizeof(want), "%s/assets/app.js", fx->root);
	assert_string_equal(out, want);
	assert_int_equal(resolve(fx, "/", 0, out), GT_OK);
	snprintf(want, sizeof(want), "%s/index.html", fx->root);
	assert_string_equal(out, want);
	/* A directory, with or without the trailing slash, gets its index. */
	snprintf(want, sizeof(want), "%s/docs/index.html", fx->root);
	assert_int_equal(resolve(fx, "/docs/", 0, out), GT_OK);
	assert_string_equal(out, want);
	assert_int_equal(resolve(fx, "/docs", 0, out), GT_OK);
	assert_string_equal(out, want);
	/* Encoded input is decoded when flagged. */
	assert_int_equal(resolve(fx, "/assets/%61pp.js", GT__HTTP_PATH_ENCODED, out), GT_OK);
	assert_int_equal(resolve(fx, "/missing.js", 0, out), GT_ENOENT);
	assert_int_equal(resolve(fx, "/assets/app.js/x", 0, out), GT_ENOENT);
	assert_int_equal(resolve(fx, "/assets", 0, out), GT_ENOENT); /* dir without an index */
}

static void
test_gt_http_static_resolve_refuses_traversal(void **state)
{
	fixture           *fx = *state;
	char               out[PATH_MAX];
	static const char *raw[] = {
	    "/../secret.txt",
	    "/assets/../../secret.txt",
	    "/assets/../index.html", /* even when it would stay inside */
	    "/./index.html",
	    "/..",
	    "//etc/passwd",
	    "/assets//app.js",
	    "/.env",
	    "/escape.txt", /* symlink out of the root: realpath + prefix check */
	    "/assets\\..\\..\\secret.txt",
	    "/a\x01.js",
	    "etc/passwd", /* not absolute */
	    "",
	};
	static const char *encoded[] = {
	    "/%2e%2e/secret.txt",
	    "/%2E%2E/secret.txt",
	    "/.%2e/secret.txt",
	    "/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
	    "/%2fetc%2fpasswd",
	    "/..%2fsecret.txt",
	    "/..%5csecret.txt",
	    "/index.html%00.js",
	    "/%zz",
	    "/%2e%65nv",
	};
	size_t i;

	for (i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		gt_err rv = resolve(fx, raw[i], 0, out);

		if (rv != GT_EINVAL)
			fail_msg("raw path '%s' was not refused (rv=%d)", raw[i], rv);
		rv = resolve(fx, raw[i], GT__HTTP_PATH_ENCODED, out);
		if (rv != GT_EINVAL)
			fail_msg("raw path '%s' (decoding) was not refused (rv=%d)", raw[i], rv);
	}
	for (i = 0; i < sizeof(encoded) / sizeof(encoded[0]); i++) {
		gt_err rv = resolve(fx, encoded[i], GT__HTTP_PATH_ENCODED, out);

		if (rv != GT_EINVAL)
			fail_msg("encoded path '%s' was not refused (rv=%d)", encoded[i], rv);
	}
	/* Double encoding, served by lws after one decode, is only a (missing) file name. */
	assert_int_equal(resolve(fx, "/%2e%2e/secret.txt", 0, out), GT_ENOENT);
	/* A root that is not absolute is refused. */
	assert_int_equal(
	    gt__http_static_resolve("www", "/index.html", "index.html", 0, out, sizeof(out)),
	    GT_EINVAL);
}

static void
test_gt_http_static_resolve_bounded_output(void **state)
{
	fixture *fx = *state;
	char     out[8];
	char     longpath[PATH_MAX + 64];

	assert_int_equal(
	    gt__http_static_resolve(fx->root, "/index.html", "index.html", 0, out, sizeof(out)),
	    GT_EFULL);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(resolve(fx, longpath, 0, out), GT_EINVAL);
}

static void
test_gt_http_content_type(void **state)
{
	(void)state;
	assert_string_equal(gt__http_content_type("/x/index.html"), "text/html; charset=utf-8");
	assert_string_equal(gt__http_content_type("a.js"), "text/javascript; charset=utf-8");
	assert_string_equal(gt__http_content_type("a.mjs"), "text/javascript; charset=utf-8");
	assert_string_equal(gt__http_content_type("a.css"), "text/css; charset=utf-8");
	assert_string_equal(gt__http_content_type("a.json"), "application/json");
	assert_string_equal(gt__http_content_type("a.svg"), "image/svg+xml");
	assert_string_equal(gt__http_content_type("a.PNG"), "image/png");
	assert_string_equal(gt__http_content_type("favicon.ico"), "image/x-icon");
	assert_string_equal(gt__http_content_type("f.woff2"), "font/woff2");
	assert_string_equal(gt__http_content_type("a.js.map"), "application/json");
	assert_string_equal(gt__http_content_type("a.txt"), "text/plain; charset=utf-8");
	assert_string_equal(gt__http_content_type("noext"), "application/octet-stream");
	assert_string_equal(gt__http_content_type("dir.d/noext"), "application/octet-stream");
}

static void
test_gt_http_path_has_ext_and_bearer(void **state)
{
	(void)state;
	assert_true(gt__http_path_has_ext("/a/b.js"));
	assert_false(gt__http_path_has_ext("/gpus/detail"));
	assert_false(gt__http_path_has_ext("/v1.2/detail"));
	assert_true(gt__http_bearer_ok("Bearer s3cret", "s3cret"));
	assert_true(gt__http_bearer_ok("bearer  s3cret ", "s3cret"));
	assert_false(gt__http_bearer_ok("Bearer s3cre", "s3cret"));
	assert_false(gt__http_bearer_ok("Bearer s3cretX", "s3cret"));
	assert_false(gt__http_bearer_ok("Basic s3cret", "s3cret"));
	assert_false(gt__http_bearer_ok(NULL, "s3cret"));
	assert_false(gt__http_bearer_ok("Bearer ", "s3cret"));
}

/* The front door's request head check: complete heads come back with their length, and every
 * prefix of one asks for more; what lws would mishandle gets its status. */
static void
test_gt_http_head_check(void **state)
{
	static const char ok[] = "GET /a?b=c HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\nBODY";
	static const struct {
		const char *head;
		int         status;
	} bad[] = {
	    {"CONNECT h:443 HTTP/1.1\r\n\r\n", 405},
	    {"BREW /pot HTTP/1.1\r\n\r\n", 405},
	    {"GET /x HTTP/1.1\r\nbad line\r\n\r\n", 400},
	    {"GET /x HTTP/1.1\r\n folded: x\r\n\r\n", 400},
	    {"GET /x HTTP/1.1\r\nBad Name: x\r\n\r\n", 400},
	    {"GET /a%00 HTTP/1.1\r\n\r\n", 400},
	    {"GET /a\x7f HTTP/1.1\r\n\r\n", 400},
	    {"GET /a\r\n\r\n", 400},
	    {"GET x HTTP/1.1\r\n\r\n", 400},
	    {"GET /x HTTP/3\r\n\r\n", 505},
	    {"GET /x FTP/1.0\r\n\r\n", 400},
	    {"G(T /x HTTP/1.1\r\n\r\n", 400},
	    {" GET /x HTTP/1.1\r\n\r\n", 400},
	};
	const char *msg = NULL;
	char        big[300];
	size_t      hlen = strstr(ok, "\r\n\r\n") + 4 - ok, i;
	int         st = 0;

	(void)state;
	for (i = 0; i < hlen; i++)
		assert_int_equal(gt__http_head_check(ok, i, 8192, &st, &msg), 0);
	assert_int_equal(gt__http_head_check(ok, hlen, 8192, &st, &msg), (int)hlen);
	assert_int_equal(gt__http_head_check(ok, sizeof(ok) - 1, 8192, &st, &msg), (int)hlen);
	assert_int_equal(gt__http_head_check("GET / HTTP/1.0\n\n", 16, 8192, &st, &msg), 16);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st = 0;
		if (gt__http_head_check(bad[i].head, strlen(bad[i].head), 8192, &st, &msg) != -1 ||
		    st != bad[i].status)
			fail_msg("case %zu: status %d, want %d", i, st, bad[i].status);
		assert_non_null(msg);
	}
	/* Limits: a request line or a head beyond max. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	assert_int_equal(gt__http_head_check(big, sizeof(big), 100, &st, &msg), -1);
	assert_int_equal(st, 414);
	memcpy(big, "GET / HTTP/1.1\r\nX-A: ", 21);
	assert_int_equal(gt__http_head_check(big, sizeof(big), 100, &st, &msg), -1);
	assert_int_equal(st, 431);
	assert_int_equal(gt__http_head_check(big, 60, 100, &st, &msg), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gt_http_pct_decode_basic),
	    cmocka_unit_test(test_gt_http_pct_decode_rejects_bad_input),
	    cmocka_unit_test(test_gt_http_query_parse_decodes),
	    cmocka_unit_test(test_gt_http_query_parse_first_value_wins_and_errors_roll_back),
	    cmocka_unit_test(test_gt_http_query_parse_is_bounded),
	    cmocka_unit_test(test_gt_http_pattern_check),
	    cmocka_unit_test(test_gt_http_route_match_literals),
	    cmocka_unit_test(test_gt_http_route_match_captures_params),
	    cmocka_unit_test(test_gt_http_route_match_multi_segment_capture),
	    cmocka_unit_test_setup_teardown(test_gt_http_static_resolve_serves_files, static_setup,
	                                    static_teardown),
	    cmocka_unit_test_setup_teardown(test_gt_http_static_resolve_refuses_traversal,
	                                    static_setup, static_teardown),
	    cmocka_unit_test_setup_teardown(test_gt_http_static_resolve_bounded_output,
	                                    static_setup, static_teardown),
	    cmocka_unit_test(test_gt_http_content_type),
	    cmocka_unit_test(test_gt_http_path_has_ext_and_bearer),
	    cmocka_unit_test(test_gt_http_head_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
