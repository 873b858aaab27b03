#include "cli/session.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cli/fake_auth_server.h"
#include "testing/testing.h"

namespace argus::cli {
namespace {

using testing::FakeAuthServer;

// A real HttpServer playing the sign-in endpoints, and a credentials file in a temp dir.
class SessionTest : public ::testing::Test {
 protected:
  // Signs in with the fake and stores the pair, its access token expiring in `expires_in_ms`.
  StoredCredential sign_in(std::int64_t expires_in_ms) {
    Client client(server_.url());
    auto pair = auth_login(client, FakeAuthServer::kUser, FakeAuthServer::kPassword);
    EXPECT_TRUE(pair.ok()) << pair.status().to_string();
    StoredCredential c{"admin", pair->access_token, clock_.now_ms() + expires_in_ms, pair->refresh_token};
    store_put(c);
    return c;
  }
  void store_put(const StoredCredential& c) {
    auto lock = store_.lock();
    ASSERT_TRUE(lock.ok());
    ASSERT_TRUE(store_.put(*lock, normalize_server(server_.url()), c).ok());
  }
  StoredCredential stored() {
    auto got = store_.get(normalize_server(server_.url()));
    EXPECT_TRUE(got.ok() && got->has_value());
    return got.ok() && got->has_value() ? **got : StoredCredential{};
  }
  SessionOptions options(std::string flag_token = "", std::string env_token = "") {
    SessionOptions o;
    o.server = server_.url();
    o.flag_token = std::move(flag_token);
    o.env_token = std::move(env_token);
    o.credentials_path = store_.path();
    o.clock = &clock_;
    return o;
  }
  Session open() {
    auto s = Session::open(options());
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    return std::move(s).value();
  }

  FakeAuthServer server_;
  argus::testing::TempDir dir_;
  CredentialStore store_{dir_.file("credentials.json")};
  argus::testing::ManualClock clock_;
};

TEST_F(SessionTest, CredentialOrderIsFlagThenEnvironmentThenStored) {
  auto none = Session::open(options());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->source(), CredentialSource::kNone);
  EXPECT_FALSE(none->has_credential());

  StoredCredential c = sign_in(15 * 60'000);
  auto flag = Session::open(options("flag-tok", "env-tok"));
  ASSERT_TRUE(flag.ok());
  EXPECT_EQ(flag->source(), CredentialSource::kFlag);
  ASSERT_TRUE(flag->request("GET", "/api/v1/system/info").ok());
  auto env = Session::open(options("", "env-tok"));
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->source(), CredentialSource::kEnvironment);
  ASSERT_TRUE(env->request("GET", "/api/v1/system/info").ok());
  Session stored_session = open();
  EXPECT_EQ(stored_session.source(), CredentialSource::kStored);
  EXPECT_EQ(stored_session.stored_username(), "admin");
  auto r = stored_session.request("GET", "/api/v1/system/info");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server_.authorizations(),
            (std::vector<std::string>{"Bearer flag-tok", "Bearer env-tok", "Bearer " + c.access_token}));
  EXPECT_EQ(server_.refreshes(), 0);
}

TEST_F(SessionTest, AFreshAccessTokenIsUsedWithoutRefreshing) {
  sign_in(31'000);  // just outside the margin
  Session s = open();
  auto r = s.request("GET", "/api/v1/system/info");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server_.refreshes(), 0);

  clock_.advance(2'000);  // now within 30 s of expiry
  r = s.request("GET", "/api/v1/system/info");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server_.refreshes(), 1);
}

TEST_F(SessionTest, RefreshesBeforeExpiryAndStoresTheRotatedPair) {
  StoredCredential old = sign_in(20'000);
  server_.set_expires_in(600);
  Session s = open();
  auto r = s.request("GET", "/api/v1/system/info");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server_.refreshes(), 1);

  StoredCredential now = stored();
  EXPECT_NE(now.access_token, old.access_token);
  EXPECT_NE(now.refresh_token, old.refresh_token);
  EXPECT_EQ(now.access_expires_at, clock_.now_ms() + 600'000);
  EXPECT_EQ(now.username, "admin");
  // The request went out with the new token only: the old one was never sent.
  EXPECT_EQ(server_.authorizations(), (std::vector<std::string>{"Bearer " + now.access_token}));
  EXPECT_FALSE(server_.refresh_token_valid(old.refresh_token));
  EXPECT_TRUE(server_.refresh_token_valid(now.refresh_token));
}

TEST_F(SessionTest, RefreshesAndRetriesOnceAfter401) {
  StoredCredential old = sign_in(15 * 60'000);
  server_.expire_access_tokens();  // the server no longer takes it, though it is not due
  Session s = open();
  auto r = s.request("GET", "/api/v1/users/me");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server_.refreshes(), 1);
  StoredCredential now = stored();
  EXPECT_NE(now.refresh_token, old.refresh_token);
  EXPECT_EQ(server_.authorizations(),
            (std::vector<std::string>{"Bearer " + old.access_token, "Bearer " + now.access_token}));
}

TEST_F(SessionTest, RetriesOnlyOnce) {
  sign_in(15 * 60'000);
  Session s = open();
  auto r = s.request("GET", "/always401");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(server_.always_401_hits(), 2);
  EXPECT_EQ(server_.refreshes(), 1);
}

TEST_F(SessionTest, ATokenFromFlagIsNeverRefreshed) {
  sign_in(15 * 60'000);
  auto s = Session::open(options("flag-tok"));
  ASSERT_TRUE(s.ok());
  auto r = s->request("GET", "/api/v1/system/info");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(server_.refreshes(), 0);
}

TEST_F(SessionTest, RefusedRefreshMeansSessionExpired) {
  StoredCredential old = sign_in(15 * 60'000);
  server_.expire_access_tokens();
  server_.revoke_sessions();
  Session s = open();
  auto r = s.request("GET", "/api/v1/system/info");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(r.status().message().find("session expired: run argus login"), std::string::npos);
  EXPECT_EQ(stored().refresh_token, old.refresh_token);  // left for `argus login` to replace
}

TEST_F(SessionTest, AdoptsAPairAnotherProcessStoredInsteadOfReusingTheRefreshToken) {
  StoredCredential first = sign_in(15 * 60'000);
  Session s = open();  // holds `first`
  // Meanwhile another argus refreshed and stored the next pair; the server dropped `first`.
  Client other(server_.url());
  auto next = auth_refresh(other, first.refresh_token);
  ASSERT_TRUE(next.ok());
  store_put({"admin", next->access_token, clock_.now_ms() + 900'000, next->refresh_token});
  server_.expire_access_tokens();
  auto again = auth_refresh(other, next->refresh_token);  // and once more, so only the file knows
  ASSERT_TRUE(again.ok());
  store_put({"admin", again->access_token, clock_.now_ms() + 900'000, again->refresh_token});

  auto r = s.request("GET", "/api/v1/system/info");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server_.refreshes(), 2);  // only the other process's; `first` was never reused
  EXPECT_TRUE(server_.refresh_token_valid(again->refresh_token));
}

TEST_F(SessionTest, ConcurrentRefreshesSpendTheRefreshTokenOnce) {
  sign_in(10'000);  // due: every session below wants to refresh
  constexpr int kSessions = 4;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < kSessions; ++i) {
    threads.emplace_back([&] {
      auto s = Session::open(options());
      if (!s.ok()) return;
      auto r = s->request("GET", "/api/v1/system/info");
      if (r.ok() && r->status == 200) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kSessions);
  EXPECT_EQ(server_.refreshes(), 1);
  EXPECT_TRUE(server_.refresh_token_valid(stored().refresh_token));
}

TEST_F(SessionTest, UnreachableServerIsUnavailable) {
  SessionOptions o = options();
  o.server = "127.0.0.1:" + std::to_string(argus::testing::free_port());
  o.timeout_ms = 2000;
  auto s = Session::open(o);
  ASSERT_TRUE(s.ok());
  auto r = s->request("GET", "/api/v1/system/info");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

TEST_F(SessionTest, SignInErrorsAreTyped) {
  Client client(server_.url());
  auto wrong = auth_login(client, "admin", "nope");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(wrong.status().message().find("invalid username or password"), std::string::npos);
  server_.set_locked(42);
  auto locked = auth_login(client, "admin", FakeAuthServer::kPassword);
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(locked.status().message().find("wait 42 s"), std::string::npos);
}

}  // namespace
}  // namespace argus::cli
