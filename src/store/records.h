// Stored records: analytics (events, one per tracked object, and per-minute counts) and
// access control (users, refresh tokens, API keys, the audit log).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"

namespace argus {

struct CrossingRecord {
  std::string line;
  std::string direction;  // "in" | "out"
  UnixMillis time = 0;
  bool operator==(const CrossingRecord&) const = default;
};

// One tracked object of a configured label, from its first confirmed sighting to its end.
struct EventRecord {
  std::string id;  // unique, URL-safe
  std::string camera_id;
  std::string label;
  double score = 0;  // latest
  double top_score = 0;
  std::array<double, 4> box{};            // latest box, normalized x1, y1, x2, y2
  std::vector<std::string> zones;         // zones entered so far, in order
  std::vector<CrossingRecord> crossings;  // lines crossed, in order
  std::vector<std::string> current_zones;  // zones the object is in now (live: on the bus, not stored)
  UnixMillis start_time = 0;
  UnixMillis end_time = 0;  // 0 while the object is still tracked
  UnixMillis updated_at = 0;
  std::string snapshot;  // path of the best snapshot relative to the media root ("" if none)
  bool reviewed = false;
  std::string note;
  bool operator==(const EventRecord&) const = default;
};

struct EventQuery {
  std::string camera;   // "" = all
  std::optional<std::vector<std::string>> cameras;  // only these cameras (nullopt = all; empty = none)
  std::string label;    // "" = all
  UnixMillis from = 0;  // start_time >= from (0 = unbounded)
  UnixMillis to = 0;    // start_time < to (0 = unbounded)
  std::string after;    // paging key from a previous page of the same order ("" = first page)
  std::size_t limit = 50;
  std::string zone;                 // "" = all; else events that entered this zone
  std::string line;                 // "" = all; else events that crossed this line
  std::optional<double> min_score;  // top_score >= min_score
  std::optional<bool> reviewed;     // only reviewed (true) or unreviewed (false) events
  bool ascending = false;           // oldest first (start_time, id ascending)
};

// The review of an event by a person: each set field replaces the stored one.
struct EventReview {
  std::optional<bool> reviewed;
  std::optional<std::string> note;
};

// One stored sighting of an event's object: where and how sure the detector was at `time`.
struct DetectionRecord {
  std::string event_id;
  std::string camera_id;
  std::string label;
  UnixMillis time = 0;
  double score = 0;
  std::array<double, 4> box{};  // normalized x1, y1, x2, y2
  bool operator==(const DetectionRecord&) const = default;
};

// Per-minute counters. scope "camera" (name ""), "zone" (name = zone) or "line" (name = line).
struct CountDelta {
  std::string camera_id;
  std::string scope;
  std::string name;
  std::string label;
  UnixMillis bucket = 0;  // start of the minute, ms
  std::int64_t seen = 0;  // objects that appeared (camera) or entered (zone)
  std::int64_t in = 0;    // line crossings in
  std::int64_t out = 0;   // line crossings out
  std::int64_t peak = 0;  // peak simultaneous objects (camera, zone); merged with max
  bool operator==(const CountDelta&) const = default;
};

struct CountQuery {
  std::string camera;  // required
  std::string scope;   // "" = all scopes
  std::string name;    // zone or line name ("" = all)
  std::string label;   // "" = all labels
  UnixMillis from = 0;
  UnixMillis to = 0;  // 0 = unbounded
  std::string after;  // paging key from a previous page ("" = from the start)
  std::size_t limit = 1000;
};

// One stored per-minute row (same fields as a delta, with totals).
using CountRow = CountDelta;

enum class CountBucket { kMinute, kHour, kDay };

// A time series of counts: one row per (bucket, scope, name, label) with the bucket's
// totals (seen, in, out summed; peak the largest). Buckets are UTC minutes, hours or days;
// from and to are widened to whole buckets, so a bucket is always complete.
struct CountSeriesQuery {
  std::string camera;  // required
  std::string scope;   // "" = all scopes
  std::string name;    // zone or line name ("" = all)
  std::string label;   // "" = all labels
  CountBucket bucket = CountBucket::kMinute;
  UnixMillis from = 0;  // 0 = unbounded
  UnixMillis to = 0;    // 0 = unbounded
  std::string after;    // paging key from a previous page ("" = from the start)
  std::size_t limit = 1000;
};

// What one rollup_counts call did. Watermarks: every hour (day) before it is rolled up.
struct RollupStats {
  std::int64_t hourly_rows = 0;  // hourly rows written
  std::int64_t daily_rows = 0;   // daily rows written
  UnixMillis hourly_watermark = 0;
  UnixMillis daily_watermark = 0;
};

// What one purge_analytics_before call deleted.
struct PurgeStats {
  std::int64_t events = 0;
  std::int64_t detections = 0;
  std::int64_t count_rows = 0;  // per-minute rows
  std::int64_t hourly_rows = 0;
  std::int64_t daily_rows = 0;
  // Snapshot paths (relative to the media root) of the deleted events: the caller deletes
  // the files.
  std::vector<std::string> snapshots;
};

// --- access control ---------------------------------------------------------------------
// The store keeps these as data: it does not hash, verify or interpret roles and
// permissions (the auth module does). Secrets never reach the store: only their hashes.

// An account. `username` is unique and never changes.
struct UserRecord {
  std::string id;  // unique, URL-safe
  std::string username;
  std::string display_name;
  std::string role;                                 // e.g. "admin", "operator", "viewer"
  std::optional<std::vector<std::string>> cameras;  // camera ids it may see; nullopt = every camera
  bool disabled = false;
  std::string password_hash;  // an encoded password hash (argon2id), never the password
  std::string settings;       // a JSON object; "" reads back as "{}"
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
  UnixMillis password_changed_at = 0;
  // Credentials issued before this instant are no longer accepted (0 = no cut-off).
  UnixMillis tokens_valid_after = 0;
  UnixMillis last_login_at = 0;  // 0 = never
  std::int64_t version = 0;      // 1 on create, + 1 per update
  bool operator==(const UserRecord&) const = default;
};

// How a user write is guarded and what it does besides writing the row.
struct UserWriteOptions {
  // FailedPrecondition (and nothing changes) if set and the stored version differs.
  std::optional<std::int64_t> expected_version;
  // In the same transaction, revoke (revoked_at = now) every refresh token of the user
  // that is not revoked yet.
  bool revoke_refresh_tokens = false;
  // If not empty: FailedPrecondition (and nothing changes) when, after the write, no
  // enabled user has this role. Keeps the last administrator from being removed.
  std::string keep_enabled_role;
};

// One refresh token, stored by the SHA-256 of its secret. Tokens issued from one sign-in
// share a family: rotating a token marks it used and issues its successor in the family.
struct RefreshTokenRecord {
  std::string id;          // unique
  std::string token_hash;  // hex SHA-256 of the token; unique
  std::string user_id;
  std::string family_id;
  UnixMillis created_at = 0;
  UnixMillis expires_at = 0;
  UnixMillis used_at = 0;     // 0 = not used yet
  UnixMillis revoked_at = 0;  // 0 = not revoked
  std::string replaced_by;    // id of the successor once used
  std::string ip;
  std::string user_agent;
  bool operator==(const RefreshTokenRecord&) const = default;
};

// An API key, stored by the SHA-256 of its secret and found by its public id.
struct ApiKeyRecord {
  std::string id;  // public, unique; part of the key string
  std::string user_id;
  std::string name;
  std::string secret_hash;                          // hex SHA-256 of the secret part
  std::vector<std::string> permissions;             // permission names, e.g. "events:read"
  std::optional<std::vector<std::string>> cameras;  // nullopt = the owner's cameras
  UnixMillis created_at = 0;
  UnixMillis expires_at = 0;    // 0 = never
  UnixMillis revoked_at = 0;    // 0 = not revoked
  UnixMillis last_used_at = 0;  // 0 = never
  bool operator==(const ApiKeyRecord&) const = default;
};

// One line of the append-only audit log.
struct AuditRecord {
  std::int64_t id = 0;     // assigned by the store, increasing
  UnixMillis time = 0;     // 0 = the store's now
  std::string actor;       // user id or API key id ("" if unknown)
  std::string actor_kind;  // "user", "api_key", "system" or "anonymous"
  std::string ip;
  std::string request_id;
  std::string action;   // e.g. "auth.login"
  std::string target;   // what was acted on ("" if nothing)
  std::string outcome;  // "ok", "denied" or "failed"
  std::string details;  // a JSON object without secrets; "" reads back as "{}"
  bool operator==(const AuditRecord&) const = default;
};

struct AuditQuery {
  std::string actor;    // "" = all
  std::string action;   // "" = all
  std::string outcome;  // "" = all
  std::string target;   // "" = all
  UnixMillis from = 0;  // time >= from (0 = unbounded)
  UnixMillis to = 0;    // time < to (0 = unbounded)
  std::string after;    // paging key from a previous page ("" = newest first)
  std::size_t limit = 50;
};

// --- background jobs (jobs/job_manager.h) ----------------------------------------------
// The store keeps a job as data; the jobs module owns the state machine.

// One background job. States: "queued", "running", "succeeded", "failed", "cancelled".
struct JobRecord {
  std::string id;  // unique, URL-safe
  std::string kind;
  std::string state;
  int progress = 0;            // percent, 0..100
  std::string message;         // the latest progress message ("" if none)
  std::string params;          // a JSON object; "" reads back as "{}"
  std::string result;          // a JSON value; "" = none yet
  std::string error;           // why it failed ("" unless failed)
  bool retryable = false;      // a retry may succeed (e.g. the server stopped while it ran)
  std::int64_t attempts = 0;   // runs so far, counted across retries of one original job
  std::string created_by;      // actor (user or API key id; "system" for the scheduler)
  std::string retry_of;        // the job this one retries ("" if none)
  UnixMillis created_at = 0;   // 0 = the store's now on create
  UnixMillis started_at = 0;   // 0 = not started
  UnixMillis finished_at = 0;  // 0 = not finished
  UnixMillis updated_at = 0;   // set by the store on every write
  bool operator==(const JobRecord&) const = default;
};

struct JobQuery {
  std::string kind;   // "" = all
  std::string state;  // "" = all
  std::string after;  // paging key from a previous page ("" = newest first)
  std::size_t limit = 50;
};

}  // namespace argus
