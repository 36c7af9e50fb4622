/* stm_config.h - gt-streamer configuration (one gt_cfg table; every flag has a GT_* twin). */
#ifndef STM_CONFIG_H
#define STM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "gt/gt_err.h"

enum { STM_TS_AUTO = 0, STM_TS_SOURCE, STM_TS_NOW };
enum { STM_DISPATCH_RR = 0, STM_DISPATCH_KEY };

typedef struct stm_config {
	char   *csv;
	int     format;     /* stm_format */
	char   *columns;
	char   *hostname;
	int64_t workers;
	double  rate;
	int64_t batch;
	int64_t duration;   /* ns; 0 = until the end (or forever with --loop) */
	bool    loop;
	int     timestamps; /* STM_TS_* */
	int     dispatch;   /* STM_DISPATCH_* */
	char   *mq_url;
	char   *topic;
	char   *token;
	char   *producer_id;
	int64_t rpc_timeout;
	int64_t drain_timeout;
	int64_t http_port;  /* -1 = no HTTP server */
	char   *bind;
	char   *rpc_url;    /* "" = no RPC server */
	int     log_level;  /* gt_log_level */
	int64_t linger;     /* ns: a partial batch of a live source is sent after this */
	bool    follow;     /* --csv is a growing file (tail -F) */
	char   *state_file; /* --follow: where the read position is kept; "" = none */
	char   *scrape;     /* dcgm-exporter URLs, comma-separated (--scrape repeated) */
	int64_t scrape_interval;
	int64_t scrape_timeout;
} stm_config;

/* Loads defaults, --config file, GT_* env, flags. GT_OK, GT_EDONE (--help) or GT_EINVAL
 * (message printed; exit 2). On GT_OK/GT_EDONE call stm_config_free. */
gt_err stm_config_load(stm_config *cfg, int argc, char **argv);
/* The same with an explicit environment and error sink (tests). */
gt_err stm_config_load_ex(stm_config *cfg, int argc, char **argv, char **envp, char *err,
    size_t errlen);
void   stm_config_free(stm_config *cfg);
/* The effective config as a malloc'd JSON object (for /stats). */
char *stm_config_json(const stm_config *cfg);
/* Whether records are stamped at publish time (--timestamps now, or auto with --loop). */
int stm_config_stamp_now(const stm_config *cfg);

#endif
