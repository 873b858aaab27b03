// The SQLite schema as an ordered list of migrations, and the code that applies them.
//
// Migration i (0-based) takes a database from schema version i to i + 1; the version lives
// in `PRAGMA user_version`. A released migration is never edited: change the schema by
// appending one.
#pragma once

#include <sqlite3.h>

#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace argus::sqlite {

std::span<const std::string_view> migrations();

// The schema version this binary writes: migrations().size().
int latest_schema_version();

// Reads the schema version of the database behind `db`. Corruption if `path` is not a
// SQLite database.
Result<int> read_schema_version(sqlite3* db, const std::string& path);

// Brings the database behind `db` (a read-write connection, outside any transaction) to
// latest_schema_version(), one transaction per migration, and returns the version reached.
// FailedPrecondition if the database is newer than this binary; nothing is changed then.
// Safe against another process migrating the same file at the same time.
Result<int> migrate(sqlite3* db, const std::string& path);

// The FailedPrecondition returned for a database written by a newer Argus.
Status newer_schema_error(const std::string& path, int version);

}  // namespace argus::sqlite
