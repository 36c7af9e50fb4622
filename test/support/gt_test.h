/* gt_test.h - small helpers shared by the tests. */
#ifndef GT_TEST_H
#define GT_TEST_H

#include <stddef.h>
#include <stdint.h>

/* mkdtemp under $TMPDIR or /tmp; returns a malloc'd path. Abort on failure. */
char *gt_test_tmpdir(const char *tag);
/* Removes a test directory tree (kept when GT_TEST_KEEP is set and not "0"). */
void gt_test_rmrf(const char *path);
/* A fixture path: $GT_FIXTURES/name (malloc'd). */
char *gt_test_fixture(const char *name);
/* Read a whole file (malloc'd, NUL-terminated) or NULL. */
char *gt_test_read_file(const char *path, size_t *len);
/* HTTP/1.1 request to 127.0.0.1:port over a plain socket (no client library under test).
 * Returns the status code (or -1), the body in *body (malloc'd, may pass NULL).
 * extra_headers: "Name: value\r\n..." or NULL. */
int gt_test_http(int port, const char *method, const char *path, const char *extra_headers,
    const void *req_body, size_t req_len, char **body, size_t *body_len);
/* A free TCP port on 127.0.0.1 (bound then released; for flags that need a number). */
int gt_test_free_port(void);

#endif
