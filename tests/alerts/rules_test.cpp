// Rule validation, the rule's JSON forms, and schedules with time zones.
#include "alerts/rules.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace argus::alerts {
namespace {

using nlohmann::json;

// The pointers of the errors parse_rule reports for `doc`.
std::vector<std::string> pointers(const json& doc) {
  FieldErrors errors;
  (void)parse_rule(doc, errors);
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.pointer);
  std::sort(out.begin(), out.end());
  return out;
}

json valid() {
  return {{"name", "Crowd at the door"},
          {"cameras", {"front"}},
          {"labels", {"person"}},
          {"zone", "door"},
          {"condition", {{"type", "occupancy"}, {"min", 3}, {"for_seconds", 30}}},
          {"schedule", {{"days", {"fri", "mon"}}, {"start", "22:00"}, {"end", "06:00"}, {"timezone", "Europe/Berlin"}}},
          {"severity", "critical"},
          {"cooldown_seconds", 300},
          {"channels", {"ops-webhook"}}};
}

TEST(RulesTest, ParsesAFullRuleAndWritesItBackTheSame) {
  FieldErrors errors;
  Rule r = parse_rule(valid(), errors);
  ASSERT_TRUE(errors.empty()) << errors.front().pointer << " " << errors.front().detail;
  EXPECT_EQ(r.name, "Crowd at the door");
  EXPECT_TRUE(r.enabled);
  EXPECT_EQ(r.condition.type, ConditionType::kOccupancy);
  EXPECT_EQ(r.condition.min, 3);
  EXPECT_EQ(r.condition.for_seconds, 30);
  ASSERT_TRUE(r.schedule);
  EXPECT_EQ(r.schedule->days, (std::vector<int>{0, 4}));
  EXPECT_EQ(r.schedule->start, 22 * 60);
  EXPECT_EQ(r.schedule->end, 6 * 60);
  EXPECT_EQ(r.schedule->timezone, "Europe/Berlin");

  json spec = rule_spec(r);
  EXPECT_EQ(spec["schedule"]["days"], json({"mon", "fri"}));
  EXPECT_EQ(spec["schedule"]["start"], "22:00");
  EXPECT_EQ(spec["line"], nullptr);
  Rule again = parse_rule(spec, errors);
  ASSERT_TRUE(errors.empty());
  EXPECT_EQ(again, r);

  r.id = "rule-1";
  r.created_at = 1000;
  r.updated_at = 2000;
  auto back = rule_from_record(rule_to_record(r));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, r);
  json view = rule_to_json(r);
  EXPECT_EQ(view["id"], "rule-1");
  EXPECT_EQ(view["created_at"], "1970-01-01T00:00:01.000Z");
}

TEST(RulesTest, DefaultsForAMinimalRule) {
  FieldErrors errors;
  Rule r = parse_rule({{"name", "any start"}, {"condition", {{"type", "event_start"}}}}, errors);
  ASSERT_TRUE(errors.empty());
  EXPECT_TRUE(r.cameras.empty());
  EXPECT_TRUE(r.labels.empty());
  EXPECT_EQ(r.severity, "warning");
  EXPECT_EQ(r.cooldown_seconds, 0);
  EXPECT_FALSE(r.schedule);
  EXPECT_TRUE(r.matches_camera("anything"));
  EXPECT_TRUE(r.matches_label("dog"));
}

TEST(RulesTest, ReportsEveryProblemWithItsPointer) {
  EXPECT_EQ(pointers(json::array()), (std::vector<std::string>{""}));
  EXPECT_EQ(pointers(json::object()), (std::vector<std::string>{"/condition", "/name"}));

  json doc = valid();
  doc["name"] = "";
  doc["enabled"] = "yes";
  doc["cameras"] = {"front", 7};
  doc["labels"] = "person";
  doc["severity"] = "fatal";
  doc["cooldown_seconds"] = -1;
  doc["channels"] = {""};
  doc["colour"] = "red";
  doc["id"] = "mine";
  EXPECT_EQ(pointers(doc), (std::vector<std::string>{"/cameras/1", "/channels/0", "/colour", "/cooldown_seconds",
                                                     "/enabled", "/id", "/labels", "/name", "/severity"}));

  doc = valid();
  doc["condition"] = {{"type", "occupancy"}, {"for_seconds", 1.5}, {"window_seconds", 3}};
  EXPECT_EQ(pointers(doc),
            (std::vector<std::string>{"/condition/for_seconds", "/condition/min", "/condition/window_seconds"}));
  doc["condition"] = {{"type", "sometimes"}};
  EXPECT_EQ(pointers(doc), (std::vector<std::string>{"/condition/type"}));
  doc["condition"] = {{"type", "crossings"}, {"min", 0}, {"direction", "up"}};
  doc["zone"] = nullptr;
  EXPECT_EQ(pointers(doc),
            (std::vector<std::string>{"/condition/direction", "/condition/min", "/condition/window_seconds"}));
  doc["condition"] = {{"type", "dwell"}};
  EXPECT_EQ(pointers(doc), (std::vector<std::string>{"/condition/min_seconds"}));

  doc = valid();
  doc["line"] = "gate";
  EXPECT_EQ(pointers(doc), (std::vector<std::string>{"/line", "/line"}));  // zone and line; occupancy on a line
  doc = valid();
  doc["condition"] = {{"type", "camera_offline"}, {"for_seconds", 60}};
  EXPECT_EQ(pointers(doc), (std::vector<std::string>{"/labels", "/zone"}));
  doc = valid();
  doc["condition"] = {{"type", "event_start"}, {"min", 1}};
  EXPECT_EQ(pointers(doc), (std::vector<std::string>{"/condition/min"}));
}

TEST(RulesTest, ValidatesSchedules) {
  json doc = valid();
  doc["schedule"] = {
      {"days", {"fri", "caturday"}}, {"start", "24:00"}, {"end", "6:00"}, {"timezone", "Mars/Olympus"}, {"every", 2}};
  EXPECT_EQ(pointers(doc), (std::vector<std::string>{"/schedule/days/1", "/schedule/end", "/schedule/every",
                                                     "/schedule/start", "/schedule/timezone"}));
  doc["schedule"] = {{"days", json::array()}};
  EXPECT_EQ(pointers(doc), (std::vector<std::string>{"/schedule/days"}));
  doc["schedule"] = "nights";
  EXPECT_EQ(pointers(doc), (std::vector<std::string>{"/schedule"}));
  doc["schedule"] = nullptr;
  EXPECT_TRUE(pointers(doc).empty());
}

TEST(RulesTest, KnowsTimeZonesOfTheSystemDatabaseOnly) {
  EXPECT_TRUE(is_known_timezone("UTC"));
  EXPECT_TRUE(is_known_timezone("Europe/Berlin"));
  EXPECT_TRUE(is_known_timezone("America/New_York"));
  EXPECT_FALSE(is_known_timezone("Mars/Olympus"));
  EXPECT_FALSE(is_known_timezone(""));
  EXPECT_FALSE(is_known_timezone("/etc/passwd"));
  EXPECT_FALSE(is_known_timezone("../../../etc/passwd"));
  EXPECT_FALSE(is_known_timezone("Europe"));  // a directory
  EXPECT_FALSE(is_known_timezone("Europe/Berlin\n"));
}

TEST(RulesTest, WrappingScheduleInAnotherTimeZone) {
  // Fridays 22:00 to 06:00 (into Saturday), New York time (EST, UTC-5, in November).
  Schedule s{{4}, 22 * 60, 6 * 60, "America/New_York"};
  EXPECT_TRUE(s.active(1795838400000));   // 2026-11-28T04:00Z = Fri 23:00 EST
  EXPECT_TRUE(s.active(1795849200000));   // 2026-11-28T07:00Z = Sat 02:00 EST (wrapped)
  EXPECT_FALSE(s.active(1795867200000));  // 2026-11-28T12:00Z = Sat 07:00 EST
  EXPECT_FALSE(s.active(1795924800000));  // 2026-11-29T04:00Z = Sat 23:00 EST (Saturday not listed)
  EXPECT_FALSE(s.active(1795831200000));  // 2026-11-28T02:00Z = Fri 21:00 EST (Sat 02:00 in UTC)
  // The same window in UTC reads that instant as Saturday 02:00: inside.
  Schedule utc{{4}, 22 * 60, 6 * 60, "UTC"};
  EXPECT_TRUE(utc.active(1795831200000));
  // start == end: the whole of each listed day.
  Schedule saturday{{5}, 0, 0, "UTC"};
  EXPECT_TRUE(saturday.active(1795867200000));
  EXPECT_FALSE(saturday.active(1795924800000 + 86'400'000));  // Monday
  // A plain window.
  Schedule day{{5}, 9 * 60, 17 * 60, "UTC"};
  EXPECT_TRUE(day.active(1795867200000));   // Sat 12:00Z
  EXPECT_FALSE(day.active(1795849200000));  // Sat 07:00Z
}

TEST(RulesTest, AlertDocument) {
  AlertRecord a;
  a.id = "alert-1";
  a.rule_id = "rule-1";
  a.rule_name = "r";
  a.camera_id = "front";
  a.severity = "info";
  a.state = "firing";
  a.started_at = 1000;
  a.value = 3;
  json j = alert_to_json(a);
  EXPECT_EQ(j["camera"], "front");
  EXPECT_EQ(j["label"], nullptr);
  EXPECT_EQ(j["resolved_at"], nullptr);
  EXPECT_EQ(j["acknowledged"], false);
  EXPECT_EQ(j["value"], 3.0);
}

}  // namespace
}  // namespace argus::alerts
