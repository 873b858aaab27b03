# Third-party dependencies, all from Debian 12 packages (see scripts/setup.sh).
# Imported targets make their include directories SYSTEM, so their warnings stay out
# of our -Werror build.
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)
# Asio 1.74 enables co_await for clang only with libc++'s <experimental/coroutine>; clang
# 14 with libstdc++'s <coroutine> works as GCC does, so say so (clang builds: fuzzing).
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  add_compile_definitions(BOOST_ASIO_HAS_CO_AWAIT=1)
endif()
find_package(OpenSSL 3 REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(OpenCV 4.6 REQUIRED COMPONENTS core imgproc imgcodecs videoio video objdetect dnn)
pkg_check_modules(TURBOJPEG REQUIRED IMPORTED_TARGET libturbojpeg)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(LIBJWT REQUIRED IMPORTED_TARGET libjwt)
pkg_check_modules(MOSQUITTO REQUIRED IMPORTED_TARGET libmosquitto)
if(ARGUS_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
