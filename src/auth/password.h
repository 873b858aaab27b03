// Password hashing (argon2id through libsodium) and the password policy.
//
// Every function is thread-safe. Hashing and verifying are deliberately slow and
// memory-hungry (at least kMinPasswordMemLimit bytes each): callers bound how many run at
// once (AuthService does). Nothing here logs or returns a password.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace argus::auth {

// The smallest cost accepted, after OWASP's argon2id recommendation (19 MiB, 2 passes, 1
// lane). Enforced: hash_password refuses anything cheaper, in tests too.
inline constexpr unsigned long long kMinPasswordOpsLimit = 2;
inline constexpr std::size_t kMinPasswordMemLimit = 19 * 1024 * 1024;  // bytes (19456 KiB)

struct PasswordHashParams {
  unsigned long long opslimit = kMinPasswordOpsLimit;
  std::size_t memlimit = kMinPasswordMemLimit;  // bytes
};

// Password length bounds, in characters (Unicode code points).
inline constexpr std::size_t kMinPasswordLength = 10;
inline constexpr std::size_t kMaxPasswordLength = 1024;

// Ok, or InvalidArgument with a message for the person choosing the password: shorter than
// kMinPasswordLength, longer than kMaxPasswordLength, not valid UTF-8, or (when `username`
// is given) equal to the username ignoring ASCII case.
Status check_password_policy(std::string_view password, std::string_view username = {});

// An encoded argon2id hash ("$argon2id$v=19$m=...,t=...,p=1$salt$hash") with a fresh
// random salt. InvalidArgument if `params` is below the minimums; ResourceExhausted if the
// memory cannot be allocated; Internal if libsodium cannot initialize. Does not apply the
// policy (call check_password_policy first).
Result<std::string> hash_password(std::string_view password, const PasswordHashParams& params = {});

// True if `password` matches `encoded_hash`. False for a wrong password and for a hash that
// is malformed or not argon2id (never an error: the caller answers "wrong password").
bool verify_password(std::string_view password, const std::string& encoded_hash);

// True if `encoded_hash` was made with parameters other than `params` (or is not a valid
// argon2id hash), so it should be recomputed after the next successful verify.
bool password_needs_rehash(const std::string& encoded_hash, const PasswordHashParams& params = {});

// Takes about as long as verify_password against a hash made with the default parameters,
// and always fails. Called when the account does not exist, so that the answer's timing
// does not tell which usernames exist. The reference hash is computed once, on first use.
void burn_equivalent_time(std::string_view password);

}  // namespace argus::auth
