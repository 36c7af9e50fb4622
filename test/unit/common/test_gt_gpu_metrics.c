/* test_gt_gpu_metrics.c - the metric name table, both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "gt/gt_gpu_metrics.h"

#define L(s) s, strlen(s)

static void
test_gpu_metrics_dcgm_names_map_to_canonical_and_back(void **state)
{
	static const char *pairs[][2] = {{"DCGM_FI_DEV_GPU_TEMP", "temperature"},
	    {"DCGM_FI_DEV_GPU_UTIL", "utilization"}, {"DCGM_FI_DEV_FB_USED", "memory_used"},
	    {"DCGM_FI_DEV_FB_FREE", "memory_free"}, {"DCGM_FI_DEV_POWER_USAGE", "power_draw"},
	    {"DCGM_FI_DEV_SM_CLOCK", "sm_clock"}, {"DCGM_FI_DEV_MEM_CLOCK", "mem_clock"},
	    {"DCGM_FI_DEV_MEM_COPY_UTIL", "memory_utilization"},
	    {"DCGM_FI_DEV_ENC_UTIL", "encoder_utilization"},
	    {"DCGM_FI_DEV_DEC_UTIL", "decoder_utilization"}, {"DCGM_FI_DEV_FAN_SPEED", "fan_speed"}};
	size_t n;
	(void)state;

	assert_non_null(gt_gpu_metric_table(&n));
	assert_int_equal(n, 11);
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		assert_string_equal(gt_gpu_metric_canonical(L(pairs[i][0])), pairs[i][1]);
		assert_string_equal(gt_gpu_metric_to_dcgm(pairs[i][1]), pairs[i][0]);
		assert_string_equal(gt_gpu_metric_canonical(L(pairs[i][1])), pairs[i][1]);
	}
	assert_null(gt_gpu_metric_canonical(L("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE")));
	assert_null(gt_gpu_metric_to_dcgm("nope"));
	/* length-bounded: a prefix is not a match */
	assert_null(gt_gpu_metric_canonical("temperature", 4));
}

static void
test_gpu_metrics_nvidia_smi_headers_with_units(void **state)
{
	char buf[64];
	(void)state;

	assert_string_equal(gt_gpu_metric_canonical(L("temperature.gpu")), "temperature");
	assert_string_equal(gt_gpu_metric_canonical(L("utilization.gpu [%]")), "utilization");
	assert_string_equal(gt_gpu_metric_canonical(L("memory.used [MiB]")), "memory_used");
	assert_string_equal(gt_gpu_metric_canonical(L("memory.free [MiB]")), "memory_free");
	assert_string_equal(gt_gpu_metric_canonical(L("power.draw [W]")), "power_draw");
	assert_string_equal(gt_gpu_metric_canonical(L("clocks.sm [MHz]")), "sm_clock");
	assert_string_equal(gt_gpu_metric_canonical(L("clocks.mem [MHz]")), "mem_clock");
	assert_string_equal(gt_gpu_metric_canonical(L("utilization.memory [%]")), "memory_utilization");
	assert_string_equal(gt_gpu_metric_canonical(L("fan.speed [%]")), "fan_speed");
	assert_null(gt_gpu_metric_canonical(L("memory.total [MiB]")));
	assert_int_equal(gt_gpu_metric_strip_unit(L("power.draw [W] ")), 10);
	assert_string_equal(gt_gpu_metric_to_smi_header("power_draw", buf, sizeof(buf)), "power.draw [W]");
	assert_string_equal(gt_gpu_metric_to_smi_header("temperature", buf, sizeof(buf)), "temperature.gpu");
	assert_null(gt_gpu_metric_to_smi_header("power_draw", buf, 4));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gpu_metrics_dcgm_names_map_to_canonical_and_back),
		cmocka_unit_test(test_gpu_metrics_nvidia_smi_headers_with_units),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
