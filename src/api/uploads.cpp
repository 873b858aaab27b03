#include "api/uploads.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/ids.h"
#include "core/log.h"

namespace argus::api {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::size_t kIdBytes = 8;
constexpr std::size_t kMaxName = 128;

// Upload ids are ours (random hex); anything else never reaches a path.
bool is_upload_id(const std::string& id) {
  return id.size() == 2 * kIdBytes &&
         std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

UnixMillis modified_ms(const fs::path& p) {
  std::error_code ec;
  auto t = fs::last_write_time(p, ec);
  if (ec) return 0;
  auto sys = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::file_clock::to_sys(t));
  return sys.time_since_epoch().count();
}

}  // namespace

bool has_video_extension(std::string_view name) {
  static constexpr std::array<std::string_view, 14> kExtensions = {
      ".mp4", ".m4v", ".mkv", ".mov", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".mts", ".flv", ".mjpeg", ".h264", ".wmv"};
  const std::string l = lower(name);
  return std::any_of(kExtensions.begin(), kExtensions.end(), [&](std::string_view ext) {
    return l.size() > ext.size() && l.compare(l.size() - ext.size(), ext.size(), ext) == 0;
  });
}

bool is_video_file_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxName || name.front() == '.' || name.front() == '-') return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') return false;
  }
  return has_video_extension(name);
}

Uploads::Uploads(fs::path videos_dir, std::int64_t max_bytes, const Clock* clock)
    : videos_(std::move(videos_dir)), pending_(videos_ / ".uploads"), max_bytes_(max_bytes), clock_(clock) {}

fs::path Uploads::part_path(const std::string& id) const { return pending_ / (id + ".part"); }
fs::path Uploads::meta_path(const std::string& id) const { return pending_ / (id + ".json"); }

Result<UploadInfo> Uploads::load(const std::string& id) const {
  if (!is_upload_id(id)) return Status::not_found("no upload '" + id + "'");
  std::ifstream in(meta_path(id));
  if (!in) return Status::not_found("no upload '" + id + "'");
  json j = json::parse(in, nullptr, false);
  if (!j.is_object()) return Status::corruption("the record of upload '" + id + "' is damaged");
  UploadInfo u;
  u.id = id;
  u.name = j.value("name", "");
  u.owner = j.value("owner", "");
  u.size = j.value("size", std::int64_t{0});
  u.file = j.value("file", "");
  u.created_at = j.value("created_at", std::int64_t{0});
  u.updated_at = j.value("updated_at", std::int64_t{0});
  std::error_code ec;
  if (u.complete()) {
    u.received = u.size;
  } else {
    auto n = fs::file_size(part_path(id), ec);
    u.received = ec ? 0 : static_cast<std::int64_t>(n);
  }
  return u;
}

Status Uploads::save(const UploadInfo& u) const {
  json j{{"name", u.name},          {"owner", u.owner},           {"size", u.size},
         {"file", u.file},          {"created_at", u.created_at}, {"updated_at", u.updated_at}};
  const fs::path tmp = meta_path(u.id).string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump();
    if (!out.flush()) return Status::io_error("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, meta_path(u.id), ec);
  if (ec) return Status::io_error("cannot write the record of upload " + u.id + ": " + ec.message());
  return Status::ok_status();
}

void Uploads::purge_stale(UnixMillis now) {
  std::error_code ec;
  for (fs::directory_iterator it(pending_, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path p = it->path();
    if (p.extension() != ".json") continue;
    auto u = load(p.stem().string());
    if (!u.ok() || now - u->updated_at < kStaleAfterMs) continue;
    std::error_code ignored;
    fs::remove(p, ignored);
    if (u->complete()) continue;  // the video stays; only the record of its upload goes
    fs::remove(part_path(u->id), ignored);
    log::info("deleted an upload abandoned for a day", {{"upload", u->id}, {"name", u->name}});
  }
}

Result<UploadInfo> Uploads::create(std::string_view name, std::int64_t size, const std::string& owner) {
  if (!is_video_file_name(name)) {
    return Status::invalid_argument(
        "name must be a plain video file name (letters, digits, '.', '-', '_'; up to 128) ending in a video "
        "extension such as .mp4, .mkv, .avi, .mov or .webm");
  }
  if (size < 1 || size > max_bytes_) {
    return Status::invalid_argument("size must be 1.." + std::to_string(max_bytes_) + " bytes");
  }
  std::lock_guard lock(mu_);
  std::error_code ec;
  fs::create_directories(pending_, ec);
  if (ec) return Status::io_error("cannot create " + pending_.string() + ": " + ec.message());
  const UnixMillis now = clock_->now_ms();
  purge_stale(now);
  auto space = fs::space(videos_, ec);
  if (!ec && static_cast<std::int64_t>(space.available) < size + kDiskMargin) {
    return Status::resource_exhausted("not enough disk space for " + std::to_string(size) + " bytes: " +
                                      std::to_string(space.available) + " available under " + videos_.string());
  }
  UploadInfo u;
  u.id = random_hex_id(kIdBytes);
  u.name = std::string(name);
  u.owner = owner;
  u.size = size;
  u.created_at = u.updated_at = now;
  {
    std::ofstream part(part_path(u.id), std::ios::binary | std::ios::trunc);
    if (!part) return Status::io_error("cannot create " + part_path(u.id).string());
  }
  ARGUS_RETURN_IF_ERROR(save(u));
  return u;
}

Result<UploadInfo> Uploads::get(const std::string& id) {
  std::lock_guard lock(mu_);
  return load(id);
}

Result<UploadInfo> Uploads::append(const std::string& id, std::int64_t offset, std::string_view bytes) {
  std::lock_guard lock(mu_);
  ARGUS_ASSIGN_OR_RETURN(UploadInfo u, load(id));
  if (u.complete()) return Status::failed_precondition("upload '" + id + "' is complete: " + u.file);
  if (offset != u.received) {
    return Status::failed_precondition("offset " + std::to_string(offset) + " is not where upload '" + id +
                                       "' stands: send from offset " + std::to_string(u.received));
  }
  if (bytes.empty()) return Status::invalid_argument("the request body is empty: send the next bytes of the file");
  if (u.received + static_cast<std::int64_t>(bytes.size()) > u.size) {
    return Status::invalid_argument("these " + std::to_string(bytes.size()) + " bytes would pass the declared size " +
                                    std::to_string(u.size));
  }
  {
    std::ofstream part(part_path(id), std::ios::binary | std::ios::app);
    part.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!part.flush()) {
      part.close();
      // Keep the file as it was: a torn append would shift every later offset.
      std::error_code ec;
      fs::resize_file(part_path(id), static_cast<std::uintmax_t>(u.received), ec);
      return Status::io_error("cannot write upload '" + id + "' (disk full?)");
    }
  }
  u.received += static_cast<std::int64_t>(bytes.size());
  u.updated_at = clock_->now_ms();
  if (u.received == u.size) ARGUS_RETURN_IF_ERROR(finish(u));
  ARGUS_RETURN_IF_ERROR(save(u));
  return u;
}

Status Uploads::finish(UploadInfo& u) {
  const fs::path dir = videos_ / "uploads";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::io_error("cannot create " + dir.string() + ": " + ec.message());
  const fs::path wanted(u.name);
  const std::string stem = wanted.stem().string();
  const std::string ext = wanted.extension().string();
  for (int n = 1; n < 10'000; ++n) {
    const std::string name = n == 1 ? u.name : stem + "-" + std::to_string(n) + ext;
    const fs::path target = dir / name;
    // link() refuses an existing name atomically (rename would replace it).
    fs::create_hard_link(part_path(u.id), target, ec);
    if (ec == std::errc::file_exists) continue;
    if (ec) return Status::io_error("cannot move upload '" + u.id + "' into " + dir.string() + ": " + ec.message());
    fs::remove(part_path(u.id), ec);
    u.file = "uploads/" + name;
    return Status::ok_status();
  }
  return Status::already_exists("too many videos named like '" + u.name + "'");
}

Status Uploads::cancel(const std::string& id) {
  std::lock_guard lock(mu_);
  ARGUS_ASSIGN_OR_RETURN(UploadInfo u, load(id));
  std::error_code ec;
  fs::remove(part_path(id), ec);
  fs::remove(meta_path(id), ec);
  return Status::ok_status();
}

Result<std::vector<VideoFile>> Uploads::list_videos(std::size_t limit) {
  std::vector<VideoFile> out;
  std::error_code ec;
  if (!fs::exists(videos_, ec)) return out;
  fs::recursive_directory_iterator it(videos_, fs::directory_options::skip_permission_denied, ec), end;
  if (ec) return Status::io_error("cannot read " + videos_.string() + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) break;
    const fs::path& p = it->path();
    if (it->is_directory(ec) && p.filename().string().front() == '.') {
      it.disable_recursion_pending();  // .uploads: partial files are not videos yet
      continue;
    }
    if (!it->is_regular_file(ec) || !has_video_extension(p.filename().string())) continue;
    VideoFile v;
    v.file = fs::relative(p, videos_, ec).generic_string();
    v.size = static_cast<std::int64_t>(it->file_size(ec));
    v.modified = modified_ms(p);
    out.push_back(std::move(v));
  }
  std::sort(out.begin(), out.end(), [](const VideoFile& a, const VideoFile& b) { return a.file < b.file; });
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace argus::api
