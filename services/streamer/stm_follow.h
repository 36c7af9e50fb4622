/* stm_follow.h - the --follow source: a growing CSV file read like `tail -F`.
 *
 * The file is read to its end, then polled (every poll_ns, and woken for --linger): appended
 * rows are parsed as they come. A file that shrinks below the read position (truncated, e.g.
 * copytruncate) is read again from its start, header first; a file replaced under the same
 * name (rotated: renamed or deleted and created again) is read to its end, then the new file
 * is opened and read from its start, header first. A path that does not exist yet (or not
 * between a rotation and the new file) is waited for.
 *
 * State file (optional): "gt-streamer-follow 1 <dev> <inode> <offset>\n", the offset of the
 * first byte not yet confirmed; written (atomically: temp file + rename) whenever every
 * record queued so far has been confirmed by the broker, and at the end. On start, a state
 * that names the same file (device and inode) with an offset within its size resumes there
 * (the header is read from the file's start first); any other file is read from its start.
 * The offset never passes rows not yet turned into records (a partial line, an open DCGM
 * group: stm_reader_pending), so a clean stop and restart sends every row once; after a
 * crash, rows confirmed after the last saved state are sent again (never lost).
 */
#ifndef STM_FOLLOW_H
#define STM_FOLLOW_H

#include <stdint.h>

#include "gt/gt_buf.h"
#include "gt/gt_err.h"
#include "stm_pipe.h"
#include "stm_reader.h"

typedef struct stm_follow_cfg {
	const char *path;
	const char *state_file; /* NULL or "" = none */
	int64_t     poll_ns;    /* 0 = 50 ms */
	stm_pipe   *pipe;       /* to know what is confirmed (state file); may be NULL */
	int (*stopping)(void *arg); /* polled while waiting: nonzero = stop */
	void *stopping_arg;
	int64_t (*idle)(void *arg); /* called while waiting: max ns to wait (< 0: no limit) */
	void *idle_arg;
} stm_follow_cfg;

typedef struct stm_follow stm_follow;

gt_err stm_follow_new(stm_follow **out, const stm_follow_cfg *cfg);
void   stm_follow_free(stm_follow *f);

/* Follow until the reader's stopping callback fires (GT_ECANCELED), the emit callback stops
 * (its error), or the header of a (new) file is unknown (GT_EINVAL, stm_reader_error). The
 * idle callback is called while waiting. */
gt_err stm_follow_run(stm_follow *f, stm_reader *r);

/* Write the state file now if everything queued was confirmed (after stm_pipe_finish). */
void stm_follow_save(stm_follow *f, int confirmed);

/* The /stats "sources" object {"kind":"follow",...} (any thread). */
void stm_follow_json(stm_follow *f, gt_buf *b);

#endif
