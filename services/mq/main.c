/* main.c - gt-mq: config -> init -> run -> shutdown. */
#include <malloc.h>

#include "gt/gt_log.h"
#include "gt/gt_signal.h"
#include "mq_server.h"

int
main(int argc, char **argv)
{
	mq_config  cfg;
	mq_server *srv = NULL;
	gt_err     rv;

	if ((rv = mq_config_load(&cfg, argc, argv)) != GT_OK) {
		if (rv == GT_EDONE)
			mq_config_free(&cfg);
		return gt_exit_code(rv);
	}
	gt_log_open("mq", (gt_log_level)cfg.log_level);
	/* Fetch replies and large Publish requests are nng messages of up to a few MiB, allocated
	 * and freed at RPC rate. glibc would map each of them fresh, or hand the top of the heap
	 * back and grow it again: a page fault per 4 KiB every time, which under a hypervisor
	 * that shadows page tables cost as much as the copies. Keep such memory for reuse (the
	 * partition logs map their own chunks and still return them). */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	gt_signal_install();
	if ((rv = mq_server_new(&srv, &cfg)) == GT_OK)
		rv = mq_server_run(srv);
	else
		GT_LOGE("service.init_failed", GT_KV_ERR(rv));
	mq_server_free(srv);
	GT_LOGI("service.exit", GT_KV_STR("status", gt_strerror(rv)));
	gt_log_close();
	mq_config_free(&cfg);
	return gt_exit_code(rv);
}
