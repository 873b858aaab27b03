#include "cli/credentials.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

namespace argus::cli {
namespace {

using nlohmann::json;

constexpr int kFileVersion = 1;
constexpr std::size_t kMaxFileBytes = 4 * 1024 * 1024;

Status errno_status(const std::string& what) { return Status::io_error(what + ": " + std::strerror(errno)); }

// Creates each missing directory of `dir` with mode 0700 (existing ones are left as they are).
Status make_private_dirs(const std::filesystem::path& dir) {
  if (dir.empty()) return Status::ok_status();
  std::filesystem::path prefix;
  for (const auto& part : dir) {
    prefix /= part;
    struct stat st {};
    if (::stat(prefix.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return errno_status("cannot create directory " + prefix.string());
    }
  }
  return Status::ok_status();
}

Status write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::io_error(std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  return Status::ok_status();
}

Result<std::string> read_all(int fd, const std::string& path) {
  std::string data;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_status("cannot read " + path);
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
    if (data.size() > kMaxFileBytes) return Status::corruption(path + " is too large to be a credentials file");
  }
  return data;
}

std::optional<StoredCredential> parse_entry(const json& doc) {
  if (!doc.is_object()) return std::nullopt;
  StoredCredential c;
  for (auto [field, name] : {std::pair{&c.username, "username"}, std::pair{&c.access_token, "access_token"},
                             std::pair{&c.refresh_token, "refresh_token"}}) {
    auto it = doc.find(name);
    if (it == doc.end() || !it->is_string()) return std::nullopt;
    *field = it->get<std::string>();
  }
  auto expires = doc.find("access_expires_at");
  if (expires == doc.end() || !expires->is_string()) return std::nullopt;
  auto at = parse_rfc3339(expires->get<std::string>());
  if (!at) return std::nullopt;
  c.access_expires_at = *at;
  if (c.refresh_token.empty()) return std::nullopt;
  return c;
}

}  // namespace

Result<std::string> credentials_path(std::string_view argus_credentials, std::string_view xdg_config_home,
                                     std::string_view home) {
  if (!argus_credentials.empty()) return std::string(argus_credentials);
  if (!xdg_config_home.empty()) return std::string(xdg_config_home) + "/argus/credentials.json";
  if (!home.empty()) return std::string(home) + "/.config/argus/credentials.json";
  return Status::failed_precondition("cannot tell where to keep credentials: set ARGUS_CREDENTIALS or HOME");
}

CredentialStore::Lock::Lock(Lock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

CredentialStore::Lock& CredentialStore::Lock::operator=(Lock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

CredentialStore::Lock::~Lock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

Result<CredentialStore::Lock> CredentialStore::lock() const {
  ARGUS_RETURN_IF_ERROR(make_private_dirs(std::filesystem::path(path_).parent_path()));
  std::string lock_path = path_ + ".lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return errno_status("cannot open " + lock_path);
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    Status s = errno_status("cannot lock " + lock_path);
    ::close(fd);
    return s;
  }
  return Lock(fd);
}

Result<CredentialMap> CredentialStore::load() const {
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return CredentialMap{};
    return errno_status("cannot open credentials file " + path_);
  }
  auto data = read_all(fd, path_);
  ::close(fd);
  if (!data.ok()) return data.status();
  const std::string damaged = "credentials file " + path_ + " is damaged; remove it and run argus login";
  json doc = json::parse(*data, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return Status::corruption(damaged);
  if (auto v = doc.find("version"); v != doc.end() && (!v->is_number_integer() || v->get<int>() > kFileVersion)) {
    return Status::failed_precondition("credentials file " + path_ + " was written by a newer argus");
  }
  auto servers = doc.find("servers");
  if (servers == doc.end() || !servers->is_object()) return Status::corruption(damaged);
  CredentialMap out;
  for (const auto& [server, entry] : servers->items()) {
    // A malformed entry is skipped (as if signed out) rather than blocking every server.
    if (auto c = parse_entry(entry)) out.emplace(server, std::move(*c));
  }
  return out;
}

Result<std::optional<StoredCredential>> CredentialStore::get(const std::string& server) const {
  ARGUS_ASSIGN_OR_RETURN(CredentialMap all, load());
  auto it = all.find(server);
  if (it == all.end()) return std::optional<StoredCredential>();
  return std::optional<StoredCredential>(std::move(it->second));
}

Status CredentialStore::save(const Lock& /*lock*/, const CredentialMap& credentials) const {
  std::filesystem::path path(path_);
  ARGUS_RETURN_IF_ERROR(make_private_dirs(path.parent_path()));
  json servers = json::object();
  for (const auto& [server, c] : credentials) {
    servers[server] = {{"username", c.username},
                       {"access_token", c.access_token},
                       {"access_expires_at", format_rfc3339(c.access_expires_at)},
                       {"refresh_token", c.refresh_token}};
  }
  const std::string data = json{{"version", kFileVersion}, {"servers", std::move(servers)}}.dump(
                               2, ' ', false, json::error_handler_t::replace) +
                           "\n";

  std::string tmp = path_ + ".tmp-XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0) return errno_status("cannot create a temporary file next to " + path_);
  Status s;
  if (::fchmod(fd, 0600) != 0) s = errno_status("cannot set the mode of " + tmp);
  if (s.ok()) s = write_all(fd, data).with_context("cannot write " + tmp);
  if (s.ok() && ::fsync(fd) != 0) s = errno_status("cannot sync " + tmp);
  if (::close(fd) != 0 && s.ok()) s = errno_status("cannot close " + tmp);
  if (s.ok() && ::rename(tmp.c_str(), path_.c_str()) != 0) s = errno_status("cannot replace " + path_);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  // Make the rename itself durable.
  std::string dir = path.parent_path().empty() ? "." : path.parent_path().string();
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::ok_status();
}

Status CredentialStore::put(const Lock& lock, const std::string& server, const StoredCredential& credential) const {
  ARGUS_ASSIGN_OR_RETURN(CredentialMap all, load());
  all[server] = credential;
  return save(lock, all);
}

Result<bool> CredentialStore::remove(const Lock& lock, const std::string& server) const {
  ARGUS_ASSIGN_OR_RETURN(CredentialMap all, load());
  if (all.erase(server) == 0) return false;
  ARGUS_RETURN_IF_ERROR(save(lock, all));
  return true;
}

}  // namespace argus::cli
