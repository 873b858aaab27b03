// Tests of the SQLite Store against real database files in a temporary directory.
#include "store/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <limits>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "metrics/metrics.h"
#include "store/sqlite_migrations.h"
#include "testing/testing.h"

namespace argus {
namespace {

using namespace std::chrono_literals;

// A plain sqlite3 connection for poking at the file behind the store's back.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    EXPECT_EQ(rc, SQLITE_OK) << sqlite3_errstr(rc);
    sqlite3_busy_timeout(db_, 10'000);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (err != nullptr ? err : "");
    sqlite3_free(err);
  }
  std::string query_text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      if (text != nullptr) out = reinterpret_cast<const char*>(text);
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

// Polls for a state that is only observable by polling; false after `timeout`.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 30s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

Camera simple_camera(const std::string& id) {
  Camera c;
  c.id = id;
  c.name = "Camera " + id;
  c.source = {SourceKind::kStream, "rtsp://cam-" + id + ".local:554/stream", 1000};
  return c;
}

// Every field set to a non-default value.
Camera full_camera(const std::string& id) {
  Camera c;
  c.id = id;
  c.name = "Front door (" + id + ")";
  c.source = {SourceKind::kSnapshot, "http://admin:s3cret@10.0.0.5:8080/snap.jpg", 2500};
  c.enabled = false;
  c.detection = {7.5, {"person", "car"}, 0.65};
  c.zones = {{"entrance", {{0.1, 0.1}, {0.5, 0.1}, {0.5, 0.6}, {0.1, 0.6}}},
             {"street", {{0.6, 0.2}, {0.9, 0.3}, {0.7, 0.9}}}};
  c.lines = {{"door", {0.2, 0.8}, {0.8, 0.8}, LineSide::kRight}, {"gate", {0.1, 0.1}, {0.1, 0.9}, LineSide::kLeft}};
  return c;
}

class StoreTest : public ::testing::Test {
 protected:
  std::string db_path() const { return dir_.file("data/argus.db"); }

  StoreOptions options() const {
    StoreOptions o;
    o.config.url = "sqlite://" + db_path();
    o.clock = &clock_;
    return o;
  }

  std::unique_ptr<Store> open(const StoreOptions& o) {
    Result<std::unique_ptr<Store>> r = open_store(o);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? std::move(r).value() : nullptr;
  }
  std::unique_ptr<Store> open() { return open(options()); }

  std::vector<std::string> all_ids(Store& store) {
    Result<Page<Camera>> page = store.list_cameras({"", 100000});
    EXPECT_TRUE(page.ok()) << page.status().to_string();
    std::vector<std::string> ids;
    if (page.ok()) {
      for (const Camera& c : page->items) ids.push_back(c.id);
    }
    return ids;
  }

  argus::testing::TempDir dir_;
  argus::testing::ManualClock clock_;
};

TEST_F(StoreTest, CreateGetListUpdateDeleteRoundTripKeepsEveryField) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  Camera input = full_camera("front-door");

  Result<Camera> created = store->create_camera(input);
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  Camera expected = input;
  expected.created_at = clock_.now_ms();
  expected.updated_at = clock_.now_ms();
  expected.version = 1;
  EXPECT_EQ(*created, expected);

  Result<Camera> got = store->get_camera("front-door");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(*got, expected);
  EXPECT_EQ(got->source.url, "http://admin:s3cret@10.0.0.5:8080/snap.jpg") << "stored unmasked";

  Result<Page<Camera>> page = store->list_cameras({});
  ASSERT_TRUE(page.ok()) << page.status().to_string();
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0], expected);
  EXPECT_FALSE(page->next_after.has_value());

  UnixMillis created_at = clock_.now_ms();
  clock_.advance(5'000);
  Camera changed = *got;
  changed.name = "Renamed";
  changed.zones.pop_back();
  changed.lines[0].in_side = LineSide::kLeft;
  changed.detection.labels = {"truck"};
  Result<Camera> updated = store->update_camera(changed, 1);
  ASSERT_TRUE(updated.ok()) << updated.status().to_string();
  EXPECT_EQ(updated->created_at, created_at);
  EXPECT_EQ(updated->updated_at, clock_.now_ms());
  EXPECT_EQ(updated->version, 2);
  EXPECT_EQ(updated->name, "Renamed");
  Result<Camera> reread = store->get_camera("front-door");
  ASSERT_TRUE(reread.ok());
  EXPECT_EQ(*reread, *updated);
  EXPECT_EQ(reread->zones.size(), 1u);
  EXPECT_EQ(reread->lines[0].in_side, LineSide::kLeft);

  EXPECT_TRUE(store->delete_camera("front-door", std::nullopt).ok());
  Result<Camera> gone = store->get_camera("front-door");
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(gone.status().message(), "camera 'front-door' does not exist");
  EXPECT_EQ(store->delete_camera("front-door", std::nullopt).code(), StatusCode::kNotFound);
  EXPECT_EQ(store->update_camera(changed, std::nullopt).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->update_camera(changed, 2).status().code(), StatusCode::kNotFound);
}

TEST_F(StoreTest, DuplicateCreateIsAlreadyExistsAndKeepsTheOriginal) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_camera(simple_camera("cam-1")).ok());
  Camera other = full_camera("cam-1");
  Result<Camera> dup = store->create_camera(other);
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(dup.status().message().find("cam-1"), std::string::npos);
  Result<Camera> got = store->get_camera("cam-1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "Camera cam-1");
  EXPECT_EQ(got->version, 1);
}

TEST_F(StoreTest, InvalidCameraIsRejectedAndNotStored) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  Camera bad = simple_camera("Not A Slug");
  Result<Camera> r = store->create_camera(bad);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("/id"), std::string::npos) << r.status().message();
  Camera bad_zone = simple_camera("ok-id");
  bad_zone.zones = {{"z", {{0, 0}, {2, 2}, {0, 1}}}};
  EXPECT_EQ(store->create_camera(bad_zone).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->upsert_camera(bad_zone).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(all_ids(*store).empty());
}

TEST_F(StoreTest, ListPagesByIdWithKeysetCursor) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  std::vector<std::string> ids = {"g", "c", "a", "f", "b", "e", "d"};
  for (const auto& id : ids) ASSERT_TRUE(store->create_camera(simple_camera(id)).ok());

  std::vector<std::size_t> sizes;
  std::vector<std::string> seen;
  PageRequest request{"", 3};
  for (int guard = 0; guard < 10; ++guard) {
    Result<Page<Camera>> page = store->list_cameras(request);
    ASSERT_TRUE(page.ok()) << page.status().to_string();
    sizes.push_back(page->items.size());
    for (const Camera& c : page->items) seen.push_back(c.id);
    if (!page->next_after) break;
    EXPECT_EQ(*page->next_after, page->items.back().id);
    request.after = *page->next_after;
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{3, 3, 1}));
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g"}));

  // A page that ends exactly at the last item says so.
  Result<Page<Camera>> exact = store->list_cameras({"a", 6});
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->items.size(), 6u);
  EXPECT_FALSE(exact->next_after.has_value());
  Result<Page<Camera>> past_end = store->list_cameras({"g", 3});
  ASSERT_TRUE(past_end.ok());
  EXPECT_TRUE(past_end->items.empty());
  EXPECT_FALSE(past_end->next_after.has_value());
  Result<Page<Camera>> huge = store->list_cameras({"", static_cast<std::size_t>(-1)});
  ASSERT_TRUE(huge.ok()) << huge.status().to_string();
  EXPECT_EQ(huge->items.size(), 7u);
  EXPECT_EQ(store->list_cameras({"", 0}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, WrongExpectedVersionIsFailedPreconditionAndChangesNothing) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  Result<Camera> created = store->create_camera(simple_camera("cam"));
  ASSERT_TRUE(created.ok());
  std::uint64_t revision = store->cameras_revision();

  Camera changed = *created;
  changed.name = "changed";
  Result<Camera> update = store->update_camera(changed, 7);
  EXPECT_EQ(update.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(update.status().message().find("camera 'cam' was modified (version 1)"), std::string::npos)
      << update.status().message();
  Status del = store->delete_camera("cam", 2);
  EXPECT_EQ(del.code(), StatusCode::kFailedPrecondition);

  Result<Camera> got = store->get_camera("cam");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, *created);
  EXPECT_EQ(store->cameras_revision(), revision);

  Result<Camera> ok_update = store->update_camera(changed, 1);
  ASSERT_TRUE(ok_update.ok()) << ok_update.status().to_string();
  EXPECT_EQ(ok_update->version, 2);
  EXPECT_EQ(store->delete_camera("cam", 1).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store->delete_camera("cam", 2).ok());
  EXPECT_TRUE(all_ids(*store).empty());
}

TEST_F(StoreTest, UpsertCreatesLeavesUnchangedAndReplacesChanged) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  Camera declared = full_camera("yard");

  Result<Camera> first = store->upsert_camera(declared);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ(first->version, 1);
  EXPECT_EQ(first->created_at, clock_.now_ms());
  UnixMillis created_at = first->created_at;
  std::uint64_t revision = store->cameras_revision();

  clock_.advance(1'000);
  Result<Camera> same = store->upsert_camera(declared);
  ASSERT_TRUE(same.ok()) << same.status().to_string();
  EXPECT_EQ(*same, *first) << "identical configuration: no version bump, no new timestamp";
  EXPECT_EQ(store->cameras_revision(), revision);

  clock_.advance(1'000);
  declared.detection.min_score = 0.9;
  Result<Camera> changed = store->upsert_camera(declared);
  ASSERT_TRUE(changed.ok()) << changed.status().to_string();
  EXPECT_EQ(changed->version, 2);
  EXPECT_EQ(changed->created_at, created_at);
  EXPECT_EQ(changed->updated_at, clock_.now_ms());
  EXPECT_DOUBLE_EQ(changed->detection.min_score, 0.9);
  EXPECT_GT(store->cameras_revision(), revision);
  Result<Camera> got = store->get_camera("yard");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, *changed);
}

TEST_F(StoreTest, DataSurvivesCloseAndReopen) {
  Camera created;
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    Result<Camera> r = store->create_camera(full_camera("kept"));
    ASSERT_TRUE(r.ok());
    created = *r;
    store->close();
  }
  EXPECT_FALSE(std::filesystem::exists(db_path() + "-wal")) << "closing checkpoints the WAL";
  auto store = open();
  ASSERT_NE(store, nullptr);
  Result<Camera> got = store->get_camera("kept");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(*got, created);
  StoreStats stats = store->stats();
  EXPECT_EQ(stats.kind, "sqlite");
  EXPECT_EQ(stats.schema_version, sqlite::latest_schema_version());
  EXPECT_GT(stats.size_bytes, 0);
  EXPECT_EQ(stats.pending_writes, 0u);
}

TEST_F(StoreTest, OpenUsesWalAndCreatesTheParentDirectory) {
  StoreOptions o = options();
  std::string nested = dir_.file("a/b/c/argus.db");
  o.config.url = "sqlite://" + nested;
  auto store = open(o);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(std::filesystem::exists(nested));
  RawDb raw(nested);
  EXPECT_EQ(raw.query_text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.query_text("PRAGMA user_version"), std::to_string(sqlite::latest_schema_version()));
}

TEST_F(StoreTest, EverySynchronousModeOpensAndWrites) {
  for (SqliteSync mode : {SqliteSync::kOff, SqliteSync::kNormal, SqliteSync::kFull}) {
    SCOPED_TRACE(std::string(sqlite_sync_name(mode)));
    StoreOptions o = options();
    o.config.synchronous = mode;
    auto store = open(o);
    ASSERT_NE(store, nullptr);
    std::string id = "cam-" + std::string(sqlite_sync_name(mode));
    ASSERT_TRUE(store->create_camera(simple_camera(id)).ok());
    store->close();
    auto reopened = open(o);
    ASSERT_NE(reopened, nullptr);
    EXPECT_TRUE(reopened->get_camera(id).ok());
  }
}

TEST_F(StoreTest, NewerSchemaIsRefusedWithoutTouchingTheFile) {
  std::filesystem::create_directories(dir_.file("data"));
  {
    RawDb raw(db_path());
    raw.exec("CREATE TABLE future (x INTEGER); PRAGMA user_version = 999;");
  }
  Result<std::unique_ptr<Store>> r = open_store(options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("schema version 999"), std::string::npos) << m;
  EXPECT_NE(m.find("only knows up to " + std::to_string(sqlite::latest_schema_version())), std::string::npos) << m;
  EXPECT_NE(m.find(db_path()), std::string::npos) << m;
  EXPECT_NE(m.find("upgrade argus"), std::string::npos) << m;
  RawDb raw(db_path());
  EXPECT_EQ(raw.query_text("PRAGMA user_version"), "999");
  EXPECT_EQ(raw.query_text("PRAGMA journal_mode"), "delete") << "refused before switching to WAL";
}

TEST_F(StoreTest, FileThatIsNotADatabaseIsRefusedCleanly) {
  std::string junk;
  for (int i = 0; i < 200; ++i) junk += "this is not a database, just some text\n";
  argus::testing::write_file(db_path(), junk);
  Result<std::unique_ptr<Store>> r = open_store(options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find(db_path()), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("not a database"), std::string::npos) << r.status().message();
  EXPECT_EQ(argus::testing::read_file(db_path()), junk) << "the file is left as it was";
}

TEST_F(StoreTest, UnsupportedOrMalformedUrlIsInvalidArgument) {
  StoreOptions o = options();
  o.config.url = "postgresql://argus:hunter2@db.local/argus";
  Result<std::unique_ptr<Store>> r = open_store(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("'postgresql'"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("sqlite://"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find("hunter2"), std::string::npos) << "password leaked";

  for (std::string url : {"", "argus.db", "sqlite://", "sqlite://:memory:"}) {
    o.config.url = url;
    EXPECT_EQ(open_store(o).status().code(), StatusCode::kInvalidArgument) << url;
  }
}

TEST_F(StoreTest, ConcurrentCreatesAllSucceedAndAreBatched) {
  StoreOptions o = options();
  // Small batches bound what the writer can hold while blocked, so others must queue.
  o.config.write_batch_max = 4;
  o.config.busy_timeout_ms = 60'000;
  auto store = open(o);
  ASSERT_NE(store, nullptr);
  std::uint64_t revision = store->cameras_revision();

  // Block the writer behind another connection's write lock until at least two writes
  // wait in the queue at once: the writer's next batch then holds both.
  RawDb lock(db_path());
  lock.exec("BEGIN IMMEDIATE");
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Result<Camera> r = store->create_camera(simple_camera("t" + std::to_string(t) + "-" + std::to_string(i)));
        if (!r.ok()) {
          ++failures;
          ADD_FAILURE() << r.status().to_string();
        }
      }
    });
  }
  bool queued = wait_until([&] { return store->stats().pending_writes >= 2; });
  lock.exec("ROLLBACK");
  for (auto& th : threads) th.join();
  ASSERT_TRUE(queued);

  EXPECT_EQ(failures.load(), 0);
  std::vector<std::string> ids = all_ids(*store);
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  StoreStats stats = store->stats();
  EXPECT_EQ(stats.writes_committed, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_LT(stats.batches_committed, stats.writes_committed);
  EXPECT_EQ(store->cameras_revision() - revision, static_cast<std::uint64_t>(kThreads * kPerThread));
}

TEST_F(StoreTest, FailingWritesDoNotAffectTheirBatchMates) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_camera(simple_camera("taken")).ok());
  constexpr int kThreads = 6;
  constexpr int kPerThread = 20;
  std::atomic<int> unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Status dup = store->create_camera(simple_camera("taken")).status();
        if (dup.code() != StatusCode::kAlreadyExists) ++unexpected;
        if (!store->create_camera(simple_camera("c" + std::to_string(t) + "-" + std::to_string(i))).ok()) {
          ++unexpected;
        }
        Status stale = store->delete_camera("taken", 99);
        if (stale.code() != StatusCode::kFailedPrecondition) ++unexpected;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_EQ(all_ids(*store).size(), static_cast<std::size_t>(kThreads * kPerThread + 1));
  Result<Camera> taken = store->get_camera("taken");
  ASSERT_TRUE(taken.ok());
  EXPECT_EQ(taken->version, 1);
}

TEST_F(StoreTest, ReadsDoNotWaitForAnOpenWriteTransaction) {
  StoreOptions o = options();
  o.config.busy_timeout_ms = 0;  // a read that needed a lock would fail at once
  auto store = open(o);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_camera(simple_camera("visible")).ok());

  RawDb writer(db_path());
  writer.exec("BEGIN IMMEDIATE");
  writer.exec(
      "INSERT INTO cameras (id, doc, created_at, updated_at, version) "
      "SELECT 'uncommitted', doc, 0, 0, 1 FROM cameras WHERE id = 'visible'");

  Result<Camera> got = store->get_camera("visible");
  EXPECT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(store->get_camera("uncommitted").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(all_ids(*store), std::vector<std::string>{"visible"});
  EXPECT_TRUE(store->check_health().ok());
  writer.exec("ROLLBACK");
}

TEST_F(StoreTest, FullWriteQueueIsResourceExhausted) {
  StoreOptions o = options();
  o.config.write_queue = 1;
  o.config.write_batch_max = 1;
  o.config.busy_timeout_ms = 60'000;
  auto store = open(o);
  ASSERT_NE(store, nullptr);

  RawDb lock(db_path());
  lock.exec("BEGIN IMMEDIATE");
  // While the writer is blocked it holds at most one write and the queue one more; every
  // other caller must be refused at once.
  constexpr int kThreads = 8;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Status> results;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Status s = store->create_camera(simple_camera("q" + std::to_string(t))).status();
      std::lock_guard l(mu);
      results.push_back(s);
      cv.notify_all();
    });
  }
  {
    std::unique_lock l(mu);
    bool refused = cv.wait_for(l, 30s, [&] { return results.size() >= static_cast<std::size_t>(kThreads - 2); });
    EXPECT_TRUE(refused);
    for (const Status& s : results) {
      EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.to_string();
      EXPECT_EQ(s.message(), "store write queue is full (1 pending writes); the disk may be too slow");
    }
  }
  lock.exec("ROLLBACK");
  for (auto& th : threads) th.join();

  int ok = 0;
  int exhausted = 0;
  for (const Status& s : results) {
    if (s.ok()) ++ok;
    if (s.code() == StatusCode::kResourceExhausted) ++exhausted;
  }
  EXPECT_EQ(ok + exhausted, kThreads);
  EXPECT_GE(ok, 1);
  EXPECT_LE(ok, 2);
  EXPECT_EQ(all_ids(*store).size(), static_cast<std::size_t>(ok));
}

TEST_F(StoreTest, CloseCommitsAcceptedWritesThenEverythingIsUnavailable) {
  StoreOptions o = options();
  o.config.busy_timeout_ms = 60'000;
  o.config.write_batch_max = 1;  // the blocked writer holds one write; the rest must queue
  auto store = open(o);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_camera(simple_camera("before")).ok());

  RawDb lock(db_path());
  lock.exec("BEGIN IMMEDIATE");
  constexpr int kThreads = 4;
  std::vector<Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      results[static_cast<std::size_t>(t)] = store->create_camera(simple_camera("w" + std::to_string(t))).status();
    });
  }
  // A queued write has been accepted; close() must commit it.
  bool queued = wait_until([&] { return store->stats().pending_writes >= 1; });
  std::thread closer([&] { store->close(); });
  bool closing = wait_until([&] { return store->check_health().code() == StatusCode::kUnavailable; });
  lock.exec("ROLLBACK");
  closer.join();
  for (auto& th : threads) th.join();
  ASSERT_TRUE(queued);
  ASSERT_TRUE(closing);

  std::set<std::string> committed{"before"};
  for (int t = 0; t < kThreads; ++t) {
    const Status& s = results[static_cast<std::size_t>(t)];
    EXPECT_TRUE(s.ok() || s.code() == StatusCode::kUnavailable) << s.to_string();
    if (s.ok()) committed.insert("w" + std::to_string(t));
  }
  EXPECT_GE(committed.size(), 2u);

  Status closed = Status::unavailable("store is closed");
  Camera cam = simple_camera("after");
  EXPECT_EQ(store->create_camera(cam).status().to_string(), closed.to_string());
  EXPECT_EQ(store->get_camera("before").status().to_string(), closed.to_string());
  EXPECT_EQ(store->list_cameras({}).status().to_string(), closed.to_string());
  EXPECT_EQ(store->update_camera(cam, std::nullopt).status().to_string(), closed.to_string());
  EXPECT_EQ(store->delete_camera("before", std::nullopt).to_string(), closed.to_string());
  EXPECT_EQ(store->upsert_camera(cam).status().to_string(), closed.to_string());
  EXPECT_EQ(store->flush().to_string(), closed.to_string());
  EXPECT_EQ(store->check_health().to_string(), closed.to_string());
  EventRecord event;
  event.id = "e";
  event.camera_id = "before";
  event.label = "person";
  EXPECT_EQ(store->save_events({event}).to_string(), closed.to_string());
  EXPECT_EQ(store->save_events({}).to_string(), closed.to_string());
  EXPECT_EQ(store->get_event("e").status().to_string(), closed.to_string());
  EXPECT_EQ(store->list_events({}).status().to_string(), closed.to_string());
  EXPECT_EQ(store->add_counts({{"before", "camera", "", "person", 0, 1, 0, 0, 1}}).to_string(), closed.to_string());
  EXPECT_EQ(store->query_counts({.camera = "before"}).status().to_string(), closed.to_string());
  store->close();  // idempotent
  EXPECT_EQ(store->stats().kind, "sqlite");
  store.reset();

  auto reopened = open(o);
  ASSERT_NE(reopened, nullptr);
  std::vector<std::string> ids = all_ids(*reopened);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), committed);
}

TEST_F(StoreTest, CorruptStoredDocumentIsCorruption) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_camera(simple_camera("broken")).ok());
  ASSERT_TRUE(store->create_camera(simple_camera("invalid")).ok());
  {
    RawDb raw(db_path());
    raw.exec("UPDATE cameras SET doc = '{not json' WHERE id = 'broken'");
    raw.exec("UPDATE cameras SET doc = '{\"id\": \"invalid\"}' WHERE id = 'invalid'");
  }
  Result<Camera> broken = store->get_camera("broken");
  EXPECT_EQ(broken.status().code(), StatusCode::kCorruption);
  EXPECT_NE(broken.status().message().find("'broken'"), std::string::npos) << broken.status().message();
  Result<Camera> invalid = store->get_camera("invalid");
  EXPECT_EQ(invalid.status().code(), StatusCode::kCorruption);
  EXPECT_NE(invalid.status().message().find("'invalid'"), std::string::npos) << invalid.status().message();
  EXPECT_NE(invalid.status().message().find("/source"), std::string::npos) << invalid.status().message();
  EXPECT_EQ(store->list_cameras({}).status().code(), StatusCode::kCorruption);

  // Declaring the camera again repairs it.
  Result<Camera> repaired = store->upsert_camera(simple_camera("broken"));
  ASSERT_TRUE(repaired.ok()) << repaired.status().to_string();
  EXPECT_EQ(repaired->version, 2);
  EXPECT_TRUE(store->get_camera("broken").ok());
}

TEST_F(StoreTest, RevisionMovesOnCommittedChangesOnly) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  std::uint64_t r0 = store->cameras_revision();
  Result<Camera> created = store->create_camera(simple_camera("a"));
  ASSERT_TRUE(created.ok());
  std::uint64_t r1 = store->cameras_revision();
  EXPECT_GT(r1, r0);

  EXPECT_TRUE(store->get_camera("a").ok());
  EXPECT_TRUE(store->list_cameras({}).ok());
  EXPECT_FALSE(store->create_camera(simple_camera("a")).ok());
  EXPECT_FALSE(store->update_camera(*created, 42).ok());
  EXPECT_FALSE(store->delete_camera("missing", std::nullopt).ok());
  EXPECT_TRUE(store->upsert_camera(simple_camera("a")).ok());
  EXPECT_TRUE(store->flush().ok());
  EXPECT_EQ(store->cameras_revision(), r1);

  ASSERT_TRUE(store->update_camera(*created, 1).ok());
  std::uint64_t r2 = store->cameras_revision();
  EXPECT_GT(r2, r1);
  ASSERT_TRUE(store->delete_camera("a", std::nullopt).ok());
  EXPECT_GT(store->cameras_revision(), r2);
}

TEST_F(StoreTest, HealthStatsAndFlush) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->check_health().ok());
  EXPECT_TRUE(store->flush().ok());
  StoreStats before = store->stats();
  EXPECT_EQ(before.writes_committed, 0u);
  EXPECT_EQ(before.batches_committed, 0u) << "a flush alone commits nothing";
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store->create_camera(simple_camera("c" + std::to_string(i))).ok());
  EXPECT_TRUE(store->flush().ok());
  StoreStats after = store->stats();
  EXPECT_EQ(after.kind, "sqlite");
  EXPECT_EQ(after.schema_version, sqlite::latest_schema_version());
  EXPECT_EQ(after.writes_committed, 3u);
  EXPECT_EQ(after.batches_committed, 3u);
  EXPECT_EQ(after.pending_writes, 0u);
  EXPECT_GT(after.size_bytes, 0);
}

TEST_F(StoreTest, ExportsMetrics) {
  metrics::Registry registry;
  StoreOptions o = options();
  o.metrics = &registry;
  auto store = open(o);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store->create_camera(simple_camera("m" + std::to_string(i))).ok());
  EXPECT_FALSE(store->create_camera(simple_camera("m0")).ok());

  EXPECT_DOUBLE_EQ(registry.counter("argus_store_writes_total", "").value(), 3.0);
  EXPECT_DOUBLE_EQ(registry.gauge("argus_store_write_queue_depth", "").value(), 0.0);
  metrics::Histogram::Snapshot batches =
      registry.histogram("argus_store_write_batch_size", "", {1, 2, 5, 10, 20, 50, 100, 200, 500}).snapshot();
  EXPECT_EQ(batches.count, 4u);
  EXPECT_DOUBLE_EQ(batches.sum, 4.0);
  metrics::Histogram::Snapshot commits =
      registry.histogram("argus_store_commit_duration_seconds", "", metrics::default_seconds_buckets()).snapshot();
  EXPECT_EQ(commits.count, 4u);
  std::string text = registry.expose();
  EXPECT_NE(text.find("argus_store_writes_total 3"), std::string::npos) << text;
  EXPECT_NE(text.find("argus_store_write_batch_size_bucket"), std::string::npos) << text;
}

// ---------------------------------------------------------------------------------------
// Events

constexpr UnixMillis kT0 = 1'700'000'000'000;

// Every field set to a non-default value.
EventRecord full_event(const std::string& id, const std::string& camera = "front", const std::string& label = "person",
                       UnixMillis start = kT0) {
  EventRecord e;
  e.id = id;
  e.camera_id = camera;
  e.label = label;
  e.score = 0.8125;
  e.top_score = 0.9371234567891234;
  e.box = {0.1, 0.25, 0.3333333333333333, 0.9};
  e.zones = {"entrance", "street"};
  e.crossings = {{"door", "in", start + 1'500}, {"gate", "out", start + 4'000}};
  e.start_time = start;
  e.end_time = start + 9'000;
  e.updated_at = start + 9'500;
  e.snapshot = "snapshots/" + camera + "/" + id + ".jpg";
  e.reviewed = true;
  e.note = "delivery, see ticket #12";
  return e;
}

// Only the required fields: an event still being tracked.
EventRecord open_event(const std::string& id, const std::string& camera = "front", const std::string& label = "person",
                       UnixMillis start = kT0) {
  EventRecord e;
  e.id = id;
  e.camera_id = camera;
  e.label = label;
  e.score = 0.5;
  e.top_score = 0.5;
  e.start_time = start;
  e.updated_at = start;
  return e;
}

// Pages through list_events with `query` and returns every event id in order; fails the
// test on an error, an empty page with a next key, or a loop.
std::vector<std::string> list_all_event_ids(Store& store, EventQuery query,
                                            std::vector<std::size_t>* page_sizes = nullptr) {
  std::vector<std::string> ids;
  for (int guard = 0; guard < 1000; ++guard) {
    Result<Page<EventRecord>> page = store.list_events(query);
    EXPECT_TRUE(page.ok()) << page.status().to_string();
    if (!page.ok()) break;
    if (page_sizes != nullptr) page_sizes->push_back(page->items.size());
    for (const EventRecord& e : page->items) ids.push_back(e.id);
    if (!page->next_after) break;
    EXPECT_FALSE(page->items.empty());
    EXPECT_EQ(page->items.size(), query.limit);
    query.after = *page->next_after;
  }
  return ids;
}

TEST_F(StoreTest, EventsRoundTripWithEveryField) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  EventRecord closed_event = full_event("evt-closed", "front", "person", kT0);
  EventRecord tracked = open_event("evt-open", "yard", "car", kT0 + 1'000);
  ASSERT_TRUE(store->save_events({closed_event, tracked}).ok());

  Result<EventRecord> got = store->get_event("evt-closed");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(*got, closed_event);
  Result<EventRecord> got_open = store->get_event("evt-open");
  ASSERT_TRUE(got_open.ok()) << got_open.status().to_string();
  EXPECT_EQ(*got_open, tracked);

  Result<Page<EventRecord>> page = store->list_events({});
  ASSERT_TRUE(page.ok()) << page.status().to_string();
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0], tracked) << "newest first";
  EXPECT_EQ(page->items[1], closed_event);
  EXPECT_FALSE(page->next_after.has_value());

  Result<EventRecord> missing = store->get_event("nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "event 'nope' does not exist");

  // The documented column formats, for other readers of the file (and the Postgres twin).
  RawDb raw(db_path());
  EXPECT_EQ(raw.query_text("SELECT box FROM events WHERE id = 'evt-closed'"), "[0.1,0.25,0.3333333333333333,0.9]");
  EXPECT_EQ(raw.query_text("SELECT zones FROM events WHERE id = 'evt-closed'"), R"(["entrance","street"])");
  EXPECT_EQ(raw.query_text("SELECT crossings FROM events WHERE id = 'evt-closed'"),
            R"([{"direction":"in","line":"door","time":1700000001500},)"
            R"({"direction":"out","line":"gate","time":1700000004000}])");
  EXPECT_EQ(raw.query_text("SELECT end_time IS NULL AND snapshot IS NULL FROM events "
                           "WHERE id = 'evt-open'"),
            "1");
  EXPECT_EQ(raw.query_text("SELECT reviewed || '|' || note FROM events WHERE id = 'evt-open'"), "0|");
}

TEST_F(StoreTest, SavingAnEventAgainReplacesPipelineFieldsAndKeepsTheReview) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  EventRecord first = open_event("evt-1", "front", "person", kT0);
  first.zones = {"entrance"};
  ASSERT_TRUE(store->save_events({first}).ok());
  {
    RawDb raw(db_path());  // a person reviews the event meanwhile
    raw.exec("UPDATE events SET reviewed = 1, note = 'known visitor' WHERE id = 'evt-1'");
  }

  EventRecord later = full_event("evt-1", "back", "car", kT0 + 10);  // every field changed
  later.reviewed = false;                                            // the pipeline's copy knows nothing of the review
  later.note = "";
  EventRecord fresh = full_event("evt-2");  // a new event is stored with its review fields
  ASSERT_TRUE(store->save_events({later, fresh}).ok());

  EventRecord expected = later;
  expected.reviewed = true;
  expected.note = "known visitor";
  Result<EventRecord> got = store->get_event("evt-1");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(*got, expected);
  Result<EventRecord> got_fresh = store->get_event("evt-2");
  ASSERT_TRUE(got_fresh.ok()) << got_fresh.status().to_string();
  EXPECT_EQ(*got_fresh, fresh);

  // Closing the event again clears what the pipeline cleared.
  EventRecord reopened = open_event("evt-1", "front", "person", kT0);
  ASSERT_TRUE(store->save_events({reopened}).ok());
  expected = reopened;
  expected.reviewed = true;
  expected.note = "known visitor";
  got = store->get_event("evt-1");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(*got, expected);

  // Within one call the last copy of an id wins.
  EventRecord a = open_event("evt-3");
  EventRecord b = a;
  b.score = 0.99;
  ASSERT_TRUE(store->save_events({a, b}).ok());
  got = store->get_event("evt-3");
  ASSERT_TRUE(got.ok());
  EXPECT_DOUBLE_EQ(got->score, 0.99);
}

TEST_F(StoreTest, SaveEventsIsOneWriteAndAllOrNothing) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  std::vector<EventRecord> events;
  for (int i = 0; i < 20; ++i) events.push_back(full_event("e" + std::to_string(i)));
  StoreStats before = store->stats();
  ASSERT_TRUE(store->save_events(events).ok());
  StoreStats after = store->stats();
  EXPECT_EQ(after.writes_committed - before.writes_committed, 1u);
  EXPECT_EQ(after.batches_committed - before.batches_committed, 1u);
  EXPECT_EQ(list_all_event_ids(*store, {.limit = 1000}).size(), 20u);
  EXPECT_TRUE(store->save_events({}).ok());
  EXPECT_EQ(store->stats().writes_committed, after.writes_committed) << "nothing to write";

  // A failure in the database part-way through the batch leaves none of it behind.
  {
    RawDb raw(db_path());
    raw.exec(
        "CREATE TRIGGER refuse_boom BEFORE INSERT ON events WHEN NEW.id = 'boom' "
        "BEGIN SELECT RAISE(ABORT, 'boom refused'); END");
  }
  Status failed =
      store->save_events({open_event("new-1"), full_event("e0", "moved"), open_event("boom"), open_event("new-2")});
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("boom refused"), std::string::npos) << failed.to_string();
  EXPECT_EQ(store->get_event("new-1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->get_event("new-2").status().code(), StatusCode::kNotFound);
  Result<EventRecord> e0 = store->get_event("e0");
  ASSERT_TRUE(e0.ok());
  EXPECT_EQ(e0->camera_id, "front") << "the update in the failed batch was rolled back";
  EXPECT_TRUE(store->check_health().ok()) << "one failed write is not a failing store";
}

TEST_F(StoreTest, InvalidEventsAreRejectedBeforeAnythingIsWritten) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  struct Case {
    std::string what;
    std::function<void(EventRecord&)> spoil;
    std::string message;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<Case> cases = {
      {"empty id", [](EventRecord& e) { e.id.clear(); }, "events[1]: id is empty"},
      {"empty camera", [](EventRecord& e) { e.camera_id.clear(); }, "event 'bad': camera_id is empty"},
      {"empty label", [](EventRecord& e) { e.label.clear(); }, "event 'bad': label is empty"},
      {"NaN score", [&](EventRecord& e) { e.score = nan; }, "event 'bad': score is not a finite number"},
      {"infinite top score", [&](EventRecord& e) { e.top_score = -inf; },
       "event 'bad': top_score is not a finite number"},
      {"NaN box", [&](EventRecord& e) { e.box[2] = nan; }, "event 'bad': box has a coordinate that is not finite"},
      {"crossing direction", [](EventRecord& e) { e.crossings[1].direction = "sideways"; },
       "event 'bad': crossings[1]: direction must be \"in\" or \"out\""},
      {"crossing line", [](EventRecord& e) { e.crossings[0].line.clear(); },
       "event 'bad': crossings[0]: line is empty"},
      {"invalid UTF-8 zone", [](EventRecord& e) { e.zones.push_back("\xff\xfe"); },
       "event 'bad': a zone name is not valid UTF-8"},
      {"invalid UTF-8 note", [](EventRecord& e) { e.note = "caf\xc3"; }, "event 'bad': note is not valid UTF-8"},
      {"invalid UTF-8 id", [](EventRecord& e) { e.id = "\xc0\xaf"; }, "events[1]: id is not valid UTF-8"},
  };
  StoreStats before = store->stats();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    EventRecord bad = full_event("bad");
    c.spoil(bad);
    Status s = store->save_events({full_event("good"), bad});
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
    EXPECT_EQ(s.message(), c.message);
  }
  EXPECT_TRUE(list_all_event_ids(*store, {}).empty());
  EXPECT_EQ(store->stats().writes_committed, before.writes_committed);
}

TEST_F(StoreTest, ListEventsFiltersByCameraLabelAndTime) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store
                  ->save_events({
                      open_event("a", "front", "person", kT0 + 0),
                      open_event("b", "front", "car", kT0 + 1'000),
                      open_event("c", "yard", "person", kT0 + 2'000),
                      open_event("d", "front", "person", kT0 + 3'000),
                      open_event("e", "yard", "car", kT0 + 4'000),
                      open_event("f", "front", "person", kT0 + 5'000),
                  })
                  .ok());
  using Ids = std::vector<std::string>;
  EXPECT_EQ(list_all_event_ids(*store, {}), (Ids{"f", "e", "d", "c", "b", "a"}));
  EXPECT_EQ(list_all_event_ids(*store, {.camera = "front"}), (Ids{"f", "d", "b", "a"}));
  EXPECT_EQ(list_all_event_ids(*store, {.label = "person"}), (Ids{"f", "d", "c", "a"}));
  EXPECT_EQ(list_all_event_ids(*store, {.camera = "yard", .label = "car"}), (Ids{"e"}));
  EXPECT_EQ(list_all_event_ids(*store, {.from = kT0 + 2'000}), (Ids{"f", "e", "d", "c"}));
  EXPECT_EQ(list_all_event_ids(*store, {.to = kT0 + 2'000}), (Ids{"b", "a"}));
  EXPECT_EQ(list_all_event_ids(*store, {.from = kT0 + 1'000, .to = kT0 + 4'000}), (Ids{"d", "c", "b"}));
  EXPECT_EQ(list_all_event_ids(*store,
                               {.camera = "front", .label = "person", .from = kT0 + 1, .to = kT0 + 5'000, .limit = 1}),
            (Ids{"d"}));
  EXPECT_TRUE(list_all_event_ids(*store, {.camera = "garage"}).empty());
  EXPECT_TRUE(list_all_event_ids(*store, {.from = kT0 + 4'000, .to = kT0 + 4'000}).empty());
}

TEST_F(StoreTest, ListEventsPagesNewestFirstWithoutGapsOrDuplicates) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  // 25 events in groups sharing a start_time (so the id breaks ties), saved in a scrambled
  // order over several calls, on two cameras.
  std::vector<EventRecord> all;
  for (int i = 0; i < 25; ++i) {
    int n = (i * 7) % 25;  // a permutation of 0..24
    std::string id = "evt-" + std::string(1, static_cast<char>('a' + n % 5)) + std::to_string(n);
    all.push_back(open_event(id, n % 3 == 0 ? "yard" : "front", "person", kT0 + (n / 4) * 1'000));
  }
  for (std::size_t i = 0; i < all.size(); i += 6) {
    std::vector<EventRecord> chunk(all.begin() + static_cast<std::ptrdiff_t>(i),
                                   all.begin() + static_cast<std::ptrdiff_t>(std::min(i + 6, all.size())));
    ASSERT_TRUE(store->save_events(chunk).ok());
  }
  std::vector<EventRecord> sorted = all;
  std::sort(sorted.begin(), sorted.end(), [](const EventRecord& x, const EventRecord& y) {
    return x.start_time != y.start_time ? x.start_time > y.start_time : x.id > y.id;
  });
  std::vector<std::string> expected;
  std::vector<std::string> expected_front;
  for (const EventRecord& e : sorted) {
    expected.push_back(e.id);
    if (e.camera_id == "front") expected_front.push_back(e.id);
  }

  for (std::size_t limit : {1u, 2u, 3u, 4u, 5u, 7u, 24u, 25u, 26u}) {
    SCOPED_TRACE("limit " + std::to_string(limit));
    std::vector<std::size_t> sizes;
    EXPECT_EQ(list_all_event_ids(*store, {.limit = limit}, &sizes), expected);
    EXPECT_EQ(sizes.size(), (25 + limit - 1) / limit) << "no empty trailing page";
    EXPECT_EQ(list_all_event_ids(*store, {.camera = "front", .limit = limit}), expected_front);
  }

  // The key names the last item; an event inserted behind the cursor does not shift pages.
  Result<Page<EventRecord>> first = store->list_events({.limit = 10});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->next_after.has_value());
  EXPECT_EQ(*first->next_after, std::to_string(first->items.back().start_time) + ":" + first->items.back().id);
  ASSERT_TRUE(store->save_events({open_event("zz-newest", "front", "person", kT0 + 60'000)}).ok());
  Result<Page<EventRecord>> second = store->list_events({.after = *first->next_after, .limit = 10});
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->items.size(), 10u);
  EXPECT_EQ(second->items.front().id, expected[10]);
}

TEST_F(StoreTest, MalformedPagingKeysAreInvalidArgument) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->save_events({open_event("a")}).ok());
  for (std::string key : {"abc", "123", "123:", ":abc", "12x:abc", "1.5:abc", " 12:abc", "99999999999999999999:abc"}) {
    Result<Page<EventRecord>> r = store->list_events({.after = key});
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << key;
  }
  EXPECT_TRUE(store->list_events({.after = "-5:a"}).ok()) << "any well-formed key works";
  EXPECT_EQ(store->list_events({.limit = 0}).status().code(), StatusCode::kInvalidArgument);

  for (std::string key : {"abc", "60000", "60000:zone", "60000:zone:4", "60000:zone:4:door", "60000:room:4:door:person",
                          "60000:zone:x:door:person", "60000:zone:9:door:person", "x:zone:4:door:person"}) {
    Result<Page<CountRow>> r = store->query_counts({.camera = "front", .after = key});
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << key;
  }
  EXPECT_TRUE(store->query_counts({.camera = "front", .after = "60000:zone:4:do:r:"}).ok());
}

TEST_F(StoreTest, CorruptStoredEventColumnsAreCorruption) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->save_events({full_event("bad-box"), full_event("bad-crossings")}).ok());
  {
    RawDb raw(db_path());
    raw.exec("UPDATE events SET box = '[1, 2]' WHERE id = 'bad-box'");
    raw.exec("UPDATE events SET crossings = '{oops' WHERE id = 'bad-crossings'");
  }
  Result<EventRecord> box = store->get_event("bad-box");
  EXPECT_EQ(box.status().code(), StatusCode::kCorruption);
  EXPECT_NE(box.status().message().find("'bad-box'"), std::string::npos) << box.status().message();
  EXPECT_NE(box.status().message().find("box"), std::string::npos) << box.status().message();
  EXPECT_EQ(store->get_event("bad-crossings").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(store->list_events({}).status().code(), StatusCode::kCorruption);
  // The pipeline's next save repairs them.
  ASSERT_TRUE(store->save_events({full_event("bad-box"), full_event("bad-crossings")}).ok());
  EXPECT_TRUE(store->list_events({}).ok());
}

// ---------------------------------------------------------------------------------------
// Counts

constexpr UnixMillis kMinute = 60'000;
constexpr UnixMillis kB0 = 28'333'333 * kMinute;  // a whole minute near kT0

CountDelta delta(const std::string& camera, const std::string& scope, const std::string& name, const std::string& label,
                 UnixMillis bucket, std::int64_t seen, std::int64_t in = 0, std::int64_t out = 0,
                 std::int64_t peak = 0) {
  return {camera, scope, name, label, bucket, seen, in, out, peak};
}

std::vector<CountRow> query_all_counts(Store& store, CountQuery query, std::vector<std::size_t>* page_sizes = nullptr) {
  std::vector<CountRow> rows;
  for (int guard = 0; guard < 1000; ++guard) {
    Result<Page<CountRow>> page = store.query_counts(query);
    EXPECT_TRUE(page.ok()) << page.status().to_string();
    if (!page.ok()) break;
    if (page_sizes != nullptr) page_sizes->push_back(page->items.size());
    rows.insert(rows.end(), page->items.begin(), page->items.end());
    if (!page->next_after) break;
    EXPECT_EQ(page->items.size(), query.limit);
    query.after = *page->next_after;
  }
  return rows;
}

TEST_F(StoreTest, AddCountsSumsAndKeepsThePeakAcrossAndWithinCalls) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  StoreStats before = store->stats();
  ASSERT_TRUE(store
                  ->add_counts({delta("front", "camera", "", "person", kB0, 2, 0, 0, 3),
                                delta("front", "line", "door", "person", kB0, 0, 4, 1, 0),
                                // the same row again in the same call
                                delta("front", "camera", "", "person", kB0, 1, 0, 0, 5)})
                  .ok());
  EXPECT_EQ(store->stats().writes_committed - before.writes_committed, 1u) << "one write";
  ASSERT_TRUE(store
                  ->add_counts({delta("front", "camera", "", "person", kB0, 4, 0, 0, 2),
                                delta("front", "line", "door", "person", kB0, 0, 1, 6, 0)})
                  .ok());
  std::vector<CountRow> rows = query_all_counts(*store, {.camera = "front"});
  EXPECT_EQ(rows, (std::vector<CountRow>{
                      delta("front", "camera", "", "person", kB0, 7, 0, 0, 5),
                      delta("front", "line", "door", "person", kB0, 0, 5, 7, 0),
                  }));
  EXPECT_TRUE(store->add_counts({}).ok());
}

TEST_F(StoreTest, ConcurrentAddCountsLoseNothing) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 6;
  constexpr int kPerThread = 40;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Status s = store->add_counts({delta("front", "zone", "entrance", "person", kB0, 1, 0, 0, t * 100 + i),
                                      delta("front", "line", "door", "person", kB0, 0, 1, 2)});
        EXPECT_TRUE(s.ok()) << s.to_string();
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<CountRow> rows = query_all_counts(*store, {.camera = "front"});
  constexpr std::int64_t kTotal = kThreads * kPerThread;
  EXPECT_EQ(rows,
            (std::vector<CountRow>{
                delta("front", "line", "door", "person", kB0, 0, kTotal, 2 * kTotal),
                delta("front", "zone", "entrance", "person", kB0, kTotal, 0, 0, (kThreads - 1) * 100 + kPerThread - 1),
            }));
}

TEST_F(StoreTest, QueryCountsFiltersOrdersAndPages) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  std::vector<CountDelta> deltas;
  // Added newest minute first and in scrambled key order: the query sorts.
  for (int m = 4; m >= 0; --m) {
    UnixMillis b = kB0 + m * kMinute;
    deltas.push_back(delta("front", "zone", "street", "car", b, m + 1, 0, 0, 1));
    deltas.push_back(delta("front", "line", "door", "person", b, 0, m, 1));
    deltas.push_back(delta("front", "camera", "", "person", b, m + 2, 0, 0, 2));
    deltas.push_back(delta("front", "zone", "entrance", "person", b, m, 0, 0, 1));
    deltas.push_back(delta("front", "camera", "", "car", b, 1, 0, 0, 1));
    deltas.push_back(delta("front", "zone", "entrance", "car", b, 1, 0, 0, 1));
    deltas.push_back(delta("yard", "camera", "", "person", b, 9, 0, 0, 9));
  }
  ASSERT_TRUE(store->add_counts(deltas).ok());

  auto key = [](const CountRow& r) {
    return std::to_string((r.bucket - kB0) / kMinute) + " " + r.scope + " " + r.name + " " + r.label;
  };
  auto keys = [&](const std::vector<CountRow>& rows) {
    std::vector<std::string> out;
    for (const CountRow& r : rows) out.push_back(key(r));
    return out;
  };
  using Keys = std::vector<std::string>;

  std::vector<CountRow> everything = query_all_counts(*store, {.camera = "front"});
  ASSERT_EQ(everything.size(), 30u);
  Keys minute0 = {
      "0 camera  car",       "0 camera  person",       "0 line door person",
      "0 zone entrance car", "0 zone entrance person", "0 zone street car",
  };
  Keys all_keys = keys(everything);
  EXPECT_EQ(Keys(all_keys.begin(), all_keys.begin() + 6), minute0);
  EXPECT_TRUE(std::is_sorted(everything.begin(), everything.end(), [](const CountRow& a, const CountRow& b) {
    return std::tie(a.bucket, a.scope, a.name, a.label) < std::tie(b.bucket, b.scope, b.name, b.label);
  }));
  EXPECT_EQ(everything[1], delta("front", "camera", "", "person", kB0, 2, 0, 0, 2));

  EXPECT_EQ(keys(query_all_counts(*store, {.camera = "front", .scope = "zone", .to = kB0 + kMinute})),
            (Keys{"0 zone entrance car", "0 zone entrance person", "0 zone street car"}));
  EXPECT_EQ(keys(query_all_counts(*store,
                                  {.camera = "front", .name = "entrance", .label = "car", .from = kB0 + 3 * kMinute})),
            (Keys{"3 zone entrance car", "4 zone entrance car"}));
  EXPECT_EQ(keys(query_all_counts(
                *store, {.camera = "front", .scope = "line", .from = kB0 + kMinute, .to = kB0 + 3 * kMinute})),
            (Keys{"1 line door person", "2 line door person"}));
  EXPECT_EQ(query_all_counts(*store, {.camera = "yard"}).size(), 5u);
  EXPECT_TRUE(query_all_counts(*store, {.camera = "garage"}).empty());
  EXPECT_TRUE(query_all_counts(*store, {.camera = "front", .label = "dog"}).empty());

  for (std::size_t limit : {1u, 4u, 6u, 7u, 29u, 30u, 31u}) {
    SCOPED_TRACE("limit " + std::to_string(limit));
    std::vector<std::size_t> sizes;
    EXPECT_EQ(query_all_counts(*store, {.camera = "front", .limit = limit}, &sizes), everything);
    EXPECT_EQ(sizes.size(), (30 + limit - 1) / limit) << "no empty trailing page";
    std::vector<CountRow> persons = query_all_counts(*store, {.camera = "front", .label = "person", .limit = limit});
    EXPECT_EQ(persons.size(), 15u);
  }
  Result<Page<CountRow>> first = store->query_counts({.camera = "front", .limit = 2});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->next_after.has_value());
  EXPECT_EQ(*first->next_after, std::to_string(kB0) + ":camera:0::person");
}

TEST_F(StoreTest, InvalidCountsAreRejectedBeforeAnythingIsWritten) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  struct Case {
    CountDelta bad;
    std::string message;
  };
  std::vector<Case> cases = {
      {delta("", "camera", "", "person", kB0, 1), "counts[1]: camera_id is empty"},
      {delta("front", "room", "", "person", kB0, 1),
       "counts[1] (camera 'front'): scope 'room' is not one of camera, zone, line"},
      {delta("front", "camera", "x", "person", kB0, 1),
       "counts[1] (camera 'front'): name must be empty for scope camera (got 'x')"},
      {delta("front", "zone", "", "person", kB0, 1),
       "counts[1] (camera 'front'): name is empty; scope zone needs the zone's name"},
      {delta("front", "line", "door", "", kB0, 1), "counts[1] (camera 'front'): label is empty"},
      {delta("front", "camera", "", "person", kB0 + 1, 1),
       "counts[1] (camera 'front'): bucket " + std::to_string(kB0 + 1) +
           " is not the start of a minute (milliseconds since the epoch, a multiple of 60000)"},
      {delta("front", "camera", "", "person", -kMinute, 1),
       "counts[1] (camera 'front'): bucket -60000 is not the start of a minute (milliseconds "
       "since the epoch, a multiple of 60000)"},
      {delta("front", "camera", "", "person", kB0, -1), "counts[1] (camera 'front'): seen is negative (-1)"},
      {delta("front", "line", "door", "person", kB0, 0, -2), "counts[1] (camera 'front'): in is negative (-2)"},
      {delta("front", "line", "door", "person", kB0, 0, 0, -3), "counts[1] (camera 'front'): out is negative (-3)"},
      {delta("front", "camera", "", "person", kB0, 0, 0, 0, -4), "counts[1] (camera 'front'): peak is negative (-4)"},
      {delta("front", "zone", "\xff", "person", kB0, 1), "counts[1]: name is not valid UTF-8"},
  };
  StoreStats before = store->stats();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    Status s = store->add_counts({delta("front", "camera", "", "person", kB0, 1), c.bad});
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
    EXPECT_EQ(s.message(), c.message);
  }
  EXPECT_TRUE(query_all_counts(*store, {.camera = "front"}).empty());
  EXPECT_EQ(store->stats().writes_committed, before.writes_committed);

  EXPECT_EQ(store->query_counts({}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->query_counts({.camera = "front", .limit = 0}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->query_counts({.camera = "front", .scope = "room"}).status().code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------
// Schema migration and persistence

TEST_F(StoreTest, UpgradesAVersion1DatabaseKeepingItsCameras) {
  std::filesystem::create_directories(dir_.file("data"));
  Camera camera = full_camera("legacy");
  {
    // The file exactly as the first release left it.
    RawDb raw(db_path());
    raw.exec(std::string(sqlite::migrations()[0]));
    raw.exec("PRAGMA user_version = 1");
    std::string doc = camera_to_json(camera, {.mask_credentials = false, .include_meta = false}).dump();
    std::string quoted;
    for (char ch : doc) quoted += ch == '\'' ? std::string("''") : std::string(1, ch);
    raw.exec("INSERT INTO cameras (id, doc, created_at, updated_at, version) VALUES ('legacy', '" + quoted +
             "', 111, 222, 3)");
  }
  auto store = open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->stats().schema_version, sqlite::latest_schema_version());
  {
    RawDb raw(db_path());
    EXPECT_EQ(raw.query_text("PRAGMA user_version"), std::to_string(sqlite::latest_schema_version()));
    EXPECT_EQ(raw.query_text("SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_schema "
                             "WHERE type = 'table' ORDER BY name)"),
              "alert_rules,alerts,api_keys,audit_log,cameras,counts,counts_daily,counts_hourly,counts_rollup,"
              "dead_letters,detections,events,jobs,notification_channels,refresh_tokens,sqlite_sequence,users");
  }
  Result<Camera> got = store->get_camera("legacy");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  Camera expected = camera;
  expected.created_at = 111;
  expected.updated_at = 222;
  expected.version = 3;
  EXPECT_EQ(*got, expected);
  EXPECT_TRUE(store->save_events({full_event("e1", "legacy")}).ok());
  EXPECT_TRUE(store->add_counts({delta("legacy", "camera", "", "person", kB0, 1)}).ok());
}

TEST_F(StoreTest, EventsAndCountsSurviveReopenAndCameraDeletion) {
  EventRecord event = full_event("kept", "front");
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->create_camera(simple_camera("front")).ok());
    ASSERT_TRUE(store->save_events({event, open_event("tracked", "front")}).ok());
    ASSERT_TRUE(store->add_counts({delta("front", "zone", "entrance", "person", kB0, 3, 0, 0, 2)}).ok());
    ASSERT_TRUE(store->delete_camera("front", std::nullopt).ok());
    store->close();
  }
  auto store = open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->stats().schema_version, sqlite::latest_schema_version());
  EXPECT_EQ(store->get_camera("front").status().code(), StatusCode::kNotFound);
  Result<EventRecord> got = store->get_event("kept");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(*got, event);
  EXPECT_EQ(list_all_event_ids(*store, {.camera = "front"}), (std::vector<std::string>{"tracked", "kept"}));
  EXPECT_EQ(query_all_counts(*store, {.camera = "front"}),
            (std::vector<CountRow>{delta("front", "zone", "entrance", "person", kB0, 3, 0, 0, 2)}));
}

}  // namespace
}  // namespace argus
