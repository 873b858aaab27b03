#include "store/sqlite_migrations.h"

#include <array>

#include "store/sqlite.h"

namespace argus::sqlite {
namespace {

// cameras.doc is camera_to_json(camera, {.mask_credentials = false, .include_meta = false});
// the metadata lives in its own columns.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE cameras (
  id         TEXT PRIMARY KEY NOT NULL,
  doc        TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version    INTEGER NOT NULL
);
)sql";

// events: one row per tracked object. box, zones and crossings are JSON (see records_doc.h);
// end_time is NULL while the object is tracked. reviewed and note belong to people, not to
// the pipeline: saving an event again never changes them.
// counts: per-minute totals per (camera, scope, name, label); small rows, so WITHOUT ROWID.
// The primary key serves one series over time; counts_by_time serves a whole camera over
// time in query order (bucket, scope, name, label).
constexpr std::string_view kV2 = R"sql(
CREATE TABLE events (
  id         TEXT PRIMARY KEY NOT NULL,
  camera_id  TEXT NOT NULL,
  label      TEXT NOT NULL,
  score      REAL,
  top_score  REAL,
  box        TEXT,
  zones      TEXT,
  crossings  TEXT,
  start_time INTEGER NOT NULL,
  end_time   INTEGER,
  updated_at INTEGER,
  snapshot   TEXT,
  reviewed   INTEGER NOT NULL DEFAULT 0,
  note       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_by_time ON events (start_time DESC, id DESC);
CREATE INDEX events_by_camera ON events (camera_id, start_time DESC, id DESC);
CREATE INDEX events_by_label ON events (label, start_time DESC, id DESC);

CREATE TABLE counts (
  camera_id     TEXT NOT NULL,
  scope         TEXT NOT NULL,
  name          TEXT NOT NULL,
  label         TEXT NOT NULL,
  bucket        INTEGER NOT NULL,
  seen          INTEGER NOT NULL DEFAULT 0,
  crossings_in  INTEGER NOT NULL DEFAULT 0,
  crossings_out INTEGER NOT NULL DEFAULT 0,
  peak          INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (camera_id, scope, name, label, bucket)
) WITHOUT ROWID;
CREATE INDEX counts_by_time ON counts (camera_id, bucket, scope, name, label);
)sql";

// Access control. users.cameras and api_keys.cameras are JSON arrays of camera ids (NULL =
// no restriction); api_keys.permissions is a JSON array of permission names; secrets are
// stored only as hex SHA-256 (refresh_tokens.token_hash, api_keys.secret_hash) or as an
// argon2id string (users.password_hash). Deleting a user deletes its tokens and keys.
// audit_log is append-only: AUTOINCREMENT never reuses an id after retention deletes old
// lines (ids page the log), and a trigger refuses every UPDATE.
constexpr std::string_view kV3 = R"sql(
CREATE TABLE users (
  id                  TEXT PRIMARY KEY NOT NULL,
  username            TEXT NOT NULL UNIQUE,
  display_name        TEXT NOT NULL DEFAULT '',
  role                TEXT NOT NULL,
  cameras             TEXT,
  disabled            INTEGER NOT NULL DEFAULT 0,
  password_hash       TEXT NOT NULL,
  settings            TEXT NOT NULL DEFAULT '{}',
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  password_changed_at INTEGER NOT NULL,
  tokens_valid_after  INTEGER NOT NULL DEFAULT 0,
  last_login_at       INTEGER,
  version             INTEGER NOT NULL
);

CREATE TABLE refresh_tokens (
  id          TEXT PRIMARY KEY NOT NULL,
  token_hash  TEXT NOT NULL UNIQUE,
  user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  family_id   TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  used_at     INTEGER,
  revoked_at  INTEGER,
  replaced_by TEXT,
  ip          TEXT NOT NULL DEFAULT '',
  user_agent  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);

CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY NOT NULL,
  user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  secret_hash  TEXT NOT NULL,
  permissions  TEXT NOT NULL,
  cameras      TEXT,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER,
  revoked_at   INTEGER,
  last_used_at INTEGER
);
CREATE INDEX api_keys_by_user ON api_keys (user_id, id);

CREATE TABLE audit_log (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  time       INTEGER NOT NULL,
  actor      TEXT NOT NULL DEFAULT '',
  actor_kind TEXT NOT NULL DEFAULT '',
  ip         TEXT NOT NULL DEFAULT '',
  request_id TEXT NOT NULL DEFAULT '',
  action     TEXT NOT NULL,
  target     TEXT NOT NULL DEFAULT '',
  outcome    TEXT NOT NULL,
  details    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_by_time ON audit_log (time);
CREATE INDEX audit_log_by_actor ON audit_log (actor, id);
CREATE INDEX audit_log_by_action ON audit_log (action, id);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
)sql";

// Query support. detections: sightings of an event's object over time (the pipeline keeps
// at most one per event per second); deleted with their event. counts_hourly and
// counts_daily: the per-minute rows summed per UTC hour and day (peak: the maximum), written
// by rollup_counts up to the watermark kept per grain ('hour', 'day') in counts_rollup;
// minute rows written later for a bucket before a watermark are added to its rollup too.
// counts_by_bucket and events_by_last_time serve retention.
constexpr std::string_view kV4 = R"sql(
CREATE TABLE detections (
  event_id  TEXT NOT NULL,
  time      INTEGER NOT NULL,
  camera_id TEXT NOT NULL,
  label     TEXT NOT NULL,
  score     REAL NOT NULL,
  x1        REAL NOT NULL,
  y1        REAL NOT NULL,
  x2        REAL NOT NULL,
  y2        REAL NOT NULL,
  PRIMARY KEY (event_id, time)
) WITHOUT ROWID;
CREATE INDEX detections_by_time ON detections (time);

CREATE TABLE counts_hourly (
  camera_id     TEXT NOT NULL,
  scope         TEXT NOT NULL,
  name          TEXT NOT NULL,
  label         TEXT NOT NULL,
  bucket        INTEGER NOT NULL,
  seen          INTEGER NOT NULL DEFAULT 0,
  crossings_in  INTEGER NOT NULL DEFAULT 0,
  crossings_out INTEGER NOT NULL DEFAULT 0,
  peak          INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (camera_id, scope, name, label, bucket)
) WITHOUT ROWID;
CREATE INDEX counts_hourly_by_time ON counts_hourly (camera_id, bucket, scope, name, label);

CREATE TABLE counts_daily (
  camera_id     TEXT NOT NULL,
  scope         TEXT NOT NULL,
  name          TEXT NOT NULL,
  label         TEXT NOT NULL,
  bucket        INTEGER NOT NULL,
  seen          INTEGER NOT NULL DEFAULT 0,
  crossings_in  INTEGER NOT NULL DEFAULT 0,
  crossings_out INTEGER NOT NULL DEFAULT 0,
  peak          INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (camera_id, scope, name, label, bucket)
) WITHOUT ROWID;
CREATE INDEX counts_daily_by_time ON counts_daily (camera_id, bucket, scope, name, label);

CREATE TABLE counts_rollup (
  grain     TEXT PRIMARY KEY NOT NULL,
  watermark INTEGER NOT NULL
);

CREATE INDEX counts_by_bucket ON counts (bucket);
CREATE INDEX events_by_last_time ON events (coalesce(end_time, updated_at, start_time));
)sql";


// Background jobs (jobs/job_manager.h). params is a JSON object, result a JSON value (NULL
// until set); started_at and finished_at are NULL until they happen. Lists go newest first,
// optionally by kind or state; unfinished jobs are found by state at start.
constexpr std::string_view kV5 = R"sql(
CREATE TABLE jobs (
  id          TEXT PRIMARY KEY NOT NULL,
  kind        TEXT NOT NULL,
  state       TEXT NOT NULL,
  progress    INTEGER NOT NULL DEFAULT 0,
  message     TEXT NOT NULL DEFAULT '',
  params      TEXT NOT NULL DEFAULT '{}',
  result      TEXT,
  error       TEXT NOT NULL DEFAULT '',
  retryable   INTEGER NOT NULL DEFAULT 0,
  attempts    INTEGER NOT NULL DEFAULT 0,
  created_by  TEXT NOT NULL DEFAULT '',
  retry_of    TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  started_at  INTEGER,
  finished_at INTEGER,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX jobs_by_time ON jobs (created_at DESC, id DESC);
CREATE INDEX jobs_by_kind ON jobs (kind, created_at DESC, id DESC);
CREATE INDEX jobs_by_state ON jobs (state, created_at DESC, id DESC);
CREATE INDEX jobs_by_finish ON jobs (finished_at);
)sql";

// Version 6: alert rules (the definition is a JSON document owned by the alerts module)
// and alerts (firing → resolved, optionally acknowledged). Alerts list newest first,
// filtered by state, rule or camera; retention deletes resolved ones by resolved_at.
constexpr std::string_view kV6 = R"sql(
CREATE TABLE alert_rules (
  id         TEXT PRIMARY KEY NOT NULL,
  spec       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE alerts (
  id              TEXT PRIMARY KEY NOT NULL,
  rule_id         TEXT NOT NULL,
  rule_name       TEXT NOT NULL DEFAULT '',
  camera_id       TEXT NOT NULL,
  label           TEXT NOT NULL DEFAULT '',
  zone            TEXT NOT NULL DEFAULT '',
  line            TEXT NOT NULL DEFAULT '',
  severity        TEXT NOT NULL,
  state           TEXT NOT NULL,
  started_at      INTEGER NOT NULL,
  resolved_at     INTEGER,
  acknowledged_at INTEGER,
  acknowledged_by TEXT NOT NULL DEFAULT '',
  value           REAL NOT NULL DEFAULT 0,
  message         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alerts_by_time ON alerts (started_at DESC, id DESC);
CREATE INDEX alerts_by_state ON alerts (state, started_at DESC, id DESC);
CREATE INDEX alerts_by_rule ON alerts (rule_id, started_at DESC, id DESC);
CREATE INDEX alerts_by_camera ON alerts (camera_id, started_at DESC, id DESC);
CREATE INDEX alerts_by_resolved ON alerts (resolved_at);
)sql";

// Version 7: notification channels and the dead-letter queue (alerts/delivery.h).
// Channels keep their type's settings, secrets included, as one JSON object. Dead letters
// list newest first, optionally by channel, kind or reason (ids increase).
constexpr std::string_view kV7 = R"sql(
CREATE TABLE notification_channels (
  id          TEXT PRIMARY KEY NOT NULL,
  name        TEXT NOT NULL,
  type        TEXT NOT NULL,
  enabled     INTEGER NOT NULL DEFAULT 1,
  config      TEXT NOT NULL DEFAULT '{}',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  version     INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE dead_letters (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  kind        TEXT NOT NULL,
  channel_id  TEXT NOT NULL,
  payload     TEXT NOT NULL,
  error       TEXT NOT NULL DEFAULT '',
  reason      TEXT NOT NULL DEFAULT '',
  attempts    INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL,
  failed_at   INTEGER NOT NULL
);
CREATE INDEX dead_letters_by_channel ON dead_letters (channel_id, id DESC);
CREATE INDEX dead_letters_by_kind ON dead_letters (kind, id DESC);
CREATE INDEX dead_letters_by_reason ON dead_letters (reason, id DESC);
)sql";

constexpr std::array<std::string_view, 7> kMigrations = {kV1, kV2, kV3, kV4, kV5, kV6, kV7};

}  // namespace

std::span<const std::string_view> migrations() { return kMigrations; }

int latest_schema_version() { return static_cast<int>(kMigrations.size()); }

Status newer_schema_error(const std::string& path, int version) {
  return Status::failed_precondition("database " + path + " has schema version " + std::to_string(version) +
                                     " but this argus only knows up to " + std::to_string(latest_schema_version()) +
                                     ": it was written by a newer Argus; upgrade argus or point --data-dir elsewhere");
}

Result<int> read_schema_version(sqlite3* db, const std::string& path) {
  std::string what = "read the schema version of " + path;
  Result<bool> row = Status::internal(what + ": no row");
  int version = 0;
  {
    Result<Statement> stmt = Statement::prepare(db, "PRAGMA user_version", what);
    row = stmt.ok() ? stmt->step() : Result<bool>(stmt.status());
    if (row.ok() && *row) version = static_cast<int>(stmt->column_int64(0));
  }
  if (!row.ok()) {
    if (row.status().code() == StatusCode::kCorruption) {
      return Status::corruption(row.status().message() + " (" + path +
                                " is not an Argus database; move it away or point --data-dir elsewhere)");
    }
    return row.status();
  }
  if (!*row) return Status::internal(what + ": no row");
  return version;
}

Result<int> migrate(sqlite3* db, const std::string& path) {
  ARGUS_ASSIGN_OR_RETURN(int version, read_schema_version(db, path));
  if (version > latest_schema_version()) return newer_schema_error(path, version);
  while (version < latest_schema_version()) {
    std::string what = "apply schema migration " + std::to_string(version + 1) + " to " + path;
    ARGUS_RETURN_IF_ERROR(exec(db, "BEGIN IMMEDIATE", what));
    // Re-read under the write lock: another process may have migrated meanwhile.
    Result<int> current = read_schema_version(db, path);
    Status s = current.status();
    if (s.ok()) {
      version = *current;
      if (version > latest_schema_version()) {
        s = newer_schema_error(path, version);
      } else if (version < latest_schema_version()) {
        s = exec(db, std::string(kMigrations[static_cast<std::size_t>(version)]), what);
        if (s.ok()) s = exec(db, "PRAGMA user_version = " + std::to_string(version + 1), what);
      }
    }
    if (s.ok()) s = exec(db, "COMMIT", what);
    if (!s.ok()) {
      if (sqlite3_get_autocommit(db) == 0) (void)exec(db, "ROLLBACK", what);
      return s;
    }
    if (version < latest_schema_version()) ++version;
  }
  return version;
}

}  // namespace argus::sqlite
