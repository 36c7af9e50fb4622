/* gt-gen: deterministic, realistic GPU telemetry in the three CSV formats gt-streamer reads.
 *
 *   gt-gen --format wide|dcgm|nvidia-smi --hosts 2 --gpus 8 --samples 60 --interval 1s \
 *          --seed 42 --out data.csv
 *
 * Every GPU is a small simulation driven by its own PRNG stream (seed, host, gpu), so the
 * output depends only on the flags: jobs start and stop (utilization phases), power follows
 * utilization, temperature follows power with thermal lag, memory is allocated per job and
 * never exceeds the total, SM clocks drop when idle and throttle when hot. UUIDs look like
 * DCGM's ("GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"). Metric names come from the
 * common table (gt/gt_gpu_metrics.h), so the generator and the parser cannot drift apart.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gt/gt_cfg.h"
#include "gt/gt_err.h"
#include "gt/gt_time.h"
#include "gt/gt_gpu_metrics.h"

enum { FMT_WIDE = 0, FMT_DCGM, FMT_SMI };
static const char *const fmt_choices[] = {"wide", "dcgm", "nvidia-smi", NULL};

typedef struct gen_cfg {
	int     format;
	int64_t hosts, gpus, samples;
	int64_t interval;
	int64_t seed;
	char   *out;
	char   *start;
	char   *model;
	char   *driver;
	char   *host_prefix;
	bool    noheader;
} gen_cfg;

static const gt_cfg_opt gen_opts[] = {
	GT_CFG_ENUM("format", gen_cfg, format, "wide", fmt_choices, "CSV format to write"),
	GT_CFG_INT("hosts", gen_cfg, hosts, "1", 1, 100000, "number of hosts"),
	GT_CFG_INT("gpus", gen_cfg, gpus, "8", 1, 64, "GPUs per host"),
	GT_CFG_INT("samples", gen_cfg, samples, "10", 0, INT64_C(1000000000), "samples per GPU"),
	GT_CFG_DUR("interval", gen_cfg, interval, "1s", GT_NS_PER_MS, 3600 * GT_NS_PER_S,
	    "time between samples"),
	GT_CFG_INT("seed", gen_cfg, seed, "1", 0, INT64_MAX, "PRNG seed (same seed, same file)"),
	GT_CFG_STR("out", gen_cfg, out, "-", "output file; - = stdout"),
	GT_CFG_STR("start", gen_cfg, start, "2026-01-01T00:00:00Z",
	    "timestamp of the first sample (RFC 3339), or \"now\""),
	GT_CFG_STR("model", gen_cfg, model, "NVIDIA H100 80GB HBM3", "GPU model name"),
	GT_CFG_STR("driver", gen_cfg, driver, "535.129.03", "driver version label"),
	GT_CFG_STR("host-prefix", gen_cfg, host_prefix, "gpu-node-", "hostname prefix"),
	GT_CFG_BOOL("noheader", gen_cfg, noheader, "false",
	    "nvidia-smi: omit the header (--format=csv,noheader)"),
};

/* ---------------------------------------------------------------- PRNG */

typedef struct rng {
	uint64_t s[4];
} rng;

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static void
rng_seed(rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(rng *r) /* xoshiro256** */
{
	uint64_t *s = r->s;
	uint64_t  res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

static double
rng_unit(rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static double
rng_range(rng *r, double lo, double hi)
{
	return lo + (hi - lo) * rng_unit(r);
}

static double
rng_gauss(rng *r, double sd)
{
	double u = rng_unit(r), v = rng_unit(r);

	if (u < 1e-12)
		u = 1e-12;
	return sd * sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* ---------------------------------------------------------------- one GPU */

#define MEM_TOTAL 81559.0 /* MiB, H100 80GB */
#define TDP 700.0
#define IDLE_W 68.0

typedef struct gpu {
	rng    r;
	char   host[64];
	char   uuid[48];
	char   pci[24];
	int    index;
	int    busy;
	double util_target, util, power, temp, mem_job, mem, sm, memutil, enc, dec;
} gpu;

static const int pci_bus[8] = {0x18, 0x2A, 0x3A, 0x5D, 0x9A, 0xAB, 0xBA, 0xDB};

static void
gpu_init(gpu *g, const gen_cfg *cfg, int host, int index)
{
	uint64_t seed = (uint64_t)cfg->seed * UINT64_C(0x100000001B3) ^
	                ((uint64_t)host << 20) ^ (uint64_t)index;
	uint64_t a, b;

	rng_seed(&g->r, seed);
	g->index = index;
	snprintf(g->host, sizeof(g->host), "%s%03d", cfg->host_prefix, host + 1);
	a = rng_next(&g->r);
	b = rng_next(&g->r);
	snprintf(g->uuid, sizeof(g->uuid), "GPU-%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
	    (unsigned)((a >> 16) & 0xffff), (unsigned)(0x4000 | (a & 0x0fff)),
	    (unsigned)(0x8000 | ((b >> 48) & 0x3fff)), (unsigned long long)(b & 0xffffffffffffULL));
	snprintf(g->pci, sizeof(g->pci), "00000000:%02X:00.0",
	    index < 8 ? pci_bus[index] : 0x10 + index);
	g->busy = rng_unit(&g->r) < 0.7;
	g->util_target = g->busy ? rng_range(&g->r, 70, 100) : rng_range(&g->r, 0, 5);
	g->util = g->util_target;
	g->mem_job = g->busy ? rng_range(&g->r, 20000, 78000) : rng_range(&g->r, 0, 600);
	g->mem = g->mem_job;
	g->power = IDLE_W + (TDP - IDLE_W) * g->util / 100.0;
	g->temp = 30.0 + 55.0 * g->power / TDP;
	g->sm = g->util < 3 ? 345 : 1980;
}

static double
clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static void
gpu_step(gpu *g, double dt)
{
	rng *r = &g->r;

	/* Jobs start and stop: a few per hour per GPU at 1 s samples. */
	if (rng_unit(r) < 0.002 * dt) {
		g->busy = !g->busy;
		g->mem_job = g->busy ? rng_range(r, 20000, 78000) : rng_range(r, 0, 600);
	}
	if (rng_unit(r) < 0.05 * dt)
		g->util_target = g->busy ? rng_range(r, 70, 100) : rng_range(r, 0, 5);
	g->util = clamp(g->util + (g->util_target - g->util) * 0.5 + rng_gauss(r, g->busy ? 4 : 0.7),
	    0, 100);
	g->power = clamp(IDLE_W + (TDP - IDLE_W) * (g->util / 100.0) * rng_range(r, 0.86, 1.0) +
	                     rng_gauss(r, 6),
	    55, TDP + 25);
	/* Thermal lag: temperature follows power with a ~5 s time constant. */
	{
		double target = 30.0 + 55.0 * g->power / TDP;
		double a = 1.0 - exp(-dt / 5.0);
		g->temp = clamp(g->temp + (target - g->temp) * a + rng_gauss(r, 0.3), 30, 90);
	}
	g->mem = clamp(g->mem + (g->mem_job - g->mem) * 0.3 + rng_gauss(r, g->busy ? 150 : 5), 0,
	    MEM_TOTAL - 512);
	g->sm = g->util < 3 ? 345 : g->temp > 83 ? 1590 + rng_range(r, 0, 120) : 1980;
	g->memutil = clamp(g->util * rng_range(r, 0.25, 0.55) + rng_gauss(r, 2), 0, 100);
	g->enc = rng_unit(r) < 0.03 ? rng_range(r, 1, 30) : 0;
	g->dec = rng_unit(r) < 0.03 ? rng_range(r, 1, 40) : 0;
}

/* ---------------------------------------------------------------- writers */

typedef struct mval {
	const char *canonical;
	double      v;
	int         decimals;
} mval;

static size_t
gpu_values(const gpu *g, mval *out)
{
	size_t n = 0;

	out[n++] = (mval){"temperature", round(g->temp), 0};
	out[n++] = (mval){"utilization", round(g->util), 0};
	out[n++] = (mval){"memory_used", round(g->mem), 0};
	out[n++] = (mval){"memory_free", MEM_TOTAL - round(g->mem), 0};
	out[n++] = (mval){"power_draw", g->power, 3};
	out[n++] = (mval){"sm_clock", round(g->sm), 0};
	out[n++] = (mval){"mem_clock", 2619, 0};
	out[n++] = (mval){"memory_utilization", round(g->memutil), 0};
	out[n++] = (mval){"encoder_utilization", round(g->enc), 0};
	out[n++] = (mval){"decoder_utilization", round(g->dec), 0};
	return n;
}

static void
put_num(FILE *f, const mval *m)
{
	if (m->decimals)
		fprintf(f, "%.*f", m->decimals, m->v);
	else
		fprintf(f, "%.0f", m->v);
}

static void
wide_header(FILE *f, const gpu *g)
{
	mval   vals[16];
	size_t n = gpu_values(g, vals);

	fputs("timestamp,gpu_id,hostname,uuid,modelName", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, ",%s", vals[i].canonical);
	fputc('\n', f);
}

static void
wide_row(FILE *f, const gen_cfg *cfg, const gpu *g, const char *ts)
{
	mval   vals[16];
	size_t n = gpu_values(g, vals);

	fprintf(f, "%s,%d,%s,%s,%s", ts, g->index, g->host, g->uuid, cfg->model);
	for (size_t i = 0; i < n; i++) {
		fputc(',', f);
		put_num(f, &vals[i]);
	}
	fputc('\n', f);
}

static void
dcgm_header(FILE *f)
{
	fputs("\"timestamp\",\"metric_name\",\"gpu_id\",\"device\",\"uuid\",\"modelName\","
	      "\"Hostname\",\"container\",\"pod\",\"namespace\",\"value\",\"labels_raw\"\n",
	    f);
}

static void
dcgm_rows(FILE *f, const gen_cfg *cfg, const gpu *g, const char *ts)
{
	mval   vals[16];
	size_t n = gpu_values(g, vals);
	char   pod[64] = "";
	int    job = g->busy && (g->index % 2 == 0);

	if (job)
		snprintf(pod, sizeof(pod), "train-%s-%d", g->host + strlen(cfg->host_prefix), g->index / 2);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "\"%s\",\"%s\",\"%d\",\"nvidia%d\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"",
		    ts, gt_gpu_metric_to_dcgm(vals[i].canonical), g->index, g->index, g->uuid, cfg->model,
		    g->host, job ? "pytorch" : "", pod, job ? "ml-training" : "");
		put_num(f, &vals[i]);
		fprintf(f,
		    "\",\"DCGM_FI_DRIVER_VERSION=\"\"%s\"\",Hostname=\"\"%s\"\",UUID=\"\"%s\"\","
		    "device=\"\"nvidia%d\"\",gpu=\"\"%d\"\",modelName=\"\"%s\"\",pci_bus_id=\"\"%s\"\"\"\n",
		    cfg->driver, g->host, g->uuid, g->index, g->index, cfg->model, g->pci);
	}
}

static void
smi_header(FILE *f)
{
	static const char *cols[] = {"temperature", "utilization", "memory_utilization", NULL};
	char               h[64];

	fputs("timestamp, index, name, uuid, pci.bus_id, driver_version, pstate", f);
	for (int i = 0; cols[i]; i++)
		fprintf(f, ", %s", gt_gpu_metric_to_smi_header(cols[i], h, sizeof(h)));
	fputs(", memory.total [MiB]", f);
	{
		static const char *more[] = {"memory_used", "memory_free", "power_draw", "sm_clock",
		    "mem_clock", "fan_speed", NULL};
		for (int i = 0; more[i]; i++)
			fprintf(f, ", %s", gt_gpu_metric_to_smi_header(more[i], h, sizeof(h)));
	}
	fputc('\n', f);
}

static void
smi_row(FILE *f, const gen_cfg *cfg, const gpu *g, int64_t ns)
{
	char   ts[64];
	time_t secs = (time_t)(ns / GT_NS_PER_S);
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(ts, sizeof(ts), "%Y/%m/%d %H:%M:%S", &tm);
	fprintf(f, "%s.%03d, %d, %s, %s, %s, %s, %s, %.0f, %.0f %%, %.0f %%, %.0f MiB, %.0f MiB, "
	           "%.0f MiB, %.2f W, %.0f MHz, %d MHz, [N/A]\n",
	    ts, (int)(ns % GT_NS_PER_S / GT_NS_PER_MS), g->index, cfg->model, g->uuid, g->pci,
	    cfg->driver, g->sm < 400 ? "P8" : "P0", round(g->temp), round(g->util), round(g->memutil),
	    MEM_TOTAL, round(g->mem), MEM_TOTAL - round(g->mem), g->power, round(g->sm), 2619);
}

int
main(int argc, char **argv)
{
	gen_cfg cfg;
	gt_err  rv;
	FILE   *f;
	gpu    *gpus;
	size_t  ngpu;
	int64_t t0;

	memset(&cfg, 0, sizeof(cfg));
	rv = gt_cfg_load(gen_opts, GT_NELEM(gen_opts), &cfg, argc, argv, "gt-gen",
	    "write deterministic sample GPU telemetry CSV (wide | dcgm | nvidia-smi)");
	if (rv != GT_OK) {
		if (rv == GT_EDONE)
			gt_cfg_free(gen_opts, GT_NELEM(gen_opts), &cfg);
		return gt_exit_code(rv);
	}
	if (strcmp(cfg.start, "now") == 0)
		t0 = gt_now_ns() / GT_NS_PER_MS * GT_NS_PER_MS;
	else if (gt_rfc3339_parse(cfg.start, &t0) != GT_OK) {
		fprintf(stderr, "gt-gen: --start: not an RFC 3339 time: \"%s\"\n", cfg.start);
		gt_cfg_free(gen_opts, GT_NELEM(gen_opts), &cfg);
		return 2;
	}
	ngpu = (size_t)(cfg.hosts * cfg.gpus);
	if ((gpus = calloc(ngpu, sizeof(*gpus))) == NULL) {
		fprintf(stderr, "gt-gen: out of memory\n");
		return 1;
	}
	if (strcmp(cfg.out, "-") == 0)
		f = stdout;
	else if ((f = fopen(cfg.out, "w")) == NULL) {
		perror(cfg.out);
		free(gpus);
		gt_cfg_free(gen_opts, GT_NELEM(gen_opts), &cfg);
		return 2;
	}
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	for (int h = 0; h < cfg.hosts; h++)
		for (int i = 0; i < cfg.gpus; i++)
			gpu_init(&gpus[(size_t)h * (size_t)cfg.gpus + (size_t)i], &cfg, h, i);
	switch (cfg.format) {
	case FMT_WIDE:
		wide_header(f, &gpus[0]);
		break;
	case FMT_DCGM:
		dcgm_header(f);
		break;
	default:
		if (!cfg.noheader)
			smi_header(f);
		break;
	}
	for (int64_t s = 0; s < cfg.samples; s++) {
		int64_t ns = t0 + s * cfg.interval;
		char    ts[40];

		gt_rfc3339_format(ns, 3, ts, sizeof(ts));
		for (size_t k = 0; k < ngpu; k++) {
			gpu *g = &gpus[k];
			if (s > 0)
				gpu_step(g, (double)cfg.interval / GT_NS_PER_S);
			if (cfg.format == FMT_WIDE)
				wide_row(f, &cfg, g, ts);
			else if (cfg.format == FMT_DCGM)
				dcgm_rows(f, &cfg, g, ts);
			else
				smi_row(f, &cfg, g, ns);
		}
	}
	rv = (fflush(f) == 0 && !ferror(f)) ? GT_OK : GT_EIO;
	if (f != stdout)
		rv = fclose(f) == 0 && rv == GT_OK ? GT_OK : GT_EIO;
	if (rv != GT_OK)
		fprintf(stderr, "gt-gen: %s: write failed\n", cfg.out);
	free(gpus);
	gt_cfg_free(gen_opts, GT_NELEM(gen_opts), &cfg);
	return rv == GT_OK ? 0 : 1;
}
