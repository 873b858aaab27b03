#include "cli/runner.h"

#include <chrono>
#include <fstream>
#include <thread>

#include <CLI/CLI.hpp>

#include "cli/credentials.h"
#include "cli/terminal.h"

namespace argus::cli {
namespace {

using nlohmann::json;

constexpr const char* kDefaultServer = "http://127.0.0.1:8080";

std::string what_of(const std::string& method, const std::string& path) {
  std::string p = path.substr(0, path.find('?'));
  return method + " " + p;
}

}  // namespace

void add_connection_options(CLI::App* cmd, Common& c) {
  cmd->add_option("--server", c.server, "Server base URL (env ARGUS_SERVER, default http://127.0.0.1:8080)");
  cmd->add_option("--token", c.token,
                  "Access token or API key (env ARGUS_TOKEN); by default the session stored by `argus login`");
  cmd->add_flag("--json", c.json, "Print the server's JSON (lists: a JSON array of the items)");
}

std::string server_of(const std::string& flag, const Environment& env) {
  if (!flag.empty()) return normalize_server(flag);
  std::string from_env = env.var ? env.var("ARGUS_SERVER") : "";
  return normalize_server(from_env.empty() ? kDefaultServer : from_env);
}

int exit_code_for(const Status& s) {
  switch (s.code()) {
    case StatusCode::kUnavailable:
      return kExitUnreachable;
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied:
    case StatusCode::kResourceExhausted:
      return kExitUnauthorized;
    case StatusCode::kInvalidArgument:
      return kExitUsage;
    default:
      return kExitFailed;
  }
}

int fail(const Environment& env, const Status& s) {
  *env.err << "argus: " << s.message() << "\n";
  return exit_code_for(s);
}

Runner::Runner(const Common& common, const Environment& env) : common_(common), env_(env) {
  style_.terminal = env.out_terminal;
  style_.color = use_color(env.out_terminal, env.var ? env.var("NO_COLOR") : "", env.var ? env.var("TERM") : "");
}

bool Runner::open() {
  SessionOptions options;
  options.server = server_of(common_.server, env_);
  options.flag_token = common_.token;
  options.env_token = env_.var ? env_.var("ARGUS_TOKEN") : "";
  options.clock = env_.clock;
  if (env_.var) {
    auto path = credentials_path(env_.var("ARGUS_CREDENTIALS"), env_.var("XDG_CONFIG_HOME"), env_.var("HOME"));
    if (path.ok()) options.credentials_path = *path;
  }
  auto s = Session::open(std::move(options));
  if (!s.ok()) {
    code_ = fail(env_, s.status());
    return false;
  }
  session_.emplace(std::move(s).value());
  if (env_.sleep) session_->client().set_sleeper(env_.sleep);
  return true;
}

Reply Runner::call(const std::string& method, const std::string& path, const json& body, bool quiet,
                   const RequestOptions& options, const std::string& content_type) {
  std::string payload;
  std::string ct = content_type;
  if (!body.is_null()) {
    payload = body.dump(-1, ' ', false, json::error_handler_t::replace);
    if (ct.empty()) ct = "application/json";
  }
  return answer(method, path, session_->request(method, path, payload, ct, options), quiet);
}

Reply Runner::call_bytes(const std::string& method, const std::string& path, const std::string& bytes,
                         const std::string& content_type, bool quiet) {
  return answer(method, path, session_->request(method, path, bytes, content_type), quiet);
}

Reply Runner::answer(const std::string& method, const std::string& path, Result<HttpResult> r, bool quiet) {
  Reply reply;
  if (!r.ok()) {
    reply.code = exit_code_for(r.status());
    reply.error = r.status().message();
    code_ = reply.code;
    if (!quiet) report(method, path, reply);
    return reply;
  }
  reply.status = r->status;
  reply.doc = r->body.empty() ? json() : json::parse(r->body, nullptr, false);
  if (reply.doc.is_discarded()) reply.doc = json();
  reply.http = std::move(*r);
  if (reply.status >= 200 && reply.status < 300) return reply;
  reply.code = (reply.status == 401 || reply.status == 403) ? kExitUnauthorized : kExitFailed;
  code_ = reply.code;
  if (!quiet) report(method, path, reply);
  return reply;
}

void Runner::report(const std::string& method, const std::string& path, const Reply& reply) {
  if (reply.ok()) return;
  if (reply.status == 0) {
    *env_.err << "argus: " << reply.error << "\n";
    return;
  }
  if (reply.status == 401 || reply.status == 403) {
    *env_.err << "argus: not authorised by " << session_->server() << " (" << what_of(method, path)
              << "): " << problem_text(reply.http);
    if (!session_->has_credential())
      *env_.err << "; run argus login --server " << session_->server() << " or pass --token";
    *env_.err << "\n";
    return;
  }
  *env_.err << "argus: " << what_of(method, path) << ": " << problem_text(reply.http) << "\n";
}

Runner::Page Runner::list(const std::string& path, std::vector<std::pair<std::string, std::string>> query, int limit,
                          const std::string& cursor, bool all) {
  Page page;
  std::string next = cursor;
  if (all && limit <= 0) limit = 500;
  if (limit > 0) query.emplace_back("limit", std::to_string(limit));
  while (true) {
    auto q = query;
    q.emplace_back("cursor", next);
    page.reply = call("GET", path + query_string(q));
    if (!page.reply.ok()) return page;
    const json& doc = page.reply.doc;
    if (doc.is_object() && doc.contains("items") && doc["items"].is_array()) {
      for (const auto& item : doc["items"]) page.items.push_back(item);
    }
    next = doc.is_object() ? doc.value("next_cursor", "") : "";
    if (!all || next.empty() || interrupted()) break;
  }
  page.next_cursor = next;
  return page;
}

int Runner::print_list(const Page& page, const std::vector<Column>& columns) {
  if (json_output()) {
    out() << page.items.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    std::vector<std::string> headers;
    for (const auto& c : columns) headers.push_back(c.header);
    std::vector<std::vector<std::string>> rows;
    for (const auto& item : page.items) {
      std::vector<std::string> row;
      for (const auto& c : columns) {
        std::string text = field(item, c.pointer);
        if (c.header == "STATE" || c.header == "STATUS") text = paint_state(style_, text);
        row.push_back(std::move(text));
      }
      rows.push_back(std::move(row));
    }
    print_table(out(), style_, headers, rows);
    if (style_.terminal && page.items.empty()) note("(none)");
  }
  if (!page.next_cursor.empty()) note("more: --cursor " + page.next_cursor + " for the next page, or --all");
  return kExitOk;
}

int Runner::print_doc(const json& doc, const std::optional<std::vector<std::pair<std::string, std::string>>>& fields) {
  if (json_output()) {
    out() << doc.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    print_fields(out(), style_, fields ? *fields : flatten(doc));
  }
  return kExitOk;
}

void Runner::note(const std::string& text) { err() << text << "\n"; }

bool Runner::nap(long ms) {
  const long step = 50;
  for (long waited = 0; waited < ms; waited += step) {
    if (interrupted()) return false;
    long chunk = std::min(step, ms - waited);
    if (env_.sleep) {
      env_.sleep(chunk);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(chunk));
    }
  }
  return !interrupted();
}

Result<std::string> read_password(const Environment& env, const std::string& file, bool from_stdin,
                                  const std::string& prompt, bool confirm) {
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) return Status::invalid_argument("cannot read the password file " + file);
    return read_secret_line(in);
  }
  if (from_stdin) return read_secret_line(*env.in);
  if (!env.ask) {
    return Status::invalid_argument(
        "no terminal to ask for the password: use --password-file FILE or --password-stdin (see --help)");
  }
  auto first = env.ask(prompt, false);
  if (!first.ok()) return Status::invalid_argument("cancelled");
  if (first->empty()) return Status::invalid_argument("the password is empty");
  if (confirm) {
    auto again = env.ask("Again: ", false);
    if (!again.ok()) return Status::invalid_argument("cancelled");
    if (*again != *first) {
      wipe(*again);
      wipe(*first);
      return Status::invalid_argument("the two passwords differ");
    }
    wipe(*again);
  }
  return first;
}

}  // namespace argus::cli
