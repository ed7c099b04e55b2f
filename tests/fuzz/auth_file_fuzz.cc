// libFuzzer target: arbitrary bytes as an auth file (containers auth.json,
// ~/.docker/config.json), searched for the credentials of a few hosts and
// repositories the way the registry client searches one
// (FindCredentialsInAuthFile; credential helpers are not run).
//
// Beyond "no crash, no leak, no UB, no exception" it checks that credentials
// found always have a user name.
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "registry/auth.h"

using namespace sluice;
using fuzz::Check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::AsText(data, size);
  static constexpr std::string_view kHosts[] = {"h", "docker.io", "registry.example:5000"};
  static constexpr std::string_view kRepositories[] = {"", "a", "a/b/c"};
  for (std::string_view host : kHosts) {
    for (std::string_view repository : kRepositories) {
      auto creds = registry::FindCredentialsInAuthFile(text, "<fuzz>", host, repository);
      if (creds.ok() && *creds) Check(!(*creds)->username.empty());
    }
  }
  return 0;
}
