#include "auth/crypto.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "core/ids.h"

namespace argus::auth::internal {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Writes all of `data` to `fd`, retrying on EINTR and short writes.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

Status init_sodium() {
  static std::once_flag once;
  static Status outcome;
  std::call_once(once, [] {
    if (sodium_init() < 0) outcome = Status::internal("libsodium failed to initialize (no usable random source?)");
  });
  return outcome;
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  randombytes_buf(out.data(), out.size());
  return out;
}

std::string random_token(std::size_t bytes) {
  std::string raw = random_bytes(bytes);
  std::string out = base64url_encode(raw);
  wipe(raw);
  return out;
}

std::string random_hex(std::size_t bytes) {
  std::string raw = random_bytes(bytes);
  std::string hex(bytes * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  hex.pop_back();
  return hex;
}

std::uint32_t random_below(std::uint32_t upper) { return randombytes_uniform(upper); }

std::string sha256_hex(std::string_view data) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return std::string(hex, crypto_hash_sha256_BYTES * 2);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

void wipe(std::string& secret) {
  if (!secret.empty()) sodium_memzero(secret.data(), secret.size());
  secret.clear();
}

Status write_file_atomic(const std::filesystem::path& path, std::string_view content, mode_t mode, bool replace) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::string tmpl = (dir / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  // mkstemp creates the file with mode 0600 whatever the umask; fchmod sets the final mode
  // before any content is written.
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return Status::io_error("create a temporary file next to " + path.string() + ": " + errno_text(errno));
  auto fail = [&](std::string_view step) {
    int err = errno;
    ::close(fd);
    ::unlink(tmpl.c_str());
    return Status::io_error(std::string(step) + " " + path.string() + ": " + errno_text(err));
  };
  if (::fchmod(fd, mode) != 0) return fail("set the mode of");
  if (!write_all(fd, content)) return fail("write");
  if (::fsync(fd) != 0) return fail("sync");
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmpl.c_str());
    return Status::io_error("close " + path.string() + ": " + errno_text(err));
  }
  if (replace) {
    if (::rename(tmpl.c_str(), path.c_str()) != 0) {
      int err = errno;
      ::unlink(tmpl.c_str());
      return Status::io_error("replace " + path.string() + ": " + errno_text(err));
    }
  } else {
    int rc = ::link(tmpl.c_str(), path.c_str());
    int err = errno;
    ::unlink(tmpl.c_str());
    if (rc != 0) {
      if (err == EEXIST) return Status::already_exists(path.string() + " already exists");
      return Status::io_error("create " + path.string() + ": " + errno_text(err));
    }
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);  // best effort: the rename is already visible
    ::close(dfd);
  }
  return Status::ok_status();
}

Result<std::string> read_small_file(const std::filesystem::path& path, std::size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return Status::not_found(path.string() + " does not exist");
    return Status::io_error("open " + path.string() + ": " + errno_text(err));
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Status::io_error("read " + path.string() + ": " + errno_text(err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max_bytes) {
      ::close(fd);
      wipe(out);
      return Status::invalid_argument(path.string() + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  ::close(fd);
  return out;
}

}  // namespace argus::auth::internal
