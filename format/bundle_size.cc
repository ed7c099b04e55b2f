#include "format/bundle_size.h"

#include <string>

#include "format/catalog_codec.h"

namespace sluice::format {

Result<uint64_t> VolumePrefixSize(const Catalog& catalog) {
  SLUICE_ASSIGN_OR_RETURN(std::string catalog_bytes, EncodeCatalog(catalog));
  return EncodeHeader(catalog.header, catalog_bytes.size(), RequiredFeatures(catalog)).size() + catalog_bytes.size() +
         kSignatureSize + kVolumeRecordSize;
}

Status VolumeTooSmall(uint64_t volume_size, uint64_t prefix_bytes, uint64_t frame_bytes) {
  return Status::InvalidArgument(
      "volume size " + std::to_string(volume_size) +
      " bytes is too small: every volume holds the header, catalog and signature (" +
      std::to_string(prefix_bytes) + " bytes here), at least one frame (" +
      std::to_string(frame_bytes) + " bytes) and a trailer; use a larger --volume-size");
}

BundleSizer::BundleSizer(uint64_t prefix_bytes, uint64_t volume_size)
    : prefix_bytes_(prefix_bytes), volume_size_(volume_size), offset_(prefix_bytes) {}

void BundleSizer::BeginBlob() {
  entries_ += 1;
  part_has_frames_ = false;
}

Status BundleSizer::AddFrame(uint64_t payload_bytes) {
  const uint64_t frame_bytes = kFrameHeaderSize + payload_bytes;
  if (volume_size_ != 0 && offset_ + frame_bytes + VolumeTailSize(entries_) > volume_size_) {
    if (!volume_has_frames_) return VolumeTooSmall(volume_size_, prefix_bytes_, frame_bytes);
    if (!part_has_frames_) entries_ -= 1;  // the blob starts in the next volume
    closed_bytes_ += offset_ + VolumeTailSize(entries_);
    volumes_ += 1;
    offset_ = prefix_bytes_;
    entries_ = 1;
    volume_has_frames_ = false;
    if (offset_ + frame_bytes + VolumeTailSize(1) > volume_size_) {
      return VolumeTooSmall(volume_size_, prefix_bytes_, frame_bytes);
    }
  }
  offset_ += frame_bytes;
  part_has_frames_ = true;
  volume_has_frames_ = true;
  return Status::Ok();
}

}  // namespace sluice::format
