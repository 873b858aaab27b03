# Helpers that give every module the same shape: one static library per folder under
# src/, one GoogleTest binary per folder under tests/.

set(ARGUS_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wno-missing-field-initializers -Werror)

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
  gtest_discover_tests(test_${module} DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS "unit\\;${module}" TIMEOUT 300)
endfunction()
