// SqliteStore: the embedded Store backend, one SQLite file in WAL mode. Private to the
// store module; everyone else goes through open_store().
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/bounded_queue.h"
#include "store/camera_doc.h"
#include "store/records_doc.h"
#include "store/sqlite.h"
#include "store/store.h"

namespace argus::metrics {
class Counter;
class Gauge;
class Histogram;
}  // namespace argus::metrics

namespace argus {

// Threading: every public method may be called from any thread.
//  - Writes become WriteOps in a bounded queue (overflow: reject → ResourceExhausted). One
//    writer thread owns the read-write connection: it takes the oldest op plus up to
//    write_batch_max - 1 more already queued, runs them in one BEGIN IMMEDIATE transaction,
//    each inside its own SAVEPOINT so a failing op rolls back only itself, and completes each
//    caller's future only after COMMIT. A caller therefore blocks until its write is durable
//    (per `synchronous`), while many callers share one commit.
//  - Reads check out one of `read_connections` read-only connections for the duration of one
//    call (waiting while all are in use). In WAL mode they see the last committed state and
//    never wait for the writer's open transaction.
//  - close() refuses new work, lets the writer commit everything already accepted, waits for
//    reads in progress and closes every connection, readers first.
class SqliteStore final : public Store {
 public:
  // Opens or creates the database at `path` (absolute; its directory must exist), applies
  // migrations, opens the read connections and starts the writer.
  static Result<std::unique_ptr<Store>> open(const StoreOptions& options, const std::string& path);

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Result<Camera> create_camera(Camera camera) override;
  Result<Camera> get_camera(const std::string& id) override;
  Result<Page<Camera>> list_cameras(const PageRequest& page) override;
  Result<Camera> update_camera(Camera camera, std::optional<std::int64_t> expected_version) override;
  Status delete_camera(const std::string& id, std::optional<std::int64_t> expected_version) override;
  Result<Camera> upsert_camera(Camera camera) override;
  std::uint64_t cameras_revision() const override;

  Status save_events(std::vector<EventRecord> events) override;
  Result<EventRecord> get_event(const std::string& id) override;
  Result<Page<EventRecord>> list_events(const EventQuery& query) override;
  Result<EventRecord> review_event(const std::string& id, const EventReview& review) override;
  Result<EventRecord> delete_event(const std::string& id) override;
  Status save_detections(std::vector<DetectionRecord> detections) override;
  Result<Page<DetectionRecord>> list_detections(const std::string& event_id, const PageRequest& page) override;

  Status add_counts(std::vector<CountDelta> deltas) override;
  Result<Page<CountRow>> query_counts(const CountQuery& query) override;
  Result<Page<CountRow>> query_count_series(const CountSeriesQuery& query) override;
  Result<RollupStats> rollup_counts(UnixMillis now) override;
  Result<PurgeStats> purge_analytics_before(UnixMillis t) override;

  Result<UserRecord> create_user(UserRecord user) override;
  Result<UserRecord> get_user(const std::string& id) override;
  Result<UserRecord> get_user_by_username(const std::string& username) override;
  Result<Page<UserRecord>> list_users(const PageRequest& page) override;
  Result<std::int64_t> count_users() override;
  Result<UserRecord> update_user(UserRecord user, const UserWriteOptions& options) override;
  Status delete_user(const std::string& id, const UserWriteOptions& options) override;
  Status record_user_login(const std::string& id, UnixMillis at) override;

  Status create_refresh_token(RefreshTokenRecord token) override;
  Result<RefreshTokenRecord> get_refresh_token_by_hash(const std::string& token_hash) override;
  Result<bool> rotate_refresh_token(const std::string& used_id, UnixMillis used_at,
                                    RefreshTokenRecord replacement) override;
  Result<std::int64_t> revoke_refresh_family(const std::string& family_id, UnixMillis at) override;
  Result<std::int64_t> revoke_user_refresh_tokens(const std::string& user_id, UnixMillis at) override;
  Result<std::int64_t> delete_refresh_tokens_expired_before(UnixMillis t) override;

  Status create_api_key(ApiKeyRecord key) override;
  Result<ApiKeyRecord> get_api_key(const std::string& id) override;
  Result<Page<ApiKeyRecord>> list_api_keys(const std::string& user_id, const PageRequest& page) override;
  Status revoke_api_key(const std::string& id, UnixMillis at) override;
  Status touch_api_key(const std::string& id, UnixMillis at) override;

  Result<std::int64_t> append_audit(AuditRecord record) override;
  Result<Page<AuditRecord>> list_audit(const AuditQuery& query) override;
  Result<std::int64_t> delete_audit_before(UnixMillis t) override;

  Result<JobRecord> create_job(JobRecord job) override;
  Result<JobRecord> get_job(const std::string& id) override;
  Result<Page<JobRecord>> list_jobs(const JobQuery& query) override;
  Result<JobRecord> update_job(JobRecord job) override;
  Result<std::vector<JobRecord>> list_unfinished_jobs() override;
  Result<std::int64_t> delete_jobs_finished_before(UnixMillis t) override;
  Result<MaintenanceReport> maintenance() override;
  // --- alerts (sqlite_store_alerts.cpp) ---
  Result<AlertRuleRecord> create_alert_rule(AlertRuleRecord rule) override;
  Result<AlertRuleRecord> get_alert_rule(const std::string& id) override;
  Result<Page<AlertRuleRecord>> list_alert_rules(const PageRequest& page) override;
  Result<AlertRuleRecord> update_alert_rule(AlertRuleRecord rule) override;
  Status delete_alert_rule(const std::string& id) override;
  Result<AlertRecord> save_alert(AlertRecord alert) override;
  Result<AlertRecord> get_alert(const std::string& id) override;
  Result<Page<AlertRecord>> list_alerts(const AlertQuery& query) override;
  Result<AlertRecord> acknowledge_alert(const std::string& id, UnixMillis at, const std::string& by) override;
  Result<std::int64_t> delete_alerts_resolved_before(UnixMillis t) override;

  // Notifications (sqlite_store_notify.cpp).
  Result<NotificationChannelRecord> create_channel(NotificationChannelRecord channel) override;
  Result<NotificationChannelRecord> get_channel(const std::string& id) override;
  Result<Page<NotificationChannelRecord>> list_channels(const PageRequest& page) override;
  Result<NotificationChannelRecord> update_channel(NotificationChannelRecord channel,
                                                   std::optional<std::int64_t> expected_version) override;
  Status delete_channel(const std::string& id) override;
  Result<std::vector<std::int64_t>> add_dead_letters(std::vector<DeadLetterRecord> letters) override;
  Result<DeadLetterRecord> get_dead_letter(std::int64_t id) override;
  Result<Page<DeadLetterRecord>> list_dead_letters(const DeadLetterQuery& query) override;
  Status delete_dead_letter(std::int64_t id) override;
  Result<std::int64_t> delete_dead_letters(const DeadLetterFilter& filter) override;
  Result<std::int64_t> count_dead_letters(const DeadLetterFilter& filter) override;

  Status check_health() override;
  // ResourceExhausted if the write queue is full (the barrier could not be queued).
  Status flush() override;
  void close() override;
  StoreStats stats() override;

 private:
  struct WriteOutcome {
    Status status;
    std::optional<Camera> camera;  // the camera as stored, when the op returns one
    int camera_changes = 0;        // committed changes to the cameras table
    std::int64_t rows = 0;         // rows the op changed, for ops that report it
  };
  // Runs on the writer thread inside the batch's transaction and the op's own savepoint.
  // A non-ok status rolls back just this op.
  using ApplyFn = std::function<WriteOutcome(sqlite3* db)>;
  struct WriteOp {
    ApplyFn apply;  // empty for a flush barrier
    std::promise<WriteOutcome> done;
    // Runs alone, outside any transaction (VACUUM cannot run inside one), after the
    // writes queued before it have committed.
    bool outside_transaction = false;
  };

  SqliteStore(const StoreOptions& options, std::string path, int schema_version, sqlite::Connection writer,
              std::vector<sqlite::Connection> readers);

  // Queues `apply` and waits for its committed outcome.
  WriteOutcome submit(ApplyFn apply, bool outside_transaction = false);
  // submit() for a write that reports only a status and a row count.
  Result<std::int64_t> submit_rows(ApplyFn apply);
  // Writer thread: runs an outside_transaction op on its own.
  WriteOutcome run_alone(WriteOp& op);
  static Result<Camera> camera_result(WriteOutcome&& out);

  // Runs `f(sqlite3*)` on a checked-out read connection.
  template <typename F>
  auto with_reader(F&& f) -> decltype(f(static_cast<sqlite3*>(nullptr)));
  void release_reader(sqlite::Connection db);

  // Writer thread.
  void writer_loop();
  std::vector<WriteOutcome> run_batch(std::vector<WriteOp>& batch);
  // Runs one op in a savepoint, filling `out`. A non-ok return means the batch's
  // transaction can no longer commit.
  Status run_in_savepoint(sqlite3* db, WriteOp& op, WriteOutcome& out);
  WriteOutcome apply_create(sqlite3* db, const store_internal::EncodedCamera& enc);
  WriteOutcome apply_update(sqlite3* db, const store_internal::EncodedCamera& enc,
                            std::optional<std::int64_t> expected_version);
  WriteOutcome apply_delete(sqlite3* db, const std::string& id, std::optional<std::int64_t> expected_version);
  WriteOutcome apply_upsert(sqlite3* db, const store_internal::EncodedCamera& enc);
  // `encoded[i]` holds the JSON columns of `events[i]`.
  WriteOutcome apply_save_events(sqlite3* db, const std::vector<EventRecord>& events,
                                 const std::vector<store_internal::EncodedEvent>& encoded);
  WriteOutcome apply_add_counts(sqlite3* db, const std::vector<CountDelta>& deltas);
  // After a conditional write matched no row: NotFound or FailedPrecondition.
  Status missing_or_modified(sqlite3* db, const std::string& id, std::optional<std::int64_t> expected_version);

  void refresh_queue_depth();

  // Constant after construction.
  const std::string path_;
  const Clock* const clock_;
  const int schema_version_;
  const std::size_t batch_max_;
  metrics::Histogram* batch_size_metric_ = nullptr;  // null without a registry
  metrics::Histogram* commit_seconds_metric_ = nullptr;
  metrics::Counter* writes_metric_ = nullptr;
  metrics::Gauge* queue_depth_metric_ = nullptr;

  BoundedQueue<WriteOp> queue_;
  // Used only by the writer thread while it runs, then by close().
  sqlite::Connection write_db_;
  std::thread writer_;
  std::atomic<bool> writer_running_{false};

  std::atomic<std::uint64_t> revision_{0};
  std::atomic<std::uint64_t> batches_committed_{0};
  std::atomic<std::uint64_t> writes_committed_{0};

  std::mutex health_mu_;
  Status last_batch_error_;  // guarded by health_mu_; ok once a batch commits again

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<sqlite::Connection> idle_readers_;  // guarded by readers_mu_
  int readers_out_ = 0;                           // guarded by readers_mu_
  bool readers_closed_ = false;                   // guarded by readers_mu_

  std::mutex close_mu_;  // held for the whole of close()
  std::atomic<bool> closed_{false};
};

}  // namespace argus
