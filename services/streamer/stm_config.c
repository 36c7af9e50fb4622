/* stm_config.c - the gt-streamer option table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_buf.h"
#include "gt/gt_cfg.h"
#include "gt/gt_time.h"
#include "stm_config.h"
#include "stm_reader.h"

static const char *const ts_choices[] = {"auto", "source", "now", NULL};
static const char *const dispatch_choices[] = {"round-robin", "key", NULL};
static const char *const level_choices[] = {"debug", "info", "warn", "error", "off", NULL};

#define HOUR (3600 * GT_NS_PER_S)

static const gt_cfg_opt stm_opts[] = {
	GT_CFG_STR("csv", stm_config, csv, "",
	    "CSV file to stream, - for standard input (this or --scrape is required)"),
	GT_CFG_DUR("linger", stm_config, linger, "20ms", 0, HOUR,
	    "stdin, --follow, --scrape: a partial batch is sent after this"),
	GT_CFG_BOOL("follow", stm_config, follow, "false",
	    "keep reading --csv as it grows, like tail -F (truncation and rotation too)"),
	GT_CFG_STR("state-file", stm_config, state_file, "",
	    "--follow: keep the read position here and resume from it after a restart"),
	GT_CFG_STR("scrape", stm_config, scrape, "",
	    "dcgm-exporter /metrics URL to scrape (repeatable, or comma-separated)"),
	GT_CFG_DUR("scrape-interval", stm_config, scrape_interval, "1s", GT_NS_PER_MS, HOUR,
	    "time between two scrapes of a target"),
	GT_CFG_DUR("scrape-timeout", stm_config, scrape_timeout, "5s", GT_NS_PER_MS, HOUR,
	    "deadline of one scrape (connect and transfer)"),
	GT_CFG_ENUM("format", stm_config, format, "auto", stm_format_names,
	    "input format; auto detects it from the header"),
	GT_CFG_STR("columns", stm_config, columns, "",
	    "header for nvidia-smi --format=csv,noheader input, e.g. \"index, temperature.gpu\""),
	GT_CFG_STR("hostname", stm_config, hostname, "",
	    "hostname for records without one (nvidia-smi); the GPU key becomes hostname/index"),
	GT_CFG_INT("workers", stm_config, workers, "4", 1, 64, "publisher threads"),
	GT_CFG_DBL("rate", stm_config, rate, "0", 0, 1e9, "messages/s per worker; 0 = unthrottled"),
	GT_CFG_INT("batch", stm_config, batch, "1000", 1, 10000, "records per Publish at most"),
	GT_CFG_DUR("duration", stm_config, duration, "0", 0, 100000 * HOUR,
	    "stop after this long; 0 = at the end of the file (forever with --loop)"),
	GT_CFG_BOOL("loop", stm_config, loop, "false", "start again at the end of the file"),
	GT_CFG_ENUM("timestamps", stm_config, timestamps, "auto", ts_choices,
	    "source keeps the file's timestamps, now stamps at publish time; auto = now with "
	    "--loop, source otherwise"),
	GT_CFG_ENUM("dispatch", stm_config, dispatch, "round-robin", dispatch_choices,
	    "rows go to workers round-robin, or by GPU key (keeps each GPU's records in order)"),
	GT_CFG_STR("mq-url", stm_config, mq_url, "tcp://localhost:9091", "gt-mq RPC URL"),
	GT_CFG_STR("topic", stm_config, topic, "gpu-telemetry", "topic to publish to"),
	GT_CFG_STR("token", stm_config, token, "",
	    "shared token: sent to the broker, and required by this streamer's RPC"),
	GT_CFG_STR("producer-id", stm_config, producer_id, "",
	    "producer id prefix (deduplication); empty = unique per process"),
	GT_CFG_DUR("rpc-timeout", stm_config, rpc_timeout, "5s", GT_NS_PER_MS, HOUR,
	    "deadline of one Publish attempt"),
	GT_CFG_DUR("drain-timeout", stm_config, drain_timeout, "10s", GT_NS_PER_MS, HOUR,
	    "on SIGINT/SIGTERM, wait this long for confirmations"),
	GT_CFG_INT("port", stm_config, http_port, "9095", -1, 65535,
	    "HTTP port for /health, /stats, /metrics; 0 = ephemeral, -1 = off"),
	GT_CFG_ALIAS("http-port", "port"),
	GT_CFG_STR("bind", stm_config, bind, "0.0.0.0", "HTTP bind address"),
	GT_CFG_STR("rpc-url", stm_config, rpc_url, "tcp://0.0.0.0:9096",
	    "nng URL of the Streamer RPC (Stats, Health) for gtctl; empty = off"),
	GT_CFG_ENUM("log-level", stm_config, log_level, "info", level_choices, "minimum log level"),
};

/* --scrape may be given more than once: every value is kept (comma-joined); the option table
 * keeps only the last one. Returns GT_ENOMEM or GT_OK. */
static gt_err
join_scrapes(stm_config *cfg, int argc, char **argv)
{
	gt_buf b;
	int    n = 0;

	gt_buf_init(&b);
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		if (strncmp(argv[i], "--scrape=", 9) == 0)
			v = argv[i] + 9;
		else if (strcmp(argv[i], "--scrape") == 0 && i + 1 < argc)
			v = argv[++i];
		if (v != NULL && *v) {
			if (n++)
				gt_buf_putc(&b, ',');
			gt_buf_puts(&b, v);
		}
	}
	if (n > 1) {
		char *j = strndup(b.data, b.len);
		if (j == NULL) {
			gt_buf_fini(&b);
			return GT_ENOMEM;
		}
		free(cfg->scrape);
		cfg->scrape = j;
	}
	gt_buf_fini(&b);
	return GT_OK;
}

static gt_err
config_check(stm_config *cfg, char *err, size_t errlen)
{
	int has_csv = cfg->csv != NULL && *cfg->csv != '\0';
	int has_scrape = cfg->scrape != NULL && *cfg->scrape != '\0';

	if (!has_csv && !has_scrape) {
		snprintf(err, errlen, "gt-streamer: --csv: required (the CSV file to stream)");
		return GT_EINVAL;
	}
	if (has_csv && has_scrape) {
		snprintf(err, errlen, "gt-streamer: --scrape: not together with --csv");
		return GT_EINVAL;
	}
	if (cfg->follow && (!has_csv || strcmp(cfg->csv, "-") == 0)) {
		snprintf(err, errlen, "gt-streamer: --follow: needs --csv FILE (not stdin)");
		return GT_EINVAL;
	}
	if (cfg->loop && (!has_csv || strcmp(cfg->csv, "-") == 0)) {
		snprintf(err, errlen, "gt-streamer: --loop: needs --csv FILE (not stdin or --scrape)");
		return GT_EINVAL;
	}
	if (cfg->follow && cfg->loop) {
		snprintf(err, errlen, "gt-streamer: --follow: not together with --loop");
		return GT_EINVAL;
	}
	if (cfg->state_file && *cfg->state_file && !cfg->follow) {
		snprintf(err, errlen, "gt-streamer: --state-file: only with --follow");
		return GT_EINVAL;
	}
	if (cfg->columns && *cfg->columns && cfg->format != 0 && cfg->format != 3) {
		snprintf(err, errlen, "gt-streamer: --columns: only for --format nvidia-smi");
		return GT_EINVAL;
	}
	return GT_OK;
}

gt_err
stm_config_load_ex(stm_config *cfg, int argc, char **argv, char **envp, char *err, size_t errlen)
{
	gt_err rv;

	memset(cfg, 0, sizeof(*cfg));
	rv = gt_cfg_load_ex(stm_opts, GT_NELEM(stm_opts), cfg, argc, argv, envp, "gt-streamer",
	    "stream GPU telemetry CSV (wide | DCGM export | nvidia-smi) to gt-mq", err, errlen);
	if (rv != GT_OK)
		return rv;
	if ((rv = join_scrapes(cfg, argc, argv)) != GT_OK ||
	    (rv = config_check(cfg, err, errlen)) != GT_OK)
		stm_config_free(cfg);
	return rv;
}

extern char **environ;

gt_err
stm_config_load(stm_config *cfg, int argc, char **argv)
{
	char   err[512] = "";
	gt_err rv;

	memset(cfg, 0, sizeof(*cfg));
	rv = gt_cfg_load(stm_opts, GT_NELEM(stm_opts), cfg, argc, argv, "gt-streamer",
	    "stream GPU telemetry CSV (wide | DCGM export | nvidia-smi) to gt-mq");
	if (rv != GT_OK)
		return rv;
	if ((rv = join_scrapes(cfg, argc, argv)) != GT_OK ||
	    (rv = config_check(cfg, err, sizeof(err))) != GT_OK) {
		fprintf(stderr, "%s\n", err);
		stm_config_free(cfg);
	}
	return rv;
}

void
stm_config_free(stm_config *cfg)
{
	gt_cfg_free(stm_opts, GT_NELEM(stm_opts), cfg);
}

char *
stm_config_json(const stm_config *cfg)
{
	return gt_cfg_json(stm_opts, GT_NELEM(stm_opts), cfg);
}

int
stm_config_stamp_now(const stm_config *cfg)
{
	if (cfg->timestamps == STM_TS_AUTO)
		return cfg->loop;
	return cfg->timestamps == STM_TS_NOW;
}
