#include "app/app.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "api/api.h"
#include "api/server.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "metrics/process.h"
#include "store/store.h"

namespace argus::app {

// Members are declared in construction order; destruction runs in reverse.
struct App::Parts {
  Config config;
  int lock_fd = -1;
  std::unique_ptr<metrics::Registry> metrics;
  std::unique_ptr<Store> store;
  std::unique_ptr<api::StaticCameraStatus> status;
  std::unique_ptr<api::Api> api;
  std::unique_ptr<api::HttpServer> server;
  bool running = false;

  ~Parts() {
    server.reset();
    api.reset();
    if (store) store->close();
    store.reset();
    if (lock_fd >= 0) ::close(lock_fd);
  }
};

namespace {

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

App::App(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

App::~App() { stop(); }

Result<std::unique_ptr<App>> App::create(Config config) {
  auto parts = std::make_unique<Parts>();
  parts->config = std::move(config);
  const Config& c = parts->config;

  ARGUS_ASSIGN_OR_RETURN(parts->lock_fd, prepare_data_dir(c.data_dir));

  parts->metrics = std::make_unique<metrics::Registry>();
  metrics::register_process_metrics(*parts->metrics);

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

  parts->status = std::make_unique<api::StaticCameraStatus>();
  api::ApiDeps deps;
  deps.store = parts->store.get();
  deps.metrics = parts->metrics.get();
  deps.status = parts->status.get();
  parts->api = std::make_unique<api::Api>(deps);
  api::Api* api = parts->api.get();
  parts->server = std::make_unique<api::HttpServer>(
      c.server, [api](api::Request& req) { return api->handle(req); }, parts->metrics.get());
  return std::unique_ptr<App>(new App(std::move(parts)));
}

Status App::start() {
  ARGUS_RETURN_IF_ERROR(parts_->server->start());
  parts_->running = true;
  const auto& s = parts_->config.server;
  log::info("argus is serving", {{"listen", s.listen_host + ":" + std::to_string(parts_->server->port())},
                                 {"data_dir", parts_->config.data_dir},
                                 {"io_threads", s.io_threads}});
  return Status();
}

std::uint16_t App::port() const { return parts_->server->port(); }

void App::stop() {
  if (!parts_ || !parts_->running) return;
  parts_->running = false;
  auto grace = std::chrono::milliseconds(parts_->config.server.shutdown_timeout_ms);
  log::info("shutting down: no new connections; waiting for requests in flight",
            {{"grace_ms", grace.count()}, {"connections", parts_->server->active_connections()}});
  std::size_t forced = parts_->server->stop(grace);
  if (forced > 0) log::warn("closed connections still busy at the end of the grace period", {{"count", forced}});
  Status flushed = parts_->store->flush();
  if (!flushed.ok()) log::error("store flush failed", {{"error", flushed.to_string()}});
  parts_->store->close();
  log::info("stopped");
}

}  // namespace argus::app
