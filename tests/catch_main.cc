// The main of every test binary. Each test process gets a state directory
// of its own (XDG_STATE_HOME): sluice keeps a registry destination's import
// state there, keyed by host:port, and tests start registries on ports that
// later tests reuse; nor should a test write into the user's home.
//
// A watchdog turns a hang into a report: ctest kills a test at its timeout
// and prints nothing about where it stood, so shortly before that the
// process describes itself on stderr (each thread's kernel and user stack,
// its io_uring queues, the processes it started) and aborts.
#define CATCH_CONFIG_RUNNER
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;

// Under tools/test's per-test timeout of 600 s.
constexpr int kDefaultWatchdogSeconds = 560;

std::string Slurp(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// What a hung process can tell about itself without help: per thread, its
// name, where the kernel holds it and its kernel stack (root only); the
// state of every io_uring it owns; every process it started, and theirs.
void DescribeSelf(std::ostream& out) {
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/self/task", ec)) {
    out << "== thread " << task.path().filename().string() << " " << Slurp(task.path() / "comm")
        << "   wchan " << Slurp(task.path() / "wchan") << "\n"
        << Slurp(task.path() / "stack");
  }
  for (const auto& fd : fs::directory_iterator("/proc/self/fdinfo", ec)) {
    std::string info = Slurp(fd.path());
    if (info.find("SqHead") != std::string::npos) {
      out << "== io_uring fd " << fd.path().filename().string() << "\n"
          << info.substr(0, 600) << "\n";
    }
  }
  // Every descendant: a hang may sit in a grandchild (a shell's command).
  std::map<std::string, std::vector<std::string>> children;
  std::map<std::string, std::string> states;
  for (const auto& proc : fs::directory_iterator("/proc", ec)) {
    std::string stat = Slurp(proc.path() / "stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::string state, parent;
    fields >> state >> parent;
    children[parent].push_back(proc.path().filename().string());
    states[proc.path().filename().string()] = state;
  }
  std::vector<std::string> pending = children[std::to_string(getpid())];
  while (!pending.empty()) {
    std::string pid = pending.back();
    pending.pop_back();
    const fs::path proc = fs::path("/proc") / pid;
    std::string cmdline = Slurp(proc / "cmdline");
    for (char& c : cmdline) {
      if (c == '\0') c = ' ';
    }
    out << "== process " << pid << " (" << states[pid] << ") " << cmdline << "\n"
        << Slurp(proc / "stack");
    pending.insert(pending.end(), children[pid].begin(), children[pid].end());
  }
}

void StartWatchdog() {
  const char* setting = getenv("SLUICE_TEST_WATCHDOG_SECONDS");
  const int seconds = setting != nullptr ? atoi(setting) : kDefaultWatchdogSeconds;
  if (seconds <= 0) return;
  std::thread([seconds] {
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    std::ostringstream report;
    report << "\nwatchdog: test process " << getpid() << " still running after " << seconds
           << " s; where it stands:\n";
    DescribeSelf(report);
    std::cerr << report.str() << std::flush;
    // User stacks need a debugger; without gdb the kernel's view above stands alone.
    std::string gdb = "command -v gdb >/dev/null && timeout 60 gdb -p " + std::to_string(getpid()) +
                      " -batch -ex 'thread apply all bt' </dev/null 2>&1 | grep -v '^\\[New' >&2";
    (void)system(gdb.c_str());
    abort();
  }).detach();
}

}  // namespace

int main(int argc, char* argv[]) {
  const char* tmp = getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr && tmp[0] == '/' ? tmp : "/tmp") +
                        "/sluice-test-state.XXXXXX";
  const char* state = mkdtemp(pattern.data());
  if (state != nullptr) setenv("XDG_STATE_HOME", state, 1);
  StartWatchdog();
  int result = Catch::Session().run(argc, argv);
  std::error_code ignored;
  if (state != nullptr) std::filesystem::remove_all(state, ignored);
  return result;
}
