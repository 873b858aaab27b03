#include "auth/signing_keys.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <system_error>
#include <utility>

#include "auth/crypto.h"
#include "core/ids.h"

namespace argus::auth {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxFileBytes = 1 << 20;

bool valid_key_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

SigningKey fresh_key(UnixMillis now) {
  SigningKey key;
  key.id = "k" + internal::random_hex(8);
  key.secret = internal::random_bytes(kSigningKeyBytes);
  key.created_at = now;
  return key;
}

std::string encode(const std::vector<SigningKey>& keys) {
  json list = json::array();
  for (const SigningKey& k : keys) {
    json entry = {{"id", k.id}, {"secret", base64url_encode(k.secret)}, {"created_at", k.created_at}};
    if (k.retired_at != 0) entry["retired_at"] = k.retired_at;
    list.push_back(std::move(entry));
  }
  return json{{"format", 1}, {"keys", std::move(list)}}.dump(2) + "\n";
}

// Parses the file's content; the current key first. Corruption naming the problem.
Result<std::vector<SigningKey>> decode(const std::string& text, const std::string& path) {
  auto bad = [&](const std::string& problem) {
    return Status::corruption(path + " is not a valid signing key file: " + problem +
                              " (restore it from a backup, or delete it to generate a new key and sign everyone out)");
  };
  json doc = json::parse(text, nullptr, false);
  if (!doc.is_object()) return bad("not a JSON object");
  if (!doc.contains("format") || doc["format"] != 1) return bad("unknown \"format\" (expected 1)");
  if (!doc.contains("keys") || !doc["keys"].is_array() || doc["keys"].empty())
    return bad("\"keys\" is not a list of keys");
  std::vector<SigningKey> keys;
  for (const json& entry : doc["keys"]) {
    if (!entry.is_object()) return bad("a key is not an object");
    SigningKey k;
    if (!entry.contains("id") || !entry["id"].is_string() || !valid_key_id(entry["id"].get<std::string>())) {
      return bad("a key has no valid \"id\"");
    }
    k.id = entry["id"].get<std::string>();
    if (!entry.contains("secret") || !entry["secret"].is_string()) return bad("key '" + k.id + "' has no \"secret\"");
    std::optional<std::string> secret = base64url_decode(entry["secret"].get<std::string>());
    if (!secret || secret->size() != kSigningKeyBytes) {
      return bad("the secret of key '" + k.id + "' is not " + std::to_string(kSigningKeyBytes) + " base64url bytes");
    }
    k.secret = std::move(*secret);
    if (entry.contains("created_at")) {
      if (!entry["created_at"].is_number_integer()) return bad("key '" + k.id + "' has a bad \"created_at\"");
      k.created_at = entry["created_at"].get<std::int64_t>();
    }
    if (entry.contains("retired_at") && !entry["retired_at"].is_null()) {
      if (!entry["retired_at"].is_number_integer()) return bad("key '" + k.id + "' has a bad \"retired_at\"");
      k.retired_at = entry["retired_at"].get<std::int64_t>();
    }
    for (const SigningKey& other : keys) {
      if (other.id == k.id) return bad("key id '" + k.id + "' appears twice");
    }
    keys.push_back(std::move(k));
  }
  auto current_count = std::count_if(keys.begin(), keys.end(), [](const SigningKey& k) { return k.retired_at == 0; });
  if (current_count != 1) return bad("exactly one key must be current (without \"retired_at\")");
  std::stable_partition(keys.begin(), keys.end(), [](const SigningKey& k) { return k.retired_at == 0; });
  return keys;
}

// FailedPrecondition unless `path` is a regular file owned by us with no group/other bits.
Status check_file_mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT) return Status::not_found(path + " does not exist");
    return Status::io_error("stat " + path + ": " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) return Status::failed_precondition(path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::failed_precondition(path + " has mode " + mode +
                                       " but holds token signing secrets: it must be readable by its owner only "
                                       "(chmod 600 " +
                                       path + ")");
  }
  if (st.st_uid != ::geteuid()) {
    return Status::failed_precondition(path + " is owned by another user (uid " + std::to_string(st.st_uid) +
                                       "); it must belong to the user running argus (uid " +
                                       std::to_string(::geteuid()) + ")");
  }
  return Status::ok_status();
}

Result<std::vector<SigningKey>> load(const std::string& path) {
  ARGUS_RETURN_IF_ERROR(check_file_mode(path));
  ARGUS_ASSIGN_OR_RETURN(std::string text, internal::read_small_file(path, kMaxFileBytes));
  Result<std::vector<SigningKey>> keys = decode(text, path);
  internal::wipe(text);
  return keys;
}

void wipe_keys(std::vector<SigningKey>& keys) {
  for (SigningKey& k : keys) internal::wipe(k.secret);
  keys.clear();
}

}  // namespace

Result<std::unique_ptr<SigningKeys>> SigningKeys::open(const std::filesystem::path& data_dir,
                                                       const SigningKeysOptions& options, const Clock* clock) {
  ARGUS_RETURN_IF_ERROR(internal::init_sodium());
  if (clock == nullptr) clock = &system_clock();
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Status::io_error("create the data directory " + data_dir.string() + ": " + ec.message());
  std::filesystem::path path = data_dir / kFileName;

  Result<std::vector<SigningKey>> keys = load(path.string());
  if (!keys.ok() && keys.status().code() == StatusCode::kNotFound) {
    std::vector<SigningKey> fresh{fresh_key(clock->now_ms())};
    std::string text = encode(fresh);
    Status written = internal::write_file_atomic(path, text, 0600, /*replace=*/false);
    internal::wipe(text);
    if (written.ok()) {
      keys = std::move(fresh);
    } else if (written.code() == StatusCode::kAlreadyExists) {
      wipe_keys(fresh);
      keys = load(path.string());  // another process created it first: use theirs
    } else {
      wipe_keys(fresh);
      return written;
    }
  }
  if (!keys.ok()) return keys.status();
  return std::unique_ptr<SigningKeys>(new SigningKeys(std::move(path), options, clock, std::move(keys).value()));
}

SigningKeys::SigningKeys(std::filesystem::path path, const SigningKeysOptions& options, const Clock* clock,
                         std::vector<SigningKey> keys)
    : path_(std::move(path)), options_(options), clock_(clock), keys_(std::move(keys)) {}

SigningKeys::~SigningKeys() { wipe_keys(keys_); }

bool SigningKeys::usable(const SigningKey& key, UnixMillis now) const {
  return key.retired_at == 0 || now - key.retired_at < options_.retired_max_age_ms;
}

SigningKey SigningKeys::current() const {
  std::shared_lock lock(mu_);
  return keys_.front();
}

std::optional<SigningKey> SigningKeys::find(std::string_view id) const {
  UnixMillis now = clock_->now_ms();
  std::shared_lock lock(mu_);
  for (const SigningKey& k : keys_) {
    if (k.id == id) {
      if (!usable(k, now)) return std::nullopt;
      return k;
    }
  }
  return std::nullopt;
}

std::vector<std::string> SigningKeys::key_ids() const {
  UnixMillis now = clock_->now_ms();
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  for (const SigningKey& k : keys_) {
    if (usable(k, now)) out.push_back(k.id);
  }
  return out;
}

Status SigningKeys::rotate() {
  UnixMillis now = clock_->now_ms();
  std::unique_lock lock(mu_);
  std::vector<SigningKey> next{fresh_key(now)};
  for (const SigningKey& k : keys_) {
    SigningKey copy = k;
    if (copy.retired_at == 0) copy.retired_at = now;
    if (usable(copy, now)) next.push_back(std::move(copy));
  }
  std::string text = encode(next);
  Status written = internal::write_file_atomic(path_, text, 0600, /*replace=*/true);
  internal::wipe(text);
  if (!written.ok()) {
    wipe_keys(next);
    return written.with_context("rotate the token signing key");
  }
  wipe_keys(keys_);
  keys_ = std::move(next);
  return Status::ok_status();
}

Status SigningKeys::reload() {
  ARGUS_ASSIGN_OR_RETURN(std::vector<SigningKey> keys, load(path_.string()));
  std::unique_lock lock(mu_);
  wipe_keys(keys_);
  keys_ = std::move(keys);
  return Status::ok_status();
}

}  // namespace argus::auth
