#include "store/sqlite.h"

#include <climits>

namespace argus::sqlite {

Status error(sqlite3* db, int rc, std::string_view what) {
  std::string detail = db != nullptr && sqlite3_extended_errcode(db) == rc ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string message = std::string(what) + ": " + detail;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::unavailable(message + " (another connection or process holds the lock)");
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
    case SQLITE_AUTH:
      return Status::io_error(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::corruption(message);
    case SQLITE_NOMEM:
      return Status::resource_exhausted(message);
    default:
      return Status::internal(message);
  }
}

Result<Connection> open(const std::string& path, int flags, std::int64_t busy_timeout_ms) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  Connection db(raw);  // owned even when the open failed
  if (rc != SQLITE_OK) return error(db.get(), rc, "open database " + path);
  sqlite3_extended_result_codes(db.get(), 1);
  int timeout = busy_timeout_ms < 0 ? 0 : busy_timeout_ms > INT_MAX ? INT_MAX : static_cast<int>(busy_timeout_ms);
  rc = sqlite3_busy_timeout(db.get(), timeout);
  if (rc != SQLITE_OK) return error(db.get(), rc, "set busy_timeout on " + path);
  return db;
}

Status exec(sqlite3* db, const std::string& sql, std::string_view what) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::ok_status();
  std::string detail = err != nullptr ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  Status s = error(nullptr, rc, what);
  return Status(s.code(), std::string(what) + ": " + detail);
}

Result<Statement> Statement::prepare(sqlite3* db, std::string_view sql, std::string_view what) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return sqlite::error(db, rc, what);
  }
  return Statement(db, stmt, what);
}

void Statement::note_bind(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

Statement& Statement::bind(int index, std::string_view text) {
  note_bind(sqlite3_bind_text64(stmt_.get(), index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  note_bind(sqlite3_bind_int64(stmt_.get(), index, value));
  return *this;
}

Statement& Statement::bind_null(int index) {
  note_bind(sqlite3_bind_null(stmt_.get(), index));
  return *this;
}

Statement& Statement::bind_double(int index, double value) {
  note_bind(sqlite3_bind_double(stmt_.get(), index, value));
  return *this;
}

void Statement::reset() {
  // sqlite3_reset repeats the last step's error, which that step already reported.
  (void)sqlite3_reset(stmt_.get());
  (void)sqlite3_clear_bindings(stmt_.get());
  bind_rc_ = SQLITE_OK;
}

int Statement::step_code() {
  if (bind_rc_ != SQLITE_OK) return bind_rc_;
  return sqlite3_step(stmt_.get());
}

Result<bool> Statement::step() {
  int rc = step_code();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return error(rc);
}

Status Statement::run() {
  for (;;) {
    Result<bool> row = step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::ok_status();
  }
}

std::string Statement::column_text(int index) const {
  const unsigned char* text = sqlite3_column_text(stmt_.get(), index);
  int size = sqlite3_column_bytes(stmt_.get(), index);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
}

std::int64_t Statement::column_int64(int index) const { return sqlite3_column_int64(stmt_.get(), index); }

double Statement::column_double(int index) const { return sqlite3_column_double(stmt_.get(), index); }

bool Statement::column_is_null(int index) const { return sqlite3_column_type(stmt_.get(), index) == SQLITE_NULL; }

}  // namespace argus::sqlite
