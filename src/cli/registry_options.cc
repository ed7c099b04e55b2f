#include "cli/registry_options.h"

#include <boost/program_options.hpp>

#include "io/atomic_file.h"
#include "io/file.h"
#include "io/secret_input.h"
#include "registry/auth.h"

namespace po = boost::program_options;

namespace sluice::cli {

RegistryOptions::RegistryOptions(std::string side)
    : side_(std::move(side)),
      timeout_seconds_(static_cast<unsigned>(registry::kDefaultHttpTimeout.count())) {}

void RegistryOptions::AddTo(po::options_description& options) {
  std::string who = side_ == "src" ? "source" : "destination";
  // One option per entry, as --help shows them.
  // clang-format off
  options.add_options()
      (Name("creds").c_str(), po::value<std::string>()->value_name("USER[:PASSWORD]")->notifier(
           [this](const std::string& value) { creds_ = value; creds_given_ = true; }),
       ("credentials for the " + who + " registry, used instead of any auth file. Without "
        ":PASSWORD the password is asked for on the terminal (echo off), or read with "
        "--password-stdin; a password on the command line is visible to other users of the "
        "machine (ps)").c_str())
      (Name("authfile").c_str(), po::value(&side_authfile_)->value_name("FILE"),
       ("auth file (containers-auth.json, docker config.json) for the " + who +
        " registry, the only one searched (default: --authfile)").c_str())
      ("authfile", po::value(&authfile_)->value_name("FILE"),
       ("the auth file when " + Flag("authfile") + " names none, the only one searched "
        "(default: $REGISTRY_AUTH_FILE, else the first of $XDG_RUNTIME_DIR/containers/auth.json, "
        "~/.config/containers/auth.json, ~/.docker/config.json, ~/.dockercfg with an entry "
        "for the registry)").c_str())
      ("password-stdin", po::bool_switch(&password_stdin_),
       ("read the password of " + Flag("creds") + " USER from the first line of standard "
        "input (not with a bundle read from standard input)").c_str())
      (Name("cert-dir").c_str(), po::value(&cert_dir_)->value_name("DIR"),
       ("certs.d-style directory for the " + who + " registry: *.crt CAs, *.cert/*.key client "
        "certificate (default: /etc/containers/certs.d/HOST:PORT, /etc/docker/certs.d/HOST:PORT)").c_str())
      (Name("tls-verify").c_str(),
       po::value(&tls_verify_)->default_value(true)->implicit_value(true)->value_name("BOOL"),
       ("require HTTPS and a trusted certificate for the " + who +
        " registry; =false allows plain HTTP and unverified TLS").c_str())
      ("timeout", po::value(&timeout_seconds_)->default_value(timeout_seconds_)->value_name("SECONDS"),
       ("how long the " + who + " registry may stay silent, connecting or in the middle of an "
        "answer, before sluice gives up on it, naming the host").c_str());
  // clang-format on
}

Status RegistryOptions::Check(bool stdin_is_input) {
  if (timeout_seconds_ == 0) {
    return Status::InvalidArgument("--timeout must be at least 1 second");
  }
  // skopeo's parse: USER[:PASSWORD], split at the first ':'.
  if (creds_given_) {
    if (creds_.empty()) return Status::InvalidArgument(Flag("creds") + " is empty");
    size_t colon = creds_.find(':');
    if (colon == 0) return Status::InvalidArgument(Flag("creds") + " names no user");
    credentials_.emplace();
    credentials_->username = creds_.substr(0, colon);
    if (colon == std::string::npos) {
      password_missing_ = true;
    } else {
      credentials_->password = creds_.substr(colon + 1);
    }
  }
  if (password_stdin_) {
    if (!creds_given_) {
      return Status::InvalidArgument("--password-stdin reads the password of " + Flag("creds") +
                                     " USER, and no " + Flag("creds") + " is given");
    }
    if (!password_missing_) {
      return Status::InvalidArgument("--password-stdin, and a password in " + Flag("creds") +
                                     " USER:PASSWORD too: give it one way");
    }
    if (stdin_is_input) {
      return Status::InvalidArgument(
          "--password-stdin: standard input is the bundle; give " + Flag("creds") +
          " USER alone to be asked on the terminal, or the credentials in an auth file (" +
          Flag("authfile") + ")");
    }
  }
  // A file named by hand that is not there is a typo, not "no credentials".
  for (const auto& [flag, path] : {std::pair{Flag("authfile"), side_authfile_},
                                   std::pair{std::string("--authfile"), authfile_}}) {
    if (path.empty()) continue;
    auto kind = io::KindOfPath(io::DefaultFileSystem(), path);
    if (kind.ok() && *kind == io::PathKind::kMissing) {
      return Status::InvalidArgument(flag + " " + path + " does not exist");
    }
  }
  return Status::Ok();
}

Result<registry::ClientOptions> RegistryOptions::ForHost(const std::string& host,
                                                         const std::string& auth_file) {
  registry::ClientOptions options;
  options.tls_verify = tls_verify_;
  options.cert_dir = cert_dir_;
  options.cert_dir_flag = Flag("cert-dir");
  options.creds_flag = Flag("creds");
  options.authfile_flag = Flag("authfile");
  options.timeout = std::chrono::seconds(timeout_seconds_);
  if (!auth_file.empty()) {
    options.auth_files = {auth_file};
  } else if (!side_authfile_.empty()) {
    options.auth_files = {side_authfile_};
  } else if (!authfile_.empty()) {
    options.auth_files = {authfile_};
  }
  if (!credentials_) return options;

  if (creds_host_.empty()) creds_host_ = host;
  if (host != creds_host_) {
    return Status::InvalidArgument(Flag("creds") + " is for one registry, and " + creds_host_ +
                                   " and " + host +
                                   " are two; give each its entry in an auth "
                                   "file (" +
                                   Flag("authfile") + ") instead");
  }
  if (password_missing_) {
    const std::string given = Flag("creds") + " " + credentials_->username;
    std::optional<std::string> password;
    if (password_stdin_) {
      auto line = io::ReadSecretLineFromStdin();
      if (!line.ok()) return line.status().WithContext("--password-stdin");
      password = std::move(line).value();
    } else {
      auto typed = io::ReadSecretFromTerminal("Password for " + credentials_->username + " on " +
                                              host + ": ");
      if (!typed.ok()) return typed.status().WithContext(given);
      if (!*typed) {
        return Status::InvalidArgument(
            given +
            " gives no password, and there is no terminal to ask for it on: pass "
            "--password-stdin with the password on standard input");
      }
      password = std::move(typed).value();
    }
    if (password->empty()) {
      return Status::InvalidArgument(given + ": the password " +
                                     (password_stdin_ ? "read from standard input" : "typed") +
                                     " is empty");
    }
    credentials_->password = std::move(*password);
    password_missing_ = false;
  }
  options.credentials = credentials_;
  return options;
}

}  // namespace sluice::cli
