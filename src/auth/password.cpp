#include "auth/password.h"

#include <sodium.h>

#include <mutex>

#include "auth/crypto.h"

namespace argus::auth {
namespace {

// Counts code points; false if `text` is not valid UTF-8 (overlongs, surrogates and
// values above U+10FFFF included).
bool count_code_points(std::string_view text, std::size_t& count) {
  count = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    std::size_t len;
    char32_t cp;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > text.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
    ++count;
  }
  return true;
}

bool equal_ignoring_ascii_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

Status check_password_policy(std::string_view password, std::string_view username) {
  // Bytes bound the work before counting: a code point takes at most 4 bytes.
  if (password.size() > kMaxPasswordLength * 4) {
    return Status::invalid_argument("the password is too long: use at most " + std::to_string(kMaxPasswordLength) +
                                    " characters");
  }
  std::size_t length = 0;
  if (!count_code_points(password, length)) {
    return Status::invalid_argument("the password is not valid UTF-8 text");
  }
  if (length < kMinPasswordLength) {
    return Status::invalid_argument("the password is too short: use at least " + std::to_string(kMinPasswordLength) +
                                    " characters (a few unrelated words work well)");
  }
  if (length > kMaxPasswordLength) {
    return Status::invalid_argument("the password is too long: use at most " + std::to_string(kMaxPasswordLength) +
                                    " characters");
  }
  if (!username.empty() && equal_ignoring_ascii_case(password, username)) {
    return Status::invalid_argument("the password must not be the username");
  }
  return Status::ok_status();
}

Result<std::string> hash_password(std::string_view password, const PasswordHashParams& params) {
  ARGUS_RETURN_IF_ERROR(internal::init_sodium());
  if (params.opslimit < kMinPasswordOpsLimit || params.memlimit < kMinPasswordMemLimit) {
    return Status::invalid_argument("password hash parameters are below the minimum (opslimit " +
                                    std::to_string(kMinPasswordOpsLimit) + ", memlimit " +
                                    std::to_string(kMinPasswordMemLimit) + " bytes)");
  }
  if (params.opslimit > crypto_pwhash_OPSLIMIT_MAX || params.memlimit > crypto_pwhash_MEMLIMIT_MAX) {
    return Status::invalid_argument("password hash parameters are above libsodium's maximum");
  }
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), params.opslimit, params.memlimit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::resource_exhausted("hashing the password needs " + std::to_string(params.memlimit / (1024 * 1024)) +
                                      " MiB of memory, which could not be allocated");
  }
  return std::string(out);
}

bool verify_password(std::string_view password, const std::string& encoded_hash) {
  if (!internal::init_sodium().ok()) return false;
  // Only argon2id hashes are ours; anything else (including argon2i) is refused.
  if (encoded_hash.rfind("$argon2id$", 0) != 0 || encoded_hash.size() >= crypto_pwhash_STRBYTES) return false;
  return crypto_pwhash_str_verify(encoded_hash.c_str(), password.data(), password.size()) == 0;
}

bool password_needs_rehash(const std::string& encoded_hash, const PasswordHashParams& params) {
  if (!internal::init_sodium().ok()) return true;
  if (encoded_hash.rfind("$argon2id$", 0) != 0 || encoded_hash.size() >= crypto_pwhash_STRBYTES) return true;
  return crypto_pwhash_str_needs_rehash(encoded_hash.c_str(), params.opslimit, params.memlimit) != 0;
}

void burn_equivalent_time(std::string_view password) {
  static std::once_flag once;
  static std::string reference;
  bool computed_now = false;
  std::call_once(once, [&] {
    computed_now = true;  // hashing costs what verifying does: that was the burn
    std::string seed = internal::init_sodium().ok() ? internal::random_token(24) : std::string("argus-dummy-password");
    Result<std::string> hashed = hash_password(seed);
    reference = hashed.ok() ? *hashed : std::string();
    internal::wipe(seed);
  });
  if (computed_now || reference.empty()) return;
  (void)verify_password(password, reference);
}

}  // namespace argus::auth
