// Child processes for tests: run a command to the end, or start one and act
// on the world while it runs. stdout and stderr go to files, never pipes, so
// no child blocks however much it writes. No Catch2 and no sluice code:
// failures to start or wait throw std::runtime_error.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace sluice::testing {

// What a finished child process did.
struct RunResult {
  int exit_code = -1;  // 128 + signal number when it was killed
  std::string out;
  std::string err;
  std::string command;  // for messages

  // The command, exit code, stdout and stderr, for INFO().
  std::string Describe() const;
  // The error line sluice printed on stderr ("sluice: error: ..."), or ""
  // when there is not exactly one. Progress lines may come before it.
  std::string ErrorLine() const;
};

// A running child: argv[0] (searched in PATH) with argv, stdin from
// stdin_path (or /dev/null when empty). Not copyable; the destructor kills
// (SIGKILL) and reaps a child still running.
class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv, const std::string& stdin_path = "");
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // False once the child has exited (it is then reaped).
  bool Running();
  // Waits for the child to exit; its exit code and everything it wrote.
  RunResult Wait();

 private:
  void Reap(int status);

  TempDir capture_;
  std::string command_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

// Runs argv to the end (see ChildProcess).
RunResult Run(const std::vector<std::string>& argv, const std::string& stdin_path = "");
// Runs `command` with /bin/sh -c to the end, stdin from /dev/null.
RunResult RunShell(const std::string& command);

// `s` in single quotes for /bin/sh.
std::string ShellQuote(const std::string& s);
// The arguments joined by spaces, each quoted unless plainly safe: a command
// line for messages and for /bin/sh.
std::string ShellQuote(const std::vector<std::string>& argv);

}  // namespace sluice::testing
