#include <boost/program_options.hpp>
#include <iostream>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "cli/json_output.h"
#include "delta/gzip_recipe.h"
#include "format/bundle_reader.h"
#include "oci/artifact.h"
#include "oci/manifest.h"
#include "parity_files.h"

namespace po = boost::program_options;

namespace sluice::cli {

namespace {

// What inspect shows of a bundle: its catalog, and the stored size of each
// shipped blob where the trailer can be read (a file, not a pipe).
struct Inspected {
  const format::Catalog* catalog = nullptr;
  std::string signer;
  bool verified = false;
  std::map<uint32_t, uint64_t> stored;  // blob index -> stored bytes
  uint64_t file_size = 0;  // every volume together
  uint64_t volumes = 1;
  std::vector<std::string> parity_files;
  uint64_t parity_bytes = 0;
  uint64_t raw_bytes = 0;
  uint64_t stored_bytes = 0;

  uint64_t Stored(size_t i) const {
    auto it = stored.find(static_cast<uint32_t>(i));
    return it == stored.end() ? 0 : it->second;
  }
};

// Stored sizes from the trailers of the bundle's file or of each of its
// volumes, and the parity files beside it with what they cost.
Status ReadStoredSizes(const std::string& bundle_path, const BundleInput& input, Inspected* out) {
  if (bundle_path == "-") return Status::Ok();
  io::FileSystem* fs = io::DefaultFileSystem();
  std::vector<const io::PositionalReader*> files;
  for (const auto& f : input.volume_files) files.push_back(f.get());
  if (files.empty() && input.file) files.push_back(input.file.get());
  out->volumes = std::max<size_t>(files.size(), 1);
  for (const io::PositionalReader* file : files) {
    out->file_size += file->Size();
    auto locations = format::ReadBlobLocations(*file);
    if (!locations.ok()) return locations.status().WithContext(file->name());
    for (const format::BlobLocation& l : *locations) out->stored[l.blob_index] += l.stored_size;
  }
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<ParityContext> parity, OpenParity(fs, bundle_path));
  if (parity) {
    out->parity_files = parity->parity_paths;
    for (const auto& r : parity->parity_readers) out->parity_bytes += r->Size();
  }
  return Status::Ok();
}

// Parity bytes per bundle byte, in percent.
double ParityOverhead(const Inspected& in) {
  return in.file_size == 0 ? 0.0 : 100.0 * static_cast<double>(in.parity_bytes) /
                                       static_cast<double>(in.file_size);
}

// "repository:tag", "repository@digest" for a pinned ref, or the layout's
// ref name.
std::string RefName(const format::RefEntry& r) {
  if (r.repository.empty()) return r.tag;
  return r.tag.empty() ? r.repository + "@" + r.manifest.str() : r.repository + ":" + r.tag;
}

// The children of index `m` (an unparsable one: none, verify says why),
// each with its platform and whether the bundle carries it or left it out
// (export --platform).
struct Child {
  oci::Descriptor descriptor;
  std::string platform;  // "os/arch[/variant]", "" when the index declares none
  bool carried;
};
std::vector<Child> ChildrenOf(const format::ManifestEntry& m,
                              const std::map<format::Digest, const format::ManifestEntry*>& all) {
  std::vector<Child> children;
  if (m.absent) return children;
  auto parsed = oci::ParseManifest(m.bytes, m.media_type);
  if (!parsed.ok() || parsed->kind != oci::ManifestKind::kIndex) return children;
  for (const oci::Descriptor& d : parsed->manifests) {
    auto it = all.find(d.digest);
    children.push_back(
        {d, d.platform ? d.platform->ToString() : "", it != all.end() && !it->second->absent});
  }
  return children;
}

// The Helm chart or file a ref carries as an artifact, if it is one.
std::optional<oci::Artifact> ArtifactOf(
    const format::RefEntry& r, const std::map<format::Digest, const format::ManifestEntry*>& all) {
  auto it = all.find(r.manifest);
  if (it == all.end() || it->second->absent) return std::nullopt;
  return oci::RecognizeArtifact(it->second->bytes, it->second->media_type);
}

void PrintInspectedJson(const Inspected& in) {
  using nlohmann::ordered_json;
  const format::Catalog& catalog = *in.catalog;
  const format::BundleHeader& h = catalog.header;
  ordered_json refs = ordered_json::array(), manifests = ordered_json::array(),
               blobs = ordered_json::array();
  std::map<format::Digest, const format::ManifestEntry*> by_digest;
  for (const auto& m : catalog.manifests) by_digest[m.digest] = &m;
  for (const auto& m : catalog.manifests) {
    ordered_json entry = {{"digest", m.digest.str()},
                          {"media_type", m.media_type},
                          {"size", m.bytes.size()},
                          {"absent", m.absent}};
    std::vector<Child> children = ChildrenOf(m, by_digest);
    if (!children.empty()) {
      ordered_json list = ordered_json::array();
      for (const Child& c : children) {
        list.push_back({{"digest", c.descriptor.digest.str()},
                        {"media_type", c.descriptor.media_type},
                        {"platform", c.platform},
                        {"carried", c.carried}});
      }
      entry["children"] = std::move(list);
    }
    manifests.push_back(std::move(entry));
  }
  for (const auto& r : catalog.refs) {
    auto m = by_digest.find(r.manifest);
    ordered_json entry = RefJson(r.source, r.repository, r.tag, r.manifest.str());
    entry["media_type"] = m == by_digest.end() ? std::string() : m->second->media_type;
    if (std::optional<oci::Artifact> artifact = ArtifactOf(r, by_digest)) {
      entry["artifact"] = {{"kind", oci::ArtifactKindName(artifact->kind)},
                           {"name", artifact->name},
                           {"version", artifact->version},
                           {"size", artifact->content.size}};
    }
    refs.push_back(std::move(entry));
  }
  for (size_t i = 0; i < catalog.blobs.size(); ++i) {
    const auto& b = catalog.blobs[i];
    ordered_json blob{{"digest", b.digest.str()},
                      {"size", b.size},
                      {"media_type", b.media_type},
                      {"shipped", b.shipped},
                      {"stored_size", in.Stored(i)}};
    if (b.delta) {
      blob["delta"] = {{"base", b.delta->base.str()},
                       {"delta_size", b.delta->size},
                       {"delta_digest", b.delta->digest.str()},
                       {"content_size", b.delta->content_size},
                       {"encoding", delta::DescribeContentEncoding(b.delta->encoding)}};
    }
    blobs.push_back(std::move(blob));
  }
  PrintJson("inspect", ordered_json{{"bundle_id", format::HexEncode(h.bundle_id)},
                      {"ledger_id", format::HexEncode(h.ledger_id)},
                      {"base_sequence", h.base_sequence},
                      {"sequence", h.sequence},
                      {"created_unix", h.created_unix},
                      {"signer", in.signer},
                      {"signature_verified", in.verified},
                      {"refs", refs},
                      {"manifests", manifests},
                      {"blobs", blobs},
                      {"raw_bytes", in.raw_bytes},
                      {"stored_bytes", in.stored_bytes},
                      {"file_size", in.file_size},
                      {"volumes", in.volumes},
                      {"parity_files", in.parity_files},
                      {"parity_bytes", in.parity_bytes},
                      {"parity_overhead_percent", ParityOverhead(in)}});
}

// Every name, source and media type is the bundle's claim, unchecked until
// verify, and printed through Printable: an unsigned bundle must not be able
// to clear the screen or forge a line.
void PrintText(const Inspected& in) {
  const format::Catalog& catalog = *in.catalog;
  const format::BundleHeader& h = catalog.header;
  std::cout << "bundle     " << format::HexEncode(h.bundle_id) << "\n"
            << "ledger     " << format::HexEncode(h.ledger_id) << "\n"
            << "sequence   " << h.sequence << " (builds on " << h.base_sequence << ")\n"
            << "signer     " << in.signer
            << (in.verified ? " (verified)" : " (not checked: use --trust)") << "\n\nrefs:\n";
  std::map<format::Digest, const format::ManifestEntry*> by_digest;
  size_t absent = 0;
  for (const auto& m : catalog.manifests) {
    by_digest[m.digest] = &m;
    absent += m.absent ? 1 : 0;
  }
  for (const auto& r : catalog.refs) {
    std::cout << "  " << Printable(RefName(r)) << "  " << r.manifest.str()
              << (r.source.empty() ? "" : "  from " + Printable(r.source)) << "\n";
    if (std::optional<oci::Artifact> artifact = ArtifactOf(r, by_digest)) {
      std::cout << "    "
                << (artifact->kind == oci::ArtifactKind::kHelmChart
                        ? "Helm chart " + Printable(artifact->name) + " " +
                              Printable(artifact->version)
                        : "file " + Printable(artifact->name))
                << ", " << HumanBytes(artifact->content.size) << "\n";
    }
  }
  std::cout << "\nmanifests: " << catalog.manifests.size() - absent;
  if (absent > 0) std::cout << " carried, " << absent << " absent (platforms left out)";
  std::cout << "\n";
  for (const auto& m : catalog.manifests) {
    std::vector<Child> children = ChildrenOf(m, by_digest);
    if (children.empty()) continue;
    std::cout << "  index " << m.digest.str() << ":\n";
    for (const Child& c : children) {
      std::cout << "    " << (c.platform.empty() ? "(no platform)" : Printable(c.platform)) << "  "
                << c.descriptor.digest.str() << "  " << (c.carried ? "carried" : "absent") << "\n";
    }
  }
  std::cout << "\nblobs:\n";
  for (size_t i = 0; i < catalog.blobs.size(); ++i) {
    const auto& b = catalog.blobs[i];
    std::cout << "  " << b.digest.str() << "  " << HumanBytes(b.size) << "  "
              << (b.shipped ? "shipped, stored " + HumanBytes(in.Stored(i))
                            : std::string("assumed present"))
              << "  " << Printable(b.media_type) << "\n";
    if (b.delta) {
      std::cout << "    as a delta of " << HumanBytes(b.delta->size) << " against "
                << b.delta->base.str() << ", rebuilt by "
                << delta::DescribeContentEncoding(b.delta->encoding) << "\n";
    }
  }
  std::cout << "\nshipped " << HumanBytes(in.raw_bytes) << " raw as " << HumanBytes(in.stored_bytes)
            << " stored; " << (in.volumes > 1 ? std::to_string(in.volumes) + " volumes, " : "file ")
            << HumanBytes(in.file_size) << "\n";
  if (!in.parity_files.empty()) {
    char overhead[32];
    std::snprintf(overhead, sizeof overhead, "%.1f", ParityOverhead(in));
    std::cout << "parity: " << in.parity_files.size() << " files beside it, "
              << HumanBytes(in.parity_bytes) << " (" << overhead << " % of the bundle)\n";
  }
}

}  // namespace

int RunInspect(const Args& args) {
  std::string bundle_path;
  std::vector<std::string> trust_paths;
  bool json = false;
  po::options_description options("inspect options");
  options.add_options()("bundle", po::value(&bundle_path)->required(),
                        "bundle file, or - for stdin (also positional)")(
      "trust", po::value(&trust_paths)->composing(),
      "also check the signature against these keys (files or directories)")(
      "json", po::bool_switch(&json), "print as JSON on stdout");
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
  // What the bundle claims, read as it is: inspect does not read it whole
  // to check it against its parity (verify does).
  auto input = OpenBundleInput(bundle_path, /*through_parity=*/false);
  if (!input.ok()) return ReportError(input.status());
  auto reader = format::BundleReader::Open(input->stream.get(), trust);
  if (!reader.ok()) return ReportError(reader.status().WithContext(bundle_path));

  Inspected inspected;
  inspected.catalog = &(*reader)->catalog();
  inspected.signer = "sha256:" + format::HexEncode((*reader)->signature().key_fingerprint);
  inspected.verified = (*reader)->signature().verified;
  if (Status s = ReadStoredSizes(bundle_path, *input, &inspected); !s.ok()) return ReportError(s);
  for (size_t i = 0; i < inspected.catalog->blobs.size(); ++i) {
    if (!inspected.catalog->blobs[i].shipped) continue;
    inspected.raw_bytes += inspected.catalog->blobs[i].size;
    inspected.stored_bytes += inspected.Stored(i);
  }
  if (json) {
    PrintInspectedJson(inspected);
  } else {
    PrintText(inspected);
  }
  return kExitOk;
}

}  // namespace sluice::cli
