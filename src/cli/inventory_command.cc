#include <boost/program_options.hpp>
#include <iostream>

#include "cli/cli_util.h"
#include "inventory.h"
#include "signing.h"
#include "transport_ref.h"

namespace po = boost::program_options;

namespace sluice::cli {

int RunInventory(const Args& args) {
  std::string from, output, sign_key;
  po::options_description options("inventory options");
  options.add_options()
      ("from", po::value(&from)->required(), "destination to list: oci:DIR")
      ("output,o", po::value(&output)->required(),
       "inventory file to write (JSON); its signature goes to FILE.sig")
      ("sign-key", po::value(&sign_key),
       "Ed25519 private key (PEM) to sign the inventory with; the connected side checks it "
       "with 'ledger rebuild --trust'");
  po::variables_map vm;
  if (auto exit = ParseCommandLine("inventory", "--from oci:DIR -o FILE [--sign-key KEY]", args,
                                   options, {}, &vm)) {
    return *exit;
  }
  io::FileSystem* fs = io::DefaultFileSystem();
  auto ref = ParseTransportRef(from);
  if (!ref.ok()) return ReportError(ref.status());
  if (ref->transport != Transport::kOciLayout || !ref->name.empty()) {
    return ReportError(Status::Unsupported(
        "--from " + from + ": only OCI layout destinations (oci:DIR) can be inventoried so far"));
  }
  std::optional<format::PrivateKey> key;
  if (!sign_key.empty()) {
    auto loaded = LoadPrivateKey(fs, sign_key);
    if (!loaded.ok()) return ReportError(loaded.status());
    key = std::move(loaded).value();
  }
  auto inventory = TakeOciLayoutInventory(fs, ref->path, from);
  if (!inventory.ok()) return ReportError(inventory.status());
  if (Status s = WriteInventory(fs, output, *inventory, key ? &*key : nullptr); !s.ok()) {
    return ReportError(s);
  }

  uint64_t bytes = 0;
  for (const Inventory::Blob& b : inventory->blobs) bytes += b.size;
  size_t incomplete = 0;
  for (const Inventory::Tag& t : inventory->tags) incomplete += t.complete ? 0 : 1;
  std::cout << "inventory of " << from << " written to " << output << ": "
            << inventory->blobs.size() << " blobs (" << HumanBytes(bytes) << "), "
            << inventory->tags.size() << " tags";
  if (incomplete > 0) std::cout << " (" << incomplete << " incomplete)";
  std::cout << "\n";
  if (key) {
    std::cout << "  signed by " << key->public_key().FingerprintText() << " in "
              << InventorySignaturePath(output) << "\n";
  }
  for (const std::string& d : inventory->damaged) {
    std::cerr << "sluice: warning: damaged blob left out of the inventory (it will be shipped "
                 "again): "
              << d << "\n";
  }
  return kExitOk;
}

}  // namespace sluice::cli
