// The MQTT bridge against a real Mosquitto broker on loopback, fed through the real
// in-process bus with messages shaped exactly as the pipeline and the API publish them,
// over a real SQLite store. A real libmosquitto subscriber checks topics, payloads and
// retained flags.
#include "alerts/mqtt_bridge.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <set>
#include <thread>

#include "alerts/mqtt_client.h"
#include "alerts/mqtt_test_util.h"
#include "bus/bus.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "pipeline/processor.h"
#include "store/store.h"
#include "testing/testing.h"

namespace argus::alerts {
namespace {

using Json = nlohmann::json;
using ::testing::HasSubstr;
using testing::MqttMessage;

Camera make_camera(const std::string& id) {
  Camera c;
  c.id = id;
  c.name = "Front " + id;
  c.source.kind = SourceKind::kPush;
  c.detection.labels = {"person", "car"};
  c.zones = {Zone{"porch", {{0, 0}, {0.5, 0}, {0.5, 1}}}, Zone{"yard", {{0.5, 0}, {1, 0}, {1, 1}}}};
  c.lines = {Line{"door", {0.5, 0}, {0.5, 1}, LineSide::kLeft}};
  return c;
}

// An event as the pipeline publishes it on `events`: event_to_json plus current_zones.
Json event_message(const std::string& type, EventRecord e, const std::vector<std::string>& current_zones) {
  Json doc = pipeline::event_to_json(e);
  doc["current_zones"] = current_zones;
  return {{"type", type}, {"event", doc}};
}

EventRecord make_event(const std::string& id, const std::string& camera, const std::string& label = "person") {
  EventRecord e;
  e.id = id;
  e.camera_id = camera;
  e.label = label;
  e.score = 0.8;
  e.top_score = 0.8;
  e.box = {0.1, 0.2, 0.3, 0.4};
  e.start_time = 1'700'000'000'000;
  e.updated_at = e.start_time;
  return e;
}

std::vector<Json> events_on(const std::vector<MqttMessage>& all, const std::string& topic = "argus/events") {
  std::vector<Json> out;
  for (const auto& m : all) {
    if (m.topic == topic) out.push_back(Json::parse(m.payload));
  }
  return out;
}

class MqttBridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(broker_.start()) << "mosquitto did not start";
    StoreOptions so;
    so.config.url = "sqlite://" + dir_.file("argus.db");
    auto store = open_store(so);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    store_ = std::move(store).value();
    auto bus = bus::open_bus({});
    ASSERT_TRUE(bus.ok());
    bus_ = std::move(bus).value();
    ASSERT_TRUE(store_->create_camera(make_camera("front")).ok());
  }

  void TearDown() override {
    if (bridge_) bridge_->stop();
  }

  MqttBridgeOptions options() {
    MqttBridgeOptions o;
    o.config.url = broker_.url();
    o.config.client_id = "argus-test";
    o.config.stats_interval_ms = 60'000;
    o.config.reconnect_max_ms = 1000;
    o.sw_version = "9.9.9";
    o.metrics = &metrics_;
    o.event_update_interval_ms = 0;
    o.reconnect_initial_ms = 100;
    return o;
  }

  void start_bridge(const MqttBridgeOptions& o) {
    auto b = MqttBridge::create(o, store_.get(), bus_.get());
    ASSERT_TRUE(b.ok()) << b.status().to_string();
    bridge_ = std::move(b).value();
    ASSERT_TRUE(bridge_->start().ok());
  }

  bool wait_stats(const std::function<bool(const MqttBridgeStats&)>& pred) {
    for (int i = 0; i < 1000; ++i) {
      if (pred(bridge_->stats())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  testing::TempDir dir_;
  testing::MosquittoBroker broker_;
  metrics::Registry metrics_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<bus::EventBus> bus_;
  std::unique_ptr<MqttBridge> bridge_;
};

TEST(MqttUrl, ParsesHostPortAndScheme) {
  auto a = parse_mqtt_url("mqtt://broker.lan");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "broker.lan");
  EXPECT_EQ(a->port, 1883);
  EXPECT_FALSE(a->tls);
  auto b = parse_mqtt_url("mqtts://[::1]:8884");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 8884);
  EXPECT_TRUE(b->tls);
  EXPECT_EQ(parse_mqtt_url("mqtts://h")->port, 8883);
  for (const char* bad :
       {"http://h", "mqtt://", "mqtt://h:0", "mqtt://h:70000", "mqtt://u:p@h", "mqtt://h/x", "mqtt://h:"}) {
    EXPECT_FALSE(parse_mqtt_url(bad).ok()) << bad;
  }
  EXPECT_EQ(mqtt_topic_level("a/b+c#d"), "a_b_c_d");
}

TEST_F(MqttBridgeTest, OnlineDiscoveryAndInitialStateAreRetained) {
  start_bridge(options());
  ASSERT_TRUE(wait_stats([](const MqttBridgeStats& s) { return s.connected && s.backlog == 0; }));
  // A subscriber that arrives later sees everything as retained.
  testing::MqttRecorder rec(broker_.port());
  ASSERT_TRUE(rec.start());
  MqttMessage m;
  ASSERT_TRUE(rec.last("argus/available", &m));
  EXPECT_EQ(m.payload, "online");
  EXPECT_TRUE(m.retained);
  for (const char* t : {"argus/front/person", "argus/front/car", "argus/front/porch/person", "argus/front/yard/car",
                        "argus/front/door/in", "argus/front/door/out"}) {
    ASSERT_TRUE(rec.last(t, &m)) << t;
    EXPECT_EQ(m.payload, "0") << t;
    EXPECT_TRUE(m.retained) << t;
  }
  ASSERT_TRUE(rec.last("argus/front/status", &m));
  EXPECT_EQ(m.payload, "starting");

  ASSERT_TRUE(rec.last("homeassistant/sensor/argus_front/person_count/config", &m));
  EXPECT_TRUE(m.retained);
  Json cfg = Json::parse(m.payload);
  EXPECT_EQ(cfg["unique_id"], "argus_front_person_count");
  EXPECT_EQ(cfg["state_topic"], "argus/front/person");
  EXPECT_EQ(cfg["availability_topic"], "argus/available");
  EXPECT_EQ(cfg["state_class"], "measurement");
  EXPECT_EQ(cfg["device"]["identifiers"], Json::array({"argus_front"}));
  EXPECT_EQ(cfg["device"]["name"], "Front front");
  EXPECT_EQ(cfg["device"]["manufacturer"], "Argus");
  EXPECT_EQ(cfg["device"]["sw_version"], "9.9.9");

  ASSERT_TRUE(rec.last("homeassistant/sensor/argus_front/line_door_in/config", &m));
  cfg = Json::parse(m.payload);
  EXPECT_EQ(cfg["state_class"], "total_increasing");
  EXPECT_EQ(cfg["state_topic"], "argus/front/door/in");
  ASSERT_TRUE(rec.last("homeassistant/binary_sensor/argus_front/porch_person_occupancy/config", &m));
  cfg = Json::parse(m.payload);
  EXPECT_EQ(cfg["device_class"], "occupancy");
  EXPECT_EQ(cfg["state_topic"], "argus/front/porch/person");
  EXPECT_THAT(cfg["value_template"].get<std::string>(), HasSubstr("ON"));
  ASSERT_TRUE(rec.last("homeassistant/binary_sensor/argus_front/person_occupancy/config", &m));
  ASSERT_TRUE(rec.last("homeassistant/sensor/argus_front/status/config", &m));
  EXPECT_EQ(Json::parse(m.payload)["state_topic"], "argus/front/status");

  // Camera status from the camera controller's messages.
  bus_->publish(bus::kCameras, "front",
                {{"type", "status"}, {"camera_id", "front"}, {"status", {{"state", "online"}, {"reason", nullptr}}}});
  EXPECT_TRUE(rec.wait_for("argus/front/status", "online"));

  // A clean stop says offline (retained) before disconnecting.
  bridge_->stop();
  EXPECT_TRUE(rec.wait_for("argus/available", "offline"));
  testing::MqttRecorder late(broker_.port());
  ASSERT_TRUE(late.start());
  ASSERT_TRUE(late.last("argus/available", &m));
  EXPECT_EQ(m.payload, "offline");
  EXPECT_TRUE(m.retained);
}

TEST_F(MqttBridgeTest, EventLifecycleKeepsTheIdAndDrivesCounts) {
  start_bridge(options());
  testing::MqttRecorder rec(broker_.port());
  ASSERT_TRUE(rec.start());
  ASSERT_TRUE(rec.wait_for("argus/available", "online"));

  EventRecord e = make_event("front-abc123", "front");
  bus_->publish(bus::kEvents, "front", event_message("new", e, {}));
  ASSERT_TRUE(rec.wait_for("argus/front/person", "1"));
  e.score = 0.9;
  e.top_score = 0.9;
  e.zones = {"porch"};
  bus_->publish(bus::kEvents, "front", event_message("update", e, {"porch"}));
  ASSERT_TRUE(rec.wait_for("argus/front/porch/person", "1"));
  e.zones = {"porch", "yard"};
  bus_->publish(bus::kEvents, "front", event_message("update", e, {"yard"}));
  ASSERT_TRUE(rec.wait_for("argus/front/yard/person", "1"));
  EXPECT_TRUE(rec.wait_for("argus/front/porch/person", "0"));
  e.end_time = e.start_time + 5000;
  bus_->publish(bus::kEvents, "front", event_message("end", e, {}));
  ASSERT_TRUE(rec.wait_for("argus/front/person", "0"));
  EXPECT_TRUE(rec.wait_for("argus/front/yard/person", "0"));
  // Reviews and deletions on the events topic are not object lifecycle messages.
  bus_->publish(bus::kEvents, "front", {{"type", "deleted"}, {"id", e.id}});

  ASSERT_TRUE(rec.wait([](const auto& all) { return events_on(all).size() >= 4; }));
  auto evs = events_on(rec.messages());
  ASSERT_EQ(evs.size(), 4u);
  EXPECT_EQ(evs[0]["type"], "new");
  EXPECT_EQ(evs[1]["type"], "update");
  EXPECT_EQ(evs[2]["type"], "update");
  EXPECT_EQ(evs[3]["type"], "end");
  for (const auto& ev : evs) {
    EXPECT_EQ(ev["after"]["id"], "front-abc123");
    EXPECT_EQ(ev["before"]["id"], "front-abc123");
    EXPECT_EQ(ev["after"]["camera"], "front");
    EXPECT_EQ(ev["after"]["label"], "person");
  }
  EXPECT_EQ(evs[0]["before"], evs[0]["after"]);
  EXPECT_EQ(evs[1]["before"], evs[0]["after"]);
  EXPECT_EQ(evs[2]["before"], evs[1]["after"]);
  EXPECT_EQ(evs[3]["before"], evs[2]["after"]);
  EXPECT_EQ(evs[1]["after"]["current_zones"], Json::array({"porch"}));
  EXPECT_EQ(evs[2]["after"]["current_zones"], Json::array({"yard"}));
  EXPECT_EQ(evs[2]["after"]["entered_zones"], Json::array({"porch", "yard"}));
  EXPECT_TRUE(evs[0]["after"]["end_time"].is_null());
  EXPECT_TRUE(evs[3]["after"]["end_time"].is_string());
  EXPECT_DOUBLE_EQ(evs[1]["after"]["score"].get<double>(), 0.9);
  for (const auto& m : rec.on("argus/events")) EXPECT_FALSE(m.retained);
}

TEST_F(MqttBridgeTest, UpdatesAreThrottledPerObjectButCountsAreNot) {
  MqttBridgeOptions o = options();
  o.event_update_interval_ms = 600'000;  // no update passes the throttle within the test
  start_bridge(o);
  testing::MqttRecorder rec(broker_.port());
  ASSERT_TRUE(rec.start());
  ASSERT_TRUE(rec.wait_for("argus/available", "online"));
  EventRecord e = make_event("front-t1", "front");
  bus_->publish(bus::kEvents, "front", event_message("new", e, {}));
  for (int i = 0; i < 5; ++i) {
    e.score = 0.5 + i * 0.1;
    bus_->publish(bus::kEvents, "front", event_message("update", e, {"porch"}));
  }
  ASSERT_TRUE(rec.wait_for("argus/front/porch/person", "1"));
  e.end_time = e.start_time + 1000;
  bus_->publish(bus::kEvents, "front", event_message("end", e, {}));
  ASSERT_TRUE(rec.wait_for("argus/front/person", "0"));
  ASSERT_TRUE(rec.wait([](const auto& all) {
    auto evs = events_on(all);
    return !evs.empty() && evs.back()["type"] == "end";
  }));
  auto evs = events_on(rec.messages());
  ASSERT_EQ(evs.size(), 2u) << "the updates within the interval were coalesced";
  EXPECT_EQ(evs[0]["type"], "new");
  EXPECT_EQ(evs[1]["type"], "end");
  EXPECT_EQ(evs[1]["before"], evs[0]["after"]);
}

TEST_F(MqttBridgeTest, LineTotalsContinueFromTheStore) {
  CountDelta d;
  d.camera_id = "front";
  d.scope = "line";
  d.name = "door";
  d.label = "person";
  d.bucket = 1'700'000'040'000 - (1'700'000'040'000 % 60'000);
  d.in = 5;
  d.out = 2;
  ASSERT_TRUE(store_->add_counts({d}).ok());
  ASSERT_TRUE(store_->flush().ok());
  start_bridge(options());
  testing::MqttRecorder rec(broker_.port());
  ASSERT_TRUE(rec.start());
  ASSERT_TRUE(rec.wait_for("argus/front/door/in", "5"));
  ASSERT_TRUE(rec.wait_for("argus/front/door/out", "2"));
  // A counts message as the pipeline publishes it (count_to_json per delta).
  CountDelta more = d;
  more.in = 3;
  more.out = 0;
  CountDelta zone;
  zone.camera_id = "front";
  zone.scope = "zone";
  zone.name = "porch";
  zone.label = "person";
  zone.seen = 4;
  bus_->publish(
      bus::kCounts, "front",
      {{"camera", "front"}, {"deltas", Json::array({pipeline::count_to_json(more), pipeline::count_to_json(zone)})}});
  EXPECT_TRUE(rec.wait_for("argus/front/door/in", "8"));
  MqttMessage m;
  ASSERT_TRUE(rec.last("argus/front/door/out", &m));
  EXPECT_EQ(m.payload, "2");
  ASSERT_TRUE(rec.last("argus/front/porch/person", &m));
  EXPECT_EQ(m.payload, "0") << "zone counts are current occupancy, not entries";
}

TEST_F(MqttBridgeTest, DiscoveryFollowsCameraChangesAndDeletion) {
  start_bridge(options());
  testing::MqttRecorder rec(broker_.port());
  ASSERT_TRUE(rec.start());
  ASSERT_TRUE(rec.wait_for("argus/available", "online"));

  // Created through the API: the store first, then the bus message.
  Camera back = make_camera("back");
  auto created = store_->create_camera(back);
  ASSERT_TRUE(created.ok());
  bus_->publish(bus::kCameras, "back", {{"type", "created"}, {"camera", camera_to_json(*created)}});
  const std::string porch_cfg = "homeassistant/sensor/argus_back/porch_person_count/config";
  ASSERT_TRUE(rec.wait([&](const auto& all) {
    for (const auto& m : all) {
      if (m.topic == porch_cfg && !m.payload.empty()) return true;
    }
    return false;
  }));

  // Updated without the porch zone: its topics are emptied, the rest stays.
  Camera changed = *created;
  changed.zones = {changed.zones[1]};
  auto saved = store_->update_camera(changed, std::nullopt);
  ASSERT_TRUE(saved.ok());
  bus_->publish(bus::kCameras, "back", {{"type", "updated"}, {"camera", camera_to_json(*saved)}});
  ASSERT_TRUE(rec.wait_for(porch_cfg, ""));
  EXPECT_TRUE(rec.wait_for("argus/back/porch/person", ""));

  // Deleted: every retained topic of the camera is emptied.
  ASSERT_TRUE(store_->delete_camera("back", std::nullopt).ok());
  bus_->publish(bus::kCameras, "back", {{"type", "deleted"}, {"camera", camera_to_json(*saved)}});
  ASSERT_TRUE(rec.wait_for("homeassistant/sensor/argus_back/status/config", ""));
  ASSERT_TRUE(rec.wait_for("argus/back/status", ""));

  // A new subscriber finds nothing retained about `back`, and `front` still there (once the
  // broker has acknowledged everything the bridge sent).
  ASSERT_TRUE(wait_stats([](const MqttBridgeStats& s) { return s.connected && s.backlog == 0; }));
  testing::MqttRecorder late(broker_.port());
  ASSERT_TRUE(late.start());
  std::size_t front = 0;
  for (const auto& m : late.messages()) {
    EXPECT_EQ(m.topic.find("argus_back"), std::string::npos) << m.topic;
    EXPECT_EQ(m.topic.find("argus/back/"), std::string::npos) << m.topic;
    if (m.topic.find("argus_front") != std::string::npos) ++front;
  }
  EXPECT_GT(front, 10u);
}

// Discovery configs of a camera deleted while the bridge was away are removed on connect;
// other integrations' configs are left alone.
TEST_F(MqttBridgeTest, StaleDiscoveryConfigsAreRemovedOnConnect) {
  const std::string port = std::to_string(broker_.port());
  auto retain = [&](const std::string& topic, const std::string& payload) {
    std::string cmd = "mosquitto_pub -h 127.0.0.1 -p " + port + " -q 1 -r -t '" + topic + "' -m '" + payload + "'";
    return std::system(cmd.c_str());
  };
  const std::string ghost = "homeassistant/sensor/argus_ghost/person_count/config";
  const std::string foreign = "homeassistant/sensor/zigbee_lamp/power/config";
  const std::string other_instance = "homeassistant/sensor/argus_elsewhere/status/config";
  ASSERT_EQ(retain(ghost, R"({"availability_topic":"argus/available","state_topic":"argus/ghost/person"})"), 0);
  ASSERT_EQ(retain(foreign, R"({"availability_topic":"zigbee/available"})"), 0);
  ASSERT_EQ(retain(other_instance, R"({"availability_topic":"site2/available"})"), 0);
  start_bridge(options());
  testing::MqttRecorder rec(broker_.port());
  ASSERT_TRUE(rec.start());
  ASSERT_TRUE(rec.wait_for(ghost, ""));
  ASSERT_TRUE(wait_stats([](const MqttBridgeStats& s) { return s.connected && s.backlog == 0; }));
  // A subscriber arriving now: the stale config is gone, the others and ours are there.
  testing::MqttRecorder late(broker_.port());
  ASSERT_TRUE(late.start());
  MqttMessage m;
  EXPECT_FALSE(late.last(ghost, &m)) << m.payload;
  EXPECT_TRUE(late.last(foreign, &m));
  EXPECT_TRUE(late.last(other_instance, &m));
  EXPECT_TRUE(late.last("homeassistant/sensor/argus_front/person_count/config", &m));
}

TEST_F(MqttBridgeTest, BrokerRestartReconnectsAndDeliversTheBacklog) {
  MqttBridgeOptions o = options();
  o.config.backlog = 5;
  // The first retry comes 3 s after the loss, so the test's subscriber is on the restarted
  // broker (a few ms) before the bridge; checked below rather than assumed.
  o.reconnect_initial_ms = 3000;
  o.config.reconnect_max_ms = 3000;
  start_bridge(o);
  ASSERT_TRUE(wait_stats([](const MqttBridgeStats& s) { return s.connected && s.backlog == 0; }));
  broker_.stop();
  ASSERT_TRUE(wait_stats([](const MqttBridgeStats& s) { return !s.connected; }));

  // While the broker is away: 8 objects start; the backlog keeps the newest 5.
  for (int i = 0; i < 8; ++i) {
    bus_->publish(bus::kEvents, "front", event_message("new", make_event("front-b" + std::to_string(i), "front"), {}));
  }
  ASSERT_TRUE(wait_stats([](const MqttBridgeStats& s) { return s.backlog == 5 && s.dropped == 3; }))
      << "backlog " << bridge_->stats().backlog << " dropped " << bridge_->stats().dropped;

  ASSERT_TRUE(broker_.start());
  testing::MqttRecorder rec(broker_.port());
  ASSERT_TRUE(rec.start());
  ASSERT_FALSE(bridge_->stats().connected) << "the bridge reconnected before the subscriber was ready";
  ASSERT_TRUE(rec.wait([](const auto& all) { return events_on(all).size() >= 5; }));
  auto evs = events_on(rec.messages());
  ASSERT_EQ(evs.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(evs[i]["after"]["id"], "front-b" + std::to_string(i + 3));
  // The broker kept nothing (no persistence): the bridge published its retained state
  // again, with the counts made while away, before the backlog.
  EXPECT_TRUE(rec.wait_for("argus/available", "online"));
  EXPECT_TRUE(rec.wait_for("argus/front/person", "8"));
  EXPECT_TRUE(rec.wait([](const auto& all) {
    for (const auto& m : all) {
      if (m.topic == "homeassistant/sensor/argus_front/status/config" && !m.payload.empty()) return true;
    }
    return false;
  }));
  auto s = bridge_->stats();
  EXPECT_TRUE(s.connected);
  EXPECT_EQ(s.reconnects, 1u);
  EXPECT_EQ(s.dropped, 3u);
  const std::string exposition = metrics_.expose();
  EXPECT_THAT(exposition, HasSubstr("argus_mqtt_connected 1"));
  EXPECT_THAT(exposition, HasSubstr("argus_mqtt_reconnects_total 1"));
  EXPECT_THAT(exposition, HasSubstr("argus_mqtt_messages_dropped_total 3"));
  EXPECT_THAT(exposition, HasSubstr("argus_mqtt_messages_published_total"));
}

TEST_F(MqttBridgeTest, StatsArePublishedOnTheInterval) {
  MqttBridgeOptions o = options();
  o.config.stats_interval_ms = 1000;
  start_bridge(o);
  testing::MqttRecorder rec(broker_.port());
  ASSERT_TRUE(rec.start());
  ASSERT_TRUE(rec.wait([](const auto& all) { return events_on(all, "argus/stats").size() >= 1; }));
  Json st = events_on(rec.messages(), "argus/stats").back();
  EXPECT_EQ(st["cameras"], 1);
  EXPECT_EQ(st["connected"], true);
  EXPECT_EQ(st["version"], "9.9.9");
  EXPECT_TRUE(st.contains("uptime_s"));
  EXPECT_TRUE(st.contains("published"));
  EXPECT_TRUE(st.contains("dropped"));
  EXPECT_TRUE(st.contains("backlog"));
}

TEST_F(MqttBridgeTest, UnreachableBrokerIsNotAnErrorAndStopIsPrompt) {
  MqttBridgeOptions o = options();
  o.config.url = "mqtt://127.0.0.1:" + std::to_string(testing::free_port());
  start_bridge(o);
  for (int i = 0; i < 50; ++i)
    bus_->publish(bus::kEvents, "front", event_message("new", make_event("x" + std::to_string(i), "front"), {}));
  ASSERT_TRUE(wait_stats([](const MqttBridgeStats& s) { return s.backlog == 50; }));
  EXPECT_FALSE(bridge_->stats().connected);
  auto t0 = std::chrono::steady_clock::now();
  bridge_->stop();
  // Not a timing assertion on performance: stop must not wait for a broker that is not there.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

// mqtts:// with a CA file, a user and a password read from a file, against a broker that
// refuses anonymous clients on its TLS listener (a plain anonymous listener on another
// port lets the test's subscriber watch).
TEST_F(MqttBridgeTest, TlsWithPasswordFromAFile) {
  testing::MosquittoBroker tls_broker;
  const std::string dir = tls_broker.dir().path().string();
  testing::write_file(dir + "/san.ext", "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  const std::string make_certs =
      "cd '" + dir +
      "' && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
      "-subj /CN=argus-test-ca 2>/dev/null && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
      "-subj /CN=localhost 2>/dev/null && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
      "-out server.pem -days 2 -extfile san.ext 2>/dev/null && mosquitto_passwd -b -c passwd argus s3cret";
  ASSERT_EQ(std::system(make_certs.c_str()), 0);
  const std::uint16_t plain = testing::free_port();
  const std::string conf =
      "per_listener_settings true\n"
      "listener " +
      std::to_string(tls_broker.port()) +
      " 127.0.0.1\n"
      "cafile " +
      dir + "/ca.pem\ncertfile " + dir + "/server.pem\nkeyfile " + dir +
      "/server.key\n"
      "allow_anonymous false\npassword_file " +
      dir +
      "/passwd\n"
      "listener " +
      std::to_string(plain) + " 127.0.0.1\nallow_anonymous true\n" + (::geteuid() == 0 ? "user root\n" : "") +
      "persistence false\nlog_dest stderr\nlog_type error\n";
  ASSERT_TRUE(tls_broker.start_with(conf));
  testing::MqttRecorder rec(plain);
  ASSERT_TRUE(rec.start());

  testing::write_file(dir + "/bridge-password", "s3cret\n");
  MqttBridgeOptions o = options();
  o.config.url = "mqtts://localhost:" + std::to_string(tls_broker.port());
  o.config.ca_file = dir + "/ca.pem";
  o.config.username = "argus";
  o.config.password_file = dir + "/bridge-password";
  start_bridge(o);
  ASSERT_TRUE(wait_stats([](const MqttBridgeStats& s) { return s.connected; }));
  EXPECT_TRUE(rec.wait_for("argus/available", "online"));
  EXPECT_TRUE(rec.wait_for("argus/front/person", "0"));
  bridge_->stop();
  EXPECT_TRUE(rec.wait_for("argus/available", "offline"));
}

TEST_F(MqttBridgeTest, CreateRejectsBadSettings) {
  MqttBridgeOptions o = options();
  o.config.url = "http://x";
  auto a = MqttBridge::create(o, store_.get(), bus_.get());
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.status().message(), HasSubstr("mqtt.url"));
  o = options();
  o.config.password_file = dir_.file("missing");
  auto b = MqttBridge::create(o, store_.get(), bus_.get());
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("mqtt.password_file"));
}

}  // namespace
}  // namespace argus::alerts
