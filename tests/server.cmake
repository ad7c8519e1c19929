# tests/server.cmake — the server area's extras (included by tests/CMakeLists.txt).

# The server tests start several server processes each; give them room on a busy machine.
foreach(t test_server_http test_server_ws test_server_infer)
  if(TEST ${t})
    set_tests_properties(${t} PROPERTIES TIMEOUT 300 LABELS server)
  endif()
endforeach()

# The flood case holds 900 sockets and checks that the server shed them itself while
# /healthz was answered: run alone, so that a neighbour test's load does not decide it (in
# parallel with others it failed 2 of 3 clean-clone runs on a 2-core machine).
if(TEST test_server_security)
  set_tests_properties(test_server_security PROPERTIES RUN_SERIAL TRUE)
endif()

# libFuzzer target for the client-message parser (scripts/test.d/server-fuzz.sh), clang
# only. It compiles the parser itself so that the code under test carries the fuzzer's
# coverage instrumentation and the sanitizers.
if(RD_FUZZ)
  set(rd_server_fuzz_flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
                           -fno-omit-frame-pointer)
  add_executable(fuzz_server_msg ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_server_msg.c
                                 ${PROJECT_SOURCE_DIR}/inference/cmd.c
                                 ${PROJECT_SOURCE_DIR}/inference/hist.c
                                 ${PROJECT_SOURCE_DIR}/common/json.c)
  rd_target_defaults(fuzz_server_msg)
  target_compile_options(fuzz_server_msg PRIVATE ${rd_server_fuzz_flags})
  target_link_options(fuzz_server_msg PRIVATE ${rd_server_fuzz_flags})
  target_link_libraries(fuzz_server_msg PRIVATE PkgConfig::CJSON m)
endif()

