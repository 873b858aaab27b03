#include "core/camera.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace argus {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

json valid_doc() {
  return json::parse(R"({
    "id": "front-door",
    "name": "Front door",
    "source": {"kind": "stream", "url": "rtsp://admin:secret@192.168.1.10:554/stream1"},
    "enabled": false,
    "detection": {"fps": 2.5, "labels": ["person", "car"], "min_score": 0.6},
    "zones": [
      {"name": "porch", "polygon": [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]},
      {"name": "drive_way", "polygon": [[0, 0], [1, 0], [0.5, 1]]}
    ],
    "lines": [
      {"name": "gate", "points": [[0, 0.5], [1, 0.5]], "in": "right"},
      {"name": "door", "points": [[0.2, 0.2], [0.2, 0.8]]}
    ]
  })");
}

struct Parsed {
  Camera camera;
  FieldErrors errors;
};

Parsed parse(const json& doc, bool allow_read_only = false, const std::string& prefix = "") {
  Parsed p;
  camera_from_json(doc, p.camera, p.errors, allow_read_only, prefix);
  return p;
}

std::vector<std::string> pointers(const json& doc) {
  std::vector<std::string> out;
  for (const auto& e : parse(doc).errors) out.push_back(e.pointer);
  return out;
}

std::string describe(const FieldErrors& errors) {
  std::string out;
  for (const auto& e : errors) out += "\n  " + e.pointer + ": " + e.detail;
  return out;
}

// Returns the single error's detail, failing the test if there is not exactly one error at
// `pointer`.
std::string expect_single_error(const json& doc, const std::string& pointer) {
  Parsed p = parse(doc);
  EXPECT_EQ(p.errors.size(), 1u) << "for " << doc.dump() << describe(p.errors);
  if (p.errors.size() != 1) return "";
  EXPECT_EQ(p.errors[0].pointer, pointer) << doc.dump() << describe(p.errors);
  EXPECT_FALSE(p.errors[0].detail.empty());
  return p.errors[0].detail;
}

TEST(CameraParseTest, FullValidCameraParsesIntoExpectedStruct) {
  Parsed p = parse(valid_doc());
  ASSERT_TRUE(p.errors.empty()) << describe(p.errors);
  const Camera& c = p.camera;
  EXPECT_EQ(c.id, "front-door");
  EXPECT_EQ(c.name, "Front door");
  EXPECT_EQ(c.source.kind, SourceKind::kStream);
  EXPECT_EQ(c.source.url, "rtsp://admin:secret@192.168.1.10:554/stream1");
  EXPECT_EQ(c.source.interval_ms, 1000);
  EXPECT_FALSE(c.enabled);
  EXPECT_DOUBLE_EQ(c.detection.fps, 2.5);
  EXPECT_THAT(c.detection.labels, ElementsAre("person", "car"));
  EXPECT_DOUBLE_EQ(c.detection.min_score, 0.6);
  ASSERT_EQ(c.zones.size(), 2u);
  EXPECT_EQ(c.zones[0].name, "porch");
  EXPECT_THAT(c.zones[0].polygon, ElementsAre(Point{0.1, 0.1}, Point{0.9, 0.1}, Point{0.9, 0.9}, Point{0.1, 0.9}));
  EXPECT_EQ(c.zones[1].name, "drive_way");
  EXPECT_THAT(c.zones[1].polygon, ElementsAre(Point{0, 0}, Point{1, 0}, Point{0.5, 1}));
  ASSERT_EQ(c.lines.size(), 2u);
  EXPECT_EQ(c.lines[0], (Line{"gate", {0, 0.5}, {1, 0.5}, LineSide::kRight}));
  EXPECT_EQ(c.lines[1], (Line{"door", {0.2, 0.2}, {0.2, 0.8}, LineSide::kLeft})) << "in defaults to left";
  EXPECT_EQ(c.created_at, 0);
  EXPECT_EQ(c.version, 0);
}

TEST(CameraParseTest, MinimalCameraGetsDefaults) {
  Parsed p = parse(json{{"id", "cam1"}, {"source", {{"url", "rtsp://cam.local/live"}}}});
  ASSERT_TRUE(p.errors.empty()) << describe(p.errors);
  const Camera& c = p.camera;
  EXPECT_EQ(c.id, "cam1");
  EXPECT_EQ(c.name, "cam1") << "name defaults to the id";
  EXPECT_EQ(c.source.kind, SourceKind::kStream) << "kind inferred from rtsp://";
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.detection, DetectionSettings{});
  EXPECT_THAT(c.detection.labels, ElementsAre("person"));
  EXPECT_TRUE(c.zones.empty());
  EXPECT_TRUE(c.lines.empty());
}

TEST(CameraParseTest, CameraToJsonRoundTrips) {
  Parsed p = parse(valid_doc());
  ASSERT_TRUE(p.errors.empty()) << describe(p.errors);
  json j = camera_to_json(p.camera, {.mask_credentials = false, .include_meta = false});
  EXPECT_EQ(j["source"]["url"], "rtsp://admin:secret@192.168.1.10:554/stream1");
  EXPECT_FALSE(j.contains("created_at"));
  Parsed again = parse(j);
  ASSERT_TRUE(again.errors.empty()) << j.dump() << describe(again.errors);
  EXPECT_EQ(again.camera, p.camera);
  // And through text, as the API sends it.
  Parsed text = parse(json::parse(j.dump()));
  ASSERT_TRUE(text.errors.empty());
  EXPECT_EQ(text.camera, p.camera);
}

TEST(CameraParseTest, EverySourceKindRoundTrips) {
  const json sources[] = {
      {{"kind", "stream"}, {"url", "https://cam.example.com:8443/live.m3u8"}},
      {{"kind", "mjpeg"}, {"url", "http://cam.local/video.cgi"}},
      {{"kind", "snapshot"}, {"url", "http://cam.local/snap.jpg"}, {"interval", 2.5}},
      {{"kind", "folder"}, {"url", "file:///var/drop/cam1"}},
      {{"kind", "file"}, {"url", "file:///videos/a.mp4"}},
      {{"kind", "push"}},
  };
  for (const auto& src : sources) {
    SCOPED_TRACE(src.dump());
    Parsed p = parse(json{{"id", "c"}, {"source", src}});
    ASSERT_TRUE(p.errors.empty()) << describe(p.errors);
    json j = camera_to_json(p.camera, {.mask_credentials = false, .include_meta = false});
    EXPECT_EQ(j["source"]["kind"], src["kind"]);
    Parsed again = parse(j);
    ASSERT_TRUE(again.errors.empty()) << j.dump() << describe(again.errors);
    EXPECT_EQ(again.camera, p.camera);
  }
}

TEST(CameraParseTest, SnapshotIntervalIsStoredInMilliseconds) {
  Parsed p =
      parse(json::parse(R"({"id": "c", "source": {"kind": "snapshot", "url": "http://c/s.jpg", "interval": "2s"}})"));
  ASSERT_TRUE(p.errors.empty()) << describe(p.errors);
  EXPECT_EQ(p.camera.source.kind, SourceKind::kSnapshot);
  EXPECT_EQ(p.camera.source.interval_ms, 2000);
  json j = camera_to_json(p.camera);
  EXPECT_EQ(j["source"]["interval"], 2.0) << "emitted in seconds";
}

TEST(CameraToJsonTest, ShapeMaskingAndMeta) {
  Parsed p = parse(valid_doc());
  ASSERT_TRUE(p.errors.empty());
  p.camera.created_at = 1709210096789;
  p.camera.updated_at = 1709210096790;
  json j = camera_to_json(p.camera);  // defaults: masked, with meta
  EXPECT_EQ(j["id"], "front-door");
  EXPECT_EQ(j["name"], "Front door");
  EXPECT_EQ(j["enabled"], false);
  EXPECT_EQ(j["source"], (json{{"kind", "stream"}, {"url", "rtsp://admin:***@192.168.1.10:554/stream1"}}));
  EXPECT_EQ(j["detection"]["fps"], 2.5);
  EXPECT_EQ(j["detection"]["labels"], (json{"person", "car"}));
  EXPECT_EQ(j["zones"][0]["polygon"][2], (json{0.9, 0.9}));
  EXPECT_EQ(j["lines"][0]["in"], "right");
  EXPECT_EQ(j["lines"][1]["in"], "left");
  EXPECT_EQ(j["created_at"], "2024-02-29T12:34:56.789Z");
  EXPECT_EQ(j["updated_at"], "2024-02-29T12:34:56.790Z");
  EXPECT_FALSE(j.contains("version"));
  EXPECT_FALSE(j.contains("status"));
  EXPECT_EQ(j.dump().find("secret"), std::string::npos) << "password must not leak";

  Camera push;
  push.id = "p";
  push.source.kind = SourceKind::kPush;
  json pj = camera_to_json(push);
  EXPECT_EQ(pj["source"], (json{{"kind", "push"}})) << "push has no url";
}

TEST(CameraParseTest, ReadOnlyMembersRejectedUnlessAllowed) {
  Parsed p = parse(valid_doc());
  ASSERT_TRUE(p.errors.empty());
  json with_meta = camera_to_json(p.camera, {.mask_credentials = false, .include_meta = true});
  with_meta["status"] = "online";
  with_meta["version"] = 3;
  Parsed rejected = parse(with_meta);
  std::vector<std::string> ptrs;
  for (const auto& e : rejected.errors) {
    ptrs.push_back(e.pointer);
    EXPECT_THAT(e.detail, HasSubstr("read-only"));
  }
  EXPECT_THAT(ptrs, ::testing::UnorderedElementsAre("/created_at", "/updated_at", "/status", "/version"));

  Parsed allowed = parse(with_meta, /*allow_read_only=*/true);
  ASSERT_TRUE(allowed.errors.empty()) << describe(allowed.errors);
  EXPECT_EQ(allowed.camera, p.camera) << "read-only members are ignored, not applied";
}

TEST(CameraValidationTest, ReadOnlyCreatedAt) {
  json d = valid_doc();
  d["created_at"] = "2024-01-01T00:00:00Z";
  EXPECT_THAT(expect_single_error(d, "/created_at"), HasSubstr("read-only"));
}

TEST(CameraValidationTest, UnknownMember) {
  json d = valid_doc();
  d["foo"] = 1;
  std::string detail = expect_single_error(d, "/foo");
  EXPECT_THAT(detail, HasSubstr("unknown member"));
  EXPECT_THAT(detail, HasSubstr("id, name, source, enabled, detection, zones, lines"));
  // Member names are escaped in the pointer (RFC 6901).
  json e = valid_doc();
  e["a/b~c"] = 1;
  expect_single_error(e, "/a~1b~0c");
  // Unknown members inside nested objects too.
  json f = valid_doc();
  f["zones"][1]["colour"] = "red";
  expect_single_error(f, "/zones/1/colour");
  json g = valid_doc();
  g["detection"]["threshold"] = 1;
  expect_single_error(g, "/detection/threshold");
  json h = valid_doc();
  h["source"]["user"] = "x";
  expect_single_error(h, "/source/user");
  json i = valid_doc();
  i["lines"][0]["direction"] = "in";
  expect_single_error(i, "/lines/0/direction");
}

TEST(CameraValidationTest, Id) {
  json d = valid_doc();
  d.erase("id");
  EXPECT_THAT(expect_single_error(d, "/id"), HasSubstr("required"));
  for (const json& bad : {json("Front Door"), json(""), json(42), json("-x"), json(std::string(65, 'a'))}) {
    json e = valid_doc();
    e["id"] = bad;
    expect_single_error(e, "/id");
  }
}

TEST(CameraValidationTest, NameAndEnabled) {
  for (const json& bad : {json(""), json(5), json(std::string(101, 'n')), json("tab\there")}) {
    json d = valid_doc();
    d["name"] = bad;
    expect_single_error(d, "/name");
  }
  json ok = valid_doc();
  ok["name"] = std::string(100, 'n');
  EXPECT_TRUE(pointers(ok).empty());
  json e = valid_doc();
  e["enabled"] = "yes";
  expect_single_error(e, "/enabled");
}

TEST(CameraValidationTest, NotAnObject) {
  Parsed p = parse(json::array());
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0].pointer, "");
  EXPECT_THAT(p.errors[0].detail, HasSubstr("array"));
  Parsed q = parse(json("cam"), false, "/cameras/2");
  ASSERT_EQ(q.errors.size(), 1u);
  EXPECT_EQ(q.errors[0].pointer, "/cameras/2");
}

TEST(CameraValidationTest, PointerPrefixIsPrepended) {
  json d = valid_doc();
  d["detection"]["fps"] = 0;
  d["zones"][0]["polygon"][2][1] = 2;
  Parsed p = parse(d, false, "/cameras/3");
  std::vector<std::string> ptrs;
  for (const auto& e : p.errors) ptrs.push_back(e.pointer);
  EXPECT_THAT(ptrs, ::testing::UnorderedElementsAre("/cameras/3/detection/fps", "/cameras/3/zones/0/polygon/2/1"));
}

TEST(CameraValidationTest, PolygonWithFewerThanThreePoints) {
  json d = valid_doc();
  d["zones"][0]["polygon"] = json::parse("[[0, 0], [1, 1]]");
  EXPECT_THAT(expect_single_error(d, "/zones/0/polygon"), HasSubstr("3 to 64 points"));
  json e = valid_doc();
  e["zones"][0].erase("polygon");
  expect_single_error(e, "/zones/0/polygon");
  json f = valid_doc();
  f["zones"][0]["polygon"] = "square";
  expect_single_error(f, "/zones/0/polygon");
  json g = valid_doc();
  g["zones"][0]["polygon"] = json::array();
  for (int i = 0; i < 65; ++i) g["zones"][0]["polygon"].push_back({i / 64.0, (i % 2) * 0.5});
  expect_single_error(g, "/zones/0/polygon");
}

TEST(CameraValidationTest, PolygonPointOutsideUnitSquare) {
  json d = valid_doc();
  d["zones"][0]["polygon"][2][1] = 1.5;
  EXPECT_THAT(expect_single_error(d, "/zones/0/polygon/2/1"), HasSubstr("between 0 and 1"));
  json e = valid_doc();
  e["zones"][1]["polygon"][0][0] = -0.01;
  expect_single_error(e, "/zones/1/polygon/0/0");
  json f = valid_doc();
  f["zones"][0]["polygon"][3][0] = "0.5";
  expect_single_error(f, "/zones/0/polygon/3/0");
  // Not a pair at all: the pointer is the point itself.
  json g = valid_doc();
  g["zones"][0]["polygon"][1] = json::parse("[0.5, 0.5, 0.5]");
  expect_single_error(g, "/zones/0/polygon/1");
  json h = valid_doc();
  h["zones"][0]["polygon"][1] = json::object();
  expect_single_error(h, "/zones/0/polygon/1");
  // Boundaries are inside.
  json ok = valid_doc();
  ok["zones"][0]["polygon"] = json::parse("[[0, 0], [1, 0], [1, 1], [0, 1]]");
  EXPECT_TRUE(pointers(ok).empty());
}

TEST(CameraValidationTest, CollinearPolygon) {
  json d = valid_doc();
  d["zones"][0]["polygon"] = json::parse("[[0, 0], [0.5, 0.5], [1, 1]]");
  EXPECT_THAT(expect_single_error(d, "/zones/0/polygon"), HasSubstr("collinear"));
  json e = valid_doc();
  e["zones"][1]["polygon"] = json::parse("[[0.3, 0.3], [0.3, 0.3], [0.3, 0.3], [0.3, 0.3]]");
  expect_single_error(e, "/zones/1/polygon");
}

TEST(CameraValidationTest, ZoneNames) {
  json d = valid_doc();
  d["zones"][1]["name"] = "porch";
  EXPECT_THAT(expect_single_error(d, "/zones/1/name"), HasSubstr("duplicates"));
  json e = valid_doc();
  e["zones"][0]["name"] = "Porch!";
  expect_single_error(e, "/zones/0/name");
  json f = valid_doc();
  f["zones"][0].erase("name");
  EXPECT_THAT(expect_single_error(f, "/zones/0/name"), HasSubstr("required"));
  json g = valid_doc();
  g["zones"] = json::object();
  expect_single_error(g, "/zones");
  json h = valid_doc();
  h["zones"][1] = "x";
  expect_single_error(h, "/zones/1");
}

TEST(CameraValidationTest, LineSide) {
  json d = valid_doc();
  d["lines"][0]["in"] = "up";
  EXPECT_THAT(expect_single_error(d, "/lines/0/in"), HasSubstr("\"left\" or \"right\""));
  json e = valid_doc();
  e["lines"][1]["in"] = 1;
  expect_single_error(e, "/lines/1/in");
}

TEST(CameraValidationTest, LinePoints) {
  json d = valid_doc();
  d["lines"][1]["points"] = json::parse("[[0.2, 0.2], [0.2, 0.2]]");
  EXPECT_THAT(expect_single_error(d, "/lines/1/points"), HasSubstr("differ"));
  json e = valid_doc();
  e["lines"][0]["points"] = json::parse("[[0, 0], [1, 1], [0, 1]]");
  expect_single_error(e, "/lines/0/points");
  json f = valid_doc();
  f["lines"][0].erase("points");
  expect_single_error(f, "/lines/0/points");
  json g = valid_doc();
  g["lines"][0]["points"][1][0] = 1.01;
  expect_single_error(g, "/lines/0/points/1/0");
  json h = valid_doc();
  h["lines"][1]["name"] = "gate";
  expect_single_error(h, "/lines/1/name");
  json i = valid_doc();
  i["lines"] = "gate";
  expect_single_error(i, "/lines");
}

TEST(CameraValidationTest, DetectionFps) {
  for (const json& bad : {json(0), json(61), json(0.09), json(-1), json("5"), json(nullptr)}) {
    json d = valid_doc();
    d["detection"]["fps"] = bad;
    EXPECT_THAT(expect_single_error(d, "/detection/fps"), HasSubstr("0.1 and 60"));
  }
  for (double good : {0.1, 1.0, 60.0}) {
    json d = valid_doc();
    d["detection"]["fps"] = good;
    Parsed p = parse(d);
    ASSERT_TRUE(p.errors.empty()) << good;
    EXPECT_DOUBLE_EQ(p.camera.detection.fps, good);
  }
}

TEST(CameraValidationTest, DetectionMinScore) {
  for (const json& bad : {json(1.5), json(-0.1), json("0.5")}) {
    json d = valid_doc();
    d["detection"]["min_score"] = bad;
    EXPECT_THAT(expect_single_error(d, "/detection/min_score"), HasSubstr("between 0 and 1"));
  }
  for (double good : {0.0, 1.0}) {
    json d = valid_doc();
    d["detection"]["min_score"] = good;
    EXPECT_TRUE(pointers(d).empty()) << good;
  }
  json e = valid_doc();
  e["detection"] = 5;
  expect_single_error(e, "/detection");
}

TEST(CameraValidationTest, DetectionLabels) {
  json d = valid_doc();
  d["detection"]["labels"] = json::parse(R"(["person", "Car"])");
  EXPECT_THAT(expect_single_error(d, "/detection/labels/1"), HasSubstr("lowercase"));
  json e = valid_doc();
  e["detection"]["labels"] = json::array();
  expect_single_error(e, "/detection/labels");
  json f = valid_doc();
  f["detection"]["labels"] = "person";
  expect_single_error(f, "/detection/labels");
  json g = valid_doc();
  g["detection"]["labels"] = json::parse(R"(["person", "car", "person"])");
  EXPECT_THAT(expect_single_error(g, "/detection/labels/2"), HasSubstr("duplicates"));
  json h = valid_doc();
  h["detection"]["labels"] = json::parse(R"([7])");
  expect_single_error(h, "/detection/labels/0");
  json i = valid_doc();
  i["detection"]["labels"] = json::array({std::string(33, 'a')});
  expect_single_error(i, "/detection/labels/0");
  json j = valid_doc();
  j["detection"]["labels"] = json::array();
  for (int k = 0; k < 33; ++k) j["detection"]["labels"].push_back("l" + std::to_string(k));
  expect_single_error(j, "/detection/labels");
  json ok = valid_doc();
  ok["detection"]["labels"] = json::parse(R"(["traffic light", "stop_sign", "t-shirt", "a1"])");
  Parsed p = parse(ok);
  ASSERT_TRUE(p.errors.empty()) << describe(p.errors);
  EXPECT_THAT(p.camera.detection.labels, ElementsAre("traffic light", "stop_sign", "t-shirt", "a1"));
}

json with_source(const json& source) {
  json d = valid_doc();
  d["source"] = source;
  return d;
}

TEST(CameraValidationTest, SchemeMustMatchKind) {
  struct Case {
    const char* kind;
    const char* url;
  };
  const Case bad[] = {
      {"mjpeg", "rtsp://cam/x"},      {"snapshot", "rtsp://cam/x"}, {"snapshot", "file:///x.jpg"},
      {"stream", "file:///videos/a"}, {"stream", "ftp://cam/x"},    {"file", "http://cam/a.mp4"},
      {"folder", "rtsp://cam/x"},     {"mjpeg", "ws://cam/x"},      {"stream", "cam.local/live"},
  };
  for (const auto& c : bad) {
    SCOPED_TRACE(std::string(c.kind) + " " + c.url);
    std::string detail = expect_single_error(with_source({{"kind", c.kind}, {"url", c.url}}), "/source/url");
    EXPECT_THAT(detail, HasSubstr("scheme must be one of"));
    EXPECT_THAT(detail, HasSubstr(std::string("for a ") + c.kind + " source"));
  }
  const Case good[] = {
      {"stream", "rtsp://cam/x"},  {"stream", "rtsps://cam/x"}, {"stream", "http://cam/x"},
      {"stream", "https://cam/x"}, {"mjpeg", "https://cam/x"},  {"snapshot", "http://cam/x"},
      {"folder", "file:///drop"},  {"file", "file:///a.mp4"},   {"stream", "RTSP://cam/x"},
  };
  for (const auto& c : good) {
    SCOPED_TRACE(std::string(c.kind) + " " + c.url);
    EXPECT_TRUE(pointers(with_source({{"kind", c.kind}, {"url", c.url}})).empty());
  }
}

TEST(CameraValidationTest, FileUrlMustBeAbsolute) {
  for (const char* url : {"file://videos/a.mp4", "file://", "file://./a.mp4"}) {
    EXPECT_THAT(expect_single_error(with_source({{"kind", "file"}, {"url", url}}), "/source/url"),
                HasSubstr("file:///absolute/path"))
        << url;
  }
  // Kind inferred from the scheme.
  Parsed p = parse(with_source({{"url", "file:///videos/a.mp4"}}));
  ASSERT_TRUE(p.errors.empty()) << describe(p.errors);
  EXPECT_EQ(p.camera.source.kind, SourceKind::kFile);
}

TEST(CameraValidationTest, NetworkUrlSyntax) {
  const char* bad[] = {
      "rtsp://cam.local:99999/x",
      "rtsp://cam.local:0/x",
      "rtsp://cam.local:abc/x",
      "rtsp://cam.local:123456/",
      "rtsp:///x",
      "rtsp://user:pw@/x",
      "rtsp://[fe80::1/x",
      "rtsp://[fe80::1]x/y",
      "rtsp://ca$m/x",
      "http://cam.local:-1/",
      "rtsp://cam local/x",
      "rtsp://cam\x01/x",
  };
  for (const char* url : bad) {
    expect_single_error(with_source({{"url", url}}), "/source/url");
  }
  EXPECT_THAT(expect_single_error(with_source({{"url", "rtsp://cam:99999/x"}}), "/source/url"), HasSubstr("port"));
  const char* good[] = {"rtsp://cam.local:554/x", "rtsp://u:p@10.0.0.1:65535/a?b=c#d", "rtsp://[fe80::1]:554/x",
                        "http://cam_1.local", "https://cam:1/"};
  for (const char* url : good) {
    EXPECT_TRUE(pointers(with_source({{"url", url}})).empty()) << url;
  }
  json long_url = with_source({{"url", "http://cam/" + std::string(2048, 'a')}});
  EXPECT_THAT(expect_single_error(long_url, "/source/url"), HasSubstr("2048"));
}

TEST(CameraValidationTest, PushSource) {
  Parsed p = parse(with_source({{"kind", "push"}}));
  ASSERT_TRUE(p.errors.empty()) << describe(p.errors);
  EXPECT_EQ(p.camera.source.kind, SourceKind::kPush);
  EXPECT_EQ(p.camera.source.url, "");
  EXPECT_THAT(expect_single_error(with_source({{"kind", "push"}, {"url", "http://cam/x"}}), "/source/url"),
              HasSubstr("absent"));
}

TEST(CameraValidationTest, SourceShape) {
  json d = valid_doc();
  d.erase("source");
  expect_single_error(d, "/source");
  expect_single_error(with_source(json::object()), "/source/url");
  expect_single_error(with_source({{"kind", "mjpeg"}}), "/source/url");
  expect_single_error(with_source({{"kind", "webrtc"}, {"url", "http://cam/x"}}), "/source/kind");
  expect_single_error(with_source({{"kind", 3}, {"url", "http://cam/x"}}), "/source/kind");
  expect_single_error(with_source({{"url", 3}}), "/source/url");
  expect_single_error(with_source(42), "/source");
  expect_single_error(with_source(json::array({"rtsp://cam/x"})), "/source");
}

TEST(CameraValidationTest, SourceAsPlainString) {
  Parsed p = parse(with_source("rtsp://cam.local/live"));
  ASSERT_TRUE(p.errors.empty()) << describe(p.errors);
  EXPECT_EQ(p.camera.source.kind, SourceKind::kStream);
  EXPECT_EQ(p.camera.source.url, "rtsp://cam.local/live");
  Parsed f = parse(with_source("file:///videos/a.mp4"));
  ASSERT_TRUE(f.errors.empty()) << describe(f.errors);
  EXPECT_EQ(f.camera.source.kind, SourceKind::kFile);
  // The string has no "url" member, so its problems point at /source itself.
  expect_single_error(with_source("ftp://cam/x"), "/source");
  expect_single_error(with_source("rtsp://cam:70000/x"), "/source");
  expect_single_error(with_source(""), "/source");
}

TEST(CameraValidationTest, SnapshotIntervalBounds) {
  auto snap = [](const json& interval) {
    return with_source({{"kind", "snapshot"}, {"url", "http://cam/snap.jpg"}, {"interval", interval}});
  };
  for (const json& bad :
       {json(0.05), json(0), json(3601), json(-1), json("50ms"), json("2h"), json("abc"), json(true), json(1e300)}) {
    EXPECT_THAT(expect_single_error(snap(bad), "/source/interval"), HasSubstr("100ms and 1h")) << bad.dump();
  }
  const std::pair<json, std::int64_t> good[] = {{json(0.1), 100},        {json(3600), 3'600'000}, {json("100ms"), 100},
                                                {json("1h"), 3'600'000}, {json("2s"), 2000},      {json(1.5), 1500},
                                                {json("1.5m"), 90'000}};
  for (const auto& [v, ms] : good) {
    Parsed p = parse(snap(v));
    ASSERT_TRUE(p.errors.empty()) << v.dump() << describe(p.errors);
    EXPECT_EQ(p.camera.source.interval_ms, ms) << v.dump();
  }
}

TEST(CameraValidationTest, AllProblemsReportedTogether) {
  json d = valid_doc();
  d["id"] = "Bad Id";
  d["foo"] = 1;
  d["detection"]["fps"] = 61;
  d["detection"]["min_score"] = 1.5;
  d["zones"][0]["polygon"][2][1] = 1.5;
  d["lines"][1]["points"] = json::parse("[[0.2, 0.2], [0.2, 0.2]]");
  d["source"] = {{"kind", "mjpeg"}, {"url", "rtsp://cam/x"}};
  EXPECT_THAT(pointers(d), ::testing::UnorderedElementsAre("/id", "/foo", "/detection/fps", "/detection/min_score",
                                                           "/zones/0/polygon/2/1", "/lines/1/points", "/source/url"));
}

TEST(MaskUrlTest, MasksOnlyThePassword) {
  EXPECT_EQ(mask_url_credentials("rtsp://user:secret@host/x"), "rtsp://user:***@host/x");
  EXPECT_EQ(mask_url_credentials("rtsp://user:secret@host:554/x"), "rtsp://user:***@host:554/x");
  EXPECT_EQ(mask_url_credentials("rtsp://user:secret@host"), "rtsp://user:***@host");
  EXPECT_EQ(mask_url_credentials("rtsp://user:s:e:c@host/x"), "rtsp://user:***@host/x");
  EXPECT_EQ(mask_url_credentials("rtsp://user:p@ss@host/x"), "rtsp://user:***@host/x")
      << "an unencoded '@' in the password";
  EXPECT_EQ(mask_url_credentials("http://u:p@host/a@b"), "http://u:***@host/a@b");
  EXPECT_EQ(mask_url_credentials("rtsp://:secret@host/x"), "rtsp://:***@host/x");
}

TEST(MaskUrlTest, LeavesUrlsWithoutPasswordUnchanged) {
  for (const char* url : {"rtsp://user@host/x",      // user only
                          "rtsp://user@host:554/x",  // user only, with a port
                          "rtsp://host:554/x",       // no credentials
                          "http://host/path@x",      // '@' in the path
                          "http://host:8080/a:b@c",  // ':' and '@' in the path
                          "http://host/?q=a:b@c",    // in the query
                          "http://host#a:b@c",       // in the fragment
                          "file:///videos/a@b.mp4",  // file URL
                          "user:pass@host",          // not a URL
                          ""}) {
    EXPECT_EQ(mask_url_credentials(url), url);
  }
}

TEST(MaskUrlTest, UnmaskRestoresStoredPasswordOnlyForTheMaskedForm) {
  const std::string stored = "rtsp://user:secret@host/x";
  EXPECT_EQ(unmask_url("rtsp://user:***@host/x", stored), stored);
  EXPECT_EQ(unmask_url(stored, stored), stored);
  EXPECT_EQ(unmask_url("rtsp://user:new@host/x", stored), "rtsp://user:new@host/x");
  // A masked URL pointing elsewhere must not pick up the stored password.
  EXPECT_EQ(unmask_url("rtsp://user:***@other/x", stored), "rtsp://user:***@other/x");
  EXPECT_EQ(unmask_url("rtsp://other:***@host/x", stored), "rtsp://other:***@host/x");
  // Without a stored password nothing changes.
  EXPECT_EQ(unmask_url("rtsp://host/y", "rtsp://host/x"), "rtsp://host/y");
  EXPECT_EQ(unmask_url("rtsp://user@host/x", "rtsp://user@host/x"), "rtsp://user@host/x");
}

TEST(SourceKindTest, Names) {
  EXPECT_EQ(source_kind_name(SourceKind::kStream), "stream");
  EXPECT_EQ(source_kind_name(SourceKind::kMjpeg), "mjpeg");
  EXPECT_EQ(source_kind_name(SourceKind::kSnapshot), "snapshot");
  EXPECT_EQ(source_kind_name(SourceKind::kFolder), "folder");
  EXPECT_EQ(source_kind_name(SourceKind::kFile), "file");
  EXPECT_EQ(source_kind_name(SourceKind::kPush), "push");
}

TEST(JsonPointerTest, Escape) {
  EXPECT_EQ(json_pointer_escape("plain"), "plain");
  EXPECT_EQ(json_pointer_escape("a/b"), "a~1b");
  EXPECT_EQ(json_pointer_escape("a~b"), "a~0b");
  EXPECT_EQ(json_pointer_escape("~/"), "~0~1");
  EXPECT_EQ(json_pointer_escape(""), "");
}

}  // namespace
}  // namespace argus
