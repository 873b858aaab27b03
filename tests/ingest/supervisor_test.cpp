// The supervisor and CameraManager: states, backoff, isolation, restarts, metrics.
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "fixtures.h"
#include "ingest/ingest.h"
#include "ingest_test_util.h"
#include "metrics/metrics.h"
#include "testing/testing.h"

namespace argus::ingest {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testutil::fake_camera;
using testutil::fast_options;
using testutil::FrameCollector;
using testutil::make_camera;
using testutil::media;
using testutil::state_of;
using testutil::wait_until;

std::string closed_port_url(const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(argus::testing::free_port()) + path;
}

TEST(SupervisorTest, UnreachableCameraBacksOffThenGoesOffline) {
  metrics::Registry registry;
  IngestOptions o = fast_options();
  o.metrics = &registry;
  FrameCollector frames;
  CameraManager manager(o, frames.sink());
  const auto start = Clock::now();
  manager.upsert(make_camera("gone", SourceKind::kMjpeg, closed_port_url("/mjpeg")));

  ASSERT_TRUE(wait_until([&] { return state_of(manager, "gone") == "reconnecting"; }, 1s));
  std::string reason = manager.status("gone")->reason;
  EXPECT_NE(reason.find("127.0.0.1"), std::string::npos) << reason;

  ASSERT_TRUE(wait_until([&] { return state_of(manager, "gone") == "offline"; }, 3s));
  auto offline_after = Clock::now() - start;
  EXPECT_GE(offline_after, 950ms);
  EXPECT_LT(offline_after, 2000ms);

  // Backoff 50, 100, 200, 400, 400... (±20%): about 6 attempts in 1.6 s. Without backoff a
  // refused connection would be retried thousands of times.
  std::this_thread::sleep_until(start + 1600ms);
  auto st = manager.status("gone");
  EXPECT_GE(st->reconnects, 3u);
  EXPECT_LE(st->reconnects, 9u);
  EXPECT_EQ(st->state, SourceState::kOffline);
  EXPECT_EQ(st->frames_in, 0u);
  EXPECT_EQ(st->last_frame_at, 0);
  EXPECT_EQ(st->fps_in, 0);

  std::string text = registry.expose();
  EXPECT_NE(text.find("argus_camera_up{camera=\"gone\"} 0"), std::string::npos) << text;
  EXPECT_NE(text.find("argus_camera_reconnects_total{camera=\"gone\"}"), std::string::npos) << text;
}

TEST(SupervisorTest, BadCamerasDoNotDisturbAGoodOne) {
  ASSERT_NE(fake_camera().port, 0);
  FrameCollector frames;
  CameraManager manager(fast_options(), frames.sink());
  manager.upsert(make_camera("refused", SourceKind::kMjpeg, closed_port_url("/mjpeg")));
  manager.upsert(make_camera("garbage", SourceKind::kSnapshot, fake_camera().url("/garbage"), 100));
  manager.upsert(make_camera("slow", SourceKind::kSnapshot, fake_camera().url("/slow"), 100));
  manager.upsert(make_camera("missing", SourceKind::kFile, "file:///nonexistent/video.mp4"));
  manager.upsert(make_camera("good", SourceKind::kMjpeg, fake_camera().url("/mjpeg?interval=40")));

  ASSERT_TRUE(frames.wait_for("good", 1, 5s));
  std::size_t before = frames.count("good");
  std::this_thread::sleep_for(1500ms);
  EXPECT_GE(frames.count("good") - before, 20u);
  EXPECT_EQ(state_of(manager, "good"), "online");
  EXPECT_EQ(state_of(manager, "garbage"), "error");
  EXPECT_EQ(state_of(manager, "missing"), "error");
  EXPECT_NE(state_of(manager, "refused"), "online");
}

TEST(SupervisorTest, RemoveStopsPromptly) {
  ASSERT_NE(fake_camera().port, 0);
  IngestOptions o = fast_options();
  o.read_timeout_ms = 10'000;  // a request in flight to /slow would hang this long
  FrameCollector frames;
  CameraManager manager(o, frames.sink());
  argus::testing::TempDir tmp;
  manager.upsert(make_camera("slow", SourceKind::kSnapshot, fake_camera().url("/slow")));
  manager.upsert(make_camera("mjpeg", SourceKind::kMjpeg, fake_camera().url("/mjpeg")));
  manager.upsert(make_camera("file", SourceKind::kFile, "file://" + media().avi));
  manager.upsert(make_camera("folder", SourceKind::kFolder, "file://" + tmp.path().string()));
  manager.upsert(make_camera("push", SourceKind::kPush, ""));
  manager.upsert(make_camera("refused", SourceKind::kSnapshot, closed_port_url("/x.jpg")));
  ASSERT_TRUE(frames.wait_for("mjpeg", 1, 5s));
  ASSERT_TRUE(frames.wait_for("file", 1, 5s));
  std::this_thread::sleep_for(300ms);  // the /slow request is in flight

  for (const char* id : {"slow", "mjpeg", "file", "folder", "push", "refused"}) {
    auto start = Clock::now();
    manager.remove(id);
    auto took = Clock::now() - start;
    EXPECT_LT(took, 2s) << id;
    EXPECT_LT(took, 1s) << id << " (should be ~100 ms)";
    EXPECT_FALSE(manager.status(id)) << id;
  }
  std::size_t after = frames.count("mjpeg");
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(frames.count("mjpeg"), after) << "no frames after remove()";
  manager.remove("never-existed");
}

TEST(SupervisorTest, UpsertRestartsOnlyWhenTheSourceChanges) {
  ASSERT_NE(fake_camera().port, 0);
  FrameCollector frames;
  CameraManager manager(fast_options(), frames.sink());
  Camera cam = make_camera("cam", SourceKind::kMjpeg, fake_camera().url("/mjpeg?interval=40"));
  manager.upsert(cam);
  ASSERT_TRUE(frames.wait_for("cam", 5, 5s));

  // Name, detection settings, zones: the pipeline's business, not a reason to reconnect.
  cam.name = "Renamed";
  cam.detection.fps = 1;
  manager.upsert(cam);
  std::size_t n = frames.count("cam");
  ASSERT_TRUE(frames.wait_for("cam", n + 5, 5s));
  for (std::size_t i = 0; i < frames.count("cam"); ++i) EXPECT_EQ(frames.frames("cam")[i]->seq, i);

  // A new URL restarts the source: seq starts again from 0 and the status is fresh.
  cam.source = {SourceKind::kSnapshot, fake_camera().url("/snapshot.jpg"), 100};
  auto rev = manager.status_revision();
  manager.upsert(cam);
  EXPECT_GT(manager.status_revision(), rev);
  n = frames.count("cam");
  ASSERT_TRUE(frames.wait_for("cam", n + 1, 5s));
  EXPECT_EQ(frames.frames("cam")[n]->seq, 0u);
  EXPECT_LE(manager.status("cam")->frames_in, frames.count("cam") - n);
}

TEST(SupervisorTest, DisabledCameraHasNoThreadAndCanBeEnabled) {
  FrameCollector frames;
  CameraManager manager(fast_options(), frames.sink());
  Camera cam = make_camera("cam", SourceKind::kFile, "file://" + media().avi);
  cam.enabled = false;
  manager.upsert(cam);
  auto st = manager.status("cam");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state, SourceState::kDisabled);
  EXPECT_EQ(st->reason, "camera is disabled");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(frames.count("cam"), 0u);

  cam.enabled = true;
  manager.upsert(cam);
  EXPECT_TRUE(frames.wait_for("cam", 1, 5s));
  EXPECT_EQ(state_of(manager, "cam"), "online");
  EXPECT_FALSE(manager.status("other"));
}

TEST(SupervisorTest, RevisionChangesWithStateNotWithFrames) {
  FrameCollector frames;
  CameraManager manager(fast_options(), frames.sink());
  auto r0 = manager.status_revision();
  manager.upsert(make_camera("cam", SourceKind::kFile, "file://" + media().avi));
  ASSERT_TRUE(wait_until([&] { return state_of(manager, "cam") == "online"; }, 5s));
  auto r1 = manager.status_revision();
  EXPECT_GT(r1, r0);
  ASSERT_TRUE(frames.wait_for("cam", 8, 5s));
  EXPECT_EQ(manager.status_revision(), r1) << "frames alone must not bump the revision";
  manager.remove("cam");
  EXPECT_GT(manager.status_revision(), r1);
}

TEST(SupervisorTest, MetricsCountFramesAndUp) {
  metrics::Registry registry;
  IngestOptions o = fast_options();
  o.metrics = &registry;
  FrameCollector frames;
  {
    CameraManager manager(o, frames.sink());
    manager.upsert(make_camera("cam", SourceKind::kFile, "file://" + media().avi));
    ASSERT_TRUE(frames.wait_for("cam", 5, 5s));
    std::string text = registry.expose();
    EXPECT_NE(text.find("argus_camera_up{camera=\"cam\"} 1"), std::string::npos) << text;
    EXPECT_NE(text.find("argus_camera_frames_in_total{camera=\"cam\"}"), std::string::npos) << text;
    EXPECT_GE(registry.counter("argus_camera_frames_in_total", "", {{"camera", "cam"}}).value(), 5);
  }  // the destructor stops everything
  EXPECT_EQ(registry.gauge("argus_camera_up", "", {{"camera", "cam"}}).value(), 0);
}

TEST(SupervisorTest, ThrowingSinkDoesNotStopTheCamera) {
  std::atomic<int> calls{0};
  CameraManager manager(fast_options(), [&](const vision::FramePtr&) {
    ++calls;
    throw std::runtime_error("sink bug");
  });
  manager.upsert(make_camera("cam", SourceKind::kFile, "file://" + media().avi));
  EXPECT_TRUE(wait_until([&] { return calls.load() >= 5; }, 5s));
  EXPECT_EQ(state_of(manager, "cam"), "online");
}

TEST(SupervisorTest, StopAllStopsEverythingAndIsRepeatable) {
  ASSERT_NE(fake_camera().port, 0);
  FrameCollector frames;
  CameraManager manager(fast_options(), frames.sink());
  for (int i = 0; i < 6; ++i) {
    manager.upsert(make_camera("m" + std::to_string(i), SourceKind::kMjpeg, fake_camera().url("/mjpeg")));
    manager.upsert(make_camera("r" + std::to_string(i), SourceKind::kStream, closed_port_url("/live.ts")));
  }
  ASSERT_TRUE(frames.wait_for("m5", 1, 5s));
  auto start = Clock::now();
  manager.stop_all();
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_FALSE(manager.status("m0"));
  manager.stop_all();
  // Usable again afterwards.
  manager.upsert(make_camera("again", SourceKind::kFile, "file://" + media().avi));
  EXPECT_TRUE(frames.wait_for("again", 1, 5s));
}

}  // namespace
}  // namespace argus::ingest
