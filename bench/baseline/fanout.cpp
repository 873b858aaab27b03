// The load tool of the fan-out benchmark (bench/fanout.sh): N stream subscribers and one
// publisher in a single-threaded epoll loop with non-blocking sockets, so that the tool
// itself costs as little CPU as possible (it reports its own CPU time so a saturated client
// can be told apart from a slow server).
//
// Modes:
//   ws    N WebSocket connections to argus (GET /api/v1/stream, Bearer token, masked client
//         frames per RFC 6455), each sends {"op":"subscribe","topics":["system"]} and waits for
//         {"op":"subscribed",...}; the publisher POSTs {"data":{"seq":n,"t_ns":t}} to
//         /api/v1/stream/test over one keep-alive HTTP connection (202 expected).
//   mqtt  N MQTT 3.1.1 clients (clean session, QoS 0 subscription to one topic) on a broker;
//         the publisher is one more MQTT client publishing QoS 0 payloads shaped like the
//         argus envelope, so both sides carry comparable bytes.
//
// Phases: connect (at most --batch handshakes in flight, refused or reset connects are retried
// with backoff), idle (--idle s, the server's RSS is sampled before and after), publish
// (--rate messages/s for --duration s, paced by a timerfd on an absolute schedule), drain
// (until every connected subscriber has every message or --drain s have passed).
//
// Latency is CLOCK_MONOTONIC at receipt minus the t_ns the publisher stamped just before
// writing the message (same host, same clock). Each subscriber keeps a bitset of the
// sequence numbers it received: lost = expected - delivered, duplicates are counted apart.
// Percentiles p50_ms..max_ms are over the messages delivered; p50_all_ms and p99_all_ms are
// over every expected delivery, a message still missing after the drain counting as
// infinitely late (-1: that percentile was not reached), so a server that delivers less is
// not rewarded with a shorter tail.
//
// Output: one JSON line on stdout; progress and errors on stderr. Exit status 0 when the run
// completed (whatever the figures), 1 when it could not run, 2 on bad usage.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int kFdMargin = 64;  // descriptors beyond the subscribers: publisher, epoll, stdio
constexpr std::size_t kReadChunk = 256 * 1024;
constexpr std::size_t kMaxHeader = 16 * 1024;
constexpr int kMaxConnectAttempts = 20;
constexpr std::uint16_t kMqttKeepAliveS = 60;

std::int64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// VmRSS of a process in KiB, or -1 when it cannot be read.
long rss_kib(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

std::string base64(const unsigned char* p, std::size_t n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < n; i += 3) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (i + 1 < n ? std::uint32_t{p[i + 1]} << 8 : 0) |
                            (i + 2 < n ? std::uint32_t{p[i + 2]} : 0);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < n ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < n ? kAlphabet[v & 63] : '=';
  }
  return out;
}

// Sec-WebSocket-Accept for a key (RFC 6455 section 4.2.2): base64(SHA-1(key + GUID)).
std::string websocket_accept(const std::string& key) {
  const std::string text = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha1(), nullptr) != 1) return {};
  return base64(digest, len);
}

// xorshift64*: masking keys and handshake nonces. A benchmark client needs no
// cryptographic randomness; RFC 6455 asks masks to be unpredictable to proxies, not secret.
struct Rng {
  std::uint64_t s;
  std::uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1DULL;
  }
};

// Latency histogram: 1 us buckets below 1024 us, then 512 buckets per power of two
// (relative error under 0.2 %), up to about 2^40 us.
class Histogram {
 public:
  Histogram() : buckets_(1024 + 31 * 512, 0) {}

  void add(std::int64_t ns) {
    const std::uint64_t us = ns > 0 ? static_cast<std::uint64_t>(ns) / 1000 : 0;
    ++buckets_[index(us)];
    ++count_;
    max_ns_ = std::max(max_ns_, ns);
  }
  std::uint64_t count() const { return count_; }
  double max_ms() const { return static_cast<double>(max_ns_) / 1e6; }

  // The q-quantile in milliseconds (upper bound of its bucket); 0 when empty. With
  // `population` larger than count(), the missing samples count as infinitely late, and -1
  // means the quantile was not reached.
  double quantile_ms(double q, std::uint64_t population = 0) const {
    if (count_ == 0) return population > 0 ? -1 : 0;
    const std::uint64_t n = std::max(population, count_);
    const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(n)));
    if (rank > count_) return -1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= std::max<std::uint64_t>(rank, 1)) {
        return std::min(static_cast<double>(upper_us(i)) / 1e3, max_ms());
      }
    }
    return max_ms();
  }

 private:
  static std::size_t index(std::uint64_t us) {
    if (us < 1024) return us;
    const int e = 63 - __builtin_clzll(us);  // >= 10
    const std::size_t i = 1024 + static_cast<std::size_t>(e - 10) * 512 + ((us >> (e - 9)) & 511);
    return std::min<std::size_t>(i, 1024 + 31 * 512 - 1);
  }
  static std::uint64_t upper_us(std::size_t i) {
    if (i < 1024) return i + 1;
    const std::size_t e = (i - 1024) / 512 + 10, sub = (i - 1024) % 512;
    return ((512 + sub + 1) << (e - 9));
  }

  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
  std::int64_t max_ns_ = 0;
};

struct Options {
  std::string mode;
  std::string host = "127.0.0.1";
  int port = 0;
  std::string token;
  std::string stream_path = "/api/v1/stream";
  std::string publish_path = "/api/v1/stream/test";
  std::string ws_topic = "system";
  std::string mqtt_topic = "argus/bench/system";
  int subscribers = 1000;
  int rate = 100;
  double duration = 10;
  double idle = 3;
  double drain = 5;
  int batch = 64;
  int pipeline = 256;
  int server_pid = 0;
  long max_server_rss_mib = 4096;
  double connect_timeout = 300;
};

void usage() {
  std::fprintf(stderr,
               "usage: bench_fanout ws|mqtt --port P [--host H] [--token T] [--subscribers N] [--rate R]\n"
               "         [--duration S] [--idle S] [--drain S] [--batch N] [--pipeline N] [--server-pid PID]\n"
               "         [--topic T] [--connect-timeout S] [--max-server-rss-mib M]\n"
               "  ws:   --token is the Bearer access token; --topic is the argus topic (system)\n"
               "  mqtt: --topic is the MQTT topic (argus/bench/system)\n");
}

enum class State { kIdle, kConnecting, kHandshake, kSubscribing, kReady, kClosed };

// One TCP connection: a subscriber, or the publisher (index == subscribers).
struct Conn {
  int fd = -1;
  std::uint32_t gen = 0;  // bumped on every (re)connect; stale epoll events are ignored
  State state = State::kIdle;
  int attempts = 0;
  bool want_write = false;
  bool counted_ready = false;
  bool dropped = false;  // disconnected after it had subscribed
  std::string in;        // bytes of an incomplete frame or packet carried to the next read
  std::string out;       // bytes the kernel did not take yet
  std::string frag;      // ws: payload of a fragmented message being assembled
  std::string ws_key;
  std::int64_t last_send_ns = 0;
  std::vector<std::uint64_t> seen;  // bitset of received sequence numbers
  std::uint32_t received = 0;
};

class Bench {
 public:
  explicit Bench(Options o) : opt_(std::move(o)), rng_{static_cast<std::uint64_t>(mono_ns()) | 1} {
    total_ = static_cast<std::uint64_t>(std::llround(opt_.rate * opt_.duration));
    conns_.resize(static_cast<std::size_t>(opt_.subscribers) + 1);
    for (int i = 0; i < opt_.subscribers; ++i) conns_[static_cast<std::size_t>(i)].seen.assign((total_ + 63) / 64, 0);
    rbuf_.resize(kReadChunk);
  }

  int run();

 private:
  bool ws() const { return opt_.mode == "ws"; }
  std::size_t publisher() const { return static_cast<std::size_t>(opt_.subscribers); }
  bool is_publisher(const Conn& c) const { return &c == &conns_[publisher()]; }

  bool resolve();
  void start_connect(std::size_t i);
  void fail_connect(std::size_t i, const std::string& why, bool retry);
  void on_event(std::uint64_t data, std::uint32_t events);
  void on_connected(std::size_t i);
  void on_readable(std::size_t i);
  void on_writable(std::size_t i);
  void drop(std::size_t i, const std::string& why);
  void send_bytes(std::size_t i, const char* p, std::size_t n);
  void set_events(std::size_t i, bool want_write);
  std::size_t process(std::size_t i, const char* p, std::size_t n, std::int64_t t);
  std::size_t process_ws(std::size_t i, const char* p, std::size_t n, std::int64_t t);
  std::size_t process_mqtt(std::size_t i, const char* p, std::size_t n, std::int64_t t);
  std::size_t process_http(std::size_t i, const char* p, std::size_t n);
  void on_message(std::size_t i, const char* p, std::size_t n, std::int64_t t);
  void became_ready(std::size_t i);
  void send_ws_frame(std::size_t i, std::uint8_t opcode, const char* p, std::size_t n);
  void send_mqtt_connect(std::size_t i);
  void publish_due(std::int64_t now);
  void publish_one(std::int64_t now);
  void mqtt_keepalive(std::int64_t now);
  void pump_connects(std::int64_t now);
  void note_error(const std::string& what);
  bool all_delivered() const;
  void report();

  Options opt_;
  Rng rng_;
  sockaddr_in addr_{};
  int ep_ = -1;
  int timer_ = -1;
  std::vector<Conn> conns_;
  std::vector<char> rbuf_;
  std::deque<std::pair<std::size_t, std::int64_t>> pending_;  // (index, not before)
  int in_flight_ = 0;
  int ready_ = 0;
  int failed_ = 0;
  int disconnected_ = 0;
  std::string first_error_;
  std::string first_disconnect_;

  // Publishing.
  std::uint64_t total_ = 0;     // messages to publish
  std::uint64_t next_seq_ = 0;  // next sequence number to send
  std::uint64_t accepted_ = 0;  // published and acknowledged (ws: 202; mqtt: written)
  std::uint64_t publish_errors_ = 0;
  std::deque<std::uint64_t> outstanding_;  // ws: seqs whose response has not arrived
  std::int64_t publish_start_ = 0;
  std::int64_t publish_end_ = 0;
  std::int64_t max_publish_lag_ns_ = 0;
  std::size_t publisher_backlog_max_ = 0;  // bytes the publisher's socket did not take yet
  bool publishing_ = false;
  bool publisher_failed_ = false;  // the publisher could not (re)connect: the run ends

  // Receiving.
  Histogram hist_;
  std::uint64_t delivered_ = 0;
  std::uint64_t duplicates_ = 0;
  std::uint64_t other_messages_ = 0;
  std::uint64_t server_dropped_ = 0;  // sum of the server's "dropped" notices
  std::uint64_t pongs_sent_ = 0;

  // Figures.
  double connect_s_ = 0;
  long rss_before_ = -1, rss_idle_ = -1, rss_end_ = -1, rss_peak_ = -1;
  bool rss_abort_ = false;
  double cpu_publish_ = 0, wall_publish_ = 0, cpu_total_ = 0;
};

bool Bench::resolve() {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(opt_.host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
    std::fprintf(stderr, "bench_fanout: cannot resolve %s\n", opt_.host.c_str());
    return false;
  }
  std::memcpy(&addr_, res->ai_addr, sizeof addr_);
  addr_.sin_port = htons(static_cast<std::uint16_t>(opt_.port));
  freeaddrinfo(res);
  return true;
}

void Bench::note_error(const std::string& what) {
  if (first_error_.empty()) {
    first_error_ = what;
    std::fprintf(stderr, "bench_fanout: %s\n", what.c_str());
  }
}

void Bench::set_events(std::size_t i, bool want_write) {
  Conn& c = conns_[i];
  epoll_event ev{};
  ev.events = EPOLLIN | (want_write ? EPOLLOUT : 0u);
  ev.data.u64 = (static_cast<std::uint64_t>(c.gen) << 32) | i;
  epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  c.want_write = want_write;
}

void Bench::start_connect(std::size_t i) {
  Conn& c = conns_[i];
  if (!is_publisher(c)) ++in_flight_;
  c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    fail_connect(i, std::string("socket: ") + std::strerror(errno), false);
    return;
  }
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ++c.gen;
  ++c.attempts;
  c.in.clear();
  c.out.clear();
  c.frag.clear();
  c.state = State::kConnecting;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.u64 = (static_cast<std::uint64_t>(c.gen) << 32) | i;
  c.want_write = true;
  if (epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
    fail_connect(i, std::string("epoll_ctl: ") + std::strerror(errno), false);
    return;
  }
  if (connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_) != 0 && errno != EINPROGRESS) {
    fail_connect(i, std::string("connect: ") + std::strerror(errno), true);
  }
}

// A subscriber's connect or handshake failed: retry later (connection-level errors) or give up.
void Bench::fail_connect(std::size_t i, const std::string& why, bool retry) {
  Conn& c = conns_[i];
  if (c.fd >= 0) close(c.fd);
  c.fd = -1;
  c.state = State::kClosed;
  if (is_publisher(c)) {
    note_error("publisher: " + why);
    publisher_failed_ = true;
    return;
  }
  --in_flight_;
  if (retry && c.attempts < kMaxConnectAttempts) {
    const std::int64_t backoff = std::min<std::int64_t>(1'000'000'000, 10'000'000LL << std::min(c.attempts, 6));
    pending_.emplace_back(i, mono_ns() + backoff);
    return;
  }
  ++failed_;
  note_error("subscriber " + std::to_string(i) + ": " + why);
}

// A connection that was subscribed (or the publisher) went away.
void Bench::drop(std::size_t i, const std::string& why) {
  Conn& c = conns_[i];
  if (c.fd >= 0) close(c.fd);
  c.fd = -1;
  const State was = c.state;
  c.state = State::kClosed;
  if (is_publisher(c)) {
    // Requests still waiting for their response are counted as failed publishes.
    publish_errors_ += outstanding_.size();
    outstanding_.clear();
    note_error("publisher connection lost: " + why);
    if (publishing_ || next_seq_ < total_) start_connect(i);
    return;
  }
  if (was == State::kReady) {
    c.dropped = true;
    ++disconnected_;
    if (first_disconnect_.empty()) {
      first_disconnect_ = "subscriber " + std::to_string(i) + ": " + why;
      std::fprintf(stderr, "bench_fanout: first disconnect: %s\n", first_disconnect_.c_str());
    }
  } else {
    fail_connect(i, why, false);
  }
}

void Bench::send_bytes(std::size_t i, const char* p, std::size_t n) {
  Conn& c = conns_[i];
  if (c.fd < 0) return;
  c.last_send_ns = mono_ns();
  if (c.out.empty()) {
    const ssize_t w = send(c.fd, p, n, MSG_NOSIGNAL);
    if (w == static_cast<ssize_t>(n)) return;
    if (w < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        drop(i, std::string("send: ") + std::strerror(errno));
        return;
      }
    } else {
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  }
  c.out.append(p, n);
  if (is_publisher(c)) publisher_backlog_max_ = std::max(publisher_backlog_max_, c.out.size());
  if (!c.want_write) set_events(i, true);
}

void Bench::on_writable(std::size_t i) {
  Conn& c = conns_[i];
  if (c.state == State::kConnecting) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      fail_connect(i, std::string("connect: ") + std::strerror(err), true);
      return;
    }
    set_events(i, false);
    on_connected(i);
    return;
  }
  while (!c.out.empty()) {
    const ssize_t w = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      drop(i, std::string("send: ") + std::strerror(errno));
      return;
    }
    c.out.erase(0, static_cast<std::size_t>(w));
  }
  set_events(i, false);
}

void Bench::on_connected(std::size_t i) {
  Conn& c = conns_[i];
  c.state = State::kHandshake;
  if (!ws()) {
    send_mqtt_connect(i);
    return;
  }
  if (is_publisher(c)) {
    c.state = State::kReady;
    return;
  }
  unsigned char nonce[16];
  const std::uint64_t a = rng_.next(), b = rng_.next();
  std::memcpy(nonce, &a, 8);
  std::memcpy(nonce + 8, &b, 8);
  c.ws_key = base64(nonce, sizeof nonce);
  std::string req =
      "GET " + opt_.stream_path + " HTTP/1.1\r\nHost: " + opt_.host + ":" + std::to_string(opt_.port) +
      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + c.ws_key +
      "\r\n";
  if (!opt_.token.empty()) req += "Authorization: Bearer " + opt_.token + "\r\n";
  req += "\r\n";
  send_bytes(i, req.data(), req.size());
}

void Bench::send_ws_frame(std::size_t i, std::uint8_t opcode, const char* p, std::size_t n) {
  std::string f;
  f.reserve(n + 14);
  f += static_cast<char>(0x80 | opcode);
  if (n < 126) {
    f += static_cast<char>(0x80 | n);
  } else if (n < 65536) {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(0x80 | 127);
    for (int s = 56; s >= 0; s -= 8) f += static_cast<char>((static_cast<std::uint64_t>(n) >> s) & 0xff);
  }
  const auto key = static_cast<std::uint32_t>(rng_.next());
  char mask[4];
  std::memcpy(mask, &key, 4);
  f.append(mask, 4);
  for (std::size_t k = 0; k < n; ++k) f += static_cast<char>(p[k] ^ mask[k & 3]);
  send_bytes(i, f.data(), f.size());
}

void put_mqtt_string(std::string& out, std::string_view s) {
  out += static_cast<char>(s.size() >> 8);
  out += static_cast<char>(s.size() & 0xff);
  out.append(s);
}

std::string mqtt_packet(std::uint8_t first, const std::string& body) {
  std::string p;
  p += static_cast<char>(first);
  std::size_t len = body.size();
  do {
    auto byte = static_cast<std::uint8_t>(len % 128);
    len /= 128;
    if (len > 0) byte |= 0x80;
    p += static_cast<char>(byte);
  } while (len > 0);
  return p + body;
}

void Bench::send_mqtt_connect(std::size_t i) {
  std::string body;
  put_mqtt_string(body, "MQTT");
  body += static_cast<char>(4);     // protocol level 3.1.1
  body += static_cast<char>(0x02);  // clean session
  body += static_cast<char>(kMqttKeepAliveS >> 8);
  body += static_cast<char>(kMqttKeepAliveS & 0xff);
  put_mqtt_string(body, "fanout-" + std::to_string(getpid()) + "-" + std::to_string(i));
  const std::string p = mqtt_packet(0x10, body);
  send_bytes(i, p.data(), p.size());
}

void Bench::became_ready(std::size_t i) {
  Conn& c = conns_[i];
  c.state = State::kReady;
  if (is_publisher(c) || c.counted_ready) return;
  c.counted_ready = true;
  ++ready_;
  --in_flight_;
}

void Bench::on_readable(std::size_t i) {
  Conn& c = conns_[i];
  const std::size_t carried = c.in.size();
  if (rbuf_.size() < carried + kReadChunk) rbuf_.resize(carried + kReadChunk);
  std::memcpy(rbuf_.data(), c.in.data(), carried);
  const ssize_t n = recv(c.fd, rbuf_.data() + carried, rbuf_.size() - carried, 0);
  if (n == 0) {
    drop(i, "closed by the server");
    return;
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    if (c.state == State::kHandshake || c.state == State::kConnecting) {
      fail_connect(i, std::string("recv: ") + std::strerror(errno), errno == ECONNRESET);
    } else {
      drop(i, std::string("recv: ") + std::strerror(errno));
    }
    return;
  }
  const std::int64_t t = mono_ns();
  const std::size_t total = carried + static_cast<std::size_t>(n);
  const std::size_t used = process(i, rbuf_.data(), total, t);
  if (c.fd < 0) return;  // the connection was closed while processing
  c.in.assign(rbuf_.data() + used, total - used);
}

std::size_t Bench::process(std::size_t i, const char* p, std::size_t n, std::int64_t t) {
  if (!ws()) return process_mqtt(i, p, n, t);
  if (is_publisher(conns_[i])) return process_http(i, p, n);
  return process_ws(i, p, n, t);
}

// Case-insensitive search for a header's value in a response head; empty when absent.
std::string header_value(std::string_view head, std::string_view name) {
  std::size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string_view::npos) {
    pos += 2;
    if (head.size() - pos > name.size() && head[pos + name.size()] == ':' &&
        strncasecmp(head.data() + pos, name.data(), name.size()) == 0) {
      std::size_t v = pos + name.size() + 1;
      while (v < head.size() && head[v] == ' ') ++v;
      const std::size_t end = head.find("\r\n", v);
      return std::string(head.substr(v, end == std::string_view::npos ? std::string_view::npos : end - v));
    }
  }
  return {};
}

int status_code(std::string_view head) {
  const std::size_t sp = head.find(' ');
  if (sp == std::string_view::npos) return 0;
  return std::atoi(std::string(head.substr(sp + 1, 3)).c_str());
}

std::size_t Bench::process_http(std::size_t i, const char* p, std::size_t n) {
  std::size_t used = 0;
  while (used < n) {
    const std::string_view rest(p + used, n - used);
    const std::size_t end = rest.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      if (rest.size() > kMaxHeader) drop(i, "response header too large");
      break;
    }
    const std::string_view head = rest.substr(0, end);
    const std::string cl = header_value(head, "Content-Length");
    const std::size_t body = cl.empty() ? 0 : std::strtoull(cl.c_str(), nullptr, 10);
    if (rest.size() < end + 4 + body) break;
    const int code = status_code(head);
    if (outstanding_.empty()) {
      note_error("publisher: unexpected response " + std::string(head.substr(0, head.find("\r\n"))));
    } else {
      outstanding_.pop_front();
      if (code == 202) {
        ++accepted_;
      } else {
        ++publish_errors_;
        note_error("publish answered " + std::to_string(code) + ": " +
                   std::string(rest.substr(end + 4, std::min<std::size_t>(body, 300))));
      }
    }
    used += end + 4 + body;
    if (header_value(head, "Connection") == "close") {
      drop(i, "server sent Connection: close");
      return used;
    }
  }
  return used;
}

std::size_t Bench::process_ws(std::size_t i, const char* p, std::size_t n, std::int64_t t) {
  Conn& c = conns_[i];
  std::size_t used = 0;
  if (c.state == State::kHandshake) {
    const std::string_view rest(p, n);
    const std::size_t end = rest.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      if (n > kMaxHeader) fail_connect(i, "upgrade response header too large", false);
      return 0;
    }
    const std::string_view head = rest.substr(0, end);
    const int code = status_code(head);
    if (code != 101) {
      // Show the status line and the start of the body (a problem+json explains why).
      std::string why = "upgrade answered " + std::string(head.substr(0, head.find("\r\n")));
      why += " " + std::string(rest.substr(end + 4, std::min<std::size_t>(rest.size() - end - 4, 300)));
      fail_connect(i, why, code == 503 || code == 429);
      return n;
    }
    if (header_value(head, "Sec-WebSocket-Accept") != websocket_accept(c.ws_key)) {
      fail_connect(i, "wrong Sec-WebSocket-Accept in the upgrade response", false);
      return n;
    }
    used = end + 4;
    c.state = State::kSubscribing;
    const std::string sub = "{\"op\":\"subscribe\",\"topics\":[\"" + opt_.ws_topic + "\"]}";
    send_ws_frame(i, 0x1, sub.data(), sub.size());
    if (c.fd < 0) return n;
  }
  while (n - used >= 2) {
    const auto* u = reinterpret_cast<const unsigned char*>(p + used);
    const bool fin = (u[0] & 0x80) != 0;
    const std::uint8_t opcode = u[0] & 0x0f;
    const bool masked = (u[1] & 0x80) != 0;
    std::uint64_t len = u[1] & 0x7f;
    std::size_t hdr = 2;
    if (len == 126) {
      if (n - used < 4) break;
      len = (std::uint64_t{u[2]} << 8) | u[3];
      hdr = 4;
    } else if (len == 127) {
      if (n - used < 10) break;
      len = 0;
      for (int k = 0; k < 8; ++k) len = (len << 8) | u[2 + k];
      hdr = 10;
    }
    if (masked) hdr += 4;
    if (n - used < hdr + len) break;
    const char* payload = p + used + hdr;
    std::string unmasked;
    if (masked) {  // servers must not mask (RFC 6455 5.1); tolerate it anyway
      unmasked.assign(payload, len);
      for (std::size_t k = 0; k < len; ++k) unmasked[k] = static_cast<char>(unmasked[k] ^ payload[-4 + (k & 3)]);
      payload = unmasked.data();
    }
    used += hdr + len;
    switch (opcode) {
      case 0x9:  // ping
        send_ws_frame(i, 0xA, payload, len);
        ++pongs_sent_;
        break;
      case 0xA:  // pong
        break;
      case 0x8: {  // close
        std::string why = "close frame";
        if (len >= 2) {
          why += " " +
                 std::to_string((static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]));
          if (len > 2) why += " " + std::string(payload + 2, len - 2);
        }
        send_ws_frame(i, 0x8, payload, std::min<std::size_t>(len, 2));
        drop(i, why);
        return n;
      }
      case 0x0:  // continuation
        c.frag.append(payload, len);
        if (fin) {
          const std::string whole = std::move(c.frag);
          c.frag.clear();
          on_message(i, whole.data(), whole.size(), t);
        }
        break;
      case 0x1:
      case 0x2:
        if (fin) {
          on_message(i, payload, len, t);
        } else {
          c.frag.assign(payload, len);
        }
        break;
      default:
        drop(i, "unknown opcode " + std::to_string(opcode));
        return n;
    }
    if (c.fd < 0) return n;
  }
  return used;
}

std::size_t Bench::process_mqtt(std::size_t i, const char* p, std::size_t n, std::int64_t t) {
  Conn& c = conns_[i];
  std::size_t used = 0;
  while (n - used >= 2) {
    const auto* u = reinterpret_cast<const unsigned char*>(p + used);
    std::size_t len = 0, k = 1;
    int shift = 0;
    bool complete = false;
    for (; k < 5 && used + k < n; ++k) {
      len |= static_cast<std::size_t>(u[k] & 0x7f) << shift;
      shift += 7;
      if ((u[k] & 0x80) == 0) {
        complete = true;
        ++k;
        break;
      }
    }
    if (!complete) {
      if (k >= 5) drop(i, "malformed remaining length");
      break;
    }
    if (n - used < k + len) break;
    const auto* body = u + k;
    used += k + len;
    switch (u[0] >> 4) {
      case 2:  // CONNACK
        if (len < 2 || body[1] != 0) {
          fail_connect(i, "CONNACK return code " + std::to_string(len >= 2 ? body[1] : -1), false);
          return n;
        }
        if (is_publisher(c)) {
          c.state = State::kReady;
        } else {
          c.state = State::kSubscribing;
          std::string sub;
          sub += '\0';
          sub += '\1';  // packet id 1
          put_mqtt_string(sub, opt_.mqtt_topic);
          sub += '\0';  // QoS 0
          const std::string pk = mqtt_packet(0x82, sub);
          send_bytes(i, pk.data(), pk.size());
        }
        break;
      case 9:  // SUBACK
        if (len < 3 || body[2] == 0x80) {
          fail_connect(i, "SUBACK refused the subscription", false);
          return n;
        }
        became_ready(i);
        break;
      case 3: {  // PUBLISH
        const int qos = (u[0] >> 1) & 3;
        if (len < 2) break;
        std::size_t off = 2 + ((std::size_t{body[0]} << 8) | body[1]);
        if (qos > 0) off += 2;
        if (off <= len) on_message(i, reinterpret_cast<const char*>(body) + off, len - off, t);
        break;
      }
      default:  // PINGRESP and anything else
        break;
    }
    if (c.fd < 0) return n;
  }
  return used;
}

// Parses the unsigned integer after `key` (e.g. "\"seq\":") in [p, end); false when absent.
bool find_number(const char* p, const char* end, std::string_view key, std::uint64_t& out) {
  const void* at = memmem(p, static_cast<std::size_t>(end - p), key.data(), key.size());
  if (at == nullptr) return false;
  const char* q = static_cast<const char*>(at) + key.size();
  while (q < end && *q == ' ') ++q;
  if (q >= end || *q < '0' || *q > '9') return false;
  std::uint64_t v = 0;
  while (q < end && *q >= '0' && *q <= '9') v = v * 10 + static_cast<std::uint64_t>(*q++ - '0');
  out = v;
  return true;
}

void Bench::on_message(std::size_t i, const char* p, std::size_t n, std::int64_t t) {
  Conn& c = conns_[i];
  if (c.state == State::kSubscribing) {
    const std::string_view m(p, n);
    if (m.find("\"subscribed\"") != std::string_view::npos) {
      became_ready(i);
    } else if (m.find("\"error\"") != std::string_view::npos) {
      fail_connect(i, "subscribe refused: " + std::string(m.substr(0, 300)), false);
    }
    return;
  }
  const char* end = p + n;
  const void* at = memmem(p, n, "\"test\"", 6);
  std::uint64_t seq = 0, sent = 0;
  if (at == nullptr || !find_number(static_cast<const char*>(at), end, "\"seq\":", seq) ||
      !find_number(static_cast<const char*>(at), end, "\"t_ns\":", sent)) {
    ++other_messages_;
    // argus tells a slow reader how many messages it dropped: {"data":{"dropped":N,...}}.
    std::uint64_t dropped = 0;
    if (at == nullptr && find_number(p, end, "\"dropped\":", dropped)) server_dropped_ += dropped;
    return;
  }
  if (seq >= total_ || c.seen.empty()) {
    ++other_messages_;
    return;
  }
  std::uint64_t& word = c.seen[seq / 64];
  const std::uint64_t bit = std::uint64_t{1} << (seq % 64);
  if (word & bit) {
    ++duplicates_;
    return;
  }
  word |= bit;
  ++c.received;
  ++delivered_;
  hist_.add(t - static_cast<std::int64_t>(sent));
}

void Bench::publish_one(std::int64_t now) {
  const std::uint64_t seq = next_seq_++;
  const std::size_t pi = publisher();
  char body[160];
  if (ws()) {
    const std::int64_t t = mono_ns();
    const int len = std::snprintf(body, sizeof body, "{\"data\":{\"seq\":%llu,\"t_ns\":%lld}}",
                                  static_cast<unsigned long long>(seq), static_cast<long long>(t));
    std::string req = "POST " + opt_.publish_path + " HTTP/1.1\r\nHost: " + opt_.host + ":" +
                      std::to_string(opt_.port) + "\r\nAuthorization: Bearer " + opt_.token +
                      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(len) + "\r\n\r\n";
    req.append(body, static_cast<std::size_t>(len));
    outstanding_.push_back(seq);
    send_bytes(pi, req.data(), req.size());
  } else {
    // The payload looks like the envelope argus subscribers receive, so both carry similar bytes.
    timespec real{};
    clock_gettime(CLOCK_REALTIME, &real);
    tm utc{};
    gmtime_r(&real.tv_sec, &utc);
    char stamp[40];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
    const std::int64_t t = mono_ns();
    const int len = std::snprintf(body, sizeof body,
                                  "{\"id\":\"%llu\",\"topic\":\"system\",\"time\":\"%s.%06ldZ\",\"data\":{\"test\":{"
                                  "\"seq\":%llu,\"t_ns\":%lld}}}",
                                  static_cast<unsigned long long>(seq + 1), stamp, real.tv_nsec / 1000,
                                  static_cast<unsigned long long>(seq), static_cast<long long>(t));
    std::string pk;
    put_mqtt_string(pk, opt_.mqtt_topic);
    pk.append(body, static_cast<std::size_t>(len));
    pk = mqtt_packet(0x30, pk);
    send_bytes(pi, pk.data(), pk.size());
    ++accepted_;
  }
  (void)now;
}

void Bench::publish_due(std::int64_t now) {
  const Conn& pc = conns_[publisher()];
  if (pc.state != State::kReady) return;
  if (publish_start_ == 0) return;
  const std::int64_t interval = 1'000'000'000LL / opt_.rate;
  const auto due = std::min<std::uint64_t>(total_, static_cast<std::uint64_t>((now - publish_start_) / interval) + 1);
  while (next_seq_ < due) {
    if (ws() && outstanding_.size() >= static_cast<std::size_t>(opt_.pipeline)) break;
    const std::int64_t scheduled = publish_start_ + static_cast<std::int64_t>(next_seq_) * interval;
    max_publish_lag_ns_ = std::max(max_publish_lag_ns_, now - scheduled);
    publish_one(now);
    if (conns_[publisher()].fd < 0) break;
  }
}

void Bench::mqtt_keepalive(std::int64_t now) {
  static const char kPing[2] = {static_cast<char>(0xC0), 0};
  for (std::size_t i = 0; i < conns_.size(); ++i) {
    Conn& c = conns_[i];
    if (c.fd >= 0 && c.state == State::kReady && now - c.last_send_ns > kMqttKeepAliveS * 500'000'000LL) {
      send_bytes(i, kPing, 2);
    }
  }
}

void Bench::pump_connects(std::int64_t now) {
  std::size_t scanned = pending_.size();
  while (in_flight_ < opt_.batch && scanned-- > 0 && !pending_.empty()) {
    auto [i, not_before] = pending_.front();
    pending_.pop_front();
    if (not_before > now) {
      pending_.emplace_back(i, not_before);
      continue;
    }
    start_connect(i);
  }
}

void Bench::on_event(std::uint64_t data, std::uint32_t events) {
  const std::size_t i = data & 0xffffffffu;
  const auto gen = static_cast<std::uint32_t>(data >> 32);
  if (i >= conns_.size()) return;
  Conn& c = conns_[i];
  if (c.fd < 0 || c.gen != gen) return;
  if (c.state == State::kConnecting) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_writable(i);
    return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(i);
  if (c.fd >= 0 && c.gen == gen && (events & EPOLLOUT)) on_writable(i);
}

bool Bench::all_delivered() const {
  if (accepted_ == 0) return true;
  for (int i = 0; i < opt_.subscribers; ++i) {
    const Conn& c = conns_[static_cast<std::size_t>(i)];
    if (c.fd >= 0 && c.state == State::kReady && c.received < accepted_) return false;
  }
  return true;
}

int Bench::run() {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  if (static_cast<rlim_t>(opt_.subscribers) + kFdMargin > rl.rlim_cur) {
    std::fprintf(stderr,
                 "bench_fanout: %d subscribers need %d file descriptors, but RLIMIT_NOFILE is %llu (hard limit): "
                 "raise the hard limit (ulimit -Hn, /etc/security/limits.conf, systemd LimitNOFILE) or use fewer "
                 "subscribers\n",
                 opt_.subscribers, opt_.subscribers + kFdMargin, static_cast<unsigned long long>(rl.rlim_cur));
    return 1;
  }
  if (!resolve()) return 1;
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (ep_ < 0 || timer_ < 0) {
    std::perror("bench_fanout: epoll/timerfd");
    return 1;
  }
  {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 0xffffffffu;
    epoll_ctl(ep_, EPOLL_CTL_ADD, timer_, &ev);
  }

  enum class Phase { kConnect, kIdle, kPublish, kDrain, kDone } phase = Phase::kConnect;
  rss_before_ = rss_kib(opt_.server_pid);
  const double cpu_start = cpu_seconds();
  const std::int64_t t0 = mono_ns();
  std::int64_t phase_end = t0 + static_cast<std::int64_t>(opt_.connect_timeout * 1e9);
  std::int64_t last_progress = t0, last_keepalive = t0, last_drain_check = 0;
  double cpu_at_publish = 0;
  for (int i = 0; i < opt_.subscribers; ++i) pending_.emplace_back(static_cast<std::size_t>(i), 0);
  std::fprintf(stderr, "bench_fanout: %s: connecting %d subscribers to %s:%d (%d at a time)\n", opt_.mode.c_str(),
               opt_.subscribers, opt_.host.c_str(), opt_.port, opt_.batch);

  std::vector<epoll_event> events(1024);
  while (phase != Phase::kDone) {
    const int timeout_ms = phase == Phase::kConnect ? 5 : 20;
    const int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (n < 0 && errno != EINTR) {
      std::perror("bench_fanout: epoll_wait");
      return 1;
    }
    for (int k = 0; k < n; ++k) {
      if (events[static_cast<std::size_t>(k)].data.u64 == 0xffffffffu) {
        std::uint64_t ticks = 0;
        if (read(timer_, &ticks, sizeof ticks) < 0) continue;
        continue;
      }
      on_event(events[static_cast<std::size_t>(k)].data.u64, events[static_cast<std::size_t>(k)].events);
    }
    const std::int64_t now = mono_ns();
    if (publishing_) publish_due(now);
    if (now - last_keepalive > 1'000'000'000LL) {
      if (!ws()) mqtt_keepalive(now);
      last_keepalive = now;
      // Once a second: the server's peak RSS, and a guard for the shared machine (a server
      // that queues everything for subscribers it cannot serve may grow without bound).
      const long rss = rss_kib(opt_.server_pid);
      rss_peak_ = std::max(rss_peak_, rss);
      if (rss > opt_.max_server_rss_mib * 1024 && !rss_abort_) {
        rss_abort_ = true;
        note_error("server RSS " + std::to_string(rss / 1024) + " MiB is over --max-server-rss-mib " +
                   std::to_string(opt_.max_server_rss_mib) + ": run stopped");
        if (phase == Phase::kPublish || phase == Phase::kDrain) {
          publishing_ = false;
          if (publish_end_ == 0) publish_end_ = now;
          phase = Phase::kDrain;
          phase_end = now;
        }
      }
    }
    switch (phase) {
      case Phase::kConnect:
        pump_connects(now);
        if (now - last_progress > 2'000'000'000LL) {
          std::fprintf(stderr, "bench_fanout: %d/%d subscribed, %d failed, %d in flight\n", ready_, opt_.subscribers,
                       failed_, in_flight_);
          last_progress = now;
        }
        if (ready_ + failed_ >= opt_.subscribers || now > phase_end) {
          connect_s_ = static_cast<double>(now - t0) / 1e9;
          std::fprintf(stderr, "bench_fanout: %d/%d subscribed in %.2f s (%d failed); idle %.1f s\n", ready_,
                       opt_.subscribers, connect_s_, failed_, opt_.idle);
          if (ready_ == 0) {
            std::fprintf(stderr, "bench_fanout: no subscriber could subscribe (%s)\n", first_error_.c_str());
            report();
            return 1;
          }
          phase = Phase::kIdle;
          phase_end = now + static_cast<std::int64_t>(opt_.idle * 1e9);
        }
        break;
      case Phase::kIdle:
        if (now >= phase_end) {
          rss_idle_ = rss_kib(opt_.server_pid);
          phase = Phase::kPublish;
          start_connect(publisher());
          phase_end = now + 10'000'000'000LL;  // the publisher must be ready within 10 s
        }
        break;
      case Phase::kPublish:
        if (!publishing_) {
          if (conns_[publisher()].state == State::kReady) {
            publishing_ = true;
            publish_start_ = mono_ns();
            cpu_at_publish = cpu_seconds();
            const std::int64_t interval = 1'000'000'000LL / opt_.rate;
            itimerspec its{};
            its.it_value.tv_sec = publish_start_ / 1'000'000'000;
            its.it_value.tv_nsec = publish_start_ % 1'000'000'000;
            its.it_interval.tv_sec = interval / 1'000'000'000;
            its.it_interval.tv_nsec = interval % 1'000'000'000;
            timerfd_settime(timer_, TFD_TIMER_ABSTIME, &its, nullptr);
            std::fprintf(stderr, "bench_fanout: publishing %llu messages at %d/s\n",
                         static_cast<unsigned long long>(total_), opt_.rate);
            publish_due(publish_start_);
          } else if (now > phase_end || publisher_failed_) {
            note_error("publisher could not connect");
            phase = Phase::kDone;
          }
          break;
        }
        if (now - last_progress > 5'000'000'000LL) {
          std::fprintf(stderr, "bench_fanout: published %llu/%llu, delivered %llu, disconnected %d\n",
                       static_cast<unsigned long long>(next_seq_), static_cast<unsigned long long>(total_),
                       static_cast<unsigned long long>(delivered_), disconnected_);
          last_progress = now;
        }
        if (next_seq_ >= total_ && outstanding_.empty()) {
          publish_end_ = now;
          itimerspec off{};
          timerfd_settime(timer_, 0, &off, nullptr);
          publishing_ = false;
          phase = Phase::kDrain;
          phase_end = now + static_cast<std::int64_t>(opt_.drain * 1e9);
        }
        // A publisher that is gone or lags far behind (server not answering) ends the run.
        if (publisher_failed_ || now - publish_start_ > static_cast<std::int64_t>((opt_.duration + 60) * 1e9)) {
          note_error(publisher_failed_ ? "publisher lost" : "publishing did not finish within duration + 60 s");
          publish_end_ = now;
          publishing_ = false;
          phase = Phase::kDrain;
          phase_end = now + static_cast<std::int64_t>(opt_.drain * 1e9);
        }
        break;
      case Phase::kDrain: {
        // all_delivered() walks every subscriber: at most every 50 ms.
        bool done = now >= phase_end;
        if (!done && now - last_drain_check > 50'000'000LL) {
          last_drain_check = now;
          done = all_delivered();
        }
        if (done) {
          wall_publish_ = static_cast<double>(now - publish_start_) / 1e9;
          cpu_publish_ = cpu_seconds() - cpu_at_publish;
          rss_end_ = rss_kib(opt_.server_pid);
          phase = Phase::kDone;
        }
        break;
      }
      case Phase::kDone:
        break;
    }
  }
  cpu_total_ = cpu_seconds() - cpu_start;
  for (Conn& c : conns_) {
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
  }
  report();
  return 0;
}

void Bench::report() {
  // Subscribers the server disconnected during the run lose what they missed in `lost`; the
  // others ("kept up", or at least stayed) are also counted apart in `lost_connected`.
  std::uint64_t expected = 0, lost_connected = 0;
  for (int i = 0; i < opt_.subscribers; ++i) {
    const Conn& c = conns_[static_cast<std::size_t>(i)];
    if (!c.counted_ready) continue;
    expected += accepted_;
    if (!c.dropped && accepted_ > c.received) lost_connected += accepted_ - c.received;
  }
  const std::uint64_t lost = expected > delivered_ ? expected - delivered_ : 0;
  const double publish_rate =
      wall_publish_ > 0 && publish_end_ > publish_start_
          ? static_cast<double>(next_seq_) / (static_cast<double>(publish_end_ - publish_start_) / 1e9)
          : 0;
  const double kib_per_sub =
      rss_before_ >= 0 && rss_idle_ >= 0 && ready_ > 0 ? static_cast<double>(rss_idle_ - rss_before_) / ready_ : -1;
  std::printf(
      "{\"mode\":\"%s\",\"subscribers\":%d,\"subscribed\":%d,\"connect_failed\":%d,\"connect_s\":%.3f,"
      "\"rate\":%d,\"duration\":%g,\"published\":%llu,\"accepted\":%llu,\"publish_errors\":%llu,"
      "\"publish_rate\":%.2f,\"max_publish_lag_ms\":%.3f,"
      "\"delivered\":%llu,\"expected\":%llu,\"lost\":%llu,\"lost_connected\":%llu,\"duplicates\":%llu,"
      "\"disconnected\":%d,\"server_dropped\":%llu,\"other_messages\":%llu,\"pongs_sent\":%llu,"
      "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,"
      "\"p50_all_ms\":%.3f,\"p99_all_ms\":%.3f,\"publisher_backlog_max_bytes\":%zu,"
      "\"client_cpu_s\":%.3f,\"client_cpu_publish_s\":%.3f,\"client_cpu_util\":%.3f,"
      "\"server_rss_kib_before\":%ld,\"server_rss_kib_idle\":%ld,\"server_rss_kib_end\":%ld,"
      "\"server_rss_kib_peak\":%ld,\"server_rss_aborted\":%s,\"server_kib_per_idle_subscriber\":%.3f,\"first_error\":"
      "\"%s\",\"first_disconnect\":\"%s\"}\n",
      opt_.mode.c_str(), opt_.subscribers, ready_, failed_, connect_s_, opt_.rate, opt_.duration,
      static_cast<unsigned long long>(next_seq_), static_cast<unsigned long long>(accepted_),
      static_cast<unsigned long long>(publish_errors_), publish_rate, static_cast<double>(max_publish_lag_ns_) / 1e6,
      static_cast<unsigned long long>(delivered_), static_cast<unsigned long long>(expected),
      static_cast<unsigned long long>(lost), static_cast<unsigned long long>(lost_connected),
      static_cast<unsigned long long>(duplicates_), disconnected_, static_cast<unsigned long long>(server_dropped_),
      static_cast<unsigned long long>(other_messages_), static_cast<unsigned long long>(pongs_sent_),
      hist_.quantile_ms(0.5), hist_.quantile_ms(0.9), hist_.quantile_ms(0.99), hist_.quantile_ms(0.999), hist_.max_ms(),
      hist_.quantile_ms(0.5, expected), hist_.quantile_ms(0.99, expected), publisher_backlog_max_, cpu_total_,
      cpu_publish_, wall_publish_ > 0 ? cpu_publish_ / wall_publish_ : 0, rss_before_, rss_idle_, rss_end_, rss_peak_,
      rss_abort_ ? "true" : "false", kib_per_sub, json_escape(first_error_).c_str(),
      json_escape(first_disconnect_).c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage();
    return 2;
  }
  Options o;
  o.mode = argv[1];
  if (o.mode != "ws" && o.mode != "mqtt") {
    usage();
    return 2;
  }
  bool topic_set = false;
  for (int k = 2; k < argc; ++k) {
    const std::string a = argv[k];
    if (k + 1 >= argc) {
      std::fprintf(stderr, "bench_fanout: %s needs a value\n", a.c_str());
      usage();
      return 2;
    }
    const char* v = argv[++k];
    if (a == "--host")
      o.host = v;
    else if (a == "--port")
      o.port = std::atoi(v);
    else if (a == "--token")
      o.token = v;
    else if (a == "--subscribers")
      o.subscribers = std::atoi(v);
    else if (a == "--rate")
      o.rate = std::atoi(v);
    else if (a == "--duration")
      o.duration = std::atof(v);
    else if (a == "--idle")
      o.idle = std::atof(v);
    else if (a == "--drain")
      o.drain = std::atof(v);
    else if (a == "--batch")
      o.batch = std::atoi(v);
    else if (a == "--pipeline")
      o.pipeline = std::atoi(v);
    else if (a == "--server-pid")
      o.server_pid = std::atoi(v);
    else if (a == "--connect-timeout")
      o.connect_timeout = std::atof(v);
    else if (a == "--max-server-rss-mib")
      o.max_server_rss_mib = std::atol(v);
    else if (a == "--topic") {
      topic_set = true;
      (o.mode == "ws" ? o.ws_topic : o.mqtt_topic) = v;
    } else {
      std::fprintf(stderr, "bench_fanout: unknown option %s\n", a.c_str());
      usage();
      return 2;
    }
  }
  (void)topic_set;
  if (o.port <= 0 || o.port > 65535 || o.subscribers < 1 || o.rate < 1 || o.rate > 1'000'000 || o.duration <= 0 ||
      o.batch < 1 || o.pipeline < 1) {
    std::fprintf(stderr, "bench_fanout: bad --port, --subscribers, --rate, --duration, --batch or --pipeline\n");
    usage();
    return 2;
  }
  if (o.mode == "ws" && o.token.empty()) std::fprintf(stderr, "bench_fanout: warning: no --token given\n");
  Bench bench(std::move(o));
  return bench.run();
}
