#include <boost/program_options.hpp>
#include <iostream>
#include <optional>
#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "cli/json_output.h"
#include "cli/registry_options.h"
#include "destination_state.h"
#include "file_artifacts.h"
#include "importer.h"
#include "io/atomic_file.h"
#include "mapping.h"
#include "receipt.h"
#include "reference/reference.h"
#include "signing.h"
#include "unix_time.h"
#include "volume_staging.h"
#include "sink/registry_sink.h"
#include "sink/oci_layout_sink.h"
#include "sink/registry_storage_sink.h"
#include "reference/transport_ref.h"

namespace po = boost::program_options;

namespace sluice::cli {
namespace {

Result<std::unique_ptr<ImageSink>> OpenSink(const std::string& text,
                                            RegistryOptions& registry_options) {
  SLUICE_ASSIGN_OR_RETURN(TransportRef ref, ParseTransportRef(text));
  switch (ref.transport) {
    case Transport::kOciLayout:
      if (!ref.name.empty()) {
        return Status::InvalidArgument("--to " + text +
                                       ": give a directory only (oci:DIR); images keep their tags");
      }
      return NewOciLayoutSink(io::DefaultFileSystem(), ref.path);
    case Transport::kRegistryStorage:
      return NewRegistryStorageSink(io::DefaultFileSystem(), ref.path, ref.name);
    case Transport::kDocker: {
      SLUICE_ASSIGN_OR_RETURN(Reference destination,
                              ParseDestination(ref.name));
      SLUICE_ASSIGN_OR_RETURN(registry::ClientOptions client,
                              registry_options.ForHost(destination.host));
      return NewRegistrySink(destination, std::move(client));
    }
    case Transport::kDockerArchive:
    case Transport::kOciArchive:
    case Transport::kHelmChart:
    case Transport::kFile:
      break;
  }
  return Status::InvalidArgument("--to " + text +
                                 ": archives, charts and files are export sources only; import "
                                 "into oci:DIR, docker://HOST[/PREFIX] or registry-storage:DIR");
}

// The destination's state file (destination_state.h): --state-file, else
// DIR/.sluice/state.json of a local destination, else one per registry on
// this machine.
Result<std::string> StatePathFor(const std::string& text, const std::string& state_file) {
  if (!state_file.empty()) return state_file;
  SLUICE_ASSIGN_OR_RETURN(TransportRef ref, ParseTransportRef(text));
  if (ref.transport != Transport::kDocker) return LocalStatePath(ref.path);
  SLUICE_ASSIGN_OR_RETURN(Reference destination, ParseDestination(ref.name));
  std::string path = DefaultRegistryStatePath(destination.host, destination.repository);
  if (path.empty()) {
    return Status::InvalidArgument("--to " + text +
                                   ": neither XDG_STATE_HOME nor HOME is set, so there is no "
                                   "default place for the registry's state; give --state-file");
  }
  return path;
}

// Refuses, before anything is imported, a --receipt path where no file
// can be published: a directory or a stream there, or no directory to hold
// it. (Whether the directory takes new files is learnt when it is written.)
Status CheckReceiptPath(io::FileSystem* fs, const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("--receipt is empty; give a file path");
  SLUICE_ASSIGN_OR_RETURN(io::PathKind kind, io::KindOfPath(fs, path));
  if (kind != io::PathKind::kMissing && kind != io::PathKind::kRegular) {
    return Status::InvalidArgument("--receipt " + path + " is a " +
                                   std::string(io::PathKindName(kind)) +
                                   "; give the path of a file to write");
  }
  const std::string dir = io::Dirname(path);
  auto dir_kind = io::KindOfPath(fs, dir);
  if (!dir_kind.ok()) return dir_kind.status().WithContext("--receipt " + path);
  if (*dir_kind != io::PathKind::kDirectory) {
    return Status::NotFound("--receipt " + path + ": directory " + dir +
                            " does not exist; create it first");
  }
  return Status::Ok();
}

// What the destination now holds of the bundle, as a receipt says it.
Result<Receipt> ReceiptOf(const ImportReport& r, const std::string& destination) {
  Receipt receipt;
  receipt.bundle_id = r.bundle.bundle_id;
  receipt.ledger_id = r.bundle.ledger_id;
  receipt.sequence = r.bundle.sequence;
  receipt.created_unix = NowUnix();
  receipt.destination = destination;
  receipt.blobs = r.blobs;
  for (const ImportReport::Ref& ref : r.refs) {
    SLUICE_ASSIGN_OR_RETURN(format::Digest digest, format::Digest::Parse(ref.digest));
    receipt.refs.push_back({ref.repository, ref.tag, std::move(digest)});
  }
  return receipt;
}

// Signs and writes the receipt of an import that succeeded.
Status WriteReceipt(const ImportReport& report, const std::string& destination,
                    const std::string& path, const format::PrivateKey& key) {
  SLUICE_ASSIGN_OR_RETURN(Receipt receipt, ReceiptOf(report, destination));
  SLUICE_ASSIGN_OR_RETURN(std::string text, SignReceipt(receipt, key));
  return io::WriteFileAtomically(io::DefaultFileSystem(), path, io::AsBytes(text))
      .WithContext("writing receipt " + path);
}

void PrintReport(const ImportReport& r, const std::string& bundle_path,
                 const std::string& destination, const std::string& receipt, bool json) {
  if (json) {
    nlohmann::ordered_json refs = nlohmann::ordered_json::array();
    for (const auto& ref : r.refs) {
      nlohmann::ordered_json entry = RefJson(ref.source, ref.repository, ref.tag, ref.digest);
      entry["destination"] = ref.destination;
      if (!ref.index.empty()) {
        entry["index"] = ref.index;
        entry["platform"] = ref.platform;
      }
      if (ref.artifact) {
        // As inspect --json shows it.
        entry["artifact"] = {{"kind", oci::ArtifactKindName(ref.artifact->kind)},
                             {"name", ref.artifact->name},
                             {"version", ref.artifact->version},
                             {"size", ref.artifact->content.size}};
        if (!ref.file.empty()) entry["file"] = ref.file;
      }
      refs.push_back(std::move(entry));
    }
    nlohmann::ordered_json kept = nlohmann::ordered_json::array();
    for (const auto& k : r.tags_left_alone) {
      kept.push_back({{"destination", k.destination}, {"kept", k.kept}, {"refused", k.refused}});
    }
    PrintJson("import", nlohmann::ordered_json{{"bundle", bundle_path},
                                        {"bundle_id", r.bundle.bundle_id},
                                        {"sequence", r.bundle.sequence},
                                        {"signer", r.bundle.signer},
                                        {"destination", destination},
                                        {"blobs_written", r.blobs_written},
                                        {"bytes_written", r.bytes_written},
                                        {"blobs_already_present", r.blobs_already_present},
                                        {"manifests_written", r.manifests_written},
                                        {"refs", refs},
                                        {"tags_left_alone", kept},
                                        {"repaired", r.repaired},
                                        {"rebound_from", r.rebound_from},
                                        {"receipt", receipt}});
    return;
  }
  std::cout << "imported bundle " << r.bundle.sequence << " into " << Printable(destination) << ": "
            << r.blobs_written << " blobs written (" << HumanBytes(r.bytes_written) << "), "
            << r.blobs_already_present << " already present, " << r.manifests_written
            << " manifests written\n";
  for (const auto& ref : r.refs) {
    std::cout << "  " << Printable(MappingSource(ref)) << " -> "
              << Printable(MappingDestination(ref)) << "\n";
    if (!ref.index.empty()) {
      std::cout << "    the destination refused index " << ref.index
                << " without its left-out platforms: tagged its one kept manifest ("
                << Printable(ref.platform) << ") instead\n";
    }
    if (ref.artifact && ref.artifact->kind == oci::ArtifactKind::kHelmChart) {
      std::cout << "    Helm chart " << Printable(ref.artifact->name) << " "
                << Printable(ref.artifact->version);
      if (!ref.placement.registry.empty()) {
        std::cout << ": helm install RELEASE oci://" << Printable(ref.placement.registry) << "/"
                  << Printable(ref.placement.repository) << " --version "
                  << Printable(ref.artifact->version);
      }
      std::cout << "\n";
    } else if (ref.artifact) {
      std::cout << "    file " << Printable(ref.artifact->name)
                << (ref.file.empty() ? std::string()
                                     : ", also written to " + Printable(ref.file))
                << "\n";
    }
  }
  for (const auto& kept : r.tags_left_alone) {
    std::cout << "  left alone: " << Printable(kept.destination) << " keeps " << kept.kept
              << " (this older bundle has " << kept.refused << "; --allow-rollback moves it)\n";
  }
  for (const std::string& digest : r.repaired) {
    std::cout << "  repaired: " << digest << " was damaged at the destination; replaced\n";
  }
  if (!r.rebound_from.empty()) {
    std::cout << "  now takes bundles of this bundle's ledger (took ledger " << r.rebound_from
              << " before)\n";
  }
  if (!receipt.empty()) {
    std::cout << "  receipt " << Printable(receipt) << ": " << r.blobs.size() << " blobs and "
              << r.refs.size() << " refs held; carry it back for 'sluice ledger confirm'\n";
  }
}

// Writes the mapping files of an import that succeeded. The images are in
// either way, so a mapping file that cannot be written is a warning, unless
// it was asked for by name (not `defaulted`).
int WriteMapping(const std::string& path, bool defaulted, const ImportReport& report,
                 MappingFormat format) {
  if (path.empty()) return kExitOk;
  Status s = WriteMappingFiles(io::DefaultFileSystem(), path, report, format);
  if (s.ok()) return kExitOk;
  if (!defaulted) {
    return ReportError(s.WithContext("the images are imported, but the mapping file failed"));
  }
  std::cerr << "sluice: warning: the images are imported, but no mapping file was written ("
            << Printable(s.ToString()) << "); pass --mapping FILE to write one elsewhere\n";
  return kExitOk;
}

// What an import of volumes that do not yet make up their set did.
void PrintStaged(const StagedSet& set, const std::string& bundle_path, bool json) {
  if (json) {
    PrintJson("import", nlohmann::ordered_json{{"bundle", bundle_path},
                                        {"bundle_id", set.bundle_id},
                                        {"complete", false},
                                        {"staged_in", set.dir},
                                        {"taken", set.taken},
                                        {"already_held", set.already},
                                        {"volume_count", set.volume_count},
                                        {"volumes_held", set.volumes},
                                        {"parity_held", set.parity},
                                        {"still_needed", set.Missing()}});
    return;
  }
  std::cout << "staged ";
  if (set.taken.empty()) std::cout << "nothing new";
  for (size_t i = 0; i < set.taken.size(); ++i) std::cout << (i ? ", " : "") << set.taken[i];
  std::cout << " of bundle " << set.bundle_id << " in " << Printable(set.dir)
            << "; nothing is imported until every volume is in\n";
  if (!set.already.empty()) {
    std::cout << "  already held: ";
    for (size_t i = 0; i < set.already.size(); ++i) std::cout << (i ? ", " : "") << set.already[i];
    std::cout << "\n";
  }
  std::cout << "  still needed: " << set.StillNeeded()
            << "; import each as it comes, from wherever it is mounted\n";
}

}  // namespace

int RunImport(const Args& args) {
  std::string bundle_path, destination;
  std::vector<std::string> trust_paths;
  bool skip_signature = false;
  bool json = false;
  bool quiet = false;
  std::string mapping_path = "sluice-mapping.txt";
  std::string mapping_format = "text";
  std::string files_to;
  int parallel_blobs = kDefaultBlobsInFlight;
  std::string state_file;
  std::string receipt_path, receipt_key_path;
  std::string staging_root;
  bool allow_insecure_key = false;
  unsigned lock_timeout = 300;
  ImportOptions import_options;
  RegistryOptions registry_options("dest");
  po::options_description options("import options");
  options.add_options()
      ("bundle", po::value(&bundle_path)->required(), "bundle file, or - for stdin (also positional)")
      ("to", po::value(&destination)->required(),
       "destination: oci:DIR, docker://HOST[:PORT][/PREFIX], or registry-storage:DIR[:PREFIX] "
       "(a registry's storage directory, e.g. /var/lib/registry, written directly); each image "
       "keeps its repository path below PREFIX")
      ("trust", po::value(&trust_paths)->composing(),
       "trusted public key file or directory of *.pub/*.pem (repeatable)")
      ("insecure-skip-signature", po::bool_switch(&skip_signature),
       "do not check the signature (never do this with media from outside)")
      ("mapping", po::value(&mapping_path)->default_value(mapping_path),
       "write SOURCE=DESTINATION@DIGEST lines here, and the same as JSON in FILE.json; "
       "'' for none (with --mapping-format helm the default is sluice-mapping.yaml)")
      ("mapping-format", po::value(&mapping_format)->value_name("text|helm")
           ->default_value(mapping_format),
       "helm: write the mapping file instead as a Helm values snippet (YAML): each source "
       "image (and chart and file) split into registry, repository, tag and digest")
      ("files-to", po::value(&files_to)->value_name("DIR"),
       "also write every file the bundle carries as an artifact (export file:FILE) to "
       "DIR/NAME, atomically, checked against its digest; created if missing")
      ("state-file", po::value(&state_file),
       "where the destination's state is kept (the ledger it takes bundles of, the newest "
       "bundle imported); default DIR/.sluice/state.json, and for a registry "
       "$XDG_STATE_HOME/sluice/registries/HOST[/PREFIX].json")
      ("allow-rollback", po::bool_switch(&import_options.allow_rollback),
       "let an older bundle of the ledger move tags back to its images")
      ("accept-ledger", po::value(&import_options.accept_ledger),
       "take bundles of this ledger id from now on, though the destination took another's")
      ("lock-timeout", po::value(&lock_timeout)->default_value(lock_timeout),
       "seconds to wait for another import into the same destination")
      ("receipt", po::value(&receipt_path)->value_name("FILE"),
       "once everything is imported, write a signed receipt of what the destination now "
       "holds to FILE, for 'sluice ledger confirm' on the connected side; nothing is written "
       "when the import fails (needs --receipt-key)")
      ("receipt-key", po::value(&receipt_key_path)->value_name("KEY"),
       "Ed25519 private key (PEM, unencrypted, mode 600) that signs the receipt: a key of "
       "this side, whose public half the connected side trusts")
      ("staging", po::value(&staging_root)->value_name("DIR"),
       "where volumes given one at a time (disc by disc) are kept, each checked, until the "
       "set is whole and imported; default 'staging' beside the state file")
      ("json", po::bool_switch(&json), "print the report as JSON on stdout")
      ("quiet,q", po::bool_switch(&quiet), "no progress on stderr");
  AddParallelBlobsOption(options, &parallel_blobs,
                         "blobs written at once (an OCI layout: at most one per core plus "
                         "one; registry storage: one at a time)");
  AddInsecureKeyOption(options, &allow_insecure_key);
  registry_options.AddTo(options);
  po::positional_options_description positional;
  positional.add("bundle", 1);
  po::variables_map vm;
  if (auto exit = ParseCommandLine("import", "BUNDLE --trust PUB --to oci:DIR|docker://HOST[/PREFIX]|registry-storage:DIR[:PREFIX] [--receipt FILE --receipt-key KEY]", args, options,
                                   positional, &vm)) {
    return *exit;
  }
  if (auto exit = CheckParallelBlobs("import", parallel_blobs)) return *exit;
  MappingFormat format = MappingFormat::kText;
  if (mapping_format == "helm") {
    format = MappingFormat::kHelm;
    if (vm["mapping"].defaulted()) mapping_path = "sluice-mapping.yaml";
  } else if (mapping_format != "text") {
    std::cerr << "sluice import: --mapping-format takes 'text' or 'helm', not '"
              << Printable(mapping_format) << "'\nTry 'sluice import --help'.\n";
    return kExitUsage;
  }
  if (vm.count("files-to") && files_to.empty()) {
    std::cerr << "sluice import: --files-to is empty; give a directory\n"
              << "Try 'sluice import --help'.\n";
    return kExitUsage;
  }
  if (Status s = registry_options.Check(BundleIsStdin(bundle_path)); !s.ok()) {
    return ReportError(s);
  }
  const bool receipting = vm.count("receipt") > 0;
  if (receipting != (vm.count("receipt-key") > 0)) {
    std::cerr << "sluice import: --receipt and --receipt-key go together: give both, or neither\n"
              << "Try 'sluice import --help'.\n";
    return kExitUsage;
  }
  // The receipt's key and path are checked before anything is imported: an
  // import that cannot end in its receipt is refused whole.
  std::optional<format::PrivateKey> receipt_key;
  if (receipting) {
    if (Status s = CheckSigningKeyFile(receipt_key_path, allow_insecure_key); !s.ok()) {
      return ReportError(s.WithContext("--receipt-key"));
    }
    auto key = LoadPrivateKey(io::DefaultFileSystem(), receipt_key_path);
    if (!key.ok()) return ReportError(key.status().WithContext("--receipt-key"));
    receipt_key.emplace(std::move(key).value());
    if (Status s = CheckReceiptPath(io::DefaultFileSystem(), receipt_path); !s.ok()) {
      return ReportError(s);
    }
  }
  auto trust = LoadTrust(trust_paths, skip_signature);
  if (!trust.ok()) return ReportError(trust.status());
  auto sink = OpenSink(destination, registry_options);
  if (!sink.ok()) return ReportError(sink.status());
  auto state_path = StatePathFor(destination, state_file);
  if (!state_path.ok()) return ReportError(state_path.status());
  if (staging_root.empty()) staging_root = DefaultStagingRoot(*state_path);

  io::FileSystem* fs = io::DefaultFileSystem();
  auto input = OpenBundleInput(bundle_path, /*through_parity=*/true, /*progress=*/!quiet);
  // Volumes that are not yet their whole set (disc by disc): kept until
  // they are, then imported from where they are kept.
  std::unique_ptr<io::FileLock> staging_lock;
  if (!input.ok() &&
      (input.status().kind() == ErrorKind::kNotFound ||
       input.status().kind() == ErrorKind::kCorruption) &&
      NamesVolumeFiles(fs, bundle_path)) {
    auto lock = LockStaging(fs, staging_root, std::chrono::seconds(lock_timeout));
    if (!lock.ok()) return ReportError(lock.status());
    staging_lock = std::move(lock).value();
    auto set = StageVolumes(fs, bundle_path, staging_root, *trust);
    if (!set.ok()) return ReportError(set.status());
    if (set->imported) {
      if (json) {
        PrintJson("import", nlohmann::ordered_json{{"bundle", bundle_path},
                                            {"bundle_id", set->bundle_id},
                                            {"complete", true},
                                            {"already_imported", true}});
      } else {
        std::cout << "bundle " << set->bundle_id << " is imported into " << Printable(destination)
                  << " already (from volumes given before); nothing to do\n";
      }
      return kExitOk;
    }
    if (!set->Complete()) {
      PrintStaged(*set, bundle_path, json);
      return kExitOk;
    }
    if (!quiet) {
      std::cerr << "sluice: the volumes of bundle " << set->bundle_id << " are all in "
                << Printable(set->dir) << "; importing them\n";
    }
    input = OpenBundleInput(set->InputPath(), /*through_parity=*/true, /*progress=*/!quiet);
  }
  if (!input.ok()) return ReportError(input.status());

  ProgressDisplay progress(quiet);
  import_options.progress = progress.counter();
  import_options.blobs_in_flight = static_cast<size_t>(parallel_blobs);
  import_options.state_path = *state_path;
  import_options.lock_wait = std::chrono::seconds(lock_timeout);
  import_options.bundle_file = input->file.get();
  auto report = ImportBundle(input->stream.get(), *trust, sink->get(), destination, import_options);
  progress.Finish();
  if (!report.ok()) return ReportError(report.status());
  NoteStreamParity(*input);
  // The bundle is in: whatever volumes of it were staged are not needed.
  if (Status s = RemoveStagedSet(fs, staging_root, report->bundle.bundle_id); !s.ok()) {
    std::cerr << "sluice: warning: the bundle is imported, but its staged volumes were not "
                 "removed ("
              << Printable(s.ToString()) << "); remove them by hand\n";
  }
  int exit = kExitOk;
  if (!files_to.empty()) {
    Status written = WriteFileArtifacts(fs, sink->get(), files_to, &*report);
    if (!written.ok()) {
      exit = ReportError(written.WithContext("the images are imported, but the files were not "
                                             "all written (importing the bundle again writes "
                                             "them)"));
    }
  }
  if (receipt_key) {
    Status written = WriteReceipt(*report, destination, receipt_path, *receipt_key);
    if (!written.ok()) {
      int receipt_exit = ReportError(written.WithContext(
          "the images are imported, but the receipt was not (importing the bundle again "
          "changes nothing and writes it)"));
      if (exit == kExitOk) exit = receipt_exit;
      receipt_path.clear();
    }
  }
  int mapping_exit = WriteMapping(mapping_path, vm["mapping"].defaulted(), *report, format);
  PrintReport(*report, bundle_path, destination, receipting ? receipt_path : "", json);
  return exit != kExitOk ? exit : mapping_exit;
}

}  // namespace sluice::cli
