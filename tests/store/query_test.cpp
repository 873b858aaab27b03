// Tests of the query support of the SQLite Store (event filters and sort orders, review,
// deletion, detections, count series and rollups, retention, exports) against real
// database files in a temporary directory.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "store/export.h"
#include "store/store.h"
#include "testing/testing.h"

namespace argus {
namespace {

constexpr UnixMillis kT0 = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
constexpr UnixMillis kMinute = 60'000;
constexpr UnixMillis kHour = 3'600'000;
constexpr UnixMillis kDay = 86'400'000;
// A UTC midnight, for day buckets.
constexpr UnixMillis kDay0 = 1'699'920'000'000;  // 2023-11-14T00:00:00Z

std::int64_t count_rows(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  std::int64_t n = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) n = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close_v2(db);
  return n;
}

EventRecord event(const std::string& id, const std::string& camera, const std::string& label, UnixMillis start,
                  double top_score = 0.7) {
  EventRecord e;
  e.id = id;
  e.camera_id = camera;
  e.label = label;
  e.score = top_score;
  e.top_score = top_score;
  e.box = {0.1, 0.2, 0.3, 0.4};
  e.start_time = start;
  e.end_time = start + 5'000;
  e.updated_at = start + 5'000;
  return e;
}

CountDelta delta(const std::string& camera, const std::string& scope, const std::string& name, const std::string& label,
                 UnixMillis bucket, std::int64_t seen, std::int64_t in = 0, std::int64_t out = 0,
                 std::int64_t peak = 0) {
  return {camera, scope, name, label, bucket, seen, in, out, peak};
}

class QueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions o;
    o.config.url = "sqlite://" + db_path();
    o.clock = &clock_;
    auto r = open_store(o);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    store_ = std::move(r).value();
  }
  std::string db_path() const { return dir_.file("argus.db"); }

  std::vector<std::string> ids(EventQuery q) {
    std::vector<std::string> out;
    for (int guard = 0; guard < 1000; ++guard) {
      auto page = store_->list_events(q);
      EXPECT_TRUE(page.ok()) << page.status().to_string();
      if (!page.ok()) break;
      for (const auto& e : page->items) out.push_back(e.id);
      if (!page->next_after) break;
      q.after = *page->next_after;
    }
    return out;
  }

  std::vector<CountRow> series(CountSeriesQuery q) {
    std::vector<CountRow> out;
    for (int guard = 0; guard < 10000; ++guard) {
      auto page = store_->query_count_series(q);
      EXPECT_TRUE(page.ok()) << page.status().to_string();
      if (!page.ok()) break;
      out.insert(out.end(), page->items.begin(), page->items.end());
      if (!page->next_after) break;
      q.after = *page->next_after;
    }
    return out;
  }

  argus::testing::TempDir dir_;
  argus::testing::ManualClock clock_{kT0};  // never moved
  std::unique_ptr<Store> store_;
};

// ---------------------------------------------------------------------------------------
// Events

TEST_F(QueryTest, ListEventsFiltersByZoneLineScoreReviewAndCameraList) {
  EventRecord a = event("a", "front", "person", kT0, 0.9);
  a.zones = {"entrance", "street"};
  a.crossings = {{"door", "in", kT0 + 100}};
  EventRecord b = event("b", "front", "car", kT0 + 1'000, 0.4);
  b.zones = {"street"};
  EventRecord c = event("c", "yard", "person", kT0 + 2'000, 0.6);
  c.crossings = {{"gate", "out", kT0 + 2'100}, {"door", "out", kT0 + 2'200}};
  EventRecord d = event("d", "back", "person", kT0 + 3'000, 0.95);
  ASSERT_TRUE(store_->save_events({a, b, c, d}).ok());
  ASSERT_TRUE(store_->review_event("c", {.reviewed = true, .note = std::nullopt}).ok());

  EXPECT_EQ(ids({.zone = "street"}), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(ids({.zone = "entrance"}), (std::vector<std::string>{"a"}));
  EXPECT_EQ(ids({.zone = "str"}), (std::vector<std::string>{})) << "whole names only";
  EXPECT_EQ(ids({.line = "door"}), (std::vector<std::string>{"c", "a"}));
  EXPECT_EQ(ids({.line = "gate"}), (std::vector<std::string>{"c"}));
  EXPECT_EQ(ids({.min_score = 0.6}), (std::vector<std::string>{"d", "c", "a"}));
  EXPECT_EQ(ids({.min_score = 0.91}), (std::vector<std::string>{"d"}));
  EXPECT_EQ(ids({.reviewed = true}), (std::vector<std::string>{"c"}));
  EXPECT_EQ(ids({.reviewed = false}), (std::vector<std::string>{"d", "b", "a"}));
  EXPECT_EQ(ids({.cameras = std::vector<std::string>{"front", "back"}}), (std::vector<std::string>{"d", "b", "a"}));
  EXPECT_EQ(ids({.cameras = std::vector<std::string>{"front"}, .label = "person", .zone = "street", .min_score = 0.5}),
            (std::vector<std::string>{"a"}));
  EXPECT_EQ(ids({.from = kT0 + 1'000, .to = kT0 + 3'000, .ascending = true}), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(store_->list_events({.min_score = std::nan("")}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(QueryTest, EventsPageBothWaysWithoutGapsOrDuplicates) {
  std::vector<EventRecord> events;
  std::vector<std::string> expected_asc;
  for (int i = 0; i < 23; ++i) {
    // Pairs share a start time, so the id breaks ties.
    UnixMillis start = kT0 + (i / 2) * 1'000;
    std::string id = "e" + std::string(1, static_cast<char>('a' + i));
    events.push_back(event(id, "front", "person", start));
    expected_asc.push_back(id);
  }
  ASSERT_TRUE(store_->save_events(events).ok());
  std::vector<std::string> expected_desc(expected_asc.rbegin(), expected_asc.rend());
  for (std::size_t limit : {1u, 2u, 5u, 23u, 100u}) {
    EXPECT_EQ(ids({.limit = limit, .ascending = true}), expected_asc) << limit;
    EXPECT_EQ(ids({.limit = limit}), expected_desc) << limit;
  }
  // A key is tied to its order.
  auto page = store_->list_events({.limit = 3, .ascending = true});
  ASSERT_TRUE(page.ok());
  ASSERT_TRUE(page->next_after);
  auto wrong = store_->list_events({.after = *page->next_after, .limit = 3});
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
  auto desc = store_->list_events({.limit = 3});
  ASSERT_TRUE(desc.ok() && desc->next_after);
  EXPECT_EQ(store_->list_events({.after = *desc->next_after, .limit = 3, .ascending = true}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(QueryTest, ReviewChangesOnlyReviewFieldsAndSurvivesPipelineSaves) {
  EventRecord e = event("r1", "front", "person", kT0);
  e.snapshot = "snapshots/front/2023-11-14/r1.jpg";
  ASSERT_TRUE(store_->save_events({e}).ok());
  auto reviewed = store_->review_event("r1", {.reviewed = true, .note = std::string("a \"courier\", 2 boxes\n")});
  ASSERT_TRUE(reviewed.ok()) << reviewed.status().to_string();
  EventRecord expected = e;
  expected.reviewed = true;
  expected.note = "a \"courier\", 2 boxes\n";
  EXPECT_EQ(*reviewed, expected);
  // Only the note: reviewed stays.
  auto noted = store_->review_event("r1", {.reviewed = std::nullopt, .note = std::string("changed")});
  ASSERT_TRUE(noted.ok());
  EXPECT_TRUE(noted->reviewed);
  EXPECT_EQ(noted->note, "changed");
  // The pipeline saves the event again: the review stays.
  e.score = 0.99;
  ASSERT_TRUE(store_->save_events({e}).ok());
  auto got = store_->get_event("r1");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->reviewed);
  EXPECT_EQ(got->note, "changed");
  EXPECT_DOUBLE_EQ(got->score, 0.99);
  EXPECT_EQ(store_->review_event("absent", {.reviewed = true, .note = std::nullopt}).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_->review_event("r1", {.reviewed = std::nullopt, .note = std::string("\xff\xfe")}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(QueryTest, DeleteEventRemovesItAndItsDetectionsOnly) {
  EventRecord gone = event("gone", "front", "person", kT0);
  gone.snapshot = "snapshots/front/2023-11-14/gone.jpg";
  ASSERT_TRUE(store_->save_events({gone, event("kept", "front", "person", kT0 + 1)}).ok());
  ASSERT_TRUE(store_
                  ->save_detections({{"gone", "front", "person", kT0, 0.5, {0.1, 0.1, 0.2, 0.2}},
                                     {"gone", "front", "person", kT0 + 1'000, 0.6, {0.1, 0.1, 0.2, 0.2}},
                                     {"kept", "front", "person", kT0, 0.7, {0.1, 0.1, 0.2, 0.2}}})
                  .ok());
  auto deleted = store_->delete_event("gone");
  ASSERT_TRUE(deleted.ok()) << deleted.status().to_string();
  EXPECT_EQ(deleted->snapshot, "snapshots/front/2023-11-14/gone.jpg");
  EXPECT_EQ(store_->get_event("gone").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->delete_event("gone").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(count_rows(db_path(), "SELECT count(*) FROM detections WHERE event_id = 'gone'"), 0);
  EXPECT_EQ(count_rows(db_path(), "SELECT count(*) FROM detections WHERE event_id = 'kept'"), 1);
  EXPECT_TRUE(store_->get_event("kept").ok());
}

TEST_F(QueryTest, DetectionsRoundTripPageInTimeOrderAndIgnoreRepeats) {
  std::vector<DetectionRecord> dets;
  for (int i = 9; i >= 0; --i) {
    dets.push_back({"ev", "front", "person", kT0 + i * 1'000, 0.5 + i * 0.01, {0.1 * i / 10, 0.2, 0.3, 0.4}});
  }
  ASSERT_TRUE(store_->save_detections(dets).ok());
  // The same key again is ignored (the first stays).
  DetectionRecord repeat = dets.back();
  repeat.score = 0.01;
  ASSERT_TRUE(store_->save_detections({repeat}).ok());
  std::vector<DetectionRecord> all;
  PageRequest page{"", 3};
  for (int guard = 0; guard < 100; ++guard) {
    auto got = store_->list_detections("ev", page);
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    all.insert(all.end(), got->items.begin(), got->items.end());
    if (!got->next_after) break;
    page.after = *got->next_after;
  }
  std::vector<DetectionRecord> expected(dets.rbegin(), dets.rend());
  EXPECT_EQ(all, expected);
  EXPECT_TRUE(store_->list_detections("other", {"", 10})->items.empty());
  EXPECT_EQ(store_->list_detections("ev", {"x", 10}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->save_detections({{"", "front", "person", kT0, 0.5, {}}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->save_detections({{"ev", "front", "person", kT0, std::nan(""), {}}}).code(),
            StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------
// Counts

// Minute rows over two days, several series, peaks varying.
std::vector<CountDelta> two_days_of_counts() {
  std::vector<CountDelta> out;
  for (UnixMillis t = kDay0; t < kDay0 + 2 * kDay; t += 7 * kMinute) {
    std::int64_t k = (t - kDay0) / kMinute;
    out.push_back(delta("front", "camera", "", "person", t, k % 3 + 1, 0, 0, k % 5));
    if (k % 2 == 0) out.push_back(delta("front", "line", "door", "person", t, 0, k % 4, k % 3, 0));
    if (k % 3 == 0) out.push_back(delta("front", "zone", "entrance", "car", t, 1, 0, 0, k % 7));
    out.push_back(delta("yard", "camera", "", "person", t, 100, 0, 0, 100));
  }
  return out;
}

// The expected series computed here from the deltas, for comparison.
std::vector<CountRow> expected_series(const std::vector<CountDelta>& deltas, const std::string& camera, UnixMillis size,
                                      UnixMillis from = 0, UnixMillis to = 0) {
  std::map<std::tuple<UnixMillis, std::string, std::string, std::string>, CountRow> rows;
  for (const CountDelta& d : deltas) {
    if (d.camera_id != camera) continue;
    UnixMillis b = d.bucket - d.bucket % size;
    if (from != 0 && b < from - from % size) continue;
    if (to != 0 && b >= to) continue;
    auto [it, fresh] = rows.try_emplace({b, d.scope, d.name, d.label}, d);
    CountRow& r = it->second;
    if (fresh) {
      r.bucket = b;
      continue;
    }
    r.seen += d.seen;
    r.in += d.in;
    r.out += d.out;
    r.peak = std::max(r.peak, d.peak);
  }
  std::vector<CountRow> out;
  for (auto& [_, r] : rows) out.push_back(r);
  return out;
}

TEST_F(QueryTest, CountSeriesAreTheSameBeforeAndAfterRollup) {
  std::vector<CountDelta> deltas = two_days_of_counts();
  ASSERT_TRUE(store_->add_counts(deltas).ok());
  struct Case {
    CountBucket bucket;
    UnixMillis size;
  };
  auto check_all = [&](const std::string& when) {
    for (Case c :
         {Case{CountBucket::kMinute, kMinute}, Case{CountBucket::kHour, kHour}, Case{CountBucket::kDay, kDay}}) {
      for (std::size_t limit : {7u, 1000u}) {
        EXPECT_EQ(series({.camera = "front", .bucket = c.bucket, .limit = limit}),
                  expected_series(deltas, "front", c.size))
            << when << " size " << c.size << " limit " << limit;
      }
      // A range that starts and ends inside buckets is widened to whole buckets.
      UnixMillis from = kDay0 + 5 * kHour + 10 * kMinute + 5;
      UnixMillis to = kDay0 + kDay + 3 * kHour + 1;
      UnixMillis to_widened = to - to % c.size + c.size;
      EXPECT_EQ(series({.camera = "front", .bucket = c.bucket, .from = from, .to = to}),
                expected_series(deltas, "front", c.size, from, to_widened))
          << when << " range, size " << c.size;
      auto line_only = series({.camera = "front", .scope = "line", .name = "door", .bucket = c.bucket});
      std::vector<CountDelta> door;
      std::copy_if(deltas.begin(), deltas.end(), std::back_inserter(door),
                   [](const CountDelta& d) { return d.scope == "line"; });
      EXPECT_EQ(line_only, expected_series(door, "front", c.size)) << when;
    }
  };
  check_all("before rollup");
  // Half way through the second day: the first day and 12 hours of the second roll up.
  UnixMillis now = kDay0 + kDay + 12 * kHour + 30 * kMinute;
  auto first = store_->rollup_counts(now);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ(first->hourly_watermark, kDay0 + kDay + 12 * kHour);
  EXPECT_EQ(first->daily_watermark, kDay0 + kDay);
  EXPECT_GT(first->hourly_rows, 0);
  EXPECT_GT(first->daily_rows, 0);
  EXPECT_EQ(count_rows(db_path(), "SELECT count(*) FROM counts_daily"), first->daily_rows);
  check_all("after the first rollup");
  // Idempotent: the same time again writes nothing.
  auto again = store_->rollup_counts(now);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->hourly_rows, 0);
  EXPECT_EQ(again->daily_rows, 0);
  EXPECT_EQ(again->hourly_watermark, first->hourly_watermark);
  check_all("after a repeated rollup");
  // A minute row arriving late for an hour already rolled up joins its rollup.
  CountDelta late = delta("front", "camera", "", "person", kDay0 + 3 * kHour + 7 * kMinute, 5, 0, 0, 42);
  ASSERT_TRUE(store_->add_counts({late}).ok());
  deltas.push_back(late);
  check_all("after a late row");
  // Rolling up everything.
  auto rest = store_->rollup_counts(kDay0 + 3 * kDay);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->daily_watermark, kDay0 + 3 * kDay);
  check_all("after the full rollup");
  // The other camera is untouched by filters.
  EXPECT_EQ(series({.camera = "yard", .bucket = CountBucket::kDay}), expected_series(deltas, "yard", kDay));
}

TEST_F(QueryTest, CountSeriesRejectsBadQueries) {
  EXPECT_EQ(store_->query_count_series({}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->query_count_series({.camera = "x", .scope = "room"}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->query_count_series({.camera = "x", .after = "garbage"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->rollup_counts(-1).status().code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------
// Retention

TEST_F(QueryTest, PurgeDeletesOldAnalyticsAndReportsSnapshots) {
  const UnixMillis t = kDay0 + kDay;  // keep the second day
  EventRecord old_closed = event("old", "front", "person", t - kHour);
  old_closed.snapshot = "snapshots/front/2023-11-14/old.jpg";
  EventRecord spans = event("spans", "front", "person", t - 2'000);  // ends after t
  EventRecord stale_open = event("stale", "front", "person", t - kDay);
  stale_open.end_time = 0;
  stale_open.updated_at = t - kDay + 10;
  EventRecord live_open = event("live", "front", "person", t - kDay);
  live_open.end_time = 0;
  live_open.updated_at = t + 10;
  EventRecord recent = event("recent", "front", "person", t + kHour);
  recent.snapshot = "snapshots/front/2023-11-15/recent.jpg";
  ASSERT_TRUE(store_->save_events({old_closed, spans, stale_open, live_open, recent}).ok());
  ASSERT_TRUE(store_
                  ->save_detections({{"old", "front", "person", t - kHour, 0.5, {}},
                                     {"stale", "front", "person", t - kDay, 0.5, {}},
                                     {"spans", "front", "person", t - 2'000, 0.5, {}},
                                     {"spans", "front", "person", t + 1'000, 0.5, {}},
                                     {"recent", "front", "person", t + kHour, 0.5, {}}})
                  .ok());
  std::vector<CountDelta> deltas = two_days_of_counts();
  ASSERT_TRUE(store_->add_counts(deltas).ok());
  ASSERT_TRUE(store_->rollup_counts(kDay0 + 2 * kDay).ok());
  std::int64_t minute_rows_before = count_rows(db_path(), "SELECT count(*) FROM counts");
  std::int64_t old_minute_rows =
      count_rows(db_path(), "SELECT count(*) FROM counts WHERE bucket < " + std::to_string(t));

  auto purged = store_->purge_analytics_before(t);
  ASSERT_TRUE(purged.ok()) << purged.status().to_string();
  EXPECT_EQ(purged->events, 2);      // old, stale
  EXPECT_EQ(purged->detections, 3);  // old's, stale's, and spans's older one
  EXPECT_EQ(purged->snapshots, (std::vector<std::string>{"snapshots/front/2023-11-14/old.jpg"}));
  EXPECT_EQ(purged->count_rows, old_minute_rows);
  EXPECT_EQ(count_rows(db_path(), "SELECT count(*) FROM counts"), minute_rows_before - old_minute_rows);
  EXPECT_EQ(purged->daily_rows, 4) << "day one: front's camera, line and zone series, yard's camera series";
  EXPECT_EQ(count_rows(db_path(), "SELECT count(*) FROM counts_daily WHERE bucket < " + std::to_string(t)), 0);
  EXPECT_EQ(count_rows(db_path(), "SELECT count(*) FROM counts_hourly WHERE bucket < " + std::to_string(t)), 0);
  EXPECT_GT(count_rows(db_path(), "SELECT count(*) FROM counts_hourly"), 0);
  EXPECT_EQ(ids({.ascending = true}), (std::vector<std::string>{"live", "spans", "recent"}));
  EXPECT_EQ(store_->list_detections("spans", {"", 10})->items.size(), 1u);
  // What is left still answers the same as the minute rows.
  EXPECT_EQ(series({.camera = "front", .bucket = CountBucket::kHour}),
            series({.camera = "front", .bucket = CountBucket::kHour, .from = t}));
  // Nothing more to purge.
  auto again = store_->purge_analytics_before(t);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->events + again->detections + again->count_rows + again->hourly_rows + again->daily_rows, 0);
}

// ---------------------------------------------------------------------------------------
// Exports

TEST_F(QueryTest, CsvFieldsAreQuotedAndNeutralized) {
  EXPECT_EQ(csv_text_field("plain"), "plain");
  EXPECT_EQ(csv_text_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_text_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_text_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_text_field("cr\rhere"), "\"cr\rhere\"");
  EXPECT_EQ(csv_text_field("=SUM(A1)"), "'=SUM(A1)");
  EXPECT_EQ(csv_text_field("+1"), "'+1");
  EXPECT_EQ(csv_text_field("-1"), "'-1");
  EXPECT_EQ(csv_text_field("@cmd"), "'@cmd");
  EXPECT_EQ(csv_text_field("=1,2"), "\"'=1,2\"");
  EXPECT_EQ(csv_text_field(""), "");
}

TEST_F(QueryTest, ExportEventsAsCsvAndJsonPagesThroughEverythingWithinTheBound) {
  std::vector<EventRecord> events;
  for (int i = 0; i < 1'203; ++i)
    events.push_back(event("ev" + std::to_string(10'000 + i), "front", "person", kT0 + i));
  events[0].note = "=HYPERLINK(\"x\"), \"quoted\"\nsecond line";
  events[0].zones = {"a", "b"};
  events[0].crossings = {{"door", "in", kT0}};
  ASSERT_TRUE(store_->save_events(events).ok());

  std::ostringstream csv;
  auto summary = export_events(*store_, {.ascending = true}, ExportFormat::kCsv, 10'000, csv);
  ASSERT_TRUE(summary.ok()) << summary.status().to_string();
  EXPECT_EQ(summary->rows, 1'203u);
  EXPECT_FALSE(summary->truncated);
  std::string text = csv.str();
  EXPECT_EQ(text.substr(0, text.find("\r\n")),
            "id,camera,label,start_time,end_time,score,top_score,zones,crossings,reviewed,note,snapshot,x1,y1,x2,y2");
  EXPECT_NE(text.find("\r\nev10000,front,person,2023-11-14T22:13:20.000Z,2023-11-14T22:13:25.000Z,0.7,0.7,a;b,door:in,"
                      "false,\"'=HYPERLINK(\"\"x\"\"), \"\"quoted\"\"\nsecond line\",,0.1,0.2,0.3,0.4\r\n"),
            std::string::npos)
      << text.substr(0, 400);

  std::ostringstream js;
  summary = export_events(*store_, {.label = "person"}, ExportFormat::kJson, 10'000, js);
  ASSERT_TRUE(summary.ok());
  nlohmann::json doc = nlohmann::json::parse(js.str());
  ASSERT_EQ(doc.size(), 1'203u);
  EXPECT_EQ(doc[0]["id"], "ev11202") << "the query's order";
  EXPECT_EQ(doc[1'202]["note"], events[0].note);
  EXPECT_EQ(doc[1'202]["crossings"][0]["line"], "door");

  std::ostringstream bounded;
  summary = export_events(*store_, {}, ExportFormat::kJson, 1'000, bounded);
  ASSERT_TRUE(summary.ok());
  EXPECT_TRUE(summary->truncated);
  EXPECT_EQ(summary->rows, 1'000u);
  std::ostringstream exact;
  summary = export_events(*store_, {}, ExportFormat::kCsv, 1'203, exact);
  ASSERT_TRUE(summary.ok());
  EXPECT_FALSE(summary->truncated);

  std::ostringstream none;
  summary = export_events(*store_, {.camera = "nowhere"}, ExportFormat::kJson, 10, none);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(nlohmann::json::parse(none.str()), nlohmann::json::array());
}

TEST_F(QueryTest, ExportCountsWritesTheSeries) {
  ASSERT_TRUE(store_
                  ->add_counts({delta("front", "line", "=door", "person", kDay0, 0, 2, 1, 0),
                                delta("front", "line", "=door", "person", kDay0 + kMinute, 0, 3, 0, 0),
                                delta("front", "camera", "", "person", kDay0 + kHour, 4, 0, 0, 2)})
                  .ok());
  std::ostringstream csv;
  auto summary =
      export_counts(*store_, {.camera = "front", .bucket = CountBucket::kHour}, ExportFormat::kCsv, 100, csv);
  ASSERT_TRUE(summary.ok()) << summary.status().to_string();
  EXPECT_EQ(csv.str(),
            "time,camera,scope,name,label,in,out,seen,occupancy\r\n"
            "2023-11-14T00:00:00.000Z,front,line,'=door,person,5,1,0,0\r\n"
            "2023-11-14T01:00:00.000Z,front,camera,,person,0,0,4,2\r\n");
  std::ostringstream js;
  summary = export_counts(*store_, {.camera = "front", .bucket = CountBucket::kDay}, ExportFormat::kJson, 100, js);
  ASSERT_TRUE(summary.ok());
  nlohmann::json doc = nlohmann::json::parse(js.str());
  ASSERT_EQ(doc.size(), 2u);
  EXPECT_EQ(doc[0], (nlohmann::json{{"time", "2023-11-14T00:00:00.000Z"},
                                    {"camera", "front"},
                                    {"scope", "camera"},
                                    {"name", ""},
                                    {"label", "person"},
                                    {"in", 0},
                                    {"out", 0},
                                    {"seen", 4},
                                    {"occupancy", 2}}));
}

}  // namespace
}  // namespace argus
