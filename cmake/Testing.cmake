# Test registration helpers, included by tests/CMakeLists.txt.
find_package(GTest REQUIRED)
include(GoogleTest)

# dnswash_gtest(NAME SOURCES src... [LIBS lib...] [DEFINES def...])
# One gtest executable, linked with gtest_main, its tests discovered for ctest.
function(dnswash_gtest name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;LIBS;DEFINES")
  add_executable(${name} ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE ${arg_LIBS} GTest::gtest_main)
  if(arg_DEFINES)
    target_compile_definitions(${name} PRIVATE ${arg_DEFINES})
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60)
endfunction()

# The environment every lab script gets (tests/support/netns.sh reads it): the binaries under
# test and the lab tools. Filled in by tests/lab/CMakeLists.txt; dnswash_lab_test reads it at
# generate time, so tools appended later reach every lab.
set_property(GLOBAL PROPERTY DNSWASH_LAB_ENV "")
function(dnswash_lab_env)
  set_property(GLOBAL APPEND PROPERTY DNSWASH_LAB_ENV ${ARGN})
endfunction()

# dnswash_lab_test(NAME SCRIPT [ARGS...] [TIMEOUT s])
# A lab: a bash script in this folder, run serially (labs share the machine's two CPUs and
# time out on a loaded machine otherwise), labelled "lab". SCRIPT may be absolute.
function(dnswash_lab_test name script)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "TIMEOUT" "")
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 180)
  endif()
  if(NOT IS_ABSOLUTE ${script})
    set(script ${CMAKE_CURRENT_SOURCE_DIR}/${script})
  endif()
  get_property(env GLOBAL PROPERTY DNSWASH_LAB_ENV)
  add_test(NAME ${name} COMMAND bash ${script} ${arg_UNPARSED_ARGUMENTS})
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${env}" TIMEOUT ${arg_TIMEOUT}
    RUN_SERIAL TRUE LABELS lab)
endfunction()
