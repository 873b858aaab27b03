// App: the composition root. Builds every component from the Config, owns them, starts
// them in dependency order and stops them in reverse order.
//
// Threading: create/start/stop are called from one controlling thread (main).
#pragma once

#include <chrono>
#include <memory>

#include "core/config.h"
#include "core/status.h"

namespace CLI {
class App;
}

namespace argus::app {

class App {
 public:
  // Prepares the data directory (created if missing, locked against a second server),
  // opens the store (applying migrations) and upserts the cameras declared in the config.
  static Result<std::unique_ptr<App>> create(Config config);
  ~App();  // stops if still running

  // Starts serving HTTP. IOError if the listen address cannot be bound.
  Status start();
  std::uint16_t port() const;
  // Ordered shutdown: stop accepting, let in-flight requests finish within
  // server.shutdown_timeout, then flush and close the store.
  void stop();

 private:
  struct Parts;
  explicit App(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

// Registers `argus serve` and its flags on the command line parser. The callback runs
// the server until SIGINT/SIGTERM and stores the process exit code in *exit_code.
void add_serve_command(CLI::App& cli, int* exit_code);

// Registers `argus analyze VIDEO` (JSON lines per frame and a summary) and `argus eval`
// (precision, recall and count error against a labeled set).
void add_analyze_commands(CLI::App& cli, int* exit_code);

}  // namespace argus::app
