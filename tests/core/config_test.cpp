#include "core/config.h"

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/testing.h"

namespace argus {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// The server, log and store keys (every one is exercised through the environment below).
const std::vector<std::pair<std::string, std::string>> kFoundationKeys = {
    {"data_dir", "ARGUS_DATA_DIR"},
    {"server.listen", "ARGUS_LISTEN"},
    {"server.io_threads", "ARGUS_IO_THREADS"},
    {"server.max_connections", "ARGUS_MAX_CONNECTIONS"},
    {"server.max_body_bytes", "ARGUS_MAX_BODY_BYTES"},
    {"server.max_header_bytes", "ARGUS_MAX_HEADER_BYTES"},
    {"server.header_timeout", "ARGUS_HEADER_TIMEOUT"},
    {"server.body_timeout", "ARGUS_BODY_TIMEOUT"},
    {"server.idle_timeout", "ARGUS_IDLE_TIMEOUT"},
    {"server.shutdown_timeout", "ARGUS_SHUTDOWN_TIMEOUT"},
    {"server.access_log", "ARGUS_ACCESS_LOG"},
    {"log.level", "ARGUS_LOG_LEVEL"},
    {"log.format", "ARGUS_LOG_FORMAT"},
    {"store.url", "ARGUS_STORE_URL"},
    {"store.synchronous", "ARGUS_STORE_SYNCHRONOUS"},
    {"store.busy_timeout", "ARGUS_STORE_BUSY_TIMEOUT"},
    {"store.write_queue", "ARGUS_STORE_WRITE_QUEUE"},
    {"store.write_batch_max", "ARGUS_STORE_WRITE_BATCH_MAX"},
    {"store.read_connections", "ARGUS_STORE_READ_CONNECTIONS"},
};

// The detector, pipeline and ingest keys.
const std::vector<std::pair<std::string, std::string>> kPipelineKeys = {
    {"detector.kind", "ARGUS_DETECTOR"},
    {"detector.workers", "ARGUS_DETECTOR_WORKERS"},
    {"detector.queue", "ARGUS_DETECTOR_QUEUE"},
    {"detector.overflow", "ARGUS_DETECTOR_OVERFLOW"},
    {"detector.min_score", "ARGUS_DETECTOR_MIN_SCORE"},
    {"detector.hog_model", "ARGUS_DETECTOR_HOG_MODEL"},
    {"detector.hog_upscale", "ARGUS_DETECTOR_HOG_UPSCALE"},
    {"detector.model", "ARGUS_DETECTOR_MODEL"},
    {"detector.labels", "ARGUS_DETECTOR_LABELS"},
    {"detector.input_width", "ARGUS_DETECTOR_INPUT_WIDTH"},
    {"detector.input_height", "ARGUS_DETECTOR_INPUT_HEIGHT"},
    {"detector.nms", "ARGUS_DETECTOR_NMS"},
    {"detector.url", "ARGUS_DETECTOR_URL"},
    {"detector.timeout", "ARGUS_DETECTOR_TIMEOUT"},
    {"detector.retries", "ARGUS_DETECTOR_RETRIES"},
    {"pipeline.motion_gate", "ARGUS_MOTION_GATE"},
    {"pipeline.motion_width", "ARGUS_MOTION_WIDTH"},
    {"pipeline.track_timeout", "ARGUS_TRACK_TIMEOUT"},
    {"pipeline.count_flush", "ARGUS_COUNT_FLUSH"},
    {"pipeline.snapshot_quality", "ARGUS_SNAPSHOT_QUALITY"},
    {"pipeline.snapshots", "ARGUS_SNAPSHOTS"},
    {"ingest.backoff_initial", "ARGUS_INGEST_BACKOFF_INITIAL"},
    {"ingest.backoff_max", "ARGUS_INGEST_BACKOFF_MAX"},
    {"ingest.read_timeout", "ARGUS_INGEST_READ_TIMEOUT"},
    {"ingest.offline_after", "ARGUS_INGEST_OFFLINE_AFTER"},
};

// The TLS and outbound URL keys (config_security_test.cpp exercises them).
const std::vector<std::pair<std::string, std::string>> kSecurityKeys = {
    {"tls.mode", "ARGUS_TLS_MODE"},
    {"tls.cert_file", "ARGUS_TLS_CERT_FILE"},
    {"tls.key_file", "ARGUS_TLS_KEY_FILE"},
    {"tls.hostnames", "ARGUS_TLS_HOSTNAMES"},
    {"tls.ips", "ARGUS_TLS_IPS"},
    {"tls.min_version", "ARGUS_TLS_MIN_VERSION"},
    {"security.camera_urls", "ARGUS_SECURITY_CAMERA_URLS"},
    {"security.webhook_urls", "ARGUS_SECURITY_WEBHOOK_URLS"},
    {"security.detector_urls", "ARGUS_SECURITY_DETECTOR_URLS"},
    {"security.url_allow", "ARGUS_SECURITY_URL_ALLOW"},
    {"security.url_deny", "ARGUS_SECURITY_URL_DENY"},
    {"server.cors_origins", "ARGUS_CORS_ORIGINS"},
    {"server.metrics_public", "ARGUS_METRICS_PUBLIC"},
    {"auth.access_ttl", "ARGUS_AUTH_ACCESS_TTL"},
    {"auth.refresh_ttl", "ARGUS_AUTH_REFRESH_TTL"},
    {"auth.admin_password_file", "ARGUS_ADMIN_PASSWORD_FILE"},
    {"auth.audit_retention", "ARGUS_AUTH_AUDIT_RETENTION"},
    {"auth.login_rate", "ARGUS_AUTH_LOGIN_RATE"},
    {"auth.login_burst", "ARGUS_AUTH_LOGIN_BURST"},
    {"auth.read_rate", "ARGUS_AUTH_READ_RATE"},
    {"auth.read_burst", "ARGUS_AUTH_READ_BURST"},
    {"auth.write_rate", "ARGUS_AUTH_WRITE_RATE"},
    {"auth.write_burst", "ARGUS_AUTH_WRITE_BURST"},
};

// The background job keys (JobsKeys* below).
const std::vector<std::pair<std::string, std::string>> kJobsKeys = {
    {"jobs.workers", "ARGUS_JOBS_WORKERS"},
    {"jobs.queue", "ARGUS_JOBS_QUEUE"},
    {"jobs.retention_interval", "ARGUS_JOBS_RETENTION_INTERVAL"},
    {"jobs.rollup_interval", "ARGUS_JOBS_ROLLUP_INTERVAL"},
    {"jobs.retention_days", "ARGUS_JOBS_RETENTION_DAYS"},
};

// The notification delivery keys (NotificationsKeys* below).
const std::vector<std::pair<std::string, std::string>> kNotificationsKeys = {
    {"notifications.queue", "ARGUS_NOTIFICATIONS_QUEUE"},
    {"notifications.workers", "ARGUS_NOTIFICATIONS_WORKERS"},
    {"notifications.max_attempts", "ARGUS_NOTIFICATIONS_MAX_ATTEMPTS"},
    {"notifications.backoff_initial", "ARGUS_NOTIFICATIONS_BACKOFF_INITIAL"},
    {"notifications.backoff_max", "ARGUS_NOTIFICATIONS_BACKOFF_MAX"},
    {"notifications.breaker_threshold", "ARGUS_NOTIFICATIONS_BREAKER_THRESHOLD"},
    {"notifications.breaker_cooldown", "ARGUS_NOTIFICATIONS_BREAKER_COOLDOWN"},
};

// The stream keys (StreamsKeys* below).
const std::vector<std::pair<std::string, std::string>> kStreamsKeys = {
    {"streams.ring_size", "ARGUS_STREAMS_RING_SIZE"},
    {"streams.queue", "ARGUS_STREAMS_QUEUE"},
    {"streams.slow_policy", "ARGUS_STREAMS_SLOW_POLICY"},
    {"streams.max_subscribers", "ARGUS_STREAMS_MAX_SUBSCRIBERS"},
    {"streams.heartbeat", "ARGUS_STREAMS_HEARTBEAT"},
    {"streams.write_timeout", "ARGUS_STREAMS_WRITE_TIMEOUT"},
    {"streams.max_message_bytes", "ARGUS_STREAMS_MAX_MESSAGE_BYTES"},
};

// The MQTT bridge keys (MqttKeys* below).
const std::vector<std::pair<std::string, std::string>> kMqttKeys = {
    {"mqtt.enabled", "ARGUS_MQTT_ENABLED"},
    {"mqtt.url", "ARGUS_MQTT_URL"},
    {"mqtt.username", "ARGUS_MQTT_USERNAME"},
    {"mqtt.password", "ARGUS_MQTT_PASSWORD"},
    {"mqtt.password_file", "ARGUS_MQTT_PASSWORD_FILE"},
    {"mqtt.tls.ca_file", "ARGUS_MQTT_TLS_CA_FILE"},
    {"mqtt.tls.insecure", "ARGUS_MQTT_TLS_INSECURE"},
    {"mqtt.client_id", "ARGUS_MQTT_CLIENT_ID"},
    {"mqtt.topic_prefix", "ARGUS_MQTT_TOPIC_PREFIX"},
    {"mqtt.discovery", "ARGUS_MQTT_DISCOVERY"},
    {"mqtt.discovery_prefix", "ARGUS_MQTT_DISCOVERY_PREFIX"},
    {"mqtt.stats_interval", "ARGUS_MQTT_STATS_INTERVAL"},
    {"mqtt.backlog", "ARGUS_MQTT_BACKLOG"},
    {"mqtt.keepalive", "ARGUS_MQTT_KEEPALIVE"},
    {"mqtt.reconnect_max", "ARGUS_MQTT_RECONNECT_MAX"},
    {"mqtt.qos", "ARGUS_MQTT_QOS"},
};

// Every key of the schema, as documented.
const std::vector<std::pair<std::string, std::string>> kKeys = [] {
  auto all = kFoundationKeys;
  all.insert(all.end(), kPipelineKeys.begin(), kPipelineKeys.end());
  all.insert(all.end(), kSecurityKeys.begin(), kSecurityKeys.end());
  all.insert(all.end(), kJobsKeys.begin(), kJobsKeys.end());
  all.insert(all.end(), kNotificationsKeys.begin(), kNotificationsKeys.end());
  all.insert(all.end(), kStreamsKeys.begin(), kStreamsKeys.end());
  all.insert(all.end(), kMqttKeys.begin(), kMqttKeys.end());
  return all;
}();

class ConfigTest : public ::testing::Test {
 protected:
  // Writes `yaml` to config.yaml in a fresh temp dir and returns the sources for it.
  ConfigSources file_sources(const std::string& yaml) {
    const std::string path = dir_.file("config.yaml");
    testing::write_file(path, yaml);
    ConfigSources s;
    s.file = path;
    return s;
  }
  std::string config_path() const { return dir_.file("config.yaml"); }

  Config load_ok(const ConfigSources& s) {
    Result<Config> r = load_config(s);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? std::move(r).value() : Config{};
  }

  std::string load_error(const ConfigSources& s) {
    Result<Config> r = load_config(s);
    EXPECT_FALSE(r.ok());
    if (r.ok()) return "";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    return r.status().message();
  }

  testing::TempDir dir_;
};

std::string cwd() { return fs::current_path().lexically_normal().string(); }

TEST_F(ConfigTest, Defaults) {
  Config c = load_ok({});
  EXPECT_EQ(c.data_dir, cwd() + "/data");
  EXPECT_TRUE(fs::path(c.data_dir).is_absolute());
  EXPECT_EQ(c.server.listen_host, "0.0.0.0");
  EXPECT_EQ(c.server.listen_port, 8080);
  EXPECT_EQ(c.server.io_threads, 2);
  EXPECT_EQ(c.server.max_connections, 1024u);
  EXPECT_EQ(c.server.max_body_bytes, 1u << 20);
  EXPECT_EQ(c.server.max_header_bytes, 8u << 10);
  EXPECT_EQ(c.server.header_timeout_ms, 60'000);
  EXPECT_EQ(c.server.body_timeout_ms, 60'000);
  EXPECT_EQ(c.server.idle_timeout_ms, 75'000);
  EXPECT_EQ(c.server.shutdown_timeout_ms, 10'000);
  EXPECT_FALSE(c.server.access_log);
  EXPECT_EQ(c.log.level, log::Level::kInfo);
  EXPECT_EQ(c.log.format, log::Format::kJson);
  EXPECT_EQ(c.store.url, "sqlite://" + cwd() + "/data/argus.db");
  EXPECT_EQ(c.store.synchronous, SqliteSync::kNormal);
  EXPECT_EQ(c.store.busy_timeout_ms, 5'000);
  EXPECT_EQ(c.store.write_queue, 4096u);
  EXPECT_EQ(c.store.write_batch_max, 256u);
  EXPECT_EQ(c.store.read_connections, 4);
  EXPECT_TRUE(c.cameras.empty());
}

TEST_F(ConfigTest, EmptyFileGivesDefaults) {
  Config c = load_ok(file_sources(""));
  EXPECT_EQ(c.server.listen_port, 8080);
  Config d = load_ok(file_sources("# only a comment\n"));
  EXPECT_EQ(d.server.io_threads, 2);
}

TEST_F(ConfigTest, FileValues) {
  Config c = load_ok(file_sources(R"(
data_dir: /var/lib/argus
server:
  listen: 127.0.0.1:9090
  io_threads: 8
  max_connections: 50
  max_body_bytes: 2m
  max_header_bytes: 16k
  header_timeout: 30s
  body_timeout: 500ms
  idle_timeout: 2m
  shutdown_timeout: 0
  access_log: true
log:
  level: debug
  format: text
store:
  url: sqlite:///srv/argus/db.sqlite
  synchronous: full
  busy_timeout: 1.5s
  write_queue: 100
  write_batch_max: 10
  read_connections: 2
)"));
  EXPECT_EQ(c.data_dir, "/var/lib/argus");
  EXPECT_EQ(c.server.listen_host, "127.0.0.1");
  EXPECT_EQ(c.server.listen_port, 9090);
  EXPECT_EQ(c.server.io_threads, 8);
  EXPECT_EQ(c.server.max_connections, 50u);
  EXPECT_EQ(c.server.max_body_bytes, 2u << 20);
  EXPECT_EQ(c.server.max_header_bytes, 16u << 10);
  EXPECT_EQ(c.server.header_timeout_ms, 30'000);
  EXPECT_EQ(c.server.body_timeout_ms, 500);
  EXPECT_EQ(c.server.idle_timeout_ms, 120'000);
  EXPECT_EQ(c.server.shutdown_timeout_ms, 0);
  EXPECT_TRUE(c.server.access_log);
  EXPECT_EQ(c.log.level, log::Level::kDebug);
  EXPECT_EQ(c.log.format, log::Format::kText);
  EXPECT_EQ(c.store.url, "sqlite:///srv/argus/db.sqlite") << "an explicit url is kept";
  EXPECT_EQ(c.store.synchronous, SqliteSync::kFull);
  EXPECT_EQ(c.store.busy_timeout_ms, 1500);
  EXPECT_EQ(c.store.write_queue, 100u);
  EXPECT_EQ(c.store.write_batch_max, 10u);
  EXPECT_EQ(c.store.read_connections, 2);
}

TEST_F(ConfigTest, PrecedenceFileThenEnvironmentThenFlags) {
  ConfigSources s = file_sources("server:\n  listen: 127.0.0.1:1000\n  io_threads: 3\n");
  EXPECT_EQ(load_ok(s).server.listen_port, 1000);

  s.env["ARGUS_LISTEN"] = "127.0.0.2:2000";
  Config env = load_ok(s);
  EXPECT_EQ(env.server.listen_host, "127.0.0.2");
  EXPECT_EQ(env.server.listen_port, 2000);
  EXPECT_EQ(env.server.io_threads, 3) << "keys not overridden keep the file's value";

  s.flags["server.listen"] = "127.0.0.3:3000";
  Config flag = load_ok(s);
  EXPECT_EQ(flag.server.listen_host, "127.0.0.3");
  EXPECT_EQ(flag.server.listen_port, 3000);
  EXPECT_EQ(flag.server.io_threads, 3);

  // Flags beat the environment even without a file.
  ConfigSources no_file;
  no_file.env["ARGUS_IO_THREADS"] = "5";
  no_file.flags["server.io_threads"] = "6";
  EXPECT_EQ(load_ok(no_file).server.io_threads, 6);
}

TEST_F(ConfigTest, EnvironmentListenAndDataDir) {
  ConfigSources s;
  s.env["ARGUS_LISTEN"] = "[::1]:8443";
  s.env["ARGUS_DATA_DIR"] = dir_.file("state");
  s.env["ARGUS_SERVER"] = "http://not-a-config-key";  // client variable: ignored
  s.env["ARGUS_LOG_LEVEL"] = "warn";
  Config c = load_ok(s);
  EXPECT_EQ(c.server.listen_host, "::1");
  EXPECT_EQ(c.server.listen_port, 8443);
  EXPECT_EQ(c.data_dir, dir_.file("state"));
  EXPECT_EQ(c.store.url, "sqlite://" + dir_.file("state") + "/argus.db");
  EXPECT_EQ(c.log.level, log::Level::kWarn);
}

TEST_F(ConfigTest, EveryKeyHasAWorkingEnvironmentVariable) {
  // One valid, non-default value per key, set through its environment variable.
  const std::map<std::string, std::string> values = {
      {"ARGUS_DATA_DIR", "/srv/a"},
      {"ARGUS_LISTEN", "10.0.0.1:81"},
      {"ARGUS_IO_THREADS", "7"},
      {"ARGUS_MAX_CONNECTIONS", "9"},
      {"ARGUS_MAX_BODY_BYTES", "4k"},
      {"ARGUS_MAX_HEADER_BYTES", "2k"},
      {"ARGUS_HEADER_TIMEOUT", "1s"},
      {"ARGUS_BODY_TIMEOUT", "2s"},
      {"ARGUS_IDLE_TIMEOUT", "3s"},
      {"ARGUS_SHUTDOWN_TIMEOUT", "4s"},
      {"ARGUS_ACCESS_LOG", "yes"},
      {"ARGUS_LOG_LEVEL", "error"},
      {"ARGUS_LOG_FORMAT", "text"},
      {"ARGUS_STORE_URL", "sqlite:///x.db"},
      {"ARGUS_STORE_SYNCHRONOUS", "off"},
      {"ARGUS_STORE_BUSY_TIMEOUT", "6s"},
      {"ARGUS_STORE_WRITE_QUEUE", "11"},
      {"ARGUS_STORE_WRITE_BATCH_MAX", "12"},
      {"ARGUS_STORE_READ_CONNECTIONS", "13"},
  };
  ASSERT_EQ(values.size(), kFoundationKeys.size());
  ConfigSources s;
  s.env = values;
  Config c = load_ok(s);
  EXPECT_EQ(c.data_dir, "/srv/a");
  EXPECT_EQ(c.server.listen_host, "10.0.0.1");
  EXPECT_EQ(c.server.listen_port, 81);
  EXPECT_EQ(c.server.io_threads, 7);
  EXPECT_EQ(c.server.max_connections, 9u);
  EXPECT_EQ(c.server.max_body_bytes, 4096u);
  EXPECT_EQ(c.server.max_header_bytes, 2048u);
  EXPECT_EQ(c.server.header_timeout_ms, 1000);
  EXPECT_EQ(c.server.body_timeout_ms, 2000);
  EXPECT_EQ(c.server.idle_timeout_ms, 3000);
  EXPECT_EQ(c.server.shutdown_timeout_ms, 4000);
  EXPECT_TRUE(c.server.access_log);
  EXPECT_EQ(c.log.level, log::Level::kError);
  EXPECT_EQ(c.log.format, log::Format::kText);
  EXPECT_EQ(c.store.url, "sqlite:///x.db");
  EXPECT_EQ(c.store.synchronous, SqliteSync::kOff);
  EXPECT_EQ(c.store.busy_timeout_ms, 6000);
  EXPECT_EQ(c.store.write_queue, 11u);
  EXPECT_EQ(c.store.write_batch_max, 12u);
  EXPECT_EQ(c.store.read_connections, 13);
}

TEST_F(ConfigTest, ValuesAreTrimmed) {
  ConfigSources s;
  s.env["ARGUS_IO_THREADS"] = " 4 ";
  s.flags["log.level"] = "debug\n";
  Config c = load_ok(s);
  EXPECT_EQ(c.server.io_threads, 4);
  EXPECT_EQ(c.log.level, log::Level::kDebug);
}

TEST_F(ConfigTest, UnknownTopLevelKeyListsAllowedKeys) {
  std::string msg = load_error(file_sources("colour: red\n"));
  EXPECT_THAT(msg, HasSubstr("colour (file " + config_path() + "): unknown key"));
  EXPECT_THAT(
      msg,
      HasSubstr(
          "allowed top-level keys: auth, cameras, data_dir, detector, ingest, jobs, log, mqtt, notifications, pipeline, security, server, store, streams, "
          "tls"));
}

TEST_F(ConfigTest, UnknownNestedKeyListsAllowedKeys) {
  std::string msg = load_error(file_sources("server:\n  port: 80\nstore:\n  path: /x\n"));
  EXPECT_THAT(msg, HasSubstr("server.port (file " + config_path() + "): unknown key"));
  EXPECT_THAT(msg, HasSubstr("allowed keys under server: access_log, body_timeout, cors_origins, header_timeout, "
                             "idle_timeout, io_threads, listen, max_body_bytes, max_connections, "
                             "max_header_bytes, metrics_public, shutdown_timeout"));
  EXPECT_THAT(msg, HasSubstr("store.path (file " + config_path() + "): unknown key"));
  EXPECT_THAT(msg, HasSubstr("allowed keys under store: busy_timeout, read_connections, "
                             "synchronous, url, write_batch_max, write_queue"));
}

TEST_F(ConfigTest, UnknownFlagKeyListsKnownKeys) {
  ConfigSources s;
  s.flags["server.port"] = "80";
  std::string msg = load_error(s);
  EXPECT_THAT(msg, HasSubstr("server.port (flag): unknown key"));
  for (const auto& [path, env] : kKeys) EXPECT_THAT(msg, HasSubstr(path));
}

TEST_F(ConfigTest, BadValueFromFileNamesKeyValueAllowedAndOrigin) {
  std::string msg = load_error(file_sources("server:\n  io_threads: abc\n"));
  EXPECT_THAT(
      msg, HasSubstr("server.io_threads = \"abc\" (file " + config_path() + "): must be an integer between 1 and 64"));
}

TEST_F(ConfigTest, BadValueFromEnvironment) {
  ConfigSources s;
  s.env["ARGUS_LISTEN"] = "nohostport";
  std::string msg = load_error(s);
  EXPECT_THAT(msg, HasSubstr("server.listen = \"nohostport\" (environment ARGUS_LISTEN): must be "
                             "HOST:PORT"));
}

TEST_F(ConfigTest, BadValueFromFlag) {
  ConfigSources s;
  s.flags["server.max_body_bytes"] = "5x";
  std::string msg = load_error(s);
  EXPECT_THAT(msg, HasSubstr("server.max_body_bytes = \"5x\" (flag): must be a size between 1024 and "
                             "1073741824 bytes (suffixes k, m, g allowed)"));
  ConfigSources l;
  l.flags["log.level"] = "loud";
  EXPECT_THAT(load_error(l), HasSubstr("log.level = \"loud\" (flag): must be one of trace, debug, "
                                       "info, warn, error, off"));
}

TEST_F(ConfigTest, AllProblemsReportedTogether) {
  ConfigSources s = file_sources(R"(
colour: red
server:
  io_threads: abc
  port: 1
log:
  level: loud
)");
  s.env["ARGUS_LISTEN"] = "nohostport";
  s.flags["server.max_body_bytes"] = "5x";
  std::string msg = load_error(s);
  EXPECT_THAT(msg, ::testing::StartsWith("invalid configuration:"));
  EXPECT_THAT(msg, HasSubstr("colour (file"));
  EXPECT_THAT(msg, HasSubstr("server.io_threads = \"abc\" (file"));
  EXPECT_THAT(msg, HasSubstr("server.port (file"));
  EXPECT_THAT(msg, HasSubstr("log.level = \"loud\" (file"));
  EXPECT_THAT(msg, HasSubstr("server.listen = \"nohostport\" (environment ARGUS_LISTEN)"));
  EXPECT_THAT(msg, HasSubstr("server.max_body_bytes = \"5x\" (flag)"));
  // One problem per line.
  EXPECT_EQ(std::count(msg.begin(), msg.end(), '\n'), 6) << msg;
}

TEST_F(ConfigTest, BadValues) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"server.listen", ":8080"},
      {"server.listen", "host:"},
      {"server.listen", "host:65536"},
      {"server.listen", "host:http"},
      {"server.listen", "ho st:80"},
      {"server.listen", "[::1:80"},
      {"server.io_threads", "0"},
      {"server.io_threads", "65"},
      {"server.io_threads", "2.5"},
      {"server.io_threads", "-1"},
      {"server.max_connections", "0"},
      {"server.max_body_bytes", "1023"},
      {"server.max_body_bytes", "2g"},
      {"server.max_body_bytes", "k"},
      {"server.max_body_bytes", "-1k"},
      {"server.max_body_bytes", "99999999999999999999k"},
      {"server.max_header_bytes", "2m"},
      {"server.header_timeout", "50ms"},
      {"server.header_timeout", "2h"},
      {"server.header_timeout", "soon"},
      {"server.shutdown_timeout", "11m"},
      {"server.access_log", "maybe"},
      {"log.format", "xml"},
      {"store.url", "postgresql://db/argus"},
      {"store.url", "sqlite://"},
      {"store.synchronous", "extra"},
      {"store.write_queue", "1000001"},
      {"store.read_connections", "0"},
      {"data_dir", ""},
  };
  for (const auto& [key, value] : bad) {
    ConfigSources s;
    s.flags[key] = value;
    std::string msg = load_error(s);
    EXPECT_THAT(msg, HasSubstr(key + " = "));
    EXPECT_THAT(msg, HasSubstr("(flag): must be")) << key << "=" << value;
  }
}

TEST_F(ConfigTest, SizesAcceptSuffixes) {
  const std::vector<std::pair<std::string, std::size_t>> sizes = {
      {"1024", 1024},   {"1k", 1024},      {"512k", 512 * 1024}, {"512K", 512 * 1024}, {"1kb", 1024},
      {"2m", 2u << 20}, {"2MB", 2u << 20}, {"1g", 1u << 30},     {"1536", 1536},
  };
  for (const auto& [text, bytes] : sizes) {
    ConfigSources s;
    s.flags["server.max_body_bytes"] = text;
    EXPECT_EQ(load_ok(s).server.max_body_bytes, bytes) << text;
  }
}

TEST_F(ConfigTest, Durations) {
  const std::vector<std::pair<std::string, std::int64_t>> durations = {
      {"30s", 30'000}, {"500ms", 500}, {"2m", 120'000}, {"1h", 3'600'000}, {"1.5", 1500}, {"100ms", 100},
  };
  for (const auto& [text, ms] : durations) {
    ConfigSources s;
    s.flags["server.idle_timeout"] = text;
    EXPECT_EQ(load_ok(s).server.idle_timeout_ms, ms) << text;
  }
  ConfigSources z;
  z.flags["server.shutdown_timeout"] = "0";
  z.flags["store.busy_timeout"] = "10m";
  Config c = load_ok(z);
  EXPECT_EQ(c.server.shutdown_timeout_ms, 0);
  EXPECT_EQ(c.store.busy_timeout_ms, 600'000);
}

TEST_F(ConfigTest, Booleans) {
  for (const char* t : {"true", "TRUE", "yes", "on", "1"}) {
    ConfigSources s;
    s.flags["server.access_log"] = t;
    EXPECT_TRUE(load_ok(s).server.access_log) << t;
  }
  for (const char* f : {"false", "No", "off", "0"}) {
    ConfigSources s;
    s.env["ARGUS_ACCESS_LOG"] = "true";
    s.flags["server.access_log"] = f;
    EXPECT_FALSE(load_ok(s).server.access_log) << f;
  }
}

TEST_F(ConfigTest, InvalidYamlReportsLineNumber) {
  std::string msg =
      load_error(file_sources("server:\n  listen: 0.0.0.0:80\n  io_threads: [1, 2\nlog:\n  level: info\n"));
  EXPECT_THAT(msg, HasSubstr("config file \"" + config_path() + "\" is not valid YAML"));
  EXPECT_THAT(msg, ::testing::ContainsRegex("line [3-5], column [0-9]+"));
  std::string msg2 = load_error(file_sources("a: 1\n b: 2\n"));
  EXPECT_THAT(msg2, HasSubstr("line 2, column"));
}

TEST_F(ConfigTest, MissingFileIsAClearError) {
  ConfigSources s;
  s.file = dir_.file("nope.yaml");
  std::string msg = load_error(s);
  EXPECT_THAT(msg, HasSubstr("config file \"" + s.file + "\" does not exist"));
  ConfigSources d;
  d.file = dir_.path().string();  // a directory
  EXPECT_THAT(load_error(d), HasSubstr("is not a file"));
}

TEST_F(ConfigTest, StructuralProblemsInFile) {
  EXPECT_THAT(load_error(file_sources("- a\n- b\n")), HasSubstr("top level must be a mapping"));
  EXPECT_THAT(load_error(file_sources("server: 5\n")),
              HasSubstr("server (file " + config_path() + "): must be a mapping of keys: access_log"));
  EXPECT_THAT(load_error(file_sources("server:\n  listen: [a, b]\n")),
              HasSubstr("server.listen (file " + config_path() + "): must be a single value (HOST:PORT)"));
  EXPECT_THAT(load_error(file_sources("cameras: {id: x}\n")),
              HasSubstr("cameras (file " + config_path() + "): must be a list"));
  // An empty section or an empty camera list is fine.
  Config c = load_ok(file_sources("server:\nlog:\ncameras:\n"));
  EXPECT_EQ(c.server.listen_port, 8080);
  EXPECT_TRUE(c.cameras.empty());
}

TEST_F(ConfigTest, CamerasFromYaml) {
  Config c = load_ok(file_sources(R"(
cameras:
  - id: "007"
    name: "42"
    source: rtsp://cam.local/live
    detection:
      fps: 2
      labels: [person, car]
      min_score: 0.75
    zones:
      - name: porch
        polygon: [[0, 0], [1, 0], [1, 1]]
    lines:
      - name: gate
        points: [[0, 0.5], [1, 0.5]]
        in: right
  - id: back
    name: nan
    enabled: false
    source:
      kind: snapshot
      url: http://cam.local/snap.jpg
      interval: 5s
  - id: yard
    name: "true"
    source: {kind: push}
)"));
  ASSERT_EQ(c.cameras.size(), 3u);
  const Camera& a = c.cameras[0];
  EXPECT_EQ(a.id, "007") << "a quoted number stays a string";
  EXPECT_EQ(a.name, "42");
  EXPECT_EQ(a.source.kind, SourceKind::kStream);
  EXPECT_EQ(a.source.url, "rtsp://cam.local/live");
  EXPECT_DOUBLE_EQ(a.detection.fps, 2);
  EXPECT_EQ(a.detection.labels, (std::vector<std::string>{"person", "car"}));
  EXPECT_DOUBLE_EQ(a.detection.min_score, 0.75);
  ASSERT_EQ(a.zones.size(), 1u);
  EXPECT_EQ(a.zones[0].polygon, (std::vector<Point>{{0, 0}, {1, 0}, {1, 1}}));
  ASSERT_EQ(a.lines.size(), 1u);
  EXPECT_EQ(a.lines[0].in_side, LineSide::kRight);
  const Camera& b = c.cameras[1];
  EXPECT_EQ(b.id, "back");
  EXPECT_EQ(b.name, "nan") << "a plain `nan` is a name, not a floating-point value";
  EXPECT_FALSE(b.enabled);
  EXPECT_EQ(b.source.kind, SourceKind::kSnapshot);
  EXPECT_EQ(b.source.interval_ms, 5000);
  EXPECT_EQ(c.cameras[2].name, "true");
  EXPECT_EQ(c.cameras[2].source.kind, SourceKind::kPush);
}

TEST_F(ConfigTest, UnquotedNumberWhereStringExpectedIsReported) {
  std::string msg = load_error(file_sources("cameras:\n  - id: 7\n    source: rtsp://cam/x\n"));
  EXPECT_THAT(msg, HasSubstr("cameras[0].id (file " + config_path() + "): must be 1 to 64 characters"));
}

TEST_F(ConfigTest, BadCameraReportedWithPath) {
  std::string msg = load_error(file_sources(R"(
cameras:
  - id: good
    source: rtsp://cam/x
  - id: bad
    source: rtsp://cam/y
    zones:
      - name: z
        polygon: [[0, 0], [1, 1]]
    detection:
      fps: 0
)"));
  EXPECT_THAT(msg,
              HasSubstr("cameras[1].zones[0].polygon (file " + config_path() + "): must be a list of 3 to 64 points"));
  EXPECT_THAT(msg,
              HasSubstr("cameras[1].detection.fps (file " + config_path() + "): must be a number between 0.1 and 60"));
  EXPECT_THAT(msg, Not(HasSubstr("cameras[0]")));
}

TEST_F(ConfigTest, CameraPointerTokensAreUnescapedInPaths) {
  std::string msg = load_error(file_sources("cameras:\n  - id: a\n    source: rtsp://cam/x\n    \"x/y\": 1\n"));
  EXPECT_THAT(msg, HasSubstr("cameras[0].x/y (file"));
}

TEST_F(ConfigTest, DuplicateCameraIds) {
  std::string msg = load_error(file_sources(R"(
cameras:
  - id: a
    source: rtsp://cam/1
  - id: b
    source: rtsp://cam/2
  - id: a
    source: rtsp://cam/3
)"));
  EXPECT_THAT(msg, HasSubstr("cameras[2].id (file " + config_path() + "): duplicates an earlier camera id \"a\""));
}

TEST_F(ConfigTest, DataDirIsMadeAbsoluteAndNormalized) {
  ConfigSources s;
  s.flags["data_dir"] = "rel/dir/";
  Config c = load_ok(s);
  EXPECT_EQ(c.data_dir, cwd() + "/rel/dir");
  EXPECT_EQ(c.store.url, "sqlite://" + cwd() + "/rel/dir/argus.db");

  ConfigSources t;
  t.flags["data_dir"] = "/srv/./argus/../data//";
  Config d = load_ok(t);
  EXPECT_EQ(d.data_dir, "/srv/data");
  EXPECT_EQ(d.store.url, "sqlite:///srv/data/argus.db");

  ConfigSources root;
  root.flags["data_dir"] = "/";
  Config r = load_ok(root);
  EXPECT_EQ(r.data_dir, "/");
  EXPECT_EQ(r.store.url, "sqlite:///argus.db");
}

void expect_same_config(const Config& a, const Config& b) {
  EXPECT_EQ(a.data_dir, b.data_dir);
  EXPECT_EQ(a.server.listen_host, b.server.listen_host);
  EXPECT_EQ(a.server.listen_port, b.server.listen_port);
  EXPECT_EQ(a.server.io_threads, b.server.io_threads);
  EXPECT_EQ(a.server.max_connections, b.server.max_connections);
  EXPECT_EQ(a.server.max_body_bytes, b.server.max_body_bytes);
  EXPECT_EQ(a.server.max_header_bytes, b.server.max_header_bytes);
  EXPECT_EQ(a.server.header_timeout_ms, b.server.header_timeout_ms);
  EXPECT_EQ(a.server.body_timeout_ms, b.server.body_timeout_ms);
  EXPECT_EQ(a.server.idle_timeout_ms, b.server.idle_timeout_ms);
  EXPECT_EQ(a.server.shutdown_timeout_ms, b.server.shutdown_timeout_ms);
  EXPECT_EQ(a.server.access_log, b.server.access_log);
  EXPECT_EQ(a.log.level, b.log.level);
  EXPECT_EQ(a.log.format, b.log.format);
  EXPECT_EQ(a.store.url, b.store.url);
  EXPECT_EQ(a.store.synchronous, b.store.synchronous);
  EXPECT_EQ(a.store.busy_timeout_ms, b.store.busy_timeout_ms);
  EXPECT_EQ(a.store.write_queue, b.store.write_queue);
  EXPECT_EQ(a.store.write_batch_max, b.store.write_batch_max);
  EXPECT_EQ(a.store.read_connections, b.store.read_connections);
  EXPECT_EQ(a.jobs.workers, b.jobs.workers);
  EXPECT_EQ(a.jobs.queue, b.jobs.queue);
  EXPECT_EQ(a.jobs.retention_interval_ms, b.jobs.retention_interval_ms);
  EXPECT_EQ(a.jobs.rollup_interval_ms, b.jobs.rollup_interval_ms);
  EXPECT_EQ(a.jobs.retention_days, b.jobs.retention_days);
  ASSERT_EQ(a.cameras.size(), b.cameras.size());
  for (std::size_t i = 0; i < a.cameras.size(); ++i) {
    EXPECT_EQ(a.cameras[i], b.cameras[i]) << "camera " << i << " (" << a.cameras[i].id << ")";
  }
}

TEST_F(ConfigTest, ConfigToYamlReloadsToAnEqualConfig) {
  ConfigSources s = file_sources(R"(
data_dir: state
server:
  listen: "[::1]:9443"
  io_threads: 3
  max_connections: 77
  max_body_bytes: 3m
  max_header_bytes: 12k
  header_timeout: 1.25s
  body_timeout: 2m
  idle_timeout: 1h
  shutdown_timeout: 0
  access_log: yes
log:
  level: trace
  format: text
store:
  synchronous: off
  busy_timeout: 250ms
  write_queue: 5
  write_batch_max: 6
  read_connections: 7
jobs:
  workers: 3
  queue: 9
  retention_interval: 2h
  rollup_interval: 90s
  retention_days: 0
cameras:
  - id: "123"
    name: "true"
    source: {kind: snapshot, url: "http://cam.local:8080/snap.jpg?x=1", interval: 0.5}
    enabled: false
    detection: {fps: 0.1, labels: [person, "traffic light", "42"], min_score: 0.333}
    zones:
      - name: z1
        polygon: [[0.1, 0.2], [0.30000000000000004, 0.4], [0.5, 0.123456789]]
    lines:
      - {name: l1, points: [[0, 0], [1, 1]], in: right}
  - id: b
    name: "null"
    source: file:///videos/a_b.mp4
  - id: c
    name: "Camera: #3 'quoted' \"double\""
    source: {kind: push}
)");
  Config first = load_ok(s);
  ASSERT_EQ(first.cameras.size(), 3u);
  EXPECT_EQ(first.cameras[0].name, "true");
  const std::string yaml = config_to_yaml(first);
  const std::string path = dir_.file("effective.yaml");
  testing::write_file(path, yaml);
  ConfigSources again;
  again.file = path;
  Result<Config> second = load_config(again);
  ASSERT_TRUE(second.ok()) << second.status().to_string() << "\n" << yaml;
  expect_same_config(first, *second);
  EXPECT_EQ(config_to_yaml(*second), yaml) << "emitting is stable";
}

TEST_F(ConfigTest, ConfigToYamlOfDefaultsReloads) {
  Config first = load_ok({});
  const std::string yaml = config_to_yaml(first);
  EXPECT_THAT(yaml, HasSubstr("listen: 0.0.0.0:8080"));
  EXPECT_THAT(yaml, HasSubstr("cameras:"));
  testing::write_file(dir_.file("d.yaml"), yaml);
  ConfigSources s;
  s.file = dir_.file("d.yaml");
  Result<Config> second = load_config(s);
  ASSERT_TRUE(second.ok()) << second.status().to_string() << "\n" << yaml;
  expect_same_config(first, *second);
}

TEST_F(ConfigTest, ConfigToYamlMasksCameraPasswords) {
  Config c = load_ok(file_sources("cameras:\n  - id: a\n    source: rtsp://admin:hunter2@cam/x\n"));
  ASSERT_EQ(c.cameras.size(), 1u);
  EXPECT_EQ(c.cameras[0].source.url, "rtsp://admin:hunter2@cam/x");
  const std::string yaml = config_to_yaml(c);
  EXPECT_THAT(yaml, Not(HasSubstr("hunter2")));
  EXPECT_THAT(yaml, HasSubstr("rtsp://admin:***@cam/x"));
}

TEST_F(ConfigTest, ConfigReferenceListsEveryKey) {
  const std::string ref = config_reference();
  for (const auto& [path, env] : kKeys) {
    EXPECT_THAT(ref, HasSubstr("  " + path + "\n")) << path;
    EXPECT_THAT(ref, HasSubstr("env " + env + ";")) << env;
  }
  EXPECT_THAT(ref, HasSubstr("  cameras\n"));
  EXPECT_THAT(ref, HasSubstr("default 0.0.0.0:8080"));
  EXPECT_THAT(ref, HasSubstr("Precedence: flags"));
  // No key in the reference that the test does not know about (keeps kKeys complete).
  std::size_t env_mentions = 0;
  for (std::size_t pos = ref.find("env ARGUS_"); pos != std::string::npos; pos = ref.find("env ARGUS_", pos + 1)) {
    ++env_mentions;
  }
  EXPECT_EQ(env_mentions, kKeys.size());
}

TEST_F(ConfigTest, PipelineKeysFromEnvironmentAndErrors) {
  ConfigSources s;
  s.env = {
      {"ARGUS_DETECTOR", "onnx"},           {"ARGUS_DETECTOR_WORKERS", "2"},     {"ARGUS_DETECTOR_OVERFLOW", "reject"},
      {"ARGUS_DETECTOR_MIN_SCORE", "0.35"}, {"ARGUS_DETECTOR_MODEL", "/m.onnx"}, {"ARGUS_TRACK_TIMEOUT", "2s"},
      {"ARGUS_MOTION_GATE", "false"},       {"ARGUS_INGEST_BACKOFF_MAX", "1m"}};
  Config c = load_ok(s);
  EXPECT_EQ(c.detector.kind, "onnx");
  EXPECT_EQ(c.detector.workers, 2);
  EXPECT_TRUE(c.detector.overflow_reject);
  EXPECT_DOUBLE_EQ(c.detector.min_score, 0.35);
  EXPECT_EQ(c.detector.model, "/m.onnx");
  EXPECT_EQ(c.pipeline.track_timeout_ms, 2000);
  EXPECT_FALSE(c.pipeline.motion_gate);
  EXPECT_EQ(c.ingest.backoff_max_ms, 60'000);
  ConfigSources bad;
  bad.flags = {{"detector.kind", "yolo"},
               {"detector.min_score", "1.5"},
               {"detector.url", "ftp://x"},
               {"detector.overflow", "sometimes"}};
  auto r = load_config(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("detector.kind = \"yolo\""));
  EXPECT_THAT(r.status().message(), HasSubstr("hog, onnx or remote"));
  EXPECT_THAT(r.status().message(), HasSubstr("detector.min_score"));
  EXPECT_THAT(r.status().message(), HasSubstr("between 0 and 1"));
  EXPECT_THAT(r.status().message(), HasSubstr("detector.url"));
  EXPECT_THAT(r.status().message(), HasSubstr("drop_oldest or reject"));
}

TEST_F(ConfigTest, JobsKeysDefaultsEnvironmentAndErrors) {
  Config d = load_ok({});
  EXPECT_EQ(d.jobs.workers, 1);
  EXPECT_EQ(d.jobs.queue, 100u);
  EXPECT_EQ(d.jobs.retention_interval_ms, 3'600'000);
  EXPECT_EQ(d.jobs.rollup_interval_ms, 300'000);
  EXPECT_EQ(d.jobs.retention_days, 30);

  ConfigSources s;
  s.env = {{"ARGUS_JOBS_WORKERS", "4"},
           {"ARGUS_JOBS_QUEUE", "7"},
           {"ARGUS_JOBS_RETENTION_INTERVAL", "30m"},
           {"ARGUS_JOBS_ROLLUP_INTERVAL", "2m"},
           {"ARGUS_JOBS_RETENTION_DAYS", "0"}};
  ASSERT_EQ(s.env.size(), kJobsKeys.size());
  Config c = load_ok(s);
  EXPECT_EQ(c.jobs.workers, 4);
  EXPECT_EQ(c.jobs.queue, 7u);
  EXPECT_EQ(c.jobs.retention_interval_ms, 1'800'000);
  EXPECT_EQ(c.jobs.rollup_interval_ms, 120'000);
  EXPECT_EQ(c.jobs.retention_days, 0) << "0 keeps analytics forever";

  ConfigSources file = file_sources("jobs:\n  rollup_interval: 10m\n  retention_days: 90\n");
  Config f = load_ok(file);
  EXPECT_EQ(f.jobs.rollup_interval_ms, 600'000);
  EXPECT_EQ(f.jobs.retention_days, 90);

  ConfigSources bad;
  bad.flags = {{"jobs.workers", "0"},
               {"jobs.queue", "many"},
               {"jobs.retention_interval", "5s"},
               {"jobs.rollup_interval", "soon"},
               {"jobs.retention_days", "-1"}};
  std::string m = load_error(bad);
  EXPECT_THAT(m, HasSubstr("jobs.workers"));
  EXPECT_THAT(m, HasSubstr("between 1 and 16"));
  EXPECT_THAT(m, HasSubstr("jobs.queue"));
  EXPECT_THAT(m, HasSubstr("jobs.retention_interval"));
  EXPECT_THAT(m, HasSubstr("jobs.rollup_interval"));
  EXPECT_THAT(m, HasSubstr("jobs.retention_days"));
  EXPECT_THAT(m, HasSubstr("between 0 and 36500"));
}

TEST_F(ConfigTest, NotificationsKeysDefaultsFileEnvironmentAndErrors) {
  Config d = load_ok({});
  EXPECT_EQ(d.notifications.queue, 1000u);
  EXPECT_EQ(d.notifications.workers, 2);
  EXPECT_EQ(d.notifications.max_attempts, 5);
  EXPECT_EQ(d.notifications.backoff_initial_ms, 1000);
  EXPECT_EQ(d.notifications.backoff_max_ms, 300'000);
  EXPECT_EQ(d.notifications.breaker_threshold, 5);
  EXPECT_EQ(d.notifications.breaker_cooldown_ms, 30'000);

  ConfigSources s;
  s.env = {{"ARGUS_NOTIFICATIONS_QUEUE", "10"}, {"ARGUS_NOTIFICATIONS_BACKOFF_INITIAL", "250ms"}};
  Config c = load_ok(s);
  EXPECT_EQ(c.notifications.queue, 10u);
  EXPECT_EQ(c.notifications.backoff_initial_ms, 250);

  Config f = load_ok(file_sources("notifications:\n  workers: 4\n  max_attempts: 8\n  backoff_max: 1h\n"
                                  "  breaker_threshold: 3\n  breaker_cooldown: 2m\n"));
  EXPECT_EQ(f.notifications.workers, 4);
  EXPECT_EQ(f.notifications.max_attempts, 8);
  EXPECT_EQ(f.notifications.backoff_max_ms, 3'600'000);
  EXPECT_EQ(f.notifications.breaker_threshold, 3);
  EXPECT_EQ(f.notifications.breaker_cooldown_ms, 120'000);

  ConfigSources bad;
  bad.flags = {{"notifications.queue", "0"}, {"notifications.max_attempts", "lots"},
               {"notifications.backoff_initial", "1ms"}};
  std::string m = load_error(bad);
  EXPECT_THAT(m, HasSubstr("notifications.queue"));
  EXPECT_THAT(m, HasSubstr("notifications.max_attempts"));
  EXPECT_THAT(m, HasSubstr("notifications.backoff_initial"));
}

TEST_F(ConfigTest, MqttKeysDefaultsFileEnvironmentAndErrors) {
  Config d = load_ok({});
  EXPECT_TRUE(d.mqtt.enabled);
  EXPECT_EQ(d.mqtt.url, "");
  EXPECT_EQ(d.mqtt.topic_prefix, "argus");
  EXPECT_TRUE(d.mqtt.discovery);
  EXPECT_EQ(d.mqtt.discovery_prefix, "homeassistant");
  EXPECT_EQ(d.mqtt.stats_interval_ms, 60'000);
  EXPECT_EQ(d.mqtt.backlog, 10'000u);
  EXPECT_EQ(d.mqtt.keepalive_ms, 60'000);
  EXPECT_EQ(d.mqtt.qos, 1);
  EXPECT_FALSE(d.mqtt.tls_insecure);
  EXPECT_EQ(d.mqtt.client_id.rfind("argus-", 0), 0u) << d.mqtt.client_id;

  Config f = load_ok(file_sources(
      "mqtt:\n  url: mqtts://broker.lan:8884\n  username: argus\n  password_file: /run/secrets/mqtt\n"
      "  tls:\n    ca_file: /etc/ca.pem\n    insecure: true\n  client_id: shop-1\n  topic_prefix: site/argus\n"
      "  discovery: false\n  stats_interval: 5s\n  backlog: 50\n  qos: 0\n"));
  EXPECT_EQ(f.mqtt.url, "mqtts://broker.lan:8884");
  EXPECT_EQ(f.mqtt.username, "argus");
  EXPECT_EQ(f.mqtt.password_file, "/run/secrets/mqtt");
  EXPECT_EQ(f.mqtt.ca_file, "/etc/ca.pem");
  EXPECT_TRUE(f.mqtt.tls_insecure);
  EXPECT_EQ(f.mqtt.client_id, "shop-1");
  EXPECT_EQ(f.mqtt.topic_prefix, "site/argus");
  EXPECT_FALSE(f.mqtt.discovery);
  EXPECT_EQ(f.mqtt.stats_interval_ms, 5'000);
  EXPECT_EQ(f.mqtt.backlog, 50u);
  EXPECT_EQ(f.mqtt.qos, 0);
  // The effective configuration shows the settings but never the password.
  f.mqtt.password = "hunter2";
  const std::string yaml = config_to_yaml(f);
  EXPECT_THAT(yaml, HasSubstr("mqtts://broker.lan:8884"));
  EXPECT_THAT(yaml, Not(HasSubstr("hunter2")));

  ConfigSources env;
  env.env = {{"ARGUS_MQTT_URL", "mqtt://[::1]"}, {"ARGUS_MQTT_PASSWORD", "pw"}};
  Config e = load_ok(env);
  EXPECT_EQ(e.mqtt.url, "mqtt://[::1]");
  EXPECT_EQ(e.mqtt.password, "pw");

  ConfigSources bad;
  bad.flags = {{"mqtt.url", "tcp://broker"},
               {"mqtt.topic_prefix", "argus/#"},
               {"mqtt.discovery_prefix", "/ha"},
               {"mqtt.backlog", "0"},
               {"mqtt.qos", "2"}};
  std::string m = load_error(bad);
  EXPECT_THAT(m, HasSubstr("mqtt.url"));
  EXPECT_THAT(m, HasSubstr("mqtt.topic_prefix"));
  EXPECT_THAT(m, HasSubstr("mqtt.discovery_prefix"));
  EXPECT_THAT(m, HasSubstr("mqtt.backlog"));
  EXPECT_THAT(m, HasSubstr("mqtt.qos"));
  for (const char* url : {"mqtt://u:p@h", "mqtt://h/path", "mqtt://h:0", "mqtt://"}) {
    ConfigSources one;
    one.flags = {{"mqtt.url", url}};
    EXPECT_THAT(load_error(one), HasSubstr("mqtt.url")) << url;
  }
}

TEST_F(ConfigTest, StreamsKeysDefaultsFileEnvironmentAndErrors) {
  Config d = load_ok({});
  EXPECT_EQ(d.streams.ring_size, 10'000u);
  EXPECT_EQ(d.streams.queue, 1024u);
  EXPECT_EQ(d.streams.slow_policy, StreamSlowPolicy::kDropOldest);
  EXPECT_EQ(d.streams.max_subscribers, 10'000u);
  EXPECT_EQ(d.streams.heartbeat_ms, 15'000);
  EXPECT_EQ(d.streams.write_timeout_ms, 60'000);
  EXPECT_EQ(d.streams.max_message_bytes, 64u << 10);

  Config f = load_ok(file_sources("streams:\n  slow_policy: disconnect\n  heartbeat: 5s\n  max_message_bytes: 1m\n"));
  EXPECT_EQ(f.streams.slow_policy, StreamSlowPolicy::kDisconnect);
  EXPECT_EQ(f.streams.heartbeat_ms, 5'000);
  EXPECT_EQ(f.streams.max_message_bytes, 1u << 20);

  ConfigSources env;
  env.env = {{"ARGUS_STREAMS_RING_SIZE", "0"}, {"ARGUS_STREAMS_QUEUE", "16"}};
  Config e = load_ok(env);
  EXPECT_EQ(e.streams.ring_size, 0u);
  EXPECT_EQ(e.streams.queue, 16u);

  ConfigSources bad;
  bad.flags = {{"streams.slow_policy", "block"},
               {"streams.queue", "0"},
               {"streams.heartbeat", "10ms"},
               {"streams.max_subscribers", "lots"}};
  std::string m = load_error(bad);
  EXPECT_THAT(m, HasSubstr("must be drop_oldest or disconnect"));
  EXPECT_THAT(m, HasSubstr("streams.queue"));
  EXPECT_THAT(m, HasSubstr("streams.heartbeat"));
  EXPECT_THAT(m, HasSubstr("streams.max_subscribers"));
}

TEST(ArgusEnvironmentTest, OnlyArgusVariables) {
  ASSERT_EQ(setenv("ARGUS_CORE_TEST_VAR", "a=b", 1), 0);
  ASSERT_EQ(setenv("NOT_ARGUS_CORE_TEST_VAR", "x", 1), 0);
  auto env = argus_environment();
  unsetenv("ARGUS_CORE_TEST_VAR");
  unsetenv("NOT_ARGUS_CORE_TEST_VAR");
  ASSERT_TRUE(env.count("ARGUS_CORE_TEST_VAR"));
  EXPECT_EQ(env["ARGUS_CORE_TEST_VAR"], "a=b") << "value split at the first '='";
  EXPECT_EQ(env.count("NOT_ARGUS_CORE_TEST_VAR"), 0u);
  for (const auto& [k, v] : env) EXPECT_EQ(k.rfind("ARGUS_", 0), 0u) << k;
}

TEST(SqliteSyncTest, Names) {
  EXPECT_EQ(sqlite_sync_name(SqliteSync::kOff), "off");
  EXPECT_EQ(sqlite_sync_name(SqliteSync::kNormal), "normal");
  EXPECT_EQ(sqlite_sync_name(SqliteSync::kFull), "full");
}

}  // namespace
}  // namespace argus
