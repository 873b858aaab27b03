// Configuration: the typed settings of `argus serve`, loaded from defaults, a YAML file,
// the environment (ARGUS_*) and flags, in increasing precedence.
//
// Every key is declared once in the schema (config.cpp); from that one table come the
// YAML parser, the environment variable names, `--set key=value`, the validation messages
// and `config_reference()`. Unknown keys and bad values are errors that name the key
// path, the value, where it came from and what is allowed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/camera.h"
#include "core/log.h"
#include "core/status.h"

namespace argus {

struct ServerConfig {
  std::string listen_host = "0.0.0.0";
  std::uint16_t listen_port = 8080;
  int io_threads = 2;
  std::size_t max_connections = 1024;
  std::size_t max_body_bytes = 1 << 20;     // 413 beyond (nginx client_max_body_size 1m)
  std::size_t max_header_bytes = 8 << 10;   // 431 beyond (nginx large_client_header_buffers 8k)
  std::int64_t header_timeout_ms = 60'000;  // nginx client_header_timeout
  std::int64_t body_timeout_ms = 60'000;    // nginx client_body_timeout
  std::int64_t idle_timeout_ms = 75'000;    // nginx keepalive_timeout
  std::int64_t shutdown_timeout_ms = 10'000;
  bool access_log = false;
  std::vector<std::string> cors_origins;  // browser origins allowed to call the API; none by default
  bool metrics_public = false;            // GET /metrics without credentials
};

// A request rate: `rate` per `period_ms`, `burst` at once.
struct RateConfig {
  double rate = 10;
  std::int64_t period_ms = 1000;
  std::int64_t burst = 20;
};

// Users and tokens (auth/auth_service.h) and the request limits (api/security.h).
struct AuthConfig {
  std::int64_t access_ttl_ms = 15 * 60'000;
  std::int64_t refresh_ttl_ms = 30LL * 24 * 3600'000;
  std::string admin_password_file;  // first start: the admin's password (else ARGUS_ADMIN_PASSWORD, else random)
  std::int64_t audit_retention_ms = 365LL * 86'400'000;  // audit rows older than this are deleted
  RateConfig login_rate{10, 60'000, 5};  // per client address: sign-in, refresh, logout
  RateConfig read_rate{100, 1000, 200};  // per caller: GET and HEAD
  RateConfig write_rate{20, 1000, 40};   // per caller: everything else
};

struct LogConfig {
  log::Level level = log::Level::kInfo;
  log::Format format = log::Format::kJson;
};

enum class SqliteSync { kOff, kNormal, kFull };

struct StoreConfig {
  std::string url;  // "" = sqlite under data_dir
  SqliteSync synchronous = SqliteSync::kNormal;
  std::int64_t busy_timeout_ms = 5'000;
  std::size_t write_queue = 4096;     // pending writes before callers are refused
  std::size_t write_batch_max = 256;  // writes per transaction
  int read_connections = 4;
};

// The shared detector pool (see vision/detector.h for what each kind needs).
struct DetectorSettings {
  std::string kind = "hog";           // hog | onnx | remote
  int workers = 1;                    // detector threads (one model instance each)
  std::size_t queue = 16;             // detection jobs waiting for a worker
  bool overflow_reject = false;       // false: drop the oldest job; true: reject the new one
  double min_score = 0.2;             // detector threshold (cameras filter with their own min_score)
  std::string hog_model = "default";  // default | daimler
  double hog_upscale = 1.0;
  std::string model;   // onnx model path
  std::string labels;  // onnx label file ("" = COCO)
  int input_width = 640;
  int input_height = 640;
  double nms = 0.45;
  std::string url;  // remote detector URL
  std::int64_t timeout_ms = 5'000;
  int retries = 2;
};

struct PipelineSettings {
  bool motion_gate = true;  // detect only when something moves or is tracked
  int motion_width = 320;
  std::int64_t track_timeout_ms = 1'000;
  std::int64_t count_flush_ms = 10'000;
  int snapshot_quality = 85;
  bool snapshots = true;
};

struct IngestSettings {
  std::int64_t backoff_initial_ms = 500;
  std::int64_t backoff_max_ms = 30'000;
  std::int64_t read_timeout_ms = 10'000;
  std::int64_t offline_after_ms = 60'000;
};

// Background jobs and their schedule (jobs/job_manager.h, jobs/scheduler.h).
struct JobsConfig {
  int workers = 1;                                 // jobs running at once
  std::size_t queue = 100;                         // jobs waiting; submit answers 429 beyond
  std::int64_t retention_interval_ms = 3'600'000;  // how often the retention job runs
  std::int64_t rollup_interval_ms = 300'000;       // how often the rollup job runs (once it exists)
  int retention_days = 30;                         // analytics and finished jobs kept; 0 = forever
};

// Notification delivery (alerts/delivery.h).
struct NotificationsConfig {
  std::size_t queue = 1000;                  // notifications scheduled (including retries); more are dead-lettered
  int workers = 2;                           // attempts running at once
  int max_attempts = 5;                      // attempts before a notification becomes a dead letter
  std::int64_t backoff_initial_ms = 1000;    // the first retry waits up to this (full jitter)
  std::int64_t backoff_max_ms = 300'000;     // the longest wait between attempts
  int breaker_threshold = 5;                 // consecutive failures that open a channel's circuit
  std::int64_t breaker_cooldown_ms = 30'000; // how long an open circuit waits before a trial
};

// TLS for the HTTP server (api/tls.h). load_config fills the defaults that depend on the
// data directory and the machine: the file paths and the host names.
enum class TlsMode { kDisabled, kSelfSigned, kProvided };

struct TlsConfig {
  TlsMode mode = TlsMode::kDisabled;
  std::string cert_file;                                // PEM chain; self_signed default <data_dir>/tls/cert.pem
  std::string key_file;                                 // PEM key; self_signed default <data_dir>/tls/key.pem
  std::vector<std::string> hostnames;                   // self_signed SANs; default localhost and the machine's name
  std::vector<std::string> ips = {"127.0.0.1", "::1"};  // self_signed SANs
  int min_version = 12;                                 // 12 = TLS 1.2, 13 = TLS 1.3
};

// Where outbound URLs (cameras, webhooks, remote detectors) may point (core/url_guard.h).
// kPrivate also allows private, link-local and loopback addresses; kPublic only public ones.
enum class UrlScope { kPrivate, kPublic };

struct SecurityConfig {
  UrlScope camera_urls = UrlScope::kPrivate;  // cameras usually live on the LAN
  UrlScope webhook_urls = UrlScope::kPublic;
  UrlScope detector_urls = UrlScope::kPrivate;
  std::vector<std::string> url_allow;  // CIDRs, addresses, host names, *.domain: always allowed
  std::vector<std::string> url_deny;   // same forms: always refused (wins over url_allow)
};

// What a slow stream subscriber gets when its queue is full: its oldest messages are dropped
// (counted, and it is told), or it is disconnected.
enum class StreamSlowPolicy { kDropOldest, kDisconnect };

// WebSocket and SSE streams (api/stream_hub.h).
struct StreamsConfig {
  std::size_t ring_size = 10'000;       // recent messages kept for replay (Last-Event-ID, after_id)
  std::size_t queue = 1024;             // messages waiting per subscriber
  StreamSlowPolicy slow_policy = StreamSlowPolicy::kDropOldest;
  std::size_t max_subscribers = 10'000;  // open stream connections
  std::int64_t heartbeat_ms = 15'000;    // SSE comment / WebSocket ping when idle
  std::int64_t write_timeout_ms = 60'000;  // a write stuck this long closes the connection
  std::size_t max_message_bytes = 64 << 10;  // largest WebSocket message a client may send
};

// The MQTT bridge (alerts/mqtt_bridge.h): what Argus sees, published to a broker for Home
// Assistant and other consumers. Runs when `enabled` and `url` is set.
struct MqttConfig {
  bool enabled = true;                        // false turns the bridge off while keeping its settings
  std::string url;                            // mqtt://host[:port] (1883) or mqtts://host[:port] (8883); "" = off
  std::string username;                       // "" = anonymous
  std::string password;                       // or password_file (wins when both are set)
  std::string password_file;                  // read at start; one trailing newline is ignored
  std::string ca_file;                        // mqtts: PEM CA bundle ("" = the system's CAs)
  bool tls_insecure = false;                  // mqtts: skip the host name check (never in production)
  std::string client_id;                      // default argus-<hostname> (filled by load_config)
  std::string topic_prefix = "argus";         // <prefix>/available, /events, /<camera>/...
  bool discovery = true;                      // Home Assistant MQTT discovery
  std::string discovery_prefix = "homeassistant";
  std::int64_t stats_interval_ms = 60'000;    // <prefix>/stats period
  std::size_t backlog = 10'000;               // messages kept while disconnected; beyond, the oldest are dropped
  std::int64_t keepalive_ms = 60'000;
  std::int64_t reconnect_max_ms = 30'000;     // reconnect delay doubles from 500 ms up to this
  int qos = 1;                                // 0 or 1 for everything the bridge publishes
};

struct Config {
  std::string data_dir = "./data";  // made absolute by load_config
  ServerConfig server;
  LogConfig log;
  AuthConfig auth;
  StoreConfig store;
  DetectorSettings detector;
  PipelineSettings pipeline;
  IngestSettings ingest;
  JobsConfig jobs;
  NotificationsConfig notifications;
  TlsConfig tls;
  SecurityConfig security;
  StreamsConfig streams;
  MqttConfig mqtt;
  std::vector<Camera> cameras;  // declared in the file; upserted at start
};

// Where configuration comes from. `env` is usually the process environment; `flags` maps
// a key path ("server.listen") to its value as given on the command line.
struct ConfigSources {
  std::string file;                          // "" = no file
  std::map<std::string, std::string> env;    // name -> value
  std::map<std::string, std::string> flags;  // key path -> value
};

// Loads and validates. On failure the Status message lists every problem, one per line.
Result<Config> load_config(const ConfigSources& sources);

// The process environment as a map (only ARGUS_* variables).
std::map<std::string, std::string> argus_environment();

// A table of every key: path, environment variable, default and what is allowed.
std::string config_reference();

// The effective configuration as YAML (camera credentials masked).
std::string config_to_yaml(const Config& config);

std::string_view sqlite_sync_name(SqliteSync s);
std::string_view tls_mode_name(TlsMode m);

}  // namespace argus
