// JobManager against a real SQLite store and the in-process bus: every state, cancel,
// failures, the queue bound, progress throttling, restart recovery and retry.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "jobs/jobs_testing.h"

namespace argus::jobs {
namespace {

using ::testing::HasSubstr;
using testing_support::JobsTest;

std::vector<std::string> states(const std::vector<nlohmann::json>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.push_back(m["state"]);
  return out;
}

TEST_F(JobsTest, SuccessStoresAndPublishesEveryStateWithTheResult) {
  auto m = start_manager();
  auto job = m->submit("ok", {{"n", 3}}, "u1");
  ASSERT_TRUE(job.ok()) << job.status().to_string();
  EXPECT_EQ(job->state, "queued");
  nlohmann::json done = wait_state(job->id, "succeeded");
  ASSERT_FALSE(done.is_null());
  EXPECT_EQ(done["progress"], 100);
  EXPECT_EQ(done["result"], nlohmann::json({{"n", 3}}));
  EXPECT_EQ(done["created_by"], "u1");
  EXPECT_EQ(done["params"], nlohmann::json({{"n", 3}}));
  EXPECT_EQ(done["message"], "half way");

  auto stored = store_->get_job(job->id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state, "succeeded");
  EXPECT_EQ(stored->result, R"({"n":3})");
  EXPECT_EQ(stored->attempts, 1);
  EXPECT_GT(stored->started_at, 0);
  EXPECT_GE(stored->finished_at, stored->started_at);
  EXPECT_FALSE(stored->retryable);
  EXPECT_THAT(states(messages_of(job->id)), ::testing::ElementsAre("queued", "running", "succeeded"));
}

TEST_F(JobsTest, FailureKeepsTheErrorAndTheLastProgress) {
  auto m = start_manager();
  auto job = m->submit("fail", {}, "u1");
  ASSERT_TRUE(job.ok());
  nlohmann::json failed = wait_state(job->id, "failed");
  ASSERT_FALSE(failed.is_null());
  EXPECT_EQ(failed["error"], "bad thing");
  EXPECT_EQ(failed["retryable"], false);
  EXPECT_EQ(failed["progress"], 70) << "throttled progress still reaches the final state";
  EXPECT_EQ(store_->get_job(job->id)->error, "bad thing");

  auto thrown = m->submit("throws", {}, "u1");
  ASSERT_TRUE(thrown.ok());
  nlohmann::json t = wait_state(thrown->id, "failed");
  ASSERT_FALSE(t.is_null());
  EXPECT_THAT(t["error"].get<std::string>(), HasSubstr("boom"));
}

TEST_F(JobsTest, SubmitRejectsUnknownKindsAndBadParams) {
  auto m = make_manager();
  ASSERT_TRUE(m->register_kind(
                   "checked", [](JobContext&) { return Status::ok_status(); },
                   [](const nlohmann::json& p) {
                     return p.contains("file") ? Status::ok_status() : Status::invalid_argument("file is required");
                   })
                  .ok());
  EXPECT_EQ(m->register_kind("ok", [](JobContext&) { return Status::ok_status(); }).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(m->submit("ok", {}, "u").status().code(), StatusCode::kUnavailable) << "not started";
  ASSERT_TRUE(m->start().ok());
  auto unknown = m->submit("rollup", {}, "u");
  ASSERT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown job kind 'rollup'"));
  EXPECT_THAT(unknown.status().message(), HasSubstr("block, checked, fail, ok, progress, stubborn, throws"));
  EXPECT_EQ(m->submit("ok", nlohmann::json::array({1}), "u").status().code(), StatusCode::kInvalidArgument);
  auto unchecked = m->submit("checked", {}, "u");
  EXPECT_EQ(unchecked.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(unchecked.status().message(), "file is required");
  EXPECT_TRUE(store_->list_jobs({})->items.empty()) << "refused jobs are not stored";
}

TEST_F(JobsTest, CancellingAQueuedJobIsImmediate) {
  auto m = start_manager({.workers = 1});
  auto first = m->submit("block", {}, "u");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(gate_.wait_started(1));
  auto second = m->submit("ok", {}, "u");
  ASSERT_TRUE(second.ok());
  auto cancelled = m->cancel(second->id);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().to_string();
  EXPECT_EQ(cancelled->state, "cancelled");
  EXPECT_EQ(store_->get_job(second->id)->state, "cancelled");
  EXPECT_FALSE(m->has_active("ok"));
  EXPECT_EQ(m->cancel(second->id).status().code(), StatusCode::kFailedPrecondition);
  gate_.release();
  ASSERT_FALSE(wait_state(first->id, "succeeded").is_null());
  auto never_ran = store_->get_job(second->id);
  EXPECT_EQ(never_ran->state, "cancelled");
  EXPECT_EQ(never_ran->started_at, 0);
  EXPECT_EQ(never_ran->attempts, 0);
  EXPECT_EQ(m->cancel("no-such-job").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(m->cancel(first->id).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(JobsTest, CancellingARunningJobEndsItCancelled) {
  auto m = start_manager();
  auto job = m->submit("block", {}, "u");
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(gate_.wait_started(1));
  ASSERT_FALSE(wait_state(job->id, "running").is_null());
  auto asked = m->cancel(job->id);
  ASSERT_TRUE(asked.ok());
  EXPECT_EQ(asked->state, "running") << "the runner has not returned yet";
  nlohmann::json done = wait_state(job->id, "cancelled");
  ASSERT_FALSE(done.is_null());
  EXPECT_TRUE(done["error"].is_null());
  EXPECT_EQ(store_->get_job(job->id)->state, "cancelled");
}

TEST_F(JobsTest, ARunnerThatSucceedsAfterCancelIsStillCancelled) {
  auto m = start_manager();
  auto job = m->submit("stubborn", {}, "u");
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(gate_.wait_started(1));
  ASSERT_TRUE(m->cancel(job->id).ok());
  EXPECT_EQ(m->get(job->id)->state, "running");
  gate_.release();  // returns ok, ignoring the request
  ASSERT_FALSE(wait_state(job->id, "cancelled").is_null());
  EXPECT_EQ(store_->get_job(job->id)->state, "cancelled");
}

TEST_F(JobsTest, AFullQueueRefusesNewJobs) {
  auto m = start_manager({.workers = 1, .queue = 2});
  auto running = m->submit("block", {}, "u");
  ASSERT_TRUE(running.ok());
  ASSERT_TRUE(gate_.wait_started(1));
  ASSERT_TRUE(m->submit("ok", {}, "u").ok());
  ASSERT_TRUE(m->submit("ok", {}, "u").ok());
  auto refused = m->submit("ok", {}, "u");
  ASSERT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.status().message(), HasSubstr("queue is full"));
  EXPECT_EQ(store_->list_jobs({})->items.size(), 3u);
  gate_.release();
  m->stop();
}

TEST_F(JobsTest, ProgressIsStoredAtMostOncePerInterval) {
  auto m = start_manager({.progress_interval = std::chrono::milliseconds(500)});
  auto job = m->submit("progress", {}, "u");
  ASSERT_TRUE(job.ok());
  ASSERT_FALSE(wait_state(job->id, "succeeded").is_null());
  std::vector<nlohmann::json> running;
  for (const auto& msg : messages_of(job->id)) {
    if (msg["state"] == "running") running.push_back(msg);
  }
  // The start, then one step once the clock moved 600 ms: 100 calls, two writes.
  ASSERT_EQ(running.size(), 2u);
  EXPECT_EQ(running[0]["progress"], 0);
  EXPECT_EQ(running[1]["progress"], 50);
  EXPECT_EQ(running[1]["message"], "step 50");
  auto stored = store_->get_job(job->id);
  EXPECT_EQ(stored->progress, 100);
  EXPECT_EQ(stored->message, "step 100");
}

TEST_F(JobsTest, RestartFailsInterruptedJobsAndQueuesWaitingOnesAgain) {
  // What a killed process leaves behind: one job running, two queued.
  const std::vector<std::pair<std::string, std::string>> left = {
      {"was-running", "running"}, {"waiting-1", "queued"}, {"waiting-2", "queued"}};
  for (const auto& [id, state] : left) {
    JobRecord j;
    j.id = id;
    j.kind = "ok";
    j.state = state;
    j.params = R"({"n":7})";
    j.created_by = "u";
    ASSERT_TRUE(store_->create_job(j).ok());
    clock_.advance(1);
  }
  JobRecord alien;
  alien.id = "from-the-future";
  alien.kind = "teleport";
  alien.state = "queued";
  ASSERT_TRUE(store_->create_job(alien).ok());
  reopen_store();

  auto m = start_manager();
  nlohmann::json failed = wait_state("was-running", "failed");
  ASSERT_FALSE(failed.is_null());
  EXPECT_EQ(failed["error"], std::string(kInterruptedError));
  EXPECT_EQ(failed["retryable"], true);
  ASSERT_FALSE(wait_state("waiting-1", "succeeded").is_null());
  ASSERT_FALSE(wait_state("waiting-2", "succeeded").is_null());
  EXPECT_EQ(store_->get_job("waiting-2")->result, R"({"n":7})");
  auto alien_now = store_->get_job("from-the-future");
  EXPECT_EQ(alien_now->state, "failed");
  EXPECT_THAT(alien_now->error, HasSubstr("not known"));

  // The interrupted job can be retried: a new job with its kind and params.
  auto again = m->retry("was-running", "u2");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_NE(again->id, "was-running");
  EXPECT_EQ(again->retry_of, "was-running");
  EXPECT_EQ(again->created_by, "u2");
  nlohmann::json ok = wait_state(again->id, "succeeded");
  ASSERT_FALSE(ok.is_null());
  EXPECT_EQ(ok["result"], nlohmann::json({{"n", 7}}));
  EXPECT_EQ(store_->get_job("was-running")->state, "failed") << "the old job keeps its history";
}

TEST_F(JobsTest, StopInterruptsRunningJobsAndKeepsQueuedOnesForTheNextStart) {
  auto m = start_manager({.workers = 1});
  auto running = m->submit("block", {}, "u");
  ASSERT_TRUE(running.ok());
  ASSERT_TRUE(gate_.wait_started(1));
  auto waiting = m->submit("ok", {{"n", 1}}, "u");
  ASSERT_TRUE(waiting.ok());
  m->stop();
  EXPECT_EQ(m->submit("ok", {}, "u").status().code(), StatusCode::kUnavailable);
  auto interrupted = store_->get_job(running->id);
  EXPECT_EQ(interrupted->state, "failed");
  EXPECT_EQ(interrupted->error, std::string(kInterruptedError));
  EXPECT_TRUE(interrupted->retryable);
  EXPECT_EQ(store_->get_job(waiting->id)->state, "queued");
  m.reset();

  reopen_store();
  auto next = start_manager();
  ASSERT_FALSE(wait_state(waiting->id, "succeeded").is_null());
}

TEST_F(JobsTest, StopRecordsAJobThatOutlivesTheGraceAsInterrupted) {
  auto m = start_manager({.stop_grace = std::chrono::milliseconds(50)});
  auto job = m->submit("stubborn", {}, "u");
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(gate_.wait_started(1));
  std::thread stopper([&] { m->stop(); });
  // stop() waits for the runner after the grace, but the store already tells the truth.
  nlohmann::json interrupted = wait_state(job->id, "failed");
  ASSERT_FALSE(interrupted.is_null());
  EXPECT_EQ(interrupted["error"], std::string(kInterruptedError));
  EXPECT_EQ(store_->get_job(job->id)->state, "failed");
  gate_.release();
  stopper.join();
  // It did finish its work in the end.
  EXPECT_EQ(store_->get_job(job->id)->state, "succeeded");
}

TEST_F(JobsTest, OnlyFailedOrCancelledJobsCanBeRetried) {
  auto m = start_manager();
  auto ok = m->submit("ok", {}, "u");
  ASSERT_TRUE(ok.ok());
  ASSERT_FALSE(wait_state(ok->id, "succeeded").is_null());
  EXPECT_EQ(m->retry(ok->id, "u").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(m->retry("missing", "u").status().code(), StatusCode::kNotFound);

  auto bad = m->submit("fail", {{"x", 1}}, "u");
  ASSERT_TRUE(bad.ok());
  ASSERT_FALSE(wait_state(bad->id, "failed").is_null());
  auto again = m->retry(bad->id, "u");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->params, R"({"x":1})");
  ASSERT_FALSE(wait_state(again->id, "failed").is_null());
  EXPECT_EQ(store_->get_job(again->id)->attempts, 2) << "attempts count across retries";
}

TEST_F(JobsTest, ListAndGetShowTheLatestProgressOfRunningJobs) {
  auto m = start_manager({.progress_interval = std::chrono::hours(1)});
  auto job = m->submit("block", {}, "u");
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(gate_.wait_started(1));
  ASSERT_FALSE(wait_state(job->id, "running").is_null());
  EXPECT_TRUE(m->has_active("block"));
  auto page = m->list({.kind = "block"});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].state, "running");
  gate_.release();
  ASSERT_FALSE(wait_state(job->id, "succeeded").is_null());
  EXPECT_FALSE(m->has_active("block"));
}

TEST(JobJsonTest, Shape) {
  JobRecord j;
  j.id = "j1";
  j.kind = "vacuum";
  j.state = "succeeded";
  j.params = R"({"a":1})";
  j.result = R"({"bytes_before":10})";
  j.created_at = 1'700'000'000'000;
  nlohmann::json doc = job_to_json(j);
  EXPECT_EQ(doc["created_at"], "2023-11-14T22:13:20.000Z");
  EXPECT_TRUE(doc["started_at"].is_null());
  EXPECT_TRUE(doc["error"].is_null());
  EXPECT_EQ(doc["params"]["a"], 1);
  EXPECT_EQ(doc["result"]["bytes_before"], 10);
  for (const char* key : {"id", "kind", "state", "progress", "message", "params", "result", "error", "retryable",
                          "created_at", "started_at", "finished_at", "created_by"}) {
    EXPECT_TRUE(doc.contains(key)) << key;
  }
  EXPECT_EQ(parse_job_state("failed"), JobState::kFailed);
  EXPECT_EQ(job_state_name(JobState::kCancelled), "cancelled");
  EXPECT_FALSE(parse_job_state("done"));
}

}  // namespace
}  // namespace argus::jobs
