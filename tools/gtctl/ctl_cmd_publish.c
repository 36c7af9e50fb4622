/* ctl_cmd_publish.c - `gtctl publish FILE [--format auto]`: a one-shot import through the
 * streamer's own code (streamer_core: stm_reader parses, stm_pipe batches and publishes with
 * producer id + sequence, so a retried batch is stored once). Exit 0 when every record was
 * confirmed, 2 for an unreadable file or an unknown header, 1 when records were refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "gt/gt_metrics.h"
#include "gt/gt_signal.h"
#include "gtpb/v1/mq.pb-c.h"
#include "stm_pipe.h"
#include "stm_reader.h"

static gt_err
on_record(Gtpb__V1__TelemetryRecord *rec, const stm_rec_info *info, void *arg)
{
	return stm_pipe_put(arg, rec, !info->ts_source);
}

static int
stopping(void *arg)
{
	(void)arg;
	return gt_signal_stopping();
}

int
ctl_cmd_publish(ctl_ctx *c)
{
	Gtpb__V1__HealthRequest   hin = GTPB__V1__HEALTH_REQUEST__INIT;
	Gtpb__V1__HealthResponse *hout = NULL;
	const char               *fmt = ctl_opt(c, "format");
	const char      *topic = ctl_opt(c, "topic") ? ctl_opt(c, "topic") : "gpu-telemetry";
	stm_reader_cfg   rc = {0};
	stm_pipe_cfg     pc = {0};
	stm_reader      *rd = NULL;
	stm_pipe        *pipe = NULL;
	gt_metrics      *metrics = NULL;
	stm_reader_stats rs;
	stm_pipe_stats   ps;
	uint32_t         batch;
	gt_err           rv, fin;
	int              ex, i;

	if (c->argc != 1)
		return ctl_usage_error(
		    c, "usage: gtctl publish FILE [--format auto|wide|dcgm|nvidia-smi]");
	if ((ex = ctl_opt_u32(c, "batch", 1000, &batch)) != CTL_EXIT_OK)
		return ex;
	if (batch == 0)
		return ctl_usage_error(c, "--batch: at least 1");
	rc.format = STM_FMT_AUTO;
	if (fmt) {
		for (i = 0; stm_format_names[i] && i <= STM_FMT_SMI; i++)
			if (strcmp(stm_format_names[i], fmt) == 0)
				break;
		if (i > STM_FMT_SMI || stm_format_names[i] == NULL)
			return ctl_usage_error(
			    c, "--format: auto, wide, dcgm or nvidia-smi (got %s)", fmt);
		rc.format = (stm_format)i;
	}
	/* the broker first: unreachable (3) or a wrong token (1) before reading anything */
	if ((ex = ctl_call(c, c->mq_url, &gtpb__v1__message_queue__descriptor, "Health", &hin.base,
	                   (ProtobufCMessage **)&hout, 0, NULL)) != CTL_EXIT_OK)
		return ex;
	protobuf_c_message_free_unpacked(&hout->base, NULL);

	gt_signal_install();
	rc.columns = ctl_opt(c, "columns");
	rc.hostname = ctl_opt(c, "hostname");
	rc.quiet = 1;
	rc.stopping = stopping;
	if ((rv = gt_metrics_new(&metrics, "gtctl_")) != GT_OK)
		return CTL_EXIT_REMOTE;
	pc.mq_url = c->mq_url;
	pc.token = c->token;
	pc.topic = topic;
	pc.workers = 1;
	pc.batch = batch;
	pc.dispatch_by_key = 1;
	pc.rpc_timeout_ns = c->timeout_ns;
	pc.metrics = metrics;
	pc.stopping = stopping;
	ex = CTL_EXIT_REMOTE;
	if ((rv = stm_pipe_new(&pipe, &pc)) != GT_OK) {
		fprintf(stderr, "gtctl publish: %s\n", gt_strerror(rv));
		goto out;
	}
	if ((rv = stm_reader_new(&rd, &rc, on_record, pipe)) != GT_OK) {
		fprintf(stderr, "gtctl publish: %s\n", gt_strerror(rv));
		goto out;
	}
	rv = stm_reader_file(rd, c->argv[0]);
	fin = stm_pipe_finish(pipe);
	stm_reader_get_stats(rd, &rs);
	stm_pipe_get_stats(pipe, &ps);
	if (rv == GT_EINVAL || rv == GT_EIO) {
		if (*stm_reader_error(rd))
			fprintf(stderr, "gtctl publish: %s\n", stm_reader_error(rd));
		else
			fprintf(stderr, "gtctl publish: %s: %s\n", c->argv[0], gt_strerror(rv));
		ex = CTL_EXIT_USAGE;
		goto out;
	}
	if (c->fmt == CTL_OUT_JSON)
		printf("{\"file\":\"%s\",\"topic\":\"%s\",\"format\":\"%s\",\"rows\":%llu,"
		       "\"bad_rows\":%llu,\"records\":%llu,\"published\":%llu,\"duplicates\":%llu,"
		       "\"failed\":%llu}\n",
		       c->argv[0], topic, stm_format_names[stm_reader_format(rd)],
		       (unsigned long long)rs.rows, (unsigned long long)rs.bad_rows,
		       (unsigned long long)rs.records, (unsigned long long)ps.published,
		       (unsigned long long)ps.duplicates,
		       (unsigned long long)(ps.failed + ps.abandoned));
	else
		printf("%s (%s): %llu rows, %llu bad, %llu records; published %llu to %s "
		       "(%llu failed)\n",
		       c->argv[0], stm_format_names[stm_reader_format(rd)],
		       (unsigned long long)rs.rows, (unsigned long long)rs.bad_rows,
		       (unsigned long long)rs.records, (unsigned long long)ps.published, topic,
		       (unsigned long long)(ps.failed + ps.abandoned));
	if (rv != GT_OK && rv != GT_ECANCELED)
		fprintf(stderr, "gtctl publish: %s\n", gt_strerror(rv));
	ex = rv == GT_OK && fin == GT_OK ? CTL_EXIT_OK : CTL_EXIT_REMOTE;
out:
	stm_reader_free(rd);
	stm_pipe_free(pipe);
	gt_metrics_free(metrics);
	return ex;
}
