// The registry options skopeo users know, for the one registry side a
// command talks to ("src" for export, "dest" for import and inventory):
//   --src-creds USER[:PASSWORD]  --src-authfile FILE  --src-cert-dir DIR
//   --src-tls-verify=false       (and --dest-... alike)
// and, for either side, --authfile FILE (the default of --src-authfile and
// --dest-authfile, itself defaulting to $REGISTRY_AUTH_FILE, as skopeo's),
// --password-stdin (as skopeo login's) and --timeout SECONDS.
//
// Where credentials come from, first match wins:
//   1. --src-creds USER:PASSWORD; or --src-creds USER with the password read
//      from standard input (--password-stdin) or else the terminal;
//   2. the auth file a --config file names for its images (authfile:), else
//      --src-authfile, else --authfile, else $REGISTRY_AUTH_FILE: that file
//      only;
//   3. else the default search of registry::DefaultAuthFiles().
// No password read or given is ever printed.
#pragma once

#include <optional>
#include <string>

#include "registry/registry_client.h"

namespace boost::program_options {
class options_description;
}  // namespace boost::program_options

namespace sluice::cli {

class RegistryOptions {
 public:
  // side: "src" or "dest".
  explicit RegistryOptions(std::string side);
  void AddTo(boost::program_options::options_description& options);

  // After parsing, before anything is done: the flags go together, the auth
  // files they name exist, and --timeout is at least 1. `stdin_is_input`: standard input carries the
  // command's input (import -), so --password-stdin cannot have it.
  // kInvalidArgument, naming the flags.
  Status Check(bool stdin_is_input);

  // Client options for the registry at `host` (a reference's host, as the
  // user wrote it). The first call with --*-creds USER (no password) reads
  // the password: from standard input with --password-stdin, else from the
  // terminal, prompting with the user and host; with no terminal that is
  // kInvalidArgument saying to use --password-stdin. --*-creds belongs to one
  // registry: a call for a second host is kInvalidArgument, never the same
  // password sent elsewhere. `auth_file` (a mirror config's authfile, for
  // the config's images): the one auth file searched, before --*-authfile
  // and --authfile; --*-creds still wins over it.
  Result<registry::ClientOptions> ForHost(const std::string& host,
                                          const std::string& auth_file = "");

 private:
  // "src-creds", and "--src-creds" as messages spell it.
  std::string Name(const char* name) const { return side_ + "-" + name; }
  std::string Flag(const char* name) const { return "--" + Name(name); }

  std::string side_;
  std::string creds_;
  bool creds_given_ = false;  // set even when given empty, which is refused
  std::string authfile_;
  std::string side_authfile_;
  bool password_stdin_ = false;
  std::string cert_dir_;
  bool tls_verify_ = true;
  unsigned timeout_seconds_;

  // Filled in by Check and the first ForHost that needs them.
  std::optional<registry::Credentials> credentials_;
  bool password_missing_ = false;  // --*-creds USER: read on first use
  std::string creds_host_;         // the registry --*-creds went to
};

}  // namespace sluice::cli
