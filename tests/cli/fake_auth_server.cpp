#include "cli/fake_auth_server.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace argus::cli::testing {
namespace {

using nlohmann::json;

api::Response problem(int status, const std::string& detail) {
  return api::Response::text(status, json{{"title", "error"}, {"status", status}, {"detail", detail}}.dump(),
                             "application/problem+json");
}

std::string field(const std::string& body, const char* name) {
  json doc = json::parse(body, nullptr, false);
  if (!doc.is_object() || !doc.contains(name) || !doc[name].is_string()) return "";
  return doc[name].get<std::string>();
}

}  // namespace

FakeAuthServer::FakeAuthServer() {
  ServerConfig c;
  c.listen_host = "127.0.0.1";
  c.listen_port = 0;
  c.io_threads = 1;
  server_ = std::make_unique<api::HttpServer>(
      c, [this](api::Request& r) { return handle(r); }, nullptr);
  if (!server_->start().ok()) throw std::runtime_error("fake server did not start");
}

FakeAuthServer::~FakeAuthServer() { server_->stop(std::chrono::seconds(1)); }

std::string FakeAuthServer::url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

int FakeAuthServer::logins() const {
  std::lock_guard lock(mu_);
  return logins_;
}
int FakeAuthServer::refreshes() const {
  std::lock_guard lock(mu_);
  return refreshes_;
}
int FakeAuthServer::logouts() const {
  std::lock_guard lock(mu_);
  return logouts_;
}
int FakeAuthServer::always_401_hits() const {
  std::lock_guard lock(mu_);
  return always_401_hits_;
}
std::vector<std::string> FakeAuthServer::authorizations() const {
  std::lock_guard lock(mu_);
  return authorizations_;
}
std::vector<std::string> FakeAuthServer::issued_tokens() const {
  std::lock_guard lock(mu_);
  return issued_;
}
bool FakeAuthServer::refresh_token_valid(const std::string& token) const {
  std::lock_guard lock(mu_);
  return valid_refresh_.count(token) > 0;
}
void FakeAuthServer::expire_access_tokens() {
  std::lock_guard lock(mu_);
  valid_access_.clear();
}
void FakeAuthServer::revoke_sessions() {
  std::lock_guard lock(mu_);
  valid_refresh_.clear();
}
void FakeAuthServer::set_locked(int retry_after_s) {
  std::lock_guard lock(mu_);
  locked_s_ = retry_after_s;
}
void FakeAuthServer::set_expires_in(std::int64_t seconds) {
  std::lock_guard lock(mu_);
  expires_in_ = seconds;
}

api::Response FakeAuthServer::handle(api::Request& req) {
  std::lock_guard lock(mu_);
  auto issue = [this] {
    int n = next_++;
    std::string access = "at-secret-" + std::to_string(n);
    std::string refresh = "rt-secret-" + std::to_string(n);
    valid_access_.insert(access);
    valid_refresh_.insert(refresh);
    issued_.push_back(access);
    issued_.push_back(refresh);
    return api::Response::json(
        200,
        {{"access_token", access}, {"refresh_token", refresh}, {"expires_in", expires_in_}, {"token_type", "Bearer"}});
  };
  const bool post = req.method == api::Method::kPost;
  if (post && req.path == "/api/v1/auth/login") {
    if (locked_s_ > 0) {
      api::Response r =
          problem(429, "too many failed sign-in attempts; retry after " + std::to_string(locked_s_) + " seconds");
      r.set_header("Retry-After", std::to_string(locked_s_));
      return r;
    }
    if (field(req.body, "username") != kUser || field(req.body, "password") != kPassword) {
      return problem(401, "invalid username or password");
    }
    ++logins_;
    return issue();
  }
  if (post && req.path == "/api/v1/auth/refresh") {
    std::string token = field(req.body, "refresh_token");
    if (used_refresh_.count(token) > 0) {  // reuse: the whole sign-in is revoked
      valid_refresh_.clear();
      valid_access_.clear();
      return problem(401, "refresh token reused");
    }
    if (valid_refresh_.erase(token) == 0) return problem(401, "invalid refresh token");
    used_refresh_.insert(token);
    ++refreshes_;
    return issue();
  }
  if (post && req.path == "/api/v1/auth/logout") {
    std::string token = field(req.body, "refresh_token");
    if (valid_refresh_.erase(token) > 0) used_refresh_.insert(token);
    ++logouts_;
    return api::Response::empty(204);
  }
  if (req.path == "/ready") return api::Response::json(200, {{"status", "pass"}});

  const std::string* auth = req.header("authorization");
  authorizations_.push_back(auth != nullptr ? *auth : "");
  if (req.path == "/always401") {
    ++always_401_hits_;
    return problem(401, "never");
  }
  const std::string prefix = "Bearer ";
  if (auth == nullptr || auth->rfind(prefix, 0) != 0 || valid_access_.count(auth->substr(prefix.size())) == 0) {
    return problem(401, "missing or invalid credentials");
  }
  if (req.path == "/api/v1/users/me") {
    return api::Response::json(200, {{"username", kUser}, {"role", "admin"}, {"cameras", nullptr}, {"via", "user"}});
  }
  if (req.path == "/api/v1/system/info") {
    return api::Response::json(200, {{"version", "9.9.9"},
                                     {"git_revision", "abc"},
                                     {"uptime_seconds", 5.0},
                                     {"storage", {{"kind", "sqlite"}, {"schema_version", 3}}}});
  }
  requests_.push_back(std::string(api::method_name(req.method)) + " " + req.target);
  if (auto it = answers_.find(std::string(api::method_name(req.method)) + " " + req.path); it != answers_.end()) {
    if (it->second.second.is_null()) return api::Response::empty(it->second.first);
    return api::Response::json(it->second.first, it->second.second);
  }
  if (req.path == "/api/v1/cameras") return api::Response::json(200, {{"items", nlohmann::json::array()}});
  return problem(404, "no such path");
}

void FakeAuthServer::set_answer(const std::string& method_and_path, int status, nlohmann::json body) {
  std::lock_guard lock(mu_);
  answers_[method_and_path] = {status, std::move(body)};
}

std::vector<std::string> FakeAuthServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

}  // namespace argus::cli::testing
