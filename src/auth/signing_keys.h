// SigningKeys: the ring of HMAC keys that sign access tokens, kept in
// <data_dir>/jwt-keys.json.
//
// The file holds secrets: it is created with mode 0600, replaced atomically (temporary
// file + rename), and refused on load when group or others may read it. One key is
// current (signs new tokens); keys replaced by rotate() keep verifying tokens for
// `retired_max_age_ms`, then are ignored and dropped at the next rotation.
//
// File format (JSON): {"format": 1, "keys": [{"id": "k...", "secret": "<base64url of 32
// bytes>", "created_at": <ms>, "retired_at": <ms, absent or 0 for the current key>}]}.
//
// Threading: every method may be called from any thread (a shared mutex guards the ring).
// One process owns the file; another process sharing the data directory sees a rotation
// only after reload().
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace argus::auth {

inline constexpr std::size_t kSigningKeyBytes = 32;  // HS256 with a 256-bit key

struct SigningKey {
  std::string id;      // public: goes into every token's "kid" header
  std::string secret;  // kSigningKeyBytes raw bytes; never logged
  UnixMillis created_at = 0;
  UnixMillis retired_at = 0;  // 0 = the current key
};

struct SigningKeysOptions {
  // How long a key replaced by rotate() still verifies tokens. Keep it above the access
  // token lifetime plus leeway, or a rotation logs everyone out early.
  std::int64_t retired_max_age_ms = 24LL * 3600 * 1000;
};

class SigningKeys {
 public:
  // The file name under the data directory.
  static constexpr std::string_view kFileName = "jwt-keys.json";

  // Loads <data_dir>/jwt-keys.json, or creates it (and data_dir) with one fresh key when
  // absent. Errors: FailedPrecondition if the file's mode lets group or others in, or it is
  // owned by another user (the message says how to fix it); Corruption if its content is
  // not a valid key ring; IOError if it cannot be read or written; Internal if libsodium
  // cannot initialize. `clock` is not owned and must outlive the ring.
  static Result<std::unique_ptr<SigningKeys>> open(const std::filesystem::path& data_dir,
                                                   const SigningKeysOptions& options, const Clock* clock);

  ~SigningKeys();
  SigningKeys(const SigningKeys&) = delete;
  SigningKeys& operator=(const SigningKeys&) = delete;

  // The key that signs new tokens.
  SigningKey current() const;
  // The key named `id` if it may verify tokens now (current, or retired less than
  // retired_max_age_ms ago); nullopt otherwise.
  std::optional<SigningKey> find(std::string_view id) const;
  // Ids of the keys find() accepts now, the current one first.
  std::vector<std::string> key_ids() const;

  // Makes a fresh key current, retires the previous one (retired_at = now) and drops keys
  // retired longer than retired_max_age_ms. The file is replaced first; on failure nothing
  // changes in memory either.
  Status rotate();
  // Re-reads the file (after another process rotated). On failure the ring is unchanged.
  Status reload();

  const std::filesystem::path& path() const { return path_; }

 private:
  SigningKeys(std::filesystem::path path, const SigningKeysOptions& options, const Clock* clock,
              std::vector<SigningKey> keys);
  bool usable(const SigningKey& key, UnixMillis now) const;

  // Constant after construction.
  const std::filesystem::path path_;
  const SigningKeysOptions options_;
  const Clock* const clock_;

  mutable std::shared_mutex mu_;
  std::vector<SigningKey> keys_;  // guarded by mu_; the current key first
};

}  // namespace argus::auth
