#include <boost/program_options.hpp>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "format/bundle_reader.h"

namespace po = boost::program_options;

namespace sluice::cli {

int RunInspect(const Args& args) {
  std::string bundle_path;
  std::vector<std::string> trust_paths;
  bool json = false;
  po::options_description options("inspect options");
  options.add_options()
      ("bundle", po::value(&bundle_path)->required(), "bundle file, or - for stdin (also positional)")
      ("trust", po::value(&trust_paths)->composing(),
       "also check the signature against these keys (files or directories)")
      ("json", po::bool_switch(&json), "print as JSON on stdout");
  po::positional_options_description positional;
  positional.add("bundle", 1);
  po::variables_map vm;
  if (auto exit = ParseCommandLine("inspect", "BUNDLE [--json]", args, options, positional, &vm)) {
    return *exit;
  }
  // Inspecting shows what a bundle claims; only verify/import vouch for it.
  format::TrustPolicy trust{.keys = {}, .skip_signature = trust_paths.empty()};
  if (!trust_paths.empty()) {
    auto loaded = LoadTrust(trust_paths, false);
    if (!loaded.ok()) return ReportError(loaded.status());
    trust = std::move(loaded).value();
  }
  auto input = OpenBundleInput(bundle_path);
  if (!input.ok()) return ReportError(input.status());
  auto reader = format::BundleReader::Open(input->get(), trust);
  if (!reader.ok()) return ReportError(reader.status().WithContext(bundle_path));
  const format::Catalog& catalog = (*reader)->catalog();

  // Stored sizes come from the trailer, which a file lets us read directly.
  std::map<uint32_t, uint64_t> stored;
  uint64_t file_size = 0;
  if (bundle_path != "-") {
    auto file = io::DefaultFileSystem()->NewPositionalReader(bundle_path);
    if (!file.ok()) return ReportError(file.status());
    file_size = (*file)->Size();
    auto locations = format::ReadBlobLocations(**file);
    if (!locations.ok()) return ReportError(locations.status().WithContext(bundle_path));
    for (const format::BlobLocation& l : *locations) stored[l.blob_index] = l.stored_size;
  }

  const auto& h = catalog.header;
  std::string signer = "sha256:" + format::HexEncode((*reader)->signature().key_fingerprint);
  uint64_t raw_bytes = 0, stored_bytes = 0;
  for (size_t i = 0; i < catalog.blobs.size(); ++i) {
    if (!catalog.blobs[i].shipped) continue;
    raw_bytes += catalog.blobs[i].size;
    stored_bytes += stored[static_cast<uint32_t>(i)];
  }

  if (json) {
    using nlohmann::ordered_json;
    ordered_json refs = ordered_json::array(), manifests = ordered_json::array(),
                 blobs = ordered_json::array();
    std::map<format::Digest, const format::ManifestEntry*> by_digest;
    for (const auto& m : catalog.manifests) {
      by_digest[m.digest] = &m;
      manifests.push_back({{"digest", m.digest.str()}, {"media_type", m.media_type},
                           {"size", m.bytes.size()}});
    }
    for (const auto& r : catalog.refs) {
      refs.push_back({{"repository", r.repository}, {"tag", r.tag}, {"source", r.source},
                      {"digest", r.manifest.str()},
                      {"media_type", by_digest.count(r.manifest) ? by_digest[r.manifest]->media_type
                                                                 : std::string()}});
    }
    for (size_t i = 0; i < catalog.blobs.size(); ++i) {
      const auto& b = catalog.blobs[i];
      blobs.push_back({{"digest", b.digest.str()}, {"size", b.size}, {"media_type", b.media_type},
                       {"shipped", b.shipped}, {"stored_size", stored[static_cast<uint32_t>(i)]}});
    }
    ordered_json doc = {{"bundle_id", format::HexEncode(h.bundle_id)},
                        {"ledger_id", format::HexEncode(h.ledger_id)},
                        {"base_sequence", h.base_sequence},
                        {"sequence", h.sequence},
                        {"created_unix", h.created_unix},
                        {"signer", signer},
                        {"signature_verified", (*reader)->signature().verified},
                        {"refs", refs},
                        {"manifests", manifests},
                        {"blobs", blobs},
                        {"raw_bytes", raw_bytes},
                        {"stored_bytes", stored_bytes},
                        {"file_size", file_size}};
    std::cout << doc.dump(2) << "\n";
    return kExitOk;
  }

  std::cout << "bundle     " << format::HexEncode(h.bundle_id) << "\n"
            << "ledger     " << format::HexEncode(h.ledger_id) << "\n"
            << "sequence   " << h.sequence << " (builds on " << h.base_sequence << ")\n"
            << "signer     " << signer
            << ((*reader)->signature().verified ? " (verified)" : " (not checked: use --trust)")
            << "\n\nrefs:\n";
  for (const auto& r : catalog.refs) {
    std::cout << "  " << (r.repository.empty() ? "" : r.repository + ":") << r.tag << "  "
              << r.manifest.str() << (r.source.empty() ? "" : "  from " + r.source) << "\n";
  }
  std::cout << "\nmanifests: " << catalog.manifests.size() << "\n\nblobs:\n";
  for (size_t i = 0; i < catalog.blobs.size(); ++i) {
    const auto& b = catalog.blobs[i];
    std::cout << "  " << b.digest.str() << "  " << HumanBytes(b.size) << "  "
              << (b.shipped ? "shipped, stored " + HumanBytes(stored[static_cast<uint32_t>(i)])
                            : std::string("assumed present"))
              << "  " << b.media_type << "\n";
  }
  std::cout << "\nshipped " << HumanBytes(raw_bytes) << " raw as " << HumanBytes(stored_bytes)
            << " stored; file " << HumanBytes(file_size) << "\n";
  return kExitOk;
}

}  // namespace sluice::cli
