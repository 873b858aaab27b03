// A stand-in for an Argus server's sign-in endpoints, served by a real api::HttpServer on a
// free loopback port: one user, access tokens the test can expire, refresh tokens that are
// single use and rotate (reusing one revokes every session), and 429 with Retry-After on
// demand. The real endpoints are exercised end to end in tests/e2e/test_cli_login.py.
//
// Thread-safe: handlers run on the server's I/O thread, the test reads counters from its own.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/server.h"

namespace argus::cli::testing {

class FakeAuthServer {
 public:
  static constexpr const char* kUser = "admin";
  static constexpr const char* kPassword = "correct-horse-battery";

  FakeAuthServer();
  ~FakeAuthServer();

  std::string url() const;

  int logins() const;
  int refreshes() const;  // successful ones
  int logouts() const;
  int always_401_hits() const;
  // Every Authorization header seen on non-auth requests, in order.
  std::vector<std::string> authorizations() const;
  // Every token this server handed out (to check none is ever printed).
  std::vector<std::string> issued_tokens() const;
  bool refresh_token_valid(const std::string& token) const;

  // Access tokens issued so far get 401 from now on (the server's view of expiry).
  void expire_access_tokens();
  // Every refresh token stops working (as after a password change).
  void revoke_sessions();
  // Sign-in answers 429 with this Retry-After (0: normal again).
  void set_locked(int retry_after_s);
  void set_expires_in(std::int64_t seconds);
  // Answers "METHOD /path" (after the credential check) with `status` and `body`, for
  // routes beyond the sign-in ones; requests() records what was asked ("METHOD target").
  void set_answer(const std::string& method_and_path, int status, nlohmann::json body);
  std::vector<std::string> requests() const;

 private:
  api::Response handle(api::Request& req);

  mutable std::mutex mu_;
  int next_ = 1;
  int logins_ = 0;
  int refreshes_ = 0;
  int logouts_ = 0;
  int always_401_hits_ = 0;
  int locked_s_ = 0;
  std::int64_t expires_in_ = 900;
  std::set<std::string> valid_access_;
  std::set<std::string> valid_refresh_;
  std::set<std::string> used_refresh_;
  std::vector<std::string> issued_;
  std::vector<std::string> authorizations_;
  std::map<std::string, std::pair<int, nlohmann::json>> answers_;
  std::vector<std::string> requests_;
  std::unique_ptr<api::HttpServer> server_;
};

}  // namespace argus::cli::testing
