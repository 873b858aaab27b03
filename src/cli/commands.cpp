#include "cli/commands.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include <argus_version.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/client.h"

namespace argus::cli {
namespace {

struct Common {
  std::string server;
  std::string token;
  bool json = false;
};

std::string default_token() {
  const char* env = std::getenv("ARGUS_TOKEN");
  return env != nullptr ? env : "";
}

std::string default_server() {
  const char* env = std::getenv("ARGUS_SERVER");
  return env != nullptr && *env != '\0' ? env : "http://127.0.0.1:8080";
}

void add_common(CLI::App* cmd, Common& c) {
  cmd->add_option("--server", c.server, "Server base URL (env ARGUS_SERVER, default http://127.0.0.1:8080)");
  cmd->add_option("--token", c.token, "Access token or API key (env ARGUS_TOKEN)");
  cmd->add_flag("--json", c.json, "Print machine-readable JSON");
}

int run_status(const Common& c) {
  Client client(c.server.empty() ? default_server() : c.server, c.token.empty() ? default_token() : c.token);
  auto info = client.request("GET", "/api/v1/system/info");
  if (!info.ok()) {
    std::cerr << "argus: " << info.status().message() << "\n";
    return kExitUnreachable;
  }
  auto ready = client.request("GET", "/ready");
  if (!ready.ok()) {
    std::cerr << "argus: " << ready.status().message() << "\n";
    return kExitUnreachable;
  }
  auto info_doc = nlohmann::json::parse(info->body, nullptr, false);
  auto ready_doc = nlohmann::json::parse(ready->body, nullptr, false);
  if (info->status == 401 || info->status == 403) {
    std::cerr << "argus: not authorised (HTTP " << info->status << ")\n";
    return kExitUnauthorized;
  }
  if (info->status != 200 || info_doc.is_discarded() || ready_doc.is_discarded()) {
    std::cerr << "argus: unexpected answer from " << client.server() << " (HTTP " << info->status << ")\n";
    return kExitFailed;
  }
  if (c.json) {
    std::cout << nlohmann::json{{"server", client.server()}, {"info", info_doc}, {"ready", ready_doc}}.dump() << "\n";
  } else {
    std::cout << "server   " << client.server() << "\n"
              << "status   " << ready_doc.value("status", "unknown") << "\n"
              << "version  " << info_doc.value("version", "?") << " (" << info_doc.value("git_revision", "?") << ")\n"
              << "uptime   " << static_cast<long long>(info_doc.value("uptime_seconds", 0.0)) << " s\n"
              << "storage  " << info_doc["storage"].value("kind", "?") << " (schema "
              << info_doc["storage"].value("schema_version", 0) << ")\n";
  }
  return ready->status == 200 ? kExitOk : kExitFailed;
}

}  // namespace

void add_client_commands(CLI::App& cli, int* exit_code) {
  auto common = std::make_shared<Common>();

  CLI::App* version = cli.add_subcommand("version", "Print the version of this binary");
  version->callback([exit_code] {
    std::cout << "argus " << ARGUS_VERSION << " (" << ARGUS_GIT_REVISION << ")\n";
    *exit_code = kExitOk;
  });

  CLI::App* status = cli.add_subcommand("status", "Show a server's state and readiness");
  add_common(status, *common);
  status->callback([common, exit_code] { *exit_code = run_status(*common); });
}

}  // namespace argus::cli
