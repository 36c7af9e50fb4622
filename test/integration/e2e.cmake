# System tests: the whole pipeline (gt-streamer -> gt-mq -> gt-collector -> gt-gateway) on
# loopback, and faults injected into it.
set(E2E_UTIL test_e2e_util.c test_collector_util.c)
gt_integ_test(e2e_pipeline SOURCES test_e2e_pipeline.c ${E2E_UTIL} LIBS gt_proto TIMEOUT 120)
# One executable, one ctest per fault scenario (argv[1]), so each stays short and runs alone.
add_executable(integ_e2e_faults test_e2e_faults.c ${E2E_UTIL})
target_link_libraries(integ_e2e_faults PRIVATE gt_common gt_proto gt_test_support PkgConfig::CMOCKA gt_warnings)
foreach(s mq mq_gc collector stall gateway group)
  add_test(NAME integ.e2e_fault_${s} COMMAND integ_e2e_faults ${s})
  set_tests_properties(integ.e2e_fault_${s} PROPERTIES TIMEOUT 150 LABELS "integ"
    ENVIRONMENT "GT_BIN_DIR=${CMAKE_BINARY_DIR}/bin;GT_FIXTURES=${CMAKE_SOURCE_DIR}/test/fixtures;GT_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endforeach()
