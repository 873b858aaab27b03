#include "alerts/senders.h"

#include <curl/curl.h>
#include <mosquitto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <mutex>
#include <thread>

#include "core/clock.h"

namespace argus::alerts {
namespace {

using nlohmann::json;

void init_libraries() {
  static std::once_flag once;
  std::call_once(once, [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    mosquitto_lib_init();
  });
}

struct CurlDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

void append(Slist& list, const std::string& line) { list.reset(curl_slist_append(list.release(), line.c_str())); }

// Keeps the first bytes of a response body for error messages; discards the rest.
size_t keep_head(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  std::size_t total = size * n;
  if (out->size() < 200) out->append(data, std::min<std::size_t>(total, 200 - out->size()));
  return total;
}

struct ReadState {
  const std::string* data;
  std::size_t offset = 0;
};

size_t read_from(char* buffer, size_t size, size_t n, void* user) {
  auto* s = static_cast<ReadState*>(user);
  std::size_t room = size * n;
  std::size_t left = s->data->size() - s->offset;
  std::size_t take = std::min(room, left);
  std::memcpy(buffer, s->data->data() + s->offset, take);
  s->offset += take;
  return take;
}

std::string printable(std::string s) {
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return s;
}

// RFC 5322 date: "Wed, 25 Nov 2026 12:00:00 +0000".
std::string mail_date(UnixMillis ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string string_at(const json& doc, std::initializer_list<const char*> path) {
  const json* cur = &doc;
  for (const char* key : path) {
    if (!cur->is_object()) return "";
    auto it = cur->find(key);
    if (it == cur->end()) return "";
    cur = &*it;
  }
  return cur->is_string() ? cur->get<std::string>() : "";
}

class RealSender final : public Sender {
 public:
  RealSender(UrlGuard http, UrlGuard smtp, UrlGuard mqtt)
      : http_(std::move(http)), smtp_(std::move(smtp)), mqtt_(std::move(mqtt)) {}

  SendOutcome send(const Channel& channel, const std::string& delivery_id, const Notification& n) override {
    if (cancelled_) return SendOutcome::retry(kCancelled);
    switch (channel.type) {
      case ChannelType::kWebhook:
        return send_webhook(channel, delivery_id, n);
      case ChannelType::kEmail:
        return send_email(channel, delivery_id, n);
      case ChannelType::kMqtt:
        return send_mqtt(channel, n);
    }
    return SendOutcome::permanent("unknown channel type");
  }

  void cancel() override { cancelled_ = true; }

 private:
  static constexpr const char* kCancelled = "cancelled: the server is stopping";
  static constexpr const char* kTrustHint =
      " (the server's certificate is not trusted: give the channel its CA as config.ca_pem)";

  // libcurl calls this about once a second and more often while data moves; non-zero
  // aborts the transfer (CURLE_ABORTED_BY_CALLBACK).
  static int abort_if_cancelled(void* flag, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<const std::atomic<bool>*>(flag)->load() ? 1 : 0;
  }

  // The channel's timeout for connecting and for the whole transfer, its own CAs if it has
  // them (libcurl copies the blob), and cancel().
  void apply_channel_options(CURL* e, const Channel& ch) {
    if (auto ca = ch.config.find("ca_pem"); ca != ch.config.end() && ca->is_string()) {
      const std::string& pem = ca->get_ref<const std::string&>();
      curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
      curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
    }
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(ch.timeout_ms()));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(ch.timeout_ms()));
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, abort_if_cancelled);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, &cancelled_);
  }

  // A refused destination is permanent (the configuration must change); a name that does
  // not resolve may come back.
  static SendOutcome refused(const Status& s) {
    if (s.code() == StatusCode::kUnavailable) return SendOutcome::retry(s.message());
    return SendOutcome::permanent(s.message());
  }

  SendOutcome send_webhook(const Channel& ch, const std::string& delivery_id, const Notification& n) {
    const std::string url = ch.config.value("url", "");
    auto vetted = http_.vet(url);
    if (!vetted.ok()) return refused(vetted.status());
    const std::string body = notification_document(n).dump();
    CurlHandle h(curl_easy_init());
    if (!h) return SendOutcome::retry("libcurl could not start a transfer");
    Slist headers;
    append(headers, "Content-Type: application/json");
    append(headers, "User-Agent: argus");
    append(headers, "Expect:");
    append(headers, "X-Argus-Delivery: " + delivery_id);
    const std::string secret = ch.config.value("secret", "");
    if (!secret.empty()) append(headers, "X-Argus-Signature: sha256=" + hmac_sha256_hex(secret, body));
    if (auto hs = ch.config.find("headers"); hs != ch.config.end() && hs->is_object()) {
      for (const auto& [k, v] : hs->items()) {
        if (v.is_string()) append(headers, k + ": " + v.get<std::string>());
      }
    }
    Slist resolve;
    if (!vetted->curl_resolve_entry().empty()) append(resolve, vetted->curl_resolve_entry());
    std::string head;
    CURL* e = h.get();
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    apply_channel_options(e, ch);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
    if (resolve) curl_easy_setopt(e, CURLOPT_RESOLVE, resolve.get());
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, keep_head);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &head);
    CURLcode rc = curl_easy_perform(e);
    const std::string where = vetted->url.display;
    if (rc == CURLE_ABORTED_BY_CALLBACK) return SendOutcome::retry(kCancelled);
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE) {
      return SendOutcome::permanent("POST " + where + ": " + curl_easy_strerror(rc) + kTrustHint);
    }
    if (rc != CURLE_OK) {
      return SendOutcome::retry("POST " + where + ": " + curl_easy_strerror(rc));
    }
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200 && code < 300) return SendOutcome::delivered();
    std::string error = "POST " + where + " answered HTTP " + std::to_string(code);
    if (!head.empty()) error += ": " + printable(head);
    if (code >= 400 && code < 500 && code != 408 && code != 429) return SendOutcome::permanent(error);
    return SendOutcome::retry(error);
  }

  SendOutcome send_email(const Channel& ch, const std::string& delivery_id, const Notification& n) {
    const std::string url = ch.config.value("smtp_url", "");
    auto vetted = smtp_.vet(url);
    if (!vetted.ok()) return refused(vetted.status());
    const std::string from = ch.config.value("from", "");
    std::vector<std::string> to;
    for (const auto& a : ch.config.value("to", json::array())) to.push_back(a.get<std::string>());
    std::string to_line;
    for (const auto& a : to) to_line += (to_line.empty() ? "" : ", ") + a;

    json doc = notification_document(n);
    std::string severity = string_at(n.payload, {"severity"});
    std::string rule = string_at(n.payload, {"rule_name"});
    if (rule.empty()) rule = string_at(n.payload, {"rule", "name"});
    if (rule.empty()) rule = string_at(n.payload, {"message"});
    std::string subject = "[Argus] ";
    if (n.kind == "test") {
      subject += "test notification from channel " + ch.name;
    } else {
      subject += (severity.empty() ? n.kind : severity) + " " + (rule.empty() ? n.kind : rule);
      if (n.kind == "alert.resolved") subject += " (resolved)";
    }
    std::string msg;
    msg += "Date: " + mail_date(n.time ? n.time : system_clock().now_ms()) + "\r\n";
    msg += "From: " + from + "\r\n";
    msg += "To: " + to_line + "\r\n";
    msg += "Subject: " + printable(subject) + "\r\n";
    msg += "Message-ID: <" + delivery_id + "@argus>\r\n";
    msg += "MIME-Version: 1.0\r\n";
    msg += "Content-Type: text/plain; charset=utf-8\r\n";
    msg += "Content-Transfer-Encoding: 8bit\r\n";
    msg += "X-Argus-Delivery: " + delivery_id + "\r\n\r\n";
    msg += printable(subject) + "\r\n\r\n";
    std::string pretty = doc.dump(2);
    for (char c : pretty) {
      if (c == '\n')
        msg += "\r\n";
      else
        msg += c;
    }
    msg += "\r\n";

    CurlHandle h(curl_easy_init());
    if (!h) return SendOutcome::retry("libcurl could not start a transfer");
    CURL* e = h.get();
    Slist rcpt;
    for (const auto& a : to) append(rcpt, "<" + a + ">");
    Slist resolve;
    if (!vetted->curl_resolve_entry().empty()) append(resolve, vetted->curl_resolve_entry());
    const std::string mail_from = "<" + from + ">";
    ReadState reader{&msg};
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    apply_channel_options(e, ch);
    if (resolve) curl_easy_setopt(e, CURLOPT_RESOLVE, resolve.get());
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, mail_from.c_str());
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpt.get());
    curl_easy_setopt(e, CURLOPT_READFUNCTION, read_from);
    curl_easy_setopt(e, CURLOPT_READDATA, &reader);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    const std::string user = ch.config.value("username", "");
    const std::string pass = ch.config.value("password", "");
    if (!user.empty()) {
      curl_easy_setopt(e, CURLOPT_USERNAME, user.c_str());
      curl_easy_setopt(e, CURLOPT_PASSWORD, pass.c_str());
    }
    if (vetted->url.scheme == "smtp") {
      curl_easy_setopt(e, CURLOPT_USE_SSL,
                       static_cast<long>(ch.config.value("starttls", true) ? CURLUSESSL_ALL : CURLUSESSL_NONE));
    }
    CURLcode rc = curl_easy_perform(e);
    if (rc == CURLE_OK) return SendOutcome::delivered();
    if (rc == CURLE_ABORTED_BY_CALLBACK) return SendOutcome::retry(kCancelled);
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    std::string error = "mail via " + vetted->url.display + ": " + curl_easy_strerror(rc);
    if (code > 0) error += " (SMTP " + std::to_string(code) + ")";
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE) {
      return SendOutcome::permanent(error + kTrustHint);
    }
    if (rc == CURLE_LOGIN_DENIED || rc == CURLE_USE_SSL_FAILED || (code >= 500 && code < 600)) {
      return SendOutcome::permanent(error);
    }
    return SendOutcome::retry(error);
  }

  struct MqttState {
    std::mutex mu;
    int connack = -1;  // -1 = not yet
    bool published = false;
    bool disconnected = false;
    int mid = -1;
  };

  SendOutcome send_mqtt(const Channel& ch, const Notification& n) {
    const std::string url = ch.config.value("url", "");
    auto vetted = mqtt_.vet(url);
    if (!vetted.ok()) return refused(vetted.status());
    const bool tls = vetted->url.scheme == "mqtts";
    // Without TLS, connect to the vetted address itself; with TLS the name must stay for
    // certificate verification.
    std::string host = tls || vetted->addresses.empty() ? vetted->url.host : vetted->addresses.front().to_string();
    const int port = vetted->url.port;
    const std::string body = notification_document(n).dump();
    const int qos = ch.config.value("qos", 1);
    const bool retain = ch.config.value("retain", false);
    const std::string topic = ch.config.value("topic", "");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ch.timeout_ms());
    const std::string where = "MQTT " + vetted->url.display;

    MqttState state;
    struct mosquitto* m = mosquitto_new(nullptr, true, &state);
    if (m == nullptr) return SendOutcome::retry("libmosquitto could not create a client");
    std::unique_ptr<struct mosquitto, void (*)(struct mosquitto*)> owner(m, mosquitto_destroy);
    mosquitto_connect_callback_set(m, [](struct mosquitto*, void* user, int rc) {
      auto* s = static_cast<MqttState*>(user);
      std::lock_guard lock(s->mu);
      s->connack = rc;
    });
    mosquitto_publish_callback_set(m, [](struct mosquitto*, void* user, int mid) {
      auto* s = static_cast<MqttState*>(user);
      std::lock_guard lock(s->mu);
      if (mid == s->mid) s->published = true;
    });
    mosquitto_disconnect_callback_set(m, [](struct mosquitto*, void* user, int) {
      auto* s = static_cast<MqttState*>(user);
      std::lock_guard lock(s->mu);
      s->disconnected = true;
    });
    const std::string user = ch.config.value("username", "");
    const std::string pass = ch.config.value("password", "");
    if (!user.empty()) mosquitto_username_pw_set(m, user.c_str(), pass.empty() ? nullptr : pass.c_str());
    if (tls) {
      int rc = mosquitto_tls_set(m, nullptr, "/etc/ssl/certs", nullptr, nullptr, nullptr);
      if (rc != MOSQ_ERR_SUCCESS)
        return SendOutcome::permanent(where + ": TLS setup failed: " + mosquitto_strerror(rc));
    }
    int rc = mosquitto_connect_async(m, host.c_str(), port, 30);
    if (rc != MOSQ_ERR_SUCCESS) {
      return SendOutcome::retry(where + ": connect failed: " +
                                (rc == MOSQ_ERR_ERRNO ? std::string(std::strerror(errno)) : mosquitto_strerror(rc)));
    }
    auto expired = [&] { return std::chrono::steady_clock::now() >= deadline; };
    // Runs the network loop until `done` or the deadline; false on timeout or a lost link.
    auto loop_until = [&](auto done) -> std::optional<std::string> {
      for (;;) {
        {
          std::lock_guard lock(state.mu);
          if (done()) return std::nullopt;
          if (state.disconnected) return std::string("the broker closed the connection");
        }
        if (expired()) return std::string("timed out");
        if (cancelled_) return std::string(kCancelled);
        int lrc = mosquitto_loop(m, 50, 1);
        if (lrc != MOSQ_ERR_SUCCESS && lrc != MOSQ_ERR_NO_CONN) {
          // A refused CONNACK both runs the callback and fails the loop: the callback's
          // answer is the better one.
          std::lock_guard lock(state.mu);
          if (done()) return std::nullopt;
          return std::string(lrc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(lrc));
        }
        if (lrc == MOSQ_ERR_NO_CONN) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    };
    if (auto err = loop_until([&] { return state.connack >= 0; })) {
      return SendOutcome::retry(where + ": connect: " + *err);
    }
    if (state.connack != 0) {
      std::string reason = mosquitto_connack_string(state.connack);
      // 4 bad user name or password, 5 not authorised: the configuration must change.
      if (state.connack == 4 || state.connack == 5) return SendOutcome::permanent(where + ": " + reason);
      return SendOutcome::retry(where + ": " + reason);
    }
    int mid = 0;
    {
      std::lock_guard lock(state.mu);
      rc = mosquitto_publish(m, &mid, topic.c_str(), static_cast<int>(body.size()), body.data(), qos, retain);
      state.mid = mid;
    }
    if (rc != MOSQ_ERR_SUCCESS) return SendOutcome::retry(where + ": publish: " + mosquitto_strerror(rc));
    // QoS 0 completes once written; QoS 1/2 once the broker acknowledges.
    if (auto err = loop_until([&] { return state.published; })) {
      return SendOutcome::retry(where + ": publish to '" + topic + "': " + *err);
    }
    mosquitto_disconnect(m);
    (void)mosquitto_loop(m, 10, 1);
    return SendOutcome::delivered();
  }

  UrlGuard http_;
  UrlGuard smtp_;
  UrlGuard mqtt_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace

json notification_document(const Notification& n) {
  return {{"kind", n.kind}, {"channel", n.channel_id}, {"time", format_rfc3339(n.time)}, {"data", n.payload}};
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[out[i] >> 4];
    hex += kHex[out[i] & 0x0f];
  }
  return hex;
}

Result<std::unique_ptr<Sender>> make_sender(const UrlGuardPolicy& policy) {
  init_libraries();
  auto guard_for = [&](std::vector<std::string> schemes) {
    UrlGuardPolicy p = policy;
    p.schemes = std::move(schemes);
    p.allow_credentials = false;
    return UrlGuard::create(p);
  };
  ARGUS_ASSIGN_OR_RETURN(UrlGuard http, guard_for({"http", "https"}));
  ARGUS_ASSIGN_OR_RETURN(UrlGuard smtp, guard_for({"smtp", "smtps"}));
  ARGUS_ASSIGN_OR_RETURN(UrlGuard mqtt, guard_for({"mqtt", "mqtts"}));
  return std::unique_ptr<Sender>(new RealSender(std::move(http), std::move(smtp), std::move(mqtt)));
}

}  // namespace argus::alerts
