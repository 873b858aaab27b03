// Shared, lazily created test fixtures: media files (generated once with ffmpeg) and one
// fake camera HTTP server for the whole test binary.
#pragma once

#include <cstdint>
#include <string>

namespace argus::ingest::testutil {

struct Media {
  std::string dir;
  std::string avi;        // 2 s of testsrc at 10 fps, 160x120, MPEG-4 in AVI (20 frames)
  std::string mp4;        // the same in MP4
  std::string truncated;  // the MP4 cut in half (its index is at the end: unreadable)
  std::string corrupt;    // random bytes named .avi
  std::string jpeg_path;  // the JPEG the fake camera serves
  std::string png_path;
  std::string jpeg;  // its bytes
};

// Generated on first use; removed at exit.
const Media& media();

// The fake camera (tests/ingest/fake_camera.py) serving media().jpeg; started on first use
// with user "admin", password "secret"; stopped at exit. Fails the test if it cannot start.
struct FakeCamera {
  std::uint16_t port = 0;
  std::string url(const std::string& path, const std::string& userinfo = "") const;
};
const FakeCamera& fake_camera();

}  // namespace argus::ingest::testutil
