// Helpers shared by the translation units of the SQLite backend. Private to the store
// module.
#pragma once

#include <cstdint>
#include <exception>
#include <initializer_list>
#include <limits>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "core/status.h"
#include "store/sqlite.h"
#include "store/sqlite_store.h"

namespace argus {
namespace store_internal {

inline Status closed_error() { return Status::unavailable("store is closed"); }

// Runs `f`, turning any exception into Internal: no exception leaves the store.
template <typename R, typename F>
R guarded(std::string_view what, F&& f) noexcept {
  try {
    return f();
  } catch (const std::exception& e) {
    return Status::internal(std::string(what) + ": " + e.what());
  } catch (...) {
    return Status::internal(std::string(what) + ": unknown exception");
  }
}

// Rows to fetch for a page of `limit` items: one extra tells whether another page follows.
inline std::int64_t fetch_limit(std::size_t limit) {
  constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(limit >= kMax ? kMax : limit + 1);
}

// A SELECT assembled from optional conditions, each with its own "?" placeholders, so that
// the query planner sees only the filters in use and can pick the matching index.
class QueryBuilder {
 public:
  using Arg = std::variant<std::string, std::int64_t, double>;

  // Adds `condition`, whose placeholders take `args` in order.
  void where(std::string_view condition, std::initializer_list<Arg> args) {
    where_ += where_.empty() ? " WHERE " : " AND ";
    where_ += condition;
    args_.insert(args_.end(), args);
  }

  // Adds `condition` with one real-valued placeholder.
  void where_real(std::string_view condition, double value) {
    where_ += where_.empty() ? " WHERE " : " AND ";
    where_ += condition;
    args_.emplace_back(value);
  }

  // `column IN (?, ?, ...)` over `values`; an empty list matches nothing.
  void where_in(std::string_view column, const std::vector<std::string>& values) {
    where_ += where_.empty() ? " WHERE " : " AND ";
    if (values.empty()) {
      where_ += "0";
      return;
    }
    where_ += std::string(column) + " IN (";
    for (std::size_t i = 0; i < values.size(); ++i) {
      where_ += i == 0 ? "?" : ", ?";
      args_.emplace_back(values[i]);
    }
    where_ += ")";
  }

  std::string sql(std::string_view select, std::string_view order_by) const {
    return std::string(select) + where_ + " ORDER BY " + std::string(order_by) + " LIMIT ?";
  }

  // " WHERE ..." alone (for a DELETE or a count); "" without conditions.
  const std::string& where_clause() const { return where_; }

  // Binds every condition's arguments, then `limit` to the final placeholder.
  void bind(sqlite::Statement& stmt, std::int64_t limit) const { stmt.bind(bind_conditions(stmt), limit); }

  // Binds every condition's arguments from placeholder 1; returns the next free index.
  int bind_conditions(sqlite::Statement& stmt) const {
    int index = 1;
    for (const Arg& arg : args_) {
      std::visit(
          [&](const auto& v) {
            if constexpr (std::is_same_v<std::decay_t<decltype(v)>, double>) {
              stmt.bind_double(index, v);
            } else {
              stmt.bind(index, v);
            }
          },
          arg);
      ++index;
    }
    return index;
  }

 private:
  std::string where_;
  std::vector<Arg> args_;
};

constexpr std::string_view kEventColumns =
    "id, camera_id, label, score, top_score, box, zones, crossings, start_time, end_time, "
    "updated_at, snapshot, reviewed, note";

// Reads a row selected with kEventColumns.
inline Result<EventRecord> read_event(const sqlite::Statement& stmt) {
  EventRecord e;
  e.id = stmt.column_text(0);
  e.camera_id = stmt.column_text(1);
  e.label = stmt.column_text(2);
  e.score = stmt.column_double(3);
  e.top_score = stmt.column_double(4);
  e.start_time = stmt.column_int64(8);
  e.end_time = stmt.column_int64(9);  // NULL while open reads as 0
  e.updated_at = stmt.column_int64(10);
  e.snapshot = stmt.column_text(11);
  e.reviewed = stmt.column_int64(12) != 0;
  e.note = stmt.column_text(13);
  ARGUS_RETURN_IF_ERROR(
      decode_event_columns(stmt.column_text(5), stmt.column_text(6), stmt.column_text(7), e));
  return e;
}

constexpr std::string_view kCountColumns =
    "camera_id, scope, name, label, bucket, seen, crossings_in, crossings_out, peak";

inline CountRow read_count(const sqlite::Statement& stmt) {
  CountRow r;
  r.camera_id = stmt.column_text(0);
  r.scope = stmt.column_text(1);
  r.name = stmt.column_text(2);
  r.label = stmt.column_text(3);
  r.bucket = stmt.column_int64(4);
  r.seen = stmt.column_int64(5);
  r.in = stmt.column_int64(6);
  r.out = stmt.column_int64(7);
  r.peak = stmt.column_int64(8);
  return r;
}

// Adds minute rows written for buckets that are already rolled up (before a watermark of
// rollup_counts) to their hourly and daily rows, inside the caller's write transaction.
Status add_counts_to_rollups(sqlite3* db, const std::vector<CountDelta>& deltas, const std::string& path);

}  // namespace store_internal

// Runs `f(sqlite3*)` on a checked-out read connection (see SqliteStore).
template <typename F>
auto SqliteStore::with_reader(F&& f) -> decltype(f(static_cast<sqlite3*>(nullptr))) {
  sqlite::Connection db;
  {
    std::unique_lock lock(readers_mu_);
    readers_cv_.wait(lock, [&] { return readers_closed_ || !idle_readers_.empty(); });
    if (readers_closed_) return store_internal::closed_error();
    db = std::move(idle_readers_.back());
    idle_readers_.pop_back();
    ++readers_out_;
  }
  struct Return {
    SqliteStore* store;
    sqlite::Connection& db;
    ~Return() { store->release_reader(std::move(db)); }
  } give_back{this, db};
  return f(db.get());
}

}  // namespace argus
