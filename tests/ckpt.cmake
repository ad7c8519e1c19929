# tests/ckpt.cmake — the checkpoint area's extras (included by tests/CMakeLists.txt).

# The crash test kills 120 writers and the format test flips thousands of bits: give them
# room under the sanitizers (they take about 5 s and 20 s there).
set_tests_properties(test_ckpt_crash test_ckpt_format PROPERTIES TIMEOUT 300)

# libFuzzer target for the checkpoint reader (scripts/test.d/ckpt-fuzz.sh), clang only. It
# compiles common/ckpt.c, ckpt_dir.c and ckpt_policy.c itself so that the readers carry the
# fuzzer's coverage instrumentation and the sanitizers; the rest (config hash, policy) comes
# from rd_common.
if(RD_FUZZ)
  set(rd_ckpt_fuzz_flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
                         -fno-omit-frame-pointer)
  add_executable(fuzz_ckpt ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_ckpt.c
                           ${PROJECT_SOURCE_DIR}/common/ckpt.c
                           ${PROJECT_SOURCE_DIR}/common/ckpt_dir.c
                           ${PROJECT_SOURCE_DIR}/common/ckpt_policy.c)
  rd_target_defaults(fuzz_ckpt)
  target_compile_options(fuzz_ckpt PRIVATE ${rd_ckpt_fuzz_flags})
  target_link_options(fuzz_ckpt PRIVATE ${rd_ckpt_fuzz_flags})
  target_link_libraries(fuzz_ckpt PRIVATE rd_common m)
endif()

# The real trainer killed 100 times: about 15 s in Release; the trainer under ASan is
# slower to start.
if(TEST test_ckpt_trainer_kill)
  set_tests_properties(test_ckpt_trainer_kill PROPERTIES TIMEOUT 300)
endif()
