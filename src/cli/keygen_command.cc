#include <boost/program_options.hpp>
#include <iostream>

#include "cli/cli_util.h"
#include "io/file.h"
#include "signing.h"

namespace po = boost::program_options;

namespace sluice::cli {

int RunKeygen(const Args& args) {
  std::string private_path, public_path;
  po::options_description options("keygen options");
  options.add_options()
      ("private", po::value(&private_path)->required(), "private key file to create (mode 0600)")
      ("public", po::value(&public_path)->required(), "public key file to create; give it to importers");
  po::variables_map vm;
  if (auto exit = ParseCommandLine("keygen", "--private KEY --public PUB", args, options, {}, &vm)) {
    return *exit;
  }
  io::FileSystem* fs = io::DefaultFileSystem();
  if (Status s = GenerateKeyPair(fs, private_path, public_path); !s.ok()) return ReportError(s);
  auto key = LoadPublicKey(fs, public_path);
  if (!key.ok()) return ReportError(key.status());
  std::cout << "wrote " << Printable(private_path) << " (keep it on the export side) and "
            << Printable(public_path) << "\nfingerprint " << key->FingerprintText() << "\n";
  return kExitOk;
}

}  // namespace sluice::cli
