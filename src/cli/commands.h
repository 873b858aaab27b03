// The client subcommands of the argus binary: login, logout, whoami, status, health,
// cameras, events, counts, alerts, jobs, dlq, users, keys, maintenance, version. They talk
// to a server given by --server or ARGUS_SERVER (default http://127.0.0.1:8080) with the
// first credential found: --token, ARGUS_TOKEN, then the session `argus login` stored for
// that server (see session.h and credentials.h).
//
// Conventions (docs/cli.md): --json prints the server's documents (a list command: a JSON
// array of the items); otherwise tables on a terminal and tab-separated lines when piped;
// colour only on a terminal without NO_COLOR; data on stdout, messages on stderr.
// Exit codes: 0 ok, 1 failed (the server refused, 404, a job failed), 2 usage, 3 server
// unreachable, 4 not authorised (401/403, wrong password, not signed in, session expired).
#pragma once

#include <functional>
#include <iosfwd>
#include <string>

#include "core/clock.h"
#include "core/status.h"

namespace CLI {
class App;
}

namespace argus::cli {

enum ExitCode { kExitOk = 0, kExitFailed = 1, kExitUsage = 2, kExitUnreachable = 3, kExitUnauthorized = 4 };

// What the client commands take from the process, injected so tests run them without the
// real environment, terminal or clock. The pointers must outlive the registered commands.
struct Environment {
  // An environment variable's value; "" when unset.
  std::function<std::string(const std::string& name)> var;
  std::istream* in = nullptr;  // --password-stdin reads its first line
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  // Shows a prompt and reads a line on the terminal (without echo when `echo` is false);
  // null when there is no terminal to ask.
  std::function<Result<std::string>(const std::string& prompt, bool echo)> ask;
  const Clock* clock = nullptr;  // null: the system clock
  bool out_terminal = false;     // stdout is a terminal: tables, colour, screen redraws
  bool err_terminal = false;     // stderr is a terminal: progress bars
  // Called by the commands that run until Ctrl-C (status --watch, events tail, jobs wait)
  // before they start; afterwards `interrupted` tells whether Ctrl-C was pressed. Null:
  // nothing to install / never interrupted.
  std::function<void()> catch_interrupts;
  std::function<bool()> interrupted;
  // Waits `ms` milliseconds (null: really sleeps).
  std::function<void(long ms)> sleep;
};

// The real process: getenv, std::cin/cout/cerr, the terminal when standard input is one, and
// the system clock.
Environment process_environment();

// Registers every client subcommand; the chosen one stores its exit code in *exit_code.
void add_client_commands(CLI::App& cli, int* exit_code);
void add_client_commands(CLI::App& cli, int* exit_code, Environment env);

}  // namespace argus::cli
