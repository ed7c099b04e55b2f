#include "format/blob_frames.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "format/bundle_format.h"
#include "format/checksum.h"

namespace sluice::format {
namespace {

std::string At(uint64_t offset) { return " at offset " + std::to_string(offset); }

}  // namespace

Status ReadExact(io::SequentialReader* in, io::MutableBytes buf, std::string_view what,
                 uint64_t* offset) {
  size_t done = 0;
  while (done < buf.size()) {
    SLUICE_ASSIGN_OR_RETURN(size_t n, in->Read(buf.subspan(done)));
    if (n == 0) {
      return Status::Corruption("truncated bundle: " + std::string(what) + At(*offset) +
                                " needs " + std::to_string(buf.size()) +
                                " bytes, the input ends after " + std::to_string(done));
    }
    done += n;
  }
  *offset += buf.size();
  return Status::Ok();
}

void BlobFrames::DctxDeleter::operator()(void* d) const {
  ZSTD_freeDCtx(static_cast<ZSTD_DCtx*>(d));
}

BlobFrames::BlobFrames(const Catalog& catalog) : catalog_(catalog) {}
BlobFrames::~BlobFrames() = default;

void BlobFrames::Start(io::SequentialReader* in, size_t index, uint64_t offset,
                       uint64_t frame_number, bool check_digest) {
  in_ = in;
  blob_ = index;
  offset_ = offset;
  frame_number_ = frame_number;
  location_ = BlobLocation{};
  location_.blob_index = static_cast<uint32_t>(index);
  location_.offset = offset;
  hasher_.reset();
  if (check_digest) hasher_.emplace();
  raw_received_ = 0;
  last_seen_ = false;
  verified_ = false;
  part_frames_.reset();
  raw_len_ = raw_pos_ = 0;
}

void BlobFrames::StartPart(io::SequentialReader* in, const BlobLocation& part,
                           uint64_t frame_number, bool check_digest) {
  const bool whole =
      part.raw_offset == 0 && part.raw_size == catalog_.blobs[part.blob_index].carried_size();
  Start(in, part.blob_index, part.offset, frame_number, whole && check_digest);
  raw_received_ = part.raw_offset;
  location_.raw_offset = part.raw_offset;
  part_frames_ = part.frame_count;
}

void BlobFrames::Continue(io::SequentialReader* in, uint64_t offset) {
  in_ = in;
  offset_ = offset;
  location_ = BlobLocation{};
  location_.blob_index = static_cast<uint32_t>(blob_);
  location_.offset = offset;
  location_.raw_offset = raw_received_;
}

// A part (StartPart) ends after its frames; a whole blob after its last.
bool BlobFrames::PartDone() const {
  return last_seen_ || (part_frames_ && location_.frame_count == *part_frames_);
}

Result<size_t> BlobFrames::Read(io::MutableBytes buf) {
  if (buf.empty()) return size_t{0};
  while (raw_pos_ == raw_len_) {
    if (PartDone()) {
      if (!verified_) SLUICE_RETURN_IF_ERROR(VerifyBlob());
      return size_t{0};
    }
    SLUICE_RETURN_IF_ERROR(ReadFrame());
  }
  size_t n = std::min(buf.size(), raw_len_ - raw_pos_);
  std::memcpy(buf.data(), raw_.data() + raw_pos_, n);
  raw_pos_ += n;
  return n;
}

Status BlobFrames::Drain() {
  while (!PartDone()) SLUICE_RETURN_IF_ERROR(ReadFrame());
  if (!verified_) SLUICE_RETURN_IF_ERROR(VerifyBlob());
  raw_len_ = raw_pos_ = 0;
  return Status::Ok();
}

// "frame 7 (frame 2 of blob 3 sha256:...)"
std::string BlobFrames::FrameLabel() const {
  return "frame " + std::to_string(frame_number_) + " (frame " +
         std::to_string(location_.frame_count) + " of blob " + std::to_string(blob_) + " " +
         catalog_.blobs[blob_].digest.str() + ")";
}

Status BlobFrames::FrameCorruption(uint64_t frame_offset, const std::string& msg) const {
  return Status::Corruption(FrameLabel() + At(frame_offset) + ": " + msg);
}

// Reads, checks and decodes the next frame of the blob into raw_.
Status BlobFrames::ReadFrameHeader(std::array<uint8_t, kFrameHeaderSize>* hb,
                                   uint64_t* frame_offset) {
  while (true) {
    *frame_offset = offset_;
    SLUICE_RETURN_IF_ERROR(
        ReadExact(in_, io::MutableBytes(hb->data(), 4), "header of " + FrameLabel(), &offset_));
    if (!volume_end_ || !std::equal(kTrailerMagic.begin(), kTrailerMagic.end(), hb->begin())) {
      break;
    }
    SLUICE_ASSIGN_OR_RETURN(bool crossed, volume_end_());
    if (!crossed) break;  // DecodeNextFrameHeader reports the missing frames
  }
  return ReadExact(in_, io::MutableBytes(hb->data() + 4, kFrameHeaderSize - 4),
                   "header of " + FrameLabel(), &offset_);
}

Status BlobFrames::ReadFrame() {
  uint64_t frame_offset = 0;
  std::array<uint8_t, kFrameHeaderSize> hb{};
  SLUICE_RETURN_IF_ERROR(ReadFrameHeader(&hb, &frame_offset));
  SLUICE_ASSIGN_OR_RETURN(FrameHeader h, DecodeNextFrameHeader(hb, frame_offset));
  SLUICE_RETURN_IF_ERROR(ReadPayload(h, hb, frame_offset));
  raw_len_ = h.raw_size;
  raw_pos_ = 0;
  if (hasher_) hasher_->Update(io::ByteView(raw_.data(), raw_len_));
  raw_received_ = h.raw_offset + h.raw_size;
  last_seen_ = h.last();
  frame_number_ += 1;
  location_.stored_size += kFrameHeaderSize + h.stored_size;
  location_.frame_count += 1;
  location_.raw_size += h.raw_size;
  return Status::Ok();
}

// Called once the last frame has been read (its range check saw the size).
Status BlobFrames::VerifyBlob() {
  verified_ = true;
  if (!hasher_) return Status::Ok();
  const BlobEntry& entry = catalog_.blobs[blob_];
  Digest found = hasher_->Finish();
  hasher_.reset();
  if (found != entry.carried_digest()) {
    verified_ = false;
    return Status::Corruption("blob " + std::to_string(blob_) + " " + entry.digest.str() +
                              " (frames at offsets " + std::to_string(location_.offset) + ".." +
                              std::to_string(location_.offset + location_.stored_size) + "): " +
                              (entry.delta ? "its delta hashes to " + found.str() + ", expected " +
                                                 entry.delta->digest.str()
                                           : "content hashes to " + found.str()));
  }
  return Status::Ok();
}

// Decodes the header of the frame at frame_offset and checks that it is the
// current blob's next frame.
Result<FrameHeader> BlobFrames::DecodeNextFrameHeader(const std::array<uint8_t, kFrameHeaderSize>& hb,
                                          uint64_t frame_offset) const {
  const BlobEntry& entry = catalog_.blobs[blob_];
  if (std::equal(kTrailerMagic.begin(), kTrailerMagic.end(), hb.begin())) {
    return FrameCorruption(frame_offset, "found the trailer, but the blob has only " +
                                             std::to_string(raw_received_) + " of its " +
                                             std::to_string(entry.carried_size()) +
                                             " bytes (frames are missing)");
  }
  auto decoded = DecodeFrameHeader(hb);
  if (!decoded.ok()) return FrameCorruption(frame_offset, decoded.status().message());
  const FrameHeader& h = *decoded;
  if (h.blob_index != blob_) {
    return FrameCorruption(frame_offset, "belongs to " + DescribeOtherBlob(h.blob_index) +
                                             ", expected blob " + std::to_string(blob_));
  }
  SLUICE_RETURN_IF_ERROR(CheckFrameRange(h, frame_offset));
  return h;
}

// Why a frame of blob `index` cannot come next: "blob 5 sha256:..., which
// is not shipped".
std::string BlobFrames::DescribeOtherBlob(uint32_t index) const {
  std::string other = "blob " + std::to_string(index);
  if (index >= catalog_.blobs.size()) {
    other += ", which is not in the catalog";
  } else if (!catalog_.blobs[index].shipped) {
    other += " " + catalog_.blobs[index].digest.str() + ", which is not shipped";
  } else if (index < blob_) {
    other += " " + catalog_.blobs[index].digest.str() +
             ", which came earlier (a duplicated or misplaced frame)";
  } else {
    other += " " + catalog_.blobs[index].digest.str() + " (frames out of order)";
  }
  return other;
}

// Checks that the frame's raw bytes continue the current blob where the
// previous frame ended, stay within its size, and end it exactly when the
// frame is flagged last.
Status BlobFrames::CheckFrameRange(const FrameHeader& h, uint64_t frame_offset) const {
  const BlobEntry& entry = catalog_.blobs[blob_];
  const uint64_t size = entry.carried_size();  // the blob's, or its delta's
  auto corrupt = [&](const std::string& msg) { return FrameCorruption(frame_offset, msg); };
  if (h.raw_offset != raw_received_) {
    return corrupt("raw_offset " + std::to_string(h.raw_offset) + ", expected " +
                   std::to_string(raw_received_) + " (a duplicated, missing or misplaced frame)");
  }
  // raw_offset may come from an unsigned trailer (StartPart): no wrap-around.
  if (h.raw_size > size || h.raw_offset > size - h.raw_size) {
    return corrupt("raw bytes from " + std::to_string(h.raw_offset) + " (" +
                   std::to_string(h.raw_size) + " of them) run past the blob's declared size " +
                   std::to_string(entry.carried_size()));
  }
  uint64_t end = h.raw_offset + h.raw_size;
  if (end > size) {
    return corrupt("raw bytes [" + std::to_string(h.raw_offset) + ", " + std::to_string(end) +
                   ") run past the blob's declared size " + std::to_string(entry.carried_size()));
  }
  if (h.last() && end != size) {
    return corrupt("flagged last but ends at raw offset " + std::to_string(end) +
                   " of a blob of " + std::to_string(entry.carried_size()) + " bytes");
  }
  if (!h.last() && end == size) {
    return corrupt("reaches the blob's end (" + std::to_string(entry.carried_size()) +
                   " bytes) but is not flagged last");
  }
  if (!h.last() && h.raw_size == 0) return corrupt("empty frame that is not the last");
  return Status::Ok();
}

// Reads the payload of a frame whose header (bytes hb, decoded h) passed
// the checks, checks its checksum and leaves its raw bytes in raw.
Status BlobFrames::ReadPayload(const FrameHeader& h, const std::array<uint8_t, kFrameHeaderSize>& hb,
                   uint64_t frame_offset) {
  // The header is plausible: only now is memory committed for the payload,
  // bounded by kMaxFrameRawSize and its zstd bound.
  uint8_t* payload = nullptr;
  if (h.codec == kCodecNone) {
    if (raw_.size() < h.raw_size) raw_.resize(h.raw_size);
    payload = raw_.data();
  } else {
    if (stored_.size() < h.stored_size) stored_.resize(h.stored_size);
    payload = stored_.data();
  }
  SLUICE_RETURN_IF_ERROR(ReadExact(in_, io::MutableBytes(payload, h.stored_size),
                                   "payload of " + FrameLabel(), &offset_));
  Xxh3Stream sum;
  sum.Update(io::ByteView(hb.data(), kFrameChecksumOffset));
  sum.Update(io::ByteView(payload, h.stored_size));
  if (sum.Digest() != h.checksum) {
    return FrameCorruption(frame_offset, "checksum mismatch (stored " + ChecksumText(h.checksum) +
                                             ", computed " + ChecksumText(sum.Digest()) + ")");
  }
  if (h.codec == kCodecZstd) {
    SLUICE_RETURN_IF_ERROR(Decompress(h, payload, frame_offset));
  }
  return Status::Ok();
}

Status BlobFrames::Decompress(const FrameHeader& h, const uint8_t* payload, uint64_t frame_offset) {
  auto corrupt = [&](const std::string& msg) {
    return Status::Corruption(FrameLabel() + At(frame_offset) + ": zstd payload: " + msg);
  };
  static constexpr uint8_t kZstdMagic[4] = {0x28, 0xB5, 0x2F, 0xFD};
  if (h.stored_size < 4 || std::memcmp(payload, kZstdMagic, 4) != 0) {
    return corrupt("does not start with a zstd frame");
  }
  unsigned long long content = ZSTD_getFrameContentSize(payload, h.stored_size);
  if (content != h.raw_size) {
    return corrupt("frame header does not declare a content size of " +
                   std::to_string(h.raw_size) + " bytes");
  }
  size_t frame_size = ZSTD_findFrameCompressedSize(payload, h.stored_size);
  if (ZSTD_isError(frame_size) || frame_size != h.stored_size) {
    return corrupt("is not exactly one zstd frame of " + std::to_string(h.stored_size) +
                   " bytes");
  }
  if (!dctx_) {
    dctx_.reset(ZSTD_createDCtx());
    if (!dctx_) throw std::bad_alloc();
  }
  if (raw_.size() < h.raw_size) raw_.resize(h.raw_size);
  // The output buffer holds exactly raw_size bytes: zstd cannot write more.
  size_t n = ZSTD_decompressDCtx(static_cast<ZSTD_DCtx*>(dctx_.get()), raw_.data(), h.raw_size, payload, h.stored_size);
  if (ZSTD_isError(n)) return corrupt(ZSTD_getErrorName(n));
  if (n != h.raw_size) {
    return corrupt("decompressed to " + std::to_string(n) + " bytes, expected " +
                   std::to_string(h.raw_size));
  }
  return Status::Ok();
}


}  // namespace sluice::format
