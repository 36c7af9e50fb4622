/* test_gt_http_static.c - gt_http's static files (gt_http_static.c) for real: content types,
 * the SPA fallback, bodies larger than one write chunk, and every way out of the root we
 * could think of (dot segments raw and encoded, encoded slashes, absolute URIs, symlinks,
 * dotfiles). The resolver itself is unit tested in test_gt_http_route.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "gt/gt_http.h"
#include "gt/gt_log.h"
#include "gt_http_test_util.h"

#define GT__HTTP_TEST_CHUNK 65536

static struct {
	gt_http *h;
	int      port;
	ht_tree  tree;
} g;

/* A body larger than one write chunk, from a handler (the same bytes as big.txt). */
static void
h_big(gt_http_req *r, void *arg)
{
	char *b = ht_big_payload();

	(void)arg;
	gt_http_reply(r, 200, "text/plain", b, HT_BIG_LEN);
	free(b);
}

static const ht_route routes[] = {
    {"GET", "/big", h_big, NULL, GT_HTTP_WORKER},
    {"GET", "/health", ht_hello, NULL, 0},
};

/* Links and files that must not be served, next to ones that must. */
static int
tree_extras(const ht_tree *t)
{
	char path[2 * PATH_MAX], target[2 * PATH_MAX];

	ht_write_file(t->root, ".env", "hidden=1");
	ht_write_file(t->root, "blob.bin", "\x01\x02");
	snprintf(target, sizeof(target), "%s/secret.txt", t->base);
	snprintf(path, sizeof(path), "%s/leak.txt", t->root);
	if (symlink(target, path) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/leakdir", t->root);
	if (symlink(t->base, path) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/alias.json", t->root);
	return symlink("data.json", path);
}

static int
group_setup(void **state)
{
	gt_http_cfg cfg = {0};

	(void)state;
	if (ht_tree_make(&g.tree) != 0 || tree_extras(&g.tree) != 0)
		return -1;
	cfg.service = "test";
	cfg.bind = "127.0.0.1";
	cfg.static_root = g.tree.root;
	if (ht_server_start(&g.h, &cfg, routes, sizeof(routes) / sizeof(routes[0]), NULL, NULL) !=
	    GT_OK)
		return -1;
	g.port = gt_http_port(g.h);
	return g.port > 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	gt_http_free(g.h);
	ht_tree_remove(&g.tree);
	return 0;
}

/* ================================================================ tests */

static void
test_gt_http_static_files(void **state)
{
	ht_resp r;
	int     fd;

	(void)state;
	assert_int_equal(ht_get(g.port, "/assets/app.js", &r), 200);
	assert_string_equal(r.body, "console.log('app');");
	assert_string_equal(ht_head_value(r.headers, "content-type"),
	                    "text/javascript; charset=utf-8");
	ht_resp_free(&r);
	assert_int_equal(ht_get(g.port, "/assets/style.css", &r), 200);
	assert_string_equal(ht_head_value(r.headers, "content-type"), "text/css; charset=utf-8");
	ht_resp_free(&r);
	assert_int_equal(ht_get(g.port, "/data.json", &r), 200);
	assert_string_equal(ht_head_value(r.headers, "content-type"), "application/json");
	ht_resp_free(&r);
	assert_int_equal(ht_get(g.port, "/logo.svg", &r), 200);
	assert_string_equal(ht_head_value(r.headers, "content-type"), "image/svg+xml");
	ht_resp_free(&r);
	assert_int_equal(ht_get(g.port, "/", &r), 200);
	assert_string_equal(r.body, "<!doctype html><title>dash</title>");
	assert_string_equal(ht_head_value(r.headers, "content-type"), "text/html; charset=utf-8");
	ht_resp_free(&r);
	/* SPA fallback: a browser route without a dot gets the index... */
	assert_int_equal(ht_req(g.port, "GET", "/gpus/host-a/detail",
	                        "Accept: text/html,application/xhtml+xml\r\n", NULL, &r),
	                 200);
	assert_string_equal(r.body, "<!doctype html><title>dash</title>");
	ht_resp_free(&r);
	/* ...a missing file with an extension does not. */
	assert_int_equal(
	    ht_req(g.port, "GET", "/assets/missing.js", "Accept: text/html\r\n", NULL, &r), 404);
	ht_resp_free(&r);

	/* Bodies larger than one write chunk, from a file and from a handler, on one connection. */
	{
		char *want = ht_big_payload();

		fd = ht_connect(g.port);
		assert_true(fd >= 0);
		assert_int_equal(ht_send_str(fd, "GET /big.txt HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
		assert_int_equal(ht_read_response(fd, &r, 0), 0);
		assert_int_equal(r.status, 200);
		assert_int_equal(r.body_len, HT_BIG_LEN);
		assert_memory_equal(r.body, want, HT_BIG_LEN);
		ht_resp_free(&r);
		assert_int_equal(ht_send_str(fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
		assert_int_equal(ht_read_response(fd, &r, 0), 0);
		assert_int_equal(r.status, 200);
		assert_int_equal(r.body_len, HT_BIG_LEN);
		assert_memory_equal(r.body, want, HT_BIG_LEN);
		ht_resp_free(&r);
		close(fd);
		free(want);
	}

	/* HEAD then GET on one connection: the HEAD answer carries no body. */
	fd = ht_connect(g.port);
	assert_true(fd >= 0);
	assert_int_equal(ht_send_str(fd, "HEAD /data.json HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	assert_int_equal(ht_read_response(fd, &r, 1), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(ht_head_value(r.headers, "content-length"), "7");
	ht_resp_free(&r);
	assert_int_equal(ht_send_str(fd, "GET /data.json HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	assert_int_equal(ht_read_response(fd, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"a\":1}");
	ht_resp_free(&r);
	close(fd);
}

static void
test_gt_http_traversal_refused(void **state)
{
	static const char *paths[] = {
	    "/../secret.txt",
	    "/assets/../../secret.txt",
	    "/%2e%2e/secret.txt",
	    "/%2E%2E/%2e%2e/secret.txt",
	    "/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
	    "/..%2f..%2fsecret.txt",
	    "/%252e%252e/secret.txt",
	    "//etc/passwd",
	    "/etc/passwd",
	    "/%2fetc%2fpasswd",
	    "/..\\..\\secret.txt",
	    "/.%2e/.%2e/secret.txt",
	    "http://127.0.0.1/../secret.txt",
	};
	static const char nul[] = "GET /assets/app.js%00.html HTTP/1.1\r\nHost: x\r\n\r\n";
	size_t            i;
	ht_resp           r;
	int               st;

	(void)state;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char req[512];
		int  n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i]);

		st = ht_raw(g.port, req, (size_t)n, &r);
		if (st < 400 || st >= 500)
			fail_msg("'%s' answered %d", paths[i], st);
		if (r.body != NULL && (strstr(r.body, "top secret") || strstr(r.body, "root:")))
			fail_msg("'%s' leaked a file", paths[i]);
		ht_resp_free(&r);
	}
	/* An encoded NUL: lws's URI parser hangs up before any callback (no status line). */
	st = ht_raw(g.port, nul, sizeof(nul) - 1, &r);
	assert_true(st == -1 || (st >= 400 && st < 500));
	ht_resp_free(&r);
}

/* A symlink or a dotfile inside the root must not lead out of it; a symlink that stays inside
 * is fine (so is one that leaves and comes back: /leakdir/www/data.json is the root's own
 * data.json, and only where a file really is counts). */
static void
test_gt_http_static_symlinks_and_dotfiles(void **state)
{
	static const char *refused[] = {"/leak.txt", "/leakdir/secret.txt", "/.env",
	                                "/assets/../.env", "/%2eenv"};
	size_t             i;
	ht_resp            r;
	int                st;

	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		st = ht_get(g.port, refused[i], &r);
		if (st < 400 || st >= 500)
			fail_msg("'%s' answered %d", refused[i], st);
		if (r.body != NULL && (strstr(r.body, "top secret") || strstr(r.body, "hidden")))
			fail_msg("'%s' leaked a file", refused[i]);
		ht_resp_free(&r);
	}
	assert_int_equal(ht_get(g.port, "/alias.json", &r), 200);
	assert_string_equal(r.body, "{\"a\":1}");
	assert_string_equal(ht_head_value(r.headers, "content-type"), "application/json");
	ht_resp_free(&r);
}

/* The index is the fallback only for browser navigations (Accept: text/html); other methods
 * than GET/HEAD never reach the files; unknown extensions are octet-streams; a directory
 * without an index is not listed. */
static void
test_gt_http_static_fallback_methods_types(void **state)
{
	ht_resp r;

	(void)state;
	assert_int_equal(ht_get(g.port, "/gpus/host-a/detail", &r), 404);
	ht_assert_error_body(&r, 404, NULL);
	ht_resp_free(&r);
	assert_int_equal(
	    ht_req(g.port, "GET", "/gpus/host-a/detail", "Accept: application/json\r\n", NULL, &r),
	    404);
	ht_resp_free(&r);
	assert_int_equal(ht_req(g.port, "HEAD", "/", NULL, NULL, &r), 200);
	assert_int_equal(strtol(ht_head_value(r.headers, "content-length"), NULL, 10),
	                 strlen(HT_INDEX_HTML));
	assert_int_equal(r.body_len, 0);
	ht_resp_free(&r);
	assert_int_equal(ht_req(g.port, "POST", "/data.json", NULL, "{}", &r), 404);
	ht_assert_error_body(&r, 404, NULL);
	ht_resp_free(&r);
	assert_int_equal(ht_req(g.port, "DELETE", "/data.json", NULL, NULL, &r), 404);
	ht_resp_free(&r);
	assert_int_equal(ht_get(g.port, "/data.json", &r), 200); /* untouched */
	assert_string_equal(r.body, "{\"a\":1}");
	ht_resp_free(&r);
	assert_int_equal(ht_get(g.port, "/blob.bin", &r), 200);
	assert_string_equal(ht_head_value(r.headers, "content-type"), "application/octet-stream");
	assert_int_equal(r.body_len, 2);
	ht_resp_free(&r);
	assert_int_equal(ht_get(g.port, "/assets/", &r), 404);
	ht_resp_free(&r);
	assert_int_equal(ht_get(g.port, "/assets", &r), 404);
	ht_resp_free(&r);
}

#define HUGE_LEN ((size_t)16 << 20)

static uint64_t
fnv1a(uint64_t hsh, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		hsh = (hsh ^ p[i]) * 0x100000001b3ULL;
	return hsh;
}

/* A 16 MiB file served to a client that stops reading after the first chunk: /health is
 * answered meanwhile (the file's chunks are read off the lws thread and a stalled reader
 * holds nothing), then the whole file arrives intact (checksum). */
static void
test_gt_http_static_large_file_intact_and_health(void **state)
{
	static const char req[] = "GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n";
	char              path[2 * PATH_MAX];
	unsigned char    *data = malloc(HUGE_LEN), *buf = malloc(GT__HTTP_TEST_CHUNK);
	uint64_t          want = 0xcbf29ce484222325ULL, got = 0xcbf29ce484222325ULL,
	         x = 88172645463325252ULL;
	size_t  i, left;
	char   *head;
	ht_resp r;
	FILE   *f;
	int     fd, k;

	(void)state;
	assert_non_null(data);
	assert_non_null(buf);
	for (i = 0; i < HUGE_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		data[i] = (unsigned char)x;
	}
	want = fnv1a(want, data, HUGE_LEN);
	snprintf(path, sizeof(path), "%s/huge.bin", g.tree.root);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(data, 1, HUGE_LEN, f), HUGE_LEN);
	fclose(f);
	free(data);

	fd = ht_connect_opt(g.port, 16384);
	assert_true(fd >= 0);
	assert_int_equal(ht_send_all(fd, req, sizeof(req) - 1), 0);
	assert_non_null(head = ht_read_head(fd));
	assert_int_equal(strtoull(ht_head_value(head, "content-length"), NULL, 10), HUGE_LEN);
	free(head);
	assert_int_equal(ht_recv_exact(fd, buf, 4096), 0);
	got = fnv1a(got, buf, 4096);
	for (k = 0; k < 5; k++) {
		assert_int_equal(ht_get(g.port, "/health", &r), 200);
		ht_resp_free(&r);
	}
	for (left = HUGE_LEN - 4096; left > 0;) {
		size_t n = left > GT__HTTP_TEST_CHUNK ? GT__HTTP_TEST_CHUNK : left;

		assert_int_equal(ht_recv_exact(fd, buf, n), 0);
		got = fnv1a(got, buf, n);
		left -= n;
	}
	assert_true(got == want);
	/* The connection is reusable afterwards. */
	assert_int_equal(ht_send_str(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	assert_int_equal(ht_read_response(fd, &r, 0), 0);
	assert_int_equal(r.status, 200);
	ht_resp_free(&r);
	close(fd);
	/* HEAD: the length, no body. */
	assert_int_equal(ht_req(g.port, "HEAD", "/huge.bin", NULL, NULL, &r), 200);
	assert_int_equal(strtoull(ht_head_value(r.headers, "content-length"), NULL, 10), HUGE_LEN);
	ht_resp_free(&r);
	free(buf);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gt_http_static_files),
	    cmocka_unit_test(test_gt_http_traversal_refused),
	    cmocka_unit_test(test_gt_http_static_symlinks_and_dotfiles),
	    cmocka_unit_test(test_gt_http_static_fallback_methods_types),
	    cmocka_unit_test(test_gt_http_static_large_file_intact_and_health),
	};

	gt_log_open("test", getenv("GT_TEST_LOG_DEBUG") ? GT_LOG_DEBUG : GT_LOG_ERROR);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
