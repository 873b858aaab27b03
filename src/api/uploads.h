// Resumable video uploads into the videos directory, in chunks no larger than the request
// body limit, so a video of any size arrives through ordinary authenticated requests
// (nothing large is held in memory) and an interrupted upload continues where it stopped.
//
// Flow: create(name, size) → append(id, offset, bytes)… with offset == received each time
// → when received reaches size the file moves to <videos>/uploads/<name> (a "-2", "-3", …
// suffix if the name is taken) and `file` names it relative to the videos directory: the
// `params.file` of an analyze job.
//
// On disk: <videos>/.uploads/<id>.part (the bytes so far) and <id>.json (name, size,
// owner, times), so an upload survives a restart. Records untouched for kStaleAfterMs are
// deleted by the next create(), with the bytes of a partial upload.
//
// Thread-safe: one mutex serializes every operation (an append writes at most one
// request body).
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace argus::api {

struct UploadInfo {
  std::string id;
  std::string name;   // the file name asked for
  std::string owner;  // user id of the creator
  std::int64_t size = 0;
  std::int64_t received = 0;
  std::string file;  // when complete: the path relative to the videos directory
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
  bool complete() const { return !file.empty(); }
};

struct VideoFile {
  std::string file;  // relative to the videos directory
  std::int64_t size = 0;
  UnixMillis modified = 0;
};

class Uploads {
 public:
  static constexpr std::int64_t kStaleAfterMs = 24LL * 3600 * 1000;
  static constexpr std::int64_t kDiskMargin = 64LL << 20;  // kept free beyond an upload

  Uploads(std::filesystem::path videos_dir, std::int64_t max_bytes, const Clock* clock);

  // InvalidArgument: a name that is not a plain video file name (letters, digits, '.',
  // '-', '_'; a known video extension) or a size outside 1..max_bytes. ResourceExhausted
  // if the disk has not room for it (plus kDiskMargin). IOError for the filesystem.
  Result<UploadInfo> create(std::string_view name, std::int64_t size, const std::string& owner);
  // NotFound for an unknown id.
  Result<UploadInfo> get(const std::string& id);
  // Appends `bytes` at `offset`. FailedPrecondition if offset != received (the caller
  // resumes from `received`) or the upload is complete; InvalidArgument if it would pass
  // the declared size or carries no bytes.
  Result<UploadInfo> append(const std::string& id, std::int64_t offset, std::string_view bytes);
  // Deletes a partial upload. NotFound for an unknown id.
  Status cancel(const std::string& id);
  // The video files under the videos directory (uploads included, partial ones not),
  // sorted by path; at most `limit`.
  Result<std::vector<VideoFile>> list_videos(std::size_t limit);

  std::int64_t max_bytes() const { return max_bytes_; }

 private:
  std::filesystem::path part_path(const std::string& id) const;
  std::filesystem::path meta_path(const std::string& id) const;
  Result<UploadInfo> load(const std::string& id) const;
  Status save(const UploadInfo& info) const;
  Status finish(UploadInfo& info);
  void purge_stale(UnixMillis now);

  const std::filesystem::path videos_;
  const std::filesystem::path pending_;  // <videos>/.uploads
  const std::int64_t max_bytes_;
  const Clock* clock_;
  std::mutex mu_;
};

// True for a name ending in a video extension Argus reads through FFmpeg (.mp4, .mkv, …).
bool has_video_extension(std::string_view name);
// has_video_extension, and a plain name: letters, digits, '.', '-', '_', up to 128,
// not starting with '.' or '-'.
bool is_video_file_name(std::string_view name);

}  // namespace argus::api
