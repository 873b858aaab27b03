// AuthService against a real SQLite store and key file in a temporary directory, with a
// manual clock. Passwords are hashed at the production cost (about 20-50 ms each), so
// each test creates only the users it needs.
#include "auth/auth_service.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "auth_testing.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "testing/testing.h"

namespace argus::auth {
namespace {

using argus::testing::ManualClock;

constexpr std::string_view kPassword = "correct horse battery";
constexpr std::string_view kOtherPassword = "staple tuna elephant";

unsigned file_mode(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0);
  return st.st_mode & 07777;
}

// Every text column of every table, for "no secret was stored" checks.
std::string dump_database(const std::string& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  std::string out;
  for (const char* table : {"users", "refresh_tokens", "api_keys", "audit_log"}) {
    sqlite3_stmt* stmt = nullptr;
    std::string sql = std::string("SELECT * FROM ") + table;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        const unsigned char* text = sqlite3_column_text(stmt, i);
        if (text != nullptr) out += reinterpret_cast<const char*>(text);
        out += '|';
      }
      out += '\n';
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close_v2(db);
  return out;
}

class AuthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { open_all(); }

  // (Re)builds the service with `options`.
  void open_all(AuthOptions options = default_options()) {
    service_.reset();
    keys_.reset();
    store_.reset();
    StoreOptions so;
    so.config.url = "sqlite://" + db_path();
    so.clock = &clock_;
    Result<std::unique_ptr<Store>> store = open_store(so);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    store_ = std::move(store).value();
    Result<std::unique_ptr<SigningKeys>> keys = SigningKeys::open(data_dir(), {}, &clock_);
    ASSERT_TRUE(keys.ok()) << keys.status().to_string();
    keys_ = std::move(keys).value();
    options.metrics = &metrics_;
    service_ = std::make_unique<AuthService>(store_.get(), &clock_, keys_.get(), options);
  }

  static AuthOptions default_options() {
    AuthOptions o;
    o.login_free_failures = 3;
    o.login_backoff_base_ms = 1000;
    o.login_backoff_max_ms = 4000;
    return o;
  }

  std::filesystem::path data_dir() const { return dir_.path() / "data"; }
  std::string db_path() const { return (data_dir() / "argus.db").string(); }

  User make_user(const std::string& name, Role role, std::string_view password = kPassword,
                 std::optional<std::vector<std::string>> cameras = std::nullopt) {
    NewUser u;
    u.username = name;
    u.password = std::string(password);
    u.role = role;
    u.cameras = std::move(cameras);
    Result<User> r = service_->create_user(u);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : User{};
  }

  TokenPair must_login(const std::string& name, std::string_view password = kPassword) {
    Result<TokenPair> r = service_->login(name, password, "10.0.0.9", "test-agent/1");
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : TokenPair{};
  }

  std::vector<AuditRecord> audit_lines(const std::string& action = "") {
    Result<Page<AuditRecord>> page = service_->list_audit({.action = action, .limit = 1000});
    EXPECT_TRUE(page.ok()) << page.status().to_string();
    return page.ok() ? page->items : std::vector<AuditRecord>{};
  }

  testing::TempDir dir_;
  ManualClock clock_;
  metrics::Registry metrics_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<SigningKeys> keys_;
  std::unique_ptr<AuthService> service_;
};

// ---------------------------------------------------------------------------------------
// Bootstrap

TEST_F(AuthServiceTest, BootstrapGeneratesAnAdminPasswordInAPrivateFileOnce) {
  Result<BootstrapResult> first = service_->bootstrap_admin(data_dir(), std::nullopt, std::nullopt);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->username, "admin");
  ASSERT_TRUE(first->generated_password.has_value());
  EXPECT_EQ(first->generated_password->size(), 20u);
  EXPECT_EQ(first->password_file, data_dir() / "initial-admin-password");
  EXPECT_EQ(file_mode(first->password_file), 0600u);
  EXPECT_EQ(testing::read_file(first->password_file), *first->generated_password + "\n");

  Result<User> admin = service_->get_user_by_username("admin");
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ(admin->role, Role::admin);
  EXPECT_TRUE(service_->login("admin", *first->generated_password, "", "").ok());
  ASSERT_EQ(audit_lines("auth.bootstrap").size(), 1u);
  EXPECT_EQ(audit_lines("auth.bootstrap")[0].details.find(*first->generated_password), std::string::npos);

  // Idempotent: users exist, so nothing happens.
  Result<BootstrapResult> second =
      service_->bootstrap_admin(data_dir(), std::string("another good password"), std::nullopt);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created);
  EXPECT_FALSE(second->generated_password.has_value());
  EXPECT_EQ(*store_->count_users(), 1);
}

TEST_F(AuthServiceTest, BootstrapUsesAGivenPasswordOrPasswordFile) {
  Result<BootstrapResult> weak = service_->bootstrap_admin(data_dir(), std::string("short"), std::nullopt);
  EXPECT_EQ(weak.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(weak.status().message().find("at least 10"), std::string::npos);
  EXPECT_EQ(*store_->count_users(), 0);
  Result<BootstrapResult> missing = service_->bootstrap_admin(data_dir(), std::nullopt, dir_.path() / "no-such-file");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);

  testing::write_file(dir_.path() / "secret", std::string(kPassword) + "\n");
  Result<BootstrapResult> from_file = service_->bootstrap_admin(data_dir(), std::nullopt, dir_.path() / "secret");
  ASSERT_TRUE(from_file.ok()) << from_file.status().to_string();
  EXPECT_TRUE(from_file->created);
  EXPECT_FALSE(from_file->generated_password.has_value());
  EXPECT_FALSE(std::filesystem::exists(data_dir() / "initial-admin-password"));
  EXPECT_TRUE(service_->login("admin", kPassword, "", "").ok());
}

// ---------------------------------------------------------------------------------------
// Sign-in

TEST_F(AuthServiceTest, LoginIssuesTokensThatAuthenticate) {
  User alice = make_user("alice", Role::operator_, kPassword, std::vector<std::string>{"front"});
  Result<TokenPair> pair = service_->login("Alice", kPassword, "10.0.0.1", "browser");  // names are lowercased
  ASSERT_TRUE(pair.ok()) << pair.status().to_string();
  EXPECT_EQ(pair->expires_in, 900);
  EXPECT_EQ(pair->token_type, "Bearer");
  EXPECT_TRUE(std::regex_match(pair->refresh_token, std::regex("argr_[A-Za-z0-9_-]{43}"))) << pair->refresh_token;

  Result<Principal> p = service_->authenticate_bearer(pair->access_token);
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_EQ(p->kind, PrincipalKind::user);
  EXPECT_EQ(p->user_id, alice.id);
  EXPECT_EQ(p->username, "alice");
  EXPECT_EQ(p->role, Role::operator_);
  EXPECT_EQ(p->permissions, role_permissions(Role::operator_));
  EXPECT_TRUE(p->can_see_camera("front"));
  EXPECT_FALSE(p->can_see_camera("back"));

  EXPECT_EQ(service_->get_user(alice.id)->last_login_at, clock_.now_ms());
  std::vector<AuditRecord> lines = audit_lines("auth.login");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].outcome, "ok");
  EXPECT_EQ(lines[0].actor, alice.id);
  EXPECT_EQ(lines[0].ip, "10.0.0.1");
  EXPECT_EQ(metrics_.counter("argus_auth_logins_total", "", {{"outcome", "ok"}}).value(), 1);

  // The access token expires with its TTL (plus leeway).
  clock_.advance((900 + 31) * 1000);
  Result<Principal> expired = service_->authenticate_bearer(pair->access_token);
  EXPECT_EQ(expired.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(expired.status().message().find("expired"), std::string::npos);
}

TEST_F(AuthServiceTest, FailedLoginsLookAlikeWhateverTheReason) {
  make_user("alice", Role::viewer);
  User carol = make_user("carol", Role::viewer);
  ASSERT_TRUE(service_->update_user(carol.id, {.disabled = true}).ok());

  const std::vector<std::pair<std::string, std::string>> attempts = {
      {"ghost", std::string(kPassword)},        // no such user
      {"alice", std::string(kOtherPassword)},   // wrong password
      {"carol", std::string(kPassword)},        // right password, disabled account
      {"Not A Name!", std::string(kPassword)},  // not even a username
      {"alice", std::string(5000, 'p')},        // absurd password
  };
  std::optional<Status> first;
  for (const auto& [name, password] : attempts) {
    Result<TokenPair> r = service_->login(name, password, "10.0.0.2", "ua");
    ASSERT_FALSE(r.ok()) << name;
    if (!first) first = r.status();
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << name;
    EXPECT_EQ(r.status().message(), first->message()) << name;
  }
  EXPECT_EQ(first->message(), "invalid username or password");

  // Audited as failures, without passwords (and without a non-name as target).
  std::vector<AuditRecord> lines = audit_lines("auth.login");
  ASSERT_EQ(lines.size(), attempts.size());
  for (const AuditRecord& line : lines) {
    EXPECT_EQ(line.outcome, "failed");
    EXPECT_EQ(line.details.find("horse"), std::string::npos);
    EXPECT_EQ(line.details.find("tuna"), std::string::npos);
    EXPECT_EQ(line.target.find("Not A Name"), std::string::npos);
  }
}

TEST_F(AuthServiceTest, RepeatedFailuresLockTheNameWithGrowingBackoffKnownOrNot) {
  make_user("alice", Role::viewer);
  for (const std::string name : {"alice", "ghost"}) {
    SCOPED_TRACE(name);
    // Three free failures (options: login_free_failures = 3); the third starts a 1 s lock.
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(service_->login(name, kOtherPassword, "", "").status().code(), StatusCode::kUnauthenticated);
    }
    // Locked: even the right password gets the same 429-style answer for both names.
    Result<TokenPair> locked = service_->login(name, kPassword, "", "");
    EXPECT_EQ(locked.status().code(), StatusCode::kResourceExhausted);
    EXPECT_EQ(login_retry_after_s(locked.status()), 1);
    EXPECT_EQ(locked.status().message(), "too many failed sign-in attempts; retry after 1 seconds");
    // After the lock, another failure doubles it, then the cap (4 s) holds.
    clock_.advance(1000);
    EXPECT_EQ(service_->login(name, kOtherPassword, "", "").status().code(), StatusCode::kUnauthenticated);
    EXPECT_EQ(login_retry_after_s(service_->login(name, kPassword, "", "").status()), 2);
    clock_.advance(2000);
    EXPECT_EQ(service_->login(name, kOtherPassword, "", "").status().code(), StatusCode::kUnauthenticated);
    EXPECT_EQ(login_retry_after_s(service_->login(name, kPassword, "", "").status()), 4);
    clock_.advance(4000);
    EXPECT_EQ(service_->login(name, kOtherPassword, "", "").status().code(), StatusCode::kUnauthenticated);
    EXPECT_EQ(login_retry_after_s(service_->login(name, kPassword, "", "").status()), 4);
    clock_.advance(4000);
  }
  // A success clears the count.
  ASSERT_TRUE(service_->login("alice", kPassword, "", "").ok());
  EXPECT_EQ(service_->login("alice", kOtherPassword, "", "").status().code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(service_->login("alice", kPassword, "", "").ok());

  EXPECT_FALSE(login_retry_after_s(Status::resource_exhausted("store write queue is full")).has_value());
  EXPECT_FALSE(login_retry_after_s(Status::unauthenticated("x")).has_value());
  EXPECT_GE(metrics_.counter("argus_auth_logins_total", "", {{"outcome", "throttled"}}).value(), 6);
}

// ---------------------------------------------------------------------------------------
// Refresh tokens

TEST_F(AuthServiceTest, RefreshRotatesAndReuseRevokesTheWholeFamily) {
  make_user("alice", Role::viewer);
  TokenPair first = must_login("alice");
  TokenPair other_session = must_login("alice");

  clock_.advance(1000);
  Result<TokenPair> second = service_->refresh(first.refresh_token, "10.0.0.3", "ua");
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  EXPECT_NE(second->refresh_token, first.refresh_token);
  EXPECT_NE(second->access_token, first.access_token);
  EXPECT_TRUE(service_->authenticate_bearer(second->access_token).ok());

  clock_.advance(1000);
  Result<TokenPair> third = service_->refresh(second->refresh_token, "10.0.0.3", "ua");
  ASSERT_TRUE(third.ok()) << third.status().to_string();

  // The first token again: reuse. The family's newest token stops working too.
  Result<TokenPair> reused = service_->refresh(first.refresh_token, "10.6.6.6", "attacker");
  EXPECT_EQ(reused.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(reused.status().message().find("already used"), std::string::npos);
  EXPECT_EQ(service_->refresh(third->refresh_token, "10.0.0.3", "ua").status().code(), StatusCode::kUnauthenticated);
  ASSERT_EQ(audit_lines("auth.refresh_reuse").size(), 1u);
  EXPECT_EQ(metrics_.counter("argus_auth_refresh_reuse_total", "").value(), 1);

  // The other sign-in is unaffected.
  EXPECT_TRUE(service_->refresh(other_session.refresh_token, "10.0.0.4", "ua").ok());
}

TEST_F(AuthServiceTest, ConcurrentRefreshOfOneTokenLetsExactlyOneSucceed) {
  make_user("alice", Role::viewer);
  TokenPair pair = must_login("alice");
  constexpr int kThreads = 8;
  std::atomic<int> ok{0};
  std::atomic<int> unauthenticated{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      Result<TokenPair> r = service_->refresh(pair.refresh_token, "", "");
      if (r.ok())
        ++ok;
      else if (r.status().code() == StatusCode::kUnauthenticated)
        ++unauthenticated;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(unauthenticated.load(), kThreads - 1);
}

TEST_F(AuthServiceTest, RefreshTokensExpireSlidinglyAndRejectGarbage) {
  make_user("alice", Role::viewer);
  TokenPair pair = must_login("alice");
  // Used within its 30 days, it yields a token valid for another 30 days.
  clock_.advance(20LL * 24 * 3600 * 1000);
  Result<TokenPair> renewed = service_->refresh(pair.refresh_token, "", "");
  ASSERT_TRUE(renewed.ok()) << renewed.status().to_string();
  clock_.advance(20LL * 24 * 3600 * 1000);
  Result<TokenPair> again = service_->refresh(renewed->refresh_token, "", "");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  // Left alone past its lifetime, it expires.
  clock_.advance(30LL * 24 * 3600 * 1000);
  Result<TokenPair> expired = service_->refresh(again->refresh_token, "", "");
  EXPECT_EQ(expired.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(expired.status().message().find("expired"), std::string::npos);

  for (const std::string& bad : {std::string(), std::string("argr_"), std::string("argr_") + std::string(43, '!'),
                                 std::string("argr_") + std::string(43, 'A'), pair.access_token}) {
    EXPECT_EQ(service_->refresh(bad, "", "").status().code(), StatusCode::kUnauthenticated) << bad;
  }
  clock_.advance(1);
  EXPECT_EQ(*service_->purge_expired_refresh_tokens(), 3);
}

TEST_F(AuthServiceTest, LogoutRevokesTheSignIn) {
  make_user("alice", Role::viewer);
  TokenPair pair = must_login("alice");
  Result<TokenPair> next = service_->refresh(pair.refresh_token, "", "");
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(service_->logout(next->refresh_token).ok());
  EXPECT_EQ(service_->refresh(next->refresh_token, "", "").status().code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(service_->logout(next->refresh_token).ok()) << "idempotent";
  EXPECT_TRUE(service_->logout("argr_garbage").ok());
  EXPECT_EQ(audit_lines("auth.logout").size(), 1u);
}

// ---------------------------------------------------------------------------------------
// Passwords and session revocation

TEST_F(AuthServiceTest, ChangingThePasswordRevokesEverySessionAndOldAccessTokens) {
  User alice = make_user("alice", Role::viewer);
  TokenPair old_a = must_login("alice");
  TokenPair old_b = must_login("alice");

  Result<TokenPair> wrong = service_->change_password(alice.id, kOtherPassword, "a brand new password", "", "");
  EXPECT_EQ(wrong.status().code(), StatusCode::kPermissionDenied);
  Result<TokenPair> weak = service_->change_password(alice.id, kPassword, "short", "", "");
  EXPECT_EQ(weak.status().code(), StatusCode::kInvalidArgument);

  // Same millisecond as the sign-ins: the cut-off must still separate old from new.
  Result<TokenPair> fresh = service_->change_password(alice.id, kPassword, kOtherPassword, "10.0.0.5", "ua");
  ASSERT_TRUE(fresh.ok()) << fresh.status().to_string();
  for (const TokenPair* old : {&old_a, &old_b}) {
    Result<Principal> p = service_->authenticate_bearer(old->access_token);
    EXPECT_EQ(p.status().code(), StatusCode::kUnauthenticated);
    EXPECT_NE(p.status().message().find("revoked"), std::string::npos) << p.status().message();
    EXPECT_EQ(service_->refresh(old->refresh_token, "", "").status().code(), StatusCode::kUnauthenticated);
  }
  EXPECT_TRUE(service_->authenticate_bearer(fresh->access_token).ok());
  Result<TokenPair> renewed = service_->refresh(fresh->refresh_token, "", "");
  ASSERT_TRUE(renewed.ok()) << renewed.status().to_string();
  EXPECT_TRUE(service_->authenticate_bearer(renewed->access_token).ok());

  EXPECT_EQ(service_->login("alice", kPassword, "", "").status().code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(service_->login("alice", kOtherPassword, "", "").ok());
  std::vector<AuditRecord> lines = audit_lines("auth.password_change");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].outcome, "ok");
  EXPECT_EQ(lines[1].outcome, "failed");
}

TEST_F(AuthServiceTest, WrongCurrentPasswordsShareTheSignInBackoff) {
  User alice = make_user("alice", Role::viewer);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(service_->change_password(alice.id, kOtherPassword, "whatever password", "", "").status().code(),
              StatusCode::kPermissionDenied);
  }
  Result<TokenPair> locked = service_->change_password(alice.id, kPassword, "whatever password", "", "");
  EXPECT_EQ(locked.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(login_retry_after_s(locked.status()), 1);
}

TEST_F(AuthServiceTest, AdminResetAndRevokeSessionsSignTheUserOut) {
  User alice = make_user("alice", Role::viewer);
  TokenPair before = must_login("alice");
  EXPECT_EQ(service_->reset_password(alice.id, "short").code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(service_->reset_password(alice.id, kOtherPassword).ok());
  EXPECT_EQ(service_->authenticate_bearer(before.access_token).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(service_->refresh(before.refresh_token, "", "").status().code(), StatusCode::kUnauthenticated);

  clock_.advance(5000);
  TokenPair after = must_login("alice", kOtherPassword);
  EXPECT_TRUE(service_->authenticate_bearer(after.access_token).ok());
  clock_.advance(5000);
  ASSERT_TRUE(service_->revoke_sessions(alice.id).ok());
  EXPECT_EQ(service_->authenticate_bearer(after.access_token).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(service_->refresh(after.refresh_token, "", "").status().code(), StatusCode::kUnauthenticated);
  TokenPair again = must_login("alice", kOtherPassword);
  EXPECT_TRUE(service_->authenticate_bearer(again.access_token).ok());
  EXPECT_EQ(service_->revoke_sessions("usr_nobody").code(), StatusCode::kNotFound);
}

TEST_F(AuthServiceTest, BearerChecksTheUserAsItIsNow) {
  User bob = make_user("bob", Role::operator_);
  TokenPair pair = must_login("bob");
  // A role change applies at once, although the token still says "operator".
  ASSERT_TRUE(service_->update_user(bob.id, {.role = Role::viewer}).ok());
  Result<Principal> p = service_->authenticate_bearer(pair.access_token);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->role, Role::viewer);
  EXPECT_FALSE(p->can(Permission::cameras_write));
  // Disabling signs out: access and refresh tokens stop working, and stay dead when
  // the account is enabled again.
  ASSERT_TRUE(service_->update_user(bob.id, {.disabled = true}).ok());
  EXPECT_EQ(service_->authenticate_bearer(pair.access_token).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(service_->refresh(pair.refresh_token, "", "").status().code(), StatusCode::kUnauthenticated);
  ASSERT_TRUE(service_->update_user(bob.id, {.disabled = false}).ok());
  EXPECT_EQ(service_->authenticate_bearer(pair.access_token).status().code(), StatusCode::kUnauthenticated);
  // Deleted: gone.
  TokenPair later = must_login("bob");
  ASSERT_TRUE(service_->delete_user(bob.id).ok());
  EXPECT_EQ(service_->authenticate_bearer(later.access_token).status().code(), StatusCode::kUnauthenticated);

  for (const std::string& bad : {std::string(), std::string("x"), later.refresh_token, std::string(9000, 'a'),
                                 std::string("argus_"), std::string("argus_zz_short")}) {
    EXPECT_EQ(service_->authenticate_bearer(bad).status().code(), StatusCode::kUnauthenticated) << bad;
  }
}

TEST_F(AuthServiceTest, TokensFromARotatedKeyStillWork) {
  make_user("alice", Role::viewer);
  TokenPair pair = must_login("alice");
  ASSERT_TRUE(keys_->rotate().ok());
  EXPECT_TRUE(service_->authenticate_bearer(pair.access_token).ok());
  TokenPair next = must_login("alice");
  EXPECT_TRUE(service_->authenticate_bearer(next.access_token).ok());
}

// ---------------------------------------------------------------------------------------
// Users

TEST_F(AuthServiceTest, CreateUserValidatesItsInput) {
  auto attempt = [&](NewUser u) { return service_->create_user(u).status(); };
  NewUser base{.username = "alice", .password = std::string(kPassword), .role = Role::viewer};
  for (const std::string& bad : std::vector<std::string>{"al", "Alice", "al ice", "ali@ce", std::string(65, 'a'), ""}) {
    NewUser u = base;
    u.username = bad;
    EXPECT_EQ(attempt(u).code(), StatusCode::kInvalidArgument) << bad;
  }
  NewUser weak = base;
  weak.password = "short";
  EXPECT_EQ(attempt(weak).code(), StatusCode::kInvalidArgument);
  NewUser same = base;
  same.password = "alice.smith";
  same.username = "alice.smith";
  EXPECT_EQ(attempt(same).code(), StatusCode::kInvalidArgument);
  NewUser bad_camera = base;
  bad_camera.cameras = std::vector<std::string>{"Front Door"};
  EXPECT_EQ(attempt(bad_camera).code(), StatusCode::kInvalidArgument);
  NewUser bad_settings = base;
  bad_settings.settings = nlohmann::json::array();
  EXPECT_EQ(attempt(bad_settings).code(), StatusCode::kInvalidArgument);
  NewUser long_name = base;
  long_name.display_name = std::string(129, 'x');
  EXPECT_EQ(attempt(long_name).code(), StatusCode::kInvalidArgument);

  NewUser good = base;
  good.username = "a.l-i_c3";
  good.display_name = "Alice";
  good.settings = {{"theme", "dark"}};
  good.cameras = std::vector<std::string>{"front", "front", "back"};
  Result<User> created = service_->create_user(good);
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  EXPECT_EQ(created->cameras, (std::vector<std::string>{"front", "back"}));
  EXPECT_EQ(created->settings["theme"], "dark");
  EXPECT_EQ(created->id.rfind("usr_", 0), 0u);
  EXPECT_EQ(attempt(good).code(), StatusCode::kAlreadyExists);
}

TEST_F(AuthServiceTest, UsersListUpdateAndDelete) {
  User carol = make_user("carol", Role::viewer);
  User alice = make_user("alice", Role::admin);
  make_user("bob", Role::operator_);

  Result<Page<User>> page1 = service_->list_users({.after = "", .limit = 2});
  ASSERT_TRUE(page1.ok());
  ASSERT_EQ(page1->items.size(), 2u);
  EXPECT_EQ(page1->items[0].username, "alice");
  EXPECT_EQ(page1->items[1].username, "bob");
  ASSERT_TRUE(page1->next_after.has_value());
  Result<Page<User>> page2 = service_->list_users({.after = *page1->next_after, .limit = 2});
  ASSERT_EQ(page2->items.size(), 1u);
  EXPECT_EQ(page2->items[0].username, "carol");

  Result<User> updated = service_->update_user(
      carol.id, {.role = Role::operator_,
                 .cameras = std::optional<std::vector<std::string>>(std::vector<std::string>{"front"}),
                 .display_name = "Carol C",
                 .settings = nlohmann::json{{"lang", "fr"}}});
  ASSERT_TRUE(updated.ok()) << updated.status().to_string();
  EXPECT_EQ(updated->role, Role::operator_);
  EXPECT_EQ(updated->cameras, std::vector<std::string>{"front"});
  EXPECT_EQ(updated->display_name, "Carol C");
  EXPECT_EQ(updated->settings, (nlohmann::json{{"lang", "fr"}}));
  EXPECT_EQ(updated->version, carol.version + 1);
  // Back to every camera.
  Result<User> all = service_->update_user(carol.id, {.cameras = std::optional<std::vector<std::string>>()});
  ASSERT_TRUE(all.ok());
  EXPECT_FALSE(all->cameras.has_value());
  // Optimistic concurrency.
  EXPECT_EQ(service_->update_user(carol.id, {.display_name = "x", .expected_version = 1}).status().code(),
            StatusCode::kFailedPrecondition);

  // The last enabled admin can be neither demoted, disabled nor deleted.
  EXPECT_EQ(service_->update_user(alice.id, {.role = Role::viewer}).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_->update_user(alice.id, {.disabled = true}).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_->delete_user(alice.id).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_->get_user(alice.id)->role, Role::admin);
  ASSERT_TRUE(service_->update_user(carol.id, {.role = Role::admin}).ok());
  EXPECT_TRUE(service_->delete_user(alice.id).ok());
  EXPECT_EQ(service_->get_user(alice.id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->delete_user(alice.id).code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->get_user_by_username("CAROL")->id, carol.id);
}

// ---------------------------------------------------------------------------------------
// API keys

TEST_F(AuthServiceTest, ApiKeysAuthenticateWithTheirOwnersPermissionsIntersected) {
  User op = make_user("oper", Role::operator_, kPassword, std::vector<std::string>{"front", "back"});
  Result<CreatedApiKey> created =
      service_->create_api_key({.owner_user_id = op.id,
                                .name = "home assistant",
                                .permissions = {Permission::events_read, Permission::cameras_write},
                                .cameras = std::vector<std::string>{"front"}});
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  EXPECT_TRUE(std::regex_match(created->key, std::regex("argus_[0-9a-f]{16}_[A-Za-z0-9_-]{43}"))) << created->key;
  EXPECT_EQ(created->key.substr(6, 16), created->info.id);

  Result<Principal> p = service_->authenticate_bearer(created->key);
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_EQ(p->kind, PrincipalKind::api_key);
  EXPECT_EQ(p->api_key_id, created->info.id);
  EXPECT_EQ(p->user_id, op.id);
  EXPECT_EQ(p->actor(), created->info.id);
  EXPECT_EQ(p->permissions, (PermissionSet{Permission::events_read, Permission::cameras_write}));
  EXPECT_EQ(p->cameras, std::vector<std::string>{"front"});

  // No more than the owner: permissions and cameras.
  EXPECT_EQ(service_->create_api_key({.owner_user_id = op.id, .name = "k", .permissions = {Permission::users_admin}})
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_
                ->create_api_key({.owner_user_id = op.id,
                                  .name = "k",
                                  .permissions = {Permission::events_read},
                                  .cameras = std::vector<std::string>{"garage"}})
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->create_api_key({.owner_user_id = op.id, .name = "", .permissions = {Permission::events_read}})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->create_api_key({.owner_user_id = op.id, .name = "k", .permissions = {}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_
                ->create_api_key({.owner_user_id = op.id,
                                  .name = "k",
                                  .permissions = {Permission::events_read},
                                  .expires_at = clock_.now_ms() - 1})
                .status()
                .code(),
            StatusCode::kInvalidArgument);

  // A key without its own camera list follows its owner's scope.
  Result<CreatedApiKey> wide =
      service_->create_api_key({.owner_user_id = op.id, .name = "wide", .permissions = {Permission::events_read}});
  ASSERT_TRUE(wide.ok());
  EXPECT_EQ(service_->authenticate_bearer(wide->key)->cameras, (std::vector<std::string>{"front", "back"}));

  // The owner's later demotion and narrower scope narrow the key at once.
  ASSERT_TRUE(
      service_
          ->update_user(op.id, {.role = Role::viewer,
                                .cameras = std::optional<std::vector<std::string>>(std::vector<std::string>{"back"})})
          .ok());
  Result<Principal> narrowed = service_->authenticate_bearer(created->key);
  ASSERT_TRUE(narrowed.ok());
  EXPECT_EQ(narrowed->permissions, PermissionSet{Permission::events_read});
  EXPECT_EQ(narrowed->cameras, std::vector<std::string>{});
  EXPECT_FALSE(narrowed->can_see_camera("front"));

  // Listing never shows the secret; the store holds only its hash.
  Result<Page<ApiKeyInfo>> keys = service_->list_api_keys(op.id, {});
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->items.size(), 2u);
  std::string secret = created->key.substr(23);
  std::string stored = dump_database(db_path());
  EXPECT_EQ(stored.find(secret), std::string::npos);
  EXPECT_EQ(stored.find(wide->key.substr(23)), std::string::npos);
}

TEST_F(AuthServiceTest, ApiKeysCanBeRevokedExpireAndRefuseTampering) {
  User op = make_user("oper", Role::operator_);
  User other = make_user("other", Role::operator_);
  Result<CreatedApiKey> key = service_->create_api_key({.owner_user_id = op.id,
                                                        .name = "ci",
                                                        .permissions = {Permission::events_read},
                                                        .expires_at = clock_.now_ms() + 3600 * 1000});
  ASSERT_TRUE(key.ok()) << key.status().to_string();
  ASSERT_TRUE(service_->authenticate_bearer(key->key).ok());

  std::string tampered = key->key;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  Result<Principal> bad = service_->authenticate_bearer(tampered);
  EXPECT_EQ(bad.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(bad.status().message(), "invalid API key");
  std::string unknown = key->key;
  unknown[6] = unknown[6] == 'a' ? 'b' : 'a';
  EXPECT_EQ(service_->authenticate_bearer(unknown).status().message(), "invalid API key");

  clock_.advance(3600 * 1000);
  Result<Principal> expired = service_->authenticate_bearer(key->key);
  EXPECT_EQ(expired.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(expired.status().message().find("expired"), std::string::npos);

  Result<CreatedApiKey> second =
      service_->create_api_key({.owner_user_id = op.id, .name = "ha", .permissions = {Permission::events_read}});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(service_->revoke_api_key(second->info.id, other.id).code(), StatusCode::kNotFound);
  ASSERT_TRUE(service_->authenticate_bearer(second->key).ok());
  ASSERT_TRUE(service_->revoke_api_key(second->info.id, op.id).ok());
  Result<Principal> revoked = service_->authenticate_bearer(second->key);
  EXPECT_EQ(revoked.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(revoked.status().message().find("revoked"), std::string::npos);
  EXPECT_NE(service_->get_api_key(second->info.id)->revoked_at, 0);

  // A disabled owner's keys stop working.
  Result<CreatedApiKey> third =
      service_->create_api_key({.owner_user_id = other.id, .name = "x", .permissions = {Permission::events_read}});
  ASSERT_TRUE(third.ok());
  ASSERT_TRUE(service_->update_user(other.id, {.disabled = true}).ok());
  EXPECT_EQ(service_->authenticate_bearer(third->key).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(service_->create_api_key({.owner_user_id = other.id, .name = "y", .permissions = {Permission::events_read}})
                .status()
                .code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(AuthServiceTest, ApiKeyUseIsRecordedAtMostOncePerMinute) {
  User op = make_user("oper", Role::operator_);
  Result<CreatedApiKey> key =
      service_->create_api_key({.owner_user_id = op.id, .name = "ci", .permissions = {Permission::events_read}});
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->info.last_used_at, 0);
  const UnixMillis t0 = clock_.now_ms();
  ASSERT_TRUE(service_->authenticate_bearer(key->key).ok());
  EXPECT_EQ(service_->get_api_key(key->info.id)->last_used_at, t0);
  std::uint64_t writes = store_->stats().writes_committed;
  for (int i = 0; i < 10; ++i) {
    clock_.advance(5000);
    ASSERT_TRUE(service_->authenticate_bearer(key->key).ok());
  }
  EXPECT_EQ(service_->get_api_key(key->info.id)->last_used_at, t0);
  EXPECT_EQ(store_->stats().writes_committed, writes) << "no write per request";
  clock_.advance(10'000);
  ASSERT_TRUE(service_->authenticate_bearer(key->key).ok());
  EXPECT_EQ(service_->get_api_key(key->info.id)->last_used_at, t0 + 60'000);
}

// ---------------------------------------------------------------------------------------
// Tickets

TEST_F(AuthServiceTest, TicketsAreSingleUseAndShortLived) {
  Principal p;
  p.user_id = "usr_1";
  p.username = "alice";
  p.role = Role::viewer;
  p.permissions = role_permissions(Role::viewer);
  p.cameras = std::vector<std::string>{"front"};
  Result<Ticket> ticket = service_->issue_ticket(p);
  ASSERT_TRUE(ticket.ok());
  EXPECT_TRUE(std::regex_match(ticket->ticket, std::regex("argt_[A-Za-z0-9_-]{43}")));
  EXPECT_EQ(ticket->expires_at, clock_.now_ms() + 30'000);
  Result<Principal> redeemed = service_->redeem_ticket(ticket->ticket);
  ASSERT_TRUE(redeemed.ok());
  EXPECT_EQ(redeemed->username, "alice");
  EXPECT_EQ(redeemed->cameras, p.cameras);
  EXPECT_EQ(service_->redeem_ticket(ticket->ticket).status().code(), StatusCode::kUnauthenticated);

  Result<Ticket> slow = service_->issue_ticket(p);
  ASSERT_TRUE(slow.ok());
  clock_.advance(29'999);
  Result<Ticket> quick = service_->issue_ticket(p);
  ASSERT_TRUE(quick.ok());
  clock_.advance(1);
  Result<Principal> late = service_->redeem_ticket(slow->ticket);
  EXPECT_EQ(late.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(late.status().message().find("expired"), std::string::npos);
  EXPECT_TRUE(service_->redeem_ticket(quick->ticket).ok());
  EXPECT_EQ(service_->redeem_ticket("argt_nope").status().code(), StatusCode::kUnauthenticated);
}

TEST_F(AuthServiceTest, TicketsAreBounded) {
  AuthOptions options = default_options();
  options.max_tickets = 3;
  open_all(options);
  Principal p;
  p.user_id = "usr_1";
  std::vector<std::string> tickets;
  for (int i = 0; i < 5; ++i) {
    clock_.advance(1);
    Result<Ticket> t = service_->issue_ticket(p);
    ASSERT_TRUE(t.ok());
    tickets.push_back(t->ticket);
  }
  EXPECT_FALSE(service_->redeem_ticket(tickets[0]).ok()) << "oldest dropped";
  EXPECT_FALSE(service_->redeem_ticket(tickets[1]).ok());
  for (int i = 2; i < 5; ++i) EXPECT_TRUE(service_->redeem_ticket(tickets[i]).ok()) << i;
}

// ---------------------------------------------------------------------------------------
// Audit and secrets

TEST_F(AuthServiceTest, AuditLinesCarryTheRequestIdAndNoSecretIsEverStored) {
  User alice = make_user("alice", Role::admin);
  TokenPair pair = must_login("alice");
  Result<TokenPair> next = service_->refresh(pair.refresh_token, "", "");
  ASSERT_TRUE(next.ok());
  Result<CreatedApiKey> key =
      service_->create_api_key({.owner_user_id = alice.id, .name = "k", .permissions = {Permission::events_read}});
  ASSERT_TRUE(key.ok());
  {
    log::ScopedLogContext context("req-42");
    ASSERT_TRUE(service_
                    ->record_audit({.actor = alice.id,
                                    .actor_kind = "user",
                                    .action = "users.create",
                                    .target = "usr_x",
                                    .outcome = "ok",
                                    .details = R"({"role":"viewer"})"})
                    .ok());
  }
  std::vector<AuditRecord> lines = audit_lines("users.create");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].request_id, "req-42");
  EXPECT_EQ(lines[0].time, clock_.now_ms());

  std::string stored = dump_database(db_path());
  for (const std::string& secret : {std::string(kPassword), pair.access_token, pair.refresh_token, next->refresh_token,
                                    next->access_token, key->key, key->key.substr(23)}) {
    EXPECT_EQ(stored.find(secret), std::string::npos) << "stored: " << secret;
  }
  EXPECT_NE(stored.find("$argon2id$"), std::string::npos) << "the hash is there, the password is not";
  std::string key_file = testing::read_file(data_dir() / "jwt-keys.json");
  EXPECT_EQ(file_mode(data_dir() / "jwt-keys.json"), 0600u);
  EXPECT_FALSE(key_file.empty());
}

}  // namespace
}  // namespace argus::auth
