#include "cli/terminal.h"

#include <termios.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>

namespace argus::cli {
namespace {

constexpr std::array<int, 4> kRestoreOn = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

// The terminal state to put back if a signal ends the process while echo is off. Written
// before the handlers are installed, read only by them.
termios g_saved_termios;

extern "C" void restore_terminal_and_die(int sig) {
  ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
  (void)!::write(STDERR_FILENO, "\n", 1);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void write_stderr(const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

// One line from fd 0, unbuffered (so nothing beyond the line is consumed). nullopt at end of
// input before any character.
Result<std::string> read_line_fd() {
  std::string line;
  line.reserve(256);  // no reallocation (and stray copies) for any sensible password
  while (true) {
    char c = 0;
    ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::io_error(std::string("cannot read the terminal: ") + std::strerror(errno));
    if (n == 0) {
      if (line.empty()) return Status::cancelled("no input");
      break;
    }
    if (c == '\n') break;
    line.push_back(c);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

bool stdin_is_terminal() { return ::isatty(STDIN_FILENO) == 1; }
bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }
bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

namespace {
volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void note_interrupt(int) { g_interrupted = 1; }
}  // namespace

void catch_interrupts() {
  struct sigaction act {};
  act.sa_handler = note_interrupt;
  sigemptyset(&act.sa_mask);
  ::sigaction(SIGINT, &act, nullptr);
  ::sigaction(SIGTERM, &act, nullptr);
}

bool interrupt_requested() { return g_interrupted != 0; }

Result<std::string> ask_terminal(const std::string& prompt, bool echo) {
  if (!stdin_is_terminal()) return Status::failed_precondition("standard input is not a terminal");
  write_stderr(prompt);
  if (echo) return read_line_fd();

  termios saved{};
  if (::tcgetattr(STDIN_FILENO, &saved) != 0) {
    return Status::io_error(std::string("cannot read the terminal settings: ") + std::strerror(errno));
  }
  g_saved_termios = saved;
  std::array<struct sigaction, kRestoreOn.size()> previous{};
  struct sigaction restore {};
  restore.sa_handler = restore_terminal_and_die;
  sigemptyset(&restore.sa_mask);
  for (std::size_t i = 0; i < kRestoreOn.size(); ++i) ::sigaction(kRestoreOn[i], &restore, &previous[i]);

  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;
  Result<std::string> line = Status::io_error("cannot turn off echo on the terminal");
  if (::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0) {
    line = read_line_fd();
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  }
  for (std::size_t i = 0; i < kRestoreOn.size(); ++i) ::sigaction(kRestoreOn[i], &previous[i], nullptr);
  return line;
}

Result<std::string> read_secret_line(std::istream& in) {
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return Status::invalid_argument("no password on standard input");
  return line;
}

void wipe(std::string& s) {
  volatile char* p = s.data();
  for (std::size_t i = 0; i < s.size(); ++i) p[i] = '\0';
  s.clear();
}

}  // namespace argus::cli
