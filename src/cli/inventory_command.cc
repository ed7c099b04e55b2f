#include <boost/program_options.hpp>
#include <iostream>

#include "cli/cli_util.h"
#include "cli/registry_options.h"
#include "inventory.h"
#include "reference/reference.h"
#include "registry/registry_client.h"
#include "signing.h"
#include "reference/transport_ref.h"

namespace po = boost::program_options;

namespace sluice::cli {
namespace {

Result<Inventory> Take(const std::string& from, const TransportRef& ref, bool verify_blobs,
                       RegistryOptions& registry_options) {
  switch (ref.transport) {
    case Transport::kOciLayout:
      if (!ref.name.empty()) break;
      return TakeOciLayoutInventory(io::DefaultFileSystem(), ref.path, from);
    case Transport::kDocker: {
      SLUICE_ASSIGN_OR_RETURN(Reference destination,
                              ParseDestination(ref.name));
      if (!destination.repository.empty()) {
        SLUICE_RETURN_IF_ERROR(
            ValidateRepository(destination.repository).WithContext("--from " + from));
      }
      SLUICE_ASSIGN_OR_RETURN(registry::ClientOptions options,
                              registry_options.ForHost(destination.host));
      SLUICE_ASSIGN_OR_RETURN(auto client, registry::RegistryClient::Create(destination.Endpoint(),
                                                                            std::move(options)));
      return TakeRegistryInventory(client.get(), destination.repository, from, verify_blobs);
    }
    default:
      break;
  }
  return Status::Unsupported("--from " + from +
                             ": only destinations can be inventoried: oci:DIR (no tag) or "
                             "docker://HOST[:PORT][/PREFIX]");
}

}  // namespace

int RunInventory(const Args& args) {
  std::string from, output, sign_key;
  bool verify_blobs = false;
  bool allow_insecure_key = false;
  // The registry inventoried is the one `sluice import --to docker://...`
  // writes to: the same --dest-* options reach it.
  RegistryOptions registry_options("dest");
  po::options_description options("inventory options");
  options.add_options()
      ("from", po::value(&from)->required(),
       "destination to list: oci:DIR, or docker://HOST[:PORT][/PREFIX] (the repositories "
       "below PREFIX, named as the import named them)")
      ("output,o", po::value(&output)->required(),
       "inventory file to write (JSON); its signature goes to FILE.sig")
      ("sign-key", po::value(&sign_key),
       "Ed25519 private key (PEM) to sign the inventory with; the connected side checks it "
       "with 'ledger rebuild --trust'")
      ("verify-blobs", po::bool_switch(&verify_blobs),
       "docker://: download and hash every blob instead of trusting the registry's HEAD answer "
       "(its size); the registry checked each digest when the blob was pushed, so this only "
       "finds storage that rotted since. oci:DIR is always hashed");
  AddInsecureKeyOption(options, &allow_insecure_key);
  registry_options.AddTo(options);
  po::variables_map vm;
  if (auto exit = ParseCommandLine(
          "inventory",
          "--from oci:DIR|docker://HOST[:PORT][/PREFIX] -o FILE [--sign-key KEY] [--verify-blobs]",
          args, options, {}, &vm)) {
    return *exit;
  }
  if (Status s = registry_options.Check(/*stdin_is_input=*/false); !s.ok()) {
    return ReportError(s);
  }
  io::FileSystem* fs = io::DefaultFileSystem();
  auto ref = ParseTransportRef(from);
  if (!ref.ok()) return ReportError(ref.status());
  std::optional<format::PrivateKey> key;
  if (!sign_key.empty()) {
    if (Status s = CheckSigningKeyFile(sign_key, allow_insecure_key); !s.ok()) {
      return ReportError(s);
    }
    auto loaded = LoadPrivateKey(fs, sign_key);
    if (!loaded.ok()) return ReportError(loaded.status());
    key = std::move(loaded).value();
  }
  auto inventory = Take(from, *ref, verify_blobs, registry_options);
  if (!inventory.ok()) return ReportError(inventory.status());
  if (Status s = WriteInventory(fs, output, *inventory, key ? &*key : nullptr); !s.ok()) {
    return ReportError(s);
  }

  uint64_t bytes = 0;
  for (const Inventory::Blob& b : inventory->blobs) bytes += b.size;
  size_t incomplete = 0;
  for (const Inventory::Tag& t : inventory->tags) incomplete += t.complete ? 0 : 1;
  std::cout << "inventory of " << Printable(from) << " written to " << Printable(output) << ": "
            << inventory->blobs.size() << " blobs (" << HumanBytes(bytes) << "), "
            << inventory->tags.size() << " tags";
  if (incomplete > 0) std::cout << " (" << incomplete << " incomplete)";
  std::cout << "\n";
  if (key) {
    std::cout << "  signed by " << key->public_key().FingerprintText() << " in "
              << Printable(InventorySignaturePath(output)) << "\n";
  }
  for (const std::string& d : inventory->damaged) {
    std::cerr << "sluice: warning: damaged or missing, left out of the inventory (it will be "
                 "shipped again): "
              << Printable(d) << "\n";
  }
  return kExitOk;
}

}  // namespace sluice::cli
