// Reading secrets from a person or a script, and forgetting them afterwards.
#pragma once

#include <istream>
#include <string>

#include "core/status.h"

namespace argus::cli {

// True when standard input (output, error) is a terminal.
bool stdin_is_terminal();
bool stdout_is_terminal();
bool stderr_is_terminal();

// From now on SIGINT and SIGTERM only set a flag that interrupt_requested() reads, so a
// long-running command (a watch, a tail) can finish its output and exit 0.
void catch_interrupts();
bool interrupt_requested();

// Writes `prompt` to the terminal (standard error) and reads one line from standard input,
// which must be a terminal. With `echo` false the typed characters are not shown (termios),
// and the terminal is restored afterwards, also when SIGINT, SIGTERM, SIGHUP or SIGQUIT
// arrives meanwhile. Cancelled at end of input; IOError if the terminal cannot be set.
Result<std::string> ask_terminal(const std::string& prompt, bool echo);

// The first line of `in` without its line ending (for --password-stdin). InvalidArgument
// when it is empty.
Result<std::string> read_secret_line(std::istream& in);

// Overwrites the characters of `s` (so the secret does not linger in freed memory), then
// clears it.
void wipe(std::string& s);

}  // namespace argus::cli
