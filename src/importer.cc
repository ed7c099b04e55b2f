#include "importer.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "catalog_check.h"
#include "oci/manifest.h"
#include "reference/ref_name.h"
#include "transfer/limits.h"
#include "transfer/parallel_blob_writer.h"

namespace sluice {
namespace {

constexpr size_t kCopyBufferSize = 1u << 20;

// What the report (and the mapping file) calls the image's origin: the
// exporter's own reference when the bundle records one.
std::string RefSource(const format::RefEntry& ref) {
  return ref.source.empty() ? JoinRefName(ref.repository, ref.tag) : ref.source;
}

// Opens the bundle and checks everything that can be checked before blob data.
Result<std::unique_ptr<format::BundleReader>> OpenChecked(io::SequentialReader* in,
                                                          const format::TrustPolicy& trust,
                                                          BundleSummary* summary) {
  auto reader = format::BundleReader::Open(in, trust);
  if (!reader.ok()) return reader.status().WithContext(in->name());
  const format::Catalog& catalog = (*reader)->catalog();
  SLUICE_RETURN_IF_ERROR(CheckCatalogGraph(catalog).WithContext(in->name()));

  summary->bundle_id = format::HexEncode(catalog.header.bundle_id);
  summary->signer = "sha256:" + format::HexEncode((*reader)->signature().key_fingerprint);
  summary->signature_verified = (*reader)->signature().verified;
  summary->base_sequence = catalog.header.base_sequence;
  summary->sequence = catalog.header.sequence;
  summary->refs = catalog.refs.size();
  summary->manifests = catalog.manifests.size();
  for (const format::BlobEntry& blob : catalog.blobs) {
    if (blob.shipped) {
      summary->shipped_blobs += 1;
      summary->shipped_bytes += blob.size;
    } else {
      summary->assumed_blobs += 1;
    }
  }
  return reader;
}

// The repositories each manifest and blob belongs to, in the order refs name
// them: a registry keeps repositories apart, so a layer shared by two images
// of two repositories must end up in both. The first is where it is written;
// the sink makes it available in the others (a registry mounts it). An OCI
// layout has one namespace and ignores all this.
using RepositoryMap = std::map<format::Digest, std::vector<std::string>>;

RepositoryMap RepositoriesOfEachDigest(const format::Catalog& catalog) {
  std::map<format::Digest, const format::ManifestEntry*> manifests;
  for (const format::ManifestEntry& m : catalog.manifests) manifests[m.digest] = &m;
  RepositoryMap owners;
  for (const format::RefEntry& ref : catalog.refs) {
    std::set<format::Digest> seen;
    std::vector<format::Digest> stack{ref.manifest};
    while (!stack.empty()) {
      format::Digest digest = stack.back();
      stack.pop_back();
      if (!seen.insert(digest).second) continue;
      auto& repos = owners[digest];
      if (std::find(repos.begin(), repos.end(), ref.repository) == repos.end()) {
        repos.push_back(ref.repository);
      }
      auto it = manifests.find(digest);
      if (it == manifests.end()) continue;  // a blob
      // CheckCatalogGraph has already parsed every manifest successfully.
      auto parsed = oci::ParseManifest(it->second->bytes, it->second->media_type);
      if (!parsed.ok()) continue;
      for (const oci::Descriptor& d : parsed->manifests) stack.push_back(d.digest);
      if (parsed->config) stack.push_back(parsed->config->digest);
      for (const oci::Descriptor& d : parsed->layers) stack.push_back(d.digest);
    }
  }
  // Listed but unreachable from any ref: keep it with the first repository.
  std::string fallback = catalog.refs.empty() ? "" : catalog.refs.front().repository;
  for (const auto& b : catalog.blobs) owners.try_emplace(b.digest, std::vector{fallback});
  for (const auto& m : catalog.manifests) owners.try_emplace(m.digest, std::vector{fallback});
  return owners;
}

Status Drain(format::BundleReader* reader, std::vector<uint8_t>* buffer) {
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(size_t n, reader->Read(*buffer));
    if (n == 0) return Status::Ok();
  }
}

}  // namespace

Result<BundleSummary> VerifyBundle(io::SequentialReader* in, const format::TrustPolicy& trust,
                                   const ProgressFunction& progress) {
  BundleSummary summary;
  SLUICE_ASSIGN_OR_RETURN(auto reader, OpenChecked(in, trust, &summary));
  std::vector<uint8_t> buffer(kCopyBufferSize);
  uint64_t done = 0;
  uint64_t bytes = 0;
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(std::optional<size_t> index, reader->NextBlob());
    if (!index) break;
    SLUICE_RETURN_IF_ERROR(Drain(reader.get(), &buffer));
    bytes += reader->catalog().blobs[*index].size;
    if (progress) progress(++done, summary.shipped_blobs, bytes, summary.shipped_bytes);
  }
  SLUICE_RETURN_IF_ERROR(reader->Finish());
  return summary;
}

Result<ImportReport> ImportBundle(io::SequentialReader* in, const format::TrustPolicy& trust,
                                  ImageSink* sink, const std::string& destination,
                                  const ProgressFunction& progress, size_t blobs_in_flight) {
  ImportReport report;
  SLUICE_ASSIGN_OR_RETURN(auto reader, OpenChecked(in, trust, &report.bundle));
  const format::Catalog& catalog = reader->catalog();
  RepositoryMap repos = RepositoriesOfEachDigest(catalog);

  // Refuse before writing anything: bad names, missing base blobs, no room.
  for (const format::RefEntry& ref : catalog.refs) {
    SLUICE_RETURN_IF_ERROR(sink->CheckRef(ref.repository, ref.tag));
  }
  std::vector<std::string> missing;
  std::set<format::Digest> present;
  uint64_t needed_bytes = 0;
  for (const format::BlobEntry& blob : catalog.blobs) {
    const std::string& repository = repos[blob.digest].front();
    SLUICE_ASSIGN_OR_RETURN(bool has, sink->HasBlob(repository, blob.digest));
    if (!has && !blob.shipped) {
      // Delivered earlier, perhaps to another repository than this image's.
      SLUICE_ASSIGN_OR_RETURN(has, sink->FindBlob(repository, blob.digest));
    }
    if (has) {
      present.insert(blob.digest);
    } else if (!blob.shipped) {
      missing.push_back(blob.digest.str());
    } else {
      needed_bytes += blob.size;
    }
  }
  if (!missing.empty()) {
    std::string list;
    for (const std::string& d : missing) list += "\n  " + d;
    // Sequences are all the far side can name: which of the earlier bundles
    // are lost is only known to whoever kept them.
    uint64_t base = catalog.header.base_sequence;
    std::string remedy =
        base == 0 ? "the exporter's ledger says " + destination + " holds them"
                  : "import bundle " + std::to_string(base) +
                        " (and any earlier bundle not imported yet) first";
    return Status::NotFound(
        "bundle " + std::to_string(catalog.header.sequence) + " builds on bundle " +
        std::to_string(base) + " of its ledger, but " + destination + " lacks " +
        std::to_string(missing.size()) + " blob(s) it assumes present; " + remedy +
        ", or resynchronise the exporter's ledger ('sluice inventory' here, then "
        "'sluice ledger rebuild --from-inventory'). Missing:" + list);
  }
  for (const format::ManifestEntry& m : catalog.manifests) needed_bytes += m.bytes.size();
  SLUICE_ASSIGN_OR_RETURN(uint64_t free_bytes, sink->FreeSpace());
  if (free_bytes < needed_bytes) {
    return Status::NoSpace(destination + " has " + std::to_string(free_bytes) +
                           " bytes free but the import needs " + std::to_string(needed_bytes));
  }

  // Blobs: each is verified by the reader (size and sha256) before Read
  // reports its end, and only then committed by the sink. The sink's writes
  // run on worker threads, overlapping with reading the bundle on.
  std::vector<uint8_t> buffer(kCopyBufferSize);
  uint64_t done = 0;
  uint64_t bytes = 0;
  ParallelBlobWriter writers(std::min(blobs_in_flight, sink->MaxBlobsInFlight()), kBlobBufferBytes);
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(std::optional<size_t> index, reader->NextBlob());
    if (!index) break;
    const format::BlobEntry& blob = catalog.blobs[*index];
    if (present.contains(blob.digest)) {
      SLUICE_RETURN_IF_ERROR(Drain(reader.get(), &buffer));
      report.blobs_already_present += 1;
    } else {
      SLUICE_ASSIGN_OR_RETURN(
          auto writer, writers.Start("blob " + blob.digest.str(),
                                     [sink, repository = repos[blob.digest].front(), &blob] {
                                       return sink->NewBlob(repository, blob.digest, blob.size);
                                     }));
      while (true) {
        SLUICE_ASSIGN_OR_RETURN(size_t n, reader->Read(buffer));
        if (n == 0) break;
        SLUICE_RETURN_IF_ERROR(writer->Append(io::ByteView(buffer.data(), n)));
      }
      SLUICE_RETURN_IF_ERROR(writer->Commit());
      report.blobs_written += 1;
      report.bytes_written += blob.size;
    }
    bytes += blob.size;
    if (progress) progress(++done, report.bundle.shipped_blobs, bytes, report.bundle.shipped_bytes);
  }
  SLUICE_RETURN_IF_ERROR(writers.Finish());
  report.blobs_already_present += present.size() - report.blobs_already_present;
  SLUICE_RETURN_IF_ERROR(reader->Finish().WithContext(in->name()));

  // Blobs shared across repositories: make them present in every one.
  for (const format::BlobEntry& blob : catalog.blobs) {
    const std::vector<std::string>& wanted_in = repos[blob.digest];
    for (size_t i = 1; i < wanted_in.size(); ++i) {
      SLUICE_ASSIGN_OR_RETURN(bool has, sink->HasBlob(wanted_in[i], blob.digest));
      if (!has) {
        return Status::NotFound("blob " + blob.digest.str() + " could not be made available in " +
                                "repository '" + wanted_in[i] + "' of " + destination);
      }
    }
  }

  // Catalog order puts children before the indexes that list them.
  std::map<format::Digest, const format::ManifestEntry*> manifests;
  for (const format::ManifestEntry& m : catalog.manifests) {
    manifests[m.digest] = &m;
    for (const std::string& repository : repos[m.digest]) {
      SLUICE_ASSIGN_OR_RETURN(bool has, sink->HasBlob(repository, m.digest));
      if (has) continue;
      SLUICE_RETURN_IF_ERROR(sink->PutManifest(repository, m.digest, m.media_type, m.bytes));
      report.manifests_written += 1;
    }
  }
  for (const format::RefEntry& ref : catalog.refs) {
    const format::ManifestEntry& root = *manifests.at(ref.manifest);  // checked by the reader
    SLUICE_RETURN_IF_ERROR(
        sink->AddTag(ref.repository, ref.tag, ref.manifest, root.media_type, root.bytes.size()));
    report.refs.push_back({RefSource(ref), sink->Describe(ref.repository, ref.tag, ref.manifest),
                           ref.manifest.str(), ref.tag.empty()});
  }
  SLUICE_RETURN_IF_ERROR(sink->Commit());
  return report;
}

}  // namespace sluice
