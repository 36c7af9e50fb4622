/* gt_signal.c - SIGINT/SIGTERM set a flag; waiters poll a self-pipe. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "gt/gt_signal.h"
#include "gt/gt_time.h"

static volatile sig_atomic_t sig_stop;
static int                   sig_pipe[2] = {-1, -1};

static void
signal_handler(int sig)
{
	int saved = errno;

	(void)sig;
	sig_stop = 1;
	if (sig_pipe[1] >= 0) {
		ssize_t r = write(sig_pipe[1], "x", 1);
		(void)r;
	}
	errno = saved;
}

gt_err
gt_signal_install(void)
{
	struct sigaction sa;

	if (sig_pipe[0] < 0) {
		if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
			return gt_err_from_errno(errno);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = signal_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return GT_OK;
}

int
gt_signal_stopping(void)
{
	return sig_stop != 0;
}

void
gt_signal_raise(void)
{
	signal_handler(0);
}

int
gt_signal_wait(int64_t timeout_ns)
{
	int64_t deadline = timeout_ns < 0 ? -1 : gt_mono_ns() + timeout_ns;

	while (!sig_stop) {
		struct pollfd pfd = {.fd = sig_pipe[0], .events = POLLIN};
		int           ms = -1;

		if (deadline >= 0) {
			int64_t left = deadline - gt_mono_ns();
			if (left <= 0)
				break;
			ms = (int)((left + GT_NS_PER_MS - 1) / GT_NS_PER_MS);
		}
		if (sig_pipe[0] < 0) {
			gt_sleep_ns(ms < 0 ? 100 * GT_NS_PER_MS : (int64_t)ms * GT_NS_PER_MS);
			continue;
		}
		/* Leave the byte in the pipe so every waiter wakes. */
		if (poll(&pfd, 1, ms) < 0 && errno != EINTR)
			break;
	}
	return sig_stop != 0;
}
