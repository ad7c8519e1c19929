# Orchestrator tests: the fault-injecting child (tests/fixtures/orch_fixture.c), built into
# bin/ beside run_demo so that test configs can name it as {bindir}/orch_fixture.
add_executable(orch_fixture ${PROJECT_SOURCE_DIR}/tests/fixtures/orch_fixture.c)
rd_target_defaults(orch_fixture)
# The fixture plays a plain program (it must die by SIGSEGV, flood at full speed): no
# sanitizer runtime in it even in the sanitizer build; run_demo itself stays sanitized.
if(RD_SANITIZE)
  target_compile_options(orch_fixture PRIVATE -fno-sanitize=all)
  target_link_options(orch_fixture PRIVATE -fno-sanitize=all)
endif()
foreach(t IN ITEMS test_orch_cli test_orch_faults test_orch_logs test_orch_orphans test_orch_real
               bench_orch)
  if(TARGET ${t})
    add_dependencies(${t} orch_fixture run_demo rd_exec)
  endif()
endforeach()
foreach(t IN ITEMS test_orch_real test_orch_sweep)
  if(TARGET ${t})
    add_dependencies(${t} run_demo rd_exec trainer server)
  endif()
endforeach()
if(TARGET test_orch_sweep)
  set_tests_properties(test_orch_sweep PROPERTIES TIMEOUT 900)
endif()
