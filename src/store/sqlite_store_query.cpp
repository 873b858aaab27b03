// The SQLite backend's query support: event review and deletion, detections, count series
// over minutes, hours and days with their rollups, and analytics retention.
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "store/sqlite_store_internal.h"

namespace argus {
namespace {

using store_internal::closed_error;
using store_internal::fetch_limit;
using store_internal::guarded;
using store_internal::kCountColumns;
using store_internal::kEventColumns;
using store_internal::read_event;

constexpr std::int64_t kMinuteMs = 60'000;
constexpr std::int64_t kHourMs = 3'600'000;
constexpr std::int64_t kDayMs = 86'400'000;

bool valid_utf8(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

std::int64_t floor_to(std::int64_t t, std::int64_t grain) { return t - (((t % grain) + grain) % grain); }
std::int64_t ceil_to(std::int64_t t, std::int64_t grain) {
  std::int64_t f = floor_to(t, grain);
  return f == t ? t : f + grain;
}

using Arg = std::variant<std::string, std::int64_t>;

void bind_all(sqlite::Statement& stmt, const std::vector<Arg>& args) {
  int index = 1;
  for (const Arg& arg : args) {
    std::visit([&](const auto& v) { stmt.bind(index, v); }, arg);
    ++index;
  }
}

// Reads the watermark of `grain` ("hour" or "day"); 0 when rollup never ran.
Result<std::int64_t> read_watermark(sqlite3* db, std::string_view grain, const std::string& path) {
  ARGUS_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                         sqlite::Statement::prepare(db, "SELECT watermark FROM counts_rollup WHERE grain = ?1",
                                                    "read the count rollup watermark from " + path));
  stmt.bind(1, grain);
  ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
  return row ? stmt.column_int64(0) : 0;
}

// The rollup table and bucket size of a grain.
struct Grain {
  std::string_view name;   // counts_rollup.grain
  std::string_view table;  // its rollup table
  std::int64_t ms;
};
constexpr Grain kHourGrain{"hour", "counts_hourly", kHourMs};
constexpr Grain kDayGrain{"day", "counts_daily", kDayMs};

}  // namespace

namespace store_internal {

Status add_counts_to_rollups(sqlite3* db, const std::vector<CountDelta>& deltas, const std::string& path) {
  for (const Grain& g : {kHourGrain, kDayGrain}) {
    ARGUS_ASSIGN_OR_RETURN(std::int64_t watermark, read_watermark(db, g.name, path));
    if (watermark == 0) continue;
    std::optional<sqlite::Statement> stmt;
    for (const CountDelta& d : deltas) {
      if (d.bucket >= watermark) continue;
      if (!stmt) {
        ARGUS_ASSIGN_OR_RETURN(
            sqlite::Statement s,
            sqlite::Statement::prepare(
                db,
                "INSERT INTO " + std::string(g.table) +
                    " (camera_id, scope, name, label, bucket, seen, crossings_in, crossings_out, peak) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                    "ON CONFLICT (camera_id, scope, name, label, bucket) DO UPDATE SET "
                    "seen = seen + excluded.seen, crossings_in = crossings_in + excluded.crossings_in, "
                    "crossings_out = crossings_out + excluded.crossings_out, peak = max(peak, excluded.peak)",
                "add late counts to " + std::string(g.table) + " in " + path));
        stmt.emplace(std::move(s));
      }
      stmt->reset();
      stmt->bind(1, d.camera_id).bind(2, d.scope).bind(3, d.name).bind(4, d.label);
      stmt->bind(5, floor_to(d.bucket, g.ms)).bind(6, d.seen).bind(7, d.in).bind(8, d.out).bind(9, d.peak);
      ARGUS_RETURN_IF_ERROR(stmt->run());
    }
  }
  return Status::ok_status();
}

}  // namespace store_internal

// ---------------------------------------------------------------------------------------
// Events: review and deletion

Result<EventRecord> SqliteStore::review_event(const std::string& id, const EventReview& review) {
  return guarded<Result<EventRecord>>("review event", [&]() -> Result<EventRecord> {
    if (closed_) return closed_error();
    if (review.note && !valid_utf8(*review.note)) return Status::invalid_argument("note is not valid UTF-8");
    std::optional<EventRecord> stored;
    WriteOutcome out = submit([&](sqlite3* db) -> WriteOutcome {
      Result<sqlite::Statement> stmt = sqlite::Statement::prepare(
          db,
          "UPDATE events SET reviewed = coalesce(?2, reviewed), note = coalesce(?3, note) WHERE id = ?1 "
          "RETURNING " +
              std::string(kEventColumns),
          "review event '" + id + "' in " + path_);
      if (!stmt.ok()) return {stmt.status(), std::nullopt, 0};
      stmt->bind(1, id);
      if (review.reviewed)
        stmt->bind(2, std::int64_t{*review.reviewed ? 1 : 0});
      else
        stmt->bind_null(2);
      if (review.note)
        stmt->bind(3, *review.note);
      else
        stmt->bind_null(3);
      Result<bool> row = stmt->step();
      if (!row.ok()) return {row.status(), std::nullopt, 0};
      if (!*row) return {Status::not_found("event '" + id + "' does not exist"), std::nullopt, 0};
      Result<EventRecord> event = read_event(*stmt);
      if (!event.ok()) return {event.status(), std::nullopt, 0};
      stored = std::move(event).value();
      return {stmt->run(), std::nullopt, 1};
    });
    if (!out.status.ok()) return out.status;
    if (!stored) return Status::internal("review of event '" + id + "' returned no event");
    return std::move(*stored);
  });
}

Result<EventRecord> SqliteStore::delete_event(const std::string& id) {
  return guarded<Result<EventRecord>>("delete event", [&]() -> Result<EventRecord> {
    if (closed_) return closed_error();
    std::optional<EventRecord> deleted;
    WriteOutcome out = submit([&](sqlite3* db) -> WriteOutcome {
      {
        Result<sqlite::Statement> stmt =
            sqlite::Statement::prepare(db, "DELETE FROM events WHERE id = ?1 RETURNING " + std::string(kEventColumns),
                                       "delete event '" + id + "' from " + path_);
        if (!stmt.ok()) return {stmt.status(), std::nullopt, 0};
        stmt->bind(1, id);
        Result<bool> row = stmt->step();
        if (!row.ok()) return {row.status(), std::nullopt, 0};
        if (!*row) return {Status::not_found("event '" + id + "' does not exist"), std::nullopt, 0};
        Result<EventRecord> event = read_event(*stmt);
        if (!event.ok()) return {event.status(), std::nullopt, 0};
        deleted = std::move(event).value();
        if (Status s = stmt->run(); !s.ok()) return {s, std::nullopt, 0};
      }
      Result<sqlite::Statement> dets =
          sqlite::Statement::prepare(db, "DELETE FROM detections WHERE event_id = ?1",
                                     "delete the detections of event '" + id + "' from " + path_);
      if (!dets.ok()) return {dets.status(), std::nullopt, 0};
      dets->bind(1, id);
      return {dets->run(), std::nullopt, 1};
    });
    if (!out.status.ok()) return out.status;
    if (!deleted) return Status::internal("deleting event '" + id + "' returned no event");
    return std::move(*deleted);
  });
}

// ---------------------------------------------------------------------------------------
// Detections

Status SqliteStore::save_detections(std::vector<DetectionRecord> detections) {
  return guarded<Status>("save detections", [&]() -> Status {
    if (closed_) return closed_error();
    for (std::size_t i = 0; i < detections.size(); ++i) {
      ARGUS_RETURN_IF_ERROR(store_internal::validate_detection(detections[i], i));
    }
    if (detections.empty()) return Status::ok_status();
    return submit([this, detections = std::move(detections)](sqlite3* db) -> WriteOutcome {
             Result<sqlite::Statement> stmt = sqlite::Statement::prepare(
                 db,
                 "INSERT INTO detections (event_id, time, camera_id, label, score, x1, y1, x2, y2) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (event_id, time) DO NOTHING",
                 "save " + std::to_string(detections.size()) + " detections to " + path_);
             if (!stmt.ok()) return {stmt.status(), std::nullopt, 0};
             for (const DetectionRecord& d : detections) {
               stmt->reset();
               stmt->bind(1, d.event_id).bind(2, d.time).bind(3, d.camera_id).bind(4, d.label);
               stmt->bind_double(5, d.score);
               for (int i = 0; i < 4; ++i) stmt->bind_double(6 + i, d.box[static_cast<std::size_t>(i)]);
               if (Status s = stmt->run(); !s.ok()) return {s, std::nullopt, 0};
             }
             return {Status::ok_status(), std::nullopt, 0};
           })
        .status;
  });
}

Result<Page<DetectionRecord>> SqliteStore::list_detections(const std::string& event_id, const PageRequest& page) {
  return guarded<Result<Page<DetectionRecord>>>("list detections", [&] {
    return with_reader([&](sqlite3* db) -> Result<Page<DetectionRecord>> {
      if (page.limit == 0) return Status::invalid_argument("page limit must be at least 1");
      std::optional<std::int64_t> after;
      if (!page.after.empty()) {
        std::int64_t t = 0;
        std::size_t used = 0;
        try {
          t = std::stoll(page.after, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != page.after.size()) {
          return Status::invalid_argument(
              "the paging key is not one this store handed out: start from the first page or pass "
              "the previous page's next key unchanged");
        }
        after = t;
      }
      ARGUS_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          sqlite::Statement::prepare(db,
                                     "SELECT event_id, camera_id, label, time, score, x1, y1, x2, y2 FROM detections "
                                     "WHERE event_id = ?1 AND (?2 IS NULL OR time > ?2) ORDER BY time LIMIT ?3",
                                     "list the detections of event '" + event_id + "' from " + path_));
      stmt.bind(1, event_id);
      if (after)
        stmt.bind(2, *after);
      else
        stmt.bind_null(2);
      stmt.bind(3, fetch_limit(page.limit));
      Page<DetectionRecord> out;
      for (;;) {
        ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row) break;
        if (out.items.size() == page.limit) {
          out.next_after = std::to_string(out.items.back().time);
          break;
        }
        DetectionRecord d;
        d.event_id = stmt.column_text(0);
        d.camera_id = stmt.column_text(1);
        d.label = stmt.column_text(2);
        d.time = stmt.column_int64(3);
        d.score = stmt.column_double(4);
        for (int i = 0; i < 4; ++i) d.box[static_cast<std::size_t>(i)] = stmt.column_double(5 + i);
        out.items.push_back(std::move(d));
      }
      return out;
    });
  });
}

// ---------------------------------------------------------------------------------------
// Count series and rollups

Result<Page<CountRow>> SqliteStore::query_count_series(const CountSeriesQuery& query) {
  if (query.bucket == CountBucket::kMinute) {
    // Minute rows are unique per (bucket, scope, name, label): the keyset query over the
    // rows themselves is the series, and pages without re-aggregating.
    if (query.from < 0 || query.to < 0) return Status::invalid_argument("from and to must not be negative");
    CountQuery rows{.camera = query.camera,
                    .scope = query.scope,
                    .name = query.name,
                    .label = query.label,
                    .from = floor_to(query.from, kMinuteMs),
                    .to = query.to != 0 ? ceil_to(query.to, kMinuteMs) : 0,
                    .after = query.after,
                    .limit = query.limit};
    return query_counts(rows);
  }
  return guarded<Result<Page<CountRow>>>("query count series", [&] {
    return with_reader([&](sqlite3* db) -> Result<Page<CountRow>> {
      if (query.camera.empty()) return Status::invalid_argument("counts need a camera");
      if (query.limit == 0) return Status::invalid_argument("page limit must be at least 1");
      if (!query.scope.empty() && !store_internal::is_count_scope(query.scope)) {
        return Status::invalid_argument("count scope must be one of camera, zone, line");
      }
      if (query.from < 0 || query.to < 0) return Status::invalid_argument("from and to must not be negative");
      const Grain& grain = query.bucket == CountBucket::kHour ? kHourGrain : kDayGrain;
      const std::int64_t size = grain.ms;
      std::int64_t from = floor_to(query.from, size);
      const std::int64_t to = query.to != 0 ? ceil_to(query.to, size) : 0;
      std::optional<store_internal::CountPageKey> after;
      if (!query.after.empty()) {
        ARGUS_ASSIGN_OR_RETURN(after, store_internal::parse_count_page_key(query.after));
        // Rows before the key's bucket cannot follow it: leave them out of the scan.
        from = std::max(from, floor_to(after->bucket, size));
      }

      // The conditions both parts share, after "camera_id = ?".
      std::vector<Arg> filter_args;
      std::string filters;
      if (!query.scope.empty()) {
        filters += " AND scope = ?";
        filter_args.emplace_back(query.scope);
      }
      if (!query.name.empty()) {
        filters += " AND name = ?";
        filter_args.emplace_back(query.name);
      }
      if (!query.label.empty()) {
        filters += " AND label = ?";
        filter_args.emplace_back(query.label);
      }
      if (from != 0) {
        filters += " AND bucket >= ?";
        filter_args.emplace_back(from);
      }
      if (to != 0) {
        filters += " AND bucket < ?";
        filter_args.emplace_back(to);
      }

      std::vector<Arg> args;
      std::string inner;
      const std::string size_text = std::to_string(size);
      auto minute_part = [&](std::string_view extra) {
        std::string sql = "SELECT camera_id, scope, name, label, bucket - (bucket % " + size_text +
                          ") AS b, seen, crossings_in, crossings_out, peak FROM counts WHERE camera_id = ?" + filters +
                          std::string(extra);
        args.emplace_back(query.camera);
        args.insert(args.end(), filter_args.begin(), filter_args.end());
        return sql;
      };
      // One statement reads the watermark and both tables, so a rollup committing meanwhile
      // is seen entirely or not at all.
      const std::string watermark =
          "(SELECT coalesce(max(watermark), 0) FROM counts_rollup WHERE grain = '" + std::string(grain.name) + "')";
      inner = "SELECT camera_id, scope, name, label, bucket AS b, seen, crossings_in, crossings_out, peak FROM " +
              std::string(grain.table) + " WHERE camera_id = ?" + filters + " AND bucket < " + watermark;
      args.emplace_back(query.camera);
      args.insert(args.end(), filter_args.begin(), filter_args.end());
      inner += " UNION ALL " + minute_part(" AND bucket >= " + watermark);
      std::string sql =
          "SELECT camera_id, scope, name, label, b, seen, cin, cout, peak FROM (SELECT camera_id, scope, name, label, "
          "b, sum(seen) AS seen, sum(crossings_in) AS cin, sum(crossings_out) AS cout, max(peak) AS peak FROM (" +
          inner + ") GROUP BY b, scope, name, label)";
      if (after) {
        sql += " WHERE (b, scope, name, label) > (?, ?, ?, ?)";
        args.emplace_back(after->bucket);
        args.emplace_back(after->scope);
        args.emplace_back(after->name);
        args.emplace_back(after->label);
      }
      sql += " ORDER BY b, scope, name, label LIMIT ?";
      args.emplace_back(fetch_limit(query.limit));
      ARGUS_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          sqlite::Statement::prepare(db, sql, "query the count series of camera '" + query.camera + "' from " + path_));
      bind_all(stmt, args);
      Page<CountRow> out;
      for (;;) {
        ARGUS_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row) break;
        if (out.items.size() == query.limit) {
          out.next_after = store_internal::count_page_key(out.items.back());
          break;
        }
        out.items.push_back(store_internal::read_count(stmt));
      }
      return out;
    });
  });
}

Result<RollupStats> SqliteStore::rollup_counts(UnixMillis now) {
  return guarded<Result<RollupStats>>("roll up counts", [&]() -> Result<RollupStats> {
    if (closed_) return closed_error();
    if (now < 0) return Status::invalid_argument("rollup time must not be negative");
    RollupStats stats;
    WriteOutcome out = submit([&](sqlite3* db) -> WriteOutcome {
      for (const Grain& g : {kHourGrain, kDayGrain}) {
        Result<std::int64_t> old = read_watermark(db, g.name, path_);
        if (!old.ok()) return {old.status(), std::nullopt, 0};
        const std::int64_t next = floor_to(now, g.ms);
        std::int64_t rows = 0;
        if (next > *old) {
          // The minute rows of [old, next) were never rolled up (the watermark only moves
          // here, in the same transaction), so their rollup rows are written whole.
          const std::string size = std::to_string(g.ms);
          Result<sqlite::Statement> stmt = sqlite::Statement::prepare(
              db,
              "INSERT INTO " + std::string(g.table) + " (" + std::string(kCountColumns) +
                  ") SELECT camera_id, scope, name, label, bucket - (bucket % " + size +
                  "), sum(seen), sum(crossings_in), sum(crossings_out), max(peak) FROM counts "
                  "WHERE bucket >= ?1 AND bucket < ?2 GROUP BY 1, 2, 3, 4, 5 "
                  "ON CONFLICT (camera_id, scope, name, label, bucket) DO UPDATE SET seen = excluded.seen, "
                  "crossings_in = excluded.crossings_in, crossings_out = excluded.crossings_out, peak = excluded.peak",
              "roll counts up into " + std::string(g.table) + " in " + path_);
          if (!stmt.ok()) return {stmt.status(), std::nullopt, 0};
          stmt->bind(1, *old).bind(2, next);
          if (Status s = stmt->run(); !s.ok()) return {s, std::nullopt, 0};
          rows = sqlite3_changes(db);
          Result<sqlite::Statement> mark =
              sqlite::Statement::prepare(db,
                                         "INSERT INTO counts_rollup (grain, watermark) VALUES (?1, ?2) "
                                         "ON CONFLICT (grain) DO UPDATE SET watermark = excluded.watermark",
                                         "advance the count rollup watermark in " + path_);
          if (!mark.ok()) return {mark.status(), std::nullopt, 0};
          mark->bind(1, g.name).bind(2, next);
          if (Status s = mark->run(); !s.ok()) return {s, std::nullopt, 0};
        }
        if (g.ms == kHourMs) {
          stats.hourly_rows = rows;
          stats.hourly_watermark = std::max(next, *old);
        } else {
          stats.daily_rows = rows;
          stats.daily_watermark = std::max(next, *old);
        }
      }
      return {Status::ok_status(), std::nullopt, 0};
    });
    if (!out.status.ok()) return out.status;
    return stats;
  });
}

// ---------------------------------------------------------------------------------------
// Retention

Result<PurgeStats> SqliteStore::purge_analytics_before(UnixMillis t) {
  return guarded<Result<PurgeStats>>("purge analytics", [&]() -> Result<PurgeStats> {
    if (closed_) return closed_error();
    PurgeStats stats;
    WriteOutcome out = submit([&](sqlite3* db) -> WriteOutcome {
      stats = {};
      constexpr std::string_view kOld = "coalesce(end_time, updated_at, start_time) < ?1";
      auto run = [&](const std::string& sql, std::int64_t arg, std::int64_t* changed) -> Status {
        ARGUS_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                               sqlite::Statement::prepare(db, sql, "purge analytics in " + path_));
        stmt.bind(1, arg);
        ARGUS_RETURN_IF_ERROR(stmt.run());
        if (changed != nullptr) *changed += sqlite3_changes(db);
        return Status::ok_status();
      };
      {
        Result<sqlite::Statement> stmt = sqlite::Statement::prepare(
            db, "SELECT snapshot FROM events WHERE " + std::string(kOld) + " AND coalesce(snapshot, '') != ''",
            "find the snapshots of old events in " + path_);
        if (!stmt.ok()) return {stmt.status(), std::nullopt, 0};
        stmt->bind(1, t);
        for (;;) {
          Result<bool> row = stmt->step();
          if (!row.ok()) return {row.status(), std::nullopt, 0};
          if (!*row) break;
          stats.snapshots.push_back(stmt->column_text(0));
        }
      }
      Status s = run("DELETE FROM detections WHERE event_id IN (SELECT id FROM events WHERE " + std::string(kOld) + ")",
                     t, &stats.detections);
      if (s.ok()) s = run("DELETE FROM detections WHERE time < ?1", t, &stats.detections);
      if (s.ok()) s = run("DELETE FROM events WHERE " + std::string(kOld), t, &stats.events);
      if (s.ok()) s = run("DELETE FROM counts WHERE bucket < ?1", t, &stats.count_rows);
      if (s.ok()) s = run("DELETE FROM counts_hourly WHERE bucket <= ?1", t - kHourMs, &stats.hourly_rows);
      if (s.ok()) s = run("DELETE FROM counts_daily WHERE bucket <= ?1", t - kDayMs, &stats.daily_rows);
      return {s, std::nullopt, 0};
    });
    if (!out.status.ok()) return out.status;
    return stats;
  });
}

}  // namespace argus
