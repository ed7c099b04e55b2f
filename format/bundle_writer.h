// Writes a bundle (SPEC.md) front to back to any io::SequentialWriter, so the
// same code writes a file, a pipe or a volume. Memory stays bounded by the
// frame size whatever the blob sizes.
//
// Use: Start() writes header, catalog and signature; then, for each shipped
// blob in catalog order, BeginBlob / Append... / EndBlob; then Finish().
// The writer does not Sync or Close `out`: publication is the caller's job.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "format/bundle_reader.h"
#include "format/catalog.h"
#include "io/file.h"

namespace sluice::format {

enum class Compression { kNone, kZstd };

// How to store a blob that begins with `head` (its first bytes, 6 or more
// when it has them): as it is when they are the magic of gzip, zstd, xz or
// bzip2, as zstd gains nothing on such data but costs CPU; else kZstd.
// Media types cannot be trusted for this (skopeo labels the plain tars of a
// docker-archive ".tar.gzip"), so the bytes decide.
Compression ChooseCompression(io::ByteView head);

// Where the volumes of a bundle cut into volumes go (SPEC.md section 6).
class VolumeSink {
 public:
  virtual ~VolumeSink() = default;
  // The writer for volume `number` (2, 3, ...: the first is the `out` given
  // to Start), called once the previous volume is complete. It stays in use
  // until the next call or Finish; the sink closes it after that.
  virtual Result<io::SequentialWriter*> NextVolume(uint32_t number) = 0;
};

struct BundleWriterOptions {
  uint32_t frame_size = 1u << 20;  // raw bytes per frame; at most kMaxFrameRawSize
  int zstd_level = 2;  // `sluice export --level`'s default; see there
  // Threads compressing the frames of kZstd blobs; 0: one per core.
  unsigned compression_threads = 0;
  // false: the caller checks each blob's sha256 before it calls EndBlob
  // (the exporter's readers do, on the threads that read the sources, so
  // hashing overlaps with writing); the writer still checks sizes.
  bool check_digests = true;
  // 0: one volume. Otherwise no volume grows beyond this many bytes, and
  // each next one is asked of `volumes`. Every volume repeats the header,
  // catalog and signature, so it must be larger than those plus a frame.
  uint64_t volume_size = 0;
  VolumeSink* volumes = nullptr;
};

class BundleWriter {
 public:
  // Validates the catalog (every ref names a manifest in it, every manifest's
  // bytes hash to its digest, no digest listed twice), then writes header,
  // catalog and the signature made with `key`.
  static Result<std::unique_ptr<BundleWriter>> Start(io::SequentialWriter* out, Catalog catalog,
                                                     const PrivateKey& key,
                                                     const BundleWriterOptions& options = {});
  ~BundleWriter();
  BundleWriter(const BundleWriter&) = delete;
  BundleWriter& operator=(const BundleWriter&) = delete;

  // Starts the data of catalog.blobs[blob_index], which must be the next
  // shipped blob in catalog order. kZstd frames that do not shrink are stored
  // raw instead.
  Status BeginBlob(size_t blob_index, Compression compression);
  // Raw blob bytes, any amount per call.
  Status Append(io::ByteView data);
  // Ends the blob. kCorruption naming the digest if the bytes appended do not
  // have the catalog's size and sha256 (the source lied); the bundle is then
  // unusable and the caller must discard it.
  Status EndBlob();
  // Writes the trailer and footer. Fails if a shipped blob was not written.
  Status Finish();

  const Catalog& catalog() const;
  // Bytes written to all volumes so far.
  uint64_t bytes_written() const;
  // The volumes written, complete once Finish returned. Each was written
  // with the count unknown (0) at `volume_record_offset()`: a writer of
  // several volumes overwrites that record with EncodeVolumeRecord of the
  // final one (count set), which only the caller can do in place.
  const std::vector<VolumeRecord>& volumes() const;
  // SHA-256 of the header and catalog: what the signature covers, and what
  // ties parity files to this bundle (PARITY.md).
  const std::array<uint8_t, 32>& signed_digest() const;
  uint64_t volume_record_offset() const;
  // Stored bytes (frame headers included) of blobs written so far.
  uint64_t stored_blob_bytes() const;

 private:
  struct Impl;
  explicit BundleWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::format
