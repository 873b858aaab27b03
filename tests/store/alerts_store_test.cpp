// Tests of the alert_rules and alerts tables of the SQLite Store against real database files.
#include <gtest/gtest.h>

#include <string>

#include "store/store.h"
#include "testing/testing.h"

namespace argus {
namespace {

AlertRecord alert(const std::string& id, const std::string& camera, UnixMillis started,
                  const std::string& state = "firing") {
  AlertRecord a;
  a.id = id;
  a.rule_id = "r1";
  a.rule_name = "Rule one";
  a.camera_id = camera;
  a.label = "person";
  a.zone = "door";
  a.severity = "warning";
  a.state = state;
  a.started_at = started;
  if (state == "resolved") a.resolved_at = started + 1000;
  a.value = 2.5;
  a.message = "two people";
  return a;
}

class AlertsStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void open() {
    store_.reset();
    StoreOptions o;
    o.config.url = "sqlite://" + dir_.file("argus.db");
    o.clock = &clock_;
    auto s = open_store(o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store_ = std::move(s).value();
  }
  testing::TempDir dir_;
  argus::testing::ManualClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(AlertsStoreTest, RulesRoundTripAndPageById) {
  auto created = store_->create_alert_rule({"r2", R"({"name":"b"})", 0, 0});
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  EXPECT_EQ(created->created_at, clock_.now_ms());
  EXPECT_EQ(store_->create_alert_rule({"r2", "{}", 0, 0}).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->create_alert_rule({"r3", "[1]", 0, 0}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->create_alert_rule({"", "{}", 0, 0}).status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(store_->create_alert_rule({"r1", R"({"name":"a"})", 0, 0}).ok());
  ASSERT_TRUE(store_->create_alert_rule({"r3", R"({"name":"c"})", 0, 0}).ok());

  clock_.advance(50);
  auto updated = store_->update_alert_rule({"r2", R"({"name":"bb"})", 0, 0});
  ASSERT_TRUE(updated.ok()) << updated.status().to_string();
  EXPECT_EQ(updated->created_at, created->created_at);
  EXPECT_EQ(updated->updated_at, clock_.now_ms());
  EXPECT_EQ(store_->update_alert_rule({"nope", "{}", 0, 0}).status().code(), StatusCode::kNotFound);

  open();  // survives a reopen
  auto got = store_->get_alert_rule("r2");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, *updated);

  auto page = store_->list_alert_rules({"", 2});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].id, "r1");
  EXPECT_EQ(page->items[1].id, "r2");
  ASSERT_TRUE(page->next_after);
  auto rest = store_->list_alert_rules({*page->next_after, 2});
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->items.size(), 1u);
  EXPECT_EQ(rest->items[0].id, "r3");
  EXPECT_FALSE(rest->next_after);

  EXPECT_TRUE(store_->delete_alert_rule("r1").ok());
  EXPECT_EQ(store_->delete_alert_rule("r1").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->get_alert_rule("r1").status().code(), StatusCode::kNotFound);
}

TEST_F(AlertsStoreTest, SaveKeepsAcknowledgementAndAckIsIdempotent) {
  const UnixMillis t0 = clock_.now_ms();
  auto saved = store_->save_alert(alert("a1", "front", t0));
  ASSERT_TRUE(saved.ok()) << saved.status().to_string();
  EXPECT_EQ(*saved, alert("a1", "front", t0));

  auto acked = store_->acknowledge_alert("a1", t0 + 10, "u1");
  ASSERT_TRUE(acked.ok()) << acked.status().to_string();
  EXPECT_EQ(acked->acknowledged_at, t0 + 10);
  EXPECT_EQ(acked->acknowledged_by, "u1");
  auto again = store_->acknowledge_alert("a1", t0 + 20, "u2");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->acknowledged_at, t0 + 10);
  EXPECT_EQ(again->acknowledged_by, "u1");
  EXPECT_EQ(store_->acknowledge_alert("nope", t0, "u1").status().code(), StatusCode::kNotFound);

  // The engine resolving it later (with no ack in its copy) keeps the acknowledgement.
  AlertRecord resolved = alert("a1", "front", t0);
  resolved.state = "resolved";
  resolved.resolved_at = t0 + 30;
  resolved.value = 0;
  auto stored = store_->save_alert(resolved);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->acknowledged_at, t0 + 10);
  EXPECT_EQ(stored->acknowledged_by, "u1");
  auto got = store_->get_alert("a1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, *stored);
  EXPECT_EQ(got->state, "resolved");
  EXPECT_EQ(got->resolved_at, t0 + 30);

  AlertRecord bad = alert("a2", "front", t0);
  bad.state = "open";
  EXPECT_EQ(store_->save_alert(bad).status().code(), StatusCode::kInvalidArgument);
  bad = alert("a2", "front", t0);
  bad.severity = "fatal";
  EXPECT_EQ(store_->save_alert(bad).status().code(), StatusCode::kInvalidArgument);
  bad = alert("a2", "", t0);
  EXPECT_EQ(store_->save_alert(bad).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(AlertsStoreTest, ListFiltersAndPagesNewestFirst) {
  const UnixMillis t0 = clock_.now_ms();
  ASSERT_TRUE(store_->save_alert(alert("a1", "front", t0)).ok());
  ASSERT_TRUE(store_->save_alert(alert("a2", "back", t0 + 1000, "resolved")).ok());
  AlertRecord crit = alert("a3", "front", t0 + 2000);
  crit.severity = "critical";
  crit.rule_id = "r2";
  ASSERT_TRUE(store_->save_alert(crit).ok());
  ASSERT_TRUE(store_->save_alert(alert("a4", "front", t0 + 2000)).ok());  // same time as a3
  ASSERT_TRUE(store_->acknowledge_alert("a1", t0 + 5, "u1").ok());

  auto ids = [&](AlertQuery q) {
    std::vector<std::string> out;
    for (;;) {
      auto page = store_->list_alerts(q);
      EXPECT_TRUE(page.ok()) << page.status().to_string();
      if (!page.ok()) return out;
      for (const auto& a : page->items) out.push_back(a.id);
      if (!page->next_after) return out;
      q.after = *page->next_after;
    }
  };
  AlertQuery q;
  q.limit = 1;
  EXPECT_EQ(ids(q), (std::vector<std::string>{"a4", "a3", "a2", "a1"}));
  q = {};
  q.state = "resolved";
  EXPECT_EQ(ids(q), (std::vector<std::string>{"a2"}));
  q = {};
  q.severity = "critical";
  EXPECT_EQ(ids(q), (std::vector<std::string>{"a3"}));
  q = {};
  q.rule_id = "r1";
  q.camera = "front";
  EXPECT_EQ(ids(q), (std::vector<std::string>{"a4", "a1"}));
  q = {};
  q.cameras = std::vector<std::string>{"back"};
  EXPECT_EQ(ids(q), (std::vector<std::string>{"a2"}));
  q.cameras = std::vector<std::string>{};
  EXPECT_EQ(ids(q), (std::vector<std::string>{}));
  q = {};
  q.acknowledged = true;
  EXPECT_EQ(ids(q), (std::vector<std::string>{"a1"}));
  q.acknowledged = false;
  EXPECT_EQ(ids(q), (std::vector<std::string>{"a4", "a3", "a2"}));
  q = {};
  q.from = t0 + 1000;
  q.to = t0 + 2000;
  EXPECT_EQ(ids(q), (std::vector<std::string>{"a2"}));
  q = {};
  q.after = "garbage";
  EXPECT_EQ(store_->list_alerts(q).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(AlertsStoreTest, RetentionDeletesOnlyResolvedAlertsOlderThanTheCutoff) {
  const UnixMillis t0 = clock_.now_ms();
  ASSERT_TRUE(store_->save_alert(alert("old-resolved", "front", t0 - 10'000, "resolved")).ok());
  ASSERT_TRUE(store_->save_alert(alert("old-firing", "front", t0 - 10'000)).ok());
  ASSERT_TRUE(store_->save_alert(alert("new-resolved", "front", t0, "resolved")).ok());
  auto n = store_->delete_alerts_resolved_before(t0 - 1000);
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(store_->get_alert("old-resolved").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->get_alert("old-firing").ok());
  EXPECT_TRUE(store_->get_alert("new-resolved").ok());
}

}  // namespace
}  // namespace argus
