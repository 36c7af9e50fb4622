/* test_gtctl_util.h - run the real gtctl binary as a child (pipes or a pseudo-terminal)
 * against real gt-mq / gt-collector / gt-streamer processes (test_collector_util.h). */
#ifndef TEST_GTCTL_UTIL_H
#define TEST_GTCTL_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "test_collector_util.h"

/* A pipeline for the gtctl tests: broker, collector (with its live feed) and a streamer
 * publishing a fixture in a loop (timestamps stamped now: a live feed that never stops). */
typedef struct tg_env {
	tc_svc mq, col;
	gt_proc *stm;
	char    *dir;
	char    *pub_url; /* collector live feed */
	char    *stm_url; /* streamer RPC */
} tg_env;

/* Start everything and export GT_MQ_URL, GT_COLLECTOR_URL, GT_PUB_URL, GT_STREAMER_URL and
 * GT_GATEWAY_URL (a closed port) for the gtctl children. with_streamer = 0: no streamer
 * (GT_STREAMER_URL then points at a closed port). */
void tg_start(tg_env *e, int with_streamer);
void tg_stop(tg_env *e);

/* A URL on 127.0.0.1 that nothing listens on. */
const char *tg_closed_url(void);

/* Run gtctl with args (NULL-terminated, without argv[0]); extra env "K=V" (NULL-terminated
 * or NULL). Captures stdout/stderr (malloc'd, NUL-terminated; may pass NULL). Returns the
 * exit status (128 + signal when killed; -1 when it ran over 60 s). */
int tg_run(const char *const *args, const char *const *env, char **out, char **err);
/* tg_run + parse stdout as JSON (asserts it parses). */
int tg_run_json(const char *const *args, json_t **doc, char **err);

/* gtctl under a pseudo-terminal (forkpty): start, read, write, wait. */
typedef struct tg_pty {
	pid_t  pid;
	int    master;
	char  *buf; /* everything read so far, NUL-terminated */
	size_t len, cap;
} tg_pty;

void tg_pty_start(tg_pty *p, const char *const *args);
/* Read until needle appears in the output after offset from (or timeout): 1 found, 0 not. */
int  tg_pty_expect(tg_pty *p, const char *needle, size_t from, int64_t timeout_ns);
void tg_pty_write(tg_pty *p, const char *s);
/* Wait for exit (reading meanwhile); the exit status, 128 + signal, or -1 (then killed). */
int  tg_pty_wait(tg_pty *p, int64_t timeout_ns);
void tg_pty_free(tg_pty *p);

/* Count lines of s. */
size_t tg_lines(const char *s);

#endif
