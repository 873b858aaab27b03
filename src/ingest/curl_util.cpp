#include "ingest/curl_util.h"

#include <chrono>
#include <mutex>

#include <sys/socket.h>

#include "argus_version.h"

namespace argus::ingest {
namespace {

void ensure_global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Frees what curl_url_get returned.
struct CurlString {
  char* p = nullptr;
  ~CurlString() { curl_free(p); }
  std::string str() const { return p != nullptr ? std::string(p) : std::string(); }
};

struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

}  // namespace

Result<HttpTarget> split_http_url(const std::string& url) { return split_camera_url(url, false); }

Result<HttpTarget> split_camera_url(const std::string& url, bool rtsp) {
  ensure_global_init();
  HttpTarget t;
  t.masked_url = mask_url_credentials(url);
  std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  if (!u) return Status::internal("out of memory parsing a URL");
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return Status::invalid_argument("'" + t.masked_url + "' is not a valid URL");
  }
  CurlString scheme;
  const bool scheme_ok = curl_url_get(u.get(), CURLUPART_SCHEME, &scheme.p, 0) == CURLUE_OK &&
                        (rtsp ? scheme.str() == "rtsp" : (scheme.str() == "http" || scheme.str() == "https"));
  if (!scheme_ok) {
    return Status::invalid_argument("'" + t.masked_url + "' is not an " +
                                    (rtsp ? "rtsp:// URL" : "http:// or https:// URL"));
  }
  CurlString user, password;
  if (curl_url_get(u.get(), CURLUPART_USER, &user.p, CURLU_URLDECODE) == CURLUE_OK) {
    t.username = user.str();
    t.has_credentials = true;
  }
  if (curl_url_get(u.get(), CURLUPART_PASSWORD, &password.p, CURLU_URLDECODE) == CURLUE_OK) {
    t.password = password.str();
    t.has_credentials = true;
  }
  curl_url_set(u.get(), CURLUPART_USER, nullptr, 0);
  curl_url_set(u.get(), CURLUPART_PASSWORD, nullptr, 0);
  CurlString clean;
  if (curl_url_get(u.get(), CURLUPART_URL, &clean.p, 0) != CURLUE_OK) {
    return Status::invalid_argument("'" + t.masked_url + "' is not a valid URL");
  }
  t.url = clean.str();
  return t;
}

Status http_status_error(long code, const HttpTarget& target) {
  std::string what = "HTTP " + std::to_string(code) + " from " + target.masked_url;
  if (code == 401 || code == 403) {
    return Status::failed_precondition(
        target.has_credentials ? "authentication failed (" + what + "): check the user name and password"
                               : "the camera requires authentication (" + what + "): put user:password@ in the URL");
  }
  if (code == 404 || code == 410) {
    return Status::not_found("no such resource on the camera (" + what + "): check the URL path");
  }
  if (code >= 300 && code < 500) {
    return Status::failed_precondition("the camera refused the request (" + what + ")");
  }
  return Status::unavailable("the camera answered with an error (" + what + ")");
}

Status curl_error_status(CURLcode code, const char* error_buffer, const HttpTarget& target) {
  std::string detail = (error_buffer != nullptr && error_buffer[0] != '\0') ? std::string(error_buffer)
                                                                            : std::string(curl_easy_strerror(code));
  std::string msg = target.masked_url + ": " + detail;
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return Status::deadline_exceeded("timed out: " + msg);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return Status::invalid_argument("unusable URL " + msg);
    case CURLE_LOGIN_DENIED:
      return Status::failed_precondition("authentication failed: " + msg);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return Status::failed_precondition("the camera's TLS certificate is not trusted: " + msg);
    case CURLE_FILESIZE_EXCEEDED:
      return Status::failed_precondition("the image is larger than " + std::to_string(kMaxImageBytes) +
                                         " bytes: " + msg);
    case CURLE_OUT_OF_MEMORY:
      return Status::resource_exhausted("out of memory: " + msg);
    default:
      return Status::unavailable(msg);
  }
}

Status rtsp_describe(const HttpTarget& target, std::int64_t timeout_ms) {
  ensure_global_init();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> e(curl_easy_init(), &curl_easy_cleanup);
  if (!e) return Status::resource_exhausted("out of memory probing " + target.masked_url);
  char error[CURL_ERROR_SIZE] = {};
  std::string sdp;
  auto sink = +[](char* data, std::size_t size, std::size_t n, void* out) -> std::size_t {
    auto* s = static_cast<std::string*>(out);
    if (s->size() < 64 * 1024) s->append(data, std::min<std::size_t>(size * n, 64 * 1024 - s->size()));
    return size * n;
  };
  CURL* h = e.get();
  curl_easy_setopt(h, CURLOPT_URL, target.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "rtsp");
  curl_easy_setopt(h, CURLOPT_RTSP_REQUEST, static_cast<long>(CURL_RTSPREQ_DESCRIBE));
  curl_easy_setopt(h, CURLOPT_RTSP_STREAM_URI, target.url.c_str());
  if (target.has_credentials) {
    curl_easy_setopt(h, CURLOPT_USERNAME, target.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, target.password.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC | CURLAUTH_DIGEST));
  }
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "argus/" ARGUS_VERSION);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sdp);
  CURLcode rc = curl_easy_perform(h);
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  if (code >= 300) {
    // RTSP reuses HTTP's status codes and their meaning.
    std::string what = "RTSP " + std::to_string(code) + " from " + target.masked_url;
    if (code == 401 || code == 403) {
      return Status::failed_precondition(
          target.has_credentials ? "authentication failed (" + what + "): check the user name and password"
                                 : "the camera requires authentication (" + what + "): put user:password@ in the URL");
    }
    if (code == 404) return Status::not_found("no such stream on the camera (" + what + "): check the URL path");
    return http_status_error(code, target);
  }
  if (rc != CURLE_OK) return curl_error_status(rc, error, target);
  if (sdp.find("m=video") == std::string::npos) {
    return Status::failed_precondition(target.masked_url + " describes no video stream");
  }
  return Status::ok_status();
}

CurlTransfer::CurlTransfer() {
  ensure_global_init();
  easy_ = curl_easy_init();
  multi_ = curl_multi_init();
}

CurlTransfer::~CurlTransfer() {
  if (multi_ != nullptr && easy_ != nullptr) curl_multi_remove_handle(multi_, easy_);
  if (easy_ != nullptr) curl_easy_cleanup(easy_);
  if (multi_ != nullptr) curl_multi_cleanup(multi_);
}

void CurlTransfer::configure(const HttpTarget& target, std::int64_t connect_timeout_ms, const UrlGuard* guard) {
  target_ = target;
  guard_ = guard;
  CURL* e = easy_;
  if (guard != nullptr) {
    // libcurl resolves (and follows redirects) itself; vet the address it is about to
    // connect to, whatever name led there.
    auto open_socket = +[](void* self, curlsocktype, curl_sockaddr* a) -> curl_socket_t {
      auto* t = static_cast<CurlTransfer*>(self);
      auto ip = IpAddress::from_sockaddr(&a->addr);
      Status ok = ip ? t->guard_->check_resolved(t->current_host(), *ip)
                     : Status::invalid_argument("unsupported address family");
      if (!ok.ok()) {
        t->refused_ = ok.message();
        return CURL_SOCKET_BAD;
      }
      return ::socket(a->family, a->socktype, a->protocol);
    };
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, this);
  }
  curl_easy_setopt(e, CURLOPT_URL, target.url.c_str());
  if (target.has_credentials) {
    curl_easy_setopt(e, CURLOPT_USERNAME, target.username.c_str());
    curl_easy_setopt(e, CURLOPT_PASSWORD, target.password.c_str());
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC | CURLAUTH_DIGEST));
  }
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 3L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout_ms));
  curl_easy_setopt(e, CURLOPT_USERAGENT, "argus/" ARGUS_VERSION);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
}

std::string CurlTransfer::current_host() const {
  char* url = nullptr;
  curl_easy_getinfo(easy_, CURLINFO_EFFECTIVE_URL, &url);
  std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  CurlString host;
  if (url == nullptr || !u || curl_url_set(u.get(), CURLUPART_URL, url, 0) != CURLUE_OK ||
      curl_url_get(u.get(), CURLUPART_HOST, &host.p, 0) != CURLUE_OK) {
    return {};
  }
  std::string h = host.str();
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  return h;
}

Status CurlTransfer::perform(const StopSignal& stop, const std::function<Status()>& tick) {
  error_[0] = '\0';
  last_code_ = CURLE_OK;
  if (curl_multi_add_handle(multi_, easy_) != CURLM_OK) {
    return Status::internal("libcurl refused the transfer");
  }
  struct Detach {
    CURLM* m;
    CURL* e;
    ~Detach() { curl_multi_remove_handle(m, e); }
  } detach{multi_, easy_};

  while (true) {
    int running = 0;
    CURLMcode mc = curl_multi_perform(multi_, &running);
    if (mc != CURLM_OK) return Status::internal(std::string("libcurl: ") + curl_multi_strerror(mc));
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy_) {
        last_code_ = msg->data.result;
        if (last_code_ != CURLE_OK && !refused_.empty()) {
          std::string why = std::move(refused_);
          refused_.clear();
          return Status::failed_precondition("refused to connect: " + why);
        }
        return last_code_ == CURLE_OK ? Status() : curl_error_status(last_code_, error_, target_);
      }
    }
    if (stop.raised()) return Status::cancelled("stopped");
    if (tick) ARGUS_RETURN_IF_ERROR(tick());
    if (running == 0) {
      // Finished without a DONE message: should not happen; treat as a failed transfer.
      last_code_ = CURLE_RECV_ERROR;
      return Status::unavailable(target_.masked_url + ": the transfer ended unexpectedly");
    }
    mc = curl_multi_poll(multi_, nullptr, 0, 100, nullptr);
    if (mc != CURLM_OK) return Status::internal(std::string("libcurl: ") + curl_multi_strerror(mc));
  }
}

long CurlTransfer::response_code() const {
  long code = 0;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

std::string CurlTransfer::content_type() const {
  char* ct = nullptr;
  curl_easy_getinfo(easy_, CURLINFO_CONTENT_TYPE, &ct);
  return ct != nullptr ? std::string(ct) : std::string();
}

}  // namespace argus::ingest
