/* stm_scrape.h - the --scrape source: dcgm-exporter's /metrics (Prometheus text exposition)
 * fetched with libcurl every interval, one TelemetryRecord per GPU per scrape.
 *
 * Mapping: every DCGM_FI_* sample belongs to the GPU named by its labels (UUID, else
 * Hostname/gpu, else gpu); the labels gpu, UUID, device, modelName and Hostname become the
 * record's identity fields, any other label (pci_bus_id, DCGM_FI_DRIVER_VERSION, container,
 * pod, namespace, ...) is kept as a record label (its first value per GPU). The field name
 * becomes the canonical metric when gt_gpu_metrics knows it, else it is kept as it is.
 * Samples of other metric families are ignored (counted). Every value goes through the
 * reader's sentinel filter (dropped and counted per metric). Records carry the scrape time
 * (or the samples' own timestamp when the exposition has one).
 *
 * A target that cannot be reached, answers with an HTTP error or serves nothing usable is
 * retried with exponential backoff (100 ms doubling, at most max(interval, 5 s)) and reported
 * as failing in the stats (degraded), never fatal. Malformed exposition lines are counted as
 * bad input and skipped.
 *
 * Threads: stm_scrape_run runs on the reader thread (it emits records through the reader's
 * emit callback); stm_scrape_json and stm_scrape_degraded may be called from any thread.
 */
#ifndef STM_SCRAPE_H
#define STM_SCRAPE_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_buf.h"
#include "gt/gt_err.h"
#include "stm_pipe.h"
#include "stm_reader.h"

typedef struct stm_scrape_cfg {
	const char *urls;        /* comma-separated */
	int64_t     interval_ns; /* between two scrapes of a target */
	int64_t     timeout_ns;  /* one scrape */
	size_t      max_body;    /* bytes; 0 = 64 MiB */
	stm_reader_cfg reader;   /* template for each target's record builder (quiet, stopping) */
	stm_emit_fn emit;
	void       *emit_arg;
	stm_pipe   *pipe;        /* partial batches are flushed after every scrape; may be NULL */
} stm_scrape_cfg;

typedef struct stm_scrape stm_scrape;

gt_err stm_scrape_new(stm_scrape **out, const stm_scrape_cfg *cfg);
void   stm_scrape_free(stm_scrape *s);

/* Scrape every target on its schedule until cfg.reader.stopping says stop (GT_ECANCELED) or
 * the emit callback refuses a record (its error). */
gt_err stm_scrape_run(stm_scrape *s);

/* One scrape of target i now (tests, benchmarks): GT_OK, or why it failed. */
gt_err stm_scrape_once(stm_scrape *s, size_t i);

/* Parse an exposition body as if target i had served it (benchmarks, fuzzing): records are
 * emitted, statistics updated. */
gt_err stm_scrape_body(stm_scrape *s, size_t i, const char *body, size_t len, int64_t now_ns);

/* Append the per-target objects of the /stats "sources" array: {"kind":"scrape","url":...}
 * separated by commas (*first: no comma before the first one; cleared). */
void stm_scrape_json(stm_scrape *s, gt_buf *b, int *first);
/* Number of targets whose last scrape failed. */
int  stm_scrape_degraded(stm_scrape *s);
size_t stm_scrape_targets(stm_scrape *s);

#endif
