// SqliteStore: background jobs (schema version 5) and database maintenance.
//
// Same patterns as sqlite_store.cpp: reads on a checked-out read connection, writes as
// WriteOps on the batching writer. maintenance() runs on the writer thread outside any
// transaction, between batches.
#include <array>
#include <filesystem>
#include <memory>
#include <system_error>
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

constexpr std::array<std::string_view, 5> kJobStates = {"queued", "running", "succeeded", "failed", "cancelled"};

bool is_job_state(std::string_view s) {
  for (std::string_view known : kJobStates) {
    if (s == known) return true;
  }
  return false;
}

// Checks what the store requires of a job and normalizes params ("" → "{}").
Status validate_job(JobRecord& job) {
  if (job.id.empty()) return Status::invalid_argument("a job needs an id");
  if (job.kind.empty()) return Status::invalid_argument("job '" + job.id + "' needs a kind");
  if (!is_job_state(job.state)) {
    return Status::invalid_argument("job '" + job.id + "' has state '" + job.state +
                                    "'; must be one of queued, running, succeeded, failed, cancelled");
  }
  if (job.progress < 0 || job.progress > 100) {
    return Status::invalid_argument("job '" + job.id + "' has progress " + std::to_string(job.progress) +
                                    "; must be 0..100");
  }
  if (job.params.empty()) job.params = "{}";
  nlohmann::json params = nlohmann::json::parse(job.params, nullptr, false);
  if (params.is_discarded() || !params.is_object()) {
    return Status::invalid_argument("params of job '" + job.id + "' must be a JSON object");
  }
  if (!job.result.empty() && nlohmann::json::parse(job.result, nullptr, false).is_discarded()) {
    return Status::invalid_argument("result of job '" + job.id + "' must be JSON");
  }
  return Status::ok_status();
}

constexpr std::string_view kJobColumns =
    "id, kind, state, progress, message, params, result, error, retryable, attempts, created_by, retry_of, "
    "created_at, started_at, finished_at, updated_at";

JobRecord read_job(const sqlite::Statement& stmt) {
  JobRecord j;
  j.id = stmt.column_text(0);
  j.kind = stmt.column_text(1);
  j.state = stmt.column_text(2);
  j.progress = static_cast<int>(stmt.column_int64(3));
  j.message = stmt.column_text(4);
  j.params = stmt.column_text(5);
  if (j.params.empty()) j.params = "{}";
  j.result = stmt.column_text(6);  // NULL reads as ""
  j.error = stmt.column_text(7);
  j.retryable = stmt.column_int64(8) != 0;
  j.attempts = stmt.column_int64(9);
  j.created_by = stmt.column_text(10);
  j.retry_of = stmt.column_text(11);
  j.created_at = stmt.column_int64(12);
  j.started_at = stmt.column_int64(13);  // NULL reads as 0
  j.finished_at = stmt.column_int64(14);
  j.updated_at = stmt.column_int64(15);
  return j;
}

void bind_time_or_null(sqlite::Statement& stmt, int index, UnixMillis t) {
  if (t != 0)
    stmt.bind(index, t);
  else
    stmt.bind_null(index);
}

void bind_text_or_null(sqlite::Statement& stmt, int index, const std::string& text) {
  if (!text.empty())
    stmt.bind(index, text);
  else
    stmt.bind_null(index);
}

std::int64_t size_on_disk(const std::string& path) {
  std::int64_t total = 0;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    auto size = std::filesystem::file_size(path + suffix, ec);
    if (!ec) total += static_cast<std::int64_t>(size);
  }
  return total;
}

}  // namespace

Result<JobRecord> SqliteStore::create_job(JobRecord job) {
  return guarded<Result<JobRecord>>("create job", [&]() -> Result<JobRecord> {
    if (closed_) return closed_error();
    ARGUS_RETURN_IF_ERROR(validate_job(job));
    UnixMillis now = clock_->now_ms();
    if (job.created_at == 0) job.created_at = now;
    job.updated_at = now;
    auto stored = std::make_shared<JobRecord>(std::move(job));
    WriteOutcome out = submit([this, stored](sqlite3* db) -> WriteOutcome {
      const JobRecord& j = *stored;
      Result<sqlite::Statement> stmt = sqlite::Statement::prepare(
          db,
          "INSERT INTO jobs (id, kind, state, progress, message, params, result, error, retryable, attempts, "
          "created_by, retry_of, created_at, started_at, finished_at, updated_at) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
          "create job '" + j.id + "' in " + path_);
      if (!stmt.ok()) return {stmt.status()};
      stmt->bind(1, j.id).bind(2, j.kind).bind(3, j.state).bind(4, std::int64_t{j.progress}).bind(5, j.message);
      stmt->bind(6, j.params);
      bind_text_or_null(*stmt, 7, j.result);
      stmt->bind(8, j.error).bind(9, std::int64_t{j.retryable ? 1 : 0}).bind(10, j.attempts);
      stmt->bind(11, j.created_by).bind(12, j.retry_of).bind(13, j.created_at);
      bind_time_or_null(*stmt, 14, j.started_at);
      bind_time_or_null(*stmt, 15, j.finished_at);
      stmt->bind(16, j.updated_at);
      int rc = stmt->step_code();
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) return {Status::already_exists("job '" + j.id + "' already exists")};
      if (rc != SQLITE_DONE) return {stmt->error(rc)};
      return {Status::ok_status(), std::nullopt, 0, 1};
    });
    if (!out.status.ok()) return out.status;
    return *stored;
  });
}

Result<JobRecord> SqliteStore::get_job(const std::string& id) {
  return guarded<Result<JobRecord>>("get job", [&] {
    return with_reader([&](sqlite3* db) -> Result<JobRecord> {
      ARGUS_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          sqlite::Statement::prepare(db, "SELECT " + std::string(kJobColumns) + " FROM jobs WHERE id = ?1",
                                     "read job '" + id + "' from " + path_));
      stmt.bind(1, id);
      ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
      if (!row) return Status::not_found("job '" + id + "' does not exist");
      return read_job(stmt);
    });
  });
}

Result<Page<JobRecord>> SqliteStore::list_jobs(const JobQuery& query) {
  return guarded<Result<Page<JobRecord>>>("list jobs", [&] {
    return with_reader([&](sqlite3* db) -> Result<Page<JobRecord>> {
      if (query.limit == 0) return Status::invalid_argument("page limit must be at least 1");
      if (!query.state.empty() && !is_job_state(query.state)) {
        return Status::invalid_argument("job state must be one of queued, running, succeeded, failed, cancelled");
      }
      QueryBuilder q;
      if (!query.kind.empty()) q.where("kind = ?", {query.kind});
      if (!query.state.empty()) q.where("state = ?", {query.state});
      if (!query.after.empty()) {
        // Jobs page like events: by (time, id) descending, with the same key format.
        ARGUS_ASSIGN_OR_RETURN(store_internal::EventPageKey key, store_internal::parse_event_page_key(query.after));
        q.where("created_at <= ? AND (created_at < ? OR (created_at = ? AND id < ?))",
                {key.start_time, key.start_time, key.start_time, key.id});
      }
      ARGUS_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          sqlite::Statement::prepare(
              db, q.sql("SELECT " + std::string(kJobColumns) + " FROM jobs", "created_at DESC, id DESC"),
              "list jobs from " + path_));
      q.bind(stmt, fetch_limit(query.limit));
      Page<JobRecord> out;
      for (;;) {
        ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row) break;
        if (out.items.size() == query.limit) {
          const JobRecord& last = out.items.back();
          out.next_after = store_internal::event_page_key(last.created_at, last.id);
          break;
        }
        out.items.push_back(read_job(stmt));
      }
      return out;
    });
  });
}

Result<JobRecord> SqliteStore::update_job(JobRecord job) {
  return guarded<Result<JobRecord>>("update job", [&]() -> Result<JobRecord> {
    if (closed_) return closed_error();
    // kind and params are kept as stored: check the rest only.
    job.kind = "-";
    job.params = "{}";
    ARGUS_RETURN_IF_ERROR(validate_job(job));
    job.updated_at = clock_->now_ms();
    auto stored = std::make_shared<JobRecord>(std::move(job));
    WriteOutcome out = submit([this, stored](sqlite3* db) -> WriteOutcome {
      JobRecord& j = *stored;
      Result<sqlite::Statement> stmt = sqlite::Statement::prepare(
          db,
          "UPDATE jobs SET state = ?2, progress = ?3, message = ?4, result = ?5, error = ?6, retryable = ?7, "
          "attempts = ?8, started_at = ?9, finished_at = ?10, updated_at = ?11 WHERE id = ?1 "
          "RETURNING kind, params, created_by, retry_of, created_at",
          "update job '" + j.id + "' in " + path_);
      if (!stmt.ok()) return {stmt.status()};
      stmt->bind(1, j.id).bind(2, j.state).bind(3, std::int64_t{j.progress}).bind(4, j.message);
      bind_text_or_null(*stmt, 5, j.result);
      stmt->bind(6, j.error).bind(7, std::int64_t{j.retryable ? 1 : 0}).bind(8, j.attempts);
      bind_time_or_null(*stmt, 9, j.started_at);
      bind_time_or_null(*stmt, 10, j.finished_at);
      stmt->bind(11, j.updated_at);
      Result<bool> row = stmt->step();
      if (!row.ok()) return {row.status()};
      if (!*row) return {Status::not_found("job '" + j.id + "' does not exist")};
      j.kind = stmt->column_text(0);
      j.params = stmt->column_text(1);
      if (j.params.empty()) j.params = "{}";
      j.created_by = stmt->column_text(2);
      j.retry_of = stmt->column_text(3);
      j.created_at = stmt->column_int64(4);
      if (Status done = stmt->run(); !done.ok()) return {done};
      return {Status::ok_status(), std::nullopt, 0, 1};
    });
    if (!out.status.ok()) return out.status;
    return *stored;
  });
}

Result<std::vector<JobRecord>> SqliteStore::list_unfinished_jobs() {
  return guarded<Result<std::vector<JobRecord>>>("list unfinished jobs", [&] {
    return with_reader([&](sqlite3* db) -> Result<std::vector<JobRecord>> {
      ARGUS_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                             sqlite::Statement::prepare(db,
                                                        "SELECT " + std::string(kJobColumns) +
                                                            " FROM jobs WHERE state IN ('queued', 'running') "
                                                            "ORDER BY created_at, id",
                                                        "list unfinished jobs from " + path_));
      std::vector<JobRecord> out;
      for (;;) {
        ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row) break;
        out.push_back(read_job(stmt));
      }
      return out;
    });
  });
}

Result<std::int64_t> SqliteStore::delete_jobs_finished_before(UnixMillis t) {
  return guarded<Result<std::int64_t>>("delete old jobs", [&]() -> Result<std::int64_t> {
    if (closed_) return closed_error();
    return submit_rows([this, t](sqlite3* db) -> WriteOutcome {
      Result<sqlite::Statement> stmt = sqlite::Statement::prepare(
          db, "DELETE FROM jobs WHERE finished_at < ?1 AND state IN ('succeeded', 'failed', 'cancelled')",
          "delete old jobs from " + path_);
      if (!stmt.ok()) return {stmt.status()};
      stmt->bind(1, t);
      if (Status s = stmt->run(); !s.ok()) return {s};
      return {Status::ok_status(), std::nullopt, 0, static_cast<std::int64_t>(sqlite3_changes(db))};
    });
  });
}

Result<MaintenanceReport> SqliteStore::maintenance() {
  return guarded<Result<MaintenanceReport>>("store maintenance", [&]() -> Result<MaintenanceReport> {
    if (closed_) return closed_error();
    auto report = std::make_shared<MaintenanceReport>();
    WriteOutcome out = submit(
        [this, report](sqlite3* db) -> WriteOutcome {
          report->bytes_before = size_on_disk(path_);
          // VACUUM rewrites the file through the WAL; the checkpoint then moves it into the
          // main file and truncates the WAL (readers holding old snapshots may keep part).
          for (const char* sql : {"PRAGMA optimize", "VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"}) {
            Status s = sqlite::exec(db, sql, std::string("run ") + sql + " on " + path_);
            if (!s.ok()) return {s};
          }
          report->bytes_after = size_on_disk(path_);
          return {Status::ok_status()};
        },
        /*outside_transaction=*/true);
    if (!out.status.ok()) return out.status;
    return *report;
  });
}

}  // namespace argus
