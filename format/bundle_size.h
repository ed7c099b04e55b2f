// The size of a bundle counted without writing it: what BundleWriter writes
// for a catalog and frames of given stored sizes, every volume together,
// and how many volumes that makes. An export's plan uses it to say how
// large a bundle will be, and on how many media of a size, before anything
// is written.
#pragma once

#include <cstdint>

#include "format/bundle_format.h"
#include "format/catalog.h"
#include "io/status.h"

namespace sluice::format {

// The bytes every volume of a bundle of `catalog` starts with: header,
// catalog, signature and volume record (SPEC.md sections 3 to 6). Fails as
// EncodeCatalog does, for a catalog no writer would take.
Result<uint64_t> VolumePrefixSize(const Catalog& catalog);

// The bytes a volume ends with when its trailer lists `entries` parts of
// blobs: trailer and footer (SPEC.md section 8).
inline constexpr uint64_t VolumeTailSize(uint64_t entries) {
  return kTrailerHeaderSize + kTrailerEntrySize * entries + kFooterSize;
}

// kInvalidArgument saying that volumes of `volume_size` bytes cannot hold
// their `prefix_bytes` (VolumePrefixSize), a frame of `frame_bytes` and a
// trailer: the one message of the writer and of BundleSizer.
Status VolumeTooSmall(uint64_t volume_size, uint64_t prefix_bytes, uint64_t frame_bytes);

// Counts the bytes BundleWriter writes, frame by frame, in the writer's
// order, and cuts volumes by the writer's rule (SPEC.md section 6): a frame
// goes into the current volume when it fits there together with the trailer
// and footer the volume would then need; otherwise the volume ends, and the
// next one starts with the prefix again and the blob's frames continue in it.
class BundleSizer {
 public:
  // `prefix_bytes`: VolumePrefixSize of the catalog. `volume_size` 0: one
  // volume, however large.
  BundleSizer(uint64_t prefix_bytes, uint64_t volume_size);

  // The next shipped blob starts (BundleWriter::BeginBlob).
  void BeginBlob();
  // A frame of the current blob whose payload (after its header) is
  // `payload_bytes`: a blob has at least one, empty for an empty blob.
  // VolumeTooSmall when no volume of the size can hold it.
  Status AddFrame(uint64_t payload_bytes);

  // The bundle's bytes so far, as if it ended now (every volume's trailer
  // and footer included), and its volumes.
  uint64_t bytes() const { return closed_bytes_ + offset_ + VolumeTailSize(entries_); }
  uint64_t volumes() const { return volumes_; }

 private:
  uint64_t prefix_bytes_;
  uint64_t volume_size_;
  uint64_t closed_bytes_ = 0;  // of the volumes ended
  uint64_t offset_;            // in the current volume
  uint64_t entries_ = 0;       // parts of blobs the current volume's trailer lists
  bool part_has_frames_ = false;
  bool volume_has_frames_ = false;
  uint64_t volumes_ = 1;
};

}  // namespace sluice::format
