/* bench-stm-parse: rows/s parsed (libcsv -> TelemetryRecord) and encoded (packed into a reused
 * buffer, as stm_pipe_put does) on ONE thread, the file read from the page cache.
 *
 *   bench-stm-parse FILE [RUNS=5]
 *
 * Prints one line per run and the median. Generate input with gt-gen, e.g.
 *   gt-gen --format wide --hosts 125 --gpus 8 --samples 1000 --out /tmp/wide-1m.csv
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_log.h"
#include "gt/gt_record.h"
#include "gt/gt_time.h"
#include "stm_reader.h"

typedef struct sink {
	uint8_t *buf;
	size_t   cap;
	uint64_t bytes;
	uint64_t n;
	int64_t  now;
} sink;

static gt_err
on_record(Gtpb__V1__TelemetryRecord *rec, const stm_rec_info *info, void *arg)
{
	sink  *s = arg;
	size_t klen = strlen(rec->gpu_key), len;

	(void)info;
	if (rec->timestamp_ns == 0) /* as stm_pipe_put: a cached stamp, rewritten at publish */
		rec->timestamp_ns = (s->n & 1023) == 0 ? (s->now = gt_now_ns()) : s->now;
	len = gt_record_size(rec);
	if (len + klen + 1 > s->cap) {
		s->cap = (len + klen + 1) * 2;
		if ((s->buf = realloc(s->buf, s->cap)) == NULL)
			return GT_ENOMEM;
	}
	memcpy(s->buf, rec->gpu_key, klen + 1);
	s->bytes += gt_record_pack(rec, s->buf + klen + 1);
	s->n++;
	return GT_OK;
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
	stm_reader_cfg   cfg = {0};
	stm_reader      *r;
	sink             s = {0};
	int              runs = argc > 2 ? atoi(argv[2]) : 5;
	double           rates[64];
	stm_reader_stats st0, st1;

	if (argc < 2 || runs < 1 || runs > 64) {
		fprintf(stderr, "usage: bench-stm-parse FILE [RUNS]\n");
		return 2;
	}
	gt_log_open("bench", GT_LOG_ERROR);
	cfg.quiet = 1;
	if (stm_reader_new(&r, &cfg, on_record, &s) != GT_OK)
		return 1;
	/* warm the page cache */
	if (stm_reader_file(r, argv[1]) != GT_OK) {
		fprintf(stderr, "bench-stm-parse: %s\n", stm_reader_error(r));
		return 2;
	}
	for (int i = 0; i < runs; i++) {
		int64_t t0 = gt_mono_ns(), el;
		stm_reader_get_stats(r, &st0);
		s.n = 0;
		s.bytes = 0;
		stm_reader_file(r, argv[1]);
		el = gt_mono_ns() - t0;
		stm_reader_get_stats(r, &st1);
		rates[i] = (double)(st1.rows - st0.rows) / ((double)el / GT_NS_PER_S);
		printf("run %d: %s %llu rows -> %llu records (%.1f B/record) in %.3f s = %.0f rows/s\n",
		    i + 1, stm_format_names[stm_reader_format(r)],
		    (unsigned long long)(st1.rows - st0.rows), (unsigned long long)s.n,
		    s.n ? (double)s.bytes / (double)s.n : 0.0, (double)el / GT_NS_PER_S, rates[i]);
	}
	qsort(rates, (size_t)runs, sizeof(double), cmp_dbl);
	printf("median: %.0f rows/s (one thread, parse + encode)\n", rates[runs / 2]);
	stm_reader_free(r);
	free(s.buf);
	return 0;
}
