// Fuzz target: auth::verify_access_token, the check every bearer token passes.
//
// Contract under test: for any bytes, verify_access_token returns (never throws, never
// crashes) either the claims of a token that really is valid (HS256, a key of the ring,
// exp/nbf/iat within the leeway, iss/aud as expected, sub and jti non-empty, at most
// kMaxTokenBytes), or Unauthenticated with a message that does not quote the token.
// A valid token's claims survive sign -> verify unchanged.
//
// The key ring is fixed (written to a temporary directory before SigningKeys::open):
// a current key, a recently retired key (still verifies) and a long-retired one (does
// not), under a fixed clock, so every input replays the same way.
//
// Input: the first byte picks a mode, the rest is its material:
//   0  the rest is the token, as is;
//   1  a valid token's bytes, with the rest written over them at a position it names;
//   2  the rest is the header JSON of a token correctly signed by the chosen key
//      (payload: valid claims), so header checks and libjwt's parser see it;
//   3  the rest is the payload JSON of a correctly signed token (valid header), so the
//      claim checks run on arbitrary claims;
//   4  the rest is "header JSON" 0xFF "payload JSON", both fuzzed, correctly signed;
//   5  the rest is base64url text spliced as one segment of a valid token.
// The second byte of modes 2..4 picks the signing key (current, retired, expired,
// unknown).
#include <sodium.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "auth/jwt.h"
#include "auth/signing_keys.h"
#include "core/clock.h"
#include "core/ids.h"

namespace {

using namespace argus;

constexpr UnixMillis kNowMs = 1'700'000'000'000;
constexpr std::int64_t kNowS = kNowMs / 1000;

class FixedClock final : public Clock {
 public:
  UnixMillis now_ms() const override { return kNowMs; }
};

struct Ring {
  std::string id;
  std::string secret;  // 32 raw bytes
};

// Index 0: current; 1: retired an hour ago (accepted); 2: retired two days ago (refused);
// 3: never in the ring.
Ring g_keys[4];
std::unique_ptr<auth::SigningKeys> g_ring;
const FixedClock g_clock;
const auth::JwtVerifyOptions g_options;
std::string g_good;  // a valid token signed by the current key

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz_jwt: invariant broken: %s %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

void setup() {
  for (int i = 0; i < 4; ++i) {
    g_keys[i].id = "kfuzz" + std::to_string(i);
    g_keys[i].secret.assign(32, static_cast<char>('A' + i));
  }
  char dir_template[] = "/tmp/argus-fuzz-jwt-XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (dir == nullptr) fail("mkdtemp failed");
  std::string json = "{\"format\": 1, \"keys\": [";
  const UnixMillis retired[3] = {0, kNowMs - 3600 * 1000, kNowMs - 48LL * 3600 * 1000};
  for (int i = 0; i < 3; ++i) {
    if (i > 0) json += ",";
    json += "{\"id\": \"" + g_keys[i].id + "\", \"secret\": \"" + base64url_encode(g_keys[i].secret) +
            "\", \"created_at\": " + std::to_string(kNowMs - 100LL * 3600 * 1000) +
            ", \"retired_at\": " + std::to_string(retired[i]) + "}";
  }
  json += "]}";
  std::string path = std::string(dir) + "/" + std::string(auth::SigningKeys::kFileName);
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr || std::fwrite(json.data(), 1, json.size(), f) != json.size() || std::fclose(f) != 0) {
    fail("cannot write the key ring");
  }
  chmod(path.c_str(), 0600);
  auto ring = auth::SigningKeys::open(dir, {}, &g_clock);
  if (!ring.ok()) fail("SigningKeys::open", ring.status().message());
  g_ring = std::move(ring).value();
  if (!g_ring->find(g_keys[1].id) || g_ring->find(g_keys[2].id)) fail("key ring is not as written");
  std::filesystem::remove_all(dir);  // the ring is in memory now
}

// header.payload signed with HS256 under `secret`.
std::string sign(std::string_view header_json, std::string_view payload_json, const std::string& secret) {
  std::string input = base64url_encode(header_json) + "." + base64url_encode(payload_json);
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(input.data()), input.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return input + "." + base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), sizeof mac));
}

std::string valid_header(const Ring& key) { return R"({"alg":"HS256","typ":"JWT","kid":")" + key.id + "\"}"; }

std::string valid_payload() {
  return R"({"iss":"argus","aud":"argus-api","sub":"u1","name":"admin","role":"admin","jti":"j1","iat":)" +
         std::to_string(kNowS - 10) + ",\"nbf\":" + std::to_string(kNowS - 10) +
         ",\"exp\":" + std::to_string(kNowS + 600) + "}";
}

void make_good_token() { g_good = sign(valid_header(g_keys[0]), valid_payload(), g_keys[0].secret); }

void check(std::string_view token) {
  Result<auth::AccessTokenClaims> r = [&] {
    try {
      return auth::verify_access_token(token, *g_ring, g_options, kNowS);
    } catch (...) {
      fail("verify_access_token threw");
    }
  }();
  if (!r.ok()) {
    if (r.status().code() != StatusCode::kUnauthenticated) fail("failure is not Unauthenticated", r.status().message());
    // Long enough that a coincidental match is impossible.
    if (token.size() >= 24 && r.status().message().find(token) != std::string::npos) fail("message quotes the token");
    return;
  }
  const auth::AccessTokenClaims& c = *r;
  if (token.size() > auth::kMaxTokenBytes) fail("accepted an oversized token");
  if (c.issuer != g_options.issuer || c.audience != g_options.audience) fail("accepted another iss/aud");
  if (c.subject.empty() || c.token_id.empty()) fail("accepted a token without sub or jti");
  if (kNowS - g_options.leeway_s >= c.expires_at) fail("accepted an expired token");
  if (kNowS + g_options.leeway_s < c.not_before) fail("accepted a token before nbf");
  if (kNowS + g_options.leeway_s < c.issued_at) fail("accepted a token issued in the future");
  if (c.key_id != g_keys[0].id && c.key_id != g_keys[1].id) fail("accepted a key the ring refuses", c.key_id);

  // Round trip: what verify returned signs into a token verify accepts with equal claims.
  // (libjwt takes C strings: claims with an embedded NUL cannot round-trip.)
  for (const std::string* s : {&c.issuer, &c.audience, &c.subject, &c.token_id, &c.username, &c.role}) {
    if (s->find('\0') != std::string::npos) return;
  }
  auto key = g_ring->find(c.key_id);
  if (!key) fail("verified key vanished");
  auto again = auth::sign_access_token(c, *key);
  if (!again.ok()) fail("re-signing verified claims failed", again.status().message());
  auto back = auth::verify_access_token(*again, *g_ring, g_options, kNowS);
  if (!back.ok()) fail("re-signed claims do not verify", back.status().message());
  if (back->subject != c.subject || back->token_id != c.token_id || back->username != c.username ||
      back->role != c.role || back->expires_at != c.expires_at || back->issued_at != c.issued_at ||
      back->not_before != c.not_before || back->key_id != c.key_id) {
    fail("claims changed in a sign/verify round trip");
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (sodium_init() < 0) fail("sodium_init");
  setup();
  make_good_token();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const int mode = static_cast<unsigned char>(in[0]) % 6;
  in.remove_prefix(1);
  const Ring& key = g_keys[in.empty() ? 0 : static_cast<unsigned char>(in[0]) % 4];
  const std::string& good = g_good;
  switch (mode) {
    case 0:
      check(in);
      break;
    case 1: {
      if (in.empty()) return 0;
      std::string t = good;
      std::size_t at = static_cast<unsigned char>(in[0]) % (t.size() + 1);
      in.remove_prefix(1);
      t.replace(at, std::min(in.size(), t.size() - at), in);
      check(t);
      break;
    }
    case 2:
      if (!in.empty()) in.remove_prefix(1);
      check(sign(in, valid_payload(), key.secret));
      break;
    case 3:
      if (!in.empty()) in.remove_prefix(1);
      check(sign(valid_header(key), in, key.secret));
      break;
    case 4: {
      if (!in.empty()) in.remove_prefix(1);
      std::size_t cut = in.find('\xff');
      std::string_view header = in.substr(0, cut);
      std::string_view payload = cut == std::string_view::npos ? std::string_view{} : in.substr(cut + 1);
      check(sign(header, payload, key.secret));
      break;
    }
    case 5: {
      if (in.empty()) return 0;
      int segment = static_cast<unsigned char>(in[0]) % 3;
      in.remove_prefix(1);
      std::size_t d1 = good.find('.');
      std::size_t d2 = good.find('.', d1 + 1);
      std::string parts[3] = {good.substr(0, d1), good.substr(d1 + 1, d2 - d1 - 1), good.substr(d2 + 1)};
      parts[segment] = std::string(in);
      check(parts[0] + "." + parts[1] + "." + parts[2]);
      break;
    }
  }
  return 0;
}
