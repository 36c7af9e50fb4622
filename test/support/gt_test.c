/* gt_test.c - shared test helpers. */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "gt/gt_buf.h"
#include "gt_test.h"

char *
gt_test_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char        path[512];

	snprintf(path, sizeof(path), "%s/gt-%s-XXXXXX", base ? base : "/tmp", tag);
	if (mkdtemp(path) == NULL) {
		perror("mkdtemp");
		abort();
	}
	return strdup(path);
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* GT_TEST_KEEP=1 keeps every test directory (to look at a failed run's files). */
void
gt_test_rmrf(const char *path)
{
	const char *keep = getenv("GT_TEST_KEEP");

	if (keep != NULL && *keep && strcmp(keep, "0") != 0) {
		if (path != NULL)
			fprintf(stderr, "GT_TEST_KEEP: kept %s\n", path);
		return;
	}
	if (path != NULL)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *
gt_test_fixture(const char *name)
{
	const char *dir = getenv("GT_FIXTURES");
	char        path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "test/fixtures", name);
	return strdup(path);
}

char *
gt_test_read_file(const char *path, size_t *len)
{
	FILE  *f = fopen(path, "rb");
	gt_buf b;
	char   tmp[65536];
	size_t n;

	if (f == NULL)
		return NULL;
	gt_buf_init(&b);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		gt_buf_append(&b, tmp, n);
	fclose(f);
	return gt_buf_take(&b, len);
}

int
gt_test_free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t          sl = sizeof(sa);
	int                fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

int
gt_test_http(int port, const char *method, const char *path, const char *extra_headers,
    const void *req_body, size_t req_len, char **body, size_t *body_len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval     tv = {10, 0};
	gt_buf             req, resp;
	char               tmp[65536];
	int                fd, status = -1;
	ssize_t            r;
	char              *hdr_end;

	if (body)
		*body = NULL;
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	gt_buf_init(&req);
	gt_buf_init(&resp);
	gt_buf_printf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n%s",
	    method, path, port, extra_headers ? extra_headers : "");
	if (req_body != NULL)
		gt_buf_printf(&req, "Content-Length: %zu\r\n", req_len);
	gt_buf_puts(&req, "\r\n");
	if (req_body != NULL)
		gt_buf_append(&req, req_body, req_len);
	if (write(fd, req.data, req.len) != (ssize_t)req.len)
		goto out;
	while ((r = read(fd, tmp, sizeof(tmp))) > 0)
		gt_buf_append(&resp, tmp, (size_t)r);
	if (resp.len < 12 || sscanf(resp.data, "HTTP/1.%*d %d", &status) != 1)
		goto out;
	if ((hdr_end = strstr(resp.data, "\r\n\r\n")) != NULL && body != NULL) {
		size_t off = (size_t)(hdr_end + 4 - resp.data);
		const char *te = strcasestr(resp.data, "transfer-encoding: chunked");
		gt_buf out;
		gt_buf_init(&out);
		if (te != NULL && te < hdr_end) {
			const char *p = resp.data + off;
			for (;;) {
				char *end;
				unsigned long n = strtoul(p, &end, 16);
				if (end == p || n == 0)
					break;
				p = strstr(end, "\r\n");
				if (p == NULL)
					break;
				p += 2;
				gt_buf_append(&out, p, n);
				p += n + 2;
			}
		} else {
			gt_buf_append(&out, resp.data + off, resp.len - off);
		}
		*body = gt_buf_take(&out, body_len);
	}
out:
	close(fd);
	gt_buf_fini(&req);
	gt_buf_fini(&resp);
	return status;
}
