// Reading a secret (a registry password) from a person or a pipe, one line
// at a time: the only place sluice touches the terminal's settings.
//
// Neither function puts the secret in a message: errors say what failed
// (no terminal, a line too long, standard input closed), never what was read.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "io/status.h"

namespace sluice::io {

// The longest secret line taken; a longer one is refused, not cut.
inline constexpr size_t kMaxSecretLine = 4096;

// Writes `prompt` to the controlling terminal (/dev/tty, not stdout or
// stderr, which may be redirected) and reads one line from it with echo
// turned off, as getpass(3) does; the terminal's settings are restored
// afterwards, also when SIGINT, SIGTERM, SIGHUP or SIGQUIT ends the process
// meanwhile (the signal then takes its default action). The line comes back
// without its newline.
//   - nullopt: the process has no controlling terminal (a cron job, a CI
//     runner, `setsid`); nothing was written.
//   - kInvalidArgument: the terminal was closed (end of input) before a
//     line, or the line is longer than kMaxSecretLine.
//   - kIoError: the terminal could not be read or set.
// Not thread-safe: one prompt at a time per process.
Result<std::optional<std::string>> ReadSecretFromTerminal(std::string_view prompt);

// Reads the first line of standard input (file descriptor 0), a byte at a
// time so that nothing after its newline is consumed, and returns it without
// the newline (and without a '\r' before it). A last line without a newline
// counts.
//   - kInvalidArgument: standard input is empty, or its first line is longer
//     than kMaxSecretLine.
//   - kIoError: reading failed.
Result<std::string> ReadSecretLineFromStdin();

}  // namespace sluice::io
