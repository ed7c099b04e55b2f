#include "format/bundle_writer.h"

#include <zstd.h>

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "format/bundle_format.h"
#include "format/bundle_size.h"
#include "format/catalog_codec.h"
#include "format/frame_codec.h"
#include "format/frame_encoder.h"

namespace sluice::format {

Compression ChooseCompression(io::ByteView head) {
  auto starts_with = [&](std::initializer_list<uint8_t> magic) {
    return head.size() >= magic.size() && std::equal(magic.begin(), magic.end(), head.begin());
  };
  if (starts_with({0x1f, 0x8b}) || starts_with({0x28, 0xb5, 0x2f, 0xfd}) ||
      starts_with({0xfd, '7', 'z', 'X', 'Z', 0x00}) || starts_with({'B', 'Z', 'h'})) {
    return Compression::kNone;
  }
  return Compression::kZstd;
}

struct BundleWriter::Impl {
  io::SequentialWriter* out = nullptr;  // the current volume
  Catalog catalog;
  BundleWriterOptions options;
  // Header, catalog and signature: the start of every volume.
  std::string prefix;
  std::array<uint8_t, 32> signed_digest{};

  // The first error that made the output unusable; every later call returns it.
  Status broken;
  bool finished = false;
  uint64_t offset = 0;  // bytes written to the current volume
  uint64_t total_written = 0;
  uint64_t stored_blob_bytes = 0;
  uint64_t frames_written = 0;
  size_t next_blob = 0;  // catalog index from which to look for the next shipped blob
  std::vector<VolumeRecord> volumes;
  // The parts of blobs in the current volume, in frame order; the last is
  // the current blob's while one is being written.
  std::vector<BlobLocation> locations;

  // The blob being written, if any.
  std::optional<size_t> blob;
  Compression compression = Compression::kNone;
  std::optional<Sha256> hasher;
  uint64_t raw_total = 0;
  uint64_t raw_flushed = 0;  // raw bytes handed to frames, written or being compressed
  // The frame being filled. Frames of kZstd blobs are compressed by the
  // pool (made for the first such blob) and written in order as they come
  // back; a blob's frames are all written by the time EndBlob returns.
  std::unique_ptr<EncodedFrame> frame = std::make_unique<EncodedFrame>();
  std::unique_ptr<FrameEncoderPool> pool;

  Status Write(io::ByteView data) {
    Status s = out->Append(data);
    if (!s.ok()) {
      broken = s;
      return s;
    }
    offset += data.size();
    total_written += data.size();
    return Status::Ok();
  }

  // Header, catalog, signature and the volume record of a new volume.
  Status StartVolume(uint32_t number) {
    VolumeRecord v;
    v.number = number;
    v.count = options.volume_size == 0 ? 1 : 0;  // 0: unknown yet (see volumes())
    v.first_frame = frames_written;
    v.stored_offset = stored_blob_bytes;
    volumes.push_back(v);
    offset = 0;
    locations.clear();
    SLUICE_RETURN_IF_ERROR(Write(io::AsBytes(prefix)));
    return Write(io::AsBytes(EncodeVolumeRecord(v)));
  }

  // Trailer and footer of the current volume.
  Status EndVolume() {
    const uint64_t trailer_offset = offset;
    std::string trailer = EncodeTrailer(locations);
    SLUICE_RETURN_IF_ERROR(Write(io::AsBytes(trailer)));
    return Write(EncodeFooter(trailer_offset, io::AsBytes(trailer)));
  }

  // Before a frame of `frame_bytes` is written: when it would not fit in the
  // current volume together with the trailer that volume would then need,
  // ends the volume and starts the next, where the current blob's frames
  // continue as a new part.
  Status MakeRoomFor(uint64_t frame_bytes) {
    if (options.volume_size == 0) return Status::Ok();
    const BlobLocation& part = locations.back();
    // A new part needs an entry; the current one has it already.
    const size_t entries = locations.size();
    if (offset + frame_bytes + VolumeTailSize(entries) <= options.volume_size) return Status::Ok();
    if (std::none_of(locations.begin(), locations.end(),
                     [](const BlobLocation& l) { return l.frame_count > 0; })) {
      return Fail(VolumeTooSmall(options.volume_size, prefix.size() + kVolumeRecordSize,
                                 frame_bytes));
    }
    BlobLocation next;
    next.blob_index = part.blob_index;
    next.raw_offset = part.raw_offset + part.raw_size;
    const bool part_empty = part.frame_count == 0;
    if (part_empty) locations.pop_back();  // the blob starts in the next volume
    SLUICE_RETURN_IF_ERROR(EndVolume());
    if (options.volumes == nullptr) {
      return Fail(Status::InvalidArgument("bundle writer: volume_size without a VolumeSink"));
    }
    auto next_out = options.volumes->NextVolume(static_cast<uint32_t>(volumes.size() + 1));
    if (!next_out.ok()) return Fail(next_out.status());
    out = *next_out;
    SLUICE_RETURN_IF_ERROR(StartVolume(static_cast<uint32_t>(volumes.size() + 1)));
    next.offset = offset;
    locations.push_back(next);
    if (offset + frame_bytes + VolumeTailSize(1) > options.volume_size) {
      return Fail(VolumeTooSmall(options.volume_size, prefix.size() + kVolumeRecordSize,
                                 frame_bytes));
    }
    return Status::Ok();
  }

  Status Fail(Status s) {
    broken = s;
    return s;
  }

  std::optional<size_t> NextShipped() const {
    for (size_t i = next_blob; i < catalog.blobs.size(); ++i) {
      if (catalog.blobs[i].shipped) return i;
    }
    return std::nullopt;
  }

  FrameEncoderPool* Pool() {
    if (!pool) {
      unsigned threads = options.compression_threads;
      if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
      // Two frames per thread: one being compressed, one waiting for it.
      pool = std::make_unique<FrameEncoderPool>(threads, 2 * threads, options.zstd_level);
    }
    return pool.get();
  }

  // Ends the frame being filled: written now, or queued for compression.
  Status EmitFrame(bool last) {
    FrameHeader& h = frame->header;
    h.blob_index = static_cast<uint32_t>(*blob);
    h.raw_offset = raw_flushed;
    h.flags = last ? kFrameFlagLast : 0;
    raw_flushed += frame->raw.size();
    if (compression == Compression::kZstd && !frame->raw.empty()) {
      FrameEncoderPool* p = Pool();
      while (!p->HasRoom()) SLUICE_RETURN_IF_ERROR(WriteOldest());
      p->Submit(std::move(frame));
      frame = p->NewFrame();
      frame->raw.reserve(options.frame_size);
      return Status::Ok();
    }
    EncodeFrame(nullptr, /*compress=*/false, frame.get());
    SLUICE_RETURN_IF_ERROR(WriteFrame(*frame));
    frame->raw.clear();
    return Status::Ok();
  }

  Status WriteFrame(const EncodedFrame& f) {
    if (!f.status.ok()) {
      return Fail(f.status.WithContext("blob " + catalog.blobs[f.header.blob_index].digest.str()));
    }
    SLUICE_RETURN_IF_ERROR(MakeRoomFor(kFrameHeaderSize + f.payload.size()));
    SLUICE_RETURN_IF_ERROR(Write(f.header_bytes));
    SLUICE_RETURN_IF_ERROR(Write(f.payload));
    BlobLocation& loc = locations.back();
    loc.stored_size += kFrameHeaderSize + f.payload.size();
    loc.frame_count += 1;
    loc.raw_size += f.header.raw_size;
    stored_blob_bytes += kFrameHeaderSize + f.payload.size();
    frames_written += 1;
    return Status::Ok();
  }

  // Writes the oldest frame the pool holds (waiting for it); the pool must hold one.
  Status WriteOldest() {
    std::unique_ptr<EncodedFrame> done = pool->TakeOldest();
    Status s = WriteFrame(*done);
    pool->Recycle(std::move(done));
    return s;
  }

  // Writes every frame still being compressed, in order.
  Status DrainPool() {
    if (!pool) return Status::Ok();
    while (!pool->Empty()) SLUICE_RETURN_IF_ERROR(WriteOldest());
    return Status::Ok();
  }
};

BundleWriter::BundleWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BundleWriter::~BundleWriter() = default;

Result<std::unique_ptr<BundleWriter>> BundleWriter::Start(io::SequentialWriter* out,
                                                          Catalog catalog, const PrivateKey& key,
                                                          const BundleWriterOptions& options) {
  if (options.frame_size == 0 || options.frame_size > kMaxFrameRawSize) {
    return Status::InvalidArgument("frame size " + std::to_string(options.frame_size) +
                                   " is not between 1 and " + std::to_string(kMaxFrameRawSize));
  }
  SLUICE_ASSIGN_OR_RETURN(std::string catalog_bytes, EncodeCatalog(catalog));
  std::string header = EncodeHeader(catalog.header, catalog_bytes.size(), RequiredFeatures(catalog));

  Sha256 signed_hash;
  signed_hash.Update(io::AsBytes(header));
  signed_hash.Update(io::AsBytes(catalog_bytes));
  const std::array<uint8_t, 32> signed_digest = signed_hash.FinishRaw();
  std::string message = SignatureMessage(signed_digest);
  SignatureBlock block;
  block.algorithm = kSignatureAlgorithmEd25519;
  block.key_fingerprint = key.public_key().Fingerprint();
  SLUICE_ASSIGN_OR_RETURN(block.signature, key.Sign(io::AsBytes(message)));

  auto impl = std::make_unique<Impl>();
  impl->out = out;
  impl->catalog = std::move(catalog);
  impl->options = options;
  impl->frame->raw.reserve(options.frame_size);
  impl->prefix = header + catalog_bytes + EncodeSignatureBlock(block);
  impl->signed_digest = signed_digest;
  SLUICE_RETURN_IF_ERROR(impl->StartVolume(1));
  return std::unique_ptr<BundleWriter>(new BundleWriter(std::move(impl)));
}

Status BundleWriter::BeginBlob(size_t blob_index, Compression compression) {
  Impl& w = *impl_;
  if (!w.broken.ok()) return w.broken;
  if (w.finished) return Status::InvalidArgument("bundle writer: BeginBlob after Finish");
  if (w.blob) {
    return Status::InvalidArgument("bundle writer: BeginBlob(" + std::to_string(blob_index) +
                                   ") while blob " + std::to_string(*w.blob) + " is not ended");
  }
  if (blob_index >= w.catalog.blobs.size()) {
    return Status::InvalidArgument("bundle writer: blob index " + std::to_string(blob_index) +
                                   " is out of range (catalog has " +
                                   std::to_string(w.catalog.blobs.size()) + " blobs)");
  }
  std::optional<size_t> expected = w.NextShipped();
  if (!expected) {
    return Status::InvalidArgument("bundle writer: blob " + std::to_string(blob_index) + " " +
                                   w.catalog.blobs[blob_index].digest.str() +
                                   ": every shipped blob has been written");
  }
  if (blob_index != *expected) {
    return Status::InvalidArgument(
        "bundle writer: blob " + std::to_string(blob_index) + " " +
        w.catalog.blobs[blob_index].digest.str() +
        (w.catalog.blobs[blob_index].shipped ? "" : " (not shipped)") +
        " is not the next shipped blob; expected blob " + std::to_string(*expected) + " " +
        w.catalog.blobs[*expected].digest.str());
  }
  w.blob = blob_index;
  w.compression = compression;
  if (w.options.check_digests) w.hasher.emplace();
  w.raw_total = 0;
  w.raw_flushed = 0;
  w.frame->raw.clear();
  BlobLocation loc;
  loc.blob_index = static_cast<uint32_t>(blob_index);
  loc.offset = w.offset;
  w.locations.push_back(loc);
  return Status::Ok();
}

Status BundleWriter::Append(io::ByteView data) {
  Impl& w = *impl_;
  if (!w.broken.ok()) return w.broken;
  if (!w.blob) return Status::InvalidArgument("bundle writer: Append without BeginBlob");
  const BlobEntry& entry = w.catalog.blobs[*w.blob];
  if (data.size() > entry.carried_size() - w.raw_total) {
    return w.Fail(Status::Corruption("blob " + entry.digest.str() + ": more than the declared " +
                                     std::to_string(entry.carried_size()) + " bytes"));
  }
  w.raw_total += data.size();
  if (w.hasher) w.hasher->Update(data);
  const size_t frame_size = w.options.frame_size;
  while (!data.empty()) {
    // A full frame is written only once more data arrives, so that the last
    // frame (flagged in EndBlob) is never empty unless the blob is.
    if (w.frame->raw.size() == frame_size) SLUICE_RETURN_IF_ERROR(w.EmitFrame(/*last=*/false));
    std::vector<uint8_t>& raw = w.frame->raw;
    size_t n = std::min(frame_size - raw.size(), data.size());
    raw.insert(raw.end(), data.begin(), data.begin() + n);
    data = data.subspan(n);
  }
  return Status::Ok();
}

Status BundleWriter::EndBlob() {
  Impl& w = *impl_;
  if (!w.broken.ok()) return w.broken;
  if (!w.blob) return Status::InvalidArgument("bundle writer: EndBlob without BeginBlob");
  const BlobEntry& entry = w.catalog.blobs[*w.blob];
  if (w.raw_total != entry.carried_size()) {
    return w.Fail(Status::Corruption("blob " + entry.digest.str() + ": expected " +
                                     std::to_string(entry.carried_size()) + " bytes, found " +
                                     std::to_string(w.raw_total)));
  }
  if (w.hasher) {
    Digest found = w.hasher->Finish();
    w.hasher.reset();
    if (found != entry.carried_digest()) {
      // Checked before the last frame is written, so the output never holds a
      // complete blob whose bytes contradict the signed catalog.
      return w.Fail(Status::Corruption("blob " + entry.digest.str() +
                                       (entry.delta ? ": delta hashes to " : ": content hashes to ") +
                                       found.str()));
    }
  }
  SLUICE_RETURN_IF_ERROR(w.EmitFrame(/*last=*/true));
  SLUICE_RETURN_IF_ERROR(w.DrainPool());
  w.next_blob = *w.blob + 1;
  w.blob.reset();
  return Status::Ok();
}

Status BundleWriter::Finish() {
  Impl& w = *impl_;
  if (!w.broken.ok()) return w.broken;
  if (w.finished) return Status::InvalidArgument("bundle writer: Finish called twice");
  if (w.blob) {
    return Status::InvalidArgument("bundle writer: Finish while blob " +
                                   w.catalog.blobs[*w.blob].digest.str() + " is not ended");
  }
  if (std::optional<size_t> missing = w.NextShipped()) {
    return Status::InvalidArgument("bundle writer: shipped blob " + std::to_string(*missing) +
                                   " " + w.catalog.blobs[*missing].digest.str() +
                                   " was not written");
  }
  SLUICE_RETURN_IF_ERROR(w.EndVolume());
  for (VolumeRecord& v : w.volumes) v.count = static_cast<uint32_t>(w.volumes.size());
  w.finished = true;
  return Status::Ok();
}

const Catalog& BundleWriter::catalog() const { return impl_->catalog; }
uint64_t BundleWriter::bytes_written() const { return impl_->total_written; }
const std::vector<VolumeRecord>& BundleWriter::volumes() const { return impl_->volumes; }
uint64_t BundleWriter::volume_record_offset() const { return impl_->prefix.size(); }
const std::array<uint8_t, 32>& BundleWriter::signed_digest() const {
  return impl_->signed_digest;
}
uint64_t BundleWriter::stored_blob_bytes() const { return impl_->stored_blob_bytes; }

}  // namespace sluice::format
