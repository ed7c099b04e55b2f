// RunCommand (cli/cli_util.h): the backstop between a command and main(). No
// command of sluice throws on purpose, so the backstop is driven here by
// commands made to throw.
#include <catch2/catch.hpp>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "cli/cli_util.h"
#include "cli/command.h"

namespace sluice::cli {
namespace {

// Captures std::cerr while it lives.
class CapturedStderr {
 public:
  CapturedStderr() : old_(std::cerr.rdbuf(text_.rdbuf())) {}
  ~CapturedStderr() { std::cerr.rdbuf(old_); }
  std::string text() const { return text_.str(); }

 private:
  std::ostringstream text_;
  std::streambuf* old_;
};

TEST_CASE("an exception escaping a command is exit 70 and one line, never an abort") {
  const Command throws_std{"boom", "throws", [](const Args&) -> int {
                             throw std::runtime_error("bad \x1b[2J state");
                           }};
  CapturedStderr err;
  CHECK(RunCommand(throws_std, {}) == kExitInternal);
  // One line, with the control bytes of the message shown, not sent.
  CHECK(err.text() == "sluice: internal error: bad \\x1b[2J state\n");
}

TEST_CASE("an exception that is no std::exception is exit 70 naming the command") {
  const Command throws_int{"odd", "throws", [](const Args&) -> int { throw 7; }};
  CapturedStderr err;
  CHECK(RunCommand(throws_int, {}) == kExitInternal);
  CHECK(err.text() == "sluice: internal error: an unknown exception escaped 'odd'\n");
}

TEST_CASE("a command's own exit code passes through the backstop") {
  const Command fails{"fails", "returns 3", [](const Args& args) -> int {
                        return args.size() == 1 && args[0] == "x" ? kExitBadData : kExitOk;
                      }};
  CapturedStderr err;
  CHECK(RunCommand(fails, {"x"}) == kExitBadData);
  CHECK(RunCommand(fails, {}) == kExitOk);
  CHECK(err.text().empty());
}

}  // namespace
}  // namespace sluice::cli
