/* gtctl - the admin CLI of gpu-telemetry.
 *
 * main.c: global flags (anywhere on the line) and environment -> the verb's own flags from
 * its table row -> the verb's run function -> exit status (see ctl.h).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "gt/gt_log.h"
#include "gt/gt_time.h"

#define CTL_VERSION "0.1.0"

/* Defaults: the ports tools/run-pipeline uses. */
#define DFLT_GATEWAY "tcp://127.0.0.1:9097"
#define DFLT_MQ "tcp://127.0.0.1:9091"
#define DFLT_COLLECTOR "tcp://127.0.0.1:9093"
#define DFLT_PUB "tcp://127.0.0.1:9094"
#define DFLT_STREAMER "tcp://127.0.0.1:9096"

const ctl_optdef ctl_global_opts[] = {
    {"gateway-url", 1, "gateway RPC URL (env GT_GATEWAY_URL; default " DFLT_GATEWAY ")"},
    {"mq-url", 1, "broker RPC URL (env GT_MQ_URL; default " DFLT_MQ ")"},
    {"collector-url", 1, "collector RPC URL (env GT_COLLECTOR_URL; default " DFLT_COLLECTOR ")"},
    {"streamer-url", 1, "streamer RPC URL (env GT_STREAMER_URL; default " DFLT_STREAMER ")"},
    {"pub-url", 1, "collector live feed URL (env GT_PUB_URL; default " DFLT_PUB ")"},
    {"token", 1, "shared RPC token (env GT_TOKEN)"},
    {"output", 1, "-o table|json|csv (default table)"},
    {"timeout", 1, "per-call deadline, e.g. 500ms, 5s (env GT_TIMEOUT; default 5s)"},
    {"no-color", 0, "no ANSI colours"},
    {"help", 0, "-h: this help, or the command's"},
    {NULL, 0, NULL},
};

static const ctl_optdef o_none[] = {{NULL, 0, NULL}};
static const ctl_optdef o_gpus[] = {{"host", 1, "only this host"},
                                    {"stale", 0, "only GPUs not seen for --stale-after"},
                                    {"stale-after", 1, "age that makes a GPU stale (default 30s)"},
                                    {NULL, 0, NULL}};
static const ctl_optdef o_tele[] = {{"limit", 1, "records at most (default 20)"},
                                    {"since", 1, "from (RFC 3339, unix ns, or -DURATION: -5m)"},
                                    {"until", 1, "to (same forms)"},
                                    {"metric", 1, "only this metric (comma-separated list)"},
                                    {NULL, 0, NULL}};
static const ctl_optdef o_export[] = {{"since", 1, "from (RFC 3339, unix ns, or -DURATION)"},
                                      {"until", 1, "to (same forms)"},
                                      {"metric", 1, "only these metrics (comma-separated)"},
                                      {"page", 1, "records per call (default 1000)"},
                                      {NULL, 0, NULL}};
static const ctl_optdef o_tail[] = {{"metric", 1, "only these metrics (comma-separated)"},
                                    {"count", 1, "exit after N records"},
                                    {"duration", 1, "exit after this long"},
                                    {NULL, 0, NULL}};
static const ctl_optdef o_top[] = {{"once", 0, "print one snapshot and exit"},
                                   {"sort", 1, "gpu|host|temp|util|power|mem (default gpu)"},
                                   {"host", 1, "only hosts containing this"},
                                   {"namespace", 1, "only this namespace label"},
                                   {"interval", 1, "redraw period (default 1s)"},
                                   {NULL, 0, NULL}};
static const ctl_optdef o_doctor[] = {
    {"stale-after", 1, "data older than this is stale (30s)"},
    {"max-lag", 1, "consumer lag that is a problem (default 10000)"},
    {"dlq-window", 1, "watch the DLQ this long for growth (default 1s)"},
    {NULL, 0, NULL}};
static const ctl_optdef o_alerts[] = {
    {"history", 0, "the kept changes (oldest first) instead of the current alerts"},
    {"watch", 0, "one line per change as it happens, until Ctrl-C"},
    {"duration", 1, "--watch: exit after this long"},
    {"limit", 1, "changes at most with --history (default 1000)"},
    {NULL, 0, NULL}};
static const ctl_optdef o_mq[] = {
    {"yes", 0, "confirm a purge"},
    {"limit", 1, "letters to list/replay (list default 100, replay 0 = all)"},
    {NULL, 0, NULL}};
static const ctl_optdef o_publish[] = {{"format", 1, "auto|wide|dcgm|nvidia-smi (default auto)"},
                                       {"topic", 1, "topic (default gpu-telemetry)"},
                                       {"batch", 1, "records per Publish (1000)"},
                                       {"hostname", 1, "hostname for records without one"},
                                       {"columns", 1, "header for headerless nvidia-smi CSV"},
                                       {NULL, 0, NULL}};

const ctl_cmd ctl_cmds[] = {
    {"health", ctl_cmd_health, o_none, "", "every component: status, version, uptime, latency"},
    {"stats", ctl_cmd_stats, o_none, "[mq|collector|gateway|streamer]", "a service's /stats"},
    {"topics", ctl_cmd_topics, o_none, "", "broker topics"},
    {"groups", ctl_cmd_groups, o_none, "", "consumer groups: lag, pending, consumers"},
    {"gpus", ctl_cmd_gpus, o_gpus, "[--host H] [--stale]", "known GPUs and their latest values"},
    {"hosts", ctl_cmd_hosts, o_none, "", "hosts: GPUs, newest record"},
    {"telemetry", ctl_cmd_telemetry, o_tele, "GPU [--limit N] [--since T] [--until T] [--metric M]",
     "stored records of one GPU, newest first"},
    {"export", ctl_cmd_export, o_export, "GPU --since T [-o csv|json]",
     "every record of one GPU, oldest first, streamed"},
    {"tail", ctl_cmd_tail, o_tail, "[GPU...] [--metric M]", "live records as they are stored"},
    {"top", ctl_cmd_top, o_top, "[--once] [--sort K] [--host H] [--namespace N]",
     "live fleet table (q quits)"},
    {"doctor", ctl_cmd_doctor, o_doctor, "", "check the whole path, in words"},
    {"alerts", ctl_cmd_alerts, o_alerts, "[--history] [--watch [--duration D]]",
     "the gateway's alerts: current, history, or live changes"},
    {"mq", ctl_cmd_mq, o_mq, "dlq list|replay|purge TOPIC | purge TOPIC --yes",
     "dead letters and topic purge"},
    {"publish", ctl_cmd_publish, o_publish, "FILE [--format auto]",
     "one-shot CSV import through the streamer's parser"},
    {"completion", ctl_cmd_completion, o_none, "bash", "shell completion script"},
};
const size_t ctl_ncmds = sizeof(ctl_cmds) / sizeof(ctl_cmds[0]);

static void
print_opts(FILE *f, const ctl_optdef *o)
{
	for (; o && o->name; o++) {
		char left[64];

		snprintf(left, sizeof(left), "--%s%s", o->name, o->arg ? " V" : "");
		fprintf(f, "  %-20s %s\n", left, o->help);
	}
}

static void
usage(FILE *f, const ctl_cmd *cmd)
{
	if (cmd != NULL) {
		fprintf(f, "usage: gtctl %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->summary);
		if (cmd->opts && cmd->opts->name) {
			fprintf(f, "\noptions:\n");
			print_opts(f, cmd->opts);
		}
		fprintf(f, "\nglobal options:\n");
		print_opts(f, ctl_global_opts);
		return;
	}
	fprintf(f, "usage: gtctl [global options] COMMAND [args]\n\ncommands:\n");
	for (size_t i = 0; i < ctl_ncmds; i++)
		fprintf(f, "  %-11s %s\n", ctl_cmds[i].name, ctl_cmds[i].summary);
	fprintf(f, "\nglobal options:\n");
	print_opts(f, ctl_global_opts);
	fprintf(f, "\nexit status: 0 ok, 1 remote error, 2 usage, 3 unreachable, 4 unhealthy\n"
	           "`gtctl COMMAND --help` describes one command.\n");
}

int
ctl_usage_error(const ctl_ctx *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gtctl%s%s: ", c && c->cmd ? " " : "", c && c->cmd ? c->cmd->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CTL_EXIT_USAGE;
}

int
ctl_opt_u32(const ctl_ctx *c, const char *name, uint32_t dflt, uint32_t *out)
{
	const char        *v = ctl_opt(c, name);
	char              *end;
	unsigned long long x;

	*out = dflt;
	if (v == NULL)
		return CTL_EXIT_OK;
	if (*v < '0' || *v > '9' || (x = strtoull(v, &end, 10), *end != '\0') || x > UINT32_MAX)
		return ctl_usage_error(c, "--%s: a number from 0 to %u (got %s)", name, UINT32_MAX,
		                       v);
	*out = (uint32_t)x;
	return CTL_EXIT_OK;
}

int
ctl_opt_dur(const ctl_ctx *c, const char *name, int64_t dflt, int64_t *out)
{
	const char *v = ctl_opt(c, name);

	*out = dflt;
	if (v == NULL)
		return CTL_EXIT_OK;
	if (gt_duration_parse(v, out) != GT_OK || *out <= 0)
		return ctl_usage_error(c, "--%s: a duration such as 500ms, 5s or 1h (got %s)", name,
		                       v);
	return CTL_EXIT_OK;
}

int
ctl_opt_time(const ctl_ctx *c, const char *name, int64_t *out)
{
	const char *v = ctl_opt(c, name);
	int64_t     d;

	*out = 0;
	if (v == NULL)
		return CTL_EXIT_OK;
	if (v[0] == '-' && gt_duration_parse(v + 1, &d) == GT_OK && d > 0) {
		*out = gt_now_ns() - d;
		return CTL_EXIT_OK;
	}
	if (gt_time_parse(v, out) != GT_OK || *out <= 0)
		return ctl_usage_error(c,
		                       "--%s: RFC 3339 (2026-12-02T03:00:00Z), unix ns, or "
		                       "-DURATION such as -5m (got %s)",
		                       name, v);
	return CTL_EXIT_OK;
}

static const char *
env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

/* Global option? Sets it and returns 1 (2 when it consumed the next argv too), 0 when not a
 * global option, -1 on a usage error. */
static int
global_opt(ctl_ctx *c, const char *name, const char *val, int *want_help)
{
	int64_t ns;

	if (strcmp(name, "help") == 0) {
		*want_help = 1;
		return 1;
	}
	if (strcmp(name, "no-color") == 0) {
		c->color = 0;
		return 1;
	}
	if (val == NULL) {
		for (const ctl_optdef *o = ctl_global_opts; o->name; o++)
			if (o->arg && strcmp(o->name, name) == 0)
				return ctl_usage_error(c, "--%s needs a value", name), -1;
		return 0;
	}
	if (strcmp(name, "gateway-url") == 0)
		c->gateway_url = val;
	else if (strcmp(name, "mq-url") == 0)
		c->mq_url = val;
	else if (strcmp(name, "collector-url") == 0)
		c->collector_url = val;
	else if (strcmp(name, "streamer-url") == 0)
		c->streamer_url = val;
	else if (strcmp(name, "pub-url") == 0)
		c->pub_url = val;
	else if (strcmp(name, "token") == 0)
		c->token = val;
	else if (strcmp(name, "output") == 0) {
		if (strcmp(val, "table") == 0)
			c->fmt = CTL_OUT_TABLE;
		else if (strcmp(val, "json") == 0)
			c->fmt = CTL_OUT_JSON;
		else if (strcmp(val, "csv") == 0)
			c->fmt = CTL_OUT_CSV;
		else
			return ctl_usage_error(c, "-o: table, json or csv (got %s)", val), -1;
	} else if (strcmp(name, "timeout") == 0) {
		if (gt_duration_parse(val, &ns) != GT_OK || ns <= 0)
			return ctl_usage_error(
			           c, "--timeout: a duration such as 500ms or 5s (got %s)", val),
			       -1;
		c->timeout_ns = ns;
	} else
		return 0;
	return 1;
}

static int
is_global_with_arg(const char *name)
{
	for (const ctl_optdef *o = ctl_global_opts; o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o->arg;
	return 0;
}

static int
cmd_opt_index(const ctl_cmd *cmd, const char *name)
{
	for (int i = 0; cmd && cmd->opts && cmd->opts[i].name; i++)
		if (strcmp(cmd->opts[i].name, name) == 0)
			return i;
	return -1;
}

const char *
ctl_opt(const ctl_ctx *c, const char *name)
{
	int i = cmd_opt_index(c->cmd, name);

	return i >= 0 ? c->optv[i] : NULL;
}

static int
parse(ctl_ctx *c, int argc, char **argv, int *want_help)
{
	int only_args = 0;

	for (int i = 1; i < argc; i++) {
		char       *a = argv[i];
		char        name[64];
		const char *val = NULL;
		int         r, k;

		if (only_args || a[0] != '-' || a[1] == '\0') {
			if (c->cmd == NULL) {
				for (size_t j = 0; j < ctl_ncmds; j++)
					if (strcmp(ctl_cmds[j].name, a) == 0)
						c->cmd = &ctl_cmds[j];
				if (c->cmd == NULL)
					return ctl_usage_error(
					    c, "unknown command '%s' (gtctl --help)", a);
				continue;
			}
			if (c->argc >= CTL_MAX_ARGS)
				return ctl_usage_error(c, "too many arguments");
			c->argv[c->argc++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_args = 1;
			continue;
		}
		if (strcmp(a, "-h") == 0) {
			*want_help = 1;
			continue;
		}
		if (strcmp(a, "-o") == 0 || strncmp(a, "-o", 2) == 0) {
			snprintf(name, sizeof(name), "output");
			val = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
			if (val == NULL)
				return ctl_usage_error(c, "-o needs a value");
			if (global_opt(c, name, val, want_help) < 0)
				return CTL_EXIT_USAGE;
			continue;
		}
		if (a[1] != '-')
			return ctl_usage_error(c, "unknown option '%s'", a);
		{
			const char *eq = strchr(a + 2, '=');
			size_t      n = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);

			if (n >= sizeof(name))
				return ctl_usage_error(c, "unknown option '%s'", a);
			memcpy(name, a + 2, n);
			name[n] = '\0';
			if (eq)
				val = eq + 1;
		}
		k = cmd_opt_index(c->cmd, name);
		if (k >= 0) {
			if (c->cmd->opts[k].arg) {
				if (val == NULL && i + 1 < argc)
					val = argv[++i];
				if (val == NULL)
					return ctl_usage_error(c, "--%s needs a value", name);
			} else if (val != NULL)
				return ctl_usage_error(c, "--%s takes no value", name);
			c->optv[k] = val ? val : "1";
			continue;
		}
		if (val == NULL && is_global_with_arg(name) && i + 1 < argc)
			val = argv[++i];
		r = global_opt(c, name, val, want_help);
		if (r < 0)
			return CTL_EXIT_USAGE;
		if (r == 0)
			return ctl_usage_error(c, "unknown option '--%s' (gtctl %s%s--help)", name,
			                       c->cmd ? c->cmd->name : "", c->cmd ? " " : "");
	}
	return CTL_EXIT_OK;
}

int
main(int argc, char **argv)
{
	ctl_ctx c;
	int     want_help = 0, rc;
	int64_t ns;

	memset(&c, 0, sizeof(c));
	gt_log_open("gtctl", GT_LOG_OFF);
	c.gateway_url =
	    getenv("GT_GATEWAY_URL") && *getenv("GT_GATEWAY_URL") ? getenv("GT_GATEWAY_URL") : NULL;
	c.gateway_dflt = DFLT_GATEWAY;
	c.mq_url = env_or("GT_MQ_URL", DFLT_MQ);
	c.collector_url = env_or("GT_COLLECTOR_URL", DFLT_COLLECTOR);
	c.streamer_url = env_or("GT_STREAMER_URL", DFLT_STREAMER);
	c.pub_url = env_or("GT_PUB_URL", DFLT_PUB);
	c.token = env_or("GT_TOKEN", NULL);
	c.timeout_ns = 5 * GT_NS_PER_S;
	if (getenv("GT_TIMEOUT") && gt_duration_parse(getenv("GT_TIMEOUT"), &ns) == GT_OK && ns > 0)
		c.timeout_ns = ns;
	c.color = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("gtctl %s\n", CTL_VERSION);
		return 0;
	}
	if ((rc = parse(&c, argc, argv, &want_help)) != CTL_EXIT_OK)
		return rc;
	if (want_help) {
		usage(stdout, c.cmd);
		return 0;
	}
	if (c.cmd == NULL) {
		usage(stderr, NULL);
		return CTL_EXIT_USAGE;
	}
	rc = c.cmd->run(&c);
	ctl_rpc_close();
	fflush(stdout);
	return rc;
}
