# Helpers that give every module the same shape: one static library per folder under
# src/, one GoogleTest binary per folder under tests/.

# -Wno-restrict: GCC 12 reports false positives inside libstdc++'s std::string at -O3
# (GCC bug 105329); the warning stays on for other compilers.
set(ARGUS_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wno-missing-field-initializers -Werror)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND ARGUS_WARNINGS -Wno-restrict)
endif()

# ARGUS_FUZZ: every target is instrumented for libFuzzer's coverage feedback and built
# with AddressSanitizer and UBSan (any UB aborts, so the fuzzer reports it); the fuzz
# targets themselves link libFuzzer's main with -fsanitize=fuzzer (fuzz/CMakeLists.txt).
if(ARGUS_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "ARGUS_FUZZ needs clang (libFuzzer): CC=clang CXX=clang++ cmake ...")
  endif()
  # -fno-sanitize=function: clang 14 cannot emit its prologue data for the split parts
  # of a coroutine ("Cannot represent a difference across sections", api/server.cpp).
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=function
                      -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# argus_module(NAME SOURCES a.cpp b.cpp DEPS core metrics LIBS Boost::headers)
# DEPS are other Argus modules (linked as argus_<dep>); LIBS are third-party targets.
function(argus_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS;LIBS" ${ARGN})
  add_library(argus_${name} STATIC ${M_SOURCES})
  target_include_directories(argus_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(argus_${name} PRIVATE ${ARGUS_WARNINGS})
  foreach(dep IN LISTS M_DEPS)
    target_link_libraries(argus_${name} PUBLIC argus_${dep})
  endforeach()
  target_link_libraries(argus_${name} PUBLIC ${M_LIBS})
endfunction()

# argus_test(MODULE SOURCES t1.cpp t2.cpp [LIBS ...]) builds test_<module> and registers
# each GoogleTest case with CTest.
function(argus_test module)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(test_${module} ${T_SOURCES})
  target_compile_options(test_${module} PRIVATE ${ARGUS_WARNINGS})
  target_include_directories(test_${module} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(test_${module} PRIVATE argus_${module} argus_testing GTest::gtest GTest::gtest_main ${T_LIBS})
  # One label per test (the module name): a list here would be split by
  # gtest_discover_tests. `ctest -L store` runs one module's tests.
  gtest_discover_tests(test_${module} DISCOVERY_TIMEOUT 60 TEST_PREFIX "${module}."
    PROPERTIES LABELS ${module} TIMEOUT 300)
endfunction()
