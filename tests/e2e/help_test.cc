// --help fits the terminal: wrapped at spaces only to the terminal's width
// (TIOCGWINSZ), else $COLUMNS, else 80, never cutting a token such as
// docker://HOST/REPO[:TAG|@DIGEST]; what is said is the same at any width.
#include <catch2/catch.hpp>
#include <map>
#include <sstream>

#include "e2e_support.h"

namespace sluice::e2e {
namespace {

using ::sluice::testing::ShellQuote;

// Every help text sluice has.
const std::vector<std::vector<std::string>> kHelps = {
    {"--help"},
    {"keygen", "--help"},
    {"plan", "--help"},
    {"export", "--help"},
    {"verify", "--help"},
    {"import", "--help"},
    {"inspect", "--help"},
    {"repair", "--help"},
    {"inventory", "--help"},
    {"ledger", "--help"},
    {"ledger", "show", "--help"},
    {"ledger", "confirm", "--help"},
    {"ledger", "rebuild", "--help"},
    {"completion", "--help"},
};

RunResult HelpAt(const std::string& columns, const std::vector<std::string>& args) {
  return Run(Concat({"env", "COLUMNS=" + columns, SLUICE_BINARY}, args));
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Whitespace-separated tokens, with how often each appears.
std::map<std::string, int> Tokens(const std::string& text) {
  std::map<std::string, int> tokens;
  std::istringstream in(text);
  for (std::string token; in >> token;) tokens[token] += 1;
  return tokens;
}

// Lines wider than `width` that hold more than one token.
std::vector<std::string> Overlong(const std::string& text, size_t width) {
  std::vector<std::string> bad;
  for (const std::string& line : Lines(text)) {
    if (line.size() > width && Tokens(line).size() > 1) bad.push_back(line);
  }
  return bad;
}

TEST_CASE("help wraps to $COLUMNS at spaces only, saying the same at any width", "[e2e][help]") {
  for (const auto& args : kHelps) {
    const RunResult wide = HelpAt("1000", args);
    INFO(wide.Describe());
    REQUIRE(wide.exit_code == 0);
    for (size_t width : {60, 120}) {
      const RunResult r = HelpAt(std::to_string(width), args);
      INFO("COLUMNS=" << width << "\n" << r.Describe());
      REQUIRE(r.exit_code == 0);
      CHECK(Overlong(r.out, width).empty());
      CHECK(Tokens(r.out) == Tokens(wide.out));
    }
  }
}

TEST_CASE("a reference in an option's help is never cut, however narrow", "[e2e][help]") {
  for (const char* columns : {"40", "60", "61", "62", "63", "80"}) {
    const RunResult r = HelpAt(columns, {"export", "--help"});
    INFO(r.Describe());
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("docker://HOST/REPO[:TAG|@DIGEST],") != std::string::npos);
    CHECK(r.out.find("docker-archive:FILE[:NAME:TAG|:@N]") != std::string::npos);
  }
  // The long usage of import breaks between its words only.
  const RunResult r = HelpAt("60", {"import", "--help"});
  CHECK(r.out.find("oci:DIR|docker://HOST[/PREFIX]|registry-storage:DIR[:PREFIX]") !=
        std::string::npos);
  CHECK(Overlong(r.out, 60).empty());
}

TEST_CASE("help with no $COLUMNS and no terminal fits 80 columns", "[e2e][help]") {
  for (const auto& args : kHelps) {
    const RunResult r = Run(Concat({"env", "-u", "COLUMNS", SLUICE_BINARY}, args));
    INFO(r.Describe());
    REQUIRE(r.exit_code == 0);
    CHECK(Overlong(r.out, 80).empty());
    CHECK(Tokens(r.out) == Tokens(HelpAt("1000", args).out));
  }
}

TEST_CASE("help on a terminal wraps to the terminal's width, whatever $COLUMNS says",
          "[e2e][help]") {
  // A pseudo-terminal 70 columns wide; $COLUMNS says otherwise.
  const RunResult r = Run(
      {"script", "-qfec",
       "stty cols 70 && COLUMNS=200 " + ShellQuote(std::string(SLUICE_BINARY)) + " export --help",
       "/dev/null"});
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  std::string out = r.out;
  out.erase(std::remove(out.begin(), out.end(), '\r'), out.end());
  CHECK(Overlong(out, 70).empty());
  size_t widest = 0;
  for (const std::string& line : Lines(out)) widest = std::max(widest, line.size());
  CHECK(widest > 60);  // it used the width it has
  CHECK(Tokens(out) == Tokens(HelpAt("1000", {"export", "--help"}).out));
}

}  // namespace
}  // namespace sluice::e2e
