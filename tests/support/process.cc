#include "tests/support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "tests/support/files.h"

extern char** environ;

namespace sluice::testing {

std::string RunResult::Describe() const {
  std::ostringstream s;
  s << "$ " << command << "\nexit code " << exit_code << "\n--- stdout ---\n"
    << out << "--- stderr ---\n"
    << err << "--------------";
  return s.str();
}

std::string RunResult::ErrorLine() const {
  std::string found;
  int count = 0;
  std::istringstream lines(err);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("sluice: error: ", 0) == 0) {
      found = line;
      ++count;
    }
  }
  return count == 1 ? found : "";
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& stdin_path)
    : command_(ShellQuote(argv)) {
  if (argv.empty()) throw std::runtime_error("ChildProcess: no command");
  if (!stdin_path.empty()) command_ += " < " + stdin_path;
  const std::string out_path = capture_ / "stdout";
  const std::string err_path = capture_ / "stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(
      &actions, 0, stdin_path.empty() ? "/dev/null" : stdin_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int rc = posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

bool ChildProcess::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == 0) return true;
  Reap(status);
  return false;
}

RunResult ChildProcess::Wait() {
  if (pid_ > 0) {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0) {
      if (errno != EINTR)
        throw std::runtime_error("waitpid " + command_ + ": " + std::strerror(errno));
    }
    Reap(status);
  }
  RunResult result;
  result.command = command_;
  result.exit_code = exit_code_;
  result.out = ReadFile(capture_ / "stdout");
  result.err = ReadFile(capture_ / "stderr");
  return result;
}

void ChildProcess::Reap(int status) {
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  pid_ = -1;
}

RunResult Run(const std::vector<std::string>& argv, const std::string& stdin_path) {
  return ChildProcess(argv, stdin_path).Wait();
}

RunResult RunShell(const std::string& command) {
  RunResult result = Run({"/bin/sh", "-c", command});
  result.command = command;
  return result;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

std::string ShellQuote(const std::vector<std::string>& argv) {
  std::string s;
  for (const std::string& a : argv) {
    if (!s.empty()) s += ' ';
    bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$<>|&;*?()`~#") == std::string::npos;
    s += plain ? a : ShellQuote(a);
  }
  return s;
}

}  // namespace sluice::testing
