/* gt_proc.h - run a real service binary for an integration test.
 *
 * The child's stdout (JSON log lines) is read by a thread, kept in memory for
 * gt_proc_wait_log(), and copied to <GT_TEST_LOGDIR or /tmp>/<name>-<pid>.log for debugging.
 * Services log "service.ready" with their bound ports:
 *   {"message":"service.ready","http_port":41234,"rpc_url":"tcp://127.0.0.1:40111",...}
 * A child is SIGKILLed when the thread that started it exits (PR_SET_PDEATHSIG), so a test
 * that aborts never leaves services behind: start children from a thread that outlives them.
 */
#ifndef GT_PROC_H
#define GT_PROC_H

#include <stdint.h>
#include <sys/types.h>

#include "gt/gt_err.h"

typedef struct gt_proc gt_proc;

/* argv[0] is a binary in $GT_BIN_DIR (or a path containing '/'); argv is NULL-terminated.
 * env: extra "K=V" strings, NULL-terminated, or NULL. */
gt_err gt_proc_start(gt_proc **out, const char *const *argv, const char *const *env);

/* Wait until a log line with "message": message appears after the *cursor-th line
 * (cursor may be NULL = from the start; it is advanced past the match). On GT_OK *line is a
 * malloc'd copy of the line (may pass NULL). GT_ETIMEDOUT after timeout_ns; GT_ECLOSED if the
 * process exited first. */
gt_err gt_proc_wait_log(gt_proc *p, const char *message, int64_t timeout_ns, size_t *cursor, char **line);

/* Count log lines with "message": message so far. */
size_t gt_proc_count_log(gt_proc *p, const char *message);

/* Wait for "service.ready" and return its integer/string fields (malloc'd string). */
gt_err gt_proc_wait_ready(gt_proc *p, int64_t timeout_ns);
int64_t gt_proc_ready_int(gt_proc *p, const char *field);   /* -1 if absent */
char   *gt_proc_ready_str(gt_proc *p, const char *field);   /* NULL if absent; free() */

/* Send sig and wait up to timeout_ns for exit. Returns the exit status (0-255), 128+signal
 * when killed by a signal, or -1 on timeout (the child is then SIGKILLed and reaped). */
int gt_proc_stop(gt_proc *p, int sig, int64_t timeout_ns);
/* Wait for exit without signalling (a process expected to finish by itself). */
int gt_proc_wait_exit(gt_proc *p, int64_t timeout_ns);

pid_t gt_proc_pid(gt_proc *p);
/* Frees; SIGKILLs the child if still running. Accepts NULL. */
void gt_proc_free(gt_proc *p);

#endif
