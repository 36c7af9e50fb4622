/* gt_log.h - structured logs: one JSON object per line on stdout, one write() each.
 *
 *   GT_LOGI("group.redeliver", GT_KV_STR("group", g), GT_KV_INT("count", n));
 * prints
 *   {"timestamp":"2026-11-26T22:49:11.123Z","level":"info","service":"mq",
 *    "message":"group.redeliver","group":"g1","count":3}
 *
 * The level is checked before any argument is formatted. Safe from any thread;
 * never call from a signal handler.
 */
#ifndef GT_LOG_H
#define GT_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"

typedef enum gt_log_level {
	GT_LOG_DEBUG = 0,
	GT_LOG_INFO,
	GT_LOG_WARN,
	GT_LOG_ERROR,
	GT_LOG_OFF,
} gt_log_level;

typedef enum gt_kv_type {
	GT_KV_T_NONE = 0,
	GT_KV_T_STR,
	GT_KV_T_INT,
	GT_KV_T_UINT,
	GT_KV_T_DBL,
	GT_KV_T_BOOL,
} gt_kv_type;

typedef struct gt_kv {
	const char *key;
	gt_kv_type  type;
	union {
		const char *s;
		int64_t     i;
		uint64_t    u;
		double      d;
		int         b;
	} v;
} gt_kv;

#define GT_KV_STR(k, x) ((gt_kv){.key = (k), .type = GT_KV_T_STR, .v.s = (x)})
#define GT_KV_INT(k, x) ((gt_kv){.key = (k), .type = GT_KV_T_INT, .v.i = (int64_t)(x)})
#define GT_KV_UINT(k, x) ((gt_kv){.key = (k), .type = GT_KV_T_UINT, .v.u = (uint64_t)(x)})
#define GT_KV_DBL(k, x) ((gt_kv){.key = (k), .type = GT_KV_T_DBL, .v.d = (double)(x)})
#define GT_KV_BOOL(k, x) ((gt_kv){.key = (k), .type = GT_KV_T_BOOL, .v.b = !!(x)})
#define GT_KV_ERR(x) GT_KV_STR("error", gt_strerror(x))

/* gt_log_open sets the service name (copied) and the minimum level. */
void gt_log_open(const char *service, gt_log_level level);
void gt_log_close(void);
void gt_log_set_level(gt_log_level level);
int  gt_log_enabled(gt_log_level level);

/* gt_log_level_parse: "debug"|"info"|"warn"|"error"|"off" -> level. */
gt_err gt_log_level_parse(const char *s, gt_log_level *out);

/* gt_log_set_fd redirects output (tests); default is 1 (stdout). */
void gt_log_set_fd(int fd);

void gt_log_write(gt_log_level level, const char *message, const gt_kv *kv, size_t nkv);

/* The leading empty gt_kv lets the field list be empty. */
#define GT_LOG(lvl, msg, ...)                                                                      \
	do {                                                                                       \
		if (gt_log_enabled(lvl)) {                                                         \
			const gt_kv gt_kv_args_[] = {{0}, __VA_ARGS__};                            \
			gt_log_write((lvl), (msg), gt_kv_args_ + 1,                                \
			    sizeof(gt_kv_args_) / sizeof(gt_kv_args_[0]) - 1);                     \
		}                                                                                  \
	} while (0)

#define GT_LOGD(msg, ...) GT_LOG(GT_LOG_DEBUG, msg, __VA_ARGS__)
#define GT_LOGI(msg, ...) GT_LOG(GT_LOG_INFO, msg, __VA_ARGS__)
#define GT_LOGW(msg, ...) GT_LOG(GT_LOG_WARN, msg, __VA_ARGS__)
#define GT_LOGE(msg, ...) GT_LOG(GT_LOG_ERROR, msg, __VA_ARGS__)

#endif
