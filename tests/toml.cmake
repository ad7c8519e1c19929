# tests/toml.cmake — the TOML and config area's extras (included by tests/CMakeLists.txt).

# toml2json: the decoder the TOML conformance corpus drives (scripts/test.d/toml.sh).
add_executable(toml2json ${CMAKE_CURRENT_SOURCE_DIR}/toml2json.c)
rd_target_defaults(toml2json)
target_link_libraries(toml2json PRIVATE rd_common)

# libFuzzer targets for the parser and the config loader (scripts/fuzz), clang only. They
# compile the parser and the loader themselves rather than link rd_common, so that the
# code under test carries the fuzzer's coverage instrumentation and the sanitizers.
if(RD_FUZZ)
  set(rd_fuzz_flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
                    -fno-omit-frame-pointer)
  add_executable(fuzz_toml ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_toml.c
                           ${PROJECT_SOURCE_DIR}/common/toml.c ${PROJECT_SOURCE_DIR}/common/err.c)
  add_executable(fuzz_config ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_config.c
                             ${PROJECT_SOURCE_DIR}/common/cfg_defaults.c
                             ${PROJECT_SOURCE_DIR}/common/cfg_schema.c
                             ${PROJECT_SOURCE_DIR}/common/cfg_load.c
                             ${PROJECT_SOURCE_DIR}/common/cfg_validate.c
                             ${PROJECT_SOURCE_DIR}/common/cfg_write.c
                             ${PROJECT_SOURCE_DIR}/common/toml.c ${PROJECT_SOURCE_DIR}/common/err.c)
  foreach(name fuzz_toml fuzz_config)
    rd_target_defaults(${name})
    target_compile_options(${name} PRIVATE ${rd_fuzz_flags})
    target_link_options(${name} PRIVATE ${rd_fuzz_flags})
    target_link_libraries(${name} PRIVATE m)
  endforeach()
endif()
