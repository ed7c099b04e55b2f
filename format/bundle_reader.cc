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

// "blob 3 at 1234, 5678 bytes in 2 frames"
std::string LocationText(const BlobLocation& l) {
  return "blob " + std::to_string(l.blob_index) + " at " + std::to_string(l.offset) + ", " +
         std::to_string(l.stored_size) + " bytes in " + std::to_string(l.frame_count) + " frames";
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
  uint64_t offset = 0;       // bytes consumed from `in`
  uint64_t frames_read = 0;  // over the whole bundle, for messages
  size_t next_blob = 0;      // catalog index from which to look for the next shipped blob
  bool blobs_done = false;   // NextBlob returned nullopt
  std::vector<BlobLocation> locations;

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

  // Reads the n-byte catalog into chunks of at most kReadChunk bytes as they
  // arrive, so that a size claimed by a header nobody has vouched for yet
  // costs memory only once the bytes exist, and bytes not yet trusted are
  // never copied. Checks the catalog checksum (the last 8 bytes, of those
  // before them) on the way, and feeds every byte to `signed_hash` when
  // given. n is at least kMinCatalogSize (DecodeHeader checked it).
  Status ReadCatalog(uint64_t n, std::vector<std::string>* chunks, Sha256* signed_hash) {
    const uint64_t start = offset;
    const uint64_t body_size = n - 8;
    Xxh3Stream sum;
    std::array<uint8_t, 8> checksum{};
    uint64_t done = 0;
    while (done < n) {
      const size_t len = static_cast<size_t>(std::min<uint64_t>(n - done, kReadChunk));
      std::string& chunk = chunks->emplace_back(len, '\0');
      Status s =
          ReadExact(io::MutableBytes(reinterpret_cast<uint8_t*>(chunk.data()), len), "catalog");
      if (!s.ok()) {
        if (!s.IsCorruption()) return s;
        return Status::Corruption("truncated bundle: catalog" + At(start) + " needs " +
                                  std::to_string(n) + " bytes, the input ends before that");
      }
      if (signed_hash) signed_hash->Update(io::AsBytes(chunk));
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

  std::optional<size_t> NextShipped() const {
    for (size_t i = next_blob; i < catalog.blobs.size(); ++i) {
      if (catalog.blobs[i].shipped) return i;
    }
    return std::nullopt;
  }

  // Ends the current blob: reads and checks what is left of it.
  Status EndBlob() {
    SLUICE_RETURN_IF_ERROR(frames->Drain());
    offset = frames->offset();
    frames_read = frames->frame_number();
    locations.push_back(frames->location());
    next_blob = *blob + 1;
    blob.reset();
    return Status::Ok();
  }

  // Reads the signature block and, unless trust.skip_signature, checks it
  // is a trusted key's signature over the raw header and catalog bytes,
  // whose SHA-256 `signed_hash` has been fed (null when skipping).
  Status ReadSignature(Sha256* signed_hash, const TrustPolicy& trust);

  // After the last shipped blob: reads the trailer and footer, and checks
  // them against the frames seen and that the input ends there.
  Status ReadTrailerAndFooter();
  // Each adds the bytes it reads to the trailer checksum `sum`.
  Status ReadTrailerHeader(Xxh3Stream* sum);
  Status ReadTrailerEntries(Xxh3Stream* sum);
  // Reads to the end of the input, leaving its last kFooterSize bytes in
  // *footer and hashing any trailer extension before them.
  Status ReadToFooter(uint64_t trailer_offset, std::array<uint8_t, kFooterSize>* footer,
                      Xxh3Stream* sum);
  Status CheckFooter(const std::array<uint8_t, kFooterSize>& footer, uint64_t trailer_offset,
                     Xxh3Stream* sum) const;
};

BundleReader::BundleReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BundleReader::~BundleReader() = default;

Status BundleReader::Impl::ReadSignature(Sha256* signed_hash, const TrustPolicy& trust) {
  const uint64_t signature_offset = offset;
  std::array<uint8_t, kSignatureSize> sig_bytes{};
  SLUICE_RETURN_IF_ERROR(ReadExact(sig_bytes, "signature"));
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
  std::string header(kHeaderPrefixSize, '\0');
  SLUICE_RETURN_IF_ERROR(
      r.ReadExact(io::MutableBytes(reinterpret_cast<uint8_t*>(header.data()), header.size()),
                  "header"));
  SLUICE_ASSIGN_OR_RETURN(uint32_t header_size, DecodeHeaderPrefix(io::AsBytes(header)));
  header.resize(header_size);
  SLUICE_RETURN_IF_ERROR(r.ReadExact(
      io::MutableBytes(reinterpret_cast<uint8_t*>(header.data()) + kHeaderPrefixSize,
                       header_size - kHeaderPrefixSize),
      "header"));
  SLUICE_ASSIGN_OR_RETURN(HeaderFields fields, DecodeHeader(io::AsBytes(header)));
  r.catalog.header = fields.header;

  // The checksum first, so a flipped bit is reported as damage rather than
  // as a forgery; then the signature over the raw bytes; only then is the
  // catalog parsed and validated. Refusing an untrusted catalog thus costs
  // one XXH3 and one SHA-256 pass over its bytes as they arrive, and memory
  // for those bytes alone, whatever its records would make parsing and
  // validation do (SPEC.md section 9).
  const uint64_t catalog_offset = r.offset;
  std::optional<Sha256> signed_hash;
  if (!trust.skip_signature) {
    signed_hash.emplace();
    signed_hash->Update(io::AsBytes(header));
  }
  std::vector<std::string> chunks;
  SLUICE_RETURN_IF_ERROR(
      r.ReadCatalog(fields.catalog_size, &chunks, signed_hash ? &*signed_hash : nullptr));
  SLUICE_RETURN_IF_ERROR(r.ReadSignature(signed_hash ? &*signed_hash : nullptr, trust));
  const std::string catalog_bytes = Concatenate(&chunks, fields.catalog_size);
  SLUICE_RETURN_IF_ERROR(ParseCatalog(io::AsBytes(catalog_bytes), catalog_offset, &r.catalog));
  r.frames.emplace(r.catalog);
  return std::unique_ptr<BundleReader>(new BundleReader(std::move(impl)));
}

const Catalog& BundleReader::catalog() const { return impl_->catalog; }
const SignatureInfo& BundleReader::signature() const { return impl_->signature; }
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

Status BundleReader::Impl::ReadTrailerAndFooter() {
  const uint64_t trailer_offset = offset;
  Xxh3Stream sum;
  SLUICE_RETURN_IF_ERROR(ReadTrailerHeader(&sum));
  SLUICE_RETURN_IF_ERROR(ReadTrailerEntries(&sum));
  std::array<uint8_t, kFooterSize> footer{};
  SLUICE_RETURN_IF_ERROR(ReadToFooter(trailer_offset, &footer, &sum));
  return CheckFooter(footer, trailer_offset, &sum);
}

Status BundleReader::Impl::ReadTrailerHeader(Xxh3Stream* sum) {
  const uint64_t trailer_offset = offset;
  std::array<uint8_t, kTrailerHeaderSize> th{};
  SLUICE_RETURN_IF_ERROR(ReadExact(th, "trailer"));
  sum->Update(th);
  if (std::equal(kFrameMagic.begin(), kFrameMagic.end(), th.begin())) {
    return Status::Corruption("frame" + At(trailer_offset) + " (for blob " +
                              std::to_string(LoadU32(&th[4])) +
                              ") follows the last shipped blob, where the trailer should be");
  }
  if (!std::equal(kTrailerMagic.begin(), kTrailerMagic.end(), th.begin())) {
    return Status::Corruption("trailer" + At(trailer_offset) + ": wrong magic");
  }
  uint32_t count = LoadU32(&th[4]);
  if (count != locations.size()) {
    return Status::Corruption("trailer" + At(trailer_offset) + ": " + std::to_string(count) +
                              " entries, but the bundle has " + std::to_string(locations.size()) +
                              " shipped blobs");
  }
  return Status::Ok();
}

Status BundleReader::Impl::ReadTrailerEntries(Xxh3Stream* sum) {
  for (size_t i = 0; i < locations.size(); ++i) {
    const uint64_t entry_offset = offset;
    std::array<uint8_t, kTrailerEntrySize> e{};
    SLUICE_RETURN_IF_ERROR(ReadExact(e, "trailer entry"));
    sum->Update(e);
    BlobLocation got = DecodeTrailerEntry(e.data());
    const BlobLocation& want = locations[i];
    if (got.blob_index != want.blob_index || got.offset != want.offset ||
        got.stored_size != want.stored_size || got.frame_count != want.frame_count) {
      return Status::Corruption("trailer entry " + std::to_string(i) + At(entry_offset) + " says " +
                                LocationText(got) + "; the frames show " + LocationText(want));
    }
  }
  return Status::Ok();
}

Status BundleReader::Impl::ReadToFooter(uint64_t trailer_offset,
                                        std::array<uint8_t, kFooterSize>* footer, Xxh3Stream* sum) {
  const uint64_t entries_end = offset;
  // The footer is the last kFooterSize bytes of the input. Usually it follows
  // the entries directly; anything between is a trailer extension (SPEC.md
  // section 12), hashed but otherwise ignored, with bounded memory.
  SLUICE_RETURN_IF_ERROR(ReadExact(*footer, "footer"));
  // The entries matched the frames, so this is what a footer without
  // extension must be; if it is that and more input follows, the input
  // continues past the end of the bundle.
  const auto plain_footer = EncodeFooter(trailer_offset, io::AsBytes(EncodeTrailer(locations)));
  std::vector<uint8_t> chunk(64 * 1024);
  std::vector<uint8_t> window;
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(size_t n, in->Read(chunk));
    if (n == 0) break;
    if (offset == entries_end + kFooterSize && *footer == plain_footer) {
      return Status::Corruption("trailing garbage: the input continues after the footer that ends" +
                                At(offset));
    }
    offset += n;
    window.assign(footer->begin(), footer->end());
    window.insert(window.end(), chunk.begin(), chunk.begin() + n);
    const size_t keep_from = window.size() - kFooterSize;
    sum->Update(io::ByteView(window.data(), keep_from));
    std::copy(window.begin() + keep_from, window.end(), footer->begin());
  }
  return Status::Ok();
}

Status BundleReader::Impl::CheckFooter(const std::array<uint8_t, kFooterSize>& footer,
                                       uint64_t trailer_offset, Xxh3Stream* sum) const {
  const uint64_t footer_offset = offset - kFooterSize;
  auto f = DecodeFooter(footer);
  if (!f.ok()) return Status::Corruption("footer" + At(footer_offset) + ": " + f.status().message());
  if (f->trailer_offset != trailer_offset) {
    return Status::Corruption("footer" + At(footer_offset) + ": trailer_offset " +
                              std::to_string(f->trailer_offset) + ", but the trailer is" +
                              At(trailer_offset));
  }
  if (f->trailer_size != footer_offset - trailer_offset) {
    return Status::Corruption("footer" + At(footer_offset) + ": trailer_size " +
                              std::to_string(f->trailer_size) + ", but " +
                              std::to_string(footer_offset - trailer_offset) +
                              " bytes lie between trailer and footer");
  }
  sum->Update(io::ByteView(footer.data(), 16));
  if (sum->Digest() != f->checksum) {
    return Status::Corruption("footer" + At(footer_offset) + ": checksum mismatch (stored " +
                              ChecksumText(f->checksum) + ", computed " +
                              ChecksumText(sum->Digest()) + ")");
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
  Status s = r.ReadTrailerAndFooter();
  if (!s.ok()) return r.Fail(s);
  r.broken = Status::InvalidArgument("bundle reader: already finished");
  return Status::Ok();
}

}  // namespace sluice::format
