/* bench-stm-scrape: dcgm-exporter exposition samples/s on ONE thread: parsed (stm_prom), filed
 * under their GPU, turned into one TelemetryRecord per GPU (sentinel filter, canonical names)
 * and encoded into a reused buffer as stm_pipe_put does - the whole --scrape path minus HTTP.
 *
 *   bench-stm-scrape [GPUS=8] [SCRAPES=20000] [RUNS=5]
 *
 * The body is what dcgm-exporter 3.x serves for GPUS GPUs with its default counters
 * (default-counters.csv: 35 fields, HELP/TYPE lines, the labels gpu, UUID, pci_bus_id,
 * device, modelName, Hostname, DCGM_FI_DRIVER_VERSION). Prints one line per run and the
 * median; rates are per CPU second of the thread (one core, whatever else runs), with the
 * wall-clock rate too; a second figure is the parser alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gt/gt_buf.h"
#include "gt/gt_log.h"
#include "gt/gt_time.h"
#include "gt/gt_record.h"
#include "stm_prom.h"
#include "stm_scrape.h"

static const char *const fields[] = {"DCGM_FI_DEV_SM_CLOCK", "DCGM_FI_DEV_MEM_CLOCK",
    "DCGM_FI_DEV_MEMORY_TEMP", "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "DCGM_FI_DEV_PCIE_REPLAY_COUNTER",
    "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_MEM_COPY_UTIL", "DCGM_FI_DEV_ENC_UTIL",
    "DCGM_FI_DEV_DEC_UTIL", "DCGM_FI_DEV_XID_ERRORS", "DCGM_FI_DEV_FB_FREE",
    "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", "DCGM_FI_DEV_VGPU_LICENSE_STATUS",
    "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS",
    "DCGM_FI_DEV_ROW_REMAP_FAILURE", "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "DCGM_FI_PROF_DRAM_ACTIVE", "DCGM_FI_PROF_PCIE_TX_BYTES",
    "DCGM_FI_PROF_PCIE_RX_BYTES", "DCGM_FI_DEV_FAN_SPEED", "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL",
    "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "DCGM_FI_DEV_ECC_SBE_AGG_TOTAL",
    "DCGM_FI_DEV_ECC_DBE_AGG_TOTAL", "DCGM_FI_DEV_RETIRED_SBE", "DCGM_FI_DEV_RETIRED_DBE",
    "DCGM_FI_DEV_RETIRED_PENDING", "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS",
    "DCGM_FI_DEV_POWER_VIOLATION", "DCGM_FI_DEV_THERMAL_VIOLATION"};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

typedef struct sink {
	uint8_t *buf;
	size_t   cap;
	uint64_t n, bytes;
} sink;

static gt_err
on_record(Gtpb__V1__TelemetryRecord *rec, const stm_rec_info *info, void *arg)
{
	sink  *s = arg;
	size_t len = gt_record_size(rec);

	(void)info;
	if (len > s->cap) {
		free(s->buf);
		s->cap = len * 2;
		if ((s->buf = malloc(s->cap)) == NULL)
			return GT_ENOMEM;
	}
	s->bytes += gt_record_pack(rec, s->buf);
	s->n++;
	return GT_OK;
}

static gt_err
count_sample(const stm_prom_sample *sm, void *arg)
{
	*(double *)arg += sm->value;
	return GT_OK;
}

/* CPU time of this thread: "on one core" even while the machine is shared. */
static int64_t
cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * GT_NS_PER_S + ts.tv_nsec;
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	int            gpus = argc > 1 ? atoi(argv[1]) : 8;
	int            scrapes = argc > 2 ? atoi(argv[2]) : 20000;
	int            runs = argc > 3 ? atoi(argv[3]) : 5;
	gt_buf         body;
	stm_scrape_cfg sc = {0};
	stm_scrape    *sp;
	stm_prom      *p;
	sink           sk = {0};
	double         full[64], parse[64], wall[64], sink_v = 0;
	size_t         samples = (size_t)gpus * NFIELDS;

	if (gpus < 1 || scrapes < 1 || runs < 1 || runs > 64) {
		fprintf(stderr, "usage: bench-stm-scrape [GPUS] [SCRAPES] [RUNS<=64]\n");
		return 2;
	}
	gt_log_open("bench", GT_LOG_OFF);
	gt_buf_init(&body);
	for (size_t f = 0; f < NFIELDS; f++) {
		gt_buf_printf(&body, "# HELP %s Field %zu.\n# TYPE %s gauge\n", fields[f], f, fields[f]);
		for (int g = 0; g < gpus; g++)
			gt_buf_printf(&body,
			    "%s{gpu=\"%d\",UUID=\"GPU-5fd4b0e2-9b2c-4c1e-8a1f-0000000000%02d\","
			    "pci_bus_id=\"00000000:%02X:00.0\",device=\"nvidia%d\","
			    "modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"gpu-node-017\","
			    "DCGM_FI_DRIVER_VERSION=\"535.129.03\"} %g\n",
			    fields[f], g, g, 0x18 + g * 0x10, g, (double)(f * 10 + (size_t)g) + 0.25);
	}
	sc.urls = "http://127.0.0.1:9400/metrics";
	sc.interval_ns = GT_NS_PER_S;
	sc.timeout_ns = GT_NS_PER_S;
	sc.reader.quiet = 1;
	sc.emit = on_record;
	sc.emit_arg = &sk;
	if (stm_scrape_new(&sp, &sc) != GT_OK || stm_prom_new(&p) != GT_OK)
		return 1;
	printf("body: %zu bytes, %zu samples (%d GPUs x %zu fields), %d scrapes per run\n", body.len,
	    samples, gpus, NFIELDS, scrapes);
	for (int r = 0; r < runs; r++) {
		int64_t        t0 = cpu_ns(), w0 = gt_mono_ns();
		stm_prom_stats st;
		for (int i = 0; i < scrapes; i++)
			if (stm_scrape_body(sp, 0, body.data, body.len, gt_now_ns()) != GT_OK)
				return 1;
		full[r] = (double)samples * scrapes / ((double)(cpu_ns() - t0) / 1e9);
		wall[r] = (double)samples * scrapes / ((double)(gt_mono_ns() - w0) / 1e9);
		t0 = cpu_ns();
		for (int i = 0; i < scrapes; i++)
			stm_prom_parse(p, body.data, body.len, count_sample, &sink_v, &st);
		parse[r] = (double)samples * scrapes / ((double)(cpu_ns() - t0) / 1e9);
		printf("run %d: scrape path %.0f samples/s per CPU second (%.0f records/s; wall clock "
		       "%.0f samples/s), parser alone %.0f samples/s\n",
		    r + 1, full[r], full[r] / NFIELDS, wall[r], parse[r]);
	}
	qsort(full, (size_t)runs, sizeof(double), cmp_dbl);
	qsort(parse, (size_t)runs, sizeof(double), cmp_dbl);
	printf("median: scrape path %.0f samples/s, parser alone %.0f samples/s (records %llu, %.1f MB "
	       "packed)%s\n",
	    full[runs / 2], parse[runs / 2], (unsigned long long)sk.n, (double)sk.bytes / 1e6,
	    sink_v == 0 ? "" : "");
	stm_prom_free(p);
	stm_scrape_free(sp);
	gt_buf_fini(&body);
	free(sk.buf);
	return 0;
}
