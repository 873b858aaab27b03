#include "auth/jwt.h"

#include <jwt.h>

#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "auth/crypto.h"
#include "core/ids.h"

namespace argus::auth {
namespace {

using nlohmann::json;

struct JwtFree {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

struct CFree {
  void operator()(char* p) const { std::free(p); }
};

Status reject(std::string reason) { return Status::unauthenticated(std::move(reason)); }

bool is_base64url(std::string_view s) {
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// A string claim; nullopt if absent or not a string.
std::optional<std::string> string_claim(const json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// An integer claim; nullopt if absent or not an integer (a string "123" is not).
std::optional<std::int64_t> int_claim(const json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

}  // namespace

Result<std::string> sign_access_token(const AccessTokenClaims& claims, const SigningKey& key) {
  if (claims.issuer.empty() || claims.audience.empty() || claims.subject.empty() || claims.token_id.empty()) {
    return Status::invalid_argument("an access token needs iss, aud, sub and jti");
  }
  if (key.secret.size() != kSigningKeyBytes || key.id.empty()) {
    return Status::invalid_argument("the signing key is not a " + std::to_string(kSigningKeyBytes) + "-byte key");
  }
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return Status::internal("libjwt could not allocate a token");
  JwtPtr jwt(raw);
  int rc = jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(key.secret.data()),
                       static_cast<int>(key.secret.size()));
  rc = rc != 0 ? rc : jwt_add_header(jwt.get(), "kid", key.id.c_str());
  rc = rc != 0 ? rc : jwt_add_grant(jwt.get(), "iss", claims.issuer.c_str());
  rc = rc != 0 ? rc : jwt_add_grant(jwt.get(), "aud", claims.audience.c_str());
  rc = rc != 0 ? rc : jwt_add_grant(jwt.get(), "sub", claims.subject.c_str());
  rc = rc != 0 ? rc : jwt_add_grant(jwt.get(), "name", claims.username.c_str());
  rc = rc != 0 ? rc : jwt_add_grant(jwt.get(), "role", claims.role.c_str());
  rc = rc != 0 ? rc : jwt_add_grant(jwt.get(), "jti", claims.token_id.c_str());
  rc = rc != 0 ? rc : jwt_add_grant_int(jwt.get(), "iat", static_cast<long>(claims.issued_at));
  rc = rc != 0 ? rc : jwt_add_grant_int(jwt.get(), "nbf", static_cast<long>(claims.not_before));
  rc = rc != 0 ? rc : jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(claims.expires_at));
  if (rc != 0) return Status::internal("libjwt could not build the token (error " + std::to_string(rc) + ")");
  std::unique_ptr<char, CFree> encoded(jwt_encode_str(jwt.get()));
  if (!encoded) return Status::internal("libjwt could not sign the token");
  return std::string(encoded.get());
}

Result<AccessTokenClaims> verify_access_token(std::string_view token, const SigningKeys& keys,
                                              const JwtVerifyOptions& options, std::int64_t now_s) {
  if (token.size() > kMaxTokenBytes) return reject("access token too large");
  if (token.empty()) return reject("access token missing");

  // Shape: header.payload.signature, each non-empty base64url.
  std::size_t dot1 = token.find('.');
  std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return reject("malformed access token");
  }
  std::string_view header_b64 = token.substr(0, dot1);
  std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string_view signature_b64 = token.substr(dot2 + 1);
  if (header_b64.empty() || payload_b64.empty() || !is_base64url(header_b64) || !is_base64url(payload_b64) ||
      !is_base64url(signature_b64)) {
    return reject("malformed access token");
  }
  if (signature_b64.empty()) return reject("access token is not signed");

  // Header, before libjwt: libjwt would honour whatever algorithm the token names.
  std::optional<std::string> header_text = base64url_decode(header_b64);
  if (!header_text) return reject("malformed access token");
  json header = json::parse(*header_text, nullptr, false);
  if (!header.is_object()) return reject("malformed access token header");
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() || alg->get<std::string>() != "HS256") {
    return reject("unsupported access token algorithm");
  }
  if (auto typ = header.find("typ"); typ != header.end() && (!typ->is_string() || typ->get<std::string>() != "JWT")) {
    return reject("unsupported access token type");
  }
  if (header.contains("crit")) return reject("unsupported access token header");
  auto kid = header.find("kid");
  if (kid == header.end() || !kid->is_string()) return reject("access token names no signing key");
  std::optional<SigningKey> key = keys.find(kid->get<std::string>());
  if (!key) return reject("access token signed with an unknown key");

  // Signature, by libjwt with the pinned key.
  std::string token_z(token);
  jwt_t* raw = nullptr;
  int rc = jwt_decode(&raw, token_z.c_str(), reinterpret_cast<const unsigned char*>(key->secret.data()),
                      static_cast<int>(key->secret.size()));
  JwtPtr jwt(raw);
  internal::wipe(key->secret);
  if (rc != 0 || !jwt) return reject("bad access token signature");
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256) return reject("unsupported access token algorithm");

  // Claims, from the payload libjwt has just verified (the same bytes), with strict types.
  std::optional<std::string> payload_text = base64url_decode(payload_b64);
  if (!payload_text) return reject("malformed access token");
  json payload = json::parse(*payload_text, nullptr, false);
  if (!payload.is_object()) return reject("malformed access token payload");
  AccessTokenClaims claims;
  claims.key_id = key->id;
  std::optional<std::string> iss = string_claim(payload, "iss");
  std::optional<std::string> aud = string_claim(payload, "aud");
  std::optional<std::string> sub = string_claim(payload, "sub");
  std::optional<std::string> jti = string_claim(payload, "jti");
  std::optional<std::int64_t> iat = int_claim(payload, "iat");
  std::optional<std::int64_t> nbf = int_claim(payload, "nbf");
  std::optional<std::int64_t> exp = int_claim(payload, "exp");
  if (!exp) return reject("access token has no expiry");
  if (payload.contains("nbf") && !nbf) return reject("access token has a bad not-before time");
  if (now_s - options.leeway_s >= *exp) return reject("access token expired");
  if (nbf && now_s + options.leeway_s < *nbf) return reject("access token not yet valid");
  if (!iat) return reject("access token has no issue time");
  if (now_s + options.leeway_s < *iat) return reject("access token issued in the future");
  if (!iss || *iss != options.issuer) return reject("access token from another issuer");
  if (!aud || *aud != options.audience) return reject("access token for another audience");
  if (!sub || sub->empty()) return reject("access token names no subject");
  if (!jti || jti->empty()) return reject("access token has no id");
  claims.issuer = std::move(*iss);
  claims.audience = std::move(*aud);
  claims.subject = std::move(*sub);
  claims.token_id = std::move(*jti);
  claims.username = string_claim(payload, "name").value_or("");
  claims.role = string_claim(payload, "role").value_or("");
  claims.issued_at = *iat;
  claims.not_before = nbf.value_or(*iat);
  claims.expires_at = *exp;
  return claims;
}

}  // namespace argus::auth
