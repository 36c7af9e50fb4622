/* ctl.h - gtctl, the admin CLI: what the command files share.
 *
 * main.c parses the global flags and the command's own flags (table-driven, ctl_cmd.opts) into
 * a ctl_ctx and calls the command's run function, which returns the process exit status:
 *   0 ok, 1 remote error (message printed), 2 usage, 3 unreachable, 4 unhealthy.
 * Everything is single-threaded except what stm_pipe (gtctl publish) runs itself.
 */
#ifndef CTL_H
#define CTL_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stdint.h>
#include <stdio.h>

#include "gt/gt_rpc.h"

enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_REMOTE = 1,
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_UNREACHABLE = 3,
	CTL_EXIT_UNHEALTHY = 4,
};

typedef enum ctl_fmt { CTL_OUT_TABLE = 0, CTL_OUT_JSON, CTL_OUT_CSV } ctl_fmt;

#define CTL_MAX_OPTS 16
#define CTL_MAX_ARGS 32

/* One command option: "limit" (--limit N) takes a value when arg is set, else it is a flag. */
typedef struct ctl_optdef {
	const char *name;
	int         arg;
	const char *help;
} ctl_optdef;

typedef struct ctl_ctx ctl_ctx;

typedef struct ctl_cmd {
	const char *name;
	int (*run)(ctl_ctx *c);
	const ctl_optdef *opts;  /* NULL-name terminated, or NULL */
	const char       *usage; /* "GPU [--limit N]" */
	const char       *summary;
} ctl_cmd;

struct ctl_ctx {
	const char    *gateway_url;  /* explicit --gateway-url / GT_GATEWAY_URL, else NULL */
	const char    *gateway_dflt; /* the gateway asked when no URL was given */
	const char    *mq_url;
	const char    *collector_url;
	const char    *streamer_url;
	const char    *pub_url; /* collector live feed (nng PUB) */
	const char    *token;
	int64_t        timeout_ns;
	ctl_fmt        fmt;
	int            color; /* ANSI colours in tables (a tty and no --no-color) */
	const ctl_cmd *cmd;
	const char    *optv[CTL_MAX_OPTS]; /* by index into cmd->opts; flags are "1" */
	int            argc;
	char          *argv[CTL_MAX_ARGS]; /* positionals after the verb */
};

/* The command's option value (NULL when absent). name must be in cmd->opts. */
const char *ctl_opt(const ctl_ctx *c, const char *name);
/* Parse helpers: print "gtctl <verb>: --name: ..." and return CTL_EXIT_USAGE on a bad value. */
int ctl_opt_u32(const ctl_ctx *c, const char *name, uint32_t dflt, uint32_t *out);
int ctl_opt_time(const ctl_ctx *c, const char *name, int64_t *out); /* RFC 3339, ns, or -DUR */
int ctl_opt_dur(const ctl_ctx *c, const char *name, int64_t dflt, int64_t *out);
/* Print "gtctl <verb>: <message>" to stderr and return CTL_EXIT_USAGE. */
int ctl_usage_error(const ctl_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- RPC (ctl_rpc.c) ---- */

/* The URL telemetry commands ask: the gateway when it accepts a connection, else the
 * collector (GT_COLLECTOR_URL) directly. */
const char *ctl_telemetry_url(ctl_ctx *c);
/* Call desc/method at url with in; on CTL_EXIT_OK *out is the output (free it with
 * protobuf_c_message_free_unpacked). Otherwise prints "gtctl: <what> <url>: <why>" (unless
 * quiet) and returns CTL_EXIT_UNREACHABLE (refused, no answer in time) or CTL_EXIT_REMOTE. The
 * reason is also left in why (may be NULL, GT_RPC_MSG_MAX bytes). Clients are cached per URL. */
int ctl_call(ctl_ctx *c, const char *url, const ProtobufCServiceDescriptor *desc,
             const char *method, const ProtobufCMessage *in, ProtobufCMessage **out, int quiet,
             char *why);
/* Close the cached clients (end of main). */
void ctl_rpc_close(void);

/* ---- output (ctl_out.c) ---- */

/* A column of a row set: key in each row object, title for tables. */
typedef struct ctl_col {
	const char *key;
	const char *title;
} ctl_col;

/* Print rows (a JSON array of objects) as an aligned table, CSV (keys as header) or a JSON
 * array. Numbers are right-aligned; reals print with one decimal in tables; null is "-". */
void ctl_out_rows(const ctl_ctx *c, const ctl_col *cols, size_t ncols, json_t *rows);
/* Same columns from a json array of the keys in cols (json_string) - for dynamic columns. */
void ctl_out_rows_dyn(const ctl_ctx *c, json_t *cols, json_t *rows);
/* One CSV field, quoted when needed. */
void ctl_csv_field(FILE *f, const char *s);
/* A cell's text ("-" for null; reals with prec decimals) into buf. */
const char *ctl_cell_text(json_t *v, char *buf, size_t len, int prec);
/* A double in the shortest form that reads back exactly ("550.314"). */
const char *ctl_real(double v, char *buf, size_t len);
/* ns since the epoch -> "2026-12-02T03:16:16.123Z". */
const char *ctl_ts(int64_t ns, char *buf, size_t len);
/* A duration in words: "3.2s", "5m", "2h" */
const char *ctl_age(int64_t ns, char *buf, size_t len);

/* ---- records (ctl_rec.c) ---- */

/* A TelemetryRecord as a row object {timestamp, gpu, host, <metric>: value, ...}. */
json_t *ctl_rec_row(const ProtobufCMessage *rec);
/* Canonical metric order for columns: the metrics present in rows, known names first. */
json_t *ctl_rec_columns(json_t *rows, int with_gpu);

/* ---- commands ---- */
int ctl_cmd_health(ctl_ctx *c);
int ctl_cmd_stats(ctl_ctx *c);
int ctl_cmd_topics(ctl_ctx *c);
int ctl_cmd_groups(ctl_ctx *c);
int ctl_cmd_gpus(ctl_ctx *c);
int ctl_cmd_hosts(ctl_ctx *c);
int ctl_cmd_telemetry(ctl_ctx *c);
int ctl_cmd_export(ctl_ctx *c);
int ctl_cmd_tail(ctl_ctx *c);
int ctl_cmd_top(ctl_ctx *c);
int ctl_cmd_doctor(ctl_ctx *c);
int ctl_cmd_alerts(ctl_ctx *c);
int ctl_cmd_mq(ctl_ctx *c);
int ctl_cmd_publish(ctl_ctx *c);
int ctl_cmd_completion(ctl_ctx *c);

/* The command table (main.c), for help and completion. */
extern const ctl_cmd    ctl_cmds[];
extern const size_t     ctl_ncmds;
extern const ctl_optdef ctl_global_opts[];

#endif
