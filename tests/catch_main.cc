// The main of every test binary. Each test process gets a state directory
// of its own (XDG_STATE_HOME): sluice keeps a registry destination's import
// state there, keyed by host:port, and tests start registries on ports that
// later tests reuse; nor should a test write into the user's home.
#define CATCH_CONFIG_RUNNER
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <system_error>

int main(int argc, char* argv[]) {
  const char* tmp = getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr && tmp[0] == '/' ? tmp : "/tmp") +
                        "/sluice-test-state.XXXXXX";
  const char* state = mkdtemp(pattern.data());
  if (state != nullptr) setenv("XDG_STATE_HOME", state, 1);
  int result = Catch::Session().run(argc, argv);
  std::error_code ignored;
  if (state != nullptr) std::filesystem::remove_all(state, ignored);
  return result;
}
