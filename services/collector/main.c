/* gt-collector: config -> init -> run -> shutdown. */
#include <malloc.h>

#include "col_server.h"
#include "gt/gt_log.h"
#include "gt/gt_signal.h"

int
main(int argc, char **argv)
{
	col_config  cfg;
	col_server *srv = NULL;
	gt_err      rv;

	if ((rv = col_config_load(&cfg, argc, argv)) != GT_OK) {
		if (rv == GT_EDONE)
			col_config_free(&cfg);
		return gt_exit_code(rv);
	}
	gt_log_open("collector", (gt_log_level)cfg.log_level);
	/* Ingest allocates and frees at a high rate: Fetch responses of up to 4 MiB, line
	 * buffers, records. glibc would hand large blocks back to the kernel (mmap/munmap, heap
	 * trimming) only to fault the same amount in again for the next batch; keep them. */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	gt_signal_install();
	if ((rv = col_server_new(&srv, &cfg)) == GT_OK && (rv = col_server_start(srv)) == GT_OK)
		rv = col_server_run(srv);
	col_server_free(srv);
	GT_LOGI("service.exit", GT_KV_STR("status", gt_strerror(rv)));
	gt_log_close();
	col_config_free(&cfg);
	return gt_exit_code(rv);
}
