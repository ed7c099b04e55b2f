// Reads and checks the frames of one shipped blob (SPEC.md sections 7 and
// 9) from a reader positioned at its first frame, and hands out the blob's
// raw bytes. The streaming BundleReader uses one for each blob in turn;
// random access to a bundle file (OpenBlobAt) one per blob read at once.
//
// Internal to format/: callers use BundleReader and OpenBlobAt.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/bundle_reader.h"
#include "format/catalog.h"
#include "format/crypto.h"
#include "format/frame_codec.h"
#include "io/file.h"

namespace sluice::format {

// Reads exactly buf.size() bytes from `in`, advancing *offset (the bundle
// offset, for messages). The input ending early is damage (a truncated
// bundle), reported with what was being read and where.
Status ReadExact(io::SequentialReader* in, io::MutableBytes buf, std::string_view what,
                 uint64_t* offset);

class BlobFrames {
 public:
  explicit BlobFrames(const Catalog& catalog);
  ~BlobFrames();
  BlobFrames(const BlobFrames&) = delete;
  BlobFrames& operator=(const BlobFrames&) = delete;

  // Starts shipped blob `index`, whose first frame is `in`'s next byte, at
  // bundle offset `offset`; `frame_number` counts the bundle's frames before
  // it (for messages). `check_digest` false leaves the sha256 to the caller
  // (a sink that hashes what it writes); sizes are always checked.
  void Start(io::SequentialReader* in, size_t index, uint64_t offset, uint64_t frame_number,
             bool check_digest);
  // Starts the part of shipped blob `index` that one volume holds (`part`,
  // from its trailer), whose first frame is `in`'s next byte: its frames
  // must continue the blob at part.raw_offset, and Read returns 0 after
  // part.frame_count of them. The sha256 is checked only when the part is
  // the whole blob (and `check_digest`).
  void StartPart(io::SequentialReader* in, const BlobLocation& part, uint64_t frame_number,
                 bool check_digest);

  // Where frames go on when a volume ends inside a blob: called when the
  // trailer's magic (4 bytes, consumed) stands where the blob's next frame
  // should be. It reads the rest of that volume and the start of the next,
  // then calls Continue, and returns true; false when no volume follows (the
  // blob is then missing frames).
  using VolumeEnd = std::function<Result<bool>()>;
  void SetVolumeEnd(VolumeEnd volume_end) { volume_end_ = std::move(volume_end); }
  // The blob's frames continue at `in`, at `offset` of the next volume.
  void Continue(io::SequentialReader* in, uint64_t offset);
  // The blob's raw bytes. 0 at its end (or for an empty buf), and only after
  // its size and, if asked, sha256 were checked against the catalog.
  Result<size_t> Read(io::MutableBytes buf);
  // Reads and checks what is left of the blob.
  Status Drain();

  size_t blob() const { return blob_; }
  uint64_t offset() const { return offset_; }  // of the next unread byte
  uint64_t frame_number() const { return frame_number_; }
  // The frames read so far in the current volume.
  const BlobLocation& location() const { return location_; }

 private:
  Status ReadFrame();
  // Reads the next frame header into *hb, crossing into the next volume
  // when this one ends (SetVolumeEnd).
  Status ReadFrameHeader(std::array<uint8_t, kFrameHeaderSize>* hb, uint64_t* frame_offset);
  bool PartDone() const;
  Result<FrameHeader> DecodeNextFrameHeader(const std::array<uint8_t, kFrameHeaderSize>& hb,
                                            uint64_t frame_offset) const;
  std::string DescribeOtherBlob(uint32_t index) const;
  Status CheckFrameRange(const FrameHeader& h, uint64_t frame_offset) const;
  Status ReadPayload(const FrameHeader& h, const std::array<uint8_t, kFrameHeaderSize>& hb,
                     uint64_t frame_offset);
  Status Decompress(const FrameHeader& h, const uint8_t* payload, uint64_t frame_offset);
  Status VerifyBlob();
  std::string FrameLabel() const;
  Status FrameCorruption(uint64_t frame_offset, const std::string& msg) const;

  const Catalog& catalog_;
  io::SequentialReader* in_ = nullptr;
  size_t blob_ = 0;
  uint64_t offset_ = 0;
  uint64_t frame_number_ = 0;
  BlobLocation location_;
  std::optional<Sha256> hasher_;
  uint64_t raw_received_ = 0;  // raw bytes of the frames read so far
  bool last_seen_ = false;
  bool verified_ = false;
  // With StartPart: the frames the part has; the part ends after them.
  std::optional<uint32_t> part_frames_;
  VolumeEnd volume_end_;

  // The current frame's raw bytes: raw_[raw_pos_, raw_len_) not yet handed
  // out. Buffers only grow, so their size is a capacity.
  std::vector<uint8_t> raw_;
  size_t raw_len_ = 0;
  size_t raw_pos_ = 0;
  std::vector<uint8_t> stored_;
  struct DctxDeleter {
    void operator()(void* d) const;
  };
  std::unique_ptr<void, DctxDeleter> dctx_;
};

}  // namespace sluice::format
