#include "store/sqlite_store.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <system_error>
#include <utility>
#include <variant>

#include "core/log.h"
#include "metrics/metrics.h"
#include "store/sqlite_migrations.h"
#include "store/sqlite_store_internal.h"

namespace argus {
namespace {

using store_internal::closed_error;
using store_internal::EncodedCamera;
using store_internal::fetch_limit;
using store_internal::guarded;
using store_internal::kCountColumns;
using store_internal::kEventColumns;
using store_internal::QueryBuilder;
using store_internal::read_count;
using store_internal::read_event;

constexpr std::string_view kSupportedUrls = "sqlite:///path/to/argus.db";

std::string_view sync_pragma(SqliteSync s) {
  switch (s) {
    case SqliteSync::kOff:
      return "OFF";
    case SqliteSync::kNormal:
      return "NORMAL";
    case SqliteSync::kFull:
      return "FULL";
  }
  return "NORMAL";
}

std::int64_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<std::int64_t>(size);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Opening and closing

Result<std::unique_ptr<Store>> SqliteStore::open(const StoreOptions& options, const std::string& path) {
  const StoreConfig& config = options.config;
  ARGUS_ASSIGN_OR_RETURN(sqlite::Connection writer,
                         sqlite::open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, config.busy_timeout_ms));
  sqlite3* db = writer.get();
  // Refuse a newer or foreign file before changing anything in it (journal mode included).
  ARGUS_ASSIGN_OR_RETURN(int found_version, sqlite::read_schema_version(db, path));
  if (found_version > sqlite::latest_schema_version()) {
    return sqlite::newer_schema_error(path, found_version);
  }
  {
    ARGUS_ASSIGN_OR_RETURN(sqlite::Statement wal, sqlite::Statement::prepare(db, "PRAGMA journal_mode = WAL",
                                                                             "switch " + path + " to WAL mode"));
    ARGUS_ASSIGN_OR_RETURN(bool row, wal.step());
    std::string mode = row ? wal.column_text(0) : "";
    if (mode != "wal") {
      return Status::failed_precondition("could not switch " + path + " to WAL mode (journal mode is '" + mode +
                                         "'); the store needs a local filesystem that supports shared memory");
    }
  }
  ARGUS_RETURN_IF_ERROR(sqlite::exec(db, "PRAGMA synchronous = " + std::string(sync_pragma(config.synchronous)),
                                     "set synchronous on " + path));
  ARGUS_RETURN_IF_ERROR(sqlite::exec(db, "PRAGMA foreign_keys = ON", "enable foreign keys on " + path));
  ARGUS_ASSIGN_OR_RETURN(int schema_version, sqlite::migrate(db, path));

  std::vector<sqlite::Connection> readers;
  int reader_count = std::max(1, config.read_connections);
  for (int i = 0; i < reader_count; ++i) {
    ARGUS_ASSIGN_OR_RETURN(sqlite::Connection reader, sqlite::open(path, SQLITE_OPEN_READONLY, config.busy_timeout_ms));
    // Fail now, not at the first request, if the file cannot be read this way.
    ARGUS_RETURN_IF_ERROR(
        sqlite::exec(reader.get(), "SELECT count(*) FROM cameras", "open a read connection on " + path));
    readers.push_back(std::move(reader));
  }

  std::unique_ptr<SqliteStore> store(
      new SqliteStore(options, path, schema_version, std::move(writer), std::move(readers)));
  store->writer_running_ = true;
  try {
    store->writer_ = std::thread([s = store.get()] { s->writer_loop(); });
  } catch (const std::system_error& e) {
    store->writer_running_ = false;
    return Status::resource_exhausted("start the store writer thread: " + std::string(e.what()));
  }
  return std::unique_ptr<Store>(std::move(store));
}

SqliteStore::SqliteStore(const StoreOptions& options, std::string path, int schema_version, sqlite::Connection writer,
                         std::vector<sqlite::Connection> readers)
    : path_(std::move(path)),
      clock_(options.clock != nullptr ? options.clock : &system_clock()),
      schema_version_(schema_version),
      batch_max_(std::max<std::size_t>(1, options.config.write_batch_max)),
      queue_(options.config.write_queue, OverflowPolicy::kReject),
      write_db_(std::move(writer)),
      idle_readers_(std::move(readers)) {
  if (metrics::Registry* registry = options.metrics; registry != nullptr) {
    batch_size_metric_ =
        &registry->histogram("argus_store_write_batch_size", "Writes committed together in one store transaction.",
                             {1, 2, 5, 10, 20, 50, 100, 200, 500});
    commit_seconds_metric_ =
        &registry->histogram("argus_store_commit_duration_seconds",
                             "Time from BEGIN to COMMIT of a store write transaction, lock waits included.",
                             metrics::default_seconds_buckets());
    writes_metric_ = &registry->counter("argus_store_writes_total", "Store write operations committed successfully.");
    // Refreshed on every enqueue and batch rather than by a collector: the registry may
    // outlive this store and offers no way to remove a collector.
    queue_depth_metric_ =
        &registry->gauge("argus_store_write_queue_depth", "Store writes waiting for the writer thread.");
  }
}

SqliteStore::~SqliteStore() { close(); }

void SqliteStore::close() {
  try {
    std::lock_guard close_lock(close_mu_);
    if (closed_.exchange(true)) return;
    queue_.close();
    if (writer_.joinable()) writer_.join();
    {
      std::unique_lock lock(readers_mu_);
      readers_closed_ = true;
      readers_cv_.notify_all();
      readers_cv_.wait(lock, [&] { return readers_out_ == 0; });
      idle_readers_.clear();
    }
    // Closed last, so that it checkpoints the WAL and removes the -wal and -shm files.
    write_db_.reset();
    refresh_queue_depth();
  } catch (const std::exception& e) {
    log::error("closing the store failed", {{"path", path_}, {"error", e.what()}});
  }
}

// ---------------------------------------------------------------------------------------
// Reads

void SqliteStore::release_reader(sqlite::Connection db) {
  {
    std::lock_guard lock(readers_mu_);
    idle_readers_.push_back(std::move(db));
    --readers_out_;
  }
  readers_cv_.notify_all();
}

Result<Camera> SqliteStore::get_camera(const std::string& id) {
  return guarded<Result<Camera>>("get camera", [&] {
    return with_reader([&](sqlite3* db) -> Result<Camera> {
      ARGUS_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          sqlite::Statement::prepare(db, "SELECT doc, created_at, updated_at, version FROM cameras WHERE id = ?1",
                                     "read camera '" + id + "' from " + path_));
      stmt.bind(1, id);
      ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
      if (!row) return Status::not_found("camera '" + id + "' does not exist");
      return store_internal::decode_camera(id, stmt.column_text(0), stmt.column_int64(1), stmt.column_int64(2),
                                           stmt.column_int64(3));
    });
  });
}

Result<Page<Camera>> SqliteStore::list_cameras(const PageRequest& page) {
  return guarded<Result<Page<Camera>>>("list cameras", [&] {
    return with_reader([&](sqlite3* db) -> Result<Page<Camera>> {
      if (page.limit == 0) return Status::invalid_argument("page limit must be at least 1");
      std::int64_t fetch = fetch_limit(page.limit);
      ARGUS_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                             sqlite::Statement::prepare(db,
                                                        "SELECT id, doc, created_at, updated_at, version FROM cameras "
                                                        "WHERE id > ?1 ORDER BY id LIMIT ?2",
                                                        "list cameras from " + path_));
      stmt.bind(1, page.after).bind(2, fetch);
      Page<Camera> out;
      for (;;) {
        ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row) break;
        if (out.items.size() == page.limit) {
          out.next_after = out.items.back().id;
          break;
        }
        ARGUS_ASSIGN_OR_RETURN(
            Camera camera, store_internal::decode_camera(stmt.column_text(0), stmt.column_text(1), stmt.column_int64(2),
                                                         stmt.column_int64(3), stmt.column_int64(4)));
        out.items.push_back(std::move(camera));
      }
      return out;
    });
  });
}

Result<EventRecord> SqliteStore::get_event(const std::string& id) {
  return guarded<Result<EventRecord>>("get event", [&] {
    return with_reader([&](sqlite3* db) -> Result<EventRecord> {
      ARGUS_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          sqlite::Statement::prepare(db, "SELECT " + std::string(kEventColumns) + " FROM events WHERE id = ?1",
                                     "read event '" + id + "' from " + path_));
      stmt.bind(1, id);
      ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
      if (!row) return Status::not_found("event '" + id + "' does not exist");
      return read_event(stmt);
    });
  });
}

Result<Page<EventRecord>> SqliteStore::list_events(const EventQuery& query) {
  return guarded<Result<Page<EventRecord>>>("list events", [&] {
    return with_reader([&](sqlite3* db) -> Result<Page<EventRecord>> {
      if (query.limit == 0) return Status::invalid_argument("page limit must be at least 1");
      QueryBuilder q;
      if (!query.camera.empty()) q.where("camera_id = ?", {query.camera});
      if (query.cameras) q.where_in("camera_id", *query.cameras);
      if (!query.label.empty()) q.where("label = ?", {query.label});
      if (query.from != 0) q.where("start_time >= ?", {query.from});
      if (query.to != 0) q.where("start_time < ?", {query.to});
      if (!query.zone.empty()) {
        q.where("EXISTS (SELECT 1 FROM json_each(events.zones) WHERE json_each.value = ?)", {query.zone});
      }
      if (!query.line.empty()) {
        q.where("EXISTS (SELECT 1 FROM json_each(events.crossings) WHERE json_extract(json_each.value, '$.line') = ?)",
                {query.line});
      }
      if (query.min_score) {
        if (!std::isfinite(*query.min_score)) return Status::invalid_argument("min_score must be a finite number");
        q.where_real("top_score >= ?", *query.min_score);
      }
      if (query.reviewed) q.where("reviewed = ?", {std::int64_t{*query.reviewed ? 1 : 0}});
      if (!query.after.empty()) {
        ARGUS_ASSIGN_OR_RETURN(store_internal::EventPageKey key, store_internal::parse_event_page_key(query.after));
        if (key.ascending != query.ascending) {
          return Status::invalid_argument(
              "the cursor belongs to the other sort order: start again from the first page");
        }
        // The first condition is implied by the second; it bounds the index range.
        if (query.ascending) {
          q.where("start_time >= ? AND (start_time > ? OR (start_time = ? AND id > ?))",
                  {key.start_time, key.start_time, key.start_time, key.id});
        } else {
          q.where("start_time <= ? AND (start_time < ? OR (start_time = ? AND id < ?))",
                  {key.start_time, key.start_time, key.start_time, key.id});
        }
      }
      ARGUS_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          sqlite::Statement::prepare(db,
                                     q.sql("SELECT " + std::string(kEventColumns) + " FROM events",
                                           query.ascending ? "start_time ASC, id ASC" : "start_time DESC, id DESC"),
                                     "list events from " + path_));
      q.bind(stmt, fetch_limit(query.limit));
      Page<EventRecord> out;
      for (;;) {
        ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row) break;
        if (out.items.size() == query.limit) {
          const EventRecord& last = out.items.back();
          out.next_after = store_internal::event_page_key(last.start_time, last.id, query.ascending);
          break;
        }
        ARGUS_ASSIGN_OR_RETURN(EventRecord event, read_event(stmt));
        out.items.push_back(std::move(event));
      }
      return out;
    });
  });
}

Result<Page<CountRow>> SqliteStore::query_counts(const CountQuery& query) {
  return guarded<Result<Page<CountRow>>>("query counts", [&] {
    return with_reader([&](sqlite3* db) -> Result<Page<CountRow>> {
      if (query.camera.empty()) return Status::invalid_argument("counts need a camera");
      if (query.limit == 0) return Status::invalid_argument("page limit must be at least 1");
      if (!query.scope.empty() && !store_internal::is_count_scope(query.scope)) {
        return Status::invalid_argument("count scope must be one of camera, zone, line");
      }
      QueryBuilder q;
      q.where("camera_id = ?", {query.camera});
      if (!query.scope.empty()) q.where("scope = ?", {query.scope});
      if (!query.name.empty()) q.where("name = ?", {query.name});
      if (!query.label.empty()) q.where("label = ?", {query.label});
      if (query.from != 0) q.where("bucket >= ?", {query.from});
      if (query.to != 0) q.where("bucket < ?", {query.to});
      if (!query.after.empty()) {
        ARGUS_ASSIGN_OR_RETURN(store_internal::CountPageKey key, store_internal::parse_count_page_key(query.after));
        // The first condition is implied by the second; it bounds the index range.
        q.where("bucket >= ? AND (bucket, scope, name, label) > (?, ?, ?, ?)",
                {key.bucket, key.bucket, key.scope, key.name, key.label});
      }
      ARGUS_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          sqlite::Statement::prepare(
              db, q.sql("SELECT " + std::string(kCountColumns) + " FROM counts", "bucket, scope, name, label"),
              "query counts of camera '" + query.camera + "' from " + path_));
      q.bind(stmt, fetch_limit(query.limit));
      Page<CountRow> out;
      for (;;) {
        ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row) break;
        if (out.items.size() == query.limit) {
          out.next_after = store_internal::count_page_key(out.items.back());
          break;
        }
        out.items.push_back(read_count(stmt));
      }
      return out;
    });
  });
}

// ---------------------------------------------------------------------------------------
// Writes: callers

SqliteStore::WriteOutcome SqliteStore::submit(ApplyFn apply, bool outside_transaction) {
  WriteOp op{std::move(apply), {}, outside_transaction};
  std::future<WriteOutcome> done = op.done.get_future();
  switch (queue_.push(std::move(op))) {
    case PushResult::kOk:
    case PushResult::kDroppedOldest:
      break;
    case PushResult::kRejected:
      return {Status::resource_exhausted("store write queue is full (" + std::to_string(queue_.capacity()) +
                                         " pending writes); the disk may be too slow"),
              std::nullopt, 0};
    case PushResult::kClosed:
      return {closed_error(), std::nullopt, 0};
  }
  refresh_queue_depth();
  return done.get();
}

Result<Camera> SqliteStore::camera_result(WriteOutcome&& out) {
  if (!out.status.ok()) return out.status;
  if (!out.camera) return Status::internal("store write returned no camera");
  return std::move(*out.camera);
}

Result<Camera> SqliteStore::create_camera(Camera camera) {
  return guarded<Result<Camera>>("create camera", [&]() -> Result<Camera> {
    if (closed_) return closed_error();
    ARGUS_ASSIGN_OR_RETURN(EncodedCamera enc, store_internal::encode_camera(camera));
    WriteOutcome out = submit([this, enc = std::move(enc)](sqlite3* db) { return apply_create(db, enc); });
    return camera_result(std::move(out));
  });
}

Result<Camera> SqliteStore::update_camera(Camera camera, std::optional<std::int64_t> expected_version) {
  return guarded<Result<Camera>>("update camera", [&]() -> Result<Camera> {
    if (closed_) return closed_error();
    ARGUS_ASSIGN_OR_RETURN(EncodedCamera enc, store_internal::encode_camera(camera));
    WriteOutcome out = submit([this, enc = std::move(enc), expected_version](sqlite3* db) {
      return apply_update(db, enc, expected_version);
    });
    return camera_result(std::move(out));
  });
}

Status SqliteStore::delete_camera(const std::string& id, std::optional<std::int64_t> expected_version) {
  return guarded<Status>("delete camera", [&]() -> Status {
    if (closed_) return closed_error();
    return submit([this, id, expected_version](sqlite3* db) { return apply_delete(db, id, expected_version); }).status;
  });
}

Result<Camera> SqliteStore::upsert_camera(Camera camera) {
  return guarded<Result<Camera>>("upsert camera", [&]() -> Result<Camera> {
    if (closed_) return closed_error();
    ARGUS_ASSIGN_OR_RETURN(EncodedCamera enc, store_internal::encode_camera(camera));
    WriteOutcome out = submit([this, enc = std::move(enc)](sqlite3* db) { return apply_upsert(db, enc); });
    return camera_result(std::move(out));
  });
}

std::uint64_t SqliteStore::cameras_revision() const { return revision_.load(); }

Status SqliteStore::save_events(std::vector<EventRecord> events) {
  return guarded<Status>("save events", [&]() -> Status {
    if (closed_) return closed_error();
    std::vector<store_internal::EncodedEvent> encoded;
    encoded.reserve(events.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
      ARGUS_ASSIGN_OR_RETURN(store_internal::EncodedEvent enc, store_internal::encode_event(events[i], i));
      encoded.push_back(std::move(enc));
    }
    if (events.empty()) return Status::ok_status();
    return submit([this, events = std::move(events), encoded = std::move(encoded)](sqlite3* db) {
             return apply_save_events(db, events, encoded);
           })
        .status;
  });
}

Status SqliteStore::add_counts(std::vector<CountDelta> deltas) {
  return guarded<Status>("add counts", [&]() -> Status {
    if (closed_) return closed_error();
    for (std::size_t i = 0; i < deltas.size(); ++i) {
      ARGUS_RETURN_IF_ERROR(store_internal::validate_count_delta(deltas[i], i));
    }
    if (deltas.empty()) return Status::ok_status();
    return submit([this, deltas = std::move(deltas)](sqlite3* db) { return apply_add_counts(db, deltas); }).status;
  });
}

Status SqliteStore::flush() {
  return guarded<Status>("flush store", [&]() -> Status {
    if (closed_) return closed_error();
    return submit(nullptr).status;
  });
}

// ---------------------------------------------------------------------------------------
// Writes: the writer thread

void SqliteStore::writer_loop() {
  std::vector<WriteOp> batch;
  std::optional<WriteOp> held;  // an outside_transaction op that ended the previous batch
  for (;;) {
    std::optional<WriteOp> first = held ? std::move(held) : queue_.pop();
    held.reset();
    if (!first) break;
    if (first->outside_transaction && first->apply) {
      WriteOutcome alone = run_alone(*first);
      try {
        first->done.set_value(std::move(alone));
      } catch (const std::exception&) {
      }
      continue;
    }
    std::vector<WriteOutcome> outcomes;
    try {
      batch.clear();
      batch.push_back(std::move(*first));
      while (batch.size() < batch_max_) {
        std::optional<WriteOp> more = queue_.try_pop();
        if (!more) break;
        if (more->outside_transaction) {
          held = std::move(more);
          break;
        }
        batch.push_back(std::move(*more));
      }
      refresh_queue_depth();
      outcomes = run_batch(batch);
    } catch (const std::exception& e) {
      try {
        sqlite3* db = write_db_.get();
        if (sqlite3_get_autocommit(db) == 0) (void)sqlite::exec(db, "ROLLBACK", "roll back");
        outcomes.assign(batch.size(),
                        WriteOutcome{Status::internal("store writer: " + std::string(e.what())), std::nullopt, 0});
      } catch (const std::exception&) {
        outcomes.clear();  // each caller gets "lost an outcome" below
      }
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      try {
        if (i < outcomes.size()) {
          batch[i].done.set_value(std::move(outcomes[i]));
        } else {
          batch[i].done.set_value({Status::internal("store writer lost an outcome"), std::nullopt, 0});
        }
      } catch (const std::exception&) {
        // The promise was already satisfied; nothing more to tell its caller.
      }
    }
    batch.clear();
  }
  writer_running_ = false;
}

SqliteStore::WriteOutcome SqliteStore::run_alone(WriteOp& op) {
  WriteOutcome out;
  try {
    out = op.apply(write_db_.get());
  } catch (const std::exception& e) {
    out = {Status::internal("store maintenance: " + std::string(e.what())), std::nullopt, 0};
  }
  sqlite3* db = write_db_.get();
  if (sqlite3_get_autocommit(db) == 0) (void)sqlite::exec(db, "ROLLBACK", "roll back");
  if (out.status.ok()) writes_committed_ += 1;
  return out;
}

std::vector<SqliteStore::WriteOutcome> SqliteStore::run_batch(std::vector<WriteOp>& batch) {
  std::vector<WriteOutcome> out(batch.size());
  std::size_t writes = static_cast<std::size_t>(
      std::count_if(batch.begin(), batch.end(), [](const WriteOp& op) { return op.apply != nullptr; }));
  if (writes == 0) return out;  // only flush barriers: everything before them has committed

  sqlite3* db = write_db_.get();
  auto started = std::chrono::steady_clock::now();
  Status txn = sqlite::exec(db, "BEGIN IMMEDIATE", "begin a write transaction on " + path_);
  for (std::size_t i = 0; i < batch.size() && txn.ok(); ++i) {
    if (batch[i].apply) txn = run_in_savepoint(db, batch[i], out[i]);
  }
  if (txn.ok()) {
    txn = sqlite::exec(db, "COMMIT", "commit " + std::to_string(writes) + " store writes to " + path_);
  }
  if (!txn.ok()) {
    if (sqlite3_get_autocommit(db) == 0) (void)sqlite::exec(db, "ROLLBACK", "roll back");
    for (WriteOutcome& o : out) o = {txn, std::nullopt, 0};
    log::error("store write batch failed", {{"path", path_}, {"writes", writes}, {"error", txn.message()}});
    std::lock_guard lock(health_mu_);
    last_batch_error_ = txn;
    return out;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  std::uint64_t succeeded = 0;
  std::uint64_t changes = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!batch[i].apply || !out[i].status.ok()) continue;
    ++succeeded;
    changes += static_cast<std::uint64_t>(out[i].camera_changes);
  }
  // Published before any caller learns its outcome, so a caller that sees its write done
  // also sees the revision and counters that include it.
  revision_ += changes;
  writes_committed_ += succeeded;
  ++batches_committed_;
  if (batch_size_metric_ != nullptr) {
    batch_size_metric_->observe(static_cast<double>(writes));
    commit_seconds_metric_->observe(seconds);
    if (succeeded > 0) writes_metric_->inc(static_cast<double>(succeeded));
  }
  {
    std::lock_guard lock(health_mu_);
    last_batch_error_ = Status::ok_status();
  }
  return out;
}

Status SqliteStore::run_in_savepoint(sqlite3* db, WriteOp& op, WriteOutcome& out) {
  ARGUS_RETURN_IF_ERROR(sqlite::exec(db, "SAVEPOINT write_op", "open a savepoint on " + path_));
  try {
    out = op.apply(db);
  } catch (const std::exception& e) {
    out = {Status::internal("store write: " + std::string(e.what())), std::nullopt, 0};
  }
  if (sqlite3_get_autocommit(db) != 0) {
    // SQLite rolled the whole transaction back (disk full, I/O error): the batch is lost.
    Status cause = out.status.ok() ? Status::internal("the transaction ended unexpectedly") : out.status;
    return cause.with_context("store write transaction on " + path_ + " was rolled back");
  }
  if (!out.status.ok()) {
    out.camera.reset();
    out.camera_changes = 0;
    ARGUS_RETURN_IF_ERROR(sqlite::exec(db, "ROLLBACK TO write_op", "roll back a failed write on " + path_));
  }
  return sqlite::exec(db, "RELEASE write_op", "release a savepoint on " + path_);
}

SqliteStore::WriteOutcome SqliteStore::apply_create(sqlite3* db, const EncodedCamera& enc) {
  const std::string& id = enc.camera.id;
  UnixMillis now = clock_->now_ms();
  Result<sqlite::Statement> stmt = sqlite::Statement::prepare(
      db, "INSERT INTO cameras (id, doc, created_at, updated_at, version) VALUES (?1, ?2, ?3, ?3, 1)",
      "create camera '" + id + "' in " + path_);
  if (!stmt.ok()) return {stmt.status(), std::nullopt, 0};
  stmt->bind(1, id).bind(2, enc.doc).bind(3, now);
  int rc = stmt->step_code();
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return {Status::already_exists("camera '" + id + "' already exists"), std::nullopt, 0};
  }
  if (rc != SQLITE_DONE) return {stmt->error(rc), std::nullopt, 0};
  Camera camera = enc.camera;
  camera.created_at = now;
  camera.updated_at = now;
  camera.version = 1;
  return {Status::ok_status(), std::move(camera), 1};
}

SqliteStore::WriteOutcome SqliteStore::apply_update(sqlite3* db, const EncodedCamera& enc,
                                                    std::optional<std::int64_t> expected_version) {
  const std::string& id = enc.camera.id;
  UnixMillis now = clock_->now_ms();
  Camera camera = enc.camera;
  {
    Result<sqlite::Statement> stmt =
        sqlite::Statement::prepare(db,
                                   "UPDATE cameras SET doc = ?2, updated_at = ?3, version = version + 1 "
                                   "WHERE id = ?1 AND (?4 IS NULL OR version = ?4) RETURNING created_at, version",
                                   "update camera '" + id + "' in " + path_);
    if (!stmt.ok()) return {stmt.status(), std::nullopt, 0};
    stmt->bind(1, id).bind(2, enc.doc).bind(3, now);
    if (expected_version)
      stmt->bind(4, *expected_version);
    else
      stmt->bind_null(4);
    Result<bool> row = stmt->step();
    if (!row.ok()) return {row.status(), std::nullopt, 0};
    if (!*row) return {missing_or_modified(db, id, expected_version), std::nullopt, 0};
    camera.created_at = stmt->column_int64(0);
    camera.version = stmt->column_int64(1);
    if (Status done = stmt->run(); !done.ok()) return {done, std::nullopt, 0};
  }
  camera.updated_at = now;
  return {Status::ok_status(), std::move(camera), 1};
}

SqliteStore::WriteOutcome SqliteStore::apply_delete(sqlite3* db, const std::string& id,
                                                    std::optional<std::int64_t> expected_version) {
  Result<sqlite::Statement> stmt =
      sqlite::Statement::prepare(db, "DELETE FROM cameras WHERE id = ?1 AND (?2 IS NULL OR version = ?2)",
                                 "delete camera '" + id + "' from " + path_);
  if (!stmt.ok()) return {stmt.status(), std::nullopt, 0};
  stmt->bind(1, id);
  if (expected_version)
    stmt->bind(2, *expected_version);
  else
    stmt->bind_null(2);
  if (Status s = stmt->run(); !s.ok()) return {s, std::nullopt, 0};
  if (sqlite3_changes(db) == 0) return {missing_or_modified(db, id, expected_version), std::nullopt, 0};
  return {Status::ok_status(), std::nullopt, 1};
}

SqliteStore::WriteOutcome SqliteStore::apply_upsert(sqlite3* db, const EncodedCamera& enc) {
  const std::string& id = enc.camera.id;
  std::optional<Result<Camera>> stored;
  std::int64_t stored_version = 0;
  {
    Result<sqlite::Statement> stmt =
        sqlite::Statement::prepare(db, "SELECT doc, created_at, updated_at, version FROM cameras WHERE id = ?1",
                                   "read camera '" + id + "' from " + path_);
    if (!stmt.ok()) return {stmt.status(), std::nullopt, 0};
    stmt->bind(1, id);
    Result<bool> row = stmt->step();
    if (!row.ok()) return {row.status(), std::nullopt, 0};
    if (*row) {
      stored_version = stmt->column_int64(3);
      stored = store_internal::decode_camera(id, stmt->column_text(0), stmt->column_int64(1), stmt->column_int64(2),
                                             stored_version);
    }
  }
  if (!stored) return apply_create(db, enc);
  if (stored->ok() && store_internal::same_configuration(enc.camera, stored->value())) {
    return {Status::ok_status(), std::move(*stored).value(), 0};
  }
  if (!stored->ok()) {
    log::warn("replacing an unreadable stored camera with its declared configuration",
              {{"camera", id}, {"error", stored->status().message()}});
  }
  return apply_update(db, enc, stored_version);
}

SqliteStore::WriteOutcome SqliteStore::apply_save_events(sqlite3* db, const std::vector<EventRecord>& events,
                                                         const std::vector<store_internal::EncodedEvent>& encoded) {
  // reviewed and note are written for a new event only: people own them afterwards.
  Result<sqlite::Statement> stmt = sqlite::Statement::prepare(
      db,
      "INSERT INTO events (id, camera_id, label, score, top_score, box, zones, crossings, "
      "start_time, end_time, updated_at, snapshot, reviewed, note) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
      "ON CONFLICT (id) DO UPDATE SET camera_id = excluded.camera_id, label = excluded.label, "
      "score = excluded.score, top_score = excluded.top_score, box = excluded.box, "
      "zones = excluded.zones, crossings = excluded.crossings, "
      "start_time = excluded.start_time, end_time = excluded.end_time, "
      "updated_at = excluded.updated_at, snapshot = excluded.snapshot",
      "save " + std::to_string(events.size()) + " events to " + path_);
  if (!stmt.ok()) return {stmt.status(), std::nullopt, 0};
  for (std::size_t i = 0; i < events.size(); ++i) {
    const EventRecord& e = events[i];
    const store_internal::EncodedEvent& enc = encoded[i];
    stmt->reset();
    stmt->bind(1, e.id).bind(2, e.camera_id).bind(3, e.label);
    stmt->bind_double(4, e.score).bind_double(5, e.top_score);
    stmt->bind(6, enc.box).bind(7, enc.zones).bind(8, enc.crossings);
    stmt->bind(9, e.start_time);
    if (e.end_time != 0)
      stmt->bind(10, e.end_time);
    else
      stmt->bind_null(10);
    stmt->bind(11, e.updated_at);
    if (!e.snapshot.empty())
      stmt->bind(12, e.snapshot);
    else
      stmt->bind_null(12);
    stmt->bind(13, std::int64_t{e.reviewed ? 1 : 0}).bind(14, e.note);
    if (Status s = stmt->run(); !s.ok()) {
      return {s.with_context("event '" + e.id + "'"), std::nullopt, 0};
    }
  }
  return {Status::ok_status(), std::nullopt, 0};
}

SqliteStore::WriteOutcome SqliteStore::apply_add_counts(sqlite3* db, const std::vector<CountDelta>& deltas) {
  Result<sqlite::Statement> stmt =
      sqlite::Statement::prepare(db,
                                 "INSERT INTO counts (camera_id, scope, name, label, bucket, seen, crossings_in, "
                                 "crossings_out, peak) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                                 "ON CONFLICT (camera_id, scope, name, label, bucket) DO UPDATE SET "
                                 "seen = seen + excluded.seen, crossings_in = crossings_in + excluded.crossings_in, "
                                 "crossings_out = crossings_out + excluded.crossings_out, "
                                 "peak = max(peak, excluded.peak)",
                                 "add " + std::to_string(deltas.size()) + " counts to " + path_);
  if (!stmt.ok()) return {stmt.status(), std::nullopt, 0};
  for (const CountDelta& d : deltas) {
    stmt->reset();
    stmt->bind(1, d.camera_id).bind(2, d.scope).bind(3, d.name).bind(4, d.label);
    stmt->bind(5, d.bucket).bind(6, d.seen).bind(7, d.in).bind(8, d.out).bind(9, d.peak);
    if (Status s = stmt->run(); !s.ok()) return {s, std::nullopt, 0};
  }
  if (Status s = store_internal::add_counts_to_rollups(db, deltas, path_); !s.ok()) return {s, std::nullopt, 0};
  return {Status::ok_status(), std::nullopt, 0};
}

Status SqliteStore::missing_or_modified(sqlite3* db, const std::string& id,
                                        std::optional<std::int64_t> expected_version) {
  ARGUS_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                         sqlite::Statement::prepare(db, "SELECT version FROM cameras WHERE id = ?1",
                                                    "read camera '" + id + "' from " + path_));
  stmt.bind(1, id);
  ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) return Status::not_found("camera '" + id + "' does not exist");
  std::string message = "camera '" + id + "' was modified (version " + std::to_string(stmt.column_int64(0)) + ")";
  if (expected_version) {
    message += "; expected version " + std::to_string(*expected_version) + ": read it again and retry";
  }
  return Status::failed_precondition(message);
}

void SqliteStore::refresh_queue_depth() {
  if (queue_depth_metric_ != nullptr) queue_depth_metric_->set(static_cast<double>(queue_.size()));
}

// ---------------------------------------------------------------------------------------
// Health and statistics

Status SqliteStore::check_health() {
  return guarded<Status>("check store health", [&]() -> Status {
    if (closed_) return closed_error();
    if (!writer_running_) return Status::unavailable("store writer thread is not running");
    ARGUS_RETURN_IF_ERROR(with_reader([&](sqlite3* db) -> Status {
      ARGUS_ASSIGN_OR_RETURN(sqlite::Statement stmt, sqlite::Statement::prepare(db, "SELECT 1", "read from " + path_));
      return stmt.run();
    }));
    std::lock_guard lock(health_mu_);
    if (!last_batch_error_.ok()) {
      return Status::unavailable("store writes are failing: " + last_batch_error_.message());
    }
    return Status::ok_status();
  });
}

StoreStats SqliteStore::stats() {
  StoreStats s;
  s.kind = "sqlite";
  s.schema_version = schema_version_;
  s.size_bytes = file_size_or_zero(path_) + file_size_or_zero(path_ + "-wal") + file_size_or_zero(path_ + "-shm");
  s.pending_writes = queue_.size();
  s.batches_committed = batches_committed_.load();
  s.writes_committed = writes_committed_.load();
  return s;
}

// ---------------------------------------------------------------------------------------
// Factory

Result<std::unique_ptr<Store>> open_store(const StoreOptions& options) {
  return guarded<Result<std::unique_ptr<Store>>>("open store", [&]() -> Result<std::unique_ptr<Store>> {
    const std::string& url = options.config.url;
    std::size_t sep = url.find("://");
    if (url.empty()) {
      return Status::invalid_argument("store URL is empty; supported: " + std::string(kSupportedUrls));
    }
    if (sep == std::string::npos) {
      return Status::invalid_argument("store URL '" + mask_url_credentials(url) +
                                      "' has no scheme; supported: " + std::string(kSupportedUrls));
    }
    std::string scheme = url.substr(0, sep);
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (scheme != "sqlite") {
      return Status::invalid_argument("store URL scheme '" + scheme + "' (in '" + mask_url_credentials(url) +
                                      "') is not supported; supported: " + std::string(kSupportedUrls));
    }
    std::string raw_path = url.substr(sep + 3);
    if (raw_path.empty() || raw_path == ":memory:") {
      return Status::invalid_argument("store URL '" + url +
                                      "' names no database file; supported: " + std::string(kSupportedUrls));
    }
    // Absolute, so SQLite never reads it as a "file:" URI and every connection agrees.
    std::error_code ec;
    std::filesystem::path path = std::filesystem::absolute(raw_path, ec).lexically_normal();
    if (ec) return Status::invalid_argument("store path '" + raw_path + "': " + ec.message());
    if (path.has_parent_path()) {
      std::filesystem::create_directories(path.parent_path(), ec);
      if (ec) {
        return Status::io_error("create directory " + path.parent_path().string() +
                                " for the database: " + ec.message());
      }
    }
    return SqliteStore::open(options, path.string());
  });
}

}  // namespace argus
