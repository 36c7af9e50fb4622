/* gt_gpu_metrics.c - table-driven metric name mapping (see gt_gpu_metrics.h). */
#include <stdio.h>
#include <string.h>

#include "gt/gt_gpu_metrics.h"

static const gt_gpu_metric metric_table[] = {
    {"temperature", "DCGM_FI_DEV_GPU_TEMP", "temperature.gpu", "", "GPU temperature (C)"},
    {"utilization", "DCGM_FI_DEV_GPU_UTIL", "utilization.gpu", "%", "GPU utilization (%)"},
    {"memory_used", "DCGM_FI_DEV_FB_USED", "memory.used", "MiB", "Framebuffer memory used (MiB)"},
    {"memory_free", "DCGM_FI_DEV_FB_FREE", "memory.free", "MiB", "Framebuffer memory free (MiB)"},
    {"power_draw", "DCGM_FI_DEV_POWER_USAGE", "power.draw", "W", "Power draw (W)"},
    {"sm_clock", "DCGM_FI_DEV_SM_CLOCK", "clocks.sm", "MHz", "SM clock (MHz)"},
    {"mem_clock", "DCGM_FI_DEV_MEM_CLOCK", "clocks.mem", "MHz", "Memory clock (MHz)"},
    {"memory_utilization", "DCGM_FI_DEV_MEM_COPY_UTIL", "utilization.memory", "%",
     "Memory copy utilization (%)"},
    {"encoder_utilization", "DCGM_FI_DEV_ENC_UTIL", "utilization.encoder", "%",
     "Encoder utilization (%)"},
    {"decoder_utilization", "DCGM_FI_DEV_DEC_UTIL", "utilization.decoder", "%",
     "Decoder utilization (%)"},
    {"fan_speed", "DCGM_FI_DEV_FAN_SPEED", "fan.speed", "%", "Fan speed (%)"},
};

#define METRIC_N (sizeof(metric_table) / sizeof(metric_table[0]))

const gt_gpu_metric *
gt_gpu_metric_table(size_t *n)
{
	*n = METRIC_N;
	return metric_table;
}

static int
name_eq(const char *a, size_t alen, const char *b)
{
	return strncmp(a, b, alen) == 0 && b[alen] == '\0';
}

const gt_gpu_metric *
gt_gpu_metric_by_canonical(const char *name, size_t len)
{
	for (size_t i = 0; i < METRIC_N; i++)
		if (name_eq(name, len, metric_table[i].canonical))
			return &metric_table[i];
	return NULL;
}

const gt_gpu_metric *
gt_gpu_metric_by_dcgm(const char *name, size_t len)
{
	/* Every DCGM field shares the prefix: reject others cheaply. */
	if (len < 8 || memcmp(name, "DCGM_FI_", 8) != 0)
		return NULL;
	for (size_t i = 0; i < METRIC_N; i++)
		if (name_eq(name, len, metric_table[i].dcgm))
			return &metric_table[i];
	return NULL;
}

size_t
gt_gpu_metric_strip_unit(const char *name, size_t len)
{
	while (len > 0 && name[len - 1] == ' ')
		len--;
	if (len > 0 && name[len - 1] == ']') {
		for (size_t i = len; i > 0; i--) {
			if (name[i - 1] == '[') {
				len = i - 1;
				break;
			}
		}
	}
	while (len > 0 && name[len - 1] == ' ')
		len--;
	return len;
}

const gt_gpu_metric *
gt_gpu_metric_by_smi(const char *name, size_t len)
{
	len = gt_gpu_metric_strip_unit(name, len);
	for (size_t i = 0; i < METRIC_N; i++)
		if (name_eq(name, len, metric_table[i].smi))
			return &metric_table[i];
	return NULL;
}

const gt_gpu_metric *
gt_gpu_metric_lookup(const char *name, size_t len)
{
	const gt_gpu_metric *m;

	if ((m = gt_gpu_metric_by_canonical(name, len)) != NULL)
		return m;
	if ((m = gt_gpu_metric_by_dcgm(name, len)) != NULL)
		return m;
	return gt_gpu_metric_by_smi(name, len);
}

const char *
gt_gpu_metric_canonical(const char *name, size_t len)
{
	const gt_gpu_metric *m = gt_gpu_metric_lookup(name, len);

	return m ? m->canonical : NULL;
}

const char *
gt_gpu_metric_to_dcgm(const char *canonical)
{
	const gt_gpu_metric *m = gt_gpu_metric_by_canonical(canonical, strlen(canonical));

	return m ? m->dcgm : NULL;
}

const char *
gt_gpu_metric_to_smi_header(const char *canonical, char *buf, size_t len)
{
	const gt_gpu_metric *m = gt_gpu_metric_by_canonical(canonical, strlen(canonical));
	int                  n;

	if (m == NULL)
		return NULL;
	if (*m->unit)
		n = snprintf(buf, len, "%s [%s]", m->smi, m->unit);
	else
		n = snprintf(buf, len, "%s", m->smi);
	return n >= 0 && (size_t)n < len ? buf : NULL;
}
