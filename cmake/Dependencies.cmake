# Third-party dependencies, all from Debian 12 packages (see scripts/setup.sh).
# Imported targets make their include directories SYSTEM, so their warnings stay out
# of our -Werror build.
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
if(ARGUS_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
