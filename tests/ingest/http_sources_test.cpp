// MJPEG and snapshot sources against a real HTTP server (fake_camera.py) on loopback.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "fixtures.h"
#include "ingest/ingest.h"
#include "ingest_test_util.h"

namespace argus::ingest {
namespace {

using namespace std::chrono_literals;
using testutil::fake_camera;
using testutil::fast_options;
using testutil::FrameCollector;
using testutil::make_camera;
using testutil::media;
using testutil::state_of;
using testutil::wait_until;

class HttpSourceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(fake_camera().port, 0); }
  std::string url(const std::string& path, const std::string& userinfo = "") {
    return fake_camera().url(path, userinfo);
  }
  std::string reason(const std::string& id) {
    auto s = manager_.status(id);
    return s ? s->reason : "absent";
  }
  // Waits for `state`; on failure the message shows where the camera is.
  ::testing::AssertionResult reaches(const std::string& id, const std::string& state,
                                     std::chrono::milliseconds timeout = 5s) {
    if (wait_until([&] { return state_of(manager_, id) == state; }, timeout)) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << id << " is " << state_of(manager_, id) << " (" << reason(id)
                                         << "), expected " << state;
  }

  FrameCollector frames_;
  CameraManager manager_{fast_options(), frames_.sink()};
};

TEST_F(HttpSourceTest, MjpegStreamDeliversEveryPart) {
  manager_.upsert(make_camera("mjpeg", SourceKind::kMjpeg, url("/mjpeg?interval=40")));
  ASSERT_TRUE(frames_.wait_for("mjpeg", 10, 5s)) << reason("mjpeg");
  auto got = frames_.frames("mjpeg");
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i]->seq, i);
    ASSERT_TRUE(got[i]->jpeg);
    EXPECT_EQ(*got[i]->jpeg, media().jpeg);
    EXPECT_EQ(got[i]->image.cols, 160);
    EXPECT_EQ(got[i]->image.rows, 120);
  }
  EXPECT_TRUE(reaches("mjpeg", "online"));
  std::this_thread::sleep_for(500ms);
  EXPECT_GT(manager_.status("mjpeg")->fps_in, 8);
}

TEST_F(HttpSourceTest, MjpegWithoutContentLengthAndWithQuirkyBoundaries) {
  manager_.upsert(make_camera("nolength", SourceKind::kMjpeg, url("/mjpeg?nolength=1&dashed=1")));
  manager_.upsert(make_camera("noboundary", SourceKind::kMjpeg, url("/mjpeg?noboundary=1&nolength=1")));
  for (const char* id : {"nolength", "noboundary"}) {
    ASSERT_TRUE(frames_.wait_for(id, 5, 5s)) << id << ": " << reason(id);
    for (const auto& f : frames_.frames(id)) {
      ASSERT_TRUE(f->jpeg);
      EXPECT_EQ(*f->jpeg, media().jpeg) << id;
    }
  }
}

TEST_F(HttpSourceTest, MjpegStreamThatEndsIsReconnected) {
  manager_.upsert(make_camera("ends", SourceKind::kMjpeg, url("/mjpeg?frames=3&interval=20")));
  ASSERT_TRUE(frames_.wait_for("ends", 9, 5s)) << reason("ends");
  EXPECT_GE(manager_.status("ends")->reconnects, 2u);
  int restarts = 0;
  for (const auto& f : frames_.frames("ends")) restarts += f->seq == 0 ? 1 : 0;
  EXPECT_GE(restarts, 3) << "seq restarts from 0 with each connection";
}

TEST_F(HttpSourceTest, MjpegErrors) {
  manager_.upsert(make_camera("html", SourceKind::kMjpeg, url("/garbage")));
  manager_.upsert(make_camera("gone", SourceKind::kMjpeg, url("/nothing-here")));
  IngestOptions o = fast_options();
  o.read_timeout_ms = 800;
  o.offline_after_ms = 10'000;
  CameraManager slow_manager(o, frames_.sink());
  slow_manager.upsert(make_camera("stalled", SourceKind::kMjpeg, url("/slow")));

  EXPECT_TRUE(reaches("html", "error"));
  EXPECT_NE(reason("html").find("not an MJPEG stream"), std::string::npos) << reason("html");
  EXPECT_TRUE(reaches("gone", "error"));
  EXPECT_NE(reason("gone").find("404"), std::string::npos) << reason("gone");
  EXPECT_TRUE(wait_until([&] { return state_of(slow_manager, "stalled") == "reconnecting"; }, 3s))
      << state_of(slow_manager, "stalled");
  EXPECT_NE(slow_manager.status("stalled")->reason.find("no frame"), std::string::npos)
      << slow_manager.status("stalled")->reason;
  EXPECT_EQ(frames_.count("html") + frames_.count("gone") + frames_.count("stalled"), 0u);
}

// The SSRF guard checks the address of every connection, redirects included.
TEST_F(HttpSourceTest, GuardRefusesRedirectsAndAddressesOutsideThePolicy) {
  SecurityConfig sec;  // cameras: private addresses allowed, metadata never
  auto private_guard = UrlGuard::for_use(sec, UrlUse::kCamera);
  ASSERT_TRUE(private_guard.ok());
  sec.camera_urls = UrlScope::kPublic;
  auto public_guard = UrlGuard::for_use(sec, UrlUse::kCamera);
  ASSERT_TRUE(public_guard.ok());
  IngestOptions po = fast_options();
  po.url_guard = &*private_guard;
  CameraManager private_manager(po, frames_.sink());
  IngestOptions pubo = fast_options();
  pubo.url_guard = &*public_guard;
  CameraManager public_manager(pubo, frames_.sink());

  // Allowed: a LAN camera, also through a redirect to itself.
  private_manager.upsert(make_camera("lan", SourceKind::kSnapshot, url("/redirect?to=/snapshot.jpg"), 100));
  // Refused: a redirect to the cloud metadata address; loopback under the public policy.
  private_manager.upsert(
      make_camera("meta", SourceKind::kSnapshot, url("/redirect?to=http://169.254.169.254/latest/"), 100));
  public_manager.upsert(make_camera("loop", SourceKind::kSnapshot, url("/snapshot.jpg"), 100));

  ASSERT_TRUE(frames_.wait_for("lan", 2, 5s)) << private_manager.status("lan")->reason;
  auto refused = [&](CameraManager& m, const std::string& id) {
    return wait_until(
        [&] {
          auto st = m.status(id);
          return st && st->reason.find("refused to connect") != std::string::npos;
        },
        5s);
  };
  EXPECT_TRUE(refused(private_manager, "meta")) << private_manager.status("meta")->reason;
  EXPECT_NE(private_manager.status("meta")->reason.find("169.254.169.254"), std::string::npos);
  EXPECT_TRUE(refused(public_manager, "loop")) << public_manager.status("loop")->reason;
  EXPECT_EQ(frames_.count("meta") + frames_.count("loop"), 0u);
}

TEST_F(HttpSourceTest, SnapshotPollsAtItsInterval) {
  manager_.upsert(make_camera("snap", SourceKind::kSnapshot, url("/snapshot.jpg"), 200));
  ASSERT_TRUE(frames_.wait_for("snap", 1, 5s)) << reason("snap");
  std::size_t before = frames_.count("snap");
  std::this_thread::sleep_for(1000ms);
  std::size_t polled = frames_.count("snap") - before;
  EXPECT_GE(polled, 4u);
  EXPECT_LE(polled, 6u);
  auto f = frames_.frames("snap").back();
  ASSERT_TRUE(f->jpeg);
  EXPECT_EQ(*f->jpeg, media().jpeg);
  EXPECT_EQ(state_of(manager_, "snap"), "online");
}

TEST_F(HttpSourceTest, SnapshotBasicAndDigestAuth) {
  manager_.upsert(make_camera("basic-ok", SourceKind::kSnapshot, url("/basic", "admin:secret"), 200));
  manager_.upsert(make_camera("digest-ok", SourceKind::kSnapshot, url("/digest", "admin:secret"), 200));
  manager_.upsert(make_camera("basic-bad", SourceKind::kSnapshot, url("/basic", "admin:wrongpass"), 200));
  manager_.upsert(make_camera("digest-bad", SourceKind::kSnapshot, url("/digest", "admin:wrongpass"), 200));
  manager_.upsert(make_camera("no-creds", SourceKind::kSnapshot, url("/digest"), 200));

  EXPECT_TRUE(frames_.wait_for("basic-ok", 3, 5s)) << reason("basic-ok");
  EXPECT_TRUE(frames_.wait_for("digest-ok", 3, 5s)) << reason("digest-ok");
  for (const char* id : {"basic-bad", "digest-bad"}) {
    EXPECT_TRUE(reaches(id, "error"));
    std::string r = reason(id);
    EXPECT_NE(r.find("authentication failed"), std::string::npos) << r;
    EXPECT_NE(r.find("401"), std::string::npos) << r;
    EXPECT_EQ(r.find("wrongpass"), std::string::npos) << r;
    EXPECT_EQ(frames_.count(id), 0u);
  }
  EXPECT_TRUE(reaches("no-creds", "error"));
  EXPECT_NE(reason("no-creds").find("requires authentication"), std::string::npos) << reason("no-creds");
}

TEST_F(HttpSourceTest, SnapshotBodiesThatAreNotImages) {
  manager_.upsert(make_camera("html", SourceKind::kSnapshot, url("/garbage"), 200));
  manager_.upsert(make_camera("lying", SourceKind::kSnapshot, url("/lying"), 200));
  manager_.upsert(make_camera("png", SourceKind::kSnapshot, url("/png"), 200));
  manager_.upsert(make_camera("broken", SourceKind::kSnapshot, url("/error500"), 200));

  EXPECT_TRUE(reaches("html", "error"));
  EXPECT_NE(reason("html").find("not an image"), std::string::npos) << reason("html");
  EXPECT_NE(reason("html").find("text/html"), std::string::npos) << reason("html");
  EXPECT_TRUE(reaches("lying", "error"));
  EXPECT_NE(reason("lying").find("not an image"), std::string::npos) << reason("lying");
  // Labelled image/jpeg but a PNG: decoded by content, delivered without JPEG bytes.
  ASSERT_TRUE(frames_.wait_for("png", 1, 5s)) << reason("png");
  EXPECT_FALSE(frames_.frames("png").front()->jpeg);
  // A server error is worth retrying: reconnecting, not error.
  EXPECT_TRUE(reaches("broken", "reconnecting"));
  EXPECT_NE(reason("broken").find("500"), std::string::npos) << reason("broken");
  EXPECT_EQ(frames_.count("html") + frames_.count("lying") + frames_.count("broken"), 0u);
}

TEST_F(HttpSourceTest, SlowSnapshotServerTimesOut) {
  IngestOptions o = fast_options();
  o.read_timeout_ms = 1000;
  o.offline_after_ms = 10'000;
  CameraManager manager(o, frames_.sink());
  auto start = std::chrono::steady_clock::now();
  manager.upsert(make_camera("slow", SourceKind::kSnapshot, url("/slow"), 200));
  ASSERT_TRUE(wait_until([&] { return state_of(manager, "slow") == "reconnecting"; }, 3s)) << state_of(manager, "slow");
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 2500ms);
  EXPECT_NE(manager.status("slow")->reason.find("timed out"), std::string::npos) << manager.status("slow")->reason;
}

}  // namespace
}  // namespace argus::ingest
