// Reading a bundle's blobs once, checked, for `sluice verify` and `sluice
// import` (importer.h): the bundle opened with its signature and catalog
// checked, each blob drained (verify) or copied into a sink (import) with its
// bytes counted for the progress meter, and, for a bundle that is a file, its
// blobs located so that several are read at once.
#pragma once

#include <memory>
#include <vector>

#include "format/blob_check.h"
#include "format/bundle_reader.h"
#include "io/file.h"
#include "progress.h"
#include "sink/image_sink.h"

namespace sluice {

// What a bundle holds, as its signed header and catalog say.
struct BundleSummary {
  std::string bundle_id;  // hex
  std::string ledger_id;  // hex: the exporter's ledger
  std::string signer;     // "sha256:…" fingerprint of the signing key
  bool signature_verified = false;
  uint64_t base_sequence = 0;
  uint64_t sequence = 0;
  uint64_t refs = 0;
  uint64_t manifests = 0;         // carried, and so checked
  uint64_t absent_manifests = 0;  // index children left out (export --platform)
  uint64_t shipped_blobs = 0;
  uint64_t shipped_bytes = 0;  // raw
  uint64_t assumed_blobs = 0;  // not shipped: expected at the destination
  // Of the shipped: carried as deltas (format/SPEC.md section 4), whose
  // delta bytes are verified here, and which an import rebuilds from a
  // base the destination must hold (delta_bases lists them).
  uint64_t delta_blobs = 0;
  uint64_t delta_bytes = 0;
  std::vector<std::string> delta_bases;
};

// Reads and checks everything; writes nothing. With `bundle_file` (the same
// bytes as `in`, as a file), blobs are checked several at once, one per core.
// `progress` counts the shipped blobs' bytes as they are checked (phase
// "verifying").
Result<BundleSummary> VerifyBundle(io::SequentialReader* in, const format::TrustPolicy& trust,
                                   ProgressCounter* progress = nullptr,
                                   const io::PositionalReader* bundle_file = nullptr);

// The pieces VerifyBundle and the importer share.

inline constexpr size_t kCopyBufferSize = 1u << 20;

// Opens the bundle and checks everything that can be checked before blob data.
Result<std::unique_ptr<format::BundleReader>> OpenChecked(
    io::SequentialReader* in, const format::TrustPolicy& trust, BundleSummary* summary,
    const format::BundleReaderOptions& options = {});

// Reads `reader` to its end; with `check`, hashes what it reads (a blob the
// bundle reader leaves to its consumer to hash). Counts the bytes in
// `progress`, and the blob once it ends well.
template <typename Reader>
Status Drain(Reader* reader, std::vector<uint8_t>* buffer, ProgressCounter* progress,
             format::BlobCheck* check = nullptr) {
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(size_t n, reader->Read(*buffer));
    if (n == 0) break;
    if (check) SLUICE_RETURN_IF_ERROR(check->Update(io::ByteView(buffer->data(), n)));
    if (progress != nullptr) progress->AddBytes(n);
  }
  if (check) SLUICE_RETURN_IF_ERROR(check->Finish());
  if (progress != nullptr) progress->AddItem();
  return Status::Ok();
}

// Copies `reader` to its end into `writer` and commits it (the sink checks
// the sha256 as it writes, and publishes the blob only when it matches).
// Counts as Drain does.
template <typename Reader>
Status Copy(Reader* reader, BlobWriter* writer, std::vector<uint8_t>* buffer,
            ProgressCounter* progress) {
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(size_t n, reader->Read(*buffer));
    if (n == 0) break;
    SLUICE_RETURN_IF_ERROR(writer->Append(io::ByteView(buffer->data(), n)));
    if (progress != nullptr) progress->AddBytes(n);
  }
  SLUICE_RETURN_IF_ERROR(writer->Commit());
  if (progress != nullptr) progress->AddItem();
  return Status::Ok();
}

// A phase of `progress` over the shipped blobs of `summary`, ended when
// this goes out of scope (after success or failure alike).
class BlobPhase {
 public:
  BlobPhase(ProgressCounter* progress, const char* name, const BundleSummary& summary)
      : progress_(progress) {
    if (progress_) {
      progress_->BeginPhase(name, "blobs", summary.shipped_blobs, summary.shipped_bytes);
    }
  }
  ~BlobPhase() {
    if (progress_) progress_->EndPhase();
  }
  BlobPhase(const BlobPhase&) = delete;
  BlobPhase& operator=(const BlobPhase&) = delete;

 private:
  ProgressCounter* progress_;
};

// The shipped blobs of a bundle file, located and ordered for reading
// several at once: the largest first, so that the last to finish is small.
struct BlobsAt {
  std::vector<format::BlobLocation> locations;
  std::vector<uint64_t> first_frames;  // frames before each blob's, for messages
  std::vector<size_t> order;           // positions in `locations`

  static Result<BlobsAt> Locate(const io::PositionalReader& file, const format::Catalog& catalog);

  std::unique_ptr<io::SequentialReader> Open(const io::PositionalReader* file,
                                             const format::Catalog* catalog, size_t position,
                                             bool check_digest) const {
    return format::OpenBlobAt(file, catalog, locations[position], first_frames[position],
                              check_digest);
  }
};


}  // namespace sluice
