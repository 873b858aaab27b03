// The alert engine against a real in-process bus and a real SQLite store, with time driven
// by a manual clock: every condition fires and resolves; schedules and cooldowns hold.
#include "alerts/engine.h"

#include <gtest/gtest.h>

#include <mutex>
#include <optional>

#include "alerts/notification.h"
#include "alerts/rules.h"
#include "bus/bus.h"
#include "metrics/metrics.h"
#include "store/store.h"
#include "testing/testing.h"

namespace argus::alerts {
namespace {

using nlohmann::json;

constexpr UnixMillis kStart = 1'795'867'200'000;  // 2026-11-28T12:00:00Z, a Saturday

// Records what the engine hands to delivery (the real delivery service is another module's).
class RecordingSink final : public NotificationSink {
 public:
  Status enqueue(Notification n) override {
    std::lock_guard lock(mu);
    got.push_back(std::move(n));
    return Status::ok_status();
  }
  std::mutex mu;
  std::vector<Notification> got;
};

struct Published {
  std::string type;
  json alert;
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions so;
    so.config.url = "sqlite://" + dir_.file("argus.db");
    so.clock = &clock_;
    auto s = open_store(so);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store_ = std::move(s).value();
    auto b = bus::open_bus({.clock = &clock_});
    ASSERT_TRUE(b.ok());
    bus_ = std::move(b).value();
    alerts_ = bus_->subscribe({.topics = {"alerts"}, .name = "test"});
    EngineOptions eo;
    eo.clock = &clock_;
    eo.metrics = &metrics_;
    eo.sink = &sink_;
    engine_ = std::make_unique<Engine>(store_.get(), bus_.get(), eo);
  }

  // Stores a rule from its API document and tells the engine.
  std::string add_rule(const json& doc) {
    FieldErrors errors;
    Rule r = parse_rule(doc, errors);
    EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors.front().pointer + " " + errors.front().detail);
    r.id = "rule-" + std::to_string(++rules_);
    EXPECT_TRUE(store_->create_alert_rule(rule_to_record(r)).ok());
    engine_->reload();
    return r.id;
  }

  void event(const std::string& type, const std::string& id, const std::string& camera, const std::string& label,
             std::vector<std::string> zones = {}, json crossings = json::array(),
             std::optional<std::vector<std::string>> current_zones = std::nullopt) {
    json ev{{"id", id},
            {"camera", camera},
            {"label", label},
            {"zones", zones},
            {"crossings", crossings},
            {"active", type != "end"},
            {"start_time", format_rfc3339(clock_.now_ms())}};
    if (current_zones) ev["current_zones"] = *current_zones;  // as the live pipeline publishes
    bus_->publish(bus::kEvents, camera, {{"type", type}, {"event", ev}});
  }

  void camera_state(const std::string& camera, const std::string& state) {
    bus_->publish(bus::kCameras, camera,
                  {{"type", "status"}, {"camera_id", camera}, {"status", {{"state", state}, {"reason", nullptr}}}});
  }

  // Polls the engine and returns what it published on `alerts`.
  std::vector<Published> poll() {
    Status s = engine_->poll();
    EXPECT_TRUE(s.ok()) << s.to_string();
    std::vector<Published> out;
    while (auto m = alerts_->try_next()) out.push_back({(*m)->data["type"], (*m)->data["alert"]});
    return out;
  }

  double metric(const std::string& text) {
    std::string all = "\n" + metrics_.expose();
    auto at = all.find("\n" + text + " ");  // a sample line, not # HELP or # TYPE
    if (at == std::string::npos) return -1;
    return std::stod(all.substr(at + text.size() + 2));
  }

  testing::TempDir dir_;
  argus::testing::ManualClock clock_{kStart};
  metrics::Registry metrics_;
  RecordingSink sink_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<bus::EventBus> bus_;
  std::unique_ptr<bus::Subscription> alerts_;
  std::unique_ptr<Engine> engine_;
  int rules_ = 0;
};

TEST_F(EngineTest, EventStartFiresOnAMatchingEventAndResolvesWhenItEnds) {
  std::string rule = add_rule({{"name", "Person at the front"},
                               {"cameras", {"front"}},
                               {"labels", {"person"}},
                               {"severity", "critical"},
                               {"channels", {"c1", "c2"}},
                               {"condition", {{"type", "event_start"}}}});
  EXPECT_TRUE(poll().empty());
  event("new", "e-car", "front", "car");
  event("new", "e-back", "back", "person");
  EXPECT_TRUE(poll().empty());

  event("new", "e1", "front", "person");
  auto got = poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "firing");
  EXPECT_EQ(got[0].alert["rule_id"], rule);
  EXPECT_EQ(got[0].alert["rule_name"], "Person at the front");
  EXPECT_EQ(got[0].alert["camera"], "front");
  EXPECT_EQ(got[0].alert["label"], "person");
  EXPECT_EQ(got[0].alert["severity"], "critical");
  EXPECT_EQ(got[0].alert["state"], "firing");
  EXPECT_EQ(engine_->firing_count(), 1u);
  EXPECT_EQ(metric("argus_alerts_firing"), 1);
  EXPECT_EQ(metric("argus_alerts_fired_total{severity=\"critical\"}"), 1);
  const std::string id = got[0].alert["id"];
  auto stored = store_->get_alert(id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state, "firing");
  {
    std::lock_guard lock(sink_.mu);
    ASSERT_EQ(sink_.got.size(), 2u);
    EXPECT_EQ(sink_.got[0].channel_id, "c1");
    EXPECT_EQ(sink_.got[1].channel_id, "c2");
    EXPECT_EQ(sink_.got[0].kind, "alert.firing");
    EXPECT_EQ(sink_.got[0].payload["id"], id);
  }

  event("update", "e1", "front", "person");  // still the same alert
  EXPECT_TRUE(poll().empty());
  clock_.advance_s(5);
  event("end", "e1", "front", "person");
  got = poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "resolved");
  EXPECT_EQ(got[0].alert["id"], id);
  EXPECT_EQ(got[0].alert["resolved_at"], format_rfc3339(clock_.now_ms()));
  stored = store_->get_alert(id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state, "resolved");
  EXPECT_EQ(engine_->firing_count(), 0u);
  EXPECT_EQ(metric("argus_alerts_firing"), 0);
  std::lock_guard lock(sink_.mu);
  ASSERT_EQ(sink_.got.size(), 4u);
  EXPECT_EQ(sink_.got[3].kind, "alert.resolved");
}

TEST_F(EngineTest, OccupancyMustHoldContinuouslyForTheDuration) {
  add_rule({{"name", "crowd"},
            {"labels", {"person"}},
            {"zone", "door"},
            {"condition", {{"type", "occupancy"}, {"min", 2}, {"for_seconds", 10}}}});
  event("new", "e1", "front", "person", {"door"});
  event("new", "e2", "front", "person");  // not in the zone yet
  EXPECT_TRUE(poll().empty());
  event("update", "e2", "front", "person", {"door"});
  EXPECT_TRUE(poll().empty());
  clock_.advance_s(5);
  EXPECT_TRUE(poll().empty());
  // Interrupted: one leaves, another comes; the 10 s start again.
  event("end", "e2", "front", "person", {"door"});
  EXPECT_TRUE(poll().empty());
  event("new", "e3", "front", "person", {"door"});
  clock_.advance_s(9);
  EXPECT_TRUE(poll().empty());
  clock_.advance_s(1);
  auto got = poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "firing");
  EXPECT_EQ(got[0].alert["value"], 2.0);
  EXPECT_EQ(got[0].alert["zone"], "door");
  EXPECT_EQ(got[0].alert["label"], "person");
  event("end", "e1", "front", "person", {"door"});
  got = poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "resolved");
}

TEST_F(EngineTest, CrossingsCountInASlidingWindow) {
  add_rule({{"name", "busy gate"},
            {"line", "gate"},
            {"condition", {{"type", "crossings"}, {"min", 2}, {"window_seconds", 60}, {"direction", "in"}}}});
  json in = json::array({{{"line", "gate"}, {"direction", "in"}, {"time", "x"}}});
  json out = json::array({{{"line", "gate"}, {"direction", "out"}, {"time", "x"}}});
  json other = json::array({{{"line", "side"}, {"direction", "in"}, {"time", "x"}}});
  event("new", "e1", "front", "person");
  event("update", "e1", "front", "person", {}, in);
  event("update", "e1", "front", "person", {}, in);  // the same crossing again: counted once
  event("new", "e2", "front", "car", {}, out);
  event("new", "e3", "front", "car", {}, other);
  EXPECT_TRUE(poll().empty());
  clock_.advance_s(30);
  event("new", "e4", "front", "dog", {}, in);
  auto got = poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "firing");
  EXPECT_EQ(got[0].alert["value"], 2.0);
  EXPECT_EQ(got[0].alert["line"], "gate");
  clock_.advance_s(29);
  EXPECT_TRUE(poll().empty());
  clock_.advance_s(1);  // the first crossing leaves the window
  got = poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "resolved");
}

TEST_F(EngineTest, DwellFiresAfterTheObjectStaysAndResolvesWhenItLeaves) {
  add_rule({{"name", "loitering"},
            {"labels", {"person"}},
            {"zone", "atm"},
            {"condition", {{"type", "dwell"}, {"min_seconds", 60}}}});
  event("new", "e1", "front", "person");
  clock_.advance_s(50);
  EXPECT_TRUE(poll().empty());
  event("update", "e1", "front", "person", {"atm"});  // dwell counts from entering the zone
  clock_.advance_s(59);
  EXPECT_TRUE(poll().empty());
  clock_.advance_s(1);
  auto got = poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "firing");
  EXPECT_EQ(got[0].alert["value"], 60.0);
  event("end", "e1", "front", "person", {"atm"});
  got = poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "resolved");
}

TEST_F(EngineTest, AnObjectThatLeavesTheZoneNoLongerCounts) {
  add_rule({{"name", "someone at the door"},
            {"zone", "door"},
            {"condition", {{"type", "occupancy"}, {"min", 1}, {"for_seconds", 5}}}});
  add_rule({{"name", "lingering at the door"},
            {"zone", "door"},
            {"condition", {{"type", "dwell"}, {"min_seconds", 8}}}});
  using Zones = std::vector<std::string>;
  event("new", "e1", "front", "person", {"door"}, json::array(), Zones{"door"});
  clock_.advance_s(5);
  auto got = poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "firing");
  EXPECT_EQ(got[0].alert["rule_name"], "someone at the door");
  // Steps out: the event goes on and still lists the zone it entered, but it is not in it.
  event("update", "e1", "front", "person", {"door"}, json::array(), Zones{});
  got = poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "resolved");
  clock_.advance_s(5);
  EXPECT_TRUE(poll().empty()) << "10 s since it entered, but out of the zone for 5: no dwell";
  // Back in: its time in the zone starts again.
  event("update", "e1", "front", "person", {"door"}, json::array(), Zones{"door"});
  clock_.advance_s(7);
  got = poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].alert["rule_name"], "someone at the door");
  clock_.advance_s(1);
  got = poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "firing");
  EXPECT_EQ(got[0].alert["rule_name"], "lingering at the door");
  EXPECT_EQ(got[0].alert["value"], 8.0);
}

TEST_F(EngineTest, CameraOfflineForTheDurationAndBackOnline) {
  add_rule({{"name", "camera down"},
            {"cameras", {"front", "back"}},
            {"condition", {{"type", "camera_offline"}, {"for_seconds", 30}}}});
  camera_state("front", "online");
  camera_state("side", "error");  // not in the rule
  camera_state("back", "reconnecting");
  EXPECT_TRUE(poll().empty());
  clock_.advance_s(20);
  camera_state("back", "error");  // still offline: the time counts from the first
  EXPECT_TRUE(poll().empty());
  clock_.advance_s(10);
  auto got = poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "firing");
  EXPECT_EQ(got[0].alert["camera"], "back");
  EXPECT_EQ(got[0].alert["value"], 30.0);
  camera_state("back", "online");
  got = poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "resolved");
  // Back briefly offline: not long enough.
  camera_state("back", "offline");
  clock_.advance_s(29);
  EXPECT_TRUE(poll().empty());
  camera_state("back", "disabled");
  clock_.advance_s(60);
  EXPECT_TRUE(poll().empty());
}

TEST_F(EngineTest, AnObjectNotHeardOfForTenMinutesIsGone) {
  add_rule({{"name", "present"}, {"condition", {{"type", "occupancy"}, {"min", 1}}}});
  event("new", "e1", "front", "person");
  ASSERT_EQ(poll().size(), 1u);
  clock_.advance_s(600);
  EXPECT_TRUE(poll().empty());
  clock_.advance_s(1);  // its end was lost: taken as gone
  auto got = poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "resolved");
}

TEST_F(EngineTest, ScheduleWithAWrappingWindowInATimeZone) {
  // Fridays 22:00 to Saturday 06:00, New York time.
  add_rule({{"name", "night"},
            {"condition", {{"type", "event_start"}}},
            {"schedule", {{"days", {"fri"}}, {"start", "22:00"}, {"end", "06:00"}, {"timezone", "America/New_York"}}}});
  clock_.set(1795831200000);  // Fri 21:00 EST (Saturday 02:00 UTC): outside
  event("new", "e1", "front", "person");
  EXPECT_TRUE(poll().empty());
  clock_.set(1795849200000);  // Sat 02:00 EST: inside (wrapped from Friday)
  EXPECT_TRUE(poll().empty()) << "an event that started outside the schedule does not fire later";
  event("new", "e2", "front", "person");
  auto got = poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "firing");
  clock_.set(1795867200000);  // Sat 07:00 EST: outside again (e2, silent for 5 h, is gone)
  event("new", "e3", "front", "person");
  got = poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "resolved");
}

TEST_F(EngineTest, CooldownPerRuleAndCamera) {
  add_rule({{"name", "any"}, {"cooldown_seconds", 60}, {"condition", {{"type", "event_start"}}}});
  event("new", "e1", "front", "person");
  ASSERT_EQ(poll().size(), 1u);
  event("end", "e1", "front", "person");
  ASSERT_EQ(poll().size(), 1u);  // resolved
  clock_.advance_s(30);
  event("new", "e2", "front", "person");  // within the cooldown: never fires
  event("new", "e3", "back", "person");   // another camera: fires
  auto got = poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].alert["camera"], "back");
  clock_.advance_s(30);
  EXPECT_TRUE(poll().empty());
  event("new", "e4", "front", "person");
  got = poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].alert["camera"], "front");
}

TEST_F(EngineTest, DeletingOrChangingARuleResolvesItsAlerts) {
  std::string rule = add_rule({{"name", "any"}, {"condition", {{"type", "event_start"}}}});
  event("new", "e1", "front", "person");
  ASSERT_EQ(poll().size(), 1u);
  auto rec = store_->get_alert_rule(rule);
  ASSERT_TRUE(rec.ok());
  auto r = rule_from_record(*rec);
  ASSERT_TRUE(r.ok());
  r->labels = {"car"};
  ASSERT_TRUE(store_->update_alert_rule(rule_to_record(*r)).ok());
  engine_->reload();
  auto got = poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "resolved");
  event("new", "e2", "front", "car");
  ASSERT_EQ(poll().size(), 1u);
  ASSERT_TRUE(store_->delete_alert_rule(rule).ok());
  engine_->reload();
  got = poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "resolved");
  EXPECT_EQ(engine_->firing_count(), 0u);
}

TEST_F(EngineTest, StartedEngineResolvesLeftoversAndRunsOnItsOwnThreads) {
  AlertRecord left;
  left.id = "alert-left";
  left.rule_id = "rule-x";
  left.camera_id = "front";
  left.severity = "info";
  left.state = "firing";
  left.started_at = clock_.now_ms() - 1000;
  ASSERT_TRUE(store_->save_alert(left).ok());
  add_rule({{"name", "any"}, {"condition", {{"type", "event_start"}}}});
  ASSERT_TRUE(engine_->start().ok());
  EXPECT_EQ(store_->get_alert("alert-left")->state, "resolved");
  auto first = alerts_->next(std::chrono::seconds(5));
  ASSERT_TRUE(first && *first);
  EXPECT_EQ((*first)->data["type"], "resolved");

  event("new", "e1", "front", "person");
  auto m = alerts_->next(std::chrono::seconds(10));
  ASSERT_TRUE(m && *m);
  EXPECT_EQ((*m)->data["type"], "firing");
  const std::string id = (*m)->data["alert"]["id"];
  event("end", "e1", "front", "person");
  m = alerts_->next(std::chrono::seconds(10));
  ASSERT_TRUE(m && *m);
  EXPECT_EQ((*m)->data["type"], "resolved");
  EXPECT_EQ((*m)->data["alert"]["id"], id);
  engine_->stop();
  EXPECT_EQ(store_->get_alert(id)->state, "resolved");  // published after it was stored
  EXPECT_EQ(engine_->poll().code(), StatusCode::kOk);   // stopped: usable by hand again
}

}  // namespace
}  // namespace argus::alerts
