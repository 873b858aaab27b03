#include "store/export.h"

#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "store/store.h"

namespace argus {
namespace {

using nlohmann::json;

constexpr std::size_t kPageSize = 500;

std::string number(double v) { return json(v).dump(); }

std::string dump(const json& doc) { return doc.dump(-1, ' ', false, json::error_handler_t::replace); }

void write_csv_row(std::ostream& out, const std::vector<std::string>& cells) {
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) out << ',';
    out << cells[i];
  }
  out << "\r\n";
}

// Writes rows as CSV or as one JSON array; `row` gives a record's cells and its JSON form.
class Writer {
 public:
  Writer(ExportFormat format, std::ostream& out, std::vector<std::string> header)
      : format_(format), out_(out), header_(std::move(header)) {
    if (format_ == ExportFormat::kCsv) {
      write_csv_row(out_, header_);
    } else {
      out_ << '[';
    }
  }

  void row(const std::vector<std::string>& csv_cells, const json& object) {
    if (format_ == ExportFormat::kCsv) {
      write_csv_row(out_, csv_cells);
    } else {
      out_ << (rows_ == 0 ? "\n" : ",\n") << dump(object);
    }
    ++rows_;
  }

  void finish() {
    if (format_ == ExportFormat::kJson) out_ << (rows_ == 0 ? "]\n" : "\n]\n");
    out_.flush();
  }

 private:
  ExportFormat format_;
  std::ostream& out_;
  std::vector<std::string> header_;
  std::size_t rows_ = 0;
};

Status stream_status(const std::ostream& out) {
  if (!out) return Status::io_error("writing the export failed");
  return Status::ok_status();
}

}  // namespace

std::optional<ExportFormat> parse_export_format(std::string_view text) {
  if (text == "csv") return ExportFormat::kCsv;
  if (text == "json") return ExportFormat::kJson;
  return std::nullopt;
}

std::string_view export_content_type(ExportFormat format) {
  return format == ExportFormat::kCsv ? "text/csv; charset=utf-8" : "application/json";
}

std::string csv_text_field(std::string_view text) {
  std::string value;
  if (!text.empty() && (text.front() == '=' || text.front() == '+' || text.front() == '-' || text.front() == '@')) {
    value = "'";
  }
  value += text;
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

Result<ExportSummary> export_events(Store& store, EventQuery query, ExportFormat format, std::size_t max_rows,
                                    std::ostream& out) {
  Writer w(format, out,
           {"id", "camera", "label", "start_time", "end_time", "score", "top_score", "zones", "crossings", "reviewed",
            "note", "snapshot", "x1", "y1", "x2", "y2"});
  ExportSummary summary;
  query.after.clear();
  query.limit = kPageSize;
  for (;;) {
    ARGUS_ASSIGN_OR_RETURN(Page<EventRecord> page, store.list_events(query));
    for (const EventRecord& e : page.items) {
      if (summary.rows == max_rows) {
        summary.truncated = true;
        w.finish();
        return summary;
      }
      std::string zones, crossings;
      json crossing_list = json::array();
      for (const std::string& z : e.zones) zones += (zones.empty() ? "" : ";") + z;
      for (const CrossingRecord& c : e.crossings) {
        crossings += (crossings.empty() ? "" : ";") + c.line + ":" + c.direction;
        crossing_list.push_back({{"line", c.line}, {"direction", c.direction}, {"time", format_rfc3339(c.time)}});
      }
      std::string start = format_rfc3339(e.start_time);
      std::string end = e.end_time != 0 ? format_rfc3339(e.end_time) : "";
      json object{{"id", e.id},
                  {"camera", e.camera_id},
                  {"label", e.label},
                  {"start_time", start},
                  {"end_time", e.end_time != 0 ? json(end) : json(nullptr)},
                  {"score", e.score},
                  {"top_score", e.top_score},
                  {"zones", e.zones},
                  {"crossings", std::move(crossing_list)},
                  {"reviewed", e.reviewed},
                  {"note", e.note},
                  {"snapshot", e.snapshot},
                  {"box", e.box}};
      w.row({csv_text_field(e.id), csv_text_field(e.camera_id), csv_text_field(e.label), start, end, number(e.score),
             number(e.top_score), csv_text_field(zones), csv_text_field(crossings), e.reviewed ? "true" : "false",
             csv_text_field(e.note), csv_text_field(e.snapshot), number(e.box[0]), number(e.box[1]), number(e.box[2]),
             number(e.box[3])},
            object);
      ++summary.rows;
    }
    ARGUS_RETURN_IF_ERROR(stream_status(out));
    if (!page.next_after) break;
    query.after = *page.next_after;
  }
  w.finish();
  ARGUS_RETURN_IF_ERROR(stream_status(out));
  return summary;
}

Result<ExportSummary> export_counts(Store& store, CountSeriesQuery query, ExportFormat format, std::size_t max_rows,
                                    std::ostream& out) {
  Writer w(format, out, {"time", "camera", "scope", "name", "label", "in", "out", "seen", "occupancy"});
  ExportSummary summary;
  query.after.clear();
  query.limit = kPageSize;
  for (;;) {
    ARGUS_ASSIGN_OR_RETURN(Page<CountRow> page, store.query_count_series(query));
    for (const CountRow& c : page.items) {
      if (summary.rows == max_rows) {
        summary.truncated = true;
        w.finish();
        return summary;
      }
      std::string time = format_rfc3339(c.bucket);
      json object{{"time", time}, {"camera", c.camera_id}, {"scope", c.scope}, {"name", c.name},     {"label", c.label},
                  {"in", c.in},   {"out", c.out},          {"seen", c.seen},   {"occupancy", c.peak}};
      w.row({time, csv_text_field(c.camera_id), c.scope, csv_text_field(c.name), csv_text_field(c.label),
             std::to_string(c.in), std::to_string(c.out), std::to_string(c.seen), std::to_string(c.peak)},
            object);
      ++summary.rows;
    }
    ARGUS_RETURN_IF_ERROR(stream_status(out));
    if (!page.next_after) break;
    query.after = *page.next_after;
  }
  w.finish();
  ARGUS_RETURN_IF_ERROR(stream_status(out));
  return summary;
}

}  // namespace argus
