# tests/toml.cmake — the TOML and config area's extras (included by tests/CMakeLists.txt).

# toml2json: the decoder the TOML conformance corpus drives (scripts/test.d/toml.sh).
add_executable(toml2json ${CMAKE_CURRENT_SOURCE_DIR}/toml2json.c)
rd_target_defaults(toml2json)
target_link_libraries(toml2json PRIVATE rd_common)

# libFuzzer targets for the parser and the config loader (scripts/fuzz), clang only.
if(RD_FUZZ)
  foreach(name fuzz_toml fuzz_config)
    add_executable(${name} ${CMAKE_CURRENT_SOURCE_DIR}/${name}.c)
    rd_target_defaults(${name})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(${name} PRIVATE rd_common)
  endforeach()
endif()
