// Small cryptographic and file helpers shared by the auth module's sources. Private to
// the module. Every function is thread-safe.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"

namespace argus::auth::internal {

// Initializes libsodium once per process (later calls return the first outcome).
// Internal if the library cannot initialize (no usable random source).
Status init_sodium();

// `n` bytes from the OS's cryptographic random generator. Requires init_sodium().
std::string random_bytes(std::size_t n);
// `bytes` random bytes as base64url without padding (32 bytes -> 43 characters).
std::string random_token(std::size_t bytes);
// `bytes` random bytes as lowercase hex (2 * bytes characters).
std::string random_hex(std::size_t bytes);
// A uniform random integer in [0, upper).
std::uint32_t random_below(std::uint32_t upper);

// Lowercase hex SHA-256 of `data` (64 characters).
std::string sha256_hex(std::string_view data);
// Compares without a data-dependent early exit (lengths are not secret).
bool constant_time_equal(std::string_view a, std::string_view b);
// Overwrites the string's bytes before it is released.
void wipe(std::string& secret);

// Writes `content` to `path` atomically: a temporary file in the same directory created
// with `mode`, fsync, then rename over `path` (`replace`) or hard-link to `path` (not
// `replace`: AlreadyExists if `path` exists, so two racing creators cannot both win), and
// fsync of the directory. IOError naming the step.
Status write_file_atomic(const std::filesystem::path& path, std::string_view content, mode_t mode, bool replace);

// Reads a whole (small) file. NotFound if it does not exist; IOError otherwise.
Result<std::string> read_small_file(const std::filesystem::path& path, std::size_t max_bytes);

}  // namespace argus::auth::internal
