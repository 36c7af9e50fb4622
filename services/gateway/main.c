/* gt-gateway: config -> init -> run -> shutdown. */
#include <malloc.h>

#include "gt/gt_log.h"
#include "gt/gt_signal.h"
#include "gw.h"

int
main(int argc, char **argv)
{
	gw_config cfg;
	gw       *g = NULL;
	gt_err    rv;

	if ((rv = gw_config_load(&cfg, argc, argv)) != GT_OK) {
		if (rv == GT_EDONE)
			gw_config_free(&cfg);
		return gt_exit_code(rv);
	}
	gt_log_open("gateway", (gt_log_level)cfg.log_level);
	/* Answers of hundreds of KB are built and copied per request: keep them on the heap
	 * instead of fresh mmap()s, whose page faults cost more than the copying itself. */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	gt_signal_install();
	if ((rv = gw_new(&g, &cfg)) == GT_OK && (rv = gw_start(g)) == GT_OK)
		rv = gw_run(g);
	gw_free(g);
	GT_LOGI("service.exit", GT_KV_STR("status", gt_strerror(rv)));
	gt_log_close();
	gw_config_free(&cfg);
	return gt_exit_code(rv);
}
