#include "jobs/jobs_testing.h"

#include <stdexcept>

namespace argus::jobs::testing_support {

Status Gate::pass(JobContext& ctx, bool honor_cancel) {
  std::unique_lock lock(mu_);
  ++started_;
  cv_.notify_all();
  while (!open_) {
    if (honor_cancel && ctx.cancelled()) return Status::cancelled("stopped on request");
    cv_.wait_for(lock, std::chrono::milliseconds(10));
  }
  return Status::ok_status();
}

void Gate::release() {
  std::lock_guard lock(mu_);
  open_ = true;
  cv_.notify_all();
}

bool Gate::wait_started(int n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return started_ >= n; });
}

void JobsTest::SetUp() {
  open_store();
  auto bus = bus::open_bus({});
  ASSERT_TRUE(bus.ok());
  bus_ = std::move(bus).value();
  sub_ = bus_->subscribe({.topics = {std::string(bus::kJobs)}, .capacity = 100'000, .name = "test"});
}

void JobsTest::TearDown() {
  gate_.release();
  sub_.reset();
  if (store_) store_->close();
}

void JobsTest::open_store() {
  StoreOptions o;
  o.config.url = "sqlite://" + dir_.file("argus.db");
  auto s = argus::open_store(o);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  store_ = std::move(s).value();
}

void JobsTest::reopen_store() {
  store_->close();
  store_.reset();
  open_store();
}

std::unique_ptr<JobManager> JobsTest::make_manager(JobManagerOptions options) {
  options.clock = &clock_;
  auto m = std::make_unique<JobManager>(store_.get(), bus_.get(), options);
  EXPECT_TRUE(m->register_kind("ok", [](JobContext& ctx) {
                 ctx.progress(50, "half way");
                 ctx.set_result({{"n", ctx.params().value("n", 0)}});
                 return Status::ok_status();
               }).ok());
  EXPECT_TRUE(m->register_kind("fail", [](JobContext& ctx) {
                 ctx.progress(70);
                 return Status::invalid_argument("bad thing");
               }).ok());
  EXPECT_TRUE(m->register_kind("throws", [](JobContext&) -> Status { throw std::runtime_error("boom"); }).ok());
  EXPECT_TRUE(m->register_kind("block", [this](JobContext& ctx) { return gate_.pass(ctx, true); }).ok());
  EXPECT_TRUE(m->register_kind("stubborn", [this](JobContext& ctx) { return gate_.pass(ctx, false); }).ok());
  EXPECT_TRUE(m->register_kind("progress", [this](JobContext& ctx) {
                 for (int i = 1; i <= 100; ++i) {
                   if (i == 50) clock_.advance(600);
                   ctx.progress(i, "step " + std::to_string(i));
                 }
                 return Status::ok_status();
               }).ok());
  return m;
}

std::unique_ptr<JobManager> JobsTest::start_manager(JobManagerOptions options) {
  auto m = make_manager(options);
  Status s = m->start();
  EXPECT_TRUE(s.ok()) << s.to_string();
  return m;
}

nlohmann::json JobsTest::wait_state(const std::string& id, const std::string& state,
                                    std::chrono::milliseconds timeout) {
  for (const auto& m : messages_) {
    if (m["id"] == id && m["state"] == state) return m;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto msg = sub_->next(std::chrono::milliseconds(50));
    if (!msg || !*msg) continue;
    messages_.push_back((*msg)->data);
    const auto& d = messages_.back();
    if (d["id"] == id && d["state"] == state) return d;
  }
  ADD_FAILURE() << "job " << id << " did not reach " << state;
  return nullptr;
}

void JobsTest::drain() {
  while (auto msg = sub_->try_next()) {
    if (*msg) messages_.push_back((*msg)->data);
  }
}

std::vector<nlohmann::json> JobsTest::messages_of(const std::string& id) {
  drain();
  std::vector<nlohmann::json> out;
  for (const auto& m : messages_) {
    if (m["id"] == id) out.push_back(m);
  }
  return out;
}

}  // namespace argus::jobs::testing_support
