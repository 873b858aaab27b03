#include "core/status.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace argus {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.to_string(), "OK");
  EXPECT_TRUE(Status::ok_status().ok());
}

TEST(StatusTest, NamedConstructorsSetCodeAndMessage) {
  struct Case {
    Status status;
    StatusCode code;
    std::string name;
  };
  const std::vector<Case> cases = {
      {Status::invalid_argument("m"), StatusCode::kInvalidArgument, "InvalidArgument"},
      {Status::not_found("m"), StatusCode::kNotFound, "NotFound"},
      {Status::already_exists("m"), StatusCode::kAlreadyExists, "AlreadyExists"},
      {Status::failed_precondition("m"), StatusCode::kFailedPrecondition, "FailedPrecondition"},
      {Status::resource_exhausted("m"), StatusCode::kResourceExhausted, "ResourceExhausted"},
      {Status::unavailable("m"), StatusCode::kUnavailable, "Unavailable"},
      {Status::deadline_exceeded("m"), StatusCode::kDeadlineExceeded, "DeadlineExceeded"},
      {Status::cancelled("m"), StatusCode::kCancelled, "Cancelled"},
      {Status::io_error("m"), StatusCode::kIOError, "IOError"},
      {Status::corruption("m"), StatusCode::kCorruption, "Corruption"},
      {Status::internal("m"), StatusCode::kInternal, "Internal"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_FALSE(c.status.ok());
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_EQ(c.status.message(), "m");
    EXPECT_EQ(status_code_name(c.code), c.name);
    EXPECT_EQ(c.status.to_string(), c.name + ": m");
  }
  EXPECT_EQ(status_code_name(StatusCode::kOk), "OK");
}

TEST(StatusTest, ToStringIncludesCodeAndMessage) {
  EXPECT_EQ(Status::not_found("camera 'x' does not exist").to_string(), "NotFound: camera 'x' does not exist");
}

TEST(StatusTest, WithContextPrefixesMessageAndKeepsCode) {
  Status s = Status::io_error("disk full");
  Status wrapped = s.with_context("open store");
  EXPECT_EQ(wrapped.code(), StatusCode::kIOError);
  EXPECT_EQ(wrapped.message(), "open store: disk full");
  EXPECT_EQ(s.message(), "disk full") << "with_context must not modify the original";
  Status twice = wrapped.with_context("start");
  EXPECT_EQ(twice.message(), "start: open store: disk full");
  EXPECT_EQ(twice.to_string(), "IOError: start: open store: disk full");
}

TEST(StatusTest, WithContextOnOkStaysOk) {
  Status s = Status::ok_status().with_context("ignored");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
}

TEST(ResultTest, HoldsValue) {
  Result<int> r = 42;
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
  *r = 7;
  EXPECT_EQ(r.value(), 7);
}

TEST(ResultTest, HoldsError) {
  Result<int> r = Status::not_found("no such camera");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "no such camera");
}

TEST(ResultTest, ArrowAndMoveOnlyValues) {
  Result<std::string> s = std::string("hello");
  EXPECT_EQ(s->size(), 5u);
  Result<std::unique_ptr<int>> p = std::make_unique<int>(9);
  ASSERT_TRUE(p.ok());
  std::unique_ptr<int> taken = std::move(p).value();
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, 9);
}

// --- macro propagation -------------------------------------------------------------

Status fail_if(bool fail, int& calls) {
  ++calls;
  return fail ? Status::unavailable("backend down") : Status();
}

Status two_steps(bool fail_first, bool fail_second, int& calls, bool& reached_end) {
  ARGUS_RETURN_IF_ERROR(fail_if(fail_first, calls));
  ARGUS_RETURN_IF_ERROR(fail_if(fail_second, calls));
  reached_end = true;
  return Status();
}

TEST(StatusMacrosTest, ReturnIfErrorPropagatesFirstFailure) {
  int calls = 0;
  bool end = false;
  Status s = two_steps(true, false, calls, end);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "backend down");
  EXPECT_EQ(calls, 1) << "the second step must not run";
  EXPECT_FALSE(end);

  calls = 0;
  s = two_steps(false, true, calls, end);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(calls, 2);
  EXPECT_FALSE(end);

  calls = 0;
  s = two_steps(false, false, calls, end);
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(end);
}

Result<int> parse_positive(int v) {
  if (v <= 0) return Status::invalid_argument("must be positive, got " + std::to_string(v));
  return v;
}

Result<std::unique_ptr<int>> make_box(int v) {
  if (v < 0) return Status::invalid_argument("negative");
  return std::make_unique<int>(v);
}

// Uses both macros in one function, twice each, to check the temporaries do not clash.
Result<int> sum_of_two(int a, int b, int& steps) {
  ARGUS_ASSIGN_OR_RETURN(int x, parse_positive(a));
  ++steps;
  ARGUS_ASSIGN_OR_RETURN(int y, parse_positive(b));
  ++steps;
  return x + y;
}

Status add_context(int a) {
  ARGUS_ASSIGN_OR_RETURN(auto v, parse_positive(a));
  (void)v;
  return Status();
}

Result<int> unbox(int v) {
  ARGUS_ASSIGN_OR_RETURN(std::unique_ptr<int> box, make_box(v));
  return *box + 1;
}

Result<int> assign_existing(int v) {
  int out = -1;
  ARGUS_ASSIGN_OR_RETURN(out, parse_positive(v));
  return out * 10;
}

TEST(StatusMacrosTest, AssignOrReturnAssignsOnSuccess) {
  int steps = 0;
  Result<int> r = sum_of_two(2, 3, steps);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, 5);
  EXPECT_EQ(steps, 2);
}

TEST(StatusMacrosTest, AssignOrReturnPropagatesErrorUnchanged) {
  int steps = 0;
  Result<int> r = sum_of_two(2, -4, steps);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "must be positive, got -4");
  EXPECT_EQ(steps, 1);

  steps = 0;
  r = sum_of_two(0, 1, steps);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "must be positive, got 0");
  EXPECT_EQ(steps, 0);
}

TEST(StatusMacrosTest, AssignOrReturnInStatusFunction) {
  EXPECT_TRUE(add_context(1).ok());
  Status s = add_context(-1);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "must be positive, got -1");
}

TEST(StatusMacrosTest, AssignOrReturnMovesMoveOnlyValues) {
  Result<int> r = unbox(41);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 42);
  Result<int> e = unbox(-1);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "negative");
}

TEST(StatusMacrosTest, AssignOrReturnToExistingVariable) {
  Result<int> r = assign_existing(4);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 40);
  EXPECT_FALSE(assign_existing(-4).ok());
}

}  // namespace
}  // namespace argus
