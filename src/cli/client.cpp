#include "cli/client.h"

#include <curl/curl.h>

#include <mutex>

namespace argus::cli {
namespace {

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

Client::Client(std::string server, std::string token, long timeout_ms)
    : server_(std::move(server)), token_(std::move(token)), timeout_ms_(timeout_ms) {
  while (!server_.empty() && server_.back() == '/') server_.pop_back();
  if (server_.find("://") == std::string::npos) server_ = "http://" + server_;
}

Result<HttpResult> Client::request(const std::string& method, const std::string& path, const std::string& body,
                                   const std::string& content_type) {
  global_init();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return Status::internal("curl_easy_init failed");
  HttpResult out;
  std::string url = server_ + path;
  curl_slist* headers = nullptr;
  if (!content_type.empty()) headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  if (!token_.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + token_).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms_);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms_, 5000L));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out.body);
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
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    return Status::unavailable("cannot reach the Argus server at " + server_ + ": " + curl_easy_strerror(rc));
  }
  return out;
}

}  // namespace argus::cli
