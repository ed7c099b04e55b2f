// `sluice completion bash`: the script, sourced in bash, completes commands,
// options, an option's choices and file names, for every option --help
// lists (it is made from the same declarations); cmake --install puts it
// where bash-completion finds it.
#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>

#include "e2e_support.h"

namespace sluice::e2e {
namespace {

// The script, written once per process.
const std::string& Script() {
  static TempDir* dir = new TempDir();
  static const std::string path = [] {
    RunResult r = Sluice({"completion", "bash"});
    if (r.exit_code != 0 || !r.err.empty()) throw std::runtime_error(r.Describe());
    const std::string p = *dir / "sluice.bash";
    WriteFile(p, r.out);
    return p;
  }();
  return path;
}

// COMPREPLY after completing the last of `words` (the command line up to
// the cursor) with the script sourced in a plain bash.
std::set<std::string> Complete(const std::vector<std::string>& words) {
  RunResult r = Run(Concat({"bash", "--norc", "-c",
                            "source \"$1\" || exit 9; shift; COMP_WORDS=(\"$@\"); "
                            "COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _sluice; "
                            "printf '%s\\n' \"${COMPREPLY[@]}\"",
                            "bash", Script()},
                           words));
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  std::set<std::string> replies;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) replies.insert(line);
  }
  return replies;
}

using Replies = std::set<std::string>;

TEST_CASE("completion completes commands, options, choices and actions", "[e2e][completion]") {
  CHECK(Complete({"sluice", "ex"}) == Replies{"export"});
  CHECK(Complete({"sluice", "i"}) == Replies{"import", "inspect", "inventory"});
  CHECK(Complete({"sluice", "export", "--pl"}) == Replies{"--platform"});
  CHECK(Complete({"sluice", "export", "--no-"}) ==
        Replies{"--no-delta", "--no-signatures", "--no-referrers"});
  CHECK(Complete({"sluice", "export", "--base", ""}) == Replies{"sent", "delivered"});
  CHECK(Complete({"sluice", "ledger", ""}) == Replies{"show", "confirm", "rebuild", "--help"});
  CHECK(Complete({"sluice", "ledger", "confirm", "--tr"}) == Replies{"--trust"});
  CHECK(Complete({"sluice", "verify", "--q"}) == Replies{"--quiet"});
  CHECK(Complete({"sluice", "nonsense", "--"}).empty());
}

TEST_CASE("completion completes file names for file arguments and option values",
          "[e2e][completion]") {
  TempDir dir;
  WriteFile(dir / "site-a.sluice", "x");
  WriteFile(dir / "site-a.ledger", "x");
  WriteFile(dir / "other", "x");
  const std::string stem = dir / "site-a.";
  const Replies both{dir / "site-a.sluice", dir / "site-a.ledger"};
  CHECK(Complete({"sluice", "verify", stem}) == both);  // the positional BUNDLE
  CHECK(Complete({"sluice", "export", "--ledger", stem}) == both);
  CHECK(Complete({"sluice", "ledger", "show", "--ledger", dir / "site-a.l"}) ==
        Replies{dir / "site-a.ledger"});
}

TEST_CASE("completion offers every option that each command's --help lists", "[e2e][completion]") {
  const std::vector<std::vector<std::string>> commands = {{"keygen"},
                                                          {"plan"},
                                                          {"export"},
                                                          {"verify"},
                                                          {"import"},
                                                          {"inspect"},
                                                          {"repair"},
                                                          {"inventory"},
                                                          {"ledger", "show"},
                                                          {"ledger", "confirm"},
                                                          {"ledger", "rebuild"},
                                                          {"completion"}};
  // "  --name ..." and "  -o [ --output ] ..." at the start of a line.
  const std::regex option(R"(^  (-[a-z]) \[ (--[a-z-]+) \]|^  (--[a-z-]+))");
  for (const auto& command : commands) {
    RunResult help =
        Run(Concat(Concat({"env", "COLUMNS=1000", SLUICE_BINARY}, command), {"--help"}));
    INFO(help.Describe());
    REQUIRE(help.exit_code == 0);
    std::set<std::string> listed;
    std::istringstream in(help.out);
    for (std::string line; std::getline(in, line);) {
      std::smatch m;
      if (!std::regex_search(line, m, option)) continue;
      for (size_t i = 1; i < m.size(); ++i) {
        if (m[i].matched) listed.insert(m[i].str());
      }
    }
    REQUIRE(listed.size() >= 3);  // --help, --quiet and its own
    std::vector<std::string> words = Concat({"sluice"}, command);
    const Replies longs = Complete(Concat(words, {"--"}));
    const Replies shorts = Complete(Concat(words, {"-"}));
    for (const std::string& name : listed) {
      INFO(command.front() << (command.size() > 1 ? " " + command.back() : "") << " " << name);
      CHECK(shorts.count(name) == 1);
      if (name.starts_with("--")) CHECK(longs.count(name) == 1);
    }
  }
}

TEST_CASE("cmake --install puts the completion where bash-completion looks for it",
          "[e2e][completion]") {
  const std::filesystem::path build = std::filesystem::path(SLUICE_BINARY).parent_path();
  TempDir prefix;
  RunResult r = Run({"cmake", "--install", build.string(), "--prefix", prefix.path()});
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  const std::string installed = prefix / "share/bash-completion/completions/sluice";
  REQUIRE(Exists(installed));
  CHECK(ReadFile(installed) == Sluice({"completion", "bash"}).out);
  CHECK(Exists(prefix / "share/man/man1/sluice.1"));
}

TEST_CASE("completion for a shell sluice does not know is a usage error", "[e2e][completion]") {
  RunResult r = Sluice({"completion", "fish"});
  INFO(r.Describe());
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find("bash is the only shell known") != std::string::npos);
}

}  // namespace
}  // namespace sluice::e2e
