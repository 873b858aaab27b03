// Tests of the jobs table and maintenance of the SQLite Store against real database files.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "store/store.h"
#include "testing/testing.h"

namespace argus {
namespace {

JobRecord job(const std::string& id, const std::string& kind, const std::string& state = "queued") {
  JobRecord j;
  j.id = id;
  j.kind = kind;
  j.state = state;
  j.params = R"({"a":1})";
  j.created_by = "u1";
  return j;
}

class JobsStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void open() {
    StoreOptions o;
    o.config.url = "sqlite://" + dir_.file("argus.db");
    o.clock = &clock_;
    auto s = open_store(o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store_ = std::move(s).value();
  }
  testing::TempDir dir_;
  argus::testing::ManualClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(JobsStoreTest, CreateGetUpdateRoundTrip) {
  auto created = store_->create_job(job("j1", "vacuum"));
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  EXPECT_EQ(created->created_at, clock_.now_ms());
  EXPECT_EQ(store_->create_job(job("j1", "vacuum")).status().code(), StatusCode::kAlreadyExists);

  clock_.advance(10);
  JobRecord u = *created;
  u.state = "succeeded";
  u.progress = 100;
  u.message = "done";
  u.result = R"({"bytes":5})";
  u.attempts = 1;
  u.started_at = clock_.now_ms() - 5;
  u.finished_at = clock_.now_ms();
  u.kind = "";              // kept as stored
  u.params = R"({"b":2})";  // kept as stored
  auto updated = store_->update_job(u);
  ASSERT_TRUE(updated.ok()) << updated.status().to_string();
  EXPECT_EQ(updated->kind, "vacuum");
  EXPECT_EQ(updated->params, R"({"a":1})");
  auto got = store_->get_job("j1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, *updated);
  EXPECT_EQ(got->result, R"({"bytes":5})");
  EXPECT_EQ(got->updated_at, clock_.now_ms());

  EXPECT_EQ(store_->get_job("nope").status().code(), StatusCode::kNotFound);
  JobRecord missing = job("nope", "vacuum");
  EXPECT_EQ(store_->update_job(missing).status().code(), StatusCode::kNotFound);
}

TEST_F(JobsStoreTest, RejectsBadJobs) {
  JobRecord bad = job("x", "vacuum", "exploded");
  EXPECT_EQ(store_->create_job(bad).status().code(), StatusCode::kInvalidArgument);
  bad = job("x", "vacuum");
  bad.params = "[1]";
  EXPECT_EQ(store_->create_job(bad).status().code(), StatusCode::kInvalidArgument);
  bad = job("x", "vacuum");
  bad.result = "{nope";
  EXPECT_EQ(store_->create_job(bad).status().code(), StatusCode::kInvalidArgument);
  bad = job("", "vacuum");
  EXPECT_EQ(store_->create_job(bad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(store_->get_job("x").ok());
}

TEST_F(JobsStoreTest, ListsNewestFirstWithFiltersAndKeysetPaging) {
  for (int i = 0; i < 7; ++i) {
    JobRecord j = job("j" + std::to_string(i), i % 2 == 0 ? "vacuum" : "analyze", i < 3 ? "succeeded" : "queued");
    ASSERT_TRUE(store_->create_job(j).ok());
    if (i != 3) clock_.advance(1);  // j3 and j4 share a millisecond: the id breaks the tie
  }
  std::vector<std::string> seen;
  JobQuery q;
  q.limit = 3;
  for (;;) {
    auto page = store_->list_jobs(q);
    ASSERT_TRUE(page.ok()) << page.status().to_string();
    for (const auto& j : page->items) seen.push_back(j.id);
    if (!page->next_after) break;
    q.after = *page->next_after;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"j6", "j5", "j4", "j3", "j2", "j1", "j0"}));

  auto vacuums = store_->list_jobs({.kind = "vacuum"});
  ASSERT_TRUE(vacuums.ok());
  ASSERT_EQ(vacuums->items.size(), 4u);
  EXPECT_EQ(vacuums->items[0].id, "j6");
  auto queued_analyze = store_->list_jobs({.kind = "analyze", .state = "queued"});
  ASSERT_TRUE(queued_analyze.ok());
  ASSERT_EQ(queued_analyze->items.size(), 2u);
  EXPECT_EQ(queued_analyze->items[0].id, "j5");
  EXPECT_EQ(queued_analyze->items[1].id, "j3");
  EXPECT_EQ(store_->list_jobs({.state = "sleeping"}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->list_jobs({.after = "garbage"}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(JobsStoreTest, UnfinishedJobsSurviveReopenOldestFirst) {
  ASSERT_TRUE(store_->create_job(job("a", "vacuum", "running")).ok());
  clock_.advance(1);
  ASSERT_TRUE(store_->create_job(job("b", "vacuum", "succeeded")).ok());
  clock_.advance(1);
  ASSERT_TRUE(store_->create_job(job("c", "analyze", "queued")).ok());
  store_->close();
  store_.reset();
  open();
  auto left = store_->list_unfinished_jobs();
  ASSERT_TRUE(left.ok()) << left.status().to_string();
  ASSERT_EQ(left->size(), 2u);
  EXPECT_EQ((*left)[0].id, "a");
  EXPECT_EQ((*left)[0].state, "running");
  EXPECT_EQ((*left)[1].id, "c");
}

TEST_F(JobsStoreTest, RetentionDeletesOnlyFinishedJobsFinishedBeforeTheCutoff) {
  JobRecord old_done = job("old", "vacuum", "succeeded");
  old_done.finished_at = 1000;
  JobRecord new_done = job("new", "vacuum", "failed");
  new_done.finished_at = 5000;
  JobRecord running = job("run", "vacuum", "running");
  ASSERT_TRUE(store_->create_job(old_done).ok());
  ASSERT_TRUE(store_->create_job(new_done).ok());
  ASSERT_TRUE(store_->create_job(running).ok());
  auto deleted = store_->delete_jobs_finished_before(2000);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 1);
  EXPECT_EQ(store_->get_job("old").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->get_job("new").ok());
  EXPECT_TRUE(store_->get_job("run").ok());
}

TEST_F(JobsStoreTest, MaintenanceShrinksTheFileAfterDeletesAndKeepsData) {
  // Grow the database with finished jobs carrying large results, then delete them.
  std::string big(4000, 'x');
  for (int i = 0; i < 300; ++i) {
    JobRecord j = job("big" + std::to_string(i), "analyze", "succeeded");
    j.result = "\"" + big + "\"";
    j.finished_at = 10;
    ASSERT_TRUE(store_->create_job(j).ok());
  }
  ASSERT_TRUE(store_->create_job(job("keep", "vacuum")).ok());
  ASSERT_TRUE(store_->delete_jobs_finished_before(100).ok());
  auto report = store_->maintenance();
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_GT(report->bytes_before, 1'000'000);
  EXPECT_LT(report->bytes_after, report->bytes_before / 4);
  EXPECT_TRUE(store_->get_job("keep").ok());
  // Writes keep working after it (the writer is back to batching).
  ASSERT_TRUE(store_->create_job(job("after", "vacuum")).ok());
  EXPECT_TRUE(store_->check_health().ok());
}

}  // namespace
}  // namespace argus
