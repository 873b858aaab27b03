// Export: events and count series written to a stream as CSV (RFC 4180) or JSON, paging
// through the Store so memory stays bounded whatever the range. Used by the API's export
// routes and reusable by a background export job.
//
// CSV: a header line, then one record per line ending in CRLF; a field containing a comma,
// a double quote, CR or LF is quoted with its quotes doubled; a text cell starting with
// '=', '+', '-' or '@' gets a leading single quote so spreadsheets do not run it as a
// formula. JSON: one array of objects (the same fields), written incrementally.
#pragma once

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "core/status.h"
#include "store/records.h"

namespace argus {

class Store;

enum class ExportFormat { kCsv, kJson };

// "csv" or "json"; nullopt otherwise.
std::optional<ExportFormat> parse_export_format(std::string_view text);
// "text/csv; charset=utf-8" or "application/json".
std::string_view export_content_type(ExportFormat format);

struct ExportSummary {
  std::size_t rows = 0;  // rows written
  // More than max_rows match: the output stops after max_rows rows and is incomplete (a
  // caller answering a request should discard it and ask for a narrower range).
  bool truncated = false;
};

// Writes the events matching `query` (its after and limit are ignored; the order is its
// sort order) to `out`. Columns: id, camera, label, start_time, end_time (RFC 3339, "" while
// open), score, top_score, zones (joined by ';'), crossings ("line:direction" joined by
// ';'), reviewed, note, snapshot, x1, y1, x2, y2. Store failures are returned as they come.
Result<ExportSummary> export_events(Store& store, EventQuery query, ExportFormat format, std::size_t max_rows,
                                    std::ostream& out);

// Writes the count series matching `query` (its after and limit are ignored). Columns:
// time (RFC 3339 bucket start), camera, scope, name, label, in, out, seen, occupancy (the
// bucket's peak).
Result<ExportSummary> export_counts(Store& store, CountSeriesQuery query, ExportFormat format, std::size_t max_rows,
                                    std::ostream& out);

// One CSV field as written by the exports (quoted and neutralized as described above).
std::string csv_text_field(std::string_view text);

}  // namespace argus
