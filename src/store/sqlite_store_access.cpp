// SqliteStore: users, refresh tokens, API keys and the audit log (schema version 3).
//
// Same patterns as sqlite_store.cpp: reads on a checked-out read connection, writes as
// WriteOps on the batching writer, each in its own savepoint, so a guard that fails after
// a statement ran (last administrator, version mismatch) rolls back only that write.
#include <memory>
#include <utility>

#include "store/access_doc.h"
#include "store/sqlite_store.h"
#include "store/sqlite_store_internal.h"

namespace argus {
namespace {

using store_internal::closed_error;
using store_internal::fetch_limit;
using store_internal::guarded;
using store_internal::QueryBuilder;

constexpr std::string_view kUserColumns =
    "id, username, display_name, role, cameras, disabled, password_hash, settings, created_at, updated_at, "
    "password_changed_at, tokens_valid_after, last_login_at, version";

Result<UserRecord> read_user(const sqlite::Statement& stmt) {
  UserRecord u;
  u.id = stmt.column_text(0);
  u.username = stmt.column_text(1);
  u.display_name = stmt.column_text(2);
  u.role = stmt.column_text(3);
  if (!stmt.column_is_null(4)) {
    ARGUS_ASSIGN_OR_RETURN(u.cameras,
                           store_internal::decode_string_list(stmt.column_text(4), "cameras of user '" + u.id + "'"));
  }
  u.disabled = stmt.column_int64(5) != 0;
  u.password_hash = stmt.column_text(6);
  u.settings = stmt.column_text(7);
  if (u.settings.empty()) u.settings = "{}";
  u.created_at = stmt.column_int64(8);
  u.updated_at = stmt.column_int64(9);
  u.password_changed_at = stmt.column_int64(10);
  u.tokens_valid_after = stmt.column_int64(11);
  u.last_login_at = stmt.column_int64(12);  // NULL reads as 0
  u.version = stmt.column_int64(13);
  return u;
}

constexpr std::string_view kRefreshColumns =
    "id, token_hash, user_id, family_id, created_at, expires_at, used_at, revoked_at, replaced_by, ip, user_agent";

RefreshTokenRecord read_refresh_token(const sqlite::Statement& stmt) {
  RefreshTokenRecord t;
  t.id = stmt.column_text(0);
  t.token_hash = stmt.column_text(1);
  t.user_id = stmt.column_text(2);
  t.family_id = stmt.column_text(3);
  t.created_at = stmt.column_int64(4);
  t.expires_at = stmt.column_int64(5);
  t.used_at = stmt.column_int64(6);
  t.revoked_at = stmt.column_int64(7);
  t.replaced_by = stmt.column_text(8);
  t.ip = stmt.column_text(9);
  t.user_agent = stmt.column_text(10);
  return t;
}

constexpr std::string_view kApiKeyColumns =
    "id, user_id, name, secret_hash, permissions, cameras, created_at, expires_at, revoked_at, last_used_at";

Result<ApiKeyRecord> read_api_key(const sqlite::Statement& stmt) {
  ApiKeyRecord k;
  k.id = stmt.column_text(0);
  k.user_id = stmt.column_text(1);
  k.name = stmt.column_text(2);
  k.secret_hash = stmt.column_text(3);
  ARGUS_ASSIGN_OR_RETURN(
      k.permissions, store_internal::decode_string_list(stmt.column_text(4), "permissions of API key '" + k.id + "'"));
  if (!stmt.column_is_null(5)) {
    ARGUS_ASSIGN_OR_RETURN(
        k.cameras, store_internal::decode_string_list(stmt.column_text(5), "cameras of API key '" + k.id + "'"));
  }
  k.created_at = stmt.column_int64(6);
  k.expires_at = stmt.column_int64(7);
  k.revoked_at = stmt.column_int64(8);
  k.last_used_at = stmt.column_int64(9);
  return k;
}

constexpr std::string_view kAuditColumns =
    "id, time, actor, actor_kind, ip, request_id, action, target, outcome, details";

AuditRecord read_audit(const sqlite::Statement& stmt) {
  AuditRecord a;
  a.id = stmt.column_int64(0);
  a.time = stmt.column_int64(1);
  a.actor = stmt.column_text(2);
  a.actor_kind = stmt.column_text(3);
  a.ip = stmt.column_text(4);
  a.request_id = stmt.column_text(5);
  a.action = stmt.column_text(6);
  a.target = stmt.column_text(7);
  a.outcome = stmt.column_text(8);
  a.details = stmt.column_text(9);
  if (a.details.empty()) a.details = "{}";
  return a;
}

void bind_optional_text(sqlite::Statement& stmt, int index, const std::optional<std::string>& text) {
  if (text)
    stmt.bind(index, *text);
  else
    stmt.bind_null(index);
}

void bind_time_or_null(sqlite::Statement& stmt, int index, UnixMillis t) {
  if (t != 0)
    stmt.bind(index, t);
  else
    stmt.bind_null(index);
}

// The one row `sql` (with ?1 = key) selects, read by `read`; NotFound `missing` if none.
template <typename T, typename ReadFn>
Result<T> select_one(sqlite3* db, const std::string& sql, const std::string& key, const std::string& what,
                     const std::string& missing, ReadFn read) {
  ARGUS_ASSIGN_OR_RETURN(sqlite::Statement stmt, sqlite::Statement::prepare(db, sql, what));
  stmt.bind(1, key);
  ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) return Status::not_found(missing);
  return Result<T>(read(stmt));
}

// Runs `sql` (which changes rows) with `bind` applied; returns sqlite3_changes.
template <typename BindFn>
Result<std::int64_t> run_changes(sqlite3* db, std::string_view sql, const std::string& what, BindFn bind) {
  ARGUS_ASSIGN_OR_RETURN(sqlite::Statement stmt, sqlite::Statement::prepare(db, sql, what));
  bind(stmt);
  ARGUS_RETURN_IF_ERROR(stmt.run());
  return static_cast<std::int64_t>(sqlite3_changes(db));
}

// FailedPrecondition if no enabled user has `role` (inside the writer's transaction).
Status check_role_kept(sqlite3* db, const std::string& role, const std::string& path) {
  if (role.empty()) return Status::ok_status();
  ARGUS_ASSIGN_OR_RETURN(
      sqlite::Statement stmt,
      sqlite::Statement::prepare(db, "SELECT EXISTS (SELECT 1 FROM users WHERE role = ?1 AND disabled = 0)",
                                 "count enabled users with role '" + role + "' in " + path));
  stmt.bind(1, role);
  ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (row && stmt.column_int64(0) != 0) return Status::ok_status();
  return Status::failed_precondition("this would leave no enabled user with role '" + role + "'; make another user '" +
                                     role + "' first");
}

// After a conditional user write matched no row: NotFound or FailedPrecondition.
Status user_missing_or_modified(sqlite3* db, const std::string& id, std::optional<std::int64_t> expected_version,
                                const std::string& path) {
  ARGUS_ASSIGN_OR_RETURN(
      sqlite::Statement stmt,
      sqlite::Statement::prepare(db, "SELECT version FROM users WHERE id = ?1", "read user '" + id + "' from " + path));
  stmt.bind(1, id);
  ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) return Status::not_found("user '" + id + "' does not exist");
  std::string message = "user '" + id + "' was modified (version " + std::to_string(stmt.column_int64(0)) + ")";
  if (expected_version) {
    message += "; expected version " + std::to_string(*expected_version) + ": read it again and retry";
  }
  return Status::failed_precondition(message);
}

Result<std::int64_t> revoke_tokens_of_user(sqlite3* db, const std::string& user_id, UnixMillis at,
                                           const std::string& path) {
  return run_changes(db, "UPDATE refresh_tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
                     "revoke refresh tokens of user '" + user_id + "' in " + path,
                     [&](sqlite::Statement& s) { s.bind(1, user_id).bind(2, at); });
}

Status paging_limit(std::size_t limit) {
  if (limit == 0) return Status::invalid_argument("page limit must be at least 1");
  return Status::ok_status();
}

}  // namespace

Result<std::int64_t> SqliteStore::submit_rows(ApplyFn apply) {
  WriteOutcome out = submit(std::move(apply));
  if (!out.status.ok()) return out.status;
  return out.rows;
}

// ---------------------------------------------------------------------------------------
// Users

Result<UserRecord> SqliteStore::create_user(UserRecord user) {
  return guarded<Result<UserRecord>>("create user", [&]() -> Result<UserRecord> {
    if (closed_) return closed_error();
    ARGUS_RETURN_IF_ERROR(store_internal::validate_user(user, /*require_username=*/true));
    ARGUS_ASSIGN_OR_RETURN(user.settings, store_internal::normalize_json_object(user.settings, "settings"));
    auto stored = std::make_shared<UserRecord>(std::move(user));
    WriteOutcome out = submit([this, stored](sqlite3* db) -> WriteOutcome {
      UserRecord& u = *stored;
      UnixMillis now = clock_->now_ms();
      u.created_at = now;
      u.updated_at = now;
      if (u.password_changed_at == 0) u.password_changed_at = now;
      u.version = 1;
      Result<sqlite::Statement> stmt = sqlite::Statement::prepare(
          db,
          "INSERT INTO users (id, username, display_name, role, cameras, disabled, password_hash, settings, "
          "created_at, updated_at, password_changed_at, tokens_valid_after, last_login_at, version) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11, ?12, 1)",
          "create user '" + u.id + "' in " + path_);
      if (!stmt.ok()) return {stmt.status()};
      stmt->bind(1, u.id).bind(2, u.username).bind(3, u.display_name).bind(4, u.role);
      bind_optional_text(*stmt, 5, store_internal::encode_string_list(u.cameras));
      stmt->bind(6, std::int64_t{u.disabled ? 1 : 0}).bind(7, u.password_hash).bind(8, u.settings);
      stmt->bind(9, now).bind(10, u.password_changed_at).bind(11, u.tokens_valid_after);
      bind_time_or_null(*stmt, 12, u.last_login_at);
      int rc = stmt->step_code();
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) return {Status::already_exists("user id '" + u.id + "' is taken")};
      if (rc == SQLITE_CONSTRAINT_UNIQUE) {
        return {Status::already_exists("username '" + u.username + "' is taken")};
      }
      if (rc != SQLITE_DONE) return {stmt->error(rc)};
      return {Status::ok_status(), std::nullopt, 0, 1};
    });
    if (!out.status.ok()) return out.status;
    return std::move(*stored);
  });
}

Result<UserRecord> SqliteStore::get_user(const std::string& id) {
  return guarded<Result<UserRecord>>("get user", [&] {
    return with_reader([&](sqlite3* db) -> Result<UserRecord> {
      return select_one<UserRecord>(db, "SELECT " + std::string(kUserColumns) + " FROM users WHERE id = ?1", id,
                                    "read user '" + id + "' from " + path_, "user '" + id + "' does not exist",
                                    read_user);
    });
  });
}

Result<UserRecord> SqliteStore::get_user_by_username(const std::string& username) {
  return guarded<Result<UserRecord>>("get user by name", [&] {
    return with_reader([&](sqlite3* db) -> Result<UserRecord> {
      return select_one<UserRecord>(db, "SELECT " + std::string(kUserColumns) + " FROM users WHERE username = ?1",
                                    username, "read user '" + username + "' from " + path_,
                                    "user '" + username + "' does not exist", read_user);
    });
  });
}

Result<Page<UserRecord>> SqliteStore::list_users(const PageRequest& page) {
  return guarded<Result<Page<UserRecord>>>("list users", [&] {
    return with_reader([&](sqlite3* db) -> Result<Page<UserRecord>> {
      ARGUS_RETURN_IF_ERROR(paging_limit(page.limit));
      ARGUS_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          sqlite::Statement::prepare(
              db, "SELECT " + std::string(kUserColumns) + " FROM users WHERE username > ?1 ORDER BY username LIMIT ?2",
              "list users from " + path_));
      stmt.bind(1, page.after).bind(2, fetch_limit(page.limit));
      Page<UserRecord> out;
      for (;;) {
        ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row) break;
        if (out.items.size() == page.limit) {
          out.next_after = out.items.back().username;
          break;
        }
        ARGUS_ASSIGN_OR_RETURN(UserRecord user, read_user(stmt));
        out.items.push_back(std::move(user));
      }
      return out;
    });
  });
}

Result<std::int64_t> SqliteStore::count_users() {
  return guarded<Result<std::int64_t>>("count users", [&] {
    return with_reader([&](sqlite3* db) -> Result<std::int64_t> {
      ARGUS_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                             sqlite::Statement::prepare(db, "SELECT count(*) FROM users", "count users in " + path_));
      ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
      return row ? stmt.column_int64(0) : std::int64_t{0};
    });
  });
}

Result<UserRecord> SqliteStore::update_user(UserRecord user, const UserWriteOptions& options) {
  return guarded<Result<UserRecord>>("update user", [&]() -> Result<UserRecord> {
    if (closed_) return closed_error();
    ARGUS_RETURN_IF_ERROR(store_internal::validate_user(user, /*require_username=*/false));
    ARGUS_ASSIGN_OR_RETURN(user.settings, store_internal::normalize_json_object(user.settings, "settings"));
    auto stored = std::make_shared<UserRecord>(std::move(user));
    WriteOutcome out = submit([this, stored, options](sqlite3* db) -> WriteOutcome {
      UserRecord& u = *stored;
      UnixMillis now = clock_->now_ms();
      {
        Result<sqlite::Statement> stmt = sqlite::Statement::prepare(
            db,
            "UPDATE users SET display_name = ?2, role = ?3, cameras = ?4, disabled = ?5, password_hash = ?6, "
            "settings = ?7, password_changed_at = ?8, tokens_valid_after = ?9, updated_at = ?10, "
            "version = version + 1 WHERE id = ?1 AND (?11 IS NULL OR version = ?11) "
            "RETURNING username, created_at, last_login_at, version",
            "update user '" + u.id + "' in " + path_);
        if (!stmt.ok()) return {stmt.status()};
        stmt->bind(1, u.id).bind(2, u.display_name).bind(3, u.role);
        bind_optional_text(*stmt, 4, store_internal::encode_string_list(u.cameras));
        stmt->bind(5, std::int64_t{u.disabled ? 1 : 0}).bind(6, u.password_hash).bind(7, u.settings);
        stmt->bind(8, u.password_changed_at).bind(9, u.tokens_valid_after).bind(10, now);
        if (options.expected_version)
          stmt->bind(11, *options.expected_version);
        else
          stmt->bind_null(11);
        Result<bool> row = stmt->step();
        if (!row.ok()) return {row.status()};
        if (!*row) return {user_missing_or_modified(db, u.id, options.expected_version, path_)};
        u.username = stmt->column_text(0);
        u.created_at = stmt->column_int64(1);
        u.last_login_at = stmt->column_int64(2);
        u.version = stmt->column_int64(3);
        u.updated_at = now;
        if (Status done = stmt->run(); !done.ok()) return {done};
      }
      if (options.revoke_refresh_tokens) {
        Result<std::int64_t> revoked = revoke_tokens_of_user(db, u.id, now, path_);
        if (!revoked.ok()) return {revoked.status()};
      }
      if (Status kept = check_role_kept(db, options.keep_enabled_role, path_); !kept.ok()) return {kept};
      return {Status::ok_status(), std::nullopt, 0, 1};
    });
    if (!out.status.ok()) return out.status;
    return std::move(*stored);
  });
}

Status SqliteStore::delete_user(const std::string& id, const UserWriteOptions& options) {
  return guarded<Status>("delete user", [&]() -> Status {
    if (closed_) return closed_error();
    return submit([this, id, options](sqlite3* db) -> WriteOutcome {
             Result<std::int64_t> deleted =
                 run_changes(db, "DELETE FROM users WHERE id = ?1 AND (?2 IS NULL OR version = ?2)",
                             "delete user '" + id + "' from " + path_, [&](sqlite::Statement& s) {
                               s.bind(1, id);
                               if (options.expected_version)
                                 s.bind(2, *options.expected_version);
                               else
                                 s.bind_null(2);
                             });
             if (!deleted.ok()) return {deleted.status()};
             if (*deleted == 0) return {user_missing_or_modified(db, id, options.expected_version, path_)};
             if (Status kept = check_role_kept(db, options.keep_enabled_role, path_); !kept.ok()) return {kept};
             return {Status::ok_status(), std::nullopt, 0, 1};
           })
        .status;
  });
}

Status SqliteStore::record_user_login(const std::string& id, UnixMillis at) {
  return guarded<Status>("record user login", [&]() -> Status {
    if (closed_) return closed_error();
    Result<std::int64_t> rows = submit_rows([this, id, at](sqlite3* db) -> WriteOutcome {
      Result<std::int64_t> changed = run_changes(db, "UPDATE users SET last_login_at = ?2 WHERE id = ?1",
                                                 "record a login of user '" + id + "' in " + path_,
                                                 [&](sqlite::Statement& s) { s.bind(1, id).bind(2, at); });
      if (!changed.ok()) return {changed.status()};
      return {Status::ok_status(), std::nullopt, 0, *changed};
    });
    if (!rows.ok()) return rows.status();
    if (*rows == 0) return Status::not_found("user '" + id + "' does not exist");
    return Status::ok_status();
  });
}

// ---------------------------------------------------------------------------------------
// Refresh tokens

namespace {

// Inserts `t`; AlreadyExists on a taken id or hash, NotFound for a missing user.
Status insert_refresh_token(sqlite3* db, const RefreshTokenRecord& t, const std::string& path) {
  ARGUS_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                         sqlite::Statement::prepare(db,
                                                    "INSERT INTO refresh_tokens (id, token_hash, user_id, family_id, "
                                                    "created_at, expires_at, used_at, revoked_at, replaced_by, ip, "
                                                    "user_agent) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                                                    "store a refresh token in " + path));
  stmt.bind(1, t.id).bind(2, t.token_hash).bind(3, t.user_id).bind(4, t.family_id);
  stmt.bind(5, t.created_at).bind(6, t.expires_at);
  bind_time_or_null(stmt, 7, t.used_at);
  bind_time_or_null(stmt, 8, t.revoked_at);
  if (t.replaced_by.empty())
    stmt.bind_null(9);
  else
    stmt.bind(9, t.replaced_by);
  stmt.bind(10, t.ip).bind(11, t.user_agent);
  int rc = stmt.step_code();
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
    return Status::already_exists("refresh token id or hash is taken");
  }
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return Status::not_found("user '" + t.user_id + "' does not exist");
  if (rc != SQLITE_DONE) return stmt.error(rc);
  return Status::ok_status();
}

}  // namespace

Status SqliteStore::create_refresh_token(RefreshTokenRecord token) {
  return guarded<Status>("create refresh token", [&]() -> Status {
    if (closed_) return closed_error();
    ARGUS_RETURN_IF_ERROR(store_internal::validate_refresh_token(token));
    if (token.created_at == 0) token.created_at = clock_->now_ms();
    return submit([this, token = std::move(token)](sqlite3* db) -> WriteOutcome {
             return {insert_refresh_token(db, token, path_)};
           })
        .status;
  });
}

Result<RefreshTokenRecord> SqliteStore::get_refresh_token_by_hash(const std::string& token_hash) {
  return guarded<Result<RefreshTokenRecord>>("get refresh token", [&] {
    return with_reader([&](sqlite3* db) -> Result<RefreshTokenRecord> {
      // The hash is a lookup key, not a secret worth protecting, but it is still kept out of
      // messages: nothing about a credential is echoed.
      return select_one<RefreshTokenRecord>(
          db, "SELECT " + std::string(kRefreshColumns) + " FROM refresh_tokens WHERE token_hash = ?1", token_hash,
          "read a refresh token from " + path_, "no such refresh token", read_refresh_token);
    });
  });
}

Result<bool> SqliteStore::rotate_refresh_token(const std::string& used_id, UnixMillis used_at,
                                               RefreshTokenRecord replacement) {
  return guarded<Result<bool>>("rotate refresh token", [&]() -> Result<bool> {
    if (closed_) return closed_error();
    ARGUS_RETURN_IF_ERROR(store_internal::validate_refresh_token(replacement));
    if (replacement.created_at == 0) replacement.created_at = used_at;
    ARGUS_ASSIGN_OR_RETURN(
        std::int64_t rows,
        submit_rows([this, used_id, used_at, replacement = std::move(replacement)](sqlite3* db) -> WriteOutcome {
          // The compare-and-set: only a token neither used nor revoked is marked.
          Result<std::int64_t> marked = run_changes(db,
                                                    "UPDATE refresh_tokens SET used_at = ?2, replaced_by = ?3 "
                                                    "WHERE id = ?1 AND used_at IS NULL AND revoked_at IS NULL",
                                                    "mark a refresh token used in " + path_, [&](sqlite::Statement& s) {
                                                      s.bind(1, used_id).bind(2, used_at).bind(3, replacement.id);
                                                    });
          if (!marked.ok()) return {marked.status()};
          if (*marked == 0) return {Status::ok_status(), std::nullopt, 0, 0};
          if (Status s = insert_refresh_token(db, replacement, path_); !s.ok()) return {s};
          return {Status::ok_status(), std::nullopt, 0, 1};
        }));
    return rows == 1;
  });
}

Result<std::int64_t> SqliteStore::revoke_refresh_family(const std::string& family_id, UnixMillis at) {
  return guarded<Result<std::int64_t>>("revoke refresh family", [&]() -> Result<std::int64_t> {
    if (closed_) return closed_error();
    return submit_rows([this, family_id, at](sqlite3* db) -> WriteOutcome {
      Result<std::int64_t> changed = run_changes(
          db, "UPDATE refresh_tokens SET revoked_at = ?2 WHERE family_id = ?1 AND revoked_at IS NULL",
          "revoke a refresh token family in " + path_, [&](sqlite::Statement& s) { s.bind(1, family_id).bind(2, at); });
      if (!changed.ok()) return {changed.status()};
      return {Status::ok_status(), std::nullopt, 0, *changed};
    });
  });
}

Result<std::int64_t> SqliteStore::revoke_user_refresh_tokens(const std::string& user_id, UnixMillis at) {
  return guarded<Result<std::int64_t>>("revoke user refresh tokens", [&]() -> Result<std::int64_t> {
    if (closed_) return closed_error();
    return submit_rows([this, user_id, at](sqlite3* db) -> WriteOutcome {
      Result<std::int64_t> changed = revoke_tokens_of_user(db, user_id, at, path_);
      if (!changed.ok()) return {changed.status()};
      return {Status::ok_status(), std::nullopt, 0, *changed};
    });
  });
}

Result<std::int64_t> SqliteStore::delete_refresh_tokens_expired_before(UnixMillis t) {
  return guarded<Result<std::int64_t>>("delete expired refresh tokens", [&]() -> Result<std::int64_t> {
    if (closed_) return closed_error();
    return submit_rows([this, t](sqlite3* db) -> WriteOutcome {
      Result<std::int64_t> changed =
          run_changes(db, "DELETE FROM refresh_tokens WHERE expires_at < ?1",
                      "delete expired refresh tokens from " + path_, [&](sqlite::Statement& s) { s.bind(1, t); });
      if (!changed.ok()) return {changed.status()};
      return {Status::ok_status(), std::nullopt, 0, *changed};
    });
  });
}

// ---------------------------------------------------------------------------------------
// API keys

Status SqliteStore::create_api_key(ApiKeyRecord key) {
  return guarded<Status>("create API key", [&]() -> Status {
    if (closed_) return closed_error();
    ARGUS_RETURN_IF_ERROR(store_internal::validate_api_key(key));
    if (key.created_at == 0) key.created_at = clock_->now_ms();
    return submit([this, key = std::move(key)](sqlite3* db) -> WriteOutcome {
             Result<sqlite::Statement> stmt = sqlite::Statement::prepare(
                 db,
                 "INSERT INTO api_keys (id, user_id, name, secret_hash, permissions, cameras, created_at, "
                 "expires_at, revoked_at, last_used_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                 "create API key '" + key.id + "' in " + path_);
             if (!stmt.ok()) return {stmt.status()};
             stmt->bind(1, key.id).bind(2, key.user_id).bind(3, key.name).bind(4, key.secret_hash);
             stmt->bind(5, *store_internal::encode_string_list(key.permissions));
             bind_optional_text(*stmt, 6, store_internal::encode_string_list(key.cameras));
             stmt->bind(7, key.created_at);
             bind_time_or_null(*stmt, 8, key.expires_at);
             bind_time_or_null(*stmt, 9, key.revoked_at);
             bind_time_or_null(*stmt, 10, key.last_used_at);
             int rc = stmt->step_code();
             if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
               return {Status::already_exists("API key '" + key.id + "' already exists")};
             }
             if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
               return {Status::not_found("user '" + key.user_id + "' does not exist")};
             }
             if (rc != SQLITE_DONE) return {stmt->error(rc)};
             return {Status::ok_status(), std::nullopt, 0, 1};
           })
        .status;
  });
}

Result<ApiKeyRecord> SqliteStore::get_api_key(const std::string& id) {
  return guarded<Result<ApiKeyRecord>>("get API key", [&] {
    return with_reader([&](sqlite3* db) -> Result<ApiKeyRecord> {
      return select_one<ApiKeyRecord>(db, "SELECT " + std::string(kApiKeyColumns) + " FROM api_keys WHERE id = ?1", id,
                                      "read API key '" + id + "' from " + path_, "API key '" + id + "' does not exist",
                                      read_api_key);
    });
  });
}

Result<Page<ApiKeyRecord>> SqliteStore::list_api_keys(const std::string& user_id, const PageRequest& page) {
  return guarded<Result<Page<ApiKeyRecord>>>("list API keys", [&] {
    return with_reader([&](sqlite3* db) -> Result<Page<ApiKeyRecord>> {
      ARGUS_RETURN_IF_ERROR(paging_limit(page.limit));
      QueryBuilder q;
      if (!user_id.empty()) q.where("user_id = ?", {user_id});
      q.where("id > ?", {page.after});
      ARGUS_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          sqlite::Statement::prepare(db, q.sql("SELECT " + std::string(kApiKeyColumns) + " FROM api_keys", "id"),
                                     "list API keys from " + path_));
      q.bind(stmt, fetch_limit(page.limit));
      Page<ApiKeyRecord> out;
      for (;;) {
        ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row) break;
        if (out.items.size() == page.limit) {
          out.next_after = out.items.back().id;
          break;
        }
        ARGUS_ASSIGN_OR_RETURN(ApiKeyRecord key, read_api_key(stmt));
        out.items.push_back(std::move(key));
      }
      return out;
    });
  });
}

Status SqliteStore::revoke_api_key(const std::string& id, UnixMillis at) {
  return guarded<Status>("revoke API key", [&]() -> Status {
    if (closed_) return closed_error();
    Result<std::int64_t> rows = submit_rows([this, id, at](sqlite3* db) -> WriteOutcome {
      Result<std::int64_t> changed = run_changes(
          db, "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
          "revoke API key '" + id + "' in " + path_, [&](sqlite::Statement& s) { s.bind(1, id).bind(2, at); });
      if (!changed.ok()) return {changed.status()};
      return {Status::ok_status(), std::nullopt, 0, *changed};
    });
    if (!rows.ok()) return rows.status();
    if (*rows == 0) return Status::not_found("API key '" + id + "' does not exist");
    return Status::ok_status();
  });
}

Status SqliteStore::touch_api_key(const std::string& id, UnixMillis at) {
  return guarded<Status>("touch API key", [&]() -> Status {
    if (closed_) return closed_error();
    Result<std::int64_t> rows = submit_rows([this, id, at](sqlite3* db) -> WriteOutcome {
      Result<std::int64_t> changed =
          run_changes(db, "UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, 0), ?2) WHERE id = ?1",
                      "record the use of API key '" + id + "' in " + path_,
                      [&](sqlite::Statement& s) { s.bind(1, id).bind(2, at); });
      if (!changed.ok()) return {changed.status()};
      return {Status::ok_status(), std::nullopt, 0, *changed};
    });
    if (!rows.ok()) return rows.status();
    if (*rows == 0) return Status::not_found("API key '" + id + "' does not exist");
    return Status::ok_status();
  });
}

// ---------------------------------------------------------------------------------------
// Audit log

Result<std::int64_t> SqliteStore::append_audit(AuditRecord record) {
  return guarded<Result<std::int64_t>>("append audit record", [&]() -> Result<std::int64_t> {
    if (closed_) return closed_error();
    ARGUS_RETURN_IF_ERROR(store_internal::validate_audit(record));
    ARGUS_ASSIGN_OR_RETURN(record.details, store_internal::normalize_json_object(record.details, "details"));
    if (record.time == 0) record.time = clock_->now_ms();
    return submit_rows([this, record = std::move(record)](sqlite3* db) -> WriteOutcome {
      Result<sqlite::Statement> stmt = sqlite::Statement::prepare(
          db,
          "INSERT INTO audit_log (time, actor, actor_kind, ip, request_id, action, target, outcome, details) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
          "append to the audit log in " + path_);
      if (!stmt.ok()) return {stmt.status()};
      stmt->bind(1, record.time).bind(2, record.actor).bind(3, record.actor_kind).bind(4, record.ip);
      stmt->bind(5, record.request_id).bind(6, record.action).bind(7, record.target).bind(8, record.outcome);
      stmt->bind(9, record.details);
      Result<bool> row = stmt->step();
      if (!row.ok()) return {row.status()};
      if (!*row) return {Status::internal("appending to the audit log returned no id")};
      std::int64_t id = stmt->column_int64(0);
      if (Status done = stmt->run(); !done.ok()) return {done};
      return {Status::ok_status(), std::nullopt, 0, id};
    });
  });
}

Result<Page<AuditRecord>> SqliteStore::list_audit(const AuditQuery& query) {
  return guarded<Result<Page<AuditRecord>>>("list audit log", [&] {
    return with_reader([&](sqlite3* db) -> Result<Page<AuditRecord>> {
      ARGUS_RETURN_IF_ERROR(paging_limit(query.limit));
      QueryBuilder q;
      if (!query.actor.empty()) q.where("actor = ?", {query.actor});
      if (!query.action.empty()) q.where("action = ?", {query.action});
      if (!query.outcome.empty()) q.where("outcome = ?", {query.outcome});
      if (!query.target.empty()) q.where("target = ?", {query.target});
      if (query.from != 0) q.where("time >= ?", {query.from});
      if (query.to != 0) q.where("time < ?", {query.to});
      if (!query.after.empty()) {
        ARGUS_ASSIGN_OR_RETURN(std::int64_t after, store_internal::parse_audit_page_key(query.after));
        q.where("id < ?", {after});
      }
      ARGUS_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          sqlite::Statement::prepare(db, q.sql("SELECT " + std::string(kAuditColumns) + " FROM audit_log", "id DESC"),
                                     "list the audit log from " + path_));
      q.bind(stmt, fetch_limit(query.limit));
      Page<AuditRecord> out;
      for (;;) {
        ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row) break;
        if (out.items.size() == query.limit) {
          out.next_after = store_internal::audit_page_key(out.items.back().id);
          break;
        }
        out.items.push_back(read_audit(stmt));
      }
      return out;
    });
  });
}

Result<std::int64_t> SqliteStore::delete_audit_before(UnixMillis t) {
  return guarded<Result<std::int64_t>>("delete old audit records", [&]() -> Result<std::int64_t> {
    if (closed_) return closed_error();
    return submit_rows([this, t](sqlite3* db) -> WriteOutcome {
      Result<std::int64_t> changed =
          run_changes(db, "DELETE FROM audit_log WHERE time < ?1", "delete old audit records from " + path_,
                      [&](sqlite::Statement& s) { s.bind(1, t); });
      if (!changed.ok()) return {changed.status()};
      return {Status::ok_status(), std::nullopt, 0, *changed};
    });
  });
}

}  // namespace argus
