#include "bundle_check.h"

#include <algorithm>
#include <optional>
#include <thread>

#include "catalog_check.h"
#include "transfer/parallel_for.h"

namespace sluice {

// Opens the bundle and checks everything that can be checked before blob data.
Result<std::unique_ptr<format::BundleReader>> OpenChecked(
    io::SequentialReader* in, const format::TrustPolicy& trust, BundleSummary* summary,
    const format::BundleReaderOptions& options) {
  auto reader = format::BundleReader::Open(in, trust, options);
  if (!reader.ok()) return reader.status().WithContext(in->name());
  const format::Catalog& catalog = (*reader)->catalog();
  SLUICE_RETURN_IF_ERROR(CheckCatalogGraph(catalog).WithContext(in->name()));

  summary->bundle_id = format::HexEncode(catalog.header.bundle_id);
  summary->ledger_id = format::HexEncode(catalog.header.ledger_id);
  summary->signer = "sha256:" + format::HexEncode((*reader)->signature().key_fingerprint);
  summary->signature_verified = (*reader)->signature().verified;
  summary->base_sequence = catalog.header.base_sequence;
  summary->sequence = catalog.header.sequence;
  summary->refs = catalog.refs.size();
  for (const format::ManifestEntry& m : catalog.manifests) {
    (m.absent ? summary->absent_manifests : summary->manifests) += 1;
  }
  for (const format::BlobEntry& blob : catalog.blobs) {
    if (blob.shipped) {
      summary->shipped_blobs += 1;
      summary->shipped_bytes += blob.size;
      if (blob.delta) {
        summary->delta_blobs += 1;
        summary->delta_bytes += blob.delta->size;
        summary->delta_bases.push_back(blob.delta->base.str());
      }
    } else {
      summary->assumed_blobs += 1;
    }
  }
  return reader;
}

Result<BlobsAt> BlobsAt::Locate(const io::PositionalReader& file, const format::Catalog& catalog) {
  BlobsAt blobs;
  SLUICE_ASSIGN_OR_RETURN(blobs.locations, format::LocateShippedBlobs(file, catalog));
  uint64_t frames = 0;
  for (size_t i = 0; i < blobs.locations.size(); ++i) {
    blobs.first_frames.push_back(frames);
    frames += blobs.locations[i].frame_count;
    blobs.order.push_back(i);
  }
  std::stable_sort(blobs.order.begin(), blobs.order.end(), [&](size_t a, size_t b) {
    return blobs.locations[a].stored_size > blobs.locations[b].stored_size;
  });
  return blobs;
}

namespace {

// Checks every shipped blob of a bundle file, one per core at once.
Status VerifyBlobsAt(const io::PositionalReader& file, const format::Catalog& catalog,
                     ProgressCounter* progress) {
  auto located = BlobsAt::Locate(file, catalog);
  if (!located.ok()) return located.status().WithContext(file.name());
  const BlobsAt& blobs = *located;
  size_t threads = std::max(1u, std::thread::hardware_concurrency());
  return ForEachInParallel(blobs.order, threads, [&](size_t position) -> Status {
    std::vector<uint8_t> buffer(kCopyBufferSize);
    auto reader = blobs.Open(&file, &catalog, position, /*check_digest=*/true);
    return Drain(reader.get(), &buffer, progress).WithContext(file.name());
  });
}

}  // namespace

Result<BundleSummary> VerifyBundle(io::SequentialReader* in, const format::TrustPolicy& trust,
                                   ProgressCounter* progress,
                                   const io::PositionalReader* bundle_file) {
  BundleSummary summary;
  SLUICE_ASSIGN_OR_RETURN(auto reader, OpenChecked(in, trust, &summary));
  BlobPhase phase(progress, "verifying", summary);
  if (bundle_file != nullptr) {
    SLUICE_RETURN_IF_ERROR(VerifyBlobsAt(*bundle_file, reader->catalog(), progress));
    return summary;
  }
  std::vector<uint8_t> buffer(kCopyBufferSize);
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(std::optional<size_t> index, reader->NextBlob());
    if (!index) break;
    SLUICE_RETURN_IF_ERROR(Drain(reader.get(), &buffer, progress));
  }
  SLUICE_RETURN_IF_ERROR(reader->Finish());
  return summary;
}

}  // namespace sluice
