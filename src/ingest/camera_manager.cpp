#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "core/log.h"
#include "ingest/ingest.h"
#include "ingest/supervisor.h"

namespace argus::ingest {

std::string_view source_state_name(SourceState s) {
  switch (s) {
    case SourceState::kStarting:
      return "starting";
    case SourceState::kOnline:
      return "online";
    case SourceState::kReconnecting:
      return "reconnecting";
    case SourceState::kOffline:
      return "offline";
    case SourceState::kError:
      return "error";
    case SourceState::kDisabled:
      return "disabled";
  }
  return "unknown";
}

struct CameraManager::Impl {
  Impl(IngestOptions o, FrameSink s) : options(std::move(o)), sink(std::move(s)) {
    if (options.clock == nullptr) options.clock = &system_clock();
  }

  // Removes the camera from the map; the caller stops it outside mu.
  std::shared_ptr<Supervisor> take(const std::string& id) {
    std::lock_guard lock(mu);
    auto it = cameras.find(id);
    if (it == cameras.end()) return nullptr;
    auto sup = std::move(it->second);
    cameras.erase(it);
    return sup;
  }

  IngestOptions options;  // constant after construction
  const FrameSink sink;
  std::atomic<std::uint64_t> revision{1};

  // Serializes upsert/remove/stop_all, so a camera is never started twice. Taken before
  // mu, never after; threads are joined holding only ops_mu (a sink may call status()).
  std::mutex ops_mu;
  mutable std::mutex mu;
  // shared_ptr: push_frame and status() keep a supervisor alive outside mu while
  // remove() may drop it from the map.
  std::map<std::string, std::shared_ptr<Supervisor>> cameras;  // guarded by mu
};

CameraManager::CameraManager(IngestOptions options, FrameSink sink)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(sink))) {}

CameraManager::~CameraManager() { stop_all(); }

void CameraManager::upsert(const Camera& camera) {
  std::lock_guard ops(impl_->ops_mu);
  std::shared_ptr<Supervisor> old;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->cameras.find(camera.id);
    if (it != impl_->cameras.end()) {
      const Camera& running = it->second->camera();
      if (running.source == camera.source && running.enabled == camera.enabled) {
        // Nothing the source depends on changed (name, zones, detection are the
        // pipeline's business): keep it running.
        return;
      }
      old = it->second;
    }
  }
  if (old) old->stop();
  auto sup = std::make_shared<Supervisor>(camera, impl_->options, &impl_->sink, &impl_->revision);
  {
    std::lock_guard lock(impl_->mu);
    impl_->cameras[camera.id] = sup;
  }
  sup->start();
  impl_->revision.fetch_add(1);
  log::info(old ? "camera restarted" : "camera added", {{"camera", camera.id},
                                                        {"kind", source_kind_name(camera.source.kind)},
                                                        {"url", mask_url_credentials(camera.source.url)},
                                                        {"enabled", camera.enabled}});
}

void CameraManager::remove(const std::string& camera_id) {
  std::lock_guard ops(impl_->ops_mu);
  auto sup = impl_->take(camera_id);
  if (!sup) return;
  sup->stop();
  impl_->revision.fetch_add(1);
  log::info("camera removed", {{"camera", camera_id}});
}

void CameraManager::stop_all() {
  std::lock_guard ops(impl_->ops_mu);
  std::map<std::string, std::shared_ptr<Supervisor>> all;
  {
    std::lock_guard lock(impl_->mu);
    all.swap(impl_->cameras);
  }
  if (all.empty()) return;
  for (auto& [id, sup] : all) sup->request_stop();  // stop in parallel, then join
  for (auto& [id, sup] : all) sup->stop();
  impl_->revision.fetch_add(1);
}

std::optional<SourceStatus> CameraManager::status(const std::string& camera_id) const {
  std::shared_ptr<Supervisor> sup;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->cameras.find(camera_id);
    if (it == impl_->cameras.end()) return std::nullopt;
    sup = it->second;
  }
  return sup->status();
}

std::uint64_t CameraManager::status_revision() const { return impl_->revision.load(); }

Status CameraManager::push_frame(const std::string& camera_id, std::string bytes) {
  std::shared_ptr<Supervisor> sup;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->cameras.find(camera_id);
    if (it == impl_->cameras.end()) {
      return Status::not_found("camera '" + camera_id + "' does not exist");
    }
    sup = it->second;
  }
  const Camera& camera = sup->camera();
  if (camera.source.kind != SourceKind::kPush) {
    return Status::failed_precondition("camera '" + camera_id + "' is a " +
                                       std::string(source_kind_name(camera.source.kind)) +
                                       " camera; only push cameras accept frames");
  }
  if (!camera.enabled) {
    return Status::failed_precondition("camera '" + camera_id + "' is disabled");
  }
  return sup->push(std::move(bytes));
}

}  // namespace argus::ingest
