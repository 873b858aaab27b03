// Thin RAII wrappers over the SQLite C API, private to the store module.
//
// Every failure becomes a Status whose message says what was being done and quotes
// SQLite's own words. A Connection and the Statements prepared on it are used by one
// thread at a time (connections are opened with SQLITE_OPEN_NOMUTEX).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace argus::sqlite {

struct ConnectionCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
// Owns an open connection; closing it finalizes nothing, so every Statement on it must be
// destroyed first.
using Connection = std::unique_ptr<sqlite3, ConnectionCloser>;

// `rc` (a failed result code from `db`, which may be null) as a Status:
// "<what>: <sqlite message>". The code follows the failure: busy/locked → Unavailable,
// I/O, full disk, permissions → IOError, corrupt or not a database → Corruption,
// out of memory → ResourceExhausted, anything else → Internal.
Status error(sqlite3* db, int rc, std::string_view what);

// Opens `path` with `flags` (SQLITE_OPEN_NOMUTEX and extended result codes are added),
// with `busy_timeout_ms` applied.
Result<Connection> open(const std::string& path, int flags, std::int64_t busy_timeout_ms);

// Runs one or more SQL statements that return no rows the caller needs.
Status exec(sqlite3* db, const std::string& sql, std::string_view what);

// A prepared statement. Bind errors are remembered and reported by the next step().
class Statement {
 public:
  static Result<Statement> prepare(sqlite3* db, std::string_view sql, std::string_view what);

  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, std::int64_t value);
  Statement& bind_null(int index);
  // Named apart from bind() so that an int argument is never ambiguous.
  Statement& bind_double(int index, double value);
  // Makes the statement ready to run again and clears every binding (and bind error).
  void reset();

  // Advances: true with a row to read, false when done, or the error.
  Result<bool> step();
  // Advances and returns SQLite's raw result code, for callers that treat specific codes
  // (e.g. a primary key violation) as expected outcomes. Reports a bind error first.
  int step_code();
  // Runs to completion, ignoring any rows.
  Status run();

  std::string column_text(int index) const;
  std::int64_t column_int64(int index) const;
  double column_double(int index) const;
  bool column_is_null(int index) const;

  // The error for a code returned by step_code().
  Status error(int rc) const { return sqlite::error(db_, rc, what_); }

 private:
  struct Finalizer {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::string_view what) : db_(db), stmt_(stmt), what_(what) {}
  void note_bind(int rc);

  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  std::string what_;
  int bind_rc_ = SQLITE_OK;
};

}  // namespace argus::sqlite
