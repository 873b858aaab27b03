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

struct StoreStats {
  std::string kind;  // "sqlite"
  int schema_version = 0;
  std::int64_t size_bytes = 0;  // database files on disk
  std::size_t pending_writes = 0;
  std::uint64_t batches_committed = 0;
  std::uint64_t writes_committed = 0;
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
  // Newest first (start_time descending, then id descending), filtered by the query.
  virtual Result<Page<EventRecord>> list_events(const EventQuery& query) = 0;

  // --- counts (per camera, zone and line, per minute) ---
  // Adds each delta to its row (camera, scope, name, label, bucket): seen, in and out are
  // summed, peak takes the maximum. One transaction.
  virtual Status add_counts(std::vector<CountDelta> deltas) = 0;
  // Rows ordered by bucket, scope, name, label; paged with query.after/limit.
  virtual Result<Page<CountRow>> query_counts(const CountQuery& query) = 0;

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
