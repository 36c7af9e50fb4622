/* gt_signal.h - graceful shutdown. The handler only sets a flag and wakes a pipe/eventfd. */
#ifndef GT_SIGNAL_H
#define GT_SIGNAL_H

#include <stdint.h>

#include "gt/gt_err.h"

/* Install SIGINT/SIGTERM handlers (and ignore SIGPIPE). Call once from main. */
gt_err gt_signal_install(void);
/* Nonzero once SIGINT or SIGTERM arrived (or gt_signal_raise was called). */
int gt_signal_stopping(void);
/* Block until a stop signal arrives or timeout_ns passes (<0 = forever); returns
 * gt_signal_stopping(). Any thread. */
int gt_signal_wait(int64_t timeout_ns);
/* Ask the process to stop as if signalled (tests, fatal errors). */
void gt_signal_raise(void);

#endif
