/* test_gtctl_util.c - see test_gtctl_util.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gt/gt_time.h"
#include "gt_test.h"
#include "test_gtctl_util.h"

extern char **environ;

static char closed_url[64];

const char *
tg_closed_url(void)
{
	if (closed_url[0] == '\0')
		snprintf(closed_url, sizeof(closed_url), "tcp://127.0.0.1:%d", gt_test_free_port());
	return closed_url;
}

static char *
gtctl_path(void)
{
	static char path[1024];
	const char *bin = getenv("GT_BIN_DIR");

	snprintf(path, sizeof(path), "%s/gtctl", bin ? bin : ".");
	return path;
}

void
tg_start(tg_env *e, int with_streamer)
{
	memset(e, 0, sizeof(*e));
	e->dir = gt_test_tmpdir("gtctl");
	tc_mq_start(&e->mq, NULL);
	tc_col_start(&e->col, &e->mq, e->dir, "c1", NULL);
	e->pub_url = gt_proc_ready_str(e->col.proc, "pub_url");
	assert_non_null(e->pub_url);
	if (with_streamer) {
		char       *csv = gt_test_fixture("csv/wide_basic.csv");
		char        csvflag[1200], mqflag[300];
		const char *argv[] = {"gt-streamer", csvflag, mqflag, "--loop",
		    "--rate=5", "--workers=1", "--http-port=0", "--bind=127.0.0.1",
		    "--rpc-url=tcp://127.0.0.1:0", NULL};

		snprintf(csvflag, sizeof(csvflag), "--csv=%s", csv);
		snprintf(mqflag, sizeof(mqflag), "--mq-url=%s", e->mq.rpc_url);
		free(csv);
		assert_int_equal(gt_proc_start(&e->stm, argv, NULL), GT_OK);
		assert_int_equal(gt_proc_wait_ready(e->stm, 20 * GT_NS_PER_S), GT_OK);
		e->stm_url = gt_proc_ready_str(e->stm, "rpc_url");
		assert_non_null(e->stm_url);
	}
	setenv("GT_MQ_URL", e->mq.rpc_url, 1);
	setenv("GT_COLLECTOR_URL", e->col.rpc_url, 1);
	setenv("GT_PUB_URL", e->pub_url, 1);
	setenv("GT_STREAMER_URL", e->stm_url ? e->stm_url : tg_closed_url(), 1);
	setenv("GT_GATEWAY_URL", tg_closed_url(), 1);
	setenv("GT_TIMEOUT", "3s", 1);
	unsetenv("GT_TOKEN");
	{
		/* the collector says "degraded" until its first Fetch reached the broker */
		const char *args[] = {"health", "collector", NULL};
		int64_t     deadline = gt_mono_ns() + 20 * GT_NS_PER_S;
		int         rc;

		while ((rc = tg_run(args, NULL, NULL, NULL)) != 0 && gt_mono_ns() < deadline)
			gt_sleep_ns(50 * GT_NS_PER_MS);
		assert_int_equal(rc, 0);
	}
}

void
tg_stop(tg_env *e)
{
	if (e->stm) {
		assert_int_equal(gt_proc_stop(e->stm, 15, 20 * GT_NS_PER_S), 0);
		gt_proc_free(e->stm);
	}
	tc_stop(&e->col);
	tc_stop(&e->mq);
	gt_test_rmrf(e->dir);
	free(e->dir);
	free(e->pub_url);
	free(e->stm_url);
	memset(e, 0, sizeof(*e));
}

static void
append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t nc = (*cap ? *cap * 2 : 4096);

		while (nc < *len + n + 1)
			nc *= 2;
		*buf = realloc(*buf, nc);
		assert_non_null(*buf);
		*cap = nc;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static int
status_of(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int
tg_run(const char *const *args, const char *const *env, char **out, char **err)
{
	posix_spawn_file_actions_t fa;
	const char                *argv[64];
	char                      *envp[256];
	int                        po[2], pe[2], st = 0, n = 0, ne = 0;
	pid_t                      pid;
	char                      *b[2] = {NULL, NULL};
	size_t                     len[2] = {0, 0}, cap[2] = {0, 0};
	int64_t                    deadline = gt_mono_ns() + 60 * GT_NS_PER_S;
	int                        open_fds = 2;

	argv[n++] = "gtctl";
	while (args && *args && n < 63)
		argv[n++] = *args++;
	argv[n] = NULL;
	for (char **e = environ; *e && ne < 200; e++) {
		int overridden = 0;

		for (const char *const *x = env; x && *x; x++) {
			const char *eq = strchr(*x, '=');

			if (eq && strncmp(*e, *x, (size_t)(eq - *x + 1)) == 0)
				overridden = 1;
		}
		if (!overridden)
			envp[ne++] = *e;
	}
	while (env && *env && ne < 254)
		envp[ne++] = (char *)*env++;
	envp[ne] = NULL;
	assert_int_equal(pipe(po), 0);
	assert_int_equal(pipe(pe), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	posix_spawn_file_actions_addclose(&fa, po[0]);
	posix_spawn_file_actions_addclose(&fa, pe[0]);
	assert_int_equal(posix_spawn(&pid, gtctl_path(), &fa, NULL, (char *const *)argv, envp), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	append(&b[0], &len[0], &cap[0], "", 0);
	append(&b[1], &len[1], &cap[1], "", 0);
	{
		struct pollfd pf[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};

		while (open_fds > 0 && gt_mono_ns() < deadline) {
			if (poll(pf, 2, 200) <= 0)
				continue;
			for (int i = 0; i < 2; i++) {
				char    tmp[4096];
				ssize_t r;

				if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				r = read(pf[i].fd, tmp, sizeof(tmp));
				if (r > 0)
					append(&b[i], &len[i], &cap[i], tmp, (size_t)r);
				else {
					close(pf[i].fd);
					pf[i].fd = -1;
					open_fds--;
				}
			}
		}
		for (int i = 0; i < 2; i++)
			if (pf[i].fd >= 0)
				close(pf[i].fd);
	}
	if (open_fds > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		st = -1;
	} else {
		assert_int_equal(waitpid(pid, &st, 0), pid);
		st = status_of(st);
	}
	if (out)
		*out = b[0];
	else
		free(b[0]);
	if (err)
		*err = b[1];
	else
		free(b[1]);
	return st;
}

int
tg_run_json(const char *const *args, json_t **doc, char **err)
{
	char        *out = NULL, *e = NULL;
	json_error_t jerr;
	int          rc = tg_run(args, NULL, &out, &e);

	if (rc != 0)
		fprintf(stderr, "gtctl %s ... exit %d: stdout %s\nstderr %s\n", args[0], rc, out, e);
	if (err)
		*err = e;
	else
		free(e);

	*doc = json_loads(out, 0, &jerr);
	if (*doc == NULL)
		fprintf(stderr, "not JSON (%s): %s\n", jerr.text, out);
	assert_non_null(*doc);
	free(out);
	return rc;
}

void
tg_pty_start(tg_pty *p, const char *const *args)
{
	const char    *argv[64];
	int            n = 0;
	struct winsize ws = {.ws_row = 40, .ws_col = 160};

	memset(p, 0, sizeof(*p));
	argv[n++] = "gtctl";
	while (args && *args && n < 63)
		argv[n++] = *args++;
	argv[n] = NULL;
	p->pid = forkpty(&p->master, NULL, NULL, &ws);
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		execv(gtctl_path(), (char *const *)argv);
		_exit(127);
	}
	fcntl(p->master, F_SETFL, fcntl(p->master, F_GETFL) | O_NONBLOCK);
	append(&p->buf, &p->len, &p->cap, "", 0);
}

static void
pty_read(tg_pty *p, int timeout_ms)
{
	struct pollfd pf = {p->master, POLLIN, 0};
	char          tmp[4096];
	ssize_t       r;

	if (poll(&pf, 1, timeout_ms) <= 0)
		return;
	while ((r = read(p->master, tmp, sizeof(tmp))) > 0)
		append(&p->buf, &p->len, &p->cap, tmp, (size_t)r);
}

int
tg_pty_expect(tg_pty *p, const char *needle, size_t from, int64_t timeout_ns)
{
	int64_t deadline = gt_mono_ns() + timeout_ns;

	for (;;) {
		if (from <= p->len && strstr(p->buf + from, needle) != NULL)
			return 1;
		if (gt_mono_ns() >= deadline)
			return 0;
		pty_read(p, 100);
	}
}

void
tg_pty_write(tg_pty *p, const char *s)
{
	assert_int_equal(write(p->master, s, strlen(s)), (ssize_t)strlen(s));
}

int
tg_pty_wait(tg_pty *p, int64_t timeout_ns)
{
	int64_t deadline = gt_mono_ns() + timeout_ns;
	int     st;

	while (gt_mono_ns() < deadline) {
		pid_t r = waitpid(p->pid, &st, WNOHANG);

		if (r == p->pid) {
			pty_read(p, 0);
			p->pid = 0;
			return status_of(st);
		}
		pty_read(p, 50);
	}
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &st, 0);
	p->pid = 0;
	return -1;
}

void
tg_pty_free(tg_pty *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
	}
	if (p->master > 0)
		close(p->master);
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

size_t
tg_lines(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++)
		if (*s == '\n')
			n++;
	return n;
}
