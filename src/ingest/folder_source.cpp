// Folder source: images a camera (FTP upload, NVR export...) drops into a directory.
//
// Files are picked up on inotify IN_CLOSE_WRITE / IN_MOVED_TO, plus whatever is already
// there when the source starts. Only regular *.jpg, *.jpeg and *.png files directly in the
// directory are read; names starting with '.' are ignored (uploads in progress). Every
// file is opened with O_NOFOLLOW relative to the directory's descriptor, so a symlink never
// leads the source outside the directory (it is moved to failed/ untouched). A file whose
// content was seen recently (FNV-1a 64 hash of the bytes) is not delivered again. Each
// file read ends in <dir>/processed/ (delivered or duplicate) or <dir>/failed/ (not a
// decodable image, too large, not a regular file).
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/log.h"
#include "ingest/source.h"

namespace argus::ingest {
namespace {

constexpr std::size_t kRecentHashes = 4096;
constexpr const char* kProcessed = "processed";
constexpr const char* kFailed = "failed";

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

std::string errno_text(int err) { return std::strerror(err); }

std::uint64_t fnv1a64(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

bool has_image_extension(const std::string& name) {
  std::size_t dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == "jpg" || ext == "jpeg" || ext == "png";
}

bool is_candidate(const std::string& name) {
  return !name.empty() && name.front() != '.' && name.find('/') == std::string::npos && has_image_extension(name);
}

class FolderSource final : public Source {
 public:
  FolderSource(std::string dir, SourceOptions options) : dir_(std::move(dir)), options_(options) {}

  Status run(const SourceIO& io) override {
    Fd dir(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir.valid()) {
      int err = errno;
      if (err == ENOENT || err == ENOTDIR) {
        return Status::not_found("folder " + dir_ + " does not exist or is not a directory");
      }
      return Status::failed_precondition("cannot open folder " + dir_ + ": " + errno_text(err));
    }
    ARGUS_ASSIGN_OR_RETURN(Fd processed, subdir(dir.get(), kProcessed));
    ARGUS_ASSIGN_OR_RETURN(Fd failed, subdir(dir.get(), kFailed));

    Fd inotify(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!inotify.valid()) {
      return Status::resource_exhausted("inotify_init1 failed: " + errno_text(errno));
    }
    // Watch first, then scan: a file arriving in between is seen twice at worst, and the
    // second sighting finds it already moved.
    if (::inotify_add_watch(inotify.get(), dir_.c_str(),
                            IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR) < 0) {
      int err = errno;
      if (err == ENOSPC) {
        return Status::resource_exhausted("cannot watch " + dir_ +
                                          ": inotify watch limit reached (fs.inotify.max_user_watches)");
      }
      return Status::failed_precondition("cannot watch " + dir_ + ": " + errno_text(err));
    }
    Ctx ctx{io, dir.get(), processed.get(), failed.get()};
    io.ready();
    ARGUS_RETURN_IF_ERROR(scan(ctx));

    alignas(inotify_event) char buf[64 * 1024];
    while (!io.stop.raised()) {
      pollfd p{inotify.get(), POLLIN, 0};
      int r = ::poll(&p, 1, 100);
      if (r < 0) {
        if (errno == EINTR) continue;
        return Status::unavailable("poll on inotify failed: " + errno_text(errno));
      }
      if (r == 0) continue;
      ssize_t n = ::read(inotify.get(), buf, sizeof buf);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        return Status::unavailable("reading inotify events failed: " + errno_text(errno));
      }
      std::vector<std::string> names;
      bool rescan = false;
      for (char* at = buf; at < buf + n;) {
        auto* ev = reinterpret_cast<inotify_event*>(at);
        at += sizeof(inotify_event) + ev->len;
        if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
          return Status::unavailable("folder " + dir_ + " was removed or moved");
        }
        if (ev->mask & IN_Q_OVERFLOW) rescan = true;
        if (ev->len == 0 || (ev->mask & IN_ISDIR)) continue;
        if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) names.emplace_back(ev->name);
      }
      for (const auto& name : names) {
        if (io.stop.raised()) break;
        take(ctx, name);
      }
      if (rescan) ARGUS_RETURN_IF_ERROR(scan(ctx));
    }
    return Status::cancelled("stopped");
  }

 private:
  struct Ctx {
    const SourceIO& io;
    int dir;
    int processed;
    int failed;
  };

  Result<Fd> subdir(int dir, const char* name) {
    if (::mkdirat(dir, name, 0755) != 0 && errno != EEXIST) {
      return Status::failed_precondition("cannot create " + dir_ + "/" + name + ": " + errno_text(errno));
    }
    Fd fd(::openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) {
      return Status::failed_precondition("cannot open " + dir_ + "/" + name +
                                         " (it must be a directory, not a symlink): " + errno_text(errno));
    }
    return fd;
  }

  // Delivers every candidate already in the directory, oldest name first.
  Status scan(Ctx& ctx) {
    Fd dup(::dup(ctx.dir));
    DIR* d = dup.valid() ? ::fdopendir(dup.get()) : nullptr;
    if (d == nullptr) return Status::unavailable("cannot list " + dir_ + ": " + errno_text(errno));
    dup.release();  // owned by d now
    std::vector<std::string> names;
    ::rewinddir(d);
    while (dirent* ent = ::readdir(d)) {
      std::string name = ent->d_name;
      if (is_candidate(name)) names.push_back(std::move(name));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      if (ctx.io.stop.raised()) break;
      take(ctx, name);
    }
    return {};
  }

  // Reads, delivers and moves one file. Problems with one file never stop the source.
  void take(Ctx& ctx, const std::string& name) {
    if (!is_candidate(name)) return;
    Fd fd(::openat(ctx.dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) {
      int err = errno;
      if (err == ENOENT) return;  // already handled (seen twice) or removed meanwhile
      fail(ctx, name, err == ELOOP ? "a symlink (not followed)" : "cannot open: " + errno_text(err));
      return;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      fail(ctx, name, "not a regular file");
      return;
    }
    if (static_cast<std::uint64_t>(st.st_size) > kMaxImageBytes) {
      fail(ctx, name, "larger than " + std::to_string(kMaxImageBytes) + " bytes");
      return;
    }
    std::string bytes;
    bytes.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < bytes.size()) {
      ssize_t n = ::read(fd.get(), bytes.data() + got, bytes.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    bytes.resize(got);
    fd.reset();

    std::uint64_t h = fnv1a64(bytes);
    if (recent_.count(h) != 0) {
      move_to(ctx, ctx.processed, name);
      return;
    }
    auto frame = frame_from_bytes(std::move(bytes), options_.decode_min_width);
    if (!frame.ok()) {
      fail(ctx, name, frame.status().message());
      return;
    }
    remember(h);
    move_to(ctx, ctx.processed, name);
    ctx.io.emit(std::move(frame).value());
  }

  void remember(std::uint64_t h) {
    recent_.insert(h);
    order_.push_back(h);
    if (order_.size() > kRecentHashes) {
      recent_.erase(order_.front());
      order_.pop_front();
    }
  }

  void fail(Ctx& ctx, const std::string& name, const std::string& why) {
    log::warn("folder source: file moved to failed/", {{"folder", dir_}, {"file", name}, {"reason", why}});
    move_to(ctx, ctx.failed, name);
  }

  // Moves `name` into the subdirectory without replacing an existing file there: a name
  // already taken gets "-1", "-2"... before its extension.
  void move_to(Ctx& ctx, int target_dir, const std::string& name) {
    std::size_t dot = name.rfind('.');
    std::string stem = dot == std::string::npos ? name : name.substr(0, dot);
    std::string ext = dot == std::string::npos ? "" : name.substr(dot);
    std::string target = name;
    for (int i = 1; i <= 1000; ++i) {
      if (::renameat2(ctx.dir, name.c_str(), target_dir, target.c_str(), RENAME_NOREPLACE) == 0) return;
      if (errno != EEXIST) break;
      target = stem + "-" + std::to_string(i) + ext;
    }
    int err = errno;
    if (err == ENOENT) return;
    log::warn("folder source: cannot move file out of the watched folder",
              {{"folder", dir_}, {"file", name}, {"error", errno_text(err)}});
  }

  const std::string dir_;
  const SourceOptions options_;
  // Hashes of recently delivered files, bounded by kRecentHashes (oldest forgotten first).
  std::unordered_set<std::uint64_t> recent_;
  std::deque<std::uint64_t> order_;
};

}  // namespace

Result<std::unique_ptr<Source>> make_folder_source(const SourceSpec& spec, const SourceOptions& options) {
  ARGUS_ASSIGN_OR_RETURN(std::string path, file_url_path(spec.url));
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return std::unique_ptr<Source>(std::make_unique<FolderSource>(std::move(path), options));
}

}  // namespace argus::ingest
