// Status and Result<T>: how every Argus function reports a failure its caller must handle.
//
// A Status is either ok or carries a code and a message written for the person who will
// read it (an operator, an API client). Result<T> holds a T or a non-ok Status.
// Exceptions never cross a module boundary; code that calls a throwing library converts
// to Status at that call.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace argus {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller's input is wrong; retrying will not help
  kNotFound,            // the named thing does not exist
  kAlreadyExists,       // a create collided with an existing thing
  kFailedPrecondition,  // state does not allow it now (version mismatch, newer schema)
  kResourceExhausted,   // a bound was hit (queue full, too many connections)
  kUnavailable,         // a dependency is down; retrying later may help
  kDeadlineExceeded,    // took too long
  kCancelled,           // stopped on purpose (shutdown, user cancel)
  kIOError,             // the filesystem or network failed
  kCorruption,          // stored data is not what we wrote
  kInternal,            // a bug: an invariant broke
  kUnauthenticated,     // no valid credentials (missing, wrong, expired or revoked); HTTP 401
  kPermissionDenied,    // authenticated, but not allowed to do this; HTTP 403
};

std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return {}; }
  static Status invalid_argument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status already_exists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status failed_precondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
  static Status resource_exhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
  static Status unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status deadline_exceeded(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }
  static Status cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
  static Status io_error(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
  static Status permission_denied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NotFound: camera 'x' does not exist", or "OK".
  std::string to_string() const;

  // Returns a copy whose message is prefixed with context ("open store: ...").
  Status with_context(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Holds either a value or a non-ok Status. Accessing value() of an error is a bug.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "Result built from an ok Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & {
    assert(ok());
    return std::get<T>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace argus

#define ARGUS_CONCAT_INNER_(a, b) a##b
#define ARGUS_CONCAT_(a, b) ARGUS_CONCAT_INNER_(a, b)

// Returns the Status from the enclosing function if `expr` is not ok.
#define ARGUS_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::argus::Status argus_status_ = (expr);        \
    if (!argus_status_.ok()) return argus_status_; \
  } while (0)

// `ARGUS_ASSIGN_OR_RETURN(auto x, f());` declares x from a Result or returns its Status.
#define ARGUS_ASSIGN_OR_RETURN(lhs, expr) \
  ARGUS_ASSIGN_OR_RETURN_IMPL_(ARGUS_CONCAT_(argus_result_, __LINE__), lhs, expr)
#define ARGUS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
