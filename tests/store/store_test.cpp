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
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "metrics/metrics.h"
#include "testing/testing.h"

namespace argus {
namespace {

using namespace std::chrono_literals;

class ManualClock final : public Clock {
 public:
  UnixMillis now_ms() const override { return now_.load(); }
  void advance(std::int64_t ms) { now_ += ms; }

 private:
  std::atomic<UnixMillis> now_{1'700'000'000'000};
};

// A plain sqlite3 connection for poking at the file behind the store's back.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    int rc =
        sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
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
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
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
  c.lines = {{"door", {0.2, 0.8}, {0.8, 0.8}, LineSide::kRight},
             {"gate", {0.1, 0.1}, {0.1, 0.9}, LineSide::kLeft}};
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
  ManualClock clock_;
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
  EXPECT_NE(update.status().message().find("camera 'cam' was modified (version 1)"),
            std::string::npos)
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
  EXPECT_EQ(stats.schema_version, 1);
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
  EXPECT_EQ(raw.query_text("PRAGMA user_version"), "1");
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
  EXPECT_NE(m.find("only knows up to 1"), std::string::npos) << m;
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
        Result<Camera> r =
            store->create_camera(simple_camera("t" + std::to_string(t) + "-" + std::to_string(i)));
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
  EXPECT_EQ(store->cameras_revision() - revision,
            static_cast<std::uint64_t>(kThreads * kPerThread));
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
        if (!store->create_camera(simple_camera("c" + std::to_string(t) + "-" + std::to_string(i)))
                 .ok()) {
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
    bool refused = cv.wait_for(
        l, 30s, [&] { return results.size() >= static_cast<std::size_t>(kThreads - 2); });
    EXPECT_TRUE(refused);
    for (const Status& s : results) {
      EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.to_string();
      EXPECT_EQ(s.message(),
                "store write queue is full (1 pending writes); the disk may be too slow");
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
      results[static_cast<std::size_t>(t)] =
          store->create_camera(simple_camera("w" + std::to_string(t))).status();
    });
  }
  // A queued write has been accepted; close() must commit it.
  bool queued = wait_until([&] { return store->stats().pending_writes >= 1; });
  std::thread closer([&] { store->close(); });
  bool closing =
      wait_until([&] { return store->check_health().code() == StatusCode::kUnavailable; });
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
  EXPECT_NE(broken.status().message().find("'broken'"), std::string::npos)
      << broken.status().message();
  Result<Camera> invalid = store->get_camera("invalid");
  EXPECT_EQ(invalid.status().code(), StatusCode::kCorruption);
  EXPECT_NE(invalid.status().message().find("'invalid'"), std::string::npos)
      << invalid.status().message();
  EXPECT_NE(invalid.status().message().find("/source"), std::string::npos)
      << invalid.status().message();
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
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(store->create_camera(simple_camera("c" + std::to_string(i))).ok());
  EXPECT_TRUE(store->flush().ok());
  StoreStats after = store->stats();
  EXPECT_EQ(after.kind, "sqlite");
  EXPECT_EQ(after.schema_version, 1);
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
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(store->create_camera(simple_camera("m" + std::to_string(i))).ok());
  EXPECT_FALSE(store->create_camera(simple_camera("m0")).ok());

  EXPECT_DOUBLE_EQ(registry.counter("argus_store_writes_total", "").value(), 3.0);
  EXPECT_DOUBLE_EQ(registry.gauge("argus_store_write_queue_depth", "").value(), 0.0);
  metrics::Histogram::Snapshot batches =
      registry.histogram("argus_store_write_batch_size", "", {1, 2, 5, 10, 20, 50, 100, 200, 500})
          .snapshot();
  EXPECT_EQ(batches.count, 4u);
  EXPECT_DOUBLE_EQ(batches.sum, 4.0);
  metrics::Histogram::Snapshot commits =
      registry
          .histogram("argus_store_commit_duration_seconds", "", metrics::default_seconds_buckets())
          .snapshot();
  EXPECT_EQ(commits.count, 4u);
  std::string text = registry.expose();
  EXPECT_NE(text.find("argus_store_writes_total 3"), std::string::npos) << text;
  EXPECT_NE(text.find("argus_store_write_batch_size_bucket"), std::string::npos) << text;
}

}  // namespace
}  // namespace argus
