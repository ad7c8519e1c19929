# Orchestrator tests: the fault-injecting child (tests/fixtures/orch_fixture.c), built into
# bin/ beside run_demo so that test configs can name it as {bindir}/orch_fixture.
add_executable(orch_fixture ${PROJECT_SOURCE_DIR}/tests/fixtures/orch_fixture.c)
rd_target_defaults(orch_fixture)
foreach(t IN ITEMS test_orch_cli test_orch_faults test_orch_logs test_orch_orphans test_orch_real)
  if(TARGET ${t})
    add_dependencies(${t} orch_fixture run_demo rd_exec)
  endif()
endforeach()
