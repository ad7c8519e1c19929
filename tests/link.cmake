# tests/link.cmake — extras for the trainer link's area.
#
# bench/bench_link.c drives the in-process WebSocket test server of tests/support, which
# lives in rd_testsupport. The bench targets are made by the top-level CMakeLists.txt after
# this file is read, so the link is added at the end of the top-level directory.
function(rd_link_bench_support)
  if(TARGET bench_link)
    target_link_libraries(bench_link PRIVATE rd_testsupport)
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL rd_link_bench_support)

# These tests run the trainer or server binary: build them with the tests.
foreach(t test_link_trainer test_tb_trainer)
  if(TARGET ${t})
    add_dependencies(${t} trainer)
  endif()
endforeach()
if(TARGET test_link_server)
  add_dependencies(test_link_server server)
endif()
