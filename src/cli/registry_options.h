// The registry options skopeo users know, for one side of a copy:
//   --src-creds USER:PASS   --src-cert-dir DIR   --src-tls-verify=false
//   --dest-creds ...        --dest-cert-dir ...  --dest-tls-verify=...
// and --timeout SECONDS (a command talks to one registry side).
#pragma once

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
  // Client options from what was parsed. kInvalidArgument for bad --*-creds.
  Result<registry::ClientOptions> ToClientOptions() const;

 private:
  std::string side_;
  std::string creds_;
  std::string cert_dir_;
  bool tls_verify_ = true;
  unsigned timeout_seconds_;
};

}  // namespace sluice::cli
