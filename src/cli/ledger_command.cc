#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/cli_util.h"
#include "cli/json_output.h"
#include "cli/help_text.h"
#include "exporter.h"
#include "inventory.h"
#include "ledger.h"
#include "receipt.h"
#include "signing.h"
#include "unix_time.h"

namespace po = boost::program_options;

namespace sluice::cli {
namespace {

constexpr const char* kUsage =
    "show --ledger LEDGER [--json]\n"
    "       sluice ledger confirm RECEIPT --ledger LEDGER --trust PUB... [--json]\n"
    "       sluice ledger rebuild --ledger LEDGER --from-inventory FILE [--trust PUB...]";

// "confirmed 2024-05-02T08:00:00Z (receipt of 2024-05-01T12:00:00Z)", or
// "not confirmed".
std::string ConfirmationText(const Ledger::BundleRecord& b) {
  if (!b.confirmed()) return "not confirmed";
  return "confirmed " + IsoTimeUtc(b.confirmed_unix) + " (receipt of " +
         IsoTimeUtc(b.receipt_unix) + ")";
}

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
  const size_t delivered = ledger->delivered_count();
  const size_t confirmed_bundles =
      std::count_if(ledger->bundles().begin(), ledger->bundles().end(),
                    [](const Ledger::BundleRecord& b) { return b.confirmed(); });
  if (json) {
    nlohmann::ordered_json bundles = nlohmann::ordered_json::array();
    for (const Ledger::BundleRecord& b : ledger->bundles()) {
      nlohmann::ordered_json bundle = {{"sequence", b.sequence},
                                       {"bundle_id", b.bundle_id},
                                       {"created_unix", b.created_unix},
                                       {"created", IsoTimeUtc(b.created_unix)},
                                       {"blobs", b.blobs},
                                       {"confirmed", b.confirmed()}};
      if (b.confirmed()) {
        bundle["confirmed_unix"] = b.confirmed_unix;
        bundle["confirmed_at"] = IsoTimeUtc(b.confirmed_unix);
        bundle["receipt_unix"] = b.receipt_unix;
      }
      // null: not recorded (an earlier sluice, or an old bundle; ledger_file.h).
      nlohmann::ordered_json images = nullptr;
      if (b.images) {
        images = nlohmann::ordered_json::array();
        for (const Ledger::BundleImage& i : *b.images) {
          images.push_back(RefJson(i.ref, i.repository, i.tag, i.digest.str()));
        }
      }
      bundle["images"] = std::move(images);
      bundles.push_back(std::move(bundle));
    }
    PrintJson("ledger", nlohmann::ordered_json{{"ledger", path},
                                        {"ledger_id", format::HexEncode(ledger->id())},
                                        {"sequence", ledger->sequence()},
                                        {"blobs", ledger->blob_count()},
                                        {"delivered_blobs", delivered},
                                        {"unconfirmed_blobs", ledger->blob_count() - delivered},
                                        {"confirmed_bundles", confirmed_bundles},
                                        {"bundles", std::move(bundles)}});
    return kExitOk;
  }
  std::cout << "ledger " << Printable(path) << "\n"
            << "  id        " << format::HexEncode(ledger->id()) << "\n"
            << "  sequence  " << ledger->sequence() << "\n"
            << "  blobs     " << ledger->blob_count() << " sent: " << delivered
            << " delivered (confirmed by a receipt), " << ledger->blob_count() - delivered
            << " not confirmed\n"
            << "  bundles   " << ledger->bundles().size() << ", " << confirmed_bundles
            << " confirmed\n";
  for (const Ledger::BundleRecord& b : ledger->bundles()) {
    std::cout << "    " << b.sequence << "  " << Printable(b.bundle_id) << "  created "
              << IsoTimeUtc(b.created_unix) << "  " << b.blobs << " blobs shipped  "
              << ConfirmationText(b) << "\n";
    if (!b.images) {
      std::cout << "        images not recorded (before sluice recorded them, or older than the "
                << Ledger::kBundlesWithImages << " last bundles)\n";
      continue;
    }
    for (const Ledger::BundleImage& i : *b.images) {
      std::cout << "        " << Printable(i.ref) << " -> " << i.digest.str() << "\n";
    }
  }
  return kExitOk;
}

// Checks a receipt, then marks what it lists as delivered, under the
// ledger's lock. Nothing is saved unless something changed, so confirming a
// receipt again leaves the file as it was.
int Confirm(const Args& args) {
  std::string receipt_path, path;
  std::vector<std::string> trust_paths;
  bool json = false;
  po::options_description options("ledger confirm options");
  options.add_options()
      ("receipt", po::value(&receipt_path)->required(),
       "receipt written by 'sluice import --receipt' on the far side (also positional)")
      ("ledger", po::value(&path)->required(), "the ledger that exported the receipt's bundle")
      ("trust", po::value(&trust_paths)->composing()->required(),
       "public key file, or directory of *.pub/*.pem, the receipt's signature must verify "
       "with: the far side's receipt key (repeatable)")
      ("json", po::bool_switch(&json), "print what it did as JSON on stdout");
  po::positional_options_description positional;
  positional.add("receipt", 1);
  po::variables_map vm;
  if (auto exit = ParseCommandLine("ledger confirm", "RECEIPT --ledger LEDGER --trust PUB...",
                                   args, options, positional, &vm)) {
    return *exit;
  }
  io::FileSystem* fs = io::DefaultFileSystem();
  if (!fs->Exists(path)) return ReportError(Status::NotFound("ledger " + path + " does not exist"));
  auto trusted = LoadTrustedKeys(fs, trust_paths);
  if (!trusted.ok()) return ReportError(trusted.status());
  auto verified = LoadReceipt(fs, receipt_path, *trusted);
  if (!verified.ok()) return ReportError(verified.status());
  const Receipt& receipt = verified->receipt;
  const std::string what = "receipt " + receipt_path;

  auto ledger = LoadLedger(fs, path, "sluice ledger confirm");
  if (!ledger.ok()) return ReportError(ledger.status());
  const std::string ledger_id = format::HexEncode(ledger->id());
  if (receipt.ledger_id != ledger_id) {
    return ReportError(Status::Untrusted(
        what + " is of ledger " + receipt.ledger_id + ", but ledger " + path + " is ledger " +
        ledger_id + ": confirm it with the ledger that exported its bundle; nothing changed"));
  }
  if (receipt.sequence == 0 || receipt.sequence > ledger->sequence()) {
    return ReportError(Status::Untrusted(
        what + " confirms bundle " + std::to_string(receipt.sequence) + " of ledger " +
        ledger_id + ", but ledger " + path + " has recorded bundles up to " +
        std::to_string(ledger->sequence()) +
        " only (restored from an older copy?); nothing changed"));
  }
  const Ledger::BundleRecord* bundle = ledger->FindBundle(receipt.sequence);
  if (bundle != nullptr && bundle->bundle_id != receipt.bundle_id) {
    return ReportError(Status::Untrusted(
        what + " confirms bundle " + std::to_string(receipt.sequence) + " with id " +
        receipt.bundle_id + ", but bundle " + std::to_string(receipt.sequence) + " of ledger " +
        path + " has id " + bundle->bundle_id +
        " (two bundles of one sequence: was the ledger restored from a copy?); resynchronise "
        "with 'sluice inventory' and 'sluice ledger rebuild'; nothing changed"));
  }
  const bool in_history = bundle != nullptr;
  const Ledger::Delivery delivery = ledger->MarkDelivered(receipt.blobs, receipt.sequence);
  const bool noted = ledger->ConfirmBundle(receipt.sequence, NowUnix(), receipt.created_unix);
  const bool changed = delivery.marked > 0 || noted;
  if (changed) {
    if (Status s = ledger->Save(fs, path); !s.ok()) return ReportError(s);
  }
  if (json) {
    PrintJson("ledger", nlohmann::ordered_json{{"ledger", path},
                                        {"receipt", receipt_path},
                                        {"ledger_id", ledger_id},
                                        {"bundle_id", receipt.bundle_id},
                                        {"sequence", receipt.sequence},
                                        {"signer", verified->signer},
                                        {"receipt_created", IsoTimeUtc(receipt.created_unix)},
                                        {"receipt_created_unix", receipt.created_unix},
                                        {"changed", changed},
                                        {"delivered_now", delivery.marked},
                                        {"delivered_before", delivery.already},
                                        {"not_in_ledger", delivery.not_held},
                                        {"bundle_in_history", in_history}});
    return kExitOk;
  }
  const std::string bundle_text = "bundle " + std::to_string(receipt.sequence) + " (" +
                                  receipt.bundle_id + ") of ledger " + ledger_id;
  if (!changed) {
    std::cout << Printable(what) << " was confirmed before: " << bundle_text << ", its "
              << receipt.blobs.size() << " blobs delivered; nothing changed\n";
    return kExitOk;
  }
  std::cout << "confirmed " << bundle_text << " by " << Printable(what) << ", signed by "
            << verified->signer << " and made " << IsoTimeUtc(receipt.created_unix) << ": "
            << delivery.marked << " blobs now delivered, " << delivery.already
            << " delivered before, " << delivery.not_held << " not in the ledger\n";
  if (!in_history) {
    std::cout << "  (bundle " << receipt.sequence
              << " is not in the ledger's history, which began later; its blobs are marked)\n";
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

const std::vector<Command>& LedgerActions() {
  static const std::vector<Command> kActions = {
      {"show",
       "what the ledger records: id, sequence, blobs sent and delivered, bundles (created when, "
       "in UTC; the images each carried) and whether a receipt confirmed each",
       Show},
      {"confirm",
       "mark the blobs a receipt of the far side lists as delivered (for 'export --base "
       "delivered')",
       Confirm},
      {"rebuild", "replace its blobs with what an inventory of the far side lists", Rebuild},
  };
  return kActions;
}

int RunLedger(const Args& args) {
  std::string action = args.empty() ? "" : args[0];
  Args rest = args.empty() ? Args{} : Args(args.begin() + 1, args.end());
  for (const Command& a : LedgerActions()) {
    if (action == a.name) return a.run(rest);
  }
  if (action == "--help" || action == "-h") {
    const size_t width = OutputWidth(STDOUT_FILENO);
    std::cout << WrapText(std::string("usage: sluice ledger ") + kUsage, width, kUsageIndent)
              << "\n"
              << FormatCommandList(LedgerActions(), width);
    return kExitOk;
  }
  std::cerr << "sluice ledger: "
            << (action.empty() ? "no action given" : "unknown action '" + Printable(action) + "'")
            << "\n"
            << WrapText(std::string("usage: sluice ledger ") + kUsage, OutputWidth(STDERR_FILENO),
                        kUsageIndent);
  return kExitUsage;
}

}  // namespace sluice::cli
