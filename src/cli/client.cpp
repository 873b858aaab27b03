#include "cli/client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <mutex>
#include <thread>

#include <argus_version.h>

namespace argus::cli {
namespace {

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// Collects the header lines of the last response (a redirect or 100 Continue starts a new block).
std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* headers = static_cast<std::vector<std::pair<std::string, std::string>>*>(user);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    headers->emplace_back(lower(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  }
  return size * n;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

curl_slist* request_headers(const std::string& token, const std::string& content_type, const RequestOptions& o,
                            const char* accept) {
  curl_slist* headers = nullptr;
  if (!content_type.empty()) headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
  headers = curl_slist_append(headers, accept);
  if (!token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
  for (const auto& [name, value] : o.headers) headers = curl_slist_append(headers, (name + ": " + value).c_str());
  return headers;
}

// What stream() keeps between curl callbacks.
struct StreamState {
  CURL* curl = nullptr;
  const std::function<bool(std::string_view)>* on_data = nullptr;
  const std::function<bool()>* should_stop = nullptr;
  StreamEnd end;
  bool checked_status = false;
};

std::size_t on_stream_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* s = static_cast<StreamState*>(user);
  if (!s->checked_status) {
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->end.status);
    s->checked_status = true;
  }
  if (s->end.status < 200 || s->end.status > 299) {
    s->end.answer.body.append(data, size * n);
    return size * n;
  }
  if (!(*s->on_data)(std::string_view(data, size * n))) {
    s->end.stopped = true;
    return 0;  // aborts the transfer
  }
  return size * n;
}

int on_stream_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* s = static_cast<StreamState*>(user);
  if (*s->should_stop && (*s->should_stop)()) {
    s->end.stopped = true;
    return 1;
  }
  return 0;
}

}  // namespace

const std::string* HttpResult::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

std::string normalize_server(std::string_view server) {
  std::string s(trim(server));
  while (!s.empty() && s.back() == '/') s.pop_back();
  std::size_t scheme_end = s.find("://");
  if (scheme_end == std::string::npos) {
    s = "http://" + s;
    scheme_end = 4;
  }
  std::size_t host_end = s.find('/', scheme_end + 3);
  if (host_end == std::string::npos) host_end = s.size();
  return lower(std::string_view(s).substr(0, host_end)) + s.substr(host_end);
}

bool idempotent_method(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" || method == "OPTIONS";
}

long retry_delay_ms(const RetryPolicy& policy, int attempt, const HttpResult* answer) {
  if (answer != nullptr) {
    if (const std::string* after = answer->header("retry-after")) {
      long seconds = 0;
      auto [end, ec] = std::from_chars(after->data(), after->data() + after->size(), seconds);
      if (ec == std::errc() && end == after->data() + after->size() && seconds >= 0) {
        return std::min(seconds * 1000, policy.max_retry_after_ms);
      }
    }
  }
  long delay = policy.first_backoff_ms;
  for (int i = 1; i < attempt && delay < policy.max_backoff_ms; ++i) delay *= 2;
  return std::min(delay, policy.max_backoff_ms);
}

Client::Client(std::string server, std::string token, long timeout_ms)
    : server_(normalize_server(server)), token_(std::move(token)), timeout_ms_(timeout_ms) {}

Client::~Client() {
  if (handle_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(handle_));
}

Client::Client(Client&& other) noexcept
    : server_(std::move(other.server_)),
      token_(std::move(other.token_)),
      timeout_ms_(other.timeout_ms_),
      retry_(other.retry_),
      sleep_(std::move(other.sleep_)),
      handle_(std::exchange(other.handle_, nullptr)) {}

Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(handle_));
    server_ = std::move(other.server_);
    token_ = std::move(other.token_);
    timeout_ms_ = other.timeout_ms_;
    retry_ = other.retry_;
    sleep_ = std::move(other.sleep_);
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

Result<HttpResult> Client::request(const std::string& method, const std::string& path, const std::string& body,
                                   const std::string& content_type, const RequestOptions& options) {
  const bool may_retry = options.idempotent || idempotent_method(method);
  const int attempts = may_retry ? std::max(1, retry_.attempts) : 1;
  for (int attempt = 1;; ++attempt) {
    Result<HttpResult> r = request_once(method, path, body, content_type, options);
    const bool transient = !r.ok() ? r.status().code() == StatusCode::kUnavailable
                                   : (r->status == 502 || r->status == 503 || r->status == 504);
    if (!transient || attempt >= attempts) return r;
    long wait = retry_delay_ms(retry_, attempt, r.ok() ? &*r : nullptr);
    if (sleep_) {
      sleep_(wait);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(wait));
    }
  }
}

Result<HttpResult> Client::request_once(const std::string& method, const std::string& path, const std::string& body,
                                        const std::string& content_type, const RequestOptions& options) {
  global_init();
  if (handle_ == nullptr) handle_ = curl_easy_init();
  CURL* curl = static_cast<CURL*>(handle_);
  if (curl == nullptr) return Status::internal("curl_easy_init failed");
  curl_easy_reset(curl);  // keeps the open connection
  HttpResult out;
  std::string url = server_ + path;
  curl_slist* headers = request_headers(token_, content_type, options, "Accept: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "argus-cli/" ARGUS_VERSION);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms_);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms_, 5000L));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &out.headers);
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
    char* ct = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
    if (ct != nullptr) out.content_type = ct;
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    return Status::unavailable("cannot reach the Argus server at " + server_ + ": " + curl_easy_strerror(rc));
  }
  return out;
}

Result<StreamEnd> Client::stream(const std::string& path, const RequestOptions& options,
                                 const std::function<bool(std::string_view)>& on_data,
                                 const std::function<bool()>& should_stop) {
  global_init();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return Status::internal("curl_easy_init failed");
  StreamState state;
  state.curl = curl;
  state.on_data = &on_data;
  state.should_stop = &should_stop;
  std::string url = server_ + path;
  curl_slist* headers = request_headers(token_, "", options, "Accept: text/event-stream");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "argus-cli/" ARGUS_VERSION);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms_, 5000L));
  // The server sends a heartbeat at least every few minutes; silence longer than that
  // means a dead connection.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 660L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_stream_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &state.end.answer.headers);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_stream_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &state);
  CURLcode rc = curl_easy_perform(curl);
  if (state.end.status == 0) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &state.end.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  state.end.answer.status = state.end.status;
  if (rc != CURLE_OK && !state.end.stopped && state.end.status == 0) {
    return Status::unavailable("cannot reach the Argus server at " + server_ + ": " + curl_easy_strerror(rc));
  }
  return std::move(state.end);
}

}  // namespace argus::cli
