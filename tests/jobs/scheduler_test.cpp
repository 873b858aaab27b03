// Scheduler: due tasks are submitted, and never pile up behind a job still queued or running.
#include <gtest/gtest.h>

#include "jobs/jobs_testing.h"
#include "jobs/scheduler.h"

namespace argus::jobs {
namespace {

using testing_support::JobsTest;
using namespace std::chrono_literals;

TEST_F(JobsTest, SchedulerSubmitsDueTasksWithoutPilingUp) {
  auto m = start_manager();
  Scheduler s(m.get(), {{.kind = "block", .params = {{"why", "scheduled"}}, .interval = 1h, .run_at_start = true},
                        {.kind = "ok", .interval = 5min}});
  auto t0 = std::chrono::steady_clock::time_point{} + 1000h;
  EXPECT_EQ(s.tick(t0), 1) << "block runs at start; ok waits one interval";
  ASSERT_TRUE(gate_.wait_started(1));
  EXPECT_EQ(s.tick(t0 + 1min), 0) << "nothing due";
  EXPECT_EQ(s.tick(t0 + 5min), 1) << "ok is due";
  EXPECT_EQ(s.tick(t0 + 1h), 0) << "block is due but the previous one still runs: skipped";
  EXPECT_EQ(s.tick(t0 + 2h + 1s), 0) << "still running";
  auto blocks = store_->list_jobs({.kind = "block"});
  ASSERT_EQ(blocks->items.size(), 1u);
  EXPECT_EQ(blocks->items[0].created_by, "system");
  EXPECT_EQ(blocks->items[0].params, R"({"why":"scheduled"})");
  gate_.release();
  ASSERT_FALSE(wait_state(blocks->items[0].id, "succeeded").is_null());
  // The ok job waited behind block for the one worker: let it finish too.
  auto oks = store_->list_jobs({.kind = "ok"});
  ASSERT_EQ(oks->items.size(), 1u);
  ASSERT_FALSE(wait_state(oks->items[0].id, "succeeded").is_null());
  EXPECT_EQ(s.tick(t0 + 3h + 2s), 2) << "block again (its interval passed) and ok";
  EXPECT_EQ(store_->list_jobs({.kind = "block"})->items.size(), 2u);
}

TEST_F(JobsTest, SchedulerThreadSubmitsAtStartAndStops) {
  auto m = start_manager();
  Scheduler s(m.get(), {{.kind = "ok", .interval = 1h, .run_at_start = true}, {.kind = "fail", .interval = 0ms}});
  s.start();
  auto deadline = std::chrono::steady_clock::now() + 10s;
  std::vector<JobRecord> oks;
  while (std::chrono::steady_clock::now() < deadline) {
    oks = store_->list_jobs({.kind = "ok"})->items;
    if (!oks.empty()) break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(oks.size(), 1u);
  s.stop();
  EXPECT_TRUE(store_->list_jobs({.kind = "fail"})->items.empty()) << "a zero interval disables a task";
}

}  // namespace
}  // namespace argus::jobs
