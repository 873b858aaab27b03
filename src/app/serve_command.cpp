// `argus serve`: parse flags, load the configuration, run until SIGINT/SIGTERM.
#include <pthread.h>
#include <unistd.h>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "app/app.h"
#include "core/log.h"

namespace argus::app {
namespace {

struct ServeFlags {
  std::string config_file;
  std::string listen;
  std::string data_dir;
  std::string log_level;
  std::string log_format;
  std::vector<std::string> sets;
  bool check_config = false;
  bool print_config = false;
  bool config_reference = false;
};

int run_serve(const ServeFlags& f) {
  if (f.config_reference) {
    std::cout << config_reference();
    return 0;
  }
  ConfigSources sources;
  sources.file = f.config_file;
  sources.env = argus_environment();
  if (sources.file.empty()) {
    if (auto it = sources.env.find("ARGUS_CONFIG"); it != sources.env.end()) sources.file = it->second;
  }
  if (!f.listen.empty()) sources.flags["server.listen"] = f.listen;
  if (!f.data_dir.empty()) sources.flags["data_dir"] = f.data_dir;
  if (!f.log_level.empty()) sources.flags["log.level"] = f.log_level;
  if (!f.log_format.empty()) sources.flags["log.format"] = f.log_format;
  for (const auto& kv : f.sets) {
    std::size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "argus: --set expects KEY=VALUE, got \"" << kv << "\"\n";
      return 1;
    }
    sources.flags[kv.substr(0, eq)] = kv.substr(eq + 1);
  }

  auto config = load_config(sources);
  if (!config.ok()) {
    std::cerr << "argus: " << config.status().message() << "\n"
              << "(run `argus serve --config-reference` for every key and what it allows)\n";
    return 1;
  }
  if (f.check_config) {
    std::cout << "configuration is valid" << (sources.file.empty() ? "" : " (" + sources.file + ")") << "\n";
    return 0;
  }
  if (f.print_config) {
    std::cout << config_to_yaml(*config);
    return 0;
  }

  log::init(config->log.level, config->log.format);
  // FFmpeg would print its own lines (connection refused...) past our logger; camera
  // problems are reported through camera status and our log instead.
  ::setenv("OPENCV_FFMPEG_LOGLEVEL", "-8", /*overwrite=*/0);

  // Block the shutdown signals in every thread; this thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  // SIGHUP is blocked too (not awaited here): the app reloads TLS certificates on it.
  sigset_t blocked = signals;
  sigaddset(&blocked, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto app = App::create(std::move(config).value());
  if (!app.ok()) {
    log::error("cannot start", {{"error", app.status().message()}});
    return 1;
  }
  Status started = (*app)->start();
  if (!started.ok()) {
    log::error("cannot start", {{"error", started.message()}});
    return 1;
  }

  int sig = 0;
  sigwait(&signals, &sig);
  log::info("signal received", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  // A second signal during shutdown ends the process at once.
  std::thread([signals] {
    int again = 0;
    sigwait(&signals, &again);
    log::warn("second signal: exiting without finishing shutdown");
    log::flush();
    _exit(130);
  }).detach();
  (*app)->stop();
  app->reset();
  log::flush();
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& cli, int* exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve = cli.add_subcommand("serve", "Run the Argus server");
  serve->add_option("-c,--config", flags->config_file, "YAML configuration file (env ARGUS_CONFIG)");
  serve->add_option("--listen", flags->listen, "HOST:PORT to listen on (env ARGUS_LISTEN, default 0.0.0.0:8080)");
  serve->add_option("--data-dir", flags->data_dir,
                    "Directory for the database and media (env ARGUS_DATA_DIR, default ./data)");
  serve->add_option("--log-level", flags->log_level, "trace|debug|info|warn|error|off (env ARGUS_LOG_LEVEL)");
  serve->add_option("--log-format", flags->log_format, "json|text (env ARGUS_LOG_FORMAT, default json)");
  serve->add_option("--set", flags->sets, "Set any configuration key: --set server.io_threads=4 (repeatable)");
  serve->add_flag("--check-config", flags->check_config, "Validate the configuration and exit 0 (valid) or 1");
  serve->add_flag("--print-config", flags->print_config, "Print the effective configuration as YAML and exit");
  serve->add_flag("--config-reference", flags->config_reference, "List every configuration key and exit");
  serve->callback([flags, exit_code] { *exit_code = run_serve(*flags); });
}

}  // namespace argus::app
