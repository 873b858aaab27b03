// Streams: the WebSocket at /api/v1/stream, Server-Sent Events at /api/v1/events/stream,
// polling with GET /api/v1/events?after_id=…, and POST /api/v1/stream/test.
//
// Both transports carry the bus envelope {"id","topic","time","data"} as is (the bytes
// the bus serialized once). Notices from the server about the stream itself (dropped
// messages, truncated replay) are envelopes on the `system` topic without an id, so they
// never move a client's resume point.
#include <deque>

#include "api/api.h"
#include "api/json_body.h"
#include "api/problem.h"
#include "api/stream_hub.h"
#include "api/websocket.h"
#include "auth/principal.h"
#include "bus/bus.h"
#include "core/clock.h"

namespace argus::api {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

// Which permission a topic needs.
auth::Permission topic_permission(std::string_view topic) {
  if (topic == bus::kEvents || topic == bus::kDetections) return auth::Permission::events_read;
  if (topic == bus::kCounts) return auth::Permission::counts_read;
  if (topic == bus::kCameras) return auth::Permission::cameras_read;
  if (topic == bus::kJobs) return auth::Permission::jobs_read;
  if (topic == bus::kAlerts) return auth::Permission::alerts_read;
  return auth::Permission::streams_read;  // system
}

std::string topic_list() {
  std::string out;
  for (auto t : stream_topics()) {
    if (!out.empty()) out += ", ";
    out += t;
  }
  return out;
}

std::vector<std::string> topic_names(std::uint32_t bits) {
  std::vector<std::string> out;
  const auto& topics = stream_topics();
  for (std::size_t i = 0; i < topics.size(); ++i) {
    if ((bits & (1u << i)) != 0) out.emplace_back(topics[i]);
  }
  return out;
}

// The topics `who` may read.
std::uint32_t permitted_topics(const auth::Principal* who) {
  std::uint32_t bits = 0;
  for (auto t : stream_topics()) {
    if (who == nullptr || who->can(topic_permission(t))) bits |= *stream_topic_bit(t);
  }
  return bits;
}

// Turns requested topics and cameras into bits and a camera list. `topics` nullopt means
// every topic the caller may read. Returns "" or what is wrong; `forbidden` tells a
// permission problem (403) from a malformed request (400).
std::string resolve_filter(const auth::Principal* who, const std::optional<std::vector<std::string>>& topics,
                           const std::optional<std::vector<std::string>>& cameras, std::uint32_t& bits,
                           std::vector<std::string>& camera_list, bool& forbidden) {
  forbidden = false;
  bits = 0;
  if (!topics) {
    bits = permitted_topics(who);
  } else {
    for (const auto& t : *topics) {
      auto bit = stream_topic_bit(t);
      if (!bit) return "unknown topic '" + t + "'; topics are " + topic_list();
      if (who != nullptr && !who->can(topic_permission(t))) {
        forbidden = true;
        return "the topic '" + t + "' requires the permission " + std::string(auth::permission_name(topic_permission(t)));
      }
      bits |= *bit;
    }
  }
  camera_list.clear();
  if (cameras) {
    for (const auto& c : *cameras) {
      if (c.empty() || c.size() > 128) return "camera ids must be 1..128 characters";
      // Cameras outside the caller's scope look absent, as everywhere else.
      if (who != nullptr && !who->can_see_camera(c)) return "no camera '" + c + "'";
      camera_list.push_back(c);
    }
  }
  return "";
}

std::optional<std::vector<std::string>> csv_param(const Request& req, std::string_view name) {
  auto v = req.query_param(name);
  if (!v) return std::nullopt;
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= v->size()) {
    std::size_t comma = v->find(',', start);
    if (comma == std::string::npos) comma = v->size();
    std::string item = v->substr(start, comma - start);
    if (!item.empty()) out.push_back(std::move(item));
    start = comma + 1;
  }
  return out;
}

std::optional<std::uint64_t> parse_id(std::string_view text) { return parse_integer<std::uint64_t>(text); }

std::string notice(const Clock& clock, nlohmann::json data) {
  nlohmann::json j{{"topic", "system"}, {"time", format_rfc3339(clock.now_ms())}, {"data", std::move(data)}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// What the two transports share: the subscriber, its batch and the notices.
class StreamSession : public StreamConnection {
 public:
  StreamSession(StreamHub& hub, std::shared_ptr<StreamSubscriber> sub, const Clock& clock, bool truncated)
      : hub_(hub),
        sub_(std::move(sub)),
        clock_(clock),
        heartbeat_(hub.config().heartbeat_ms),
        truncated_(truncated),
        last_received_(std::chrono::steady_clock::now()),
        last_sent_(last_received_) {}
  ~StreamSession() override { hub_.detach(sub_); }

  void start(std::function<void()> wake, std::function<void()> abort) override {
    wake_ = wake;
    sub_->set_hooks(std::move(wake), std::move(abort));
  }
  std::chrono::milliseconds idle_interval() const override { return heartbeat_; }
  void on_closed() override {
    sub_->close();
    hub_.detach(sub_);
  }
  void on_write(bool in_progress) override {
    if (in_progress) {
      sub_->write_started(std::chrono::steady_clock::now());
    } else {
      sub_->write_finished();
    }
  }

 protected:
  // A string that stays put until the next collect().
  std::string_view keep(std::string s) {
    scratch_.push_back(std::move(s));
    return scratch_.back();
  }

  std::string dropped_notice() {
    return notice(clock_, {{"dropped", batch_.dropped},
                           {"reason", "this client read too slowly; the oldest queued messages were dropped"}});
  }
  std::string overflow_notice() {
    return notice(clock_, {{"disconnected", "slow consumer"},
                           {"detail", "more than " + std::to_string(hub_.config().queue) +
                                          " messages were waiting for this client; reconnect with the last id "
                                          "seen to resume"}});
  }
  std::string revoked_notice() {
    return notice(clock_, {{"disconnected", "credentials revoked"},
                           {"detail", batch_.revoked + "; sign in again (or use a valid key) to reconnect"}});
  }
  std::string truncated_notice() {
    return notice(clock_, {{"replay", "truncated"},
                           {"detail", "some messages after the requested id are no longer held by the server; "
                                      "use the REST API (events, counts) to fill the gap"}});
  }

  StreamHub& hub_;
  std::shared_ptr<StreamSubscriber> sub_;
  const Clock& clock_;
  const std::chrono::milliseconds heartbeat_;
  bool truncated_;
  SteadyTime last_received_;
  SteadyTime last_sent_;
  StreamSubscriber::Batch batch_;
  std::deque<std::string> scratch_;
  std::function<void()> wake_;
};

// text/event-stream (WHATWG HTML §9.2): "id: N\ndata: <envelope>\n\n" per message,
// comment lines as heartbeats.
class SseSession final : public StreamSession {
 public:
  using StreamSession::StreamSession;

  bool collect(std::vector<std::string_view>& out, SteadyTime now) override {
    static constexpr std::string_view kRetry = "retry: 3000\n\n";
    static constexpr std::string_view kEnd = "\n\n";
    static constexpr std::string_view kData = "data: ";
    static constexpr std::string_view kHeartbeat = ": keep-alive\n\n";
    scratch_.clear();
    if (!started_) {
      started_ = true;
      out.push_back(kRetry);
      if (truncated_) {
        out.push_back(kData);
        out.push_back(keep(truncated_notice()));
        out.push_back(kEnd);
      }
    }
    sub_->take(batch_);
    if (batch_.dropped > 0) {
      out.push_back(kData);
      out.push_back(keep(dropped_notice()));
      out.push_back(kEnd);
    }
    for (const auto& e : batch_.entries) {
      out.push_back(e->sse_prefix);
      out.push_back(e->message->envelope);
      out.push_back(kEnd);
    }
    hub_.count_sent(batch_.entries.size());
    if (batch_.overflowed) {
      out.push_back(kData);
      out.push_back(keep(overflow_notice()));
      out.push_back(kEnd);
      hub_.count_disconnect("slow_consumer");
      return false;
    }
    if (!batch_.revoked.empty()) {
      out.push_back(kData);
      out.push_back(keep(revoked_notice()));
      out.push_back(kEnd);
      return false;
    }
    if (batch_.closed) return false;
    if (out.empty() && now - last_sent_ >= heartbeat_) out.push_back(kHeartbeat);
    if (!out.empty()) last_sent_ = now;
    return true;
  }

  // An event-stream client sends nothing after its request; whatever arrives is ignored.
  bool on_bytes(std::string_view) override { return true; }

 private:
  bool started_ = false;
};

// RFC 6455 over the connection; the client speaks JSON ops (subscribe, unsubscribe, ping).
class WsSession final : public StreamSession {
 public:
  WsSession(StreamHub& hub, std::shared_ptr<StreamSubscriber> sub, const Clock& clock,
            std::shared_ptr<const auth::Principal> principal)
      : StreamSession(hub, std::move(sub), clock, false),
        principal_(std::move(principal)),
        reader_(hub.config().max_message_bytes),
        last_ping_(std::chrono::steady_clock::now()) {}

  bool collect(std::vector<std::string_view>& out, SteadyTime now) override {
    scratch_.clear();
    for (auto& c : control_) out.push_back(keep(std::move(c)));
    control_.clear();
    if (closing_) {
      out.push_back(keep(std::move(close_frame_)));
      return false;
    }
    sub_->take(batch_);
    if (batch_.dropped > 0) out.push_back(keep(ws::frame(ws::Opcode::kText, dropped_notice())));
    for (const auto& e : batch_.entries) {
      out.push_back(e->ws_header);
      out.push_back(e->message->envelope);
    }
    hub_.count_sent(batch_.entries.size());
    if (batch_.overflowed) {
      out.push_back(keep(ws::frame(ws::Opcode::kText, overflow_notice())));
      out.push_back(keep(ws::close_frame(ws::kClosePolicyViolation, "too slow: message queue overflowed")));
      hub_.count_disconnect("slow_consumer");
      return false;
    }
    if (!batch_.revoked.empty()) {
      out.push_back(keep(ws::frame(ws::Opcode::kText, revoked_notice())));
      out.push_back(keep(ws::close_frame(ws::kClosePolicyViolation, "credentials revoked")));
      return false;
    }
    if (batch_.closed) {
      out.push_back(keep(ws::close_frame(ws::kCloseGoingAway, "server shutting down")));
      return false;
    }
    // Keep-alive: a ping every heartbeat; a client silent for two heartbeats is gone.
    if (now - last_received_ > 2 * heartbeat_ + std::chrono::seconds(5)) {
      out.push_back(keep(ws::close_frame(ws::kCloseGoingAway, "no reply to ping")));
      hub_.count_disconnect("ping_timeout");
      return false;
    }
    if (now - last_ping_ >= heartbeat_) {
      out.push_back(keep(ws::frame(ws::Opcode::kPing, "")));
      last_ping_ = now;
    }
    return true;
  }

  bool on_bytes(std::string_view bytes) override {
    last_received_ = std::chrono::steady_clock::now();
    reader_.feed(bytes);
    while (!closing_) {
      auto m = reader_.next();
      if (!m) break;
      handle(*m);
    }
    if ((closing_ || !control_.empty()) && wake_) wake_();
    return !closing_;
  }

 private:
  static constexpr std::size_t kMaxPendingReplies = 64;

  void close_with(std::uint16_t code, std::string_view reason) {
    if (closing_) return;
    closing_ = true;
    close_frame_ = ws::close_frame(code, reason);
  }

  void reply(const nlohmann::json& j) {
    if (control_.size() >= kMaxPendingReplies) {
      close_with(ws::kClosePolicyViolation, "too many requests without reading the replies");
      return;
    }
    control_.push_back(ws::frame(ws::Opcode::kText, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  }

  void handle(ws::Incoming& m) {
    switch (m.kind) {
      case ws::Incoming::Kind::kText:
        handle_op(m.payload);
        break;
      case ws::Incoming::Kind::kBinary:
        close_with(ws::kCloseUnsupportedData, "binary messages are not supported; send JSON text");
        break;
      case ws::Incoming::Kind::kPing:
        if (control_.size() >= kMaxPendingReplies) {
          close_with(ws::kClosePolicyViolation, "too many pings");
        } else {
          control_.push_back(ws::frame(ws::Opcode::kPong, m.payload));
        }
        break;
      case ws::Incoming::Kind::kPong:
        break;
      case ws::Incoming::Kind::kClose:
        // Echo the client's code (RFC 6455 §5.5.1); none given → normal closure.
        close_with(m.code == 1005 ? ws::kCloseNormal : m.code, "");
        break;
      case ws::Incoming::Kind::kError:
        hub_.count_disconnect("protocol_error");
        close_with(m.code, m.reason);
        break;
    }
  }

  void error(std::string_view op, std::string message) {
    reply({{"op", "error"}, {"request", op}, {"error", std::move(message)}});
  }

  static std::optional<std::vector<std::string>> string_array(const nlohmann::json& doc, const char* key,
                                                              std::string& problem) {
    if (!doc.contains(key)) return std::nullopt;
    const auto& v = doc[key];
    if (!v.is_array() || v.size() > 1000) {
      problem = std::string(key) + " must be an array of at most 1000 strings";
      return std::nullopt;
    }
    std::vector<std::string> out;
    for (const auto& x : v) {
      if (!x.is_string()) {
        problem = std::string(key) + " must be an array of strings";
        return std::nullopt;
      }
      out.push_back(x.get<std::string>());
    }
    return out;
  }

  void handle_op(const std::string& text) {
    nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("op") || !doc["op"].is_string()) {
      error("", "send a JSON object with \"op\": subscribe, unsubscribe or ping");
      return;
    }
    const std::string op = doc["op"].get<std::string>();
    if (op == "ping") {
      reply({{"op", "pong"}});
      return;
    }
    if (op != "subscribe" && op != "unsubscribe") {
      error(op, "unknown op '" + op + "'; use subscribe, unsubscribe or ping");
      return;
    }
    std::string problem;
    auto topics = string_array(doc, "topics", problem);
    auto cameras = string_array(doc, "cameras", problem);
    if (!problem.empty()) {
      error(op, problem);
      return;
    }
    std::uint32_t bits = 0;
    std::vector<std::string> camera_list;
    bool forbidden = false;
    std::string bad = resolve_filter(principal_.get(), topics, cameras, bits, camera_list, forbidden);
    if (!bad.empty()) {
      error(op, bad);
      return;
    }
    StreamFilter filter = sub_->filter();
    std::optional<std::uint64_t> after_id;
    if (op == "subscribe") {
      filter.topics |= bits;
      if (cameras) filter.cameras = camera_list;
      if (doc.contains("after_id")) {
        const auto& a = doc["after_id"];
        if (a.is_string()) after_id = parse_id(a.get<std::string>());
        if (a.is_number_unsigned()) after_id = a.get<std::uint64_t>();
        if (!after_id) {
          error(op, "after_id must be a message id (a decimal string)");
          return;
        }
      }
    } else {
      filter.topics &= topics ? ~bits : 0u;
    }
    std::vector<std::string> names = topic_names(filter.topics);
    const std::vector<std::string> filter_cameras = filter.cameras;
    bool truncated = hub_.refilter(*sub_, std::move(filter), after_id);
    reply({{"op", op == "subscribe" ? "subscribed" : "unsubscribed"}, {"topics", names}, {"cameras", filter_cameras}});
    if (truncated) control_.push_back(ws::frame(ws::Opcode::kText, truncated_notice()));
  }

  std::shared_ptr<const auth::Principal> principal_;
  ws::FrameReader reader_;
  std::deque<std::string> control_;  // pongs and replies, sent before messages
  std::string close_frame_;
  bool closing_ = false;
  SteadyTime last_ping_;
};

// True if the comma-separated header value holds `token` (case-insensitive).
bool header_has_token(const std::string* value, std::string_view token) {
  if (value == nullptr) return false;
  std::size_t start = 0;
  while (start <= value->size()) {
    std::size_t comma = value->find(',', start);
    if (comma == std::string::npos) comma = value->size();
    std::string_view item(value->data() + start, comma - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.size() == token.size() &&
        std::equal(item.begin(), item.end(), token.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return true;
    }
    start = comma + 1;
  }
  return false;
}

}  // namespace

std::optional<Response> Api::stream_filter(const Request& req, StreamFilter& filter) {
  const auth::Principal* who = req.principal.get();
  std::uint32_t bits = 0;
  std::vector<std::string> cameras;
  bool forbidden = false;
  std::string bad = resolve_filter(who, csv_param(req, "topics"), csv_param(req, "cameras"), bits, cameras, forbidden);
  if (!bad.empty()) {
    if (forbidden) return problem(403, "forbidden", bad, req);
    if (bad.rfind("no camera", 0) == 0) return problem(404, "not-found", bad, req);
    return problem(400, "bad-request", bad, req);
  }
  filter.topics = bits;
  filter.cameras = std::move(cameras);
  if (who != nullptr) {
    filter.scope = who->cameras;
    filter.user_id = who->user_id;
    filter.api_key_id = who->api_key_id;
  }
  return std::nullopt;
}

Response Api::poll_stream(Request& req) {
  auto after = parse_id(req.query_param("after_id").value_or(""));
  if (!after) return problem(400, "bad-request", "after_id must be a message id (a decimal number)", req);
  StreamFilter filter;
  if (auto err = stream_filter(req, filter)) return *err;
  Paging paging;
  paging.limit = 500;
  if (auto err = parse_paging(req, paging)) return *err;
  if (deps_.streams == nullptr) return problem(503, "unavailable", "streams are not running", req);
  StreamHub::Replay r = deps_.streams->replay(*after, filter, paging.limit);
  // The envelopes are already JSON: splice them instead of parsing them back.
  std::string body = "{\"items\":[";
  for (std::size_t i = 0; i < r.entries.size(); ++i) {
    if (i > 0) body += ',';
    body += r.entries[i]->message->envelope;
  }
  std::uint64_t last = r.entries.empty() ? std::max(*after, deps_.streams->last_id()) : r.entries.back()->message->id;
  if (r.entries.empty() && r.truncated) last = deps_.streams->last_id();
  body += "],\"last_id\":\"" + std::to_string(last) + "\",\"truncated\":" + (r.truncated ? "true" : "false") +
          ",\"more\":" + (r.more ? "true" : "false") + "}";
  return Response::text(200, std::move(body), "application/json");
}

void Api::add_stream_routes() {
  // The WebSocket. Browsers cannot send headers with a WebSocket: they use ?ticket=.
  router_.add(Method::kGet, "/api/v1/stream", Access::needs(auth::Permission::streams_read).or_ticket(),
              [this](Request& req) {
                if (!header_has_token(req.header("upgrade"), "websocket") ||
                    !header_has_token(req.header("connection"), "upgrade")) {
                  Response r = problem(426, "upgrade-required",
                                       "this endpoint speaks WebSocket (RFC 6455): send Upgrade: websocket and "
                                       "Connection: Upgrade; Server-Sent Events are at /api/v1/events/stream",
                                       req);
                  r.set_header("Upgrade", "websocket");
                  return r;
                }
                const std::string* version = req.header("sec-websocket-version");
                if (version == nullptr || *version != "13") {
                  Response r = problem(426, "upgrade-required", "only WebSocket version 13 is supported", req);
                  r.set_header("Sec-WebSocket-Version", "13");
                  return r;
                }
                const std::string* key = req.header("sec-websocket-key");
                if (key == nullptr || !ws::valid_client_key(*key)) {
                  return problem(400, "bad-request", "Sec-WebSocket-Key must be 16 random bytes in base64", req);
                }
                if (deps_.streams == nullptr) return problem(503, "unavailable", "streams are not running", req);
                // Topics given in the URL subscribe at once; otherwise nothing until a subscribe op.
                StreamFilter filter;
                const bool initial = req.query_param("topics").has_value();
                if (auto err = stream_filter(req, filter)) return *err;
                if (!initial) filter.topics = 0;
                auto sub = deps_.streams->attach(filter, std::nullopt, nullptr);
                if (!sub.ok()) {
                  Response r = status_problem(sub.status(), req);
                  r.set_header("Retry-After", "5");
                  return r;
                }
                Response r = Response::empty(101);
                r.set_header("Upgrade", "websocket");
                r.set_header("Connection", "Upgrade");
                r.set_header("Sec-WebSocket-Accept", ws::accept_key(*key));
                r.stream = std::make_shared<WsSession>(*deps_.streams, std::move(*sub), *deps_.clock, req.principal);
                return r;
              });

  // Server-Sent Events, resumable with Last-Event-ID.
  router_.add(
      Method::kGet, "/api/v1/events/stream", Access::needs(auth::Permission::streams_read).or_ticket(),
      [this](Request& req) {
        if (deps_.streams == nullptr) return problem(503, "unavailable", "streams are not running", req);
        StreamFilter filter;
        if (auto err = stream_filter(req, filter)) return *err;
        std::optional<std::uint64_t> after;
        const std::string* last = req.header("last-event-id");
        std::optional<std::string> from_query = req.query_param("last_event_id");
        if (last != nullptr || from_query) {
          after = parse_id(last != nullptr ? *last : *from_query);
          if (!after) return problem(400, "bad-request", "Last-Event-ID must be a message id (a decimal number)", req);
        }
        bool truncated = false;
        auto sub = deps_.streams->attach(filter, after, &truncated);
        if (!sub.ok()) {
          Response r = status_problem(sub.status(), req);
          r.set_header("Retry-After", "5");
          return r;
        }
        Response r;
        r.status = 200;
        r.content_type = "text/event-stream";
        r.set_header("Cache-Control", "no-store");
        r.set_header("X-Accel-Buffering", "no");  // reverse proxies: do not buffer the stream
        r.stream = std::make_shared<SseSession>(*deps_.streams, std::move(*sub), *deps_.clock, truncated);
        return r;
      });

  // Publishes a test message on the `system` topic: lets integrators check their stream
  // clients end to end (and the fan-out benchmark measure delivery).
  router_.add(Method::kPost, "/api/v1/stream/test", Access::needs(auth::Permission::system_admin),
              [this](Request& req) {
                nlohmann::json body = nlohmann::json::object();
                if (!req.body.empty()) {
                  if (auto err = parse_json_body(req, body)) return *err;
                  if (!body.is_object()) return problem(400, "bad-request", "the body must be a JSON object", req);
                }
                if (deps_.bus == nullptr) return problem(503, "unavailable", "the bus is not running", req);
                nlohmann::json data{{"test", body.contains("data") ? body["data"] : nlohmann::json::object()}};
                auto m = deps_.bus->publish(bus::kSystem, "", std::move(data));
                return Response::json(202, {{"id", std::to_string(m->id)}, {"topic", "system"}});
              });
}

}  // namespace argus::api
