// Notification channels and dead letters in the SQLite Store, against real database files.
#include <gtest/gtest.h>

#include <string>

#include "store/store.h"
#include "testing/testing.h"

namespace argus {
namespace {

NotificationChannelRecord channel(const std::string& id) {
  NotificationChannelRecord c;
  c.id = id;
  c.name = "Channel " + id;
  c.type = "webhook";
  c.config = R"({"url":"https://x.example","secret":"k"})";
  return c;
}

DeadLetterRecord letter(const std::string& channel_id, const std::string& reason = "exhausted") {
  DeadLetterRecord d;
  d.kind = "notification";
  d.channel_id = channel_id;
  d.payload = R"({"kind":"alert.firing","data":{"n":1}})";
  d.error = "HTTP 500";
  d.reason = reason;
  d.attempts = 5;
  return d;
}

class NotifyStoreTest : public ::testing::Test {
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

TEST_F(NotifyStoreTest, ChannelsCreateGetListUpdateDelete) {
  auto a = store_->create_channel(channel("a"));
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_EQ(a->version, 1);
  EXPECT_EQ(a->created_at, clock_.now_ms());
  EXPECT_EQ(store_->create_channel(channel("a")).status().code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(store_->create_channel(channel("b")).ok());
  ASSERT_TRUE(store_->create_channel(channel("c")).ok());
  NotificationChannelRecord bad = channel("d");
  bad.config = "[1]";
  EXPECT_EQ(store_->create_channel(bad).status().code(), StatusCode::kInvalidArgument);

  auto page = store_->list_channels({"", 2});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[1].id, "b");
  ASSERT_TRUE(page->next_after);
  auto rest = store_->list_channels({*page->next_after, 2});
  ASSERT_EQ(rest->items.size(), 1u);
  EXPECT_EQ(rest->items[0].id, "c");
  EXPECT_FALSE(rest->next_after);

  clock_.advance(5);
  NotificationChannelRecord u = *a;
  u.name = "renamed";
  u.enabled = false;
  u.type = "";  // kept as stored
  auto updated = store_->update_channel(u, 1);
  ASSERT_TRUE(updated.ok()) << updated.status().to_string();
  EXPECT_EQ(updated->version, 2);
  EXPECT_EQ(updated->type, "webhook");
  EXPECT_EQ(updated->created_at, a->created_at);
  EXPECT_EQ(updated->updated_at, clock_.now_ms());
  EXPECT_EQ(store_->update_channel(u, 1).status().code(), StatusCode::kFailedPrecondition);
  u.id = "zz";
  EXPECT_EQ(store_->update_channel(u, std::nullopt).status().code(), StatusCode::kNotFound);

  // Survives a reopen of the file.
  open();
  auto got = store_->get_channel("a");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, *updated);
  ASSERT_TRUE(store_->delete_channel("a").ok());
  EXPECT_EQ(store_->delete_channel("a").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->get_channel("a").status().code(), StatusCode::kNotFound);
}

TEST_F(NotifyStoreTest, DeadLettersListNewestFirstWithFiltersAndPaging) {
  auto ids = store_->add_dead_letters({letter("a"), letter("b", "permanent"), letter("a"), letter("a", "shutdown")});
  ASSERT_TRUE(ids.ok()) << ids.status().to_string();
  ASSERT_EQ(ids->size(), 4u);
  EXPECT_LT((*ids)[0], (*ids)[3]);

  auto all = store_->list_dead_letters({});
  ASSERT_EQ(all->items.size(), 4u);
  EXPECT_EQ(all->items[0].id, (*ids)[3]);  // newest first
  EXPECT_EQ(all->items[0].failed_at, clock_.now_ms());
  EXPECT_EQ(all->items[3].payload, letter("a").payload);

  DeadLetterQuery q;
  q.filter.channel_id = "a";
  q.limit = 2;
  auto p1 = store_->list_dead_letters(q);
  ASSERT_EQ(p1->items.size(), 2u);
  ASSERT_TRUE(p1->next_after);
  q.before_id = p1->items.back().id;
  auto p2 = store_->list_dead_letters(q);
  ASSERT_EQ(p2->items.size(), 1u);
  EXPECT_EQ(p2->items[0].id, (*ids)[0]);
  EXPECT_FALSE(p2->next_after);

  EXPECT_EQ(*store_->count_dead_letters({"a", "", ""}), 3);
  EXPECT_EQ(*store_->count_dead_letters({"", "notification", "permanent"}), 1);
  EXPECT_EQ(*store_->count_dead_letters({"", "other", ""}), 0);

  auto one = store_->get_dead_letter((*ids)[1]);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->channel_id, "b");
  EXPECT_EQ(one->attempts, 5);
  EXPECT_EQ(one->error, "HTTP 500");
  ASSERT_TRUE(store_->delete_dead_letter((*ids)[1]).ok());
  EXPECT_EQ(store_->delete_dead_letter((*ids)[1]).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->get_dead_letter((*ids)[1]).status().code(), StatusCode::kNotFound);

  EXPECT_EQ(*store_->delete_dead_letters({"a", "", "shutdown"}), 1);
  EXPECT_EQ(*store_->delete_dead_letters({}), 2);
  EXPECT_EQ(*store_->count_dead_letters({}), 0);
}

TEST_F(NotifyStoreTest, DeadLettersAreCheckedAndKeepIncreasingIds) {
  DeadLetterRecord bad = letter("a");
  bad.payload = "{not json";
  EXPECT_EQ(store_->add_dead_letters({bad}).status().code(), StatusCode::kInvalidArgument);
  bad = letter("");
  EXPECT_EQ(store_->add_dead_letters({bad}).status().code(), StatusCode::kInvalidArgument);
  auto first = store_->add_dead_letters({letter("a")});
  ASSERT_TRUE(store_->delete_dead_letters({}).ok());
  open();
  auto second = store_->add_dead_letters({letter("a")});
  ASSERT_TRUE(second.ok());
  // AUTOINCREMENT: an id is never reused, so paging by id stays correct after purges.
  EXPECT_GT(second->at(0), first->at(0));
}

}  // namespace
}  // namespace argus
