# Helpers that keep every module and test target declared the same way.

# secprof_add_module(NAME SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# Creates library secprof_NAME (alias secprof::NAME). Public headers live in include/secprof/NAME/,
# anything else in the folder is internal to the module.
function(secprof_add_module name)
  cmake_parse_arguments(M "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(secprof_${name} STATIC ${M_SOURCES})
  add_library(secprof::${name} ALIAS secprof_${name})
  target_include_directories(secprof_${name}
    PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(secprof_${name} PUBLIC ${M_PUBLIC_DEPS} PRIVATE ${M_PRIVATE_DEPS})
endfunction()

# secprof_add_test(NAME SOURCES ... DEPS ...)
# A GoogleTest executable whose tests CTest discovers one by one. tests/testutil.h finds the
# checkout and the secprof CLI through the compile-time defaults below, which the environment
# variables SECPROF_SOURCE_DIR and SECPROF_BINARY override.
function(secprof_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_compile_definitions(${name} PRIVATE
    SECPROF_SOURCE_DIR_DEFAULT="${PROJECT_SOURCE_DIR}"
    SECPROF_BINARY_DEFAULT="${CMAKE_BINARY_DIR}/secprof")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60)
endfunction()

# secprof_embed_files(OUT_CPP NAMESPACE FILES ...)
# Generates a .cpp that defines `std::span<const EmbeddedFile> <NAMESPACE>::EmbeddedFiles()` holding
# each file's bytes, so the binary needs no data directory at run time.
function(secprof_embed_files out_cpp ns)
  set(files ${ARGN})
  add_custom_command(OUTPUT ${out_cpp}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out_cpp} -DNS=${ns} -DROOT=${PROJECT_SOURCE_DIR}
            "-DFILES=${files}" -P ${PROJECT_SOURCE_DIR}/cmake/Embed.cmake
    DEPENDS ${files} ${PROJECT_SOURCE_DIR}/cmake/Embed.cmake
    COMMENT "Embedding ${ns} data"
    VERBATIM)
endfunction()
