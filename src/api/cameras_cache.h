// Private to the api module: the cache of serialized camera list pages.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "api/api.h"

namespace argus::api {

// Serialized list pages keyed by their query, valid while neither the stored cameras nor
// their status changed. Lists are the hot read of dashboards and integrations.
struct Api::CamerasCache {
  struct Entry {
    std::uint64_t camera_revision;
    std::uint64_t status_revision;
    std::shared_ptr<const std::string> body;
    std::string etag;
  };
  std::mutex mu;
  std::map<std::string, Entry> entries;  // guarded by mu; at most kMaxEntries
  static constexpr std::size_t kMaxEntries = 64;
};

}  // namespace argus::api
