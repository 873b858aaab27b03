// SqliteStore: notification channels and the dead-letter queue (tables notification_channels
// and dead_letters; see sqlite_migrations.cpp).
//
// Same patterns as sqlite_store_jobs.cpp: reads on a checked-out read connection, writes as
// WriteOps on the batching writer.
#include <memory>
#include <utility>

#include <nlohmann/json.hpp>

#include "store/sqlite_store.h"
#include "store/sqlite_store_internal.h"

namespace argus {
namespace {

using store_internal::closed_error;
using store_internal::fetch_limit;
using store_internal::guarded;
using store_internal::QueryBuilder;

Status validate_channel(NotificationChannelRecord& ch) {
  if (ch.id.empty()) return Status::invalid_argument("a notification channel needs an id");
  if (ch.name.empty()) return Status::invalid_argument("channel '" + ch.id + "' needs a name");
  if (ch.type.empty()) return Status::invalid_argument("channel '" + ch.id + "' needs a type");
  if (ch.config.empty()) ch.config = "{}";
  nlohmann::json config = nlohmann::json::parse(ch.config, nullptr, false);
  if (config.is_discarded() || !config.is_object()) {
    return Status::invalid_argument("config of channel '" + ch.id + "' must be a JSON object");
  }
  return Status::ok_status();
}

constexpr std::string_view kChannelColumns = "id, name, type, enabled, config, created_at, updated_at, version";

NotificationChannelRecord read_channel(const sqlite::Statement& stmt) {
  NotificationChannelRecord c;
  c.id = stmt.column_text(0);
  c.name = stmt.column_text(1);
  c.type = stmt.column_text(2);
  c.enabled = stmt.column_int64(3) != 0;
  c.config = stmt.column_text(4);
  if (c.config.empty()) c.config = "{}";
  c.created_at = stmt.column_int64(5);
  c.updated_at = stmt.column_int64(6);
  c.version = stmt.column_int64(7);
  return c;
}

constexpr std::string_view kLetterColumns =
    "id, kind, channel_id, payload, error, reason, attempts, created_at, failed_at";

DeadLetterRecord read_letter(const sqlite::Statement& stmt) {
  DeadLetterRecord d;
  d.id = stmt.column_int64(0);
  d.kind = stmt.column_text(1);
  d.channel_id = stmt.column_text(2);
  d.payload = stmt.column_text(3);
  d.error = stmt.column_text(4);
  d.reason = stmt.column_text(5);
  d.attempts = stmt.column_int64(6);
  d.created_at = stmt.column_int64(7);
  d.failed_at = stmt.column_int64(8);
  return d;
}

// WHERE conditions for a filter (list, count, delete).
void add_filter(QueryBuilder& q, const DeadLetterFilter& f) {
  if (!f.channel_id.empty()) q.where("channel_id = ?", {f.channel_id});
  if (!f.kind.empty()) q.where("kind = ?", {f.kind});
  if (!f.reason.empty()) q.where("reason = ?", {f.reason});
  if (f.failed_before > 0) q.where("failed_at < ?", {f.failed_before});
}

}  // namespace

Result<NotificationChannelRecord> SqliteStore::create_channel(NotificationChannelRecord channel) {
  return guarded<Result<NotificationChannelRecord>>("create channel", [&]() -> Result<NotificationChannelRecord> {
    if (closed_) return closed_error();
    ARGUS_RETURN_IF_ERROR(validate_channel(channel));
    channel.created_at = channel.updated_at = clock_->now_ms();
    channel.version = 1;
    auto stored = std::make_shared<NotificationChannelRecord>(std::move(channel));
    WriteOutcome out = submit([this, stored](sqlite3* db) -> WriteOutcome {
      const NotificationChannelRecord& c = *stored;
      Result<sqlite::Statement> stmt = sqlite::Statement::prepare(
          db,
          "INSERT INTO notification_channels (id, name, type, enabled, config, created_at, updated_at, version) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
          "create channel '" + c.id + "' in " + path_);
      if (!stmt.ok()) return {stmt.status()};
      stmt->bind(1, c.id).bind(2, c.name).bind(3, c.type).bind(4, std::int64_t{c.enabled ? 1 : 0});
      stmt->bind(5, c.config).bind(6, c.created_at).bind(7, c.updated_at).bind(8, c.version);
      int rc = stmt->step_code();
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return {Status::already_exists("notification channel '" + c.id + "' already exists")};
      }
      if (rc != SQLITE_DONE) return {stmt->error(rc)};
      return {Status::ok_status(), std::nullopt, 0, 1};
    });
    if (!out.status.ok()) return out.status;
    return *stored;
  });
}

Result<NotificationChannelRecord> SqliteStore::get_channel(const std::string& id) {
  return guarded<Result<NotificationChannelRecord>>("get channel", [&] {
    return with_reader([&](sqlite3* db) -> Result<NotificationChannelRecord> {
      ARGUS_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          sqlite::Statement::prepare(
              db, "SELECT " + std::string(kChannelColumns) + " FROM notification_channels WHERE id = ?1",
              "read channel '" + id + "' from " + path_));
      stmt.bind(1, id);
      ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
      if (!row) return Status::not_found("notification channel '" + id + "' does not exist");
      return read_channel(stmt);
    });
  });
}

Result<Page<NotificationChannelRecord>> SqliteStore::list_channels(const PageRequest& page) {
  return guarded<Result<Page<NotificationChannelRecord>>>("list channels", [&] {
    return with_reader([&](sqlite3* db) -> Result<Page<NotificationChannelRecord>> {
      if (page.limit == 0) return Status::invalid_argument("page limit must be at least 1");
      QueryBuilder q;
      if (!page.after.empty()) q.where("id > ?", {page.after});
      ARGUS_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          sqlite::Statement::prepare(
              db, q.sql("SELECT " + std::string(kChannelColumns) + " FROM notification_channels", "id"),
              "list channels from " + path_));
      q.bind(stmt, fetch_limit(page.limit));
      Page<NotificationChannelRecord> out;
      for (;;) {
        ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row) break;
        if (out.items.size() == page.limit) {
          out.next_after = out.items.back().id;
          break;
        }
        out.items.push_back(read_channel(stmt));
      }
      return out;
    });
  });
}

Result<NotificationChannelRecord> SqliteStore::update_channel(NotificationChannelRecord channel,
                                                              std::optional<std::int64_t> expected_version) {
  return guarded<Result<NotificationChannelRecord>>("update channel", [&]() -> Result<NotificationChannelRecord> {
    if (closed_) return closed_error();
    channel.type = channel.type.empty() ? "-" : channel.type;  // kept as stored
    ARGUS_RETURN_IF_ERROR(validate_channel(channel));
    channel.updated_at = clock_->now_ms();
    auto stored = std::make_shared<NotificationChannelRecord>(std::move(channel));
    WriteOutcome out = submit([this, stored, expected_version](sqlite3* db) -> WriteOutcome {
      NotificationChannelRecord& c = *stored;
      Result<sqlite::Statement> stmt = sqlite::Statement::prepare(
          db,
          "UPDATE notification_channels SET name = ?2, enabled = ?3, config = ?4, updated_at = ?5, "
          "version = version + 1 WHERE id = ?1 AND (?6 < 0 OR version = ?6) "
          "RETURNING type, created_at, version",
          "update channel '" + c.id + "' in " + path_);
      if (!stmt.ok()) return {stmt.status()};
      stmt->bind(1, c.id).bind(2, c.name).bind(3, std::int64_t{c.enabled ? 1 : 0}).bind(4, c.config);
      stmt->bind(5, c.updated_at).bind(6, expected_version.value_or(-1));
      Result<bool> row = stmt->step();
      if (!row.ok()) return {row.status()};
      if (!*row) {
        Result<sqlite::Statement> probe = sqlite::Statement::prepare(
            db, "SELECT version FROM notification_channels WHERE id = ?1", "read channel '" + c.id + "'");
        if (!probe.ok()) return {probe.status()};
        probe->bind(1, c.id);
        Result<bool> found = probe->step();
        if (!found.ok()) return {found.status()};
        if (!*found) return {Status::not_found("notification channel '" + c.id + "' does not exist")};
        return {Status::failed_precondition("notification channel '" + c.id + "' is at version " +
                                            std::to_string(probe->column_int64(0)) + ", not " +
                                            std::to_string(expected_version.value_or(0)))};
      }
      c.type = stmt->column_text(0);
      c.created_at = stmt->column_int64(1);
      c.version = stmt->column_int64(2);
      if (Status done = stmt->run(); !done.ok()) return {done};
      return {Status::ok_status(), std::nullopt, 0, 1};
    });
    if (!out.status.ok()) return out.status;
    return *stored;
  });
}

Status SqliteStore::delete_channel(const std::string& id) {
  return guarded<Status>("delete channel", [&]() -> Status {
    if (closed_) return closed_error();
    Result<std::int64_t> rows = submit_rows([this, id](sqlite3* db) -> WriteOutcome {
      Result<sqlite::Statement> stmt = sqlite::Statement::prepare(db, "DELETE FROM notification_channels WHERE id = ?1",
                                                                  "delete channel '" + id + "' from " + path_);
      if (!stmt.ok()) return {stmt.status()};
      stmt->bind(1, id);
      if (Status s = stmt->run(); !s.ok()) return {s};
      return {Status::ok_status(), std::nullopt, 0, static_cast<std::int64_t>(sqlite3_changes(db))};
    });
    if (!rows.ok()) return rows.status();
    if (*rows == 0) return Status::not_found("notification channel '" + id + "' does not exist");
    return Status::ok_status();
  });
}

Result<std::vector<std::int64_t>> SqliteStore::add_dead_letters(std::vector<DeadLetterRecord> letters) {
  return guarded<Result<std::vector<std::int64_t>>>("add dead letters", [&]() -> Result<std::vector<std::int64_t>> {
    if (closed_) return closed_error();
    const UnixMillis now = clock_->now_ms();
    for (DeadLetterRecord& d : letters) {
      if (d.kind.empty()) return Status::invalid_argument("a dead letter needs a kind");
      if (d.channel_id.empty()) return Status::invalid_argument("a dead letter needs a channel id");
      if (nlohmann::json::parse(d.payload, nullptr, false).is_discarded()) {
        return Status::invalid_argument("the payload of a dead letter must be JSON");
      }
      if (d.failed_at == 0) d.failed_at = now;
      if (d.created_at == 0) d.created_at = d.failed_at;
    }
    if (letters.empty()) return std::vector<std::int64_t>{};
    auto input = std::make_shared<std::vector<DeadLetterRecord>>(std::move(letters));
    auto ids = std::make_shared<std::vector<std::int64_t>>();
    WriteOutcome out = submit([this, input, ids](sqlite3* db) -> WriteOutcome {
      ids->clear();
      Result<sqlite::Statement> stmt = sqlite::Statement::prepare(
          db,
          "INSERT INTO dead_letters (kind, channel_id, payload, error, reason, attempts, created_at, failed_at) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
          "add dead letters to " + path_);
      if (!stmt.ok()) return {stmt.status()};
      for (const DeadLetterRecord& d : *input) {
        stmt->reset();
        stmt->bind(1, d.kind).bind(2, d.channel_id).bind(3, d.payload).bind(4, d.error).bind(5, d.reason);
        stmt->bind(6, d.attempts).bind(7, d.created_at).bind(8, d.failed_at);
        Result<bool> row = stmt->step();
        if (!row.ok()) return {row.status()};
        if (!*row) return {Status::internal("insert of a dead letter returned no id")};
        ids->push_back(stmt->column_int64(0));
        if (Status done = stmt->run(); !done.ok()) return {done};
      }
      return {Status::ok_status(), std::nullopt, 0, static_cast<std::int64_t>(input->size())};
    });
    if (!out.status.ok()) return out.status;
    return *ids;
  });
}

Result<DeadLetterRecord> SqliteStore::get_dead_letter(std::int64_t id) {
  return guarded<Result<DeadLetterRecord>>("get dead letter", [&] {
    return with_reader([&](sqlite3* db) -> Result<DeadLetterRecord> {
      ARGUS_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          sqlite::Statement::prepare(db, "SELECT " + std::string(kLetterColumns) + " FROM dead_letters WHERE id = ?1",
                                     "read dead letter from " + path_));
      stmt.bind(1, id);
      ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
      if (!row) return Status::not_found("dead letter " + std::to_string(id) + " does not exist");
      return read_letter(stmt);
    });
  });
}

Result<Page<DeadLetterRecord>> SqliteStore::list_dead_letters(const DeadLetterQuery& query) {
  return guarded<Result<Page<DeadLetterRecord>>>("list dead letters", [&] {
    return with_reader([&](sqlite3* db) -> Result<Page<DeadLetterRecord>> {
      if (query.limit == 0) return Status::invalid_argument("page limit must be at least 1");
      QueryBuilder q;
      add_filter(q, query.filter);
      if (query.before_id > 0) q.where("id < ?", {query.before_id});
      ARGUS_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                             sqlite::Statement::prepare(
                                 db, q.sql("SELECT " + std::string(kLetterColumns) + " FROM dead_letters", "id DESC"),
                                 "list dead letters from " + path_));
      q.bind(stmt, fetch_limit(query.limit));
      Page<DeadLetterRecord> out;
      for (;;) {
        ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row) break;
        if (out.items.size() == query.limit) {
          out.next_after = std::to_string(out.items.back().id);
          break;
        }
        out.items.push_back(read_letter(stmt));
      }
      return out;
    });
  });
}

Status SqliteStore::delete_dead_letter(std::int64_t id) {
  return guarded<Status>("delete dead letter", [&]() -> Status {
    if (closed_) return closed_error();
    Result<std::int64_t> rows = submit_rows([this, id](sqlite3* db) -> WriteOutcome {
      Result<sqlite::Statement> stmt =
          sqlite::Statement::prepare(db, "DELETE FROM dead_letters WHERE id = ?1", "delete dead letter from " + path_);
      if (!stmt.ok()) return {stmt.status()};
      stmt->bind(1, id);
      if (Status s = stmt->run(); !s.ok()) return {s};
      return {Status::ok_status(), std::nullopt, 0, static_cast<std::int64_t>(sqlite3_changes(db))};
    });
    if (!rows.ok()) return rows.status();
    if (*rows == 0) return Status::not_found("dead letter " + std::to_string(id) + " does not exist");
    return Status::ok_status();
  });
}

Result<std::int64_t> SqliteStore::delete_dead_letters(const DeadLetterFilter& filter) {
  return guarded<Result<std::int64_t>>("delete dead letters", [&]() -> Result<std::int64_t> {
    if (closed_) return closed_error();
    return submit_rows([this, filter](sqlite3* db) -> WriteOutcome {
      QueryBuilder q;
      add_filter(q, filter);
      Result<sqlite::Statement> stmt = sqlite::Statement::prepare(db, "DELETE FROM dead_letters" + q.where_clause(),
                                                                  "delete dead letters from " + path_);
      if (!stmt.ok()) return {stmt.status()};
      q.bind_conditions(*stmt);
      if (Status s = stmt->run(); !s.ok()) return {s};
      return {Status::ok_status(), std::nullopt, 0, static_cast<std::int64_t>(sqlite3_changes(db))};
    });
  });
}

Result<std::int64_t> SqliteStore::count_dead_letters(const DeadLetterFilter& filter) {
  return guarded<Result<std::int64_t>>("count dead letters", [&] {
    return with_reader([&](sqlite3* db) -> Result<std::int64_t> {
      QueryBuilder q;
      add_filter(q, filter);
      ARGUS_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                             sqlite::Statement::prepare(db, "SELECT count(*) FROM dead_letters" + q.where_clause(),
                                                        "count dead letters in " + path_));
      q.bind_conditions(stmt);
      ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
      if (!row) return std::int64_t{0};
      return stmt.column_int64(0);
    });
  });
}

}  // namespace argus
