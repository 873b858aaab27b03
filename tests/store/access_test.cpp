// Tests of the access-control tables of the SQLite Store (users, refresh tokens, API keys,
// audit log) against real database files in a temporary directory.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite_migrations.h"
#include "store/store.h"
#include "testing/testing.h"

namespace argus {
namespace {

// A plain sqlite3 connection for poking at the file behind the store's back.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    EXPECT_EQ(rc, SQLITE_OK) << sqlite3_errstr(rc);
    sqlite3_busy_timeout(db_, 10'000);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  // Returns SQLite's result code and error text.
  int try_exec(const std::string& sql, std::string* error = nullptr) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    if (error != nullptr) *error = err != nullptr ? err : "";
    sqlite3_free(err);
    return rc;
  }
  void exec(const std::string& sql) {
    std::string error;
    EXPECT_EQ(try_exec(sql, &error), SQLITE_OK) << sql << ": " << error;
  }
  std::string query_text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      if (text != nullptr) out = reinterpret_cast<const char*>(text);
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

UserRecord user(const std::string& id, const std::string& username, const std::string& role = "viewer") {
  UserRecord u;
  u.id = id;
  u.username = username;
  u.role = role;
  u.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
  return u;
}

RefreshTokenRecord refresh(const std::string& id, const std::string& user_id, const std::string& family,
                           UnixMillis expires_at = 1'800'000'000'000) {
  RefreshTokenRecord t;
  t.id = id;
  t.token_hash = "hash-" + id;
  t.user_id = user_id;
  t.family_id = family;
  t.expires_at = expires_at;
  t.ip = "10.0.0.1";
  t.user_agent = "curl/8";
  return t;
}

ApiKeyRecord api_key(const std::string& id, const std::string& user_id) {
  ApiKeyRecord k;
  k.id = id;
  k.user_id = user_id;
  k.name = "key " + id;
  k.secret_hash = "secret-hash-" + id;
  k.permissions = {"events:read", "counts:read"};
  return k;
}

AuditRecord audit(const std::string& action, const std::string& actor, const std::string& outcome, UnixMillis time) {
  AuditRecord a;
  a.time = time;
  a.actor = actor;
  a.actor_kind = "user";
  a.ip = "10.0.0.2";
  a.request_id = "req-" + action;
  a.action = action;
  a.target = "target";
  a.outcome = outcome;
  a.details = R"({"reason":"test"})";
  return a;
}

class AccessStoreTest : public ::testing::Test {
 protected:
  std::string db_path() const { return dir_.file("data/argus.db"); }

  StoreOptions options() const {
    StoreOptions o;
    o.config.url = "sqlite://" + db_path();
    o.clock = &clock_;
    return o;
  }

  std::unique_ptr<Store> open() {
    Result<std::unique_ptr<Store>> r = open_store(options());
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  void SetUp() override {
    store_ = open();
    ASSERT_NE(store_, nullptr);
  }

  UserRecord must_create(UserRecord u) {
    Result<UserRecord> r = store_->create_user(std::move(u));
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : UserRecord{};
  }

  testing::TempDir dir_;
  argus::testing::ManualClock clock_;
  std::unique_ptr<Store> store_;
};

// ---------------------------------------------------------------------------------------
// Users

TEST_F(AccessStoreTest, UserRoundTripsWithEveryField) {
  UserRecord u = user("u1", "alice", "operator");
  u.display_name = "Alice Ä";
  u.cameras = std::vector<std::string>{"front", "back"};
  u.disabled = true;
  u.settings = R"({ "theme" : "dark" })";
  u.tokens_valid_after = 5;
  Result<UserRecord> created = store_->create_user(u);
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  EXPECT_EQ(created->created_at, clock_.now_ms());
  EXPECT_EQ(created->updated_at, clock_.now_ms());
  EXPECT_EQ(created->password_changed_at, clock_.now_ms());
  EXPECT_EQ(created->version, 1);
  EXPECT_EQ(created->settings, R"({"theme":"dark"})");

  Result<UserRecord> by_id = store_->get_user("u1");
  ASSERT_TRUE(by_id.ok()) << by_id.status().to_string();
  EXPECT_EQ(*by_id, *created);
  Result<UserRecord> by_name = store_->get_user_by_username("alice");
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(*by_name, *created);

  // nullopt (every camera) and an empty list (no camera) stay apart.
  UserRecord all = user("u2", "bob");
  UserRecord none = user("u3", "carol");
  none.cameras = std::vector<std::string>{};
  must_create(all);
  must_create(none);
  EXPECT_FALSE(store_->get_user("u2")->cameras.has_value());
  ASSERT_TRUE(store_->get_user("u3")->cameras.has_value());
  EXPECT_TRUE(store_->get_user("u3")->cameras->empty());
  EXPECT_EQ(store_->get_user("u2")->settings, "{}");
  EXPECT_EQ(*store_->count_users(), 3);
}

TEST_F(AccessStoreTest, MissingUserIsNotFound) {
  EXPECT_EQ(store_->get_user("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->get_user_by_username("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->update_user(user("nope", "nope"), {}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->delete_user("nope", {}).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->record_user_login("nope", 1).code(), StatusCode::kNotFound);
}

TEST_F(AccessStoreTest, DuplicateIdOrUsernameIsAlreadyExists) {
  must_create(user("u1", "alice"));
  EXPECT_EQ(store_->create_user(user("u1", "other")).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->create_user(user("u2", "alice")).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(*store_->count_users(), 1);
}

TEST_F(AccessStoreTest, InvalidUsersAreRejectedAndNotStored) {
  UserRecord no_name = user("u1", "");
  UserRecord no_hash = user("u2", "bob");
  no_hash.password_hash.clear();
  UserRecord bad_settings = user("u3", "carol");
  bad_settings.settings = "[1,2]";
  UserRecord bad_utf8 = user("u4", "dave");
  bad_utf8.display_name = "\xff\xfe";
  for (const UserRecord& u : {no_name, no_hash, bad_settings, bad_utf8}) {
    Result<UserRecord> r = store_->create_user(u);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << u.id;
    // The hash is never quoted back.
    EXPECT_EQ(r.status().message().find("argon2"), std::string::npos);
  }
  EXPECT_EQ(*store_->count_users(), 0);
}

TEST_F(AccessStoreTest, ListUsersPagesByUsername) {
  for (const char* name : {"dave", "alice", "carol", "bob", "erin"}) must_create(user(std::string("id-") + name, name));
  std::vector<std::string> seen;
  PageRequest page{.after = "", .limit = 2};
  int pages = 0;
  for (;;) {
    Result<Page<UserRecord>> r = store_->list_users(page);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    ++pages;
    for (const UserRecord& u : r->items) seen.push_back(u.username);
    if (!r->next_after) break;
    page.after = *r->next_after;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"alice", "bob", "carol", "dave", "erin"}));
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(store_->list_users({.after = "", .limit = 0}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(AccessStoreTest, UpdateUserReplacesMutableFieldsAndChecksTheVersion) {
  UserRecord created = must_create(user("u1", "alice", "viewer"));
  ASSERT_TRUE(store_->record_user_login("u1", 42).ok());
  clock_.advance(1000);

  UserRecord changed = created;
  changed.username = "ignored";  // never written
  changed.role = "operator";
  changed.display_name = "Alice";
  changed.cameras = std::vector<std::string>{"front"};
  changed.settings = R"({"a":1})";
  changed.password_hash = "$argon2id$new";
  changed.password_changed_at = clock_.now_ms();
  changed.tokens_valid_after = clock_.now_ms();
  changed.created_at = 1;  // never written
  Result<UserRecord> updated = store_->update_user(changed, {.expected_version = 1});
  ASSERT_TRUE(updated.ok()) << updated.status().to_string();
  EXPECT_EQ(updated->username, "alice");
  EXPECT_EQ(updated->created_at, created.created_at);
  EXPECT_EQ(updated->updated_at, clock_.now_ms());
  EXPECT_EQ(updated->last_login_at, 42);
  EXPECT_EQ(updated->version, 2);
  EXPECT_EQ(*store_->get_user("u1"), *updated);

  // A stale version changes nothing.
  changed.role = "admin";
  Result<UserRecord> stale = store_->update_user(changed, {.expected_version = 1});
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->get_user("u1")->role, "operator");
  EXPECT_EQ(store_->delete_user("u1", {.expected_version = 1}).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store_->get_user("u1").ok());
}

TEST_F(AccessStoreTest, TheLastEnabledAdminCannotBeDemotedDisabledOrDeleted) {
  UserRecord root = must_create(user("u1", "root", "admin"));
  must_create(user("u2", "viewer", "viewer"));
  const UserWriteOptions guard{.keep_enabled_role = "admin"};

  UserRecord demoted = root;
  demoted.role = "viewer";
  EXPECT_EQ(store_->update_user(demoted, guard).status().code(), StatusCode::kFailedPrecondition);
  UserRecord disabled = root;
  disabled.disabled = true;
  EXPECT_EQ(store_->update_user(disabled, guard).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->delete_user("u1", guard).code(), StatusCode::kFailedPrecondition);
  Result<UserRecord> still = store_->get_user("u1");
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->role, "admin");
  EXPECT_FALSE(still->disabled);
  EXPECT_EQ(still->version, 1);

  // With a second enabled admin, the first may go.
  must_create(user("u3", "root2", "admin"));
  EXPECT_TRUE(store_->update_user(demoted, guard).ok());
  EXPECT_EQ(store_->delete_user("u3", guard).code(), StatusCode::kFailedPrecondition);
}

TEST_F(AccessStoreTest, UpdateCanRevokeEveryRefreshTokenOfTheUserAtomically) {
  UserRecord alice = must_create(user("u1", "alice"));
  must_create(user("u2", "bob"));
  ASSERT_TRUE(store_->create_refresh_token(refresh("t1", "u1", "f1")).ok());
  ASSERT_TRUE(store_->create_refresh_token(refresh("t2", "u1", "f2")).ok());
  ASSERT_TRUE(store_->create_refresh_token(refresh("t3", "u2", "f3")).ok());

  // A failing guard rolls the revocation back too.
  EXPECT_FALSE(store_->update_user(alice, {.revoke_refresh_tokens = true, .keep_enabled_role = "admin"}).ok());
  EXPECT_EQ(store_->get_refresh_token_by_hash("hash-t1")->revoked_at, 0);

  clock_.advance(5);
  ASSERT_TRUE(store_->update_user(alice, {.revoke_refresh_tokens = true}).ok());
  EXPECT_EQ(store_->get_refresh_token_by_hash("hash-t1")->revoked_at, clock_.now_ms());
  EXPECT_EQ(store_->get_refresh_token_by_hash("hash-t2")->revoked_at, clock_.now_ms());
  EXPECT_EQ(store_->get_refresh_token_by_hash("hash-t3")->revoked_at, 0);
}

TEST_F(AccessStoreTest, DeletingAUserDeletesItsTokensAndKeysButNotItsAuditLines) {
  must_create(user("u1", "alice"));
  ASSERT_TRUE(store_->create_refresh_token(refresh("t1", "u1", "f1")).ok());
  ASSERT_TRUE(store_->create_api_key(api_key("k1", "u1")).ok());
  ASSERT_TRUE(store_->append_audit(audit("auth.login", "u1", "ok", 10)).ok());
  ASSERT_TRUE(store_->delete_user("u1", {}).ok());
  EXPECT_EQ(store_->get_user("u1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->get_refresh_token_by_hash("hash-t1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->get_api_key("k1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->list_audit({.actor = "u1"})->items.size(), 1u);
}

TEST_F(AccessStoreTest, RecordUserLoginLeavesVersionAlone) {
  UserRecord u = must_create(user("u1", "alice"));
  ASSERT_TRUE(store_->record_user_login("u1", 1234).ok());
  Result<UserRecord> got = store_->get_user("u1");
  EXPECT_EQ(got->last_login_at, 1234);
  EXPECT_EQ(got->version, u.version);
  EXPECT_EQ(got->updated_at, u.updated_at);
}

// ---------------------------------------------------------------------------------------
// Refresh tokens

TEST_F(AccessStoreTest, RefreshTokenRoundTripsAndRejectsDuplicatesAndUnknownUsers) {
  must_create(user("u1", "alice"));
  RefreshTokenRecord t = refresh("t1", "u1", "f1");
  ASSERT_TRUE(store_->create_refresh_token(t).ok());
  Result<RefreshTokenRecord> got = store_->get_refresh_token_by_hash("hash-t1");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  t.created_at = clock_.now_ms();
  EXPECT_EQ(*got, t);

  EXPECT_EQ(store_->create_refresh_token(t).code(), StatusCode::kAlreadyExists);
  RefreshTokenRecord same_hash = refresh("t2", "u1", "f1");
  same_hash.token_hash = "hash-t1";
  EXPECT_EQ(store_->create_refresh_token(same_hash).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->create_refresh_token(refresh("t3", "ghost", "f1")).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->create_refresh_token(refresh("", "u1", "f1")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->get_refresh_token_by_hash("nope").status().code(), StatusCode::kNotFound);
}

TEST_F(AccessStoreTest, RotateIsACompareAndSet) {
  must_create(user("u1", "alice"));
  ASSERT_TRUE(store_->create_refresh_token(refresh("t1", "u1", "f1")).ok());

  Result<bool> first = store_->rotate_refresh_token("t1", 100, refresh("t2", "u1", "f1"));
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_TRUE(*first);
  Result<RefreshTokenRecord> used = store_->get_refresh_token_by_hash("hash-t1");
  EXPECT_EQ(used->used_at, 100);
  EXPECT_EQ(used->replaced_by, "t2");
  Result<RefreshTokenRecord> next = store_->get_refresh_token_by_hash("hash-t2");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->created_at, 100);
  EXPECT_EQ(next->used_at, 0);

  // Used already: nothing is written.
  Result<bool> again = store_->rotate_refresh_token("t1", 200, refresh("t3", "u1", "f1"));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_EQ(store_->get_refresh_token_by_hash("hash-t3").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->get_refresh_token_by_hash("hash-t1")->used_at, 100);

  // Revoked: neither.
  ASSERT_EQ(*store_->revoke_refresh_family("f1", 300), 2);
  EXPECT_FALSE(*store_->rotate_refresh_token("t2", 400, refresh("t4", "u1", "f1")));
  EXPECT_EQ(store_->get_refresh_token_by_hash("hash-t4").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(*store_->rotate_refresh_token("missing", 400, refresh("t5", "u1", "f1")));
  // Revoking again touches nothing and keeps the first time.
  EXPECT_EQ(*store_->revoke_refresh_family("f1", 500), 0);
  EXPECT_EQ(store_->get_refresh_token_by_hash("hash-t2")->revoked_at, 300);
}

TEST_F(AccessStoreTest, AFailedReplacementLeavesTheTokenUnused) {
  must_create(user("u1", "alice"));
  ASSERT_TRUE(store_->create_refresh_token(refresh("t1", "u1", "f1")).ok());
  ASSERT_TRUE(store_->create_refresh_token(refresh("t2", "u1", "f1")).ok());
  RefreshTokenRecord clash = refresh("t3", "u1", "f1");
  clash.token_hash = "hash-t2";
  EXPECT_EQ(store_->rotate_refresh_token("t1", 100, clash).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->get_refresh_token_by_hash("hash-t1")->used_at, 0);
}

TEST_F(AccessStoreTest, ConcurrentRotationsOfOneTokenLetExactlyOneWin) {
  must_create(user("u1", "alice"));
  ASSERT_TRUE(store_->create_refresh_token(refresh("t0", "u1", "f1")).ok());
  constexpr int kThreads = 8;
  std::atomic<int> wins{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      Result<bool> r = store_->rotate_refresh_token("t0", 100 + i, refresh("n" + std::to_string(i), "u1", "f1"));
      if (!r.ok())
        ++errors;
      else if (*r)
        ++wins;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(wins.load(), 1);
  RawDb raw(db_path());
  EXPECT_EQ(raw.query_text("SELECT count(*) FROM refresh_tokens"), "2");
}

TEST_F(AccessStoreTest, RevokeUserTokensAndDeleteExpired) {
  must_create(user("u1", "alice"));
  must_create(user("u2", "bob"));
  ASSERT_TRUE(store_->create_refresh_token(refresh("t1", "u1", "f1", 1000)).ok());
  ASSERT_TRUE(store_->create_refresh_token(refresh("t2", "u1", "f2", 5000)).ok());
  ASSERT_TRUE(store_->create_refresh_token(refresh("t3", "u2", "f3", 5000)).ok());
  EXPECT_EQ(*store_->revoke_user_refresh_tokens("u1", 7), 2);
  EXPECT_EQ(*store_->revoke_user_refresh_tokens("u1", 8), 0);
  EXPECT_EQ(store_->get_refresh_token_by_hash("hash-t3")->revoked_at, 0);
  EXPECT_EQ(*store_->delete_refresh_tokens_expired_before(2000), 1);
  EXPECT_EQ(store_->get_refresh_token_by_hash("hash-t1").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->get_refresh_token_by_hash("hash-t2").ok());
}

// ---------------------------------------------------------------------------------------
// API keys

TEST_F(AccessStoreTest, ApiKeyRoundTripsListsRevokesAndTouches) {
  must_create(user("u1", "alice"));
  must_create(user("u2", "bob"));
  ApiKeyRecord k1 = api_key("k1", "u1");
  k1.cameras = std::vector<std::string>{"front"};
  k1.expires_at = 9'999;
  ASSERT_TRUE(store_->create_api_key(k1).ok());
  ASSERT_TRUE(store_->create_api_key(api_key("k3", "u1")).ok());
  ASSERT_TRUE(store_->create_api_key(api_key("k2", "u2")).ok());
  Result<ApiKeyRecord> got = store_->get_api_key("k1");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  k1.created_at = clock_.now_ms();
  EXPECT_EQ(*got, k1);

  EXPECT_EQ(store_->create_api_key(api_key("k1", "u1")).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->create_api_key(api_key("k9", "ghost")).code(), StatusCode::kNotFound);
  ApiKeyRecord nameless = api_key("k8", "u1");
  nameless.name.clear();
  EXPECT_EQ(store_->create_api_key(nameless).code(), StatusCode::kInvalidArgument);

  Result<Page<ApiKeyRecord>> mine = store_->list_api_keys("u1", {.after = "", .limit = 1});
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->items.size(), 1u);
  EXPECT_EQ(mine->items[0].id, "k1");
  ASSERT_TRUE(mine->next_after.has_value());
  Result<Page<ApiKeyRecord>> mine2 = store_->list_api_keys("u1", {.after = *mine->next_after, .limit = 1});
  ASSERT_EQ(mine2->items.size(), 1u);
  EXPECT_EQ(mine2->items[0].id, "k3");
  EXPECT_FALSE(mine2->next_after.has_value());
  Result<Page<ApiKeyRecord>> all = store_->list_api_keys("", {});
  ASSERT_EQ(all->items.size(), 3u);
  EXPECT_EQ(all->items[1].id, "k2");

  ASSERT_TRUE(store_->revoke_api_key("k1", 500).ok());
  ASSERT_TRUE(store_->revoke_api_key("k1", 600).ok());
  EXPECT_EQ(store_->get_api_key("k1")->revoked_at, 500);
  EXPECT_EQ(store_->revoke_api_key("nope", 1).code(), StatusCode::kNotFound);

  ASSERT_TRUE(store_->touch_api_key("k2", 700).ok());
  ASSERT_TRUE(store_->touch_api_key("k2", 650).ok());
  EXPECT_EQ(store_->get_api_key("k2")->last_used_at, 700);
  EXPECT_EQ(store_->touch_api_key("nope", 1).code(), StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------------------
// Audit log

TEST_F(AccessStoreTest, AuditLogAppendsListsNewestFirstFiltersAndPages) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    Result<std::int64_t> id = store_->append_audit(
        audit(i % 2 == 0 ? "auth.login" : "users.update", i < 3 ? "u1" : "u2", i == 4 ? "denied" : "ok", 1000 + i));
    ASSERT_TRUE(id.ok()) << id.status().to_string();
    ids.push_back(*id);
  }
  for (std::size_t i = 1; i < ids.size(); ++i) EXPECT_GT(ids[i], ids[i - 1]);

  Result<Page<AuditRecord>> all = store_->list_audit({});
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  ASSERT_EQ(all->items.size(), 5u);
  EXPECT_EQ(all->items.front().id, ids.back());
  AuditRecord expected = audit("auth.login", "u2", "denied", 1004);
  expected.id = ids.back();
  EXPECT_EQ(all->items.front(), expected);

  EXPECT_EQ(store_->list_audit({.actor = "u1"})->items.size(), 3u);
  EXPECT_EQ(store_->list_audit({.action = "auth.login"})->items.size(), 3u);
  EXPECT_EQ(store_->list_audit({.outcome = "denied"})->items.size(), 1u);
  EXPECT_EQ(store_->list_audit({.from = 1001, .to = 1003})->items.size(), 2u);

  std::vector<std::int64_t> paged;
  AuditQuery q{.limit = 2};
  for (;;) {
    Result<Page<AuditRecord>> page = store_->list_audit(q);
    ASSERT_TRUE(page.ok());
    for (const AuditRecord& a : page->items) paged.push_back(a.id);
    if (!page->next_after) break;
    q.after = *page->next_after;
  }
  EXPECT_EQ(paged, (std::vector<std::int64_t>(ids.rbegin(), ids.rend())));
  EXPECT_EQ(store_->list_audit({.after = "x"}).status().code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(*store_->delete_audit_before(1002), 2);
  EXPECT_EQ(store_->list_audit({})->items.size(), 3u);
  // Ids are never reused after retention.
  Result<std::int64_t> later = store_->append_audit(audit("auth.logout", "u1", "ok", 0));
  EXPECT_GT(*later, ids.back());
  EXPECT_EQ(store_->list_audit({})->items.front().time, clock_.now_ms());
}

TEST_F(AccessStoreTest, AuditLogRejectsBadRecordsAndRefusesUpdates) {
  AuditRecord no_action = audit("", "u1", "ok", 1);
  EXPECT_EQ(store_->append_audit(no_action).status().code(), StatusCode::kInvalidArgument);
  AuditRecord bad_details = audit("a", "u1", "ok", 1);
  bad_details.details = "not json";
  EXPECT_EQ(store_->append_audit(bad_details).status().code(), StatusCode::kInvalidArgument);
  AuditRecord empty_details = audit("a", "u1", "ok", 1);
  empty_details.details.clear();
  ASSERT_TRUE(store_->append_audit(empty_details).ok());
  EXPECT_EQ(store_->list_audit({})->items.at(0).details, "{}");

  ASSERT_TRUE(store_->flush().ok());
  RawDb raw(db_path());
  std::string error;
  EXPECT_NE(raw.try_exec("UPDATE audit_log SET outcome = 'ok'", &error), SQLITE_OK);
  EXPECT_NE(error.find("append-only"), std::string::npos) << error;
}

// ---------------------------------------------------------------------------------------
// Persistence and migration

TEST_F(AccessStoreTest, AccessTablesSurviveReopen) {
  UserRecord u = must_create(user("u1", "alice", "admin"));
  ASSERT_TRUE(store_->create_refresh_token(refresh("t1", "u1", "f1")).ok());
  ASSERT_TRUE(store_->create_api_key(api_key("k1", "u1")).ok());
  ASSERT_TRUE(store_->append_audit(audit("auth.login", "u1", "ok", 10)).ok());
  store_->close();
  store_ = open();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(*store_->get_user("u1"), u);
  EXPECT_TRUE(store_->get_refresh_token_by_hash("hash-t1").ok());
  EXPECT_TRUE(store_->get_api_key("k1").ok());
  EXPECT_EQ(store_->list_audit({})->items.size(), 1u);
}

TEST(AccessStoreMigrationTest, UpgradesAVersion2DatabaseKeepingItsData) {
  testing::TempDir dir;
  std::string path = dir.file("argus.db");
  {
    RawDb raw(path);
    raw.exec(std::string(sqlite::migrations()[0]));
    raw.exec(std::string(sqlite::migrations()[1]));
    raw.exec("PRAGMA user_version = 2");
    raw.exec("INSERT INTO events (id, camera_id, label, start_time) VALUES ('e1', 'front', 'person', 5)");
  }
  StoreOptions o;
  o.config.url = "sqlite://" + path;
  Result<std::unique_ptr<Store>> store = open_store(o);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  EXPECT_EQ((*store)->stats().schema_version, sqlite::latest_schema_version());
  Result<EventRecord> event = (*store)->get_event("e1");
  ASSERT_TRUE(event.ok()) << event.status().to_string();
  EXPECT_EQ(event->start_time, 5);
  ASSERT_TRUE((*store)->create_user(user("u1", "alice")).ok());
  ASSERT_TRUE((*store)->append_audit(audit("auth.login", "u1", "ok", 10)).ok());
  (*store)->close();
  RawDb raw(path);
  EXPECT_EQ(raw.query_text("PRAGMA user_version"), std::to_string(sqlite::latest_schema_version()));
  EXPECT_EQ(raw.query_text("SELECT count(*) FROM users"), "1");
}

}  // namespace
}  // namespace argus
