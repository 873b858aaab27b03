// Access tokens: signing and the strict verification, against hand-made hostile tokens.
#include "auth/jwt.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <nlohmann/json.hpp>
#include <string>

#include "auth_testing.h"
#include "core/ids.h"
#include "testing/testing.h"

namespace argus::auth {
namespace {

using nlohmann::json;
using argus::testing::ManualClock;
using testing_support::unsigned_part;

std::string hmac_sha256(const std::string& key, const std::string& data) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return base64url_encode(std::string(reinterpret_cast<char*>(mac), sizeof mac));
}

std::string hmac_sha512(const std::string& key, const std::string& data) {
  unsigned char mac[crypto_auth_hmacsha512_BYTES];
  crypto_auth_hmacsha512_state st;
  crypto_auth_hmacsha512_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha512_update(&st, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  crypto_auth_hmacsha512_final(&st, mac);
  return base64url_encode(std::string(reinterpret_cast<char*>(mac), sizeof mac));
}

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    auto keys = SigningKeys::open(dir_.path(), {}, &clock_);
    ASSERT_TRUE(keys.ok()) << keys.status().to_string();
    keys_ = std::move(keys).value();
  }

  std::int64_t now() const { return clock_.now_ms() / 1000; }

  AccessTokenClaims claims() const {
    return {.issuer = "argus",
            .audience = "argus-api",
            .subject = "usr_1",
            .username = "alice",
            .role = "operator",
            .token_id = "jti-1",
            .issued_at = now(),
            .not_before = now(),
            .expires_at = now() + 900};
  }

  json payload() const {
    return {{"iss", "argus"}, {"aud", "argus-api"}, {"sub", "usr_1"}, {"name", "alice"},   {"role", "operator"},
            {"jti", "jti-1"}, {"iat", now()},       {"nbf", now()},   {"exp", now() + 900}};
  }
  json header(const std::string& alg = "HS256") const {
    return {{"alg", alg}, {"typ", "JWT"}, {"kid", keys_->current().id}};
  }
  // A token signed with HS256 and the current key over arbitrary header and payload.
  std::string forge(const json& h, const json& p) const {
    std::string part = unsigned_part(h, p);
    return part + "." + hmac_sha256(keys_->current().secret, part);
  }

  Result<AccessTokenClaims> verify(std::string_view token, std::int64_t at) const {
    return verify_access_token(token, *keys_, {}, at);
  }
  Result<AccessTokenClaims> verify(std::string_view token) const { return verify(token, now()); }

  // Unauthenticated, with `reason` in the message and the token nowhere in it.
  void expect_rejected(const std::string& token, const std::string& reason) const {
    Result<AccessTokenClaims> r = verify(token);
    ASSERT_FALSE(r.ok()) << "accepted: " << token;
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << r.status().to_string();
    EXPECT_NE(r.status().message().find(reason), std::string::npos) << r.status().message();
    if (token.size() > 8) {
      EXPECT_EQ(r.status().message().find(token), std::string::npos);
    }
    EXPECT_LT(r.status().message().size(), 80u);
  }

  testing::TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<SigningKeys> keys_;
};

TEST_F(JwtTest, ValidTokenRoundTripsEveryClaim) {
  Result<std::string> token = sign_access_token(claims(), keys_->current());
  ASSERT_TRUE(token.ok()) << token.status().to_string();
  EXPECT_EQ(std::count(token->begin(), token->end(), '.'), 2);
  Result<AccessTokenClaims> got = verify(*token);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  AccessTokenClaims want = claims();
  EXPECT_EQ(got->issuer, want.issuer);
  EXPECT_EQ(got->audience, want.audience);
  EXPECT_EQ(got->subject, want.subject);
  EXPECT_EQ(got->username, want.username);
  EXPECT_EQ(got->role, want.role);
  EXPECT_EQ(got->token_id, want.token_id);
  EXPECT_EQ(got->issued_at, want.issued_at);
  EXPECT_EQ(got->not_before, want.not_before);
  EXPECT_EQ(got->expires_at, want.expires_at);
  EXPECT_EQ(got->key_id, keys_->current().id);

  // The header is exactly what we pin.
  json h = json::parse(*base64url_decode(token->substr(0, token->find('.'))));
  EXPECT_EQ(h["alg"], "HS256");
  EXPECT_EQ(h["kid"], keys_->current().id);
  // A hand-made token over the same content verifies too (the forging helper is sound).
  EXPECT_TRUE(verify(forge(header(), payload())).ok());
}

TEST_F(JwtTest, SigningNeedsTheRequiredClaimsAndAFullKey) {
  AccessTokenClaims c = claims();
  c.subject.clear();
  EXPECT_EQ(sign_access_token(c, keys_->current()).status().code(), StatusCode::kInvalidArgument);
  SigningKey short_key = keys_->current();
  short_key.secret.resize(16);
  EXPECT_EQ(sign_access_token(claims(), short_key).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(JwtTest, AlgNoneIsRejectedInEveryForm) {
  for (const std::string alg : {"none", "None", "NONE", "nOnE"}) {
    json h = {{"alg", alg}, {"kid", keys_->current().id}};
    std::string part = unsigned_part(h, payload());
    expect_rejected(part + ".", "access token");
    expect_rejected(part + "." + hmac_sha256(keys_->current().secret, part), "algorithm");
  }
}

TEST_F(JwtTest, OtherAlgorithmsAreRejectedEvenWhenSignedWithTheKey) {
  // HS512 with the very same key: libjwt alone would accept it.
  std::string part = unsigned_part(header("HS512"), payload());
  expect_rejected(part + "." + hmac_sha512(keys_->current().secret, part), "algorithm");
  // RS256 naming our kid (the classic key-confusion attack).
  std::string rs = unsigned_part(header("RS256"), payload());
  expect_rejected(rs + "." + hmac_sha256(keys_->current().secret, rs), "algorithm");
  // Missing or non-string alg.
  json no_alg = header();
  no_alg.erase("alg");
  expect_rejected(forge(no_alg, payload()), "algorithm");
  json number_alg = header();
  number_alg["alg"] = 256;
  expect_rejected(forge(number_alg, payload()), "algorithm");
  json lower = header("hs256");
  expect_rejected(forge(lower, payload()), "algorithm");
}

TEST_F(JwtTest, HeaderTypeCritAndKidAreChecked) {
  json typ = header();
  typ["typ"] = "JOSE+JSON";
  expect_rejected(forge(typ, payload()), "type");
  json crit = header();
  crit["crit"] = json::array({"exp"});
  expect_rejected(forge(crit, payload()), "header");
  json unknown = header();
  unknown["kid"] = "k-not-ours";
  expect_rejected(forge(unknown, payload()), "unknown key");
  json no_kid = header();
  no_kid.erase("kid");
  expect_rejected(forge(no_kid, payload()), "signing key");
  json no_typ = header();
  no_typ.erase("typ");
  EXPECT_TRUE(verify(forge(no_typ, payload())).ok()) << "typ is optional";
}

TEST_F(JwtTest, BadSignaturesAndTamperedPayloadsAreRejected) {
  Result<std::string> token = sign_access_token(claims(), keys_->current());
  ASSERT_TRUE(token.ok());
  std::string flipped = *token;
  char& last = flipped[flipped.size() - 5];
  last = last == 'A' ? 'B' : 'A';
  expect_rejected(flipped, "signature");

  // Elevate the role, keep the signature.
  json p = payload();
  p["role"] = "admin";
  std::string tampered = unsigned_part(header(), p) + token->substr(token->rfind('.'));
  expect_rejected(tampered, "signature");

  // A known kid but another secret.
  std::string part = unsigned_part(header(), payload());
  expect_rejected(part + "." + hmac_sha256(std::string(32, 'x'), part), "signature");
  // Signature stripped.
  expect_rejected(token->substr(0, token->rfind('.') + 1), "not signed");
}

TEST_F(JwtTest, ExpiryAndNotBeforeHonourTheLeeway) {
  Result<std::string> token = sign_access_token(claims(), keys_->current());
  ASSERT_TRUE(token.ok());
  const std::int64_t exp = claims().expires_at;
  EXPECT_TRUE(verify(*token, exp + 29).ok());
  Result<AccessTokenClaims> late = verify(*token, exp + 30);
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.status().message().find("expired"), std::string::npos);
  EXPECT_FALSE(verify(*token, exp + 3600).ok());

  json p = payload();
  p["nbf"] = now() + 30;
  EXPECT_TRUE(verify(forge(header(), p)).ok()) << "within the leeway";
  p["nbf"] = now() + 31;
  expect_rejected(forge(header(), p), "not yet valid");
  p["nbf"] = now();
  p["iat"] = now() + 300;
  expect_rejected(forge(header(), p), "future");
  json no_exp = payload();
  no_exp.erase("exp");
  expect_rejected(forge(header(), no_exp), "expiry");
  json string_exp = payload();
  string_exp["exp"] = std::to_string(now() + 900);
  expect_rejected(forge(header(), string_exp), "expiry");
}

TEST_F(JwtTest, IssuerAudienceSubjectAndIdMustMatch) {
  json p = payload();
  p["iss"] = "someone-else";
  expect_rejected(forge(header(), p), "issuer");
  p = payload();
  p.erase("iss");
  expect_rejected(forge(header(), p), "issuer");
  p = payload();
  p["aud"] = "argus-api-2";
  expect_rejected(forge(header(), p), "audience");
  p = payload();
  p["aud"] = json::array({"argus-api"});
  expect_rejected(forge(header(), p), "audience");
  p = payload();
  p["sub"] = "";
  expect_rejected(forge(header(), p), "subject");
  p = payload();
  p.erase("jti");
  expect_rejected(forge(header(), p), "id");

  // Options choose what is expected.
  Result<std::string> token = sign_access_token(claims(), keys_->current());
  ASSERT_TRUE(token.ok());
  EXPECT_FALSE(verify_access_token(*token, *keys_, {.issuer = "other"}, now()).ok());
  EXPECT_FALSE(verify_access_token(*token, *keys_, {.audience = "other"}, now()).ok());
}

TEST_F(JwtTest, GarbageIsRejectedWithoutCrashing) {
  std::string part = unsigned_part(header(), payload());
  const std::vector<std::string> garbage = {
      "",
      "abc",
      "a.b",
      "a.b.c.d",
      "...",
      "!!!.###.$$$",
      part + ".sig.extra",
      base64url_encode("not json") + "." + base64url_encode(payload().dump()) + ".c2ln",
      base64url_encode("[1,2]") + "." + base64url_encode(payload().dump()) + ".c2ln",
      base64url_encode(header().dump()) + "." + base64url_encode("not json") + ".c2ln",
      std::string("eyJ") + std::string(100, '\0') + ".e30.e30",
      "Bearer " + part + ".x",
  };
  for (const std::string& token : garbage) {
    Result<AccessTokenClaims> r = verify(token);
    EXPECT_FALSE(r.ok()) << token;
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  }
  // A payload that is valid JSON but not an object, correctly signed.
  std::string array_part = base64url_encode(header().dump()) + "." + base64url_encode("[1]");
  EXPECT_FALSE(verify(array_part + "." + hmac_sha256(keys_->current().secret, array_part)).ok());
}

TEST_F(JwtTest, OversizedTokensAreRejectedBeforeParsing) {
  json p = payload();
  p["pad"] = std::string(9000, 'x');
  std::string big = forge(header(), p);  // correctly signed, merely too large
  ASSERT_GT(big.size(), kMaxTokenBytes);
  expect_rejected(big, "too large");
  expect_rejected(std::string(kMaxTokenBytes + 1, 'a'), "too large");
}

}  // namespace
}  // namespace argus::auth
