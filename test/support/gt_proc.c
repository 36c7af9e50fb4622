/* gt_proc.c - spawn a service, collect its JSON log lines, stop it. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gt/gt_time.h"
#include "gt_proc.h"

extern char **environ;

struct gt_proc {
	pid_t           pid;
	int             out_fd;
	FILE           *copy;
	pthread_t       reader;
	pthread_mutex_t mtx;
	pthread_cond_t  cv;
	char          **lines;
	size_t          nlines, caplines;
	int             eof;
	int             exited;
	int             status;
	json_t         *ready;
};

static void
proc_add_line(gt_proc *p, const char *s, size_t n)
{
	char *l = strndup(s, n);

	if (l == NULL)
		return;
	pthread_mutex_lock(&p->mtx);
	if (p->nlines == p->caplines) {
		size_t cap = p->caplines ? p->caplines * 2 : 256;
		char **nl = realloc(p->lines, cap * sizeof(char *));
		if (nl == NULL) {
			pthread_mutex_unlock(&p->mtx);
			free(l);
			return;
		}
		p->lines = nl;
		p->caplines = cap;
	}
	p->lines[p->nlines++] = l;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mtx);
}

static void *
proc_reader(void *arg)
{
	gt_proc *p = arg;
	char     buf[65536];
	size_t   have = 0;

	for (;;) {
		ssize_t r = read(p->out_fd, buf + have, sizeof(buf) - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (p->copy != NULL) {
			fwrite(buf + have, 1, (size_t)r, p->copy);
			fflush(p->copy);
		}
		have += (size_t)r;
		char  *start = buf, *nl;
		while ((nl = memchr(start, '\n', have - (size_t)(start - buf))) != NULL) {
			proc_add_line(p, start, (size_t)(nl - start));
			start = nl + 1;
		}
		have -= (size_t)(start - buf);
		memmove(buf, start, have);
		if (have == sizeof(buf)) { /* over-long line: keep it whole as far as it goes */
			proc_add_line(p, buf, have);
			have = 0;
		}
	}
	if (have > 0)
		proc_add_line(p, buf, have);
	pthread_mutex_lock(&p->mtx);
	p->eof = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mtx);
	return NULL;
}

gt_err
gt_proc_start(gt_proc **out, const char *const *argv, const char *const *env)
{
	gt_proc    *p;
	int         pfd[2];
	char        path[1024], logpath[2200];
	const char *bindir = getenv("GT_BIN_DIR");
	const char *logdir = getenv("GT_TEST_LOGDIR");
	size_t      nenv = 0, next = 0;
	char      **envp;
	pid_t       parent;

	if (strchr(argv[0], '/') != NULL || bindir == NULL)
		snprintf(path, sizeof(path), "%s", argv[0]);
	else
		snprintf(path, sizeof(path), "%s/%s", bindir, argv[0]);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return GT_ENOMEM;
	pthread_mutex_init(&p->mtx, NULL);
	pthread_cond_init(&p->cv, NULL);
	while (environ[nenv] != NULL)
		nenv++;
	while (env != NULL && env[next] != NULL)
		next++;
	envp = calloc(nenv + next + 1, sizeof(char *));
	for (size_t i = 0; i < nenv; i++)
		envp[i] = environ[i];
	for (size_t i = 0; i < next; i++)
		envp[nenv + i] = (char *)env[i];
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		free(envp);
		free(p);
		return GT_EIO;
	}
	parent = getpid();
	p->pid = fork();
	if (p->pid == 0) {
		/* A test that aborts (failed assertion, crash) must not leave its services running:
		 * the child is killed when the test process goes away. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(pfd[1], 1);
		execve(path, (char *const *)argv, envp);
		fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	free(envp);
	close(pfd[1]);
	if (p->pid < 0) {
		close(pfd[0]);
		free(p);
		return GT_EIO;
	}
	p->out_fd = pfd[0];
	snprintf(logpath, sizeof(logpath), "%s/%s-%d.log", logdir ? logdir : "/tmp",
	    strrchr(path, '/') ? strrchr(path, '/') + 1 : path, (int)p->pid);
	p->copy = fopen(logpath, "w");
	pthread_create(&p->reader, NULL, proc_reader, p);
	*out = p;
	return GT_OK;
}

pid_t
gt_proc_pid(gt_proc *p)
{
	return p->pid;
}

static int
line_has_message(const char *line, const char *message)
{
	char pat[256];

	snprintf(pat, sizeof(pat), "\"message\":\"%s\"", message);
	return strstr(line, pat) != NULL;
}

static void
abs_deadline(struct timespec *ts, int64_t timeout_ns)
{
	clock_gettime(CLOCK_REALTIME, ts);
	int64_t ns = ts->tv_nsec + timeout_ns % GT_NS_PER_S;
	ts->tv_sec += (time_t)(timeout_ns / GT_NS_PER_S + ns / GT_NS_PER_S);
	ts->tv_nsec = (long)(ns % GT_NS_PER_S);
}

gt_err
gt_proc_wait_log(gt_proc *p, const char *message, int64_t timeout_ns, size_t *cursor, char **line)
{
	struct timespec ts;
	size_t          i = cursor ? *cursor : 0;
	gt_err          rv = GT_ETIMEDOUT;

	abs_deadline(&ts, timeout_ns);
	pthread_mutex_lock(&p->mtx);
	for (;;) {
		for (; i < p->nlines; i++) {
			if (line_has_message(p->lines[i], message)) {
				if (line)
					*line = strdup(p->lines[i]);
				if (cursor)
					*cursor = i + 1;
				rv = GT_OK;
				goto out;
			}
		}
		if (p->eof) {
			rv = GT_ECLOSED;
			break;
		}
		if (pthread_cond_timedwait(&p->cv, &p->mtx, &ts) != 0)
			break;
	}
out:
	pthread_mutex_unlock(&p->mtx);
	return rv;
}

size_t
gt_proc_count_log(gt_proc *p, const char *message)
{
	size_t n = 0;

	pthread_mutex_lock(&p->mtx);
	for (size_t i = 0; i < p->nlines; i++)
		n += line_has_message(p->lines[i], message);
	pthread_mutex_unlock(&p->mtx);
	return n;
}

gt_err
gt_proc_wait_ready(gt_proc *p, int64_t timeout_ns)
{
	char  *line = NULL;
	gt_err rv = gt_proc_wait_log(p, "service.ready", timeout_ns, NULL, &line);

	if (rv != GT_OK)
		return rv;
	json_decref(p->ready);
	p->ready = json_loads(line, 0, NULL);
	free(line);
	return p->ready ? GT_OK : GT_EPROTO;
}

int64_t
gt_proc_ready_int(gt_proc *p, const char *field)
{
	json_t *v = p->ready ? json_object_get(p->ready, field) : NULL;

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

char *
gt_proc_ready_str(gt_proc *p, const char *field)
{
	json_t *v = p->ready ? json_object_get(p->ready, field) : NULL;

	return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

int
gt_proc_wait_exit(gt_proc *p, int64_t timeout_ns)
{
	int64_t deadline = gt_mono_ns() + timeout_ns;
	int     st;

	if (p->exited)
		return p->status;
	while (gt_mono_ns() < deadline) {
		pid_t r = waitpid(p->pid, &st, WNOHANG);
		if (r == p->pid) {
			p->exited = 1;
			p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			/* Its last log lines may still be in the pipe: let the reader drain them, so
			 * counts taken after the exit are final (bounded: a grandchild could hold the
			 * pipe open). */
			pthread_mutex_lock(&p->mtx);
			while (!p->eof && gt_mono_ns() < deadline + 2 * GT_NS_PER_S) {
				struct timespec ts;

				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_nsec += 20 * 1000000L;
				if (ts.tv_nsec >= 1000000000L) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000L;
				}
				pthread_cond_timedwait(&p->cv, &p->mtx, &ts);
			}
			pthread_mutex_unlock(&p->mtx);
			return p->status;
		}
		gt_sleep_ns(5 * GT_NS_PER_MS);
	}
	return -1;
}

int
gt_proc_stop(gt_proc *p, int sig, int64_t timeout_ns)
{
	int rv;

	if (p->exited)
		return p->status;
	kill(p->pid, sig);
	rv = gt_proc_wait_exit(p, timeout_ns);
	if (rv < 0) {
		kill(p->pid, SIGKILL);
		gt_proc_wait_exit(p, 5 * GT_NS_PER_S);
		return -1;
	}
	return rv;
}

void
gt_proc_free(gt_proc *p)
{
	if (p == NULL)
		return;
	if (!p->exited) {
		kill(p->pid, SIGKILL);
		gt_proc_wait_exit(p, 5 * GT_NS_PER_S);
	}
	pthread_join(p->reader, NULL);
	close(p->out_fd);
	if (p->copy)
		fclose(p->copy);
	for (size_t i = 0; i < p->nlines; i++)
		free(p->lines[i]);
	free(p->lines);
	json_decref(p->ready);
	pthread_mutex_destroy(&p->mtx);
	pthread_cond_destroy(&p->cv);
	free(p);
}
