// What the files of the registry client share and nothing else sees: the
// request and buffered-response types of RegistryClient, scopes, limits and
// the reading of registry error bodies. Private to src/registry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "registry/http.h"
#include "registry/registry_client.h"

namespace sluice::registry {

inline constexpr size_t kMaxListPageSize = 32 << 20;
inline constexpr size_t kMaxErrorBody = 64 << 10;
inline constexpr size_t kMaxCaBundle = 16 << 20;

struct RegistryClient::Call {
  std::string method = "GET";
  std::string path;  // "/v2/..." below the registry, or an absolute URL
  std::vector<std::string> headers;
  std::string_view body;
  bool has_body = false;
  bool follow = false;
  bool retry = true;  // safe to send again after a failure
  std::string repository;
  std::vector<std::string> scopes;
  std::string what;  // "manifest HOST/REPO:TAG", for messages
};

struct RegistryClient::Response {
  int status = 0;
  HttpHeaders headers;
  std::string body;
  std::string url;
};

inline std::string PullScope(const std::string& repository) {
  return "repository:" + repository + ":pull";
}
inline std::string PushScope(const std::string& repository) {
  return "repository:" + repository + ":pull,push";
}

// "CODE: message; CODE: message" from a registry error body, or "".
std::string RegistryErrors(const std::string& body);

}  // namespace sluice::registry
