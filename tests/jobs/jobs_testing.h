// Shared fixture of the jobs tests: a real SQLite store in a temporary directory, the
// in-process bus, and runner kinds whose progress the test controls.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "jobs/job_manager.h"
#include "store/store.h"
#include "testing/testing.h"

namespace argus::jobs::testing_support {

// Holds runners until released; counts the runners that started.
class Gate {
 public:
  // Called by a runner: waits until release() or, when `honor_cancel`, until the job is
  // cancelled (polled like a runner polls between work items). Returns ok when released.
  Status pass(JobContext& ctx, bool honor_cancel);
  void release();
  // Waits until `n` runners have started; false after `timeout`.
  bool wait_started(int n, std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int started_ = 0;
};

class JobsTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  void open_store();
  void reopen_store();
  // A manager on the store and bus with the test kinds registered (not started):
  //   ok       sets result {"n": params.n}, reports 50%, succeeds
  //   fail     reports 70%, fails with InvalidArgument "bad thing"
  //   throws   throws std::runtime_error
  //   block    waits at gate_ (ends on cancel)
  //   stubborn waits at gate_ (ignores cancel)
  //   progress reports 1..100%, advancing the clock 600 ms at 50%
  std::unique_ptr<JobManager> make_manager(JobManagerOptions options = {});
  std::unique_ptr<JobManager> start_manager(JobManagerOptions options = {});

  // Waits for the bus message saying job `id` reached `state`; returns the job JSON (null
  // on timeout). Every message read is kept in messages_.
  nlohmann::json wait_state(const std::string& id, const std::string& state,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The messages read so far about job `id`, in order.
  std::vector<nlohmann::json> messages_of(const std::string& id);
  void drain();

  testing::TempDir dir_;
  testing::ManualClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<bus::EventBus> bus_;
  std::unique_ptr<bus::Subscription> sub_;
  std::vector<nlohmann::json> messages_;
  Gate gate_;
};

}  // namespace argus::jobs::testing_support
