#include "app/app.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <unistd.h>

#include <csignal>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <cstring>
#include <filesystem>
#include <thread>

#include <argus_version.h>

#include "alerts/engine.h"
#include "alerts/mqtt_bridge.h"
#include "api/api.h"
#include "api/security.h"
#include "api/server.h"
#include "api/stream_hub.h"
#include "api/tls.h"
#include "auth/auth_service.h"
#include "auth/signing_keys.h"
#include "app/jobs_wiring.h"
#include "app/wiring.h"
#include "bus/bus.h"
#include "core/log.h"
#include "core/url_guard.h"
#include "alerts/delivery.h"
#include "ingest/ingest.h"
#include "jobs/job_manager.h"
#include "jobs/scheduler.h"
#include "metrics/metrics.h"
#include "metrics/process.h"
#include "pipeline/pipeline.h"
#include "store/store.h"

namespace argus::app {
namespace {

// The camera status the API shows: the source's state from ingest and the processing
// figures from the pipeline.
class LiveCameraStatus final : public api::CameraStatusSource {
 public:
  LiveCameraStatus(ingest::CameraManager* ingest, pipeline::Pipeline* pipeline, const Clock* clock)
      : ingest_(ingest), pipeline_(pipeline), clock_(clock) {}

  nlohmann::json status(const Camera& camera) const override {
    nlohmann::json s{{"state", camera.enabled ? "starting" : "disabled"},
                     {"reason", nullptr},
                     {"fps_in", 0.0},
                     {"fps_out", 0.0},
                     {"last_frame_at", nullptr},
                     {"frames_in", 0},
                     {"reconnects", 0}};
    if (auto st = ingest_->status(camera.id)) {
      s["state"] = ingest::source_state_name(st->state);
      if (!st->reason.empty()) s["reason"] = st->reason;
      s["fps_in"] = std::round(st->fps_in * 10) / 10;
      if (st->last_frame_at > 0) s["last_frame_at"] = format_rfc3339(st->last_frame_at);
      s["frames_in"] = st->frames_in;
      s["reconnects"] = st->reconnects;
    }
    if (auto ps = pipeline_->stats(camera.id)) {
      s["fps_out"] = std::round(ps->fps_out * 10) / 10;
      s["frames_processed"] = ps->frames_processed;
      s["frames_skipped"] = ps->frames_skipped;
      s["frames_dropped"] = ps->frames_dropped;
      // Why frames were not processed, and what the shared detector queue does when full.
      auto& pool = pipeline_->detectors();
      s["dropped"] = {{"detector_busy", ps->dropped_busy},
                      {"queue_full_dropped", ps->dropped_queue_full},
                      {"queue_full_rejected", ps->rejected_queue_full}};
      s["detector_queue"] = {{"policy", pool.overflow() == OverflowPolicy::kReject ? "reject" : "drop_oldest"},
                             {"depth", pool.queue_depth()},
                             {"capacity", pool.capacity()}};
      s["detector_errors"] = ps->detector_errors;
      s["open_events"] = ps->open_events;
      if (!ps->last_error.empty()) s["detector_error"] = ps->last_error;
    }
    return s;
  }

  // State changes bump the ingest revision; rates change all the time, so cached
  // documents that embed status are refreshed at most once a second.
  std::uint64_t revision() const override {
    return (ingest_->status_revision() << 32) ^ static_cast<std::uint64_t>(clock_->now_ms() / 1000);
  }

 private:
  ingest::CameraManager* ingest_;
  pipeline::Pipeline* pipeline_;
  const Clock* clock_;
};

class PushIngress final : public api::FrameIngress {
 public:
  explicit PushIngress(ingest::CameraManager* ingest) : ingest_(ingest) {}
  Status push(const std::string& camera_id, std::string bytes) override {
    return ingest_->push_frame(camera_id, std::move(bytes));
  }

 private:
  ingest::CameraManager* ingest_;
};

// Reloads the TLS certificate and key when SIGHUP arrives, logging the outcome. Waits
// only if the creating thread blocks SIGHUP (as `argus serve` does before any thread
// starts), so a SIGHUP never reaches a thread whose default action would end the process.
class TlsReloader {
 public:
  explicit TlsReloader(api::TlsContextProvider* tls) : tls_(tls) {
    sigset_t current;
    sigemptyset(&current);
    if (pthread_sigmask(SIG_BLOCK, nullptr, &current) == 0 && sigismember(&current, SIGHUP) == 1) {
      thread_ = std::thread([this] { run(); });
    }
  }
  ~TlsReloader() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    while (!stop_.load()) {
      timespec tick{0, 200'000'000};
      if (sigtimedwait(&hup, nullptr, &tick) != SIGHUP) continue;
      Status s = tls_->reload();
      if (s.ok()) {
        log::info("SIGHUP: TLS certificate reloaded", {{"certificate", tls_->describe()}});
      } else {
        log::error("SIGHUP: TLS certificate reload failed; keeping the current one", {{"error", s.message()}});
      }
    }
  }

  api::TlsContextProvider* const tls_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Creates the data directory and takes an exclusive lock on <data>/argus.lock so two
// servers never write one database.
Result<int> prepare_data_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::io_error("cannot create data directory " + dir + ": " + ec.message());
  std::filesystem::create_directories(std::filesystem::path(dir) / "media", ec);
  if (ec) return Status::io_error("cannot create media directory under " + dir + ": " + ec.message());
  std::string lock_path = dir + "/argus.lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Status::io_error("cannot open " + lock_path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {0};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "unknown";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return Status::failed_precondition("data directory " + dir + " is in use by another argus (pid " + pid +
                                       "); stop it or choose another --data-dir");
  }
  std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] ssize_t w = ::pwrite(fd, me.data(), me.size(), 0);
  }
  return fd;
}

}  // namespace

// Members are declared in construction order; destruction runs in reverse.
struct App::Parts {
  Config config;
  int lock_fd = -1;
  std::unique_ptr<metrics::Registry> metrics;
  std::unique_ptr<api::TlsContextProvider> tls;  // null when tls.mode is disabled
  std::unique_ptr<Store> store;
  std::unique_ptr<bus::EventBus> bus;
  std::unique_ptr<alerts::MqttBridge> mqtt;  // null unless mqtt.enabled and mqtt.url are set
  std::unique_ptr<api::StreamHub> streams;  // outlives the server: stream connections detach from it
  std::unique_ptr<pipeline::Pipeline> pipeline;
  std::optional<UrlGuard> camera_urls;  // where camera sources may point; used by ingest and the API
  std::unique_ptr<ingest::CameraManager> ingest;
  std::unique_ptr<LiveCameraStatus> status;
  std::unique_ptr<PushIngress> push;
  std::unique_ptr<auth::SigningKeys> signing_keys;
  std::unique_ptr<auth::AuthService> auth;
  std::unique_ptr<api::Gatekeeper> gate;
  std::unique_ptr<jobs::JobManager> jobs;
  std::unique_ptr<jobs::Scheduler> scheduler;  // retention and other periodic jobs
  // --- notifications (issue 6 §3): channel delivery and dead letters; stopped before the store ---
  std::unique_ptr<alerts::DeliveryService> notifications;
  std::unique_ptr<alerts::Engine> alert_engine;  // alerts: rules evaluated against the bus
  std::unique_ptr<bus::Subscription> camera_changes;
  std::thread camera_controller;
  std::atomic<bool> stop_controller{false};
  std::unique_ptr<api::Api> api;
  std::unique_ptr<api::HttpServer> server;
  std::unique_ptr<TlsReloader> tls_reloader;
  bool running = false;

  Status build_auth();

  Status build_jobs();

  // Stops the schedule, then the jobs (running ones end interrupted; queued ones stay queued).
  void stop_jobs() {
    if (scheduler) scheduler->stop();
    if (jobs) jobs->stop();
  }

  // Keeps ingest and the pipeline in step with the stored cameras: applies every change
  // published on the `cameras` topic, and resynchronizes everything if it missed one.
  std::uint64_t status_revision_seen = 0;            // camera-controller thread
  std::map<std::string, std::string> last_status;   // camera-controller thread: id -> state, reason

  void control_cameras() {
    std::uint64_t seen_dropped = 0;
    while (!stop_controller.load()) {
      auto msg = camera_changes->next(std::chrono::milliseconds(500));
      if (camera_changes->dropped() != seen_dropped) {
        seen_dropped = camera_changes->dropped();
        log::warn("camera changes were missed; resynchronizing every camera");
        Status s = apply_all_cameras();
        if (!s.ok()) log::error("camera resynchronization failed", {{"error", s.to_string()}});
      }
      if (msg && *msg) {
        const auto& m = **msg;
        std::string type = m.data.value("type", "");
        if (type == "created" || type == "updated" || type == "deleted") apply_camera(m.camera);
      }
      publish_status_changes();
    }
  }

  // Publishes {"type":"status", "camera_id", "status": {state, reason}} on the cameras
  // topic for every camera whose state or reason changed since the last call (stream
  // clients see cameras go online, reconnect and fail). Camera-controller thread only.
  void publish_status_changes() {
    std::uint64_t revision = ingest->status_revision();
    if (revision == status_revision_seen) return;
    status_revision_seen = revision;
    std::map<std::string, std::string> now;
    PageRequest page;
    page.limit = 500;
    for (;;) {
      auto cams = store->list_cameras(page);
      if (!cams.ok()) return;
      for (const auto& c : cams->items) {
        std::string state = c.enabled ? "starting" : "disabled";
        std::string reason;
        if (auto st = ingest->status(c.id)) {
          state = std::string(ingest::source_state_name(st->state));
          reason = st->reason;
        }
        std::string key = state + '\n' + reason;
        auto it = last_status.find(c.id);
        if (it == last_status.end() || it->second != key) {
          nlohmann::json view{{"state", state}, {"reason", reason.empty() ? nlohmann::json() : nlohmann::json(reason)}};
          bus->publish(bus::kCameras, c.id, {{"type", "status"}, {"camera_id", c.id}, {"status", std::move(view)}});
        }
        now.emplace(c.id, std::move(key));
      }
      if (!cams->next_after) break;
      page.after = *cams->next_after;
    }
    last_status = std::move(now);
  }

  void apply_camera(const std::string& id) {
    auto cam = store->get_camera(id);
    if (!cam.ok()) {
      ingest->remove(id);
      pipeline->remove_camera(id);
      return;
    }
    pipeline->upsert_camera(*cam);
    ingest->upsert(*cam);
  }

  Status apply_all_cameras() {
    PageRequest page;
    page.limit = 500;
    for (;;) {
      auto cams = store->list_cameras(page);
      if (!cams.ok()) return cams.status();
      for (const auto& c : cams->items) {
        pipeline->upsert_camera(c);
        ingest->upsert(c);
      }
      if (!cams->next_after) return Status();
      page.after = *cams->next_after;
    }
  }

  ~Parts() {
    if (streams) streams->stop();
    server.reset();
    api.reset();
    streams.reset();
    stop_jobs();
    scheduler.reset();
    jobs.reset();
    alert_engine.reset();
    notifications.reset();
    gate.reset();
    auth.reset();
    signing_keys.reset();
    stop_controller = true;
    if (camera_changes) camera_changes->close();
    if (camera_controller.joinable()) camera_controller.join();
    camera_changes.reset();
    if (ingest) ingest->stop_all();
    if (pipeline) pipeline->stop();
    if (mqtt) mqtt->stop();
    if (bus) bus->close();
    ingest.reset();
    pipeline.reset();
    bus.reset();
    if (store) store->close();
    store.reset();
    if (lock_fd >= 0) ::close(lock_fd);
  }
};

// Users, tokens and the request gate. On first start creates the admin user; a generated
// password is printed once (and left in <data>/initial-admin-password, mode 0600).
Status App::Parts::build_auth() {
  Parts& p = *this;
  const Config& c = p.config;
  auto ring = auth::SigningKeys::open(c.data_dir, {}, &system_clock());
  if (!ring.ok()) return ring.status().with_context("JWT signing keys");
  p.signing_keys = std::move(ring).value();
  auth::AuthOptions o;
  o.access_ttl_s = c.auth.access_ttl_ms / 1000;
  o.refresh_ttl_s = c.auth.refresh_ttl_ms / 1000;
  o.metrics = p.metrics.get();
  p.auth = std::make_unique<auth::AuthService>(p.store.get(), &system_clock(), p.signing_keys.get(), o);
  std::optional<std::string> password;
  if (const char* env = std::getenv("ARGUS_ADMIN_PASSWORD"); env != nullptr && *env != '\0') password = env;
  std::optional<std::filesystem::path> password_file;
  if (!c.auth.admin_password_file.empty()) password_file = c.auth.admin_password_file;
  auto boot = p.auth->bootstrap_admin(c.data_dir, password, password_file);
  if (!boot.ok()) return boot.status().with_context("create the admin user");
  if (boot->created) {
    if (boot->generated_password) {
      // Printed once, on the console only (never through the log).
      std::fprintf(stderr,
                   "\n  Argus created the user 'admin' with the password:\n\n      %s\n\n"
                   "  It is also in %s (readable by you only). Sign in with\n"
                   "      argus login --user admin\n"
                   "  and change it: POST /api/v1/users/me/password {current_password, new_password}.\n\n",
                   boot->generated_password->c_str(), boot->password_file.string().c_str());
    }
    log::info("admin user created", {{"username", boot->username},
                                     {"password", boot->generated_password ? "generated" : "from configuration"}});
  }
  api::SecurityOptions so;
  so.cors_origins = c.server.cors_origins;
  so.metrics_public = c.server.metrics_public;
  auto policy = [](const char* name, const RateConfig& r) {
    return auth::RateLimitPolicy{name, r.rate, r.period_ms, r.burst};
  };
  so.auth_rate = policy("login", c.auth.login_rate);
  so.read_rate = policy("read", c.auth.read_rate);
  so.write_rate = policy("write", c.auth.write_rate);
  auto made = api::Gatekeeper::create(p.auth.get(), so, &system_clock(), p.metrics.get());
  if (!made.ok()) return made.status();
  p.gate = std::move(made).value();
  return Status();
}

// The job manager with every kind registered, and the schedule (started by App::start).
Status App::Parts::build_jobs() {
  const Config& c = config;
  jobs::JobManagerOptions o;
  o.workers = c.jobs.workers;
  o.queue = c.jobs.queue;
  o.stop_grace = std::chrono::milliseconds(c.server.shutdown_timeout_ms);
  o.metrics = metrics.get();
  jobs = std::make_unique<jobs::JobManager>(store.get(), bus.get(), o);
  ARGUS_RETURN_IF_ERROR(register_maintenance_runners(*jobs, {store.get(), auth.get(), &config, &system_clock(), config.data_dir + "/media"}));
  ARGUS_RETURN_IF_ERROR(register_analyze_runner(*jobs, config));
  scheduler = std::make_unique<jobs::Scheduler>(jobs.get(), scheduled_tasks(c, *jobs));
  return Status();
}

App::App(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

App::~App() { stop(); }

Result<std::unique_ptr<App>> App::create(Config config) {
  auto parts = std::make_unique<Parts>();
  parts->config = std::move(config);
  const Config& c = parts->config;
  const std::string media_dir = c.data_dir + "/media";

  ARGUS_ASSIGN_OR_RETURN(parts->lock_fd, prepare_data_dir(c.data_dir));

  parts->metrics = std::make_unique<metrics::Registry>();
  metrics::register_process_metrics(*parts->metrics);

  if (c.tls.mode != TlsMode::kDisabled) {
    auto tls = api::TlsContextProvider::create(c.tls);
    if (!tls.ok()) return tls.status().with_context("TLS");
    parts->tls = std::move(tls).value();
    log::info("TLS enabled", {{"mode", tls_mode_name(c.tls.mode)}, {"certificate", parts->tls->describe()}});
  }

  StoreOptions store_options;
  store_options.config = c.store;
  store_options.metrics = parts->metrics.get();
  auto store = open_store(store_options);
  if (!store.ok()) return store.status();
  parts->store = std::move(store).value();

  for (const auto& cam : c.cameras) {
    auto saved = parts->store->upsert_camera(cam);
    if (!saved.ok()) return saved.status().with_context("save camera '" + cam.id + "' from the configuration");
  }
  if (!c.cameras.empty()) log::info("cameras from the configuration saved", {{"count", c.cameras.size()}});

  bus::BusOptions bus_options;
  bus_options.metrics = parts->metrics.get();
  auto bus = bus::open_bus(bus_options);
  if (!bus.ok()) return bus.status();
  parts->bus = std::move(bus).value();
  // --- MQTT bridge (alerts/mqtt_bridge.h): built here, started before the cameras, stopped
  // after the pipeline and before the bus closes.
  if (c.mqtt.enabled && !c.mqtt.url.empty()) {
    alerts::MqttBridgeOptions mo;
    mo.config = c.mqtt;
    mo.sw_version = ARGUS_VERSION;
    mo.metrics = parts->metrics.get();
    auto mqtt = alerts::MqttBridge::create(mo, parts->store.get(), parts->bus.get());
    if (!mqtt.ok()) return mqtt.status();
    parts->mqtt = std::move(mqtt).value();
  }
  // --- end MQTT bridge
  parts->streams = std::make_unique<api::StreamHub>(*parts->bus, api::StreamHubOptions{c.streams, parts->metrics.get()});

  auto pipeline = pipeline::Pipeline::create(pipeline_options(c, media_dir), parts->store.get(), parts->bus.get(),
                                             parts->metrics.get());
  if (!pipeline.ok()) return pipeline.status();
  parts->pipeline = std::move(pipeline).value();

  pipeline::Pipeline* pipe = parts->pipeline.get();
  auto camera_guard = UrlGuard::for_use(c.security, UrlUse::kCamera);
  if (!camera_guard.ok()) return camera_guard.status();
  parts->camera_urls = std::move(camera_guard).value();
  ingest::IngestOptions ingest_opts = ingest_options(c, parts->metrics.get());
  ingest_opts.url_guard = &*parts->camera_urls;
  parts->ingest = std::make_unique<ingest::CameraManager>(ingest_opts,
                                                          [pipe](const vision::FramePtr& f) { pipe->on_frame(f); });
  parts->status = std::make_unique<LiveCameraStatus>(parts->ingest.get(), pipe, &system_clock());
  parts->push = std::make_unique<PushIngress>(parts->ingest.get());

  ARGUS_RETURN_IF_ERROR(parts->build_auth());
  ARGUS_RETURN_IF_ERROR(parts->build_jobs());
  // --- notifications: senders vet destinations like webhooks (security.webhook_urls) ---
  {
    auto sender = alerts::make_sender(url_guard_policy(c.security, UrlUse::kWebhook));
    if (!sender.ok()) return sender.status().with_context("notifications");
    alerts::DeliveryOptions delivery;
    delivery.config = c.notifications;
    delivery.metrics = parts->metrics.get();
    parts->notifications =
        std::make_unique<alerts::DeliveryService>(delivery, parts->store.get(), std::move(sender).value());
  }
  // --- alerts: the rule engine (subscribes to the bus now; started by App::start) ---
  {
    alerts::EngineOptions eo;
    eo.metrics = parts->metrics.get();
    eo.sink = parts->notifications.get();  // fires and resolves go to the rule's channels
    parts->alert_engine = std::make_unique<alerts::Engine>(parts->store.get(), parts->bus.get(), eo);
  }
  // Outbound URLs: camera sources are checked as they are created or changed; a remote
  // detector's URL is checked now.
  if (c.detector.kind == "remote") {
    auto detector_guard = UrlGuard::for_use(c.security, UrlUse::kDetector);
    if (!detector_guard.ok()) return detector_guard.status();
    Status s = detector_guard->check_url(c.detector.url);
    if (!s.ok() && s.code() != StatusCode::kUnavailable) return s.with_context("detector.url");
  }

  api::ApiDeps deps;
  deps.store = parts->store.get();
  deps.auth = parts->auth.get();
  deps.signing_keys = parts->signing_keys.get();
  deps.gate = parts->gate.get();
  deps.metrics = parts->metrics.get();
  deps.status = parts->status.get();
  deps.bus = parts->bus.get();
  deps.pipeline = pipe;
  deps.frames = parts->push.get();
  deps.media_dir = media_dir;
  deps.camera_urls = parts->camera_urls ? &*parts->camera_urls : nullptr;
  deps.streams = parts->streams.get();
  deps.jobs = parts->jobs.get();
  deps.alert_engine = parts->alert_engine.get();
  deps.notifications = parts->notifications.get();
  deps.videos_dir = c.data_dir + "/videos";  // where analyze jobs read (jobs_wiring.cpp)
  deps.upload_chunk_bytes = c.server.max_body_bytes;
  // The stats route's sections for parts the api does not know about.
  deps.extra_stats = [raw = parts.get()] {
    nlohmann::json doc = nlohmann::json::object();
    alerts::DeliveryStats n = raw->notifications->stats();
    doc["notifications"] = {{"queued", n.queued},         {"capacity", n.capacity},
                            {"in_flight", n.in_flight},   {"dead_letters", n.dead_letters},
                            {"open_circuits", n.open_circuits}, {"delivered", n.delivered},
                            {"retried", n.retried},       {"failed", n.failed},
                            {"dead_lettered", n.dead_lettered}, {"dropped", n.dropped}};
    doc["alerts"] = {{"firing", raw->alert_engine->firing_count()}};
    if (raw->mqtt) {
      alerts::MqttBridgeStats m = raw->mqtt->stats();
      doc["mqtt"] = {{"connected", m.connected},
                     {"backlog", m.backlog},
                     {"published", m.published},
                     {"dropped", m.dropped},
                     {"reconnects", m.reconnects}};
    } else {
      doc["mqtt"] = {{"enabled", false}};
    }
    return doc;
  };
  parts->api = std::make_unique<api::Api>(deps);
  api::Api* api = parts->api.get();
  parts->server = std::make_unique<api::HttpServer>(
      c.server, [api](api::Request& req) { return api->handle(req); }, parts->metrics.get(), parts->tls.get());
  return std::unique_ptr<App>(new App(std::move(parts)));
}

Status App::start() {
  Parts& p = *parts_;
  if (p.mqtt) ARGUS_RETURN_IF_ERROR(p.mqtt->start());  // sees every camera message from here on
  // Delivery first (it requeues what the last stop kept), then alerts, so that the
  // cameras' first status messages are evaluated and their alerts can be delivered.
  ARGUS_RETURN_IF_ERROR(p.notifications->start());
  ARGUS_RETURN_IF_ERROR(p.alert_engine->start());
  p.camera_changes = p.bus->subscribe({.topics = {std::string(bus::kCameras)},
                                       .capacity = 4096,
                                       .overflow = OverflowPolicy::kDropOldest,
                                       .name = "camera-controller"});
  ARGUS_RETURN_IF_ERROR(p.apply_all_cameras());
  p.camera_controller = std::thread([&p] { p.control_cameras(); });
  // Jobs left by the previous run are recovered before anyone can submit new ones.
  ARGUS_RETURN_IF_ERROR(p.jobs->start());
  p.scheduler->start();
  ARGUS_RETURN_IF_ERROR(p.streams->start());
  ARGUS_RETURN_IF_ERROR(p.server->start());
  if (p.tls) p.tls_reloader = std::make_unique<TlsReloader>(p.tls.get());
  p.running = true;
  const auto& s = p.config.server;
  log::info("argus is serving", {{"listen", s.listen_host + ":" + std::to_string(p.server->port())},
                                 {"data_dir", p.config.data_dir},
                                 {"io_threads", s.io_threads},
                                 {"tls", tls_mode_name(p.config.tls.mode)},
                                 {"detector", p.config.detector.kind}});
  return Status();
}

std::uint16_t App::port() const { return parts_->server->port(); }

void App::stop() {
  if (!parts_ || !parts_->running) return;
  Parts& p = *parts_;
  p.running = false;
  p.tls_reloader.reset();
  auto grace = std::chrono::milliseconds(p.config.server.shutdown_timeout_ms);
  log::info("shutting down: no new connections; waiting for requests in flight",
            {{"grace_ms", grace.count()}, {"connections", p.server->active_connections()}});
  p.streams->stop();  // stream clients are told (WebSocket close 1001) and their connections end
  std::size_t forced = p.server->stop(grace);
  if (forced > 0) log::warn("closed connections still busy at the end of the grace period", {{"count", forced}});
  p.stop_jobs();
  p.alert_engine->stop();
  // Finishes attempts in flight; what is still queued is kept as dead letters for the next start.
  p.notifications->stop();
  p.stop_controller = true;
  p.camera_changes->close();
  if (p.camera_controller.joinable()) p.camera_controller.join();
  p.ingest->stop_all();
  p.pipeline->stop();
  if (p.mqtt) p.mqtt->stop();  // publishes what the pipeline said last, then "offline"
  p.bus->close();
  Status flushed = p.store->flush();
  if (!flushed.ok()) log::error("store flush failed", {{"error", flushed.to_string()}});
  p.store->close();
  log::info("stopped");
}

}  // namespace argus::app
