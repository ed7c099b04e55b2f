// Registry authentication pieces that need no network: credentials,
// WWW-Authenticate challenges, and the auth files podman/skopeo/docker share.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/crypto.h"
#include "io/status.h"

namespace sluice::io {
class FileSystem;
}

namespace sluice::registry {

struct Credentials {
  std::string username;
  std::string password;
};

// "USER:PASSWORD", as an auth file's "auth" decodes and as --src-creds gives
// both; the password may contain ':'.
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

// Standard base64 (format/crypto.h), as auth files and Basic auth use it.
using format::Base64Decode;
using format::Base64Encode;

// Finds the inline credentials for `host` (and `repository`, for auth.json
// entries keyed by a namespace such as "quay.io/team") in the text of one
// auth file: {"auths": {"KEY": {"auth": base64("user:pass")}}}. The most
// specific key wins: "host/a/b", then "host/a", then "host". Docker's legacy
// keys ("https://index.docker.io/v1/") are matched by their host part, and
// docker.io also matches index.docker.io and registry-1.docker.io.
// `source` names the file in errors (kInvalidArgument for bad JSON or base64);
// a file named .dockercfg is docker's legacy format, whose root object is
// the "auths" map itself.
// Credential helpers (credsStore, credHelpers) are not consulted here; see
// LookupCredentials.
Result<std::optional<Credentials>> FindCredentialsInAuthFile(std::string_view json,
                                                             std::string_view source,
                                                             std::string_view host,
                                                             std::string_view repository);

// Asks the credential helper program docker-credential-NAME (found on PATH,
// run without a shell) for the credentials of `server`, as docker does: the
// argument "get", `server` on its stdin, {"ServerURL","Username","Secret"} as
// JSON on its stdout. Its output is bounded (1 MiB) and it is killed, with
// its process group, after `timeout_ms`.
//   - nullopt (anonymous): it exits non-zero saying "credentials not found
//     in native keychain", as the docker-credential-helpers do.
//   - kUnsupported: it returns an identity token (Username "<token>"), which
//     sluice cannot exchange for registry access.
//   - kInvalidArgument: NAME contains '/' (it must come from PATH).
//   - kAuth, naming the helper, the server and the first line of its error
//     output: it is not on PATH, fails otherwise, times out, writes too much
//     or writes something other than the JSON above.
Result<std::optional<Credentials>> RunCredentialHelper(std::string_view name,
                                                       std::string_view server,
                                                       int timeout_ms = 30000);

// The auth files searched when none is named (--authfile), as skopeo and
// containers/image (containers-auth.json(5)) search them:
//   - $REGISTRY_AUTH_FILE alone, when set: skopeo takes it as its --authfile,
//     and a file the user names is the only one searched;
//   - else, in order: $XDG_RUNTIME_DIR/containers/auth.json (or
//     /run/containers/UID/auth.json when XDG_RUNTIME_DIR is unset),
//     ${XDG_CONFIG_HOME:-$HOME/.config}/containers/auth.json,
//     $DOCKER_CONFIG/config.json (or $HOME/.docker/config.json), and
//     $HOME/.dockercfg (docker's legacy format).
std::vector<std::string> DefaultAuthFiles();

// Searches `files` in order; missing files are skipped. In each file, as
// docker decides (a legacy .dockercfg has entries only, step 2):
//   1. "credHelpers": {"HOST": "NAME"} naming the host: docker-credential-NAME
//      is asked for the key as written there (e.g. "127.0.0.1:5000");
//   2. else an inline "auths" entry (FindCredentialsInAuthFile);
//   3. else "credsStore": "NAME": docker-credential-NAME is asked for the
//      host ("https://index.docker.io/v1/" for docker.io, as docker login
//      stores it).
// The first file with credentials for the host wins; a helper that has none
// lets the search go on. nullopt: anonymous. Helper errors as
// RunCredentialHelper, with the auth file named.
Result<std::optional<Credentials>> LookupCredentials(io::FileSystem* fs,
                                                     const std::vector<std::string>& files,
                                                     std::string_view host,
                                                     std::string_view repository);

}  // namespace sluice::registry
