// The client subcommands of the argus binary (status, version, ...). They talk to a
// server given by --server or ARGUS_SERVER (default http://127.0.0.1:8080).
//
// Exit codes: 0 ok, 1 failed, 2 usage, 3 server unreachable, 4 not authorised.
#pragma once

namespace CLI {
class App;
}

namespace argus::cli {

enum ExitCode { kExitOk = 0, kExitFailed = 1, kExitUsage = 2, kExitUnreachable = 3, kExitUnauthorized = 4 };

// Registers every client subcommand; the chosen one stores its exit code in *exit_code.
void add_client_commands(CLI::App& cli, int* exit_code);

}  // namespace argus::cli
