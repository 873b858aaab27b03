// argus: one binary for the server (`argus serve`) and its command-line client.
// This file only dispatches subcommands.
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/app.h"
#include "cli/commands.h"

#include <argus_version.h>
#define ARGUS_VERSION_STRING ARGUS_VERSION

int main(int argc, char** argv) {
  CLI::App cli{"Argus: self-hosted AI camera analytics server and its client"};
  cli.require_subcommand(1);
  cli.set_version_flag("-V,--version", std::string("argus ") + ARGUS_VERSION_STRING);
  int exit_code = 0;
  argus::app::add_serve_command(cli, &exit_code);
  argus::app::add_analyze_commands(cli, &exit_code);
  argus::cli::add_client_commands(cli, &exit_code);
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = cli.exit(e);
    return rc == 0 ? 0 : argus::cli::kExitUsage;
  }
  return exit_code;
}
