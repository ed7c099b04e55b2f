#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/cli_util.h"
#include "exporter.h"
#include "inventory.h"
#include "ledger.h"
#include "signing.h"

namespace po = boost::program_options;

namespace sluice::cli {
namespace {

constexpr const char* kUsage =
    "show --ledger LEDGER [--json]\n"
    "       sluice ledger rebuild --ledger LEDGER --from-inventory FILE [--trust PUB...]";

int Show(const Args& args) {
  std::string path;
  bool json = false;
  po::options_description options("ledger show options");
  options.add_options()
      ("ledger", po::value(&path)->required(), "ledger file")
      ("json", po::bool_switch(&json), "print it as JSON on stdout");
  po::variables_map vm;
  if (auto exit = ParseCommandLine("ledger show", "--ledger LEDGER [--json]", args, options, {},
                                   &vm)) {
    return *exit;
  }
  io::FileSystem* fs = io::DefaultFileSystem();
  // Load() treats a missing file as a fresh ledger; showing one would mislead.
  if (!fs->Exists(path)) return ReportError(Status::NotFound("ledger " + path + " does not exist"));
  auto ledger = LoadLedger(fs, path);
  if (!ledger.ok()) return ReportError(ledger.status());
  if (json) {
    nlohmann::ordered_json bundles = nlohmann::ordered_json::array();
    for (const Ledger::BundleRecord& b : ledger->bundles()) {
      bundles.push_back({{"sequence", b.sequence},
                         {"bundle_id", b.bundle_id},
                         {"created_unix", b.created_unix},
                         {"blobs", b.blobs}});
    }
    std::cout << nlohmann::ordered_json{{"ledger", path},
                                        {"ledger_id", format::HexEncode(ledger->id())},
                                        {"sequence", ledger->sequence()},
                                        {"blobs", ledger->blob_count()},
                                        {"bundles", std::move(bundles)}}
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  std::cout << "ledger " << Printable(path) << "\n"
            << "  id        " << format::HexEncode(ledger->id()) << "\n"
            << "  sequence  " << ledger->sequence() << "\n"
            << "  blobs     " << ledger->blob_count() << " delivered\n"
            << "  bundles   " << ledger->bundles().size() << "\n";
  for (const Ledger::BundleRecord& b : ledger->bundles()) {
    std::cout << "    " << b.sequence << "  " << Printable(b.bundle_id) << "  created "
              << b.created_unix << "  " << b.blobs << " blobs shipped\n";
  }
  return kExitOk;
}

int Rebuild(const Args& args) {
  std::string path, inventory_path;
  std::vector<std::string> trust_paths;
  po::options_description options("ledger rebuild options");
  options.add_options()
      ("ledger", po::value(&path)->required(),
       "ledger file to rebuild (created if missing; its id and sequence are kept)")
      ("from-inventory", po::value(&inventory_path)->required(),
       "inventory written by 'sluice inventory' on the far side")
      ("trust", po::value(&trust_paths)->composing(),
       "public key file or directory the inventory's signature (FILE.sig) must verify with "
       "(repeatable); without it the signature is not checked");
  po::variables_map vm;
  if (auto exit = ParseCommandLine("ledger rebuild",
                                   "--ledger LEDGER --from-inventory FILE [--trust PUB...]", args,
                                   options, {}, &vm)) {
    return *exit;
  }
  io::FileSystem* fs = io::DefaultFileSystem();
  std::vector<format::PublicKey> trusted;
  if (!trust_paths.empty()) {
    auto keys = LoadTrustedKeys(fs, trust_paths);
    if (!keys.ok()) return ReportError(keys.status());
    trusted = std::move(keys).value();
  } else {
    std::cerr << "sluice: warning: no --trust: the inventory's signature is NOT checked\n";
  }
  auto inventory = LoadInventory(fs, inventory_path, trust_paths.empty() ? nullptr : &trusted);
  if (!inventory.ok()) return ReportError(inventory.status());
  auto ledger = LoadLedger(fs, path);
  if (!ledger.ok()) return ReportError(ledger.status());

  std::set<format::Digest> held;
  size_t kept = 0;
  for (const Inventory::Blob& b : inventory->blobs) {
    if (held.insert(b.digest).second && ledger->Contains(b.digest)) ++kept;
  }
  size_t added = held.size() - kept;
  size_t removed = ledger->blob_count() - kept;
  ledger->ReplaceBlobs(std::vector<format::Digest>(held.begin(), held.end()));
  if (Status s = ledger->Save(fs, path); !s.ok()) return ReportError(s);
  std::cout << "rebuilt ledger " << Printable(path) << " from " << Printable(inventory_path)
            << " (" << (inventory->destination.empty() ? "?" : Printable(inventory->destination))
            << "): " << ledger->blob_count() << " blobs held at the far side (" << added
            << " added, " << removed << " no longer counted as delivered); sequence "
            << ledger->sequence() << " kept\n";
  return kExitOk;
}

}  // namespace

int RunLedger(const Args& args) {
  std::string action = args.empty() ? "" : args[0];
  Args rest = args.empty() ? Args{} : Args(args.begin() + 1, args.end());
  if (action == "show") return Show(rest);
  if (action == "rebuild") return Rebuild(rest);
  if (action == "--help" || action == "-h") {
    std::cout << "usage: sluice ledger " << kUsage << "\n\n"
              << "  show     what the ledger records: id, sequence, blobs, bundles\n"
              << "  rebuild  replace its blobs with what an inventory of the far side lists\n";
    return kExitOk;
  }
  std::cerr << "sluice ledger: "
            << (action.empty() ? "no action given" : "unknown action '" + Printable(action) + "'")
            << "\nusage: sluice ledger " << kUsage << "\n";
  return kExitUsage;
}

}  // namespace sluice::cli
