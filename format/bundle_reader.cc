#include "format/bundle_reader.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "format/blob_frames.h"
#include "format/bundle_format.h"
#include "format/catalog_codec.h"
#include "format/checksum.h"
#include "format/endian.h"
#include "format/frame_codec.h"

namespace sluice::format {
namespace {

constexpr size_t kReadChunk = 1u << 20;

std::string At(uint64_t offset) { return " at offset " + std::to_string(offset); }

// "blob 3 at 1234, 5678 bytes in 2 frames, raw bytes [0, 9000)"
std::string LocationText(const BlobLocation& l) {
  return "blob " + std::to_string(l.blob_index) + " at " + std::to_string(l.offset) + ", " +
         std::to_string(l.stored_size) + " bytes in " + std::to_string(l.frame_count) +
         " frames, raw bytes [" + std::to_string(l.raw_offset) + ", " +
         std::to_string(l.raw_offset + l.raw_size) + ")";
}

// Joins chunks into one buffer of `size` bytes, freeing each as it is
// copied: the copy costs one chunk beyond the catalog's size (and nothing
// for a catalog of one chunk, as most are).
std::string Concatenate(std::vector<std::string>* chunks, uint64_t size) {
  if (chunks->size() == 1) return std::move(chunks->front());
  std::string out;
  out.reserve(static_cast<size_t>(size));
  for (std::string& chunk : *chunks) {
    out += chunk;
    std::string().swap(chunk);
  }
  chunks->clear();
  return out;
}

}  // namespace

struct BundleReader::Impl {
  io::SequentialReader* in = nullptr;
  Catalog catalog;
  SignatureInfo signature;

  // The first error met; every later call returns it (the stream position is
  // unknown after a failure).
  Status broken;
  uint64_t offset = 0;       // bytes consumed from the current volume
  uint64_t frames_read = 0;  // over the whole bundle, for messages
  uint64_t stored_read = 0;  // frame bytes over the whole bundle
  size_t next_blob = 0;      // catalog index from which to look for the next shipped blob
  bool blobs_done = false;   // NextBlob returned nullopt
  std::vector<BlobLocation> locations;  // every part read, over all volumes

  // The volume being read, the SHA-256 of the header, catalog and signature
  // every volume repeats, and the parts of blobs this volume held so far.
  VolumeRecord volume;
  std::array<uint8_t, 32> prefix_digest{};
  std::vector<BlobLocation> volume_parts;

  bool check_digests = true;

  // The current blob, read by `frames` (made once `catalog` is final).
  std::optional<size_t> blob;
  std::optional<BlobFrames> frames;

  Status Fail(Status s) {
    broken = s;
    return s;
  }

  // Reads exactly buf.size() bytes. The input ending early is damage
  // (a truncated bundle), reported with what was being read and where.
  Status ReadExact(io::MutableBytes buf, std::string_view what) {
    return format::ReadExact(in, buf, what, &offset);
  }

  // "" for a bundle of one volume, else " of volume 3"
  std::string VolumeText() const {
    return volume.count == 1 ? "" : " of volume " + std::to_string(volume.number);
  }

  // Reads the n-byte catalog into chunks of at most kReadChunk bytes as they
  // arrive, so that a size claimed by a header nobody has vouched for yet
  // costs memory only once the bytes exist, and bytes not yet trusted are
  // never copied. Checks the catalog checksum (the last 8 bytes, of those
  // before them) on the way, and feeds every byte to `signed_hash` when
  // given, and to `prefix_hash`. n is at least kMinCatalogSize (DecodeHeader
  // checked it).
  Status ReadCatalog(uint64_t n, std::vector<std::string>* chunks, Sha256* signed_hash,
                     Sha256* prefix_hash) {
    const uint64_t start = offset;
    const uint64_t body_size = n - 8;
    Xxh3Stream sum;
    std::array<uint8_t, 8> checksum{};
    std::string scratch;
    uint64_t done = 0;
    while (done < n) {
      const size_t len = static_cast<size_t>(std::min<uint64_t>(n - done, kReadChunk));
      // A later volume's catalog (chunks null) is only compared, never kept.
      std::string& chunk = chunks ? chunks->emplace_back(len, '\0') : scratch;
      chunk.resize(len);
      Status s =
          ReadExact(io::MutableBytes(reinterpret_cast<uint8_t*>(chunk.data()), len), "catalog");
      if (!s.ok()) {
        if (!s.IsCorruption()) return s;
        return Status::Corruption("truncated bundle: catalog" + At(start) + " needs " +
                                  std::to_string(n) + " bytes, the input ends before that");
      }
      if (signed_hash) signed_hash->Update(io::AsBytes(chunk));
      prefix_hash->Update(io::AsBytes(chunk));
      const size_t body =
          static_cast<size_t>(std::min<uint64_t>(len, done < body_size ? body_size - done : 0));
      sum.Update(io::AsBytes(std::string_view(chunk).substr(0, body)));
      for (size_t i = body; i < len; ++i) {
        checksum[done + i - body_size] = static_cast<uint8_t>(chunk[i]);
      }
      done += len;
    }
    return CompareCatalogChecksum(LoadU64(checksum.data()), sum.Digest(), start);
  }

  // Reads the header, checking its checksum, version and features.
  Result<HeaderFields> ReadHeader(std::string* header) {
    header->assign(kHeaderPrefixSize, '\0');
    SLUICE_RETURN_IF_ERROR(ReadExact(
        io::MutableBytes(reinterpret_cast<uint8_t*>(header->data()), header->size()), "header"));
    SLUICE_ASSIGN_OR_RETURN(uint32_t header_size, DecodeHeaderPrefix(io::AsBytes(*header)));
    header->resize(header_size);
    SLUICE_RETURN_IF_ERROR(ReadExact(
        io::MutableBytes(reinterpret_cast<uint8_t*>(header->data()) + kHeaderPrefixSize,
                         header_size - kHeaderPrefixSize),
        "header"));
    return DecodeHeader(io::AsBytes(*header));
  }

  // Reads the volume record that follows the signature.
  Result<VolumeRecord> ReadVolumeRecord() {
    const uint64_t at = offset;
    std::array<uint8_t, kMaxVolumeRecordSize> bytes{};
    SLUICE_RETURN_IF_ERROR(ReadExact(io::MutableBytes(bytes.data(), 8), "volume record"));
    if (!std::equal(kVolumeMagic.begin(), kVolumeMagic.end(), bytes.begin())) {
      return Status::Corruption("volume record" + At(at) + ": wrong magic");
    }
    const uint32_t size = LoadU32(bytes.data() + 4);
    if (size < kVolumeRecordSize || size > kMaxVolumeRecordSize || size % 8 != 0) {
      return Status::Corruption("volume record" + At(at) + ": size " + std::to_string(size) +
                                " is not a multiple of 8 between " +
                                std::to_string(kVolumeRecordSize) + " and " +
                                std::to_string(kMaxVolumeRecordSize));
    }
    SLUICE_RETURN_IF_ERROR(ReadExact(io::MutableBytes(bytes.data() + 8, size - 8), "volume record"));
    auto v = DecodeVolumeRecord(io::ByteView(bytes.data(), size));
    if (!v.ok()) return Status::Corruption("volume record" + At(at) + ": " + v.status().message());
    return v;
  }

  std::optional<size_t> NextShipped() const {
    for (size_t i = next_blob; i < catalog.blobs.size(); ++i) {
      if (catalog.blobs[i].shipped) return i;
    }
    return std::nullopt;
  }

  // Ends the current blob: reads and checks what is left of it.
  Status EndBlob() {
    SLUICE_RETURN_IF_ERROR(frames->Drain());
    NotePart();
    offset = frames->offset();
    frames_read = frames->frame_number();
    next_blob = *blob + 1;
    blob.reset();
    return Status::Ok();
  }

  // Records the frames the current blob had in this volume.
  void NotePart() {
    const BlobLocation& part = frames->location();
    if (part.frame_count == 0) return;
    volume_parts.push_back(part);
    locations.push_back(part);
    stored_read += part.stored_size;
  }

  // The current volume's trailer has begun (its magic read, when
  // `magic_read`): checks the trailer and footer, then, unless this is the
  // last volume, reads the start of the next one from the same input and
  // returns true.
  Result<bool> EndVolume(bool magic_read);

  // Reads the signature block and, unless trust.skip_signature, checks it
  // is a trusted key's signature over the raw header and catalog bytes,
  // whose SHA-256 `signed_hash` has been fed (null when skipping).
  Status ReadSignature(Sha256* signed_hash, const TrustPolicy& trust, std::string* block_bytes);

  // The trailer and footer of the current volume.
  Status ReadTrailerAndFooter(bool magic_read);
  Status ReadTrailerEntries(const TrailerHeader& t, uint64_t trailer_offset, Xxh3Stream* sum);
  Status CheckFooter(uint64_t trailer_offset, uint64_t trailer_size, Xxh3Stream* sum);
  // Header, catalog, signature and volume record of the next volume.
  Status StartNextVolume();
};

BundleReader::BundleReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BundleReader::~BundleReader() = default;

Status BundleReader::Impl::ReadSignature(Sha256* signed_hash, const TrustPolicy& trust,
                                         std::string* block_bytes) {
  const uint64_t signature_offset = offset;
  std::array<uint8_t, kSignatureSize> sig_bytes{};
  SLUICE_RETURN_IF_ERROR(ReadExact(sig_bytes, "signature"));
  block_bytes->assign(sig_bytes.begin(), sig_bytes.end());
  SignatureBlock block = DecodeSignatureBlock(sig_bytes);
  if (block.algorithm != kSignatureAlgorithmEd25519) {
    return Status::Corruption("signature" + At(signature_offset) + ": algorithm " +
                              std::to_string(block.algorithm) + " is not Ed25519 (1)");
  }
  signature.key_fingerprint = block.key_fingerprint;
  if (trust.skip_signature) return Status::Ok();
  const std::string signer = "sha256:" + HexEncode(block.key_fingerprint);
  auto key = std::find_if(trust.keys.begin(), trust.keys.end(), [&](const PublicKey& k) {
    return k.Fingerprint() == block.key_fingerprint;
  });
  if (key == trust.keys.end()) {
    return Status::Untrusted("bundle is signed by key " + signer + " which is not trusted" +
                             (trust.keys.empty() ? " (no trusted keys were given)" : ""));
  }
  std::string message = SignatureMessage(signed_hash->FinishRaw());
  if (!key->Verify(io::AsBytes(message), block.signature)) {
    return Status::Untrusted("signature" + At(signature_offset) + " by key " + signer +
                             " does not verify: the header or catalog was altered");
  }
  signature.verified = true;
  return Status::Ok();
}

Result<std::unique_ptr<BundleReader>> BundleReader::Open(io::SequentialReader* in,
                                                         const TrustPolicy& trust,
                                                         const BundleReaderOptions& options) {
  auto impl = std::make_unique<Impl>();
  Impl& r = *impl;
  r.in = in;
  r.check_digests = options.check_blob_digests;

  // Header: the fixed prefix says how long it is; the checksum is checked
  // before the version is believed (see SPEC.md section 3).
  std::string header;
  SLUICE_ASSIGN_OR_RETURN(HeaderFields fields, r.ReadHeader(&header));
  r.catalog.header = fields.header;

  // The checksum first, so a flipped bit is reported as damage rather than
  // as a forgery; then the signature over the raw bytes; only then is the
  // catalog parsed and validated. Refusing an untrusted catalog thus costs
  // one XXH3 and one SHA-256 pass over its bytes as they arrive, and memory
  // for those bytes alone, whatever its records would make parsing and
  // validation do (SPEC.md section 10).
  const uint64_t catalog_offset = r.offset;
  std::optional<Sha256> signed_hash;
  if (!trust.skip_signature) {
    signed_hash.emplace();
    signed_hash->Update(io::AsBytes(header));
  }
  Sha256 prefix_hash;
  prefix_hash.Update(io::AsBytes(header));
  std::vector<std::string> chunks;
  SLUICE_RETURN_IF_ERROR(r.ReadCatalog(fields.catalog_size, &chunks,
                                       signed_hash ? &*signed_hash : nullptr, &prefix_hash));
  std::string block;
  SLUICE_RETURN_IF_ERROR(r.ReadSignature(signed_hash ? &*signed_hash : nullptr, trust, &block));
  prefix_hash.Update(io::AsBytes(block));
  r.prefix_digest = prefix_hash.FinishRaw();
  const std::string catalog_bytes = Concatenate(&chunks, fields.catalog_size);
  SLUICE_RETURN_IF_ERROR(ParseCatalog(io::AsBytes(catalog_bytes), catalog_offset, &r.catalog));
  if (uint32_t missing = RequiredFeatures(r.catalog) & ~fields.required_features; missing != 0) {
    return Status::Corruption("catalog at offset " + std::to_string(catalog_offset) +
                              ": ships blobs as deltas, but the header does not require feature "
                              "bit 0 (required_features " +
                              std::to_string(fields.required_features) + ")");
  }
  SLUICE_ASSIGN_OR_RETURN(r.volume, r.ReadVolumeRecord());
  if (r.volume.number != 1 && !options.any_volume) {
    return Status::InvalidArgument(
        "this is volume " + std::to_string(r.volume.number) + " of " +
        std::to_string(r.volume.count) +
        " of a bundle, which is read from its first volume on: give the whole set (a directory, "
        "or the volumes in order), or verify this volume alone");
  }
  r.frames.emplace(r.catalog);
  Impl* self = &r;
  r.frames->SetVolumeEnd([self]() -> Result<bool> {
    // In the last volume, the trailer where a frame should be means frames
    // are missing, which the frames' reader reports best.
    if (self->volume.number == self->volume.count) return false;
    self->NotePart();
    return self->EndVolume(/*magic_read=*/true);
  });
  return std::unique_ptr<BundleReader>(new BundleReader(std::move(impl)));
}

const Catalog& BundleReader::catalog() const { return impl_->catalog; }
const SignatureInfo& BundleReader::signature() const { return impl_->signature; }
const VolumeRecord& BundleReader::volume() const { return impl_->volume; }
const std::vector<BlobLocation>& BundleReader::locations() const { return impl_->locations; }

Result<std::optional<size_t>> BundleReader::NextBlob() {
  Impl& r = *impl_;
  if (!r.broken.ok()) return r.broken;
  if (r.blob) {
    Status s = r.EndBlob();
    if (!s.ok()) return r.Fail(s);
  }
  std::optional<size_t> next = r.NextShipped();
  if (!next) {
    r.blobs_done = true;
    return std::optional<size_t>();
  }
  r.blob = next;
  r.frames->Start(r.in, *next, r.offset, r.frames_read, r.check_digests);
  return next;
}

Result<size_t> BundleReader::Read(io::MutableBytes buf) {
  Impl& r = *impl_;
  if (!r.broken.ok()) return r.broken;
  if (!r.blob) return Status::InvalidArgument("bundle reader: Read without a current blob");
  Result<size_t> n = r.frames->Read(buf);
  if (!n.ok()) return r.Fail(n.status());
  return n;
}

Result<bool> BundleReader::Impl::EndVolume(bool magic_read) {
  if (blob) offset = frames->offset();
  SLUICE_RETURN_IF_ERROR(ReadTrailerAndFooter(magic_read));
  if (volume.number == volume.count) return false;
  SLUICE_RETURN_IF_ERROR(StartNextVolume());
  if (blob) frames->Continue(in, offset);
  return true;
}

Status BundleReader::Impl::StartNextVolume() {
  const uint32_t expected = volume.number + 1;
  const std::string which = "volume " + std::to_string(expected) + " of " +
                            std::to_string(volume.count);
  offset = 0;
  std::string header;
  auto fields = ReadHeader(&header);
  if (!fields.ok()) return fields.status().WithContext(which);
  if (fields->header.bundle_id != catalog.header.bundle_id) {
    return Status::Corruption(which + " belongs to bundle " + HexEncode(fields->header.bundle_id) +
                              ", not to " + HexEncode(catalog.header.bundle_id) +
                              ": a volume of another bundle is in the set");
  }
  Sha256 prefix_hash;
  prefix_hash.Update(io::AsBytes(header));
  SLUICE_RETURN_IF_ERROR(
      ReadCatalog(fields->catalog_size, nullptr, nullptr, &prefix_hash).WithContext(which));
  std::array<uint8_t, kSignatureSize> block{};
  SLUICE_RETURN_IF_ERROR(ReadExact(block, "signature").WithContext(which));
  prefix_hash.Update(block);
  if (prefix_hash.FinishRaw() != prefix_digest) {
    return Status::Corruption(which + ": its header, catalog or signature differ from volume 1's");
  }
  auto next = ReadVolumeRecord();
  if (!next.ok()) return next.status().WithContext(which);
  if (next->number != expected || next->count != volume.count) {
    return Status::Corruption("expected " + which + ", found volume " +
                              std::to_string(next->number) + " of " +
                              std::to_string(next->count) + " (volumes out of order or missing)");
  }
  const uint64_t frames_so_far = blob ? frames->frame_number() : frames_read;
  if (next->first_frame != frames_so_far || next->stored_offset != stored_read) {
    return Status::Corruption(which + " starts at frame " + std::to_string(next->first_frame) +
                              " (" + std::to_string(next->stored_offset) +
                              " frame bytes before it), but the volumes before it hold " +
                              std::to_string(frames_so_far) + " frames (" +
                              std::to_string(stored_read) + " bytes)");
  }
  volume = *next;
  volume_parts.clear();
  return Status::Ok();
}

Status BundleReader::Impl::ReadTrailerAndFooter(bool magic_read) {
  const uint64_t trailer_offset = magic_read ? offset - kTrailerMagic.size() : offset;
  std::array<uint8_t, kTrailerHeaderSize> th{};
  if (magic_read) std::copy(kTrailerMagic.begin(), kTrailerMagic.end(), th.begin());
  const size_t skip = magic_read ? kTrailerMagic.size() : 0;
  SLUICE_RETURN_IF_ERROR(
      ReadExact(io::MutableBytes(th.data() + skip, th.size() - skip), "trailer"));
  if (std::equal(kFrameMagic.begin(), kFrameMagic.end(), th.begin())) {
    return Status::Corruption("frame" + At(trailer_offset) + VolumeText() + " (for blob " +
                              std::to_string(LoadU32(&th[4])) +
                              ") follows the last shipped blob, where the trailer should be");
  }
  auto t = DecodeTrailerHeader(th);
  if (!t.ok()) {
    return Status::Corruption("trailer" + At(trailer_offset) + VolumeText() + ": " +
                              t.status().message());
  }
  Xxh3Stream sum;
  sum.Update(th);
  if (t->entry_count != volume_parts.size()) {
    return Status::Corruption("trailer" + At(trailer_offset) + VolumeText() + ": " +
                              std::to_string(t->entry_count) + " entries, but the volume holds " +
                              std::to_string(volume_parts.size()) + " blobs or parts of blobs");
  }
  SLUICE_RETURN_IF_ERROR(ReadTrailerEntries(*t, trailer_offset, &sum));
  // The extension: fields of later revisions, hashed and skipped with
  // bounded memory.
  uint64_t left = t->trailer_size - kTrailerHeaderSize - uint64_t{t->entry_size} * t->entry_count;
  std::vector<uint8_t> chunk;
  while (left > 0) {
    chunk.resize(static_cast<size_t>(std::min<uint64_t>(left, 64 * 1024)));
    SLUICE_RETURN_IF_ERROR(ReadExact(chunk, "trailer extension"));
    sum.Update(chunk);
    left -= chunk.size();
  }
  return CheckFooter(trailer_offset, t->trailer_size, &sum);
}

Status BundleReader::Impl::ReadTrailerEntries(const TrailerHeader& t, uint64_t trailer_offset,
                                              Xxh3Stream* sum) {
  (void)trailer_offset;
  std::vector<uint8_t> e(t.entry_size);
  for (size_t i = 0; i < volume_parts.size(); ++i) {
    const uint64_t entry_offset = offset;
    SLUICE_RETURN_IF_ERROR(ReadExact(e, "trailer entry"));
    sum->Update(e);
    BlobLocation got = DecodeTrailerEntry(e.data());
    const BlobLocation& want = volume_parts[i];
    if (got != want) {
      return Status::Corruption("trailer entry " + std::to_string(i) + At(entry_offset) +
                                VolumeText() + " says " + LocationText(got) +
                                "; the frames show " + LocationText(want));
    }
  }
  return Status::Ok();
}

Status BundleReader::Impl::CheckFooter(uint64_t trailer_offset, uint64_t trailer_size,
                                       Xxh3Stream* sum) {
  const uint64_t footer_offset = offset;
  std::array<uint8_t, kFooterSize> footer{};
  SLUICE_RETURN_IF_ERROR(ReadExact(footer, "footer"));
  auto f = DecodeFooter(footer);
  const std::string where = "footer" + At(footer_offset) + VolumeText();
  if (!f.ok()) return Status::Corruption(where + ": " + f.status().message());
  if (f->trailer_offset != trailer_offset) {
    return Status::Corruption(where + ": trailer_offset " + std::to_string(f->trailer_offset) +
                              ", but the trailer is" + At(trailer_offset));
  }
  if (f->trailer_size != trailer_size) {
    return Status::Corruption(where + ": trailer_size " + std::to_string(f->trailer_size) +
                              ", but the trailer says " + std::to_string(trailer_size));
  }
  sum->Update(io::ByteView(footer.data(), 16));
  if (sum->Digest() != f->checksum) {
    return Status::Corruption(where + ": checksum mismatch (stored " + ChecksumText(f->checksum) +
                              ", computed " + ChecksumText(sum->Digest()) + ")");
  }
  return Status::Ok();
}

Status BundleReader::Finish() {
  Impl& r = *impl_;
  if (!r.broken.ok()) return r.broken;
  // Blobs the caller did not read are read and checked here, so Open()
  // followed by Finish() verifies a whole bundle.
  while (!r.blobs_done) {
    auto next = NextBlob();
    if (!next.ok()) return next.status();
  }
  auto more = r.EndVolume(/*magic_read=*/false);
  if (!more.ok()) return r.Fail(more.status());
  if (*more) {
    return r.Fail(Status::Corruption(
        "volume " + std::to_string(r.volume.number) + " of " + std::to_string(r.volume.count) +
        " follows the volume that ended the bundle's frames"));
  }
  // The input must end with the last volume's footer.
  uint8_t extra = 0;
  auto n = r.in->Read(io::MutableBytes(&extra, 1));
  if (!n.ok()) return r.Fail(n.status());
  if (*n != 0) {
    return r.Fail(Status::Corruption("trailing garbage: the input continues after the footer "
                                     "that ends" + At(r.offset) + r.VolumeText()));
  }
  r.broken = Status::InvalidArgument("bundle reader: already finished");
  return Status::Ok();
}

}  // namespace sluice::format
