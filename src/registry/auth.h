// Registry authentication pieces that need no network: credentials,
// WWW-Authenticate challenges, and the auth files podman/skopeo/docker share.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/status.h"

namespace sluice::io {
class FileSystem;
}

namespace sluice::registry {

struct Credentials {
  std::string username;
  std::string password;
};

// "USER:PASS" as given to --src-creds; the password may contain ':'.
Result<Credentials> ParseCredentials(std::string_view text);

// One challenge of a WWW-Authenticate header (RFC 7235).
struct Challenge {
  std::string scheme;                         // lower-cased: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lower-cased, values unquoted

  // The value of `key`, or "" when absent.
  std::string Param(const std::string& key) const;
};

// Parses a WWW-Authenticate value, which may hold several challenges:
//   Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull"
// kInvalidArgument when it is not a list of challenges.
Result<std::vector<Challenge>> ParseWwwAuthenticate(std::string_view header);

// Standard base64 through OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock.
std::string Base64Encode(std::string_view data);
Result<std::string> Base64Decode(std::string_view text);

// Finds the credentials for `host` (and `repository`, for auth.json entries
// keyed by a namespace such as "quay.io/team") in the text of one auth file:
// {"auths": {"KEY": {"auth": base64("user:pass")}}}. The most specific key
// wins: "host/a/b", then "host/a", then "host". Docker's legacy keys
// ("https://index.docker.io/v1/") are matched by their host part, and
// docker.io also matches index.docker.io and registry-1.docker.io.
// `source` names the file in errors (kInvalidArgument for bad JSON or base64).
// Credential helpers (credsStore, credHelpers) are not consulted.
Result<std::optional<Credentials>> FindCredentialsInAuthFile(std::string_view json,
                                                             std::string_view source,
                                                             std::string_view host,
                                                             std::string_view repository);

// The auth files searched, in order, as containers/image does:
// $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
// ${XDG_CONFIG_HOME:-$HOME/.config}/containers/auth.json, $HOME/.docker/config.json.
std::vector<std::string> DefaultAuthFiles();

// Searches `files` in order; missing files are skipped, the first file with
// an entry for the host wins. nullopt: anonymous.
Result<std::optional<Credentials>> LookupCredentials(io::FileSystem* fs,
                                                     const std::vector<std::string>& files,
                                                     std::string_view host,
                                                     std::string_view repository);

}  // namespace sluice::registry
