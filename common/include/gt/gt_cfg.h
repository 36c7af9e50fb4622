/* gt_cfg.h - table-driven configuration.
 *
 * Each service describes its options in one table; sources apply in order
 * defaults -> --config FILE (JSON object, keys = option names) -> GT_* environment -> flags,
 * then every value is validated in one pass. A flag "--mq-url" has the env twin "GT_MQ_URL".
 *
 *   typedef struct { int64_t port; char *mq_url; int64_t ack_timeout; } my_cfg;
 *   static const gt_cfg_opt opts[] = {
 *     GT_CFG_INT("port", my_cfg, port, "9090", 0, 65535, "HTTP admin port"),
 *     GT_CFG_STR("mq-url", my_cfg, mq_url, "tcp://127.0.0.1:9091", "broker RPC URL"),
 *     GT_CFG_DUR("ack-timeout", my_cfg, ack_timeout, "5s", 1ms, 1h, "redeliver after"),
 *   };
 *   rv = gt_cfg_load(opts, GT_NELEM(opts), &cfg, argc, argv, "gt-mq", "GPU telemetry broker");
 *
 * Built in: --help (prints the table, returns GT_EDONE), --print-config (prints the effective
 * config as JSON, returns GT_EDONE), --config FILE. On a bad value gt_cfg_load prints
 * "gt-mq: --port: must be between 0 and 65535 (got 70000)" to stderr and returns GT_EINVAL
 * (exit status 2). Positional arguments are an error.
 */
#ifndef GT_CFG_H
#define GT_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"

#define GT_NELEM(a) (sizeof(a) / sizeof((a)[0]))

typedef enum gt_cfg_type {
	GT_CFG_T_STR,  /* char *, owned by the config (gt_cfg_free) */
	GT_CFG_T_INT,  /* int64_t, bounds [min, max] */
	GT_CFG_T_DUR,  /* int64_t ns, bounds [min, max] in ns */
	GT_CFG_T_BOOL, /* bool; "--flag" alone means true; true/false/1/0/yes/no/on/off */
	GT_CFG_T_ENUM, /* int: index into choices (NULL-terminated) */
	GT_CFG_T_DBL,  /* double, bounds [dmin, dmax] */
	GT_CFG_T_ALIAS, /* another name (flag, env twin, config key) of the option named in def */
	GT_CFG_T_LIST, /* char *, comma-separated; the flag may repeat (each adds one item) */
} gt_cfg_type;

typedef struct gt_cfg_opt {
	const char         *name; /* flag without "--" */
	gt_cfg_type         type;
	size_t              offset;
	const char         *def; /* default, as text; NULL = empty string / 0 */
	int64_t             min, max;
	double              dmin, dmax;
	const char *const  *choices;
	const char         *help;
} gt_cfg_opt;

#define GT_CFG_STR(n, T, f, d, h) {n, GT_CFG_T_STR, offsetof(T, f), d, 0, 0, 0, 0, NULL, h}
#define GT_CFG_INT(n, T, f, d, lo, hi, h) {n, GT_CFG_T_INT, offsetof(T, f), d, lo, hi, 0, 0, NULL, h}
#define GT_CFG_DUR(n, T, f, d, lo, hi, h) {n, GT_CFG_T_DUR, offsetof(T, f), d, lo, hi, 0, 0, NULL, h}
#define GT_CFG_BOOL(n, T, f, d, h) {n, GT_CFG_T_BOOL, offsetof(T, f), d, 0, 0, 0, 0, NULL, h}
#define GT_CFG_ENUM(n, T, f, d, ch, h) {n, GT_CFG_T_ENUM, offsetof(T, f), d, 0, 0, 0, 0, ch, h}
#define GT_CFG_DBL(n, T, f, d, lo, hi, h) {n, GT_CFG_T_DBL, offsetof(T, f), d, 0, 0, lo, hi, NULL, h}
/* An old name kept working: GT_CFG_ALIAS("api-port", "port") makes --api-port, GT_API_PORT and
 * the config key "api-port" set --port. Not shown by --print-config; --help lists it. */
#define GT_CFG_ALIAS(n, target) {n, GT_CFG_T_ALIAS, 0, target, 0, 0, 0, 0, NULL, NULL}
/* A repeatable option: "--url a --url b" (or "--url a,b", GT_URL=a,b, "url": ["a","b"] in
 * the file) stores "a,b". Flags replace the default/file/env value on their first occurrence
 * and append after that. Split it with gt_cfg_list_split. */
#define GT_CFG_LIST(n, T, f, d, h) {n, GT_CFG_T_LIST, offsetof(T, f), d, 0, 0, 0, 0, NULL, h}

/* gt_cfg_load sets every field named in the table. Returns GT_OK, GT_EDONE (--help or
 * --print-config handled: exit 0) or GT_EINVAL (message printed: exit 2). On error nothing
 * needs freeing; on GT_OK/GT_EDONE call gt_cfg_free. Main thread only. */
gt_err gt_cfg_load(const gt_cfg_opt *opts, size_t nopts, void *cfg, int argc, char **argv,
    const char *prog, const char *summary);

/* gt_cfg_load_ex is gt_cfg_load with an explicit environment (NULL-terminated "K=V" list)
 * and an error sink (tests). err may be NULL; errlen its size. */
gt_err gt_cfg_load_ex(const gt_cfg_opt *opts, size_t nopts, void *cfg, int argc, char **argv,
    char **envp, const char *prog, const char *summary, char *err, size_t errlen);

/* gt_cfg_free releases the strings gt_cfg_load stored in cfg. Accepts a zeroed cfg. */
void gt_cfg_free(const gt_cfg_opt *opts, size_t nopts, void *cfg);

/* gt_cfg_list_split splits a GT_CFG_LIST value on ',' (empty items are skipped, spaces
 * around items trimmed) into a malloc'd NULL-terminated array of malloc'd strings; *n is
 * the count. Free with gt_cfg_list_free. */
gt_err gt_cfg_list_split(const char *s, char ***out, size_t *n);
void   gt_cfg_list_free(char **v);

/* gt_cfg_env_name writes the env twin of a flag name: "mq-url" -> "GT_MQ_URL". */
void gt_cfg_env_name(const char *name, char *buf, size_t len);

/* gt_cfg_json writes the effective config as one JSON object into a malloc'd string. */
char *gt_cfg_json(const gt_cfg_opt *opts, size_t nopts, const void *cfg);

#endif
