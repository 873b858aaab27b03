#include "cli/session.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "cli/terminal.h"

namespace argus::cli {
namespace {

using nlohmann::json;

// "wait 42 s" from Retry-After (delta-seconds), else the server's own words.
std::string wait_message(const HttpResult& r) {
  if (const std::string* after = r.header("retry-after")) {
    long long seconds = 0;
    auto [end, ec] = std::from_chars(after->data(), after->data() + after->size(), seconds);
    if (ec == std::errc() && end == after->data() + after->size()) {
      return "too many sign-in attempts: wait " + std::to_string(seconds) + " s before trying again";
    }
  }
  return "too many sign-in attempts: " + describe_answer(r);
}

// The answer to login or refresh as a pair, or the Status its HTTP status means.
Result<TokenPair> token_answer(const Client& client, const Result<HttpResult>& r) {
  if (!r.ok()) return r.status();
  if (r->status == 429) return Status::resource_exhausted(wait_message(*r));
  if (r->status == 400 || r->status == 401 || r->status == 403) return Status::unauthenticated(describe_answer(*r));
  if (r->status != 200)
    return Status::internal("unexpected answer from " + client.server() + ": " + describe_answer(*r));
  json doc = json::parse(r->body, nullptr, false);
  TokenPair pair;
  if (doc.is_object()) {
    auto access = doc.find("access_token");
    auto refresh = doc.find("refresh_token");
    auto expires = doc.find("expires_in");
    if (access != doc.end() && access->is_string() && refresh != doc.end() && refresh->is_string() &&
        expires != doc.end() && expires->is_number_integer()) {
      pair.access_token = access->get<std::string>();
      pair.refresh_token = refresh->get<std::string>();
      pair.expires_in = expires->get<std::int64_t>();
    }
  }
  if (pair.access_token.empty() || pair.refresh_token.empty()) {
    return Status::internal("the answer of " + client.server() + " holds no token pair");
  }
  return pair;
}

Result<HttpResult> post_json(Client& client, const std::string& path, std::string body) {
  client.set_token("");
  auto r = client.request("POST", path, body, "application/json");
  wipe(body);
  return r;
}

}  // namespace

std::string describe_answer(const HttpResult& answer) {
  std::string http = "HTTP " + std::to_string(answer.status);
  json doc = json::parse(answer.body, nullptr, false);
  if (doc.is_object()) {
    for (const char* field : {"detail", "title"}) {
      auto it = doc.find(field);
      if (it != doc.end() && it->is_string() && !it->get<std::string>().empty()) {
        return it->get<std::string>() + " (" + http + ")";
      }
    }
  }
  return http;
}

Result<TokenPair> auth_login(Client& client, std::string_view username, std::string_view password) {
  std::string body;
  try {
    body = json{{"username", username}, {"password", password}}.dump();
  } catch (const json::exception&) {  // not UTF-8
    return Status::invalid_argument("the user name and the password must be UTF-8 text");
  }
  return token_answer(client, post_json(client, "/api/v1/auth/login", std::move(body)));
}

Result<TokenPair> auth_refresh(Client& client, const std::string& refresh_token) {
  return token_answer(client, post_json(client, "/api/v1/auth/refresh", json{{"refresh_token", refresh_token}}.dump()));
}

Status auth_logout(Client& client, const std::string& refresh_token) {
  auto r = post_json(client, "/api/v1/auth/logout", json{{"refresh_token", refresh_token}}.dump());
  if (!r.ok()) return r.status();
  if (r->status == 204 || r->status == 200) return Status::ok_status();
  if (r->status == 429) return Status::resource_exhausted(wait_message(*r));
  if (r->status == 400 || r->status == 401) return Status::unauthenticated(describe_answer(*r));
  return Status::internal("unexpected answer from " + client.server() + ": " + describe_answer(*r));
}

Result<Session> Session::open(SessionOptions options) {
  Client client(options.server, "", options.timeout_ms);
  Session s(std::move(options), std::move(client));
  s.clock_ = s.options_.clock != nullptr ? s.options_.clock : &system_clock();
  if (!s.options_.flag_token.empty()) {
    s.source_ = CredentialSource::kFlag;
  } else if (!s.options_.env_token.empty()) {
    s.source_ = CredentialSource::kEnvironment;
  } else if (!s.options_.credentials_path.empty()) {
    ARGUS_ASSIGN_OR_RETURN(auto stored, s.store_.get(s.server()));
    if (stored) {
      s.stored_ = std::move(*stored);
      s.source_ = CredentialSource::kStored;
    }
  }
  return s;
}

const std::string& Session::current_token() const {
  static const std::string kNone;
  switch (source_) {
    case CredentialSource::kFlag:
      return options_.flag_token;
    case CredentialSource::kEnvironment:
      return options_.env_token;
    case CredentialSource::kStored:
      return stored_.access_token;
    case CredentialSource::kNone:
      break;
  }
  return kNone;
}

bool Session::expiring(const StoredCredential& c) const {
  return c.access_expires_at - clock_->now_ms() <= kRefreshMarginMs;
}

Status Session::refresh(const std::string& stale_access) {
  const std::string again = "run argus login --server " + server();
  ARGUS_ASSIGN_OR_RETURN(CredentialStore::Lock lock, store_.lock());
  // Another argus may have refreshed (or signed out) while this one waited for the lock.
  ARGUS_ASSIGN_OR_RETURN(CredentialMap all, store_.load());
  auto it = all.find(server());
  if (it == all.end()) return Status::unauthenticated("signed out of " + server() + ": " + again);
  if (it->second.access_token != stale_access && !expiring(it->second)) {
    stored_ = it->second;
    return Status::ok_status();
  }
  auto pair = auth_refresh(client_, it->second.refresh_token);
  if (!pair.ok()) {
    if (pair.status().code() == StatusCode::kUnauthenticated) {
      return Status::unauthenticated("session expired: " + again);
    }
    return pair.status().with_context("refresh the session");
  }
  it->second.access_token = std::move(pair->access_token);
  it->second.refresh_token = std::move(pair->refresh_token);
  it->second.access_expires_at = clock_->now_ms() + pair->expires_in * 1000;
  Status saved = store_.save(lock, all);
  if (!saved.ok()) {
    // The old refresh token is spent and the new one is lost: only a new sign-in helps.
    return saved.with_context("store the refreshed session (" + again + ")");
  }
  stored_ = it->second;
  return Status::ok_status();
}

Result<HttpResult> Session::request(const std::string& method, const std::string& path, const std::string& body,
                                    const std::string& content_type, const RequestOptions& options) {
  if (source_ == CredentialSource::kStored && expiring(stored_)) {
    ARGUS_RETURN_IF_ERROR(refresh(stored_.access_token));
  }
  client_.set_token(current_token());
  auto r = client_.request(method, path, body, content_type, options);
  if (!r.ok() || r->status != 401 || source_ != CredentialSource::kStored) return r;
  ARGUS_RETURN_IF_ERROR(refresh(stored_.access_token));
  client_.set_token(current_token());
  return client_.request(method, path, body, content_type, options);
}

Result<StreamEnd> Session::stream(const std::string& path, const RequestOptions& options,
                                  const std::function<bool(std::string_view)>& on_data,
                                  const std::function<bool()>& should_stop) {
  if (source_ == CredentialSource::kStored && expiring(stored_)) {
    ARGUS_RETURN_IF_ERROR(refresh(stored_.access_token));
  }
  client_.set_token(current_token());
  return client_.stream(path, options, on_data, should_stop);
}

}  // namespace argus::cli
