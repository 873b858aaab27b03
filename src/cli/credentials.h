// The credentials file: where `argus login` keeps a session per server, so later commands
// need no --token.
//
// One JSON file for every server (keyed by normalize_server()), holding for each the
// username, the access token and its expiry, and the refresh token; never a password.
// It is written with mode 0600 in a directory created 0700, through a temporary file and
// rename(), so a reader sees the old or the new file, never a partial one.
//
// Threading and processes: a CredentialStore is not thread-safe. Several argus processes may
// share the file: readers need nothing (rename is atomic); every read-modify-write (and a
// token refresh, whose refresh token is single use) runs under lock(), an exclusive flock on
// "<path>.lock", and re-reads the file once it holds it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"

namespace argus::cli {

struct StoredCredential {
  std::string username;
  std::string access_token;
  UnixMillis access_expires_at = 0;  // when the access token stops working
  std::string refresh_token;
};

// Server base URL (normalized) -> its session.
using CredentialMap = std::map<std::string, StoredCredential>;

// The credentials file's path: `argus_credentials` ($ARGUS_CREDENTIALS) if set, else
// `xdg_config_home`/argus/credentials.json, else `home`/.config/argus/credentials.json.
// FailedPrecondition when all three are empty.
Result<std::string> credentials_path(std::string_view argus_credentials, std::string_view xdg_config_home,
                                     std::string_view home);

class CredentialStore {
 public:
  // An exclusive lock on the file, held until destroyed. Move-only.
  class Lock {
   public:
    Lock(Lock&& other) noexcept;
    Lock& operator=(Lock&& other) noexcept;
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;
    ~Lock();

   private:
    friend class CredentialStore;
    explicit Lock(int fd) : fd_(fd) {}
    int fd_ = -1;
  };

  explicit CredentialStore(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }

  // Blocks until no other process holds the lock; creates the directory (0700) if missing.
  // IOError if the lock file cannot be created. Not re-entrant: a second lock() in the same
  // process while one is held deadlocks.
  Result<Lock> lock() const;

  // Every stored session; empty when the file does not exist. Corruption if it is not a
  // credentials file, IOError if it cannot be read.
  Result<CredentialMap> load() const;
  // The session for `server` (normalized by the caller), nullopt if none.
  Result<std::optional<StoredCredential>> get(const std::string& server) const;

  // Replaces the whole file atomically (mode 0600). The caller holds `lock`.
  Status save(const Lock& lock, const CredentialMap& credentials) const;
  // Read-modify-write of one server's entry under the caller's `lock`.
  Status put(const Lock& lock, const std::string& server, const StoredCredential& credential) const;
  // Removes a server's entry; false if there was none.
  Result<bool> remove(const Lock& lock, const std::string& server) const;

 private:
  std::string path_;
};

}  // namespace argus::cli
