// Store: everything Argus persists, behind one interface.
//
// Implementations: SQLite (embedded default, sqlite_store.cpp). A PostgreSQL backend can
// follow without changing callers: the interface speaks in domain types and Status, never
// SQL, and paging is keyset-based with opaque keys.
//
// Threading: every method is safe to call from any thread. Writes go through one writer
// that commits them in batches; a write returns once its transaction has committed.
// Reads never wait for the writer (WAL).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/camera.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/status.h"
#include "store/alert_records.h"
#include "store/records.h"

namespace argus::metrics {
class Registry;
}

namespace argus {

// Keyset paging: return items whose key sorts after `after` ("" = from the start), at
// most `limit` of them.
struct PageRequest {
  std::string after;
  std::size_t limit = 50;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next_after;  // key of the last item when more may follow
};

// What Store::maintenance() did: the database's size on disk before and after.
struct MaintenanceReport {
  std::int64_t bytes_before = 0;
  std::int64_t bytes_after = 0;
};

struct StoreStats {
  std::string kind;  // "sqlite"
  int schema_version = 0;
  std::int64_t size_bytes = 0;  // database files on disk
  std::size_t pending_writes = 0;
  std::uint64_t batches_committed = 0;
  std::uint64_t writes_committed = 0;
};

// --- notifications (channels and dead letters; schema: see sqlite_migrations.cpp) ---
// A notification channel as stored. `config` is the type's JSON object, secrets included:
// the alerts module validates it and the API redacts it; the store only keeps it.
struct NotificationChannelRecord {
  std::string id;    // unique, a slug
  std::string name;  // for people
  std::string type;  // "webhook", "email", "mqtt"
  bool enabled = true;
  std::string config = "{}";  // a JSON object
  UnixMillis created_at = 0;  // set by the store
  UnixMillis updated_at = 0;  // set by the store
  std::int64_t version = 0;   // 1 on create, + 1 on every update
  bool operator==(const NotificationChannelRecord&) const = default;
};

// Something that could not be delivered, kept until an operator requeues or purges it.
struct DeadLetterRecord {
  std::int64_t id = 0;         // assigned by the store, increasing
  std::string kind;            // what produced it: "notification"
  std::string channel_id;      // the channel it was for
  std::string payload;         // JSON: what to deliver again ({"kind","time","data"} for notifications)
  std::string error;           // the last error
  std::string reason;          // "exhausted", "permanent", "queue_full", "shutdown", "channel"
  std::int64_t attempts = 0;   // delivery attempts made
  UnixMillis created_at = 0;   // when it was first queued
  UnixMillis failed_at = 0;    // when it became a dead letter (0 = the store's now)
  bool operator==(const DeadLetterRecord&) const = default;
};

// Filters of the dead-letter list and of the bulk requeue and purge; "" = any.
struct DeadLetterFilter {
  std::string channel_id;
  std::string kind;
  std::string reason;
  UnixMillis failed_before = 0;  // only those that became dead letters before; 0 = any
};

struct DeadLetterQuery {
  DeadLetterFilter filter;
  std::int64_t before_id = 0;  // paging: ids below this (0 = from the newest)
  std::size_t limit = 50;
};

class Store {
 public:
  virtual ~Store() = default;

  // --- cameras ---
  // Creates `camera` (its id must be new): sets created_at = updated_at = now, version 1.
  // AlreadyExists if the id is taken.
  virtual Result<Camera> create_camera(Camera camera) = 0;
  // NotFound if absent.
  virtual Result<Camera> get_camera(const std::string& id) = 0;
  // Cameras ordered by id.
  virtual Result<Page<Camera>> list_cameras(const PageRequest& page) = 0;
  // Replaces the stored camera with the same id, keeping created_at, setting updated_at
  // and version + 1. If `expected_version` is set and differs from the stored version:
  // FailedPrecondition. NotFound if absent.
  virtual Result<Camera> update_camera(Camera camera, std::optional<std::int64_t> expected_version) = 0;
  // NotFound if absent; FailedPrecondition on a version mismatch.
  virtual Status delete_camera(const std::string& id, std::optional<std::int64_t> expected_version) = 0;
  // Creates, or replaces when the configuration differs (version + 1); unchanged cameras
  // are left alone. Used for cameras declared in the YAML file.
  virtual Result<Camera> upsert_camera(Camera camera) = 0;
  // Bumped after every committed camera change made through this object; lets callers
  // cache camera reads cheaply.
  virtual std::uint64_t cameras_revision() const = 0;

  // --- events (one per tracked object) ---
  // Inserts or replaces each event by id, all in one transaction. Review fields
  // (reviewed, note) of an existing event are kept: the pipeline does not own them.
  virtual Status save_events(std::vector<EventRecord> events) = 0;
  // NotFound if absent.
  virtual Result<EventRecord> get_event(const std::string& id) = 0;
  // Newest first (start_time descending, then id descending), or oldest first when
  // query.ascending, filtered by the query. A paging key is tied to its sort order
  // (InvalidArgument when used with the other).
  virtual Result<Page<EventRecord>> list_events(const EventQuery& query) = 0;
  // Applies `review` to the stored event (pipeline fields are untouched) and returns the
  // event as stored. NotFound if absent; InvalidArgument if the note is not valid UTF-8.
  virtual Result<EventRecord> review_event(const std::string& id, const EventReview& review) = 0;
  // Deletes the event and its detections in one transaction and returns the deleted event
  // (its snapshot file is the caller's to delete). NotFound if absent.
  virtual Result<EventRecord> delete_event(const std::string& id) = 0;

  // --- detections (sightings of an event's object over time) ---
  // Stores each detection, keyed by (event_id, time); a second one for the same key is
  // ignored. One transaction. InvalidArgument for an empty event or camera id or label, or
  // a score or box that is not finite. The caller bounds how many it stores per event.
  virtual Status save_detections(std::vector<DetectionRecord> detections) = 0;
  // The detections of one event, oldest first, paged with page.after/limit.
  virtual Result<Page<DetectionRecord>> list_detections(const std::string& event_id, const PageRequest& page) = 0;

  // --- counts (per camera, zone and line, per minute) ---
  // Adds each delta to its row (camera, scope, name, label, bucket): seen, in and out are
  // summed, peak takes the maximum. One transaction.
  virtual Status add_counts(std::vector<CountDelta> deltas) = 0;
  // Rows ordered by bucket, scope, name, label; paged with query.after/limit.
  virtual Result<Page<CountRow>> query_counts(const CountQuery& query) = 0;
  // The counts aggregated per UTC minute, hour or day (see CountSeriesQuery), ordered by
  // bucket, scope, name, label. Hours and days before the rollup watermarks are read from
  // the rollup tables, the rest aggregated from minute rows: the answer does not depend on
  // whether rollup_counts ran.
  virtual Result<Page<CountRow>> query_count_series(const CountSeriesQuery& query) = 0;
  // Rolls every complete UTC hour and day before `now` up from the minute rows, from the
  // stored watermarks on, and advances them; idempotent (a second call with the same `now`
  // writes nothing). Minute rows added later for an hour or day already rolled up are
  // added to its rollup as they are written.
  virtual Result<RollupStats> rollup_counts(UnixMillis now) = 0;
  // Retention: in one transaction, deletes events that ended before `t` (or, still open,
  // were last updated before `t`) with their detections, detections older than `t`, minute
  // rows before `t`, and hourly and daily rows of buckets that ended by `t`.
  virtual Result<PurgeStats> purge_analytics_before(UnixMillis t) = 0;

  // --- users ---
  // Creates `user` (id and username must be new): sets created_at = updated_at = now and
  // version 1 (password_changed_at = now when 0). AlreadyExists if the id or the username
  // is taken; InvalidArgument if id, username, role or password_hash is empty or settings
  // is not a JSON object.
  virtual Result<UserRecord> create_user(UserRecord user) = 0;
  // NotFound if absent.
  virtual Result<UserRecord> get_user(const std::string& id) = 0;
  virtual Result<UserRecord> get_user_by_username(const std::string& username) = 0;
  // Users ordered by username (the paging key).
  virtual Result<Page<UserRecord>> list_users(const PageRequest& page) = 0;
  virtual Result<std::int64_t> count_users() = 0;
  // Replaces the mutable fields of the stored user `user.id` (display_name, role, cameras,
  // disabled, settings, password_hash, password_changed_at, tokens_valid_after), keeping
  // username, created_at and last_login_at; sets updated_at = now and version + 1. Returns
  // the user as stored. NotFound if absent; FailedPrecondition as `options` say.
  virtual Result<UserRecord> update_user(UserRecord user, const UserWriteOptions& options) = 0;
  // Deletes the user with its refresh tokens and API keys (audit lines stay). NotFound if
  // absent; FailedPrecondition as `options` say (revoke_refresh_tokens is implied).
  virtual Status delete_user(const std::string& id, const UserWriteOptions& options) = 0;
  // Sets last_login_at without touching version or updated_at. NotFound if absent.
  virtual Status record_user_login(const std::string& id, UnixMillis at) = 0;

  // --- refresh tokens ---
  // AlreadyExists if the id or hash is taken; NotFound if the user does not exist.
  virtual Status create_refresh_token(RefreshTokenRecord token) = 0;
  // NotFound if no token has this hash.
  virtual Result<RefreshTokenRecord> get_refresh_token_by_hash(const std::string& token_hash) = 0;
  // Compare-and-set, in one transaction: marks token `used_id` used (used_at, replaced_by =
  // replacement.id) only if it is neither used nor revoked, and then inserts `replacement`.
  // Returns true if this call marked it; false if it was already used or revoked, or does
  // not exist (then nothing is written). Of concurrent calls for one token, at most one
  // returns true.
  virtual Result<bool> rotate_refresh_token(const std::string& used_id, UnixMillis used_at,
                                            RefreshTokenRecord replacement) = 0;
  // Sets revoked_at = at on every token of the family not revoked yet; returns how many.
  virtual Result<std::int64_t> revoke_refresh_family(const std::string& family_id, UnixMillis at) = 0;
  // Same for every token of a user.
  virtual Result<std::int64_t> revoke_user_refresh_tokens(const std::string& user_id, UnixMillis at) = 0;
  // Retention: deletes tokens that expired before `t`; returns how many.
  virtual Result<std::int64_t> delete_refresh_tokens_expired_before(UnixMillis t) = 0;

  // --- API keys ---
  // AlreadyExists if the id is taken; NotFound if the user does not exist; InvalidArgument
  // if id, user_id, name or secret_hash is empty.
  virtual Status create_api_key(ApiKeyRecord key) = 0;
  // NotFound if absent.
  virtual Result<ApiKeyRecord> get_api_key(const std::string& id) = 0;
  // Keys of `user_id` ("" = every user's), ordered by id (the paging key).
  virtual Result<Page<ApiKeyRecord>> list_api_keys(const std::string& user_id, const PageRequest& page) = 0;
  // Sets revoked_at = at unless already revoked (the first time is kept). NotFound if absent.
  virtual Status revoke_api_key(const std::string& id, UnixMillis at) = 0;
  // Sets last_used_at = at if that is later than the stored value. NotFound if absent.
  virtual Status touch_api_key(const std::string& id, UnixMillis at) = 0;

  // --- audit log (append-only) ---
  // Appends `record` (time 0 = now) and returns its id. InvalidArgument if action or
  // outcome is empty or details is not a JSON object. There is no update.
  virtual Result<std::int64_t> append_audit(AuditRecord record) = 0;
  // Newest first (id descending), filtered by the query.
  virtual Result<Page<AuditRecord>> list_audit(const AuditQuery& query) = 0;
  // Retention, the only way lines leave the log: deletes lines with time < t; returns how many.
  virtual Result<std::int64_t> delete_audit_before(UnixMillis t) = 0;

  // --- background jobs ---
  // Creates `job` (its id must be new); created_at = now when 0, updated_at = now. Returns
  // the job as stored. AlreadyExists if the id is taken; InvalidArgument if id or kind is
  // empty, the state is unknown, progress is outside 0..100, params is not a JSON object or
  // result is not JSON.
  virtual Result<JobRecord> create_job(JobRecord job) = 0;
  // NotFound if absent.
  virtual Result<JobRecord> get_job(const std::string& id) = 0;
  // Newest first (created_at descending, then id descending), filtered by the query.
  virtual Result<Page<JobRecord>> list_jobs(const JobQuery& query) = 0;
  // Replaces the mutable fields of job `job.id` (state, progress, message, result, error,
  // retryable, attempts, started_at, finished_at), keeping kind, params, created_by,
  // retry_of and created_at; sets updated_at = now. Returns the job as stored. NotFound if
  // absent; InvalidArgument as for create_job (job.kind and job.params are not used).
  virtual Result<JobRecord> update_job(JobRecord job) = 0;
  // Jobs in state "queued" or "running" (left by a previous process when read at start),
  // oldest first.
  virtual Result<std::vector<JobRecord>> list_unfinished_jobs() = 0;
  // Retention: deletes finished jobs (succeeded, failed, cancelled) that finished before
  // `t`; returns how many.
  virtual Result<std::int64_t> delete_jobs_finished_before(UnixMillis t) = 0;

  // --- alerts ---
  // Creates the rule (id must be new; spec a JSON object); created_at = updated_at = now.
  // AlreadyExists if the id is taken; InvalidArgument for an empty id or a spec that is not
  // a JSON object.
  virtual Result<AlertRuleRecord> create_alert_rule(AlertRuleRecord rule) = 0;
  // NotFound if absent.
  virtual Result<AlertRuleRecord> get_alert_rule(const std::string& id) = 0;
  // Rules ordered by id (the paging key).
  virtual Result<Page<AlertRuleRecord>> list_alert_rules(const PageRequest& page) = 0;
  // Replaces the spec of rule `rule.id`, keeping created_at; updated_at = now. Returns the
  // rule as stored. NotFound if absent; InvalidArgument as for create.
  virtual Result<AlertRuleRecord> update_alert_rule(AlertRuleRecord rule) = 0;
  // NotFound if absent. The rule's alerts stay.
  virtual Status delete_alert_rule(const std::string& id) = 0;
  // Inserts the alert, or updates the stored one with the same id (every field except
  // acknowledged_at and acknowledged_by, which only acknowledge_alert writes). Returns the
  // alert as stored. InvalidArgument for an empty id, rule_id or camera_id or an unknown
  // state or severity.
  virtual Result<AlertRecord> save_alert(AlertRecord alert) = 0;
  // NotFound if absent.
  virtual Result<AlertRecord> get_alert(const std::string& id) = 0;
  // Newest first (started_at descending, then id descending), filtered by the query.
  virtual Result<Page<AlertRecord>> list_alerts(const AlertQuery& query) = 0;
  // Records the first acknowledgement (`at`, `by`); a second call changes nothing and
  // returns the alert as stored. NotFound if absent.
  virtual Result<AlertRecord> acknowledge_alert(const std::string& id, UnixMillis at, const std::string& by) = 0;
  // Retention: deletes resolved alerts that resolved before `t`; returns how many.
  virtual Result<std::int64_t> delete_alerts_resolved_before(UnixMillis t) = 0;
  // --- notifications ---
  // Channels. create: AlreadyExists if the id is taken; InvalidArgument if id, name or type
  // is empty or config is not a JSON object. Sets created_at = updated_at = now, version 1.
  virtual Result<NotificationChannelRecord> create_channel(NotificationChannelRecord channel) = 0;
  // NotFound if absent.
  virtual Result<NotificationChannelRecord> get_channel(const std::string& id) = 0;
  // Ordered by id (the paging key).
  virtual Result<Page<NotificationChannelRecord>> list_channels(const PageRequest& page) = 0;
  // Replaces name, enabled and config (id, type and created_at are kept); updated_at = now,
  // version + 1. NotFound if absent; FailedPrecondition if `expected_version` is set and
  // differs.
  virtual Result<NotificationChannelRecord> update_channel(NotificationChannelRecord channel,
                                                           std::optional<std::int64_t> expected_version) = 0;
  // NotFound if absent. Its dead letters stay (they name the channel id).
  virtual Status delete_channel(const std::string& id) = 0;
  // Dead letters. add: stores each (ids assigned, failed_at = now when 0) in one
  // transaction and returns their ids in order. InvalidArgument if kind or channel_id is
  // empty or payload is not JSON.
  virtual Result<std::vector<std::int64_t>> add_dead_letters(std::vector<DeadLetterRecord> letters) = 0;
  // NotFound if absent.
  virtual Result<DeadLetterRecord> get_dead_letter(std::int64_t id) = 0;
  // Newest first (id descending), filtered; next_after holds the last id when more follow.
  virtual Result<Page<DeadLetterRecord>> list_dead_letters(const DeadLetterQuery& query) = 0;
  // NotFound if absent.
  virtual Status delete_dead_letter(std::int64_t id) = 0;
  // Deletes every dead letter matching `filter`; returns how many.
  virtual Result<std::int64_t> delete_dead_letters(const DeadLetterFilter& filter) = 0;
  virtual Result<std::int64_t> count_dead_letters(const DeadLetterFilter& filter) = 0;

  // --- maintenance ---
  // Compacts and tunes the database (SQLite: PRAGMA optimize, VACUUM, then a truncating WAL
  // checkpoint), between write batches: writes wait meanwhile. Returns the size on disk
  // before and after.
  virtual Result<MaintenanceReport> maintenance() = 0;

  // --- lifecycle and health ---
  // Ok when a read and the writer both work.
  virtual Status check_health() = 0;
  // Returns once every write accepted before the call has committed.
  virtual Status flush() = 0;
  // Flushes, stops the writer and closes connections. Later calls fail with Unavailable.
  virtual void close() = 0;
  virtual StoreStats stats() = 0;
};

struct StoreOptions {
  StoreConfig config;                    // url, synchronous, queue and batch sizes
  const Clock* clock = &system_clock();  // not owned
  metrics::Registry* metrics = nullptr;  // not owned; optional
};

// Opens the store named by options.config.url, applying migrations. FailedPrecondition if
// the database was written by a newer Argus (schema version above this binary's).
Result<std::unique_ptr<Store>> open_store(const StoreOptions& options);

}  // namespace argus
