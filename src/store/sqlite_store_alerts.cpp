// SqliteStore: alert rules and alerts (schema version 6).
//
// Same patterns as sqlite_store_jobs.cpp: reads on a checked-out read connection, writes
// as WriteOps on the batching writer.
#include <array>
#include <memory>
#include <utility>

#include <nlohmann/json.hpp>

#include "store/records_doc.h"
#include "store/sqlite_store.h"
#include "store/sqlite_store_internal.h"

namespace argus {
namespace {

using store_internal::closed_error;
using store_internal::fetch_limit;
using store_internal::guarded;
using store_internal::QueryBuilder;

Status validate_rule(const AlertRuleRecord& rule) {
  if (rule.id.empty()) return Status::invalid_argument("an alert rule needs an id");
  nlohmann::json spec = nlohmann::json::parse(rule.spec, nullptr, false);
  if (spec.is_discarded() || !spec.is_object()) {
    return Status::invalid_argument("the definition of alert rule '" + rule.id + "' must be a JSON object");
  }
  return Status::ok_status();
}

bool is_one_of(std::string_view s, std::initializer_list<std::string_view> known) {
  for (std::string_view k : known) {
    if (s == k) return true;
  }
  return false;
}

Status validate_alert(const AlertRecord& a) {
  if (a.id.empty()) return Status::invalid_argument("an alert needs an id");
  if (a.rule_id.empty()) return Status::invalid_argument("alert '" + a.id + "' needs a rule_id");
  if (a.camera_id.empty()) return Status::invalid_argument("alert '" + a.id + "' needs a camera_id");
  if (!is_one_of(a.state, {"firing", "resolved"})) {
    return Status::invalid_argument("alert '" + a.id + "' has state '" + a.state + "'; must be firing or resolved");
  }
  if (!is_one_of(a.severity, {"info", "warning", "critical"})) {
    return Status::invalid_argument("alert '" + a.id + "' has severity '" + a.severity +
                                    "'; must be info, warning or critical");
  }
  return Status::ok_status();
}

constexpr std::string_view kRuleColumns = "id, spec, created_at, updated_at";

AlertRuleRecord read_rule(const sqlite::Statement& stmt) {
  return {stmt.column_text(0), stmt.column_text(1), stmt.column_int64(2), stmt.column_int64(3)};
}

constexpr std::string_view kAlertColumns =
    "id, rule_id, rule_name, camera_id, label, zone, line, severity, state, started_at, resolved_at, "
    "acknowledged_at, acknowledged_by, value, message";

AlertRecord read_alert(const sqlite::Statement& stmt) {
  AlertRecord a;
  a.id = stmt.column_text(0);
  a.rule_id = stmt.column_text(1);
  a.rule_name = stmt.column_text(2);
  a.camera_id = stmt.column_text(3);
  a.label = stmt.column_text(4);
  a.zone = stmt.column_text(5);
  a.line = stmt.column_text(6);
  a.severity = stmt.column_text(7);
  a.state = stmt.column_text(8);
  a.started_at = stmt.column_int64(9);
  a.resolved_at = stmt.column_int64(10);  // NULL reads as 0
  a.acknowledged_at = stmt.column_int64(11);
  a.acknowledged_by = stmt.column_text(12);
  a.value = stmt.column_double(13);
  a.message = stmt.column_text(14);
  return a;
}

}  // namespace

Result<AlertRuleRecord> SqliteStore::create_alert_rule(AlertRuleRecord rule) {
  return guarded<Result<AlertRuleRecord>>("create alert rule", [&]() -> Result<AlertRuleRecord> {
    if (closed_) return closed_error();
    ARGUS_RETURN_IF_ERROR(validate_rule(rule));
    rule.created_at = rule.updated_at = clock_->now_ms();
    auto stored = std::make_shared<AlertRuleRecord>(std::move(rule));
    WriteOutcome out = submit([this, stored](sqlite3* db) -> WriteOutcome {
      const AlertRuleRecord& r = *stored;
      Result<sqlite::Statement> stmt = sqlite::Statement::prepare(
          db, "INSERT INTO alert_rules (id, spec, created_at, updated_at) VALUES (?1, ?2, ?3, ?4)",
          "create alert rule '" + r.id + "' in " + path_);
      if (!stmt.ok()) return {stmt.status()};
      stmt->bind(1, r.id).bind(2, r.spec).bind(3, r.created_at).bind(4, r.updated_at);
      int rc = stmt->step_code();
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return {Status::already_exists("alert rule '" + r.id + "' already exists")};
      }
      if (rc != SQLITE_DONE) return {stmt->error(rc)};
      return {Status::ok_status(), std::nullopt, 0, 1};
    });
    if (!out.status.ok()) return out.status;
    return *stored;
  });
}

Result<AlertRuleRecord> SqliteStore::get_alert_rule(const std::string& id) {
  return guarded<Result<AlertRuleRecord>>("get alert rule", [&] {
    return with_reader([&](sqlite3* db) -> Result<AlertRuleRecord> {
      ARGUS_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          sqlite::Statement::prepare(db, "SELECT " + std::string(kRuleColumns) + " FROM alert_rules WHERE id = ?1",
                                     "read alert rule '" + id + "' from " + path_));
      stmt.bind(1, id);
      ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
      if (!row) return Status::not_found("alert rule '" + id + "' does not exist");
      return read_rule(stmt);
    });
  });
}

Result<Page<AlertRuleRecord>> SqliteStore::list_alert_rules(const PageRequest& page) {
  return guarded<Result<Page<AlertRuleRecord>>>("list alert rules", [&] {
    return with_reader([&](sqlite3* db) -> Result<Page<AlertRuleRecord>> {
      if (page.limit == 0) return Status::invalid_argument("page limit must be at least 1");
      QueryBuilder q;
      if (!page.after.empty()) q.where("id > ?", {page.after});
      ARGUS_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          sqlite::Statement::prepare(db, q.sql("SELECT " + std::string(kRuleColumns) + " FROM alert_rules", "id"),
                                     "list alert rules from " + path_));
      q.bind(stmt, fetch_limit(page.limit));
      Page<AlertRuleRecord> out;
      for (;;) {
        ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row) break;
        if (out.items.size() == page.limit) {
          out.next_after = out.items.back().id;
          break;
        }
        out.items.push_back(read_rule(stmt));
      }
      return out;
    });
  });
}

Result<AlertRuleRecord> SqliteStore::update_alert_rule(AlertRuleRecord rule) {
  return guarded<Result<AlertRuleRecord>>("update alert rule", [&]() -> Result<AlertRuleRecord> {
    if (closed_) return closed_error();
    ARGUS_RETURN_IF_ERROR(validate_rule(rule));
    rule.updated_at = clock_->now_ms();
    auto stored = std::make_shared<AlertRuleRecord>(std::move(rule));
    WriteOutcome out = submit([this, stored](sqlite3* db) -> WriteOutcome {
      AlertRuleRecord& r = *stored;
      Result<sqlite::Statement> stmt = sqlite::Statement::prepare(
          db, "UPDATE alert_rules SET spec = ?2, updated_at = ?3 WHERE id = ?1 RETURNING created_at",
          "update alert rule '" + r.id + "' in " + path_);
      if (!stmt.ok()) return {stmt.status()};
      stmt->bind(1, r.id).bind(2, r.spec).bind(3, r.updated_at);
      Result<bool> row = stmt->step();
      if (!row.ok()) return {row.status()};
      if (!*row) return {Status::not_found("alert rule '" + r.id + "' does not exist")};
      r.created_at = stmt->column_int64(0);
      if (Status done = stmt->run(); !done.ok()) return {done};
      return {Status::ok_status(), std::nullopt, 0, 1};
    });
    if (!out.status.ok()) return out.status;
    return *stored;
  });
}

Status SqliteStore::delete_alert_rule(const std::string& id) {
  auto rows = guarded<Result<std::int64_t>>("delete alert rule", [&]() -> Result<std::int64_t> {
    if (closed_) return closed_error();
    return submit_rows([this, id](sqlite3* db) -> WriteOutcome {
      Result<sqlite::Statement> stmt = sqlite::Statement::prepare(db, "DELETE FROM alert_rules WHERE id = ?1",
                                                                  "delete alert rule '" + id + "' from " + path_);
      if (!stmt.ok()) return {stmt.status()};
      stmt->bind(1, id);
      if (Status s = stmt->run(); !s.ok()) return {s};
      return {Status::ok_status(), std::nullopt, 0, static_cast<std::int64_t>(sqlite3_changes(db))};
    });
  });
  if (!rows.ok()) return rows.status();
  if (*rows == 0) return Status::not_found("alert rule '" + id + "' does not exist");
  return Status::ok_status();
}

Result<AlertRecord> SqliteStore::save_alert(AlertRecord alert) {
  return guarded<Result<AlertRecord>>("save alert", [&]() -> Result<AlertRecord> {
    if (closed_) return closed_error();
    ARGUS_RETURN_IF_ERROR(validate_alert(alert));
    auto stored = std::make_shared<AlertRecord>(std::move(alert));
    WriteOutcome out = submit([this, stored](sqlite3* db) -> WriteOutcome {
      AlertRecord& a = *stored;
      Result<sqlite::Statement> stmt = sqlite::Statement::prepare(
          db,
          "INSERT INTO alerts (id, rule_id, rule_name, camera_id, label, zone, line, severity, state, started_at, "
          "resolved_at, value, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
          "ON CONFLICT (id) DO UPDATE SET rule_id = excluded.rule_id, rule_name = excluded.rule_name, "
          "camera_id = excluded.camera_id, label = excluded.label, zone = excluded.zone, line = excluded.line, "
          "severity = excluded.severity, state = excluded.state, started_at = excluded.started_at, "
          "resolved_at = excluded.resolved_at, value = excluded.value, message = excluded.message "
          "RETURNING acknowledged_at, acknowledged_by",
          "save alert '" + a.id + "' in " + path_);
      if (!stmt.ok()) return {stmt.status()};
      stmt->bind(1, a.id).bind(2, a.rule_id).bind(3, a.rule_name).bind(4, a.camera_id).bind(5, a.label);
      stmt->bind(6, a.zone).bind(7, a.line).bind(8, a.severity).bind(9, a.state).bind(10, a.started_at);
      if (a.resolved_at != 0) {
        stmt->bind(11, a.resolved_at);
      } else {
        stmt->bind_null(11);
      }
      stmt->bind_double(12, a.value).bind(13, a.message);
      Result<bool> row = stmt->step();
      if (!row.ok()) return {row.status()};
      if (*row) {
        a.acknowledged_at = stmt->column_int64(0);
        a.acknowledged_by = stmt->column_text(1);
      }
      if (Status done = stmt->run(); !done.ok()) return {done};
      return {Status::ok_status(), std::nullopt, 0, 1};
    });
    if (!out.status.ok()) return out.status;
    return *stored;
  });
}

Result<AlertRecord> SqliteStore::get_alert(const std::string& id) {
  return guarded<Result<AlertRecord>>("get alert", [&] {
    return with_reader([&](sqlite3* db) -> Result<AlertRecord> {
      ARGUS_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          sqlite::Statement::prepare(db, "SELECT " + std::string(kAlertColumns) + " FROM alerts WHERE id = ?1",
                                     "read alert '" + id + "' from " + path_));
      stmt.bind(1, id);
      ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
      if (!row) return Status::not_found("alert '" + id + "' does not exist");
      return read_alert(stmt);
    });
  });
}

Result<Page<AlertRecord>> SqliteStore::list_alerts(const AlertQuery& query) {
  return guarded<Result<Page<AlertRecord>>>("list alerts", [&] {
    return with_reader([&](sqlite3* db) -> Result<Page<AlertRecord>> {
      if (query.limit == 0) return Status::invalid_argument("page limit must be at least 1");
      QueryBuilder q;
      if (!query.state.empty()) q.where("state = ?", {query.state});
      if (!query.severity.empty()) q.where("severity = ?", {query.severity});
      if (!query.rule_id.empty()) q.where("rule_id = ?", {query.rule_id});
      if (!query.camera.empty()) q.where("camera_id = ?", {query.camera});
      if (query.cameras) q.where_in("camera_id", *query.cameras);
      if (query.acknowledged)
        q.where(*query.acknowledged ? "acknowledged_at IS NOT NULL" : "acknowledged_at IS NULL", {});
      if (query.from != 0) q.where("started_at >= ?", {query.from});
      if (query.to != 0) q.where("started_at < ?", {query.to});
      if (!query.after.empty()) {
        ARGUS_ASSIGN_OR_RETURN(store_internal::EventPageKey key, store_internal::parse_event_page_key(query.after));
        if (key.ascending) return Status::invalid_argument("this cursor belongs to another listing");
        q.where("started_at <= ? AND (started_at < ? OR (started_at = ? AND id < ?))",
                {key.start_time, key.start_time, key.start_time, key.id});
      }
      ARGUS_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          sqlite::Statement::prepare(
              db, q.sql("SELECT " + std::string(kAlertColumns) + " FROM alerts", "started_at DESC, id DESC"),
              "list alerts from " + path_));
      q.bind(stmt, fetch_limit(query.limit));
      Page<AlertRecord> out;
      for (;;) {
        ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row) break;
        if (out.items.size() == query.limit) {
          const AlertRecord& last = out.items.back();
          out.next_after = store_internal::event_page_key(last.started_at, last.id);
          break;
        }
        out.items.push_back(read_alert(stmt));
      }
      return out;
    });
  });
}

Result<AlertRecord> SqliteStore::acknowledge_alert(const std::string& id, UnixMillis at, const std::string& by) {
  return guarded<Result<AlertRecord>>("acknowledge alert", [&]() -> Result<AlertRecord> {
    if (closed_) return closed_error();
    auto stored = std::make_shared<AlertRecord>();
    WriteOutcome out = submit([this, stored, id, at, by](sqlite3* db) -> WriteOutcome {
      Result<sqlite::Statement> stmt = sqlite::Statement::prepare(
          db,
          "UPDATE alerts SET acknowledged_by = CASE WHEN acknowledged_at IS NULL THEN ?3 ELSE acknowledged_by END, "
          "acknowledged_at = COALESCE(acknowledged_at, ?2) WHERE id = ?1 RETURNING " +
              std::string(kAlertColumns),
          "acknowledge alert '" + id + "' in " + path_);
      if (!stmt.ok()) return {stmt.status()};
      stmt->bind(1, id).bind(2, at).bind(3, by);
      Result<bool> row = stmt->step();
      if (!row.ok()) return {row.status()};
      if (!*row) return {Status::not_found("alert '" + id + "' does not exist")};
      *stored = read_alert(*stmt);
      if (Status done = stmt->run(); !done.ok()) return {done};
      return {Status::ok_status(), std::nullopt, 0, 1};
    });
    if (!out.status.ok()) return out.status;
    return *stored;
  });
}

Result<std::int64_t> SqliteStore::delete_alerts_resolved_before(UnixMillis t) {
  return guarded<Result<std::int64_t>>("delete old alerts", [&]() -> Result<std::int64_t> {
    if (closed_) return closed_error();
    return submit_rows([this, t](sqlite3* db) -> WriteOutcome {
      Result<sqlite::Statement> stmt = sqlite::Statement::prepare(
          db, "DELETE FROM alerts WHERE state = 'resolved' AND resolved_at < ?1", "delete old alerts from " + path_);
      if (!stmt.ok()) return {stmt.status()};
      stmt->bind(1, t);
      if (Status s = stmt->run(); !s.ok()) return {s};
      return {Status::ok_status(), std::nullopt, 0, static_cast<std::int64_t>(sqlite3_changes(db))};
    });
  });
}

}  // namespace argus
