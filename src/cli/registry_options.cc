#include "cli/registry_options.h"

#include <boost/program_options.hpp>

#include "registry/auth.h"

namespace po = boost::program_options;

namespace sluice::cli {

RegistryOptions::RegistryOptions(std::string side)
    : side_(std::move(side)),
      timeout_seconds_(static_cast<unsigned>(registry::kDefaultHttpTimeout.count())) {}

void RegistryOptions::AddTo(po::options_description& options) {
  std::string who = side_ == "src" ? "source" : "destination";
  options.add_options()
      ((side_ + "-creds").c_str(), po::value(&creds_)->value_name("USER:PASS"),
       ("credentials for the " + who + " registry (default: auth.json / ~/.docker/config.json)").c_str())
      ((side_ + "-cert-dir").c_str(), po::value(&cert_dir_)->value_name("DIR"),
       ("certs.d-style directory for the " + who + " registry: *.crt CAs, *.cert/*.key client "
        "certificate (default: /etc/containers/certs.d/HOST:PORT, /etc/docker/certs.d/HOST:PORT)").c_str())
      ((side_ + "-tls-verify").c_str(),
       po::value(&tls_verify_)->default_value(true)->implicit_value(true)->value_name("BOOL"),
       ("require HTTPS and a trusted certificate for the " + who +
        " registry; =false allows plain HTTP and unverified TLS").c_str())
      ("timeout", po::value(&timeout_seconds_)->default_value(timeout_seconds_)->value_name("SECONDS"),
       ("how long the " + who + " registry may stay silent, connecting or in the middle of an "
        "answer, before sluice gives up on it, naming the host").c_str());
}

Result<registry::ClientOptions> RegistryOptions::ToClientOptions() const {
  registry::ClientOptions options;
  options.tls_verify = tls_verify_;
  options.cert_dir = cert_dir_;
  options.cert_dir_flag = "--" + side_ + "-cert-dir";
  options.creds_flag = "--" + side_ + "-creds";
  if (timeout_seconds_ == 0) {
    return Status::InvalidArgument("--timeout must be at least 1 second");
  }
  options.timeout = std::chrono::seconds(timeout_seconds_);
  if (!creds_.empty()) {
    auto credentials = registry::ParseCredentials(creds_);
    if (!credentials.ok()) return credentials.status().WithContext("--" + side_ + "-creds");
    options.credentials = std::move(credentials).value();
  }
  return options;
}

}  // namespace sluice::cli
