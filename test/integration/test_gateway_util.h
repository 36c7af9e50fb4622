/* test_gateway_util.h - gt-gateway integration tests: real gt-mq, gt-collector(s) and
 * gt-gateway on ephemeral loopback ports (built on test_collector_util). */
#ifndef TEST_GATEWAY_UTIL_H
#define TEST_GATEWAY_UTIL_H

#include "test_collector_util.h"

#define TG_MAX_COL 4

typedef struct tg_env {
	tc_svc mq;
	tc_svc col[TG_MAX_COL];
	char  *col_pub[TG_MAX_COL];
	char  *dir[TG_MAX_COL];
	size_t ncol;
	tc_svc gw;
} tg_env;

/* mq + ncol collectors (one consumer group) + gateway with extra flags (NULL-terminated). */
void tg_start(tg_env *e, size_t ncol, const char *const *gw_extra);
/* The gateway alone (again) over e's mq and collectors. */
void tg_gw_start(tg_env *e, const char *const *gw_extra);
/* SIGTERM everything (expect exit 0) and remove the data dirs. */
void tg_stop(tg_env *e);
/* Publish n records over ngpus GPUs (tc_publish) and wait until the collectors stored them
 * all (sum of total_processed). */
void tg_publish(tg_env *e, uint64_t first, size_t n, unsigned ngpus, int64_t ts0, int slash);
/* GET on the gateway with extra request headers ("Name: v\r\n", may be NULL). */
int tg_get(tg_env *e, const char *path, const char *headers, json_t **json, char **raw,
    size_t *len);
/* Wait until the gateway's /health has every component checked and the wanted status of
 * component name ("collector-1") ("ok" or "down"). */
void tg_wait_component(tg_env *e, const char *name, const char *status);

#endif
