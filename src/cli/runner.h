// Private to the cli module: what every client command shares — its connection options,
// one Runner per invocation that opens the session, sends requests, reports failures with
// the right exit code, and prints lists and objects in the chosen format.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/session.h"

namespace CLI {
class App;
}

namespace argus::cli {

// Options every command that talks to a server shares.
struct Common {
  std::string server;
  std::string token;
  bool json = false;
};

// Adds --server, --token and --json to `cmd`, bound to `c`.
void add_connection_options(CLI::App* cmd, Common& c);

// The base URL: --server, else ARGUS_SERVER, else http://127.0.0.1:8080.
std::string server_of(const std::string& flag, const Environment& env);
// The exit code a failed Status means (Unavailable 3, Unauthenticated 4, InvalidArgument 2, ...).
int exit_code_for(const Status& s);
// Prints "argus: <message>" on stderr and returns exit_code_for(s).
int fail(const Environment& env, const Status& s);
// A command's column of a list: its header and the JSON Pointer of the value in an item.
struct Column {
  std::string header;
  std::string pointer;
};

// The outcome of one API call.
struct Reply {
  int code = kExitOk;  // the exit code this outcome means (0 for 2xx)
  long status = 0;     // HTTP status; 0 when the server was not reached
  nlohmann::json doc;  // the parsed body (null when empty or not JSON)
  HttpResult http;
  std::string error;  // why the server was not reached (status 0)
  bool ok() const { return code == kExitOk; }
};

// One command invocation against one server. Not thread-safe.
class Runner {
 public:
  Runner(const Common& common, const Environment& env);

  // Opens the session (the credential); false when that failed (reported, code() set).
  bool open();

  // Sends a request (body: JSON, sent when not null). A 2xx answer is ok; anything else is
  // reported on stderr ("argus: <what>: <problem>") unless `quiet`, with code 3 when the
  // server was not reached, 4 for 401/403, else 1.
  Reply call(const std::string& method, const std::string& path, const nlohmann::json& body = nullptr,
             bool quiet = false, const RequestOptions& options = {}, const std::string& content_type = "");

  // call() with a body of raw bytes (an upload chunk) instead of JSON.
  Reply call_bytes(const std::string& method, const std::string& path, const std::string& bytes,
                   const std::string& content_type, bool quiet = false);

  // Prints what call() prints for a failed reply (it does nothing for an ok one).
  void report(const std::string& method, const std::string& path, const Reply& reply);

  // GET a paged collection: one page (`limit` items from `cursor`), or every page when
  // `all`. The items, and the cursor of the next page when one remains.
  struct Page {
    Reply reply;
    nlohmann::json items = nlohmann::json::array();
    std::string next_cursor;
  };
  Page list(const std::string& path, std::vector<std::pair<std::string, std::string>> query, int limit,
            const std::string& cursor, bool all);

  // Prints a list: JSON array of the items, else the columns as a table; a remaining cursor
  // is mentioned on stderr. Returns kExitOk.
  int print_list(const Page& page, const std::vector<Column>& columns);
  // Prints one document: as JSON, else its flattened members (or the `fields` given).
  int print_doc(const nlohmann::json& doc,
                const std::optional<std::vector<std::pair<std::string, std::string>>>& fields = std::nullopt);
  // A message for a person (stderr).
  void note(const std::string& text);

  Session& session() { return *session_; }
  const Environment& env() const { return env_; }
  const Common& common() const { return common_; }
  const Style& style() const { return style_; }
  std::ostream& out() { return *env_.out; }
  std::ostream& err() { return *env_.err; }
  int code() const { return code_; }
  bool json_output() const { return common_.json; }

  // Sleeps `ms` in small steps; false as soon as Ctrl-C was pressed.
  bool nap(long ms);
  bool interrupted() const { return env_.interrupted && env_.interrupted(); }

 private:
  Common common_;
  const Environment& env_;
  Style style_;
  std::optional<Session> session_;
  int code_ = kExitOk;
  Reply answer(const std::string& method, const std::string& path, Result<HttpResult> r, bool quiet);
};

// Reads a password from --password-file, --password-stdin or the terminal (asked twice
// when `confirm`), never from a flag. InvalidArgument when none of them can give one.
Result<std::string> read_password(const Environment& env, const std::string& file, bool from_stdin,
                                  const std::string& prompt, bool confirm);

// Registration of the command groups (resources.cpp, operations.cpp).
void add_resource_commands(CLI::App& cli, int* exit_code, std::shared_ptr<const Environment> env);
void add_operation_commands(CLI::App& cli, int* exit_code, std::shared_ptr<const Environment> env);

}  // namespace argus::cli
