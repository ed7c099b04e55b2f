// Environment variables set for a test's span. No Catch2 and no sluice code.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace sluice::testing {

// Sets each variable to its value, or unsets it for nullopt, and puts back
// what was there before when it goes. Child processes started meanwhile
// inherit the result. Not for tests that run threads while it is made or
// destroyed (setenv is not thread-safe).
class ScopedEnvironment {
 public:
  explicit ScopedEnvironment(const std::map<std::string, std::optional<std::string>>& values);
  ~ScopedEnvironment();
  ScopedEnvironment(const ScopedEnvironment&) = delete;
  ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

}  // namespace sluice::testing
