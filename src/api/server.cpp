#include "api/server.h"

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <ctime>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/problem.h"
#include "api/request_parse.h"
#include "api/tls.h"
#include "core/ids.h"
#include "core/log.h"
#include "metrics/metrics.h"

namespace argus::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// A response body that points at shared immutable bytes, so cached documents are sent
// without copying.
struct SharedBody {
  using value_type = std::shared_ptr<const std::string>;
  static std::uint64_t size(const value_type& v) { return v ? v->size() : 0; }

  class writer {
   public:
    using const_buffers_type = asio::const_buffer;
    template <bool isRequest, class Fields>
    writer(const http::header<isRequest, Fields>&, const value_type& body) : body_(body) {}
    void init(error_code& ec) { ec = {}; }
    boost::optional<std::pair<const_buffers_type, bool>> get(error_code& ec) {
      ec = {};
      if (!body_ || body_->empty()) return boost::none;
      return {{asio::const_buffer(body_->data(), body_->size()), false}};
    }

   private:
    const value_type& body_;
  };
};

// RFC 9110 IMF-fixdate, recomputed at most once per second per thread.
const std::string& http_date() {
  thread_local std::time_t last = 0;
  thread_local std::string text;
  std::time_t now = std::time(nullptr);
  if (now != last) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    text = buf;
    last = now;
  }
  return text;
}

// Appends "\r\nName: value", dropping a field whose name or value could break the head
// (CR, LF or NUL: response splitting).
void append_field(std::string& head, std::string_view name, std::string_view value) {
  auto bad = [](char c) { return c == '\r' || c == '\n' || c == '\0'; };
  if (name.empty() || std::any_of(name.begin(), name.end(), bad) || std::any_of(value.begin(), value.end(), bad)) {
    return;
  }
  head += "\r\n";
  head += name;
  head += ": ";
  head += value;
}

// What stop() needs of a connection, whatever its stream.
struct SessionBase : std::enable_shared_from_this<SessionBase> {
  virtual ~SessionBase() = default;
  virtual beast::tcp_stream& tcp() = 0;  // the lowest layer (strand-only)
  bool idle = true;                      // waiting for the first byte of a request (strand-only)
  std::string remote;
};

// One connection over plain TCP (Stream = beast::tcp_stream) or TLS (an ssl_stream over
// it). The plain session compiles to the same code as before TLS existed.
template <typename Stream>
struct Session final : SessionBase {
  static constexpr bool kSecure = !std::is_same_v<Stream, beast::tcp_stream>;
  explicit Session(tcp::socket socket) : stream(std::move(socket)) {}
  Session(tcp::socket socket, std::shared_ptr<ssl::context> ctx)
      : context(std::move(ctx)), stream(std::move(socket), *context) {}
  beast::tcp_stream& tcp() override { return beast::get_lowest_layer(stream); }

  std::shared_ptr<ssl::context> context;  // TLS: the context this connection started with
  Stream stream;
};
using PlainSession = Session<beast::tcp_stream>;
using TlsSession = Session<beast::ssl_stream<beast::tcp_stream>>;

// Under TLS every response tells browsers to use HTTPS for a year (RFC 6797).
constexpr char kHstsValue[] = "max-age=31536000";

}  // namespace

class HttpServer::Impl {
 public:
  Impl(const ServerConfig& config, RequestHandler handler, metrics::Registry* metrics, TlsContextProvider* tls)
      : config_(config),
        handler_(std::move(handler)),
        metrics_(metrics),
        tls_(tls),
        limits_{config.max_header_bytes, config.max_body_bytes},
        ioc_(config.io_threads),
        acceptor_(config.io_threads > 1 ? asio::any_io_executor(asio::make_strand(ioc_))
                                        : asio::any_io_executor(ioc_.get_executor())) {
    if (metrics_ != nullptr) {
      connections_gauge_ = &metrics_->gauge("argus_http_connections", "Open HTTP connections.");
      rejected_ = &metrics_->counter("argus_http_connections_rejected_total",
                                     "Connections refused because max_connections was reached.");
      if (tls_ != nullptr) {
        tls_failures_ = &metrics_->counter("argus_tls_handshake_failures_total",
                                           "TLS handshakes that failed (plain HTTP, old protocol versions, "
                                           "clients that reject the certificate, timeouts).");
      }
    }
  }

  ~Impl() { stop(std::chrono::milliseconds(0)); }

  Status start() {
    error_code ec;
    auto address = asio::ip::make_address(config_.listen_host, ec);
    if (ec) {
      // Allow host names such as "localhost".
      tcp::resolver resolver(ioc_);
      auto results = resolver.resolve(config_.listen_host, std::to_string(config_.listen_port), ec);
      if (ec || results.empty()) {
        return Status::invalid_argument("cannot resolve listen host '" + config_.listen_host + "'");
      }
      address = results.begin()->endpoint().address();
    }
    tcp::endpoint endpoint(address, config_.listen_port);
    std::string where = config_.listen_host + ":" + std::to_string(config_.listen_port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::io_error("cannot listen on " + where + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached);
    for (int i = 0; i < config_.io_threads; ++i) {
      threads_.emplace_back([this] { run_io(); });
    }
    running_ = true;
    return Status();
  }

  std::uint16_t port() const { return port_; }

  std::size_t active() const { return active_.load(); }

  std::size_t stop(std::chrono::milliseconds grace) {
    if (!running_) return 0;
    running_ = false;
    draining_ = true;
    // Close the listening socket on its strand and wait for it, so that the port is
    // closed when stop() returns even if the I/O threads are stopped right after.
    auto closed = std::make_shared<std::promise<void>>();
    auto closed_future = closed->get_future();
    asio::post(acceptor_.get_executor(), [this, closed] {
      error_code ignored;
      acceptor_.close(ignored);
      closed->set_value();
    });
    closed_future.wait_for(std::chrono::seconds(5));
    for_each_session([](const std::shared_ptr<SessionBase>& s) {
      asio::post(s->tcp().get_executor(), [s] {
        if (s->idle) s->tcp().socket().close();
      });
    });
    std::size_t forced = 0;
    {
      std::unique_lock lock(mu_);
      drained_.wait_for(lock, grace, [&] { return sessions_.empty(); });
      forced = sessions_.size();
    }
    if (forced > 0) {
      for_each_session([](const std::shared_ptr<SessionBase>& s) {
        asio::post(s->tcp().get_executor(), [s] {
          error_code ignored;
          s->tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
          s->tcp().socket().close(ignored);
        });
      });
      std::unique_lock lock(mu_);
      drained_.wait_for(lock, std::chrono::seconds(2), [&] { return sessions_.empty(); });
    }
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    return forced;
  }

 private:
  void run_io() {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        log::error("I/O thread caught an exception; continuing", {{"error", e.what()}});
      }
    }
  }

  template <typename F>
  void for_each_session(F f) {
    std::vector<std::shared_ptr<SessionBase>> copy;
    {
      std::lock_guard lock(mu_);
      copy.reserve(sessions_.size());
      for (auto& [id, weak] : sessions_) {
        if (auto s = weak.lock()) copy.push_back(std::move(s));
      }
    }
    for (auto& s : copy) f(s);
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      error_code ec;
      // One thread needs no strands; with several, each connection gets its own.
      asio::any_io_executor executor = config_.io_threads > 1 ? asio::any_io_executor(asio::make_strand(ioc_))
                                                              : asio::any_io_executor(ioc_.get_executor());
      tcp::socket socket = co_await acceptor_.async_accept(executor, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
        // Out of file descriptors and similar: log and keep accepting after a pause.
        log::warn("accept failed", {{"error", ec.message()}});
        asio::steady_timer timer(acceptor_.get_executor(), std::chrono::milliseconds(50));
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      if (draining_) continue;
      if (active_.load() >= config_.max_connections) {
        if (rejected_ != nullptr) rejected_->inc();
        if (tls_ != nullptr) {  // a plain-text 503 means nothing to a TLS client
          socket.close(ec);
          continue;
        }
        auto s = std::make_shared<PlainSession>(std::move(socket));
        asio::co_spawn(s->stream.get_executor(), reject_connection(s), asio::detached);
        continue;
      }
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      if (tls_ != nullptr) {
        start_session(std::make_shared<TlsSession>(std::move(socket), tls_->current()));
      } else {
        start_session(std::make_shared<PlainSession>(std::move(socket)));
      }
    }
  }

  template <typename S>
  void start_session(std::shared_ptr<S> session) {
    error_code ignored;
    auto remote = session->tcp().socket().remote_endpoint(ignored);
    session->remote = remote.address().to_string() + ":" + std::to_string(remote.port());
    std::uint64_t id = next_id_++;
    {
      std::lock_guard lock(mu_);
      sessions_.emplace(id, session);
    }
    ++active_;
    if (connections_gauge_ != nullptr) connections_gauge_->inc();
    asio::co_spawn(session->tcp().get_executor(), run_session(session, id), asio::detached);
  }

  asio::awaitable<void> reject_connection(std::shared_ptr<PlainSession> s) {
    static const std::string kBody =
        R"({"type":"urn:argus:problem:unavailable","title":"Service Unavailable","status":503,"detail":"too many open connections; retry later","instance":"/"})";
    static const std::string kResponse =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\nRetry-After: 1\r\n"
        "Connection: close\r\nContent-Length: " +
        std::to_string(kBody.size()) + "\r\n\r\n" + kBody;
    error_code ec;
    s->stream.expires_after(std::chrono::seconds(1));
    co_await asio::async_write(s->stream, asio::buffer(kResponse), asio::redirect_error(asio::use_awaitable, ec));
    s->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  }

  void session_ended(std::uint64_t id) {
    --active_;
    if (connections_gauge_ != nullptr) connections_gauge_->dec();
    std::lock_guard lock(mu_);
    sessions_.erase(id);
    if (sessions_.empty()) drained_.notify_all();
  }

  // The client went away or was too slow: close without an answer.
  static bool peer_gone(const error_code& ec) {
    return ec == beast::error::timeout || ec == http::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
           ec == ssl::error::stream_truncated;
  }

  // Writes an error response outside the normal handler path (parse errors, limits).
  template <typename S>
  asio::awaitable<void> write_early_error(S& s, int status, std::string_view type, std::string detail) {
    Request req;
    req.request_id = random_hex_id(8);
    req.path = "/";
    Response r = problem(status, type, std::move(detail), req);
    http::response<SharedBody> res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, r.content_type);
    res.set(http::field::date, http_date());
    res.set("X-Request-Id", req.request_id);
    if constexpr (S::kSecure) res.set(http::field::strict_transport_security, kHstsValue);
    res.keep_alive(false);
    res.body() = r.body;
    res.prepare_payload();
    error_code ec;
    beast::get_lowest_layer(s.stream).expires_after(std::chrono::seconds(5));
    co_await http::async_write(s.stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (metrics_ != nullptr) {
      count_request("unmatched", Method::kOther, status, -1);
    }
  }

  // Per (route, method): one counter and one duration histogram per status code, found
  // without a lock on the hot path once seen (each I/O thread keeps its own index).
  struct RouteMetrics {
    std::array<std::atomic<metrics::Counter*>, 600> by_status{};
    std::array<std::atomic<metrics::Histogram*>, 600> duration_by_status{};
  };

  RouteMetrics& route_metrics(const std::string& route, Method method) {
    struct ThreadIndex {
      const Impl* owner = nullptr;
      std::unordered_map<std::string, RouteMetrics*> routes[8];  // by Method
    };
    thread_local ThreadIndex index;
    if (index.owner != this) {
      for (auto& m : index.routes) m.clear();
      index.owner = this;
    }
    auto& local = index.routes[static_cast<int>(method) & 7];
    if (auto it = local.find(route); it != local.end()) return *it->second;
    std::lock_guard lock(metric_mu_);
    auto& slot = route_metrics_[std::string(method_name(method)) + " " + route];
    if (!slot) slot = std::make_unique<RouteMetrics>();
    local.emplace(route, slot.get());
    return *slot;
  }

  void count_request(const std::string& route, Method method, int status, double seconds) {
    RouteMetrics& rm = route_metrics(route, method);
    const auto code = static_cast<std::size_t>(status >= 100 && status < 600 ? status : 0);
    auto labels = [&] {  // built only the first time a series is seen
      return metrics::Labels{
          {"method", std::string(method_name(method))}, {"route", route}, {"status", std::to_string(status)}};
    };
    metrics::Counter* c = rm.by_status[code].load(std::memory_order_acquire);
    if (c == nullptr) {
      // The registry returns the same series for the same labels, so a race here is harmless.
      c = &metrics_->counter("argus_http_requests_total", "HTTP requests handled.", labels());
      rm.by_status[code].store(c, std::memory_order_release);
    }
    c->inc();
    if (seconds < 0) return;
    metrics::Histogram* h = rm.duration_by_status[code].load(std::memory_order_acquire);
    if (h == nullptr) {
      h = &metrics_->histogram("argus_http_request_duration_seconds", "Time to produce a response.",
                               metrics::default_seconds_buckets(), labels());
      rm.duration_by_status[code].store(h, std::memory_order_release);
    }
    h->observe(seconds);
  }

  template <typename S>
  asio::awaitable<void> run_session(std::shared_ptr<S> s, std::uint64_t id) {
    try {
      if constexpr (S::kSecure) {
        if (co_await handshake(*s)) {
          co_await serve(*s);
          co_await tls_shutdown(*s);
        }
      } else {
        co_await serve(*s);
      }
    } catch (const std::exception& e) {
      log::error("connection failed", {{"error", e.what()}, {"remote", s->remote}});
    }
    error_code ignored;
    s->tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    s->tcp().socket().close(ignored);
    session_ended(id);
  }

  // The TLS handshake, under the header timeout. A failure (plain HTTP on this port, an
  // old protocol version, a client that rejects the certificate) closes the connection.
  asio::awaitable<bool> handshake(TlsSession& s) {
    error_code ec;
    s.tcp().expires_after(std::chrono::milliseconds(config_.header_timeout_ms));
    co_await s.stream.async_handshake(ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) co_return true;
    if (tls_failures_ != nullptr) tls_failures_->inc();
    log::debug("TLS handshake failed", {{"error", ec.message()}, {"remote", s.remote}});
    co_return false;
  }

  // Sends close_notify and waits briefly for the peer's: never holds a connection (or
  // shutdown) for more than a second.
  asio::awaitable<void> tls_shutdown(TlsSession& s) {
    if (!s.tcp().socket().is_open()) co_return;
    error_code ec;
    s.tcp().expires_after(std::chrono::seconds(1));
    co_await s.stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  }

  template <typename S>
  asio::awaitable<void> serve(S& s) {
    beast::flat_buffer buffer;
    for (;;) {
      // Between requests: wait for the first byte under the idle timeout.
      if (buffer.size() == 0) {
        if (draining_) co_return;
        s.idle = true;
        error_code ec;
        beast::get_lowest_layer(s.stream).expires_after(std::chrono::milliseconds(config_.idle_timeout_ms));
        std::size_t n =
            co_await s.stream.async_read_some(buffer.prepare(4096), asio::redirect_error(asio::use_awaitable, ec));
        s.idle = false;
        if (ec) co_return;  // closed, idle timeout or shutdown
        buffer.commit(n);
      }
      s.idle = false;

      // The steps below are mirrored, on bytes in memory, by RequestReader
      // (request_parse.cpp), which tests and fuzzing drive: keep the two in step.
      RequestParser parser;
      configure_parser(parser, limits_);

      // Fast path: a header already in the buffer is parsed in place, without another
      // asynchronous read; otherwise read the rest of it under the header timeout.
      error_code ec;
      std::size_t header_bytes = parser.put(buffer.data(), ec);
      buffer.consume(header_bytes);
      if (ec == http::error::need_more) ec = {};
      if (!ec && !parser.is_header_done()) {
        beast::get_lowest_layer(s.stream).expires_after(std::chrono::milliseconds(config_.header_timeout_ms));
        header_bytes +=
            co_await http::async_read_header(s.stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      }
      if (peer_gone(ec)) co_return;
      if (ec) {
        EarlyError e = header_error(ec, limits_);
        co_await write_early_error(s, e.status, e.type, std::move(e.detail));
        co_return;
      }
      if (EarlyError e = check_header(parser, header_bytes, limits_)) {
        co_await write_early_error(s, e.status, e.type, std::move(e.detail));
        co_return;
      }
      auto& header = parser.get();
      if (!parser.is_done()) {
        auto expect = header[http::field::expect];
        if (beast::iequals(expect, "100-continue")) {
          http::response<http::empty_body> cont{http::status::continue_, header.version()};
          beast::get_lowest_layer(s.stream).expires_after(std::chrono::milliseconds(config_.body_timeout_ms));
          co_await http::async_write(s.stream, cont, asio::redirect_error(asio::use_awaitable, ec));
          if (ec) co_return;
        }
        beast::get_lowest_layer(s.stream).expires_after(std::chrono::milliseconds(config_.body_timeout_ms));
        co_await http::async_read(s.stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
        if (peer_gone(ec) || ec == http::error::partial_message) co_return;
        if (ec) {
          EarlyError e = body_error(ec, limits_);
          co_await write_early_error(s, e.status, e.type, std::move(e.detail));
          co_return;
        }
      }
      bool keep_alive = parser.keep_alive();
      std::shared_ptr<StreamConnection> stream;
      bool ok = co_await respond(s, parser.release(), keep_alive, stream);
      if (ok && stream) {
        // The connection now belongs to the stream: keep only what the client sent after
        // its request (a WebSocket client may send frames right after the handshake).
        std::string early = beast::buffers_to_string(buffer.data());
        buffer = beast::flat_buffer();
        co_await run_stream(s, std::move(stream), std::move(early));
        co_return;
      }
      if (stream) stream->on_closed();
      if (!ok || !keep_alive) co_return;
    }
  }

  // Per stream connection: a reader feeding the client's bytes to the stream, and this
  // writer, which sends whatever collect() returns in one gathered write and otherwise
  // waits for a wake (new messages, replies) or the stream's idle interval (heartbeats).
  template <typename S>
  asio::awaitable<void> run_stream(S& s, std::shared_ptr<StreamConnection> conn, std::string early) {
    auto self = std::static_pointer_cast<S>(s.shared_from_this());
    s.tcp().expires_never();  // the stream keeps its own time (heartbeats, watchdog)
    auto executor = s.tcp().get_executor();
    auto timer = std::make_shared<asio::steady_timer>(executor);
    auto reader_done = std::make_shared<bool>(false);  // strand-only
    std::weak_ptr<asio::steady_timer> weak_timer = timer;
    std::weak_ptr<SessionBase> weak_session = self;
    conn->start(
        [executor, weak_timer] {
          asio::post(executor, [weak_timer] {
            if (auto t = weak_timer.lock()) t->cancel();
          });
        },
        [executor, weak_session] {
          asio::post(executor, [weak_session] {
            if (auto session = weak_session.lock()) {
              error_code ignored;
              session->tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
              session->tcp().socket().close(ignored);
            }
          });
        });
    bool more = early.empty() || conn->on_bytes(early);
    early = std::string();
    if (more) asio::co_spawn(executor, stream_reader(self, conn, timer, reader_done), asio::detached);

    std::vector<std::string_view> out;
    std::vector<asio::const_buffer> buffers;
    for (;;) {
      out.clear();
      more = conn->collect(out, std::chrono::steady_clock::now()) && more && !*reader_done;
      if (!out.empty()) {
        buffers.clear();
        for (auto v : out) buffers.emplace_back(v.data(), v.size());
        conn->on_write(true);
        error_code ec;
        co_await asio::async_write(s.stream, buffers, asio::redirect_error(asio::use_awaitable, ec));
        conn->on_write(false);
        if (ec) break;
        // A burst for a slow client can leave large vectors behind: with thousands of idle
        // connections, keep them small once the burst is written.
        if (out.capacity() > 256) std::vector<std::string_view>().swap(out);
        if (buffers.capacity() > 256) std::vector<asio::const_buffer>().swap(buffers);
        if (more) continue;  // more may have arrived during the write
      }
      if (!more || !s.tcp().socket().is_open()) break;
      timer->expires_after(conn->idle_interval());
      error_code ec;
      co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!s.tcp().socket().is_open()) break;
      more = true;
    }
    conn->on_closed();
    // Plain TCP: half-close and give the client a moment to close its side (WebSocket
    // closing handshake), then close. TLS: close at once (a close_notify exchange would
    // race the pending read).
    error_code ignored;
    if constexpr (!S::kSecure) {
      if (!*reader_done && s.tcp().socket().is_open()) {
        s.tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
        timer->expires_after(std::chrono::seconds(1));
        co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      }
    }
    s.tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    s.tcp().socket().close(ignored);
  }

  template <typename S>
  static asio::awaitable<void> stream_reader(std::shared_ptr<S> s, std::shared_ptr<StreamConnection> conn,
                                             std::shared_ptr<asio::steady_timer> timer,
                                             std::shared_ptr<bool> done) {
    std::array<char, 512> buf;
    for (;;) {
      error_code ec;
      std::size_t n =
          co_await s->stream.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !conn->on_bytes(std::string_view(buf.data(), n))) break;
    }
    *done = true;
    timer->cancel();
  }

  // Runs the handler and writes the response. Returns false if the connection must close.
  template <typename S>
  asio::awaitable<bool> respond(S& s, RequestMessage msg, bool& keep_alive,
                                std::shared_ptr<StreamConnection>& stream) {
    auto started = std::chrono::steady_clock::now();
    Request req;
    std::optional<Response> rejected = to_request(msg, req);
    std::string_view method_text(msg.method_string().data(), msg.method_string().size());
    req.remote_address = s.remote;
    req.secure = S::kSecure;

    Response res;
    {
      log::ScopedLogContext log_context(req.request_id);
      if (rejected) {
        res = std::move(*rejected);
      } else {
        try {
          res = handler_(req);
        } catch (const std::exception& e) {
          log::error("handler threw", {{"error", e.what()}, {"route", req.route}});
          res =
              problem(500, "internal",
                      "the server failed to handle the request; see the server log for request " + req.request_id, req);
        }
      }
    }

    if (draining_) keep_alive = false;
    stream = std::move(res.stream);
    if (stream && req.method == Method::kHead) {  // the head only: no stream behind it
      stream->on_closed();
      stream.reset();
    }
    if (stream) keep_alive = false;
    // The response head is written by hand into one buffer and sent with the (shared,
    // uncopied) body in a single gathered write: Beast's generic serializer costs several
    // times more per small response.
    bool no_body = req.method == Method::kHead || res.status == 304 || res.status == 204 || res.status < 200;
    std::size_t body_size = res.body ? res.body->size() : 0;
    std::string head;
    head.reserve(256);
    head += "HTTP/1.1 ";
    head += std::to_string(res.status);
    head += ' ';
    head += status_reason(res.status);
    head += "\r\nDate: ";
    head += http_date();
    if (!res.content_type.empty()) append_field(head, "Content-Type", res.content_type);
    append_field(head, "X-Request-Id", req.request_id);
    if constexpr (S::kSecure) {
      head += "\r\nStrict-Transport-Security: ";
      head += kHstsValue;
    }
    for (const auto& [name, value] : res.headers) append_field(head, name, value);
    head += res.fixed_headers;
    if (res.status != 304 && res.status != 204 && res.status >= 200 && !stream) {
      head += "\r\nContent-Length: ";
      head += std::to_string(body_size);
    }
    if (stream) {
      // 101: the handler's Connection: Upgrade; event stream: the body ends with the connection.
    } else if (!keep_alive) {
      head += "\r\nConnection: close";
    } else if (msg.version() == 10) {
      head += "\r\nConnection: keep-alive";
    }
    head += "\r\n\r\n";

    error_code ec;
    beast::get_lowest_layer(s.stream).expires_after(std::chrono::milliseconds(config_.body_timeout_ms));
    std::array<asio::const_buffer, 2> buffers{asio::buffer(head),
                                              no_body || !res.body ? asio::const_buffer() : asio::buffer(*res.body)};
    co_await asio::async_write(s.stream, buffers, asio::redirect_error(asio::use_awaitable, ec));

    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const std::string route = req.route.empty() ? "unmatched" : req.route;
    if (metrics_ != nullptr) {
      count_request(route, req.method, res.status, seconds);
    }
    if (config_.access_log || res.status >= 500) {
      log::ScopedLogContext log_context(req.request_id);
      log::write(res.status >= 500 ? log::Level::kError : log::Level::kInfo, "request",
                 {{"method", std::string(method_text)},
                  {"path", req.path},
                  {"route", route},
                  {"status", res.status},
                  {"duration_ms", seconds * 1000},
                  {"bytes", body_size},
                  {"remote", s.remote}});
    }
    co_return !ec;
  }

  const ServerConfig config_;
  const RequestHandler handler_;
  metrics::Registry* const metrics_;
  metrics::Gauge* connections_gauge_ = nullptr;
  metrics::Counter* rejected_ = nullptr;
  TlsContextProvider* const tls_;  // null: plain HTTP
  const RequestLimits limits_;
  metrics::Counter* tls_failures_ = nullptr;

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  std::uint16_t port_ = 0;
  bool running_ = false;
  std::atomic<bool> draining_{false};
  std::atomic<std::size_t> active_{0};
  std::atomic<std::uint64_t> next_id_{1};

  std::mutex mu_;
  std::condition_variable drained_;
  std::unordered_map<std::uint64_t, std::weak_ptr<SessionBase>> sessions_;  // guarded by mu_

  std::mutex metric_mu_;
  std::unordered_map<std::string, std::unique_ptr<RouteMetrics>> route_metrics_;  // guarded by metric_mu_
};

HttpServer::HttpServer(const ServerConfig& config, RequestHandler handler, metrics::Registry* metrics,
                       TlsContextProvider* tls)
    : impl_(std::make_unique<Impl>(config, std::move(handler), metrics, tls)) {}

HttpServer::~HttpServer() = default;

Status HttpServer::start() { return impl_->start(); }
std::uint16_t HttpServer::port() const { return impl_->port(); }
std::size_t HttpServer::stop(std::chrono::milliseconds grace) { return impl_->stop(grace); }
std::size_t HttpServer::active_connections() const { return impl_->active(); }

}  // namespace argus::api
