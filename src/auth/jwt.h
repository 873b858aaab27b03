// Access tokens: compact JWTs signed with HS256 (libjwt), verified strictly.
//
// Verification order: size (at most kMaxTokenBytes, checked before any parsing); shape
// (three base64url segments); header, parsed and checked before libjwt sees the token
// (alg exactly "HS256", typ "JWT" if present, no "crit", a kid naming a key the ring
// accepts); signature (libjwt jwt_decode with that key); then the claims: exp and nbf
// with `leeway_s`, iat not in the future beyond the leeway, iss and aud exactly equal to
// the expected values, sub and jti present.
//
// Every failure is Unauthenticated with a short reason ("access token expired"); no
// message ever quotes the token. Thread-safe: no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/signing_keys.h"
#include "core/status.h"

namespace argus::auth {

inline constexpr std::size_t kMaxTokenBytes = 8 * 1024;

// The claims Argus puts into an access token. Times are Unix seconds.
struct AccessTokenClaims {
  std::string issuer;           // iss
  std::string audience;         // aud
  std::string subject;          // sub: the user id
  std::string username;         // name
  std::string role;             // role: the role when issued (informational; the user's current role rules)
  std::string token_id;         // jti: random, unique per token
  std::int64_t issued_at = 0;   // iat
  std::int64_t not_before = 0;  // nbf
  std::int64_t expires_at = 0;  // exp
  std::string key_id;           // kid (header); set by sign_access_token and verify
};

struct JwtVerifyOptions {
  std::string issuer = "argus";
  std::string audience = "argus-api";
  std::int64_t leeway_s = 30;  // tolerated clock skew for exp, nbf and iat
};

// Signs `claims` with `key` (HS256, header {"alg":"HS256","typ":"JWT","kid":key.id}).
// InvalidArgument if a string claim is empty where verify requires it (iss, aud, sub, jti)
// or the key is not kSigningKeyBytes long; Internal if libjwt fails.
Result<std::string> sign_access_token(const AccessTokenClaims& claims, const SigningKey& key);

// Verifies `token` as described above at time `now_s` (Unix seconds) and returns its
// claims. Unauthenticated with a short reason on any failure.
Result<AccessTokenClaims> verify_access_token(std::string_view token, const SigningKeys& keys,
                                              const JwtVerifyOptions& options, std::int64_t now_s);

}  // namespace argus::auth
