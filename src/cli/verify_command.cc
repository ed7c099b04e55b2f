#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "cli/json_output.h"
#include "format/bundle_reader.h"
#include "importer.h"
#include "io/atomic_file.h"
#include "volume_set.h"

namespace po = boost::program_options;

namespace sluice::cli {
namespace {

// verify --volume: one volume checked alone, for media that arrive one at a
// time.
int VerifyOneVolume(const std::string& path, const format::TrustPolicy& trust, bool json) {
  auto file = io::DefaultFileSystem()->NewPositionalReader(path);
  if (!file.ok()) return ReportError(file.status());
  auto check = format::VerifyVolume(**file, trust);
  if (!check.ok()) {
    return ReportError(check.status().WithContext("volume " + path));
  }
  const format::VolumeCheck& c = *check;
  const std::string signer = "sha256:" + format::HexEncode(c.signature.key_fingerprint);
  const uint64_t spanning = c.parts.size() - c.whole_blobs;
  if (json) {
    PrintJson("verify", nlohmann::ordered_json{{"bundle", path},
                                        {"ok", true},
                                        {"bundle_id", format::HexEncode(c.catalog.header.bundle_id)},
                                        {"signer", signer},
                                        {"signature_verified", c.signature.verified},
                                        {"volume", c.record.number},
                                        {"volumes", c.record.count},
                                        {"frames", c.frames},
                                        {"whole_blobs", c.whole_blobs},
                                        {"blob_parts", spanning}});
    return kExitOk;
  }
  std::cout << Printable(path) << ": OK, volume " << c.record.number << " of " << c.record.count
            << " of bundle " << c.catalog.header.sequence << ", signed by " << signer
            << (c.signature.verified ? "" : " (signature NOT checked)") << "\n  " << c.frames
            << " frames checked: " << c.whole_blobs << " whole blobs (sha256 checked), " << spanning
            << " parts of blobs that span volumes (their sha256 is checked with the whole set)\n";
  return kExitOk;
}

}  // namespace

int RunVerify(const Args& args) {
  std::string bundle_path;
  std::vector<std::string> trust_paths;
  bool skip_signature = false;
  bool json = false;
  bool quiet = false;
  bool one_volume = false;
  po::options_description options("verify options");
  options.add_options()
      ("bundle", po::value(&bundle_path)->required(),
       "bundle file, - for stdin, or a bundle's volumes: a directory, the set's name or one "
       "volume (also positional)")
      ("volume", po::bool_switch(&one_volume),
       "check BUNDLE, one volume of a set, alone: signature and every frame in it")
      ("trust", po::value(&trust_paths)->composing(),
       "trusted public key file or directory of *.pub/*.pem (repeatable)")
      ("insecure-skip-signature", po::bool_switch(&skip_signature),
       "do not check the signature (never do this with media from outside)")
      ("json", po::bool_switch(&json), "print the result as JSON on stdout")
      ("quiet,q", po::bool_switch(&quiet), "no progress on stderr");
  po::positional_options_description positional;
  positional.add("bundle", 1);
  po::variables_map vm;
  if (auto exit = ParseCommandLine("verify", "BUNDLE --trust PUB", args, options, positional, &vm)) {
    return *exit;
  }
  auto trust = LoadTrust(trust_paths, skip_signature);
  if (!trust.ok()) return ReportError(trust.status());
  if (one_volume) return VerifyOneVolume(bundle_path, *trust, json);
  auto input = OpenBundleInput(bundle_path, /*through_parity=*/true, /*progress=*/!quiet);
  // A volume on its own, with none of its set beside it (one disc in the
  // drive): checked alone, as --volume would. A set with only some of its
  // volumes stays an error naming those missing.
  if (!input.ok() && input.status().kind() == ErrorKind::kNotFound) {
    io::FileSystem* fs = io::DefaultFileSystem();
    auto kind = io::KindOfPath(fs, bundle_path);
    auto found = FindVolumes(fs, bundle_path);
    if (kind.ok() && *kind == io::PathKind::kRegular && found.ok() &&
        found->volumes.size() == 1 && found->count > 1) {
      if (!quiet && !json) {
        std::cerr << "sluice: " << Printable(bundle_path) << " is volume "
                  << found->volumes.front().record.number << " of " << found->count
                  << " and none of the others is beside it: checking it alone\n";
      }
      return VerifyOneVolume(bundle_path, *trust, json);
    }
  }
  if (!input.ok()) return ReportError(input.status());

  ProgressDisplay progress(quiet);
  auto summary =
      VerifyBundle(input->stream.get(), *trust, progress.counter(), input->file.get());
  progress.Finish();
  if (!summary.ok()) {
    return ReportError(summary.status());
  }
  NoteStreamParity(*input);
  const BundleSummary& s = *summary;
  if (json) {
    PrintJson("verify", nlohmann::ordered_json{{"bundle", bundle_path},
                                        {"ok", true},
                                        {"bundle_id", s.bundle_id},
                                        {"signer", s.signer},
                                        {"signature_verified", s.signature_verified},
                                        {"base_sequence", s.base_sequence},
                                        {"sequence", s.sequence},
                                        {"refs", s.refs},
                                        {"manifests", s.manifests},
                                        {"absent_manifests", s.absent_manifests},
                                        {"shipped_blobs", s.shipped_blobs},
                                        {"shipped_bytes", s.shipped_bytes},
                                        {"assumed_blobs", s.assumed_blobs},
                                        {"delta_blobs", s.delta_blobs},
                                        {"delta_bytes", s.delta_bytes},
                                        {"delta_bases", s.delta_bases},
                                        {"parity_stream", input->stream_parity
                                                              ? input->stream_parity->Summary()
                                                              : ""}});
  } else {
    std::cout << Printable(bundle_path) << ": OK, bundle " << s.sequence << " (on ledger sequence "
              << s.base_sequence << "), signed by " << Printable(s.signer)
              << (s.signature_verified ? "" : " (signature NOT checked)") << "\n  " << s.refs
              << " refs, " << s.manifests << " manifests"
              << (s.absent_manifests > 0
                      ? " (" + std::to_string(s.absent_manifests) + " more left out by platform)"
                      : std::string())
              << ", " << s.shipped_blobs << " blobs ("
              << HumanBytes(s.shipped_bytes) << ") verified, " << s.assumed_blobs
              << " assumed present at the destination\n";
    if (s.delta_blobs > 0) {
      std::cout << "  " << s.delta_blobs << " of the blobs travel as deltas ("
                << HumanBytes(s.delta_bytes)
                << ", verified): import rebuilds them from their bases, which the destination "
                   "must hold\n";
    }
    if (!input->volume_paths.empty()) {
      std::cout << "  in " << input->volume_paths.size() << " volumes, from "
                << Printable(input->volume_paths.front()) << "\n";
    }
  }
  return kExitOk;
}

}  // namespace sluice::cli
