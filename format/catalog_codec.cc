#include "format/catalog_codec.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "format/bundle_format.h"
#include "format/checksum.h"
#include "format/delta_check.h"
#include "format/endian.h"

namespace sluice::format {
namespace {

void PutString(std::string* out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

std::string FeatureBitName(uint32_t bits) {
  for (int i = 0; i < 32; ++i) {
    if (bits & (1u << i)) return "bit " + std::to_string(i);
  }
  return "none";
}

// Reads the catalog front to back. Every read is checked against the bytes
// that remain, so nothing in the catalog can make it read out of bounds or
// allocate more than the catalog's own size.
class CatalogParser {
 public:
  CatalogParser(io::ByteView bytes, uint64_t offset)
      : bytes_(bytes), base_(offset), limit_(bytes.size()) {}

  uint64_t offset() const { return base_ + pos_; }
  // Bytes left in the current record, or in the catalog between records.
  size_t remaining() const { return limit_ - pos_; }

  // Reads a record's record_size and confines the reads that follow to the
  // record, until EndRecord.
  Status BeginRecord(std::string_view what) {
    uint64_t at = offset();
    uint32_t size = 0;
    SLUICE_RETURN_IF_ERROR(U32(&size, std::string(what) + " record_size"));
    if (size > remaining()) {
      return Error(std::string(what) + ": record_size " + std::to_string(size) +
                       " runs past the catalog's end (" + std::to_string(remaining()) +
                       " bytes remain)",
                   at);
    }
    limit_ = pos_ + size;
    in_record_ = true;
    return Status::Ok();
  }
  // Skips what is left of the record: fields of later revisions, which this
  // reader does not know (SPEC.md section 13).
  void EndRecord() {
    pos_ = limit_;
    limit_ = bytes_.size();
    in_record_ = false;
  }

  Status Error(std::string_view what, uint64_t at) const {
    return Status::Corruption("catalog at offset " + std::to_string(at) + ": " + std::string(what));
  }

  Status U8(uint8_t* v, std::string_view what) {
    if (remaining() < 1) return Error(std::string(what) + PastEnd(), offset());
    *v = bytes_[pos_];
    pos_ += 1;
    return Status::Ok();
  }
  Status U32(uint32_t* v, std::string_view what) {
    if (remaining() < 4) return Error(std::string(what) + PastEnd(), offset());
    *v = LoadU32(bytes_.data() + pos_);
    pos_ += 4;
    return Status::Ok();
  }
  Status U64(uint64_t* v, std::string_view what) {
    if (remaining() < 8) return Error(std::string(what) + PastEnd(), offset());
    *v = LoadU64(bytes_.data() + pos_);
    pos_ += 8;
    return Status::Ok();
  }
  Status Bytes(std::string* out, uint32_t limit, std::string_view what) {
    uint64_t at = offset();
    uint32_t len = 0;
    SLUICE_RETURN_IF_ERROR(U32(&len, what));
    if (len > limit) {
      return Error(std::string(what) + " is " + std::to_string(len) + " bytes, over the limit of " +
                       std::to_string(limit),
                   at);
    }
    if (len > remaining()) {
      return Error(std::string(what) + " of " + std::to_string(len) + " bytes" + PastEnd(), at);
    }
    out->assign(reinterpret_cast<const char*>(bytes_.data() + pos_), len);
    pos_ += len;
    return Status::Ok();
  }
  Status DigestField(Digest* out, std::string_view what) {
    uint64_t at = offset();
    std::string text;
    SLUICE_RETURN_IF_ERROR(Bytes(&text, kMaxStringSize, what));
    auto digest = Digest::Parse(text);
    if (!digest.ok()) return Error(std::string(what) + ": " + digest.status().message(), at);
    *out = std::move(digest).value();
    return Status::Ok();
  }
  // Checks `count` records of at least `min_size` bytes can fit before
  // anything is reserved for them.
  Status Count(uint32_t* count, size_t min_size, std::string_view what) {
    uint64_t at = offset();
    SLUICE_RETURN_IF_ERROR(U32(count, what));
    if (static_cast<uint64_t>(*count) * min_size > remaining()) {
      return Error(std::string(what) + " " + std::to_string(*count) + " needs at least " +
                       std::to_string(static_cast<uint64_t>(*count) * min_size) + " bytes, only " +
                       std::to_string(remaining()) + " remain",
                   at);
    }
    return Status::Ok();
  }

 private:
  std::string PastEnd() const {
    return in_record_ ? " runs past its record's end" : " runs past the catalog's end";
  }

  io::ByteView bytes_;
  uint64_t base_;
  size_t pos_ = 0;
  size_t limit_;
  bool in_record_ = false;
};

// Appends a record: its u32 record_size, then the bytes `fields` appends.
template <typename Fields>
void PutRecord(std::string* out, Fields fields) {
  const size_t size_at = out->size();
  PutU32(out, 0);
  fields();
  StoreU32(reinterpret_cast<uint8_t*>(out->data() + size_at),
           static_cast<uint32_t>(out->size() - size_at - kRecordSizeField));
}

void PutBlobDelta(std::string* out, const BlobDelta& d) {
  PutString(out, d.base.str());
  PutU8(out, static_cast<uint8_t>(d.base_decoding));
  PutU8(out, d.codec);
  PutU64(out, d.content_size);
  PutU64(out, d.size);
  PutString(out, d.digest.str());
  PutU8(out, static_cast<uint8_t>(d.encoding.kind));
  PutU8(out, d.encoding.level);
  PutU8(out, d.encoding.mem_level);
  PutU8(out, d.encoding.strategy);
  PutU32(out, d.encoding.block_size);
  PutString(out, d.encoding.gzip_header);
}

// Reads the delta fields of a Blob record; what they must hold is checked
// with the rest of the catalog (ValidateBlobDelta).
Status ParseBlobDelta(CatalogParser& in, const std::string& what, BlobDelta* d) {
  uint8_t base_decoding = 0;
  uint8_t kind = 0;
  SLUICE_RETURN_IF_ERROR(in.DigestField(&d->base, what + " base digest"));
  SLUICE_RETURN_IF_ERROR(in.U8(&base_decoding, what + " base decoding"));
  SLUICE_RETURN_IF_ERROR(in.U8(&d->codec, what + " delta codec"));
  SLUICE_RETURN_IF_ERROR(in.U64(&d->content_size, what + " content size"));
  SLUICE_RETURN_IF_ERROR(in.U64(&d->size, what + " delta size"));
  SLUICE_RETURN_IF_ERROR(in.DigestField(&d->digest, what + " delta digest"));
  SLUICE_RETURN_IF_ERROR(in.U8(&kind, what + " encoding"));
  SLUICE_RETURN_IF_ERROR(in.U8(&d->encoding.level, what + " level"));
  SLUICE_RETURN_IF_ERROR(in.U8(&d->encoding.mem_level, what + " mem_level"));
  SLUICE_RETURN_IF_ERROR(in.U8(&d->encoding.strategy, what + " strategy"));
  SLUICE_RETURN_IF_ERROR(in.U32(&d->encoding.block_size, what + " block size"));
  SLUICE_RETURN_IF_ERROR(
      in.Bytes(&d->encoding.gzip_header, kMaxGzipHeaderSize, what + " gzip header"));
  d->base_decoding = static_cast<BlobDelta::BaseDecoding>(base_decoding);
  d->encoding.kind = static_cast<ContentEncoding::Kind>(kind);
  return Status::Ok();
}

}  // namespace

uint32_t RequiredFeatures(const Catalog& catalog) {
  for (const BlobEntry& b : catalog.blobs) {
    if (b.delta) return kRequiredFeatureDelta;
  }
  return 0;
}

Status MakeStatus(ErrorKind kind, std::string message) {
  switch (kind) {
    case ErrorKind::kOk:
      return Status::Ok();
    case ErrorKind::kInvalidArgument:
      return Status::InvalidArgument(std::move(message));
    case ErrorKind::kNotFound:
      return Status::NotFound(std::move(message));
    case ErrorKind::kAlreadyExists:
      return Status::AlreadyExists(std::move(message));
    case ErrorKind::kCorruption:
      return Status::Corruption(std::move(message));
    case ErrorKind::kUntrusted:
      return Status::Untrusted(std::move(message));
    case ErrorKind::kIoError:
      return Status::IoError(std::move(message));
    case ErrorKind::kNoSpace:
      return Status::NoSpace(std::move(message));
    case ErrorKind::kUnsupported:
      return Status::Unsupported(std::move(message));
    case ErrorKind::kNetwork:
      return Status::Network(std::move(message));
    case ErrorKind::kAuth:
      return Status::Auth(std::move(message));
    case ErrorKind::kBusy:
      return Status::Busy(std::move(message));
    case ErrorKind::kBrokenPipe:
      return Status::BrokenPipe(std::move(message));
  }
  return Status::Corruption(std::move(message));
}

std::string EncodeHeader(const BundleHeader& header, uint64_t catalog_size,
                         uint32_t required_features) {
  std::string out;
  out.reserve(kHeaderSize);
  out.append(reinterpret_cast<const char*>(kHeaderMagic.data()), kHeaderMagic.size());
  PutU32(&out, kFormatVersion);
  PutU32(&out, required_features);
  PutU32(&out, 0);  // optional_features
  PutU32(&out, kHeaderSize);
  out.append(reinterpret_cast<const char*>(header.bundle_id.data()), header.bundle_id.size());
  out.append(reinterpret_cast<const char*>(header.ledger_id.data()), header.ledger_id.size());
  PutU64(&out, header.base_sequence);
  PutU64(&out, header.sequence);
  PutU64(&out, header.created_unix);
  PutU64(&out, catalog_size);
  PutU64(&out, Xxh3(io::AsBytes(out)));
  return out;
}

Result<uint32_t> DecodeHeaderPrefix(io::ByteView prefix) {
  if (prefix.size() < kHeaderPrefixSize ||
      !std::equal(kHeaderMagic.begin(), kHeaderMagic.end(), prefix.begin())) {
    return Status::Corruption("header at offset 0: not a sluice bundle (wrong magic)");
  }
  uint32_t size = LoadU32(prefix.data() + 20);
  if (size < kMinHeaderSize || size > kMaxHeaderSize || size % 8 != 0) {
    return Status::Corruption("header at offset 0: header_size " + std::to_string(size) +
                              " is not a multiple of 8 between " + std::to_string(kMinHeaderSize) +
                              " and " + std::to_string(kMaxHeaderSize));
  }
  return size;
}

Result<HeaderFields> DecodeHeader(io::ByteView header) {
  SLUICE_ASSIGN_OR_RETURN(uint32_t size, DecodeHeaderPrefix(header));
  if (header.size() != size) {
    return Status::Corruption("header at offset 0: " + std::to_string(header.size()) +
                              " bytes given, header_size says " + std::to_string(size));
  }
  const uint8_t* p = header.data();
  uint64_t stored = LoadU64(p + size - 8);
  uint64_t computed = Xxh3(header.first(size - 8));
  if (stored != computed) {
    return Status::Corruption("header at offset 0: checksum mismatch (stored " +
                              ChecksumText(stored) + ", computed " + ChecksumText(computed) + ")");
  }
  HeaderFields f;
  f.format_version = LoadU32(p + 8);
  f.required_features = LoadU32(p + 12);
  f.optional_features = LoadU32(p + 16);
  f.header_size = size;
  if (f.format_version != kFormatVersion) {
    return Status::Unsupported("bundle format version " + std::to_string(f.format_version) +
                               " is not supported (this sluice reads version " +
                               std::to_string(kFormatVersion) + ")");
  }
  uint32_t unknown = f.required_features & ~kKnownRequiredFeatures;
  if (unknown != 0) {
    return Status::Unsupported("bundle requires feature " + FeatureBitName(unknown) +
                               " (required_features " + std::to_string(f.required_features) +
                               "), which this sluice does not support");
  }
  std::memcpy(f.header.bundle_id.data(), p + 24, 16);
  std::memcpy(f.header.ledger_id.data(), p + 40, 16);
  f.header.base_sequence = LoadU64(p + 56);
  f.header.sequence = LoadU64(p + 64);
  f.header.created_unix = LoadU64(p + 72);
  f.catalog_size = LoadU64(p + 80);
  if (f.catalog_size < kMinCatalogSize || f.catalog_size > kMaxCatalogSize) {
    return Status::Corruption("header at offset 0: catalog_size " + std::to_string(f.catalog_size) +
                              " is outside " + std::to_string(kMinCatalogSize) + ".." +
                              std::to_string(kMaxCatalogSize));
  }
  return f;
}

namespace {

// Equality for the validation's hash tables that counts every test it makes,
// so tests can hold validation to work linear in the catalog's size.
struct CountingEqual {
  uint64_t* count;
  template <typename T>
  bool operator()(const T& a, const T& b) const {
    ++*count;
    return a == b;
  }
};

// What makes two refs the same image name: (repository, tag), or for a ref
// pinned by digest alone, (repository, manifest digest).
struct RefName {
  std::string_view repository;
  std::string_view tag_or_digest;
  bool pinned;
  bool operator==(const RefName&) const = default;
};

struct RefNameHash {
  size_t operator()(const RefName& n) const {
    std::hash<std::string_view> h;
    return h(n.repository) * 31 + h(n.tag_or_digest) + (n.pinned ? 1 : 0);
  }
};

// Each check looks a digest or name up in a hash table instead of searching
// a list: a catalog of n records costs O(n) lookups, where a search of the
// manifests per ref cost n^2 comparisons (40,000 refs: 26 s; at the catalog
// size limit, hours). A reader gets here only once the signature has
// verified, or when told to skip signature checks (SPEC.md section 10).
Status ValidateCatalogAt(const Catalog& catalog, ErrorKind kind, const std::string& prefix,
                         CatalogValidationCost* cost) {
  uint64_t unused_count = 0;
  CountingEqual equal{cost ? &cost->comparisons : &unused_count};
  auto fail = [&](std::string msg) { return MakeStatus(kind, prefix + std::move(msg)); };
  auto check_string = [&](const std::string& s, std::string_view what) {
    if (s.size() > kMaxStringSize) {
      return fail(std::string(what) + " is " + std::to_string(s.size()) +
                  " bytes, over the limit of " + std::to_string(kMaxStringSize));
    }
    return Status::Ok();
  };

  // Every digest listed, manifests and blobs alike -> whether it is a
  // manifest the bundle carries.
  std::unordered_map<std::string_view, bool, std::hash<std::string_view>, CountingEqual> digests(
      catalog.manifests.size() + catalog.blobs.size(), std::hash<std::string_view>(), equal);
  for (size_t i = 0; i < catalog.manifests.size(); ++i) {
    const ManifestEntry& m = catalog.manifests[i];
    std::string where = "manifest " + std::to_string(i);
    if (m.digest.empty()) return fail(where + " has no digest");
    where += " " + m.digest.str();
    SLUICE_RETURN_IF_ERROR(check_string(m.media_type, where + " media type"));
    if (m.bytes.size() > kMaxManifestSize) {
      return fail(where + " is " + std::to_string(m.bytes.size()) + " bytes, over the limit of " +
                  std::to_string(kMaxManifestSize));
    }
    if (m.absent) {
      if (!m.bytes.empty()) return fail(where + " is marked absent but has bytes");
    } else if (Digest actual = Sha256::Of(m.bytes); actual != m.digest) {
      return fail(where + ": bytes hash to " + actual.str());
    }
    if (!digests.emplace(m.digest.str(), !m.absent).second) return fail(where + " is listed twice");
  }
  std::vector<size_t> deltas;  // indexes of the delta blobs
  std::unordered_set<std::string_view> shipped;
  for (const BlobEntry& b : catalog.blobs) {
    if (b.shipped) shipped.insert(b.digest.str());
  }
  for (size_t i = 0; i < catalog.blobs.size(); ++i) {
    const BlobEntry& b = catalog.blobs[i];
    std::string where = "blob " + std::to_string(i);
    if (b.digest.empty()) return fail(where + " has no digest");
    where += " " + b.digest.str();
    SLUICE_RETURN_IF_ERROR(check_string(b.media_type, where + " media type"));
    if (!digests.emplace(b.digest.str(), false).second) {
      return fail(where + " is listed twice among manifests and blobs");
    }
    if (b.delta) {
      if (std::string problem = DeltaProblem(b); !problem.empty()) {
        return fail(where + " " + problem);
      }
      deltas.push_back(i);
    }
  }
  // A delta's base is a blob the far side already holds: never one this
  // bundle ships.
  for (size_t i : deltas) {
    const BlobEntry& b = catalog.blobs[i];
    if (shipped.count(b.delta->base.str())) {
      return fail("blob " + std::to_string(i) + " " + b.digest.str() + " is a delta against " +
                  b.delta->base.str() + ", which this bundle ships");
    }
  }
  // A tag names one image; refs without a tag (pinned by digest) are told
  // apart by the manifest they pin.
  std::unordered_set<RefName, RefNameHash, CountingEqual> names(catalog.refs.size(), RefNameHash(),
                                                                equal);
  for (size_t i = 0; i < catalog.refs.size(); ++i) {
    const RefEntry& r = catalog.refs[i];
    std::string where = "ref " + std::to_string(i) + " (" + r.repository + ":" + r.tag + ")";
    SLUICE_RETURN_IF_ERROR(check_string(r.repository, where + " repository"));
    SLUICE_RETURN_IF_ERROR(check_string(r.tag, where + " tag"));
    SLUICE_RETURN_IF_ERROR(check_string(r.source, where + " source"));
    if (r.manifest.empty()) return fail(where + " names no manifest");
    auto listed = digests.find(r.manifest.str());
    if (listed == digests.end() || !listed->second) {
      return fail(where + " names " + r.manifest.str() +
                  ", which is not a manifest this bundle carries");
    }
    RefName name = r.tag.empty() ? RefName{r.repository, r.manifest.str(), true}
                                 : RefName{r.repository, r.tag, false};
    if (!names.insert(name).second) return fail(where + " is listed twice");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateCatalog(const Catalog& catalog, ErrorKind kind, CatalogValidationCost* cost) {
  return ValidateCatalogAt(catalog, kind, "catalog: ", cost);
}

Result<std::string> EncodeCatalog(const Catalog& catalog) {
  SLUICE_RETURN_IF_ERROR(ValidateCatalog(catalog, ErrorKind::kInvalidArgument));
  std::string out;
  PutU32(&out, static_cast<uint32_t>(catalog.refs.size()));
  for (const RefEntry& r : catalog.refs) {
    PutRecord(&out, [&] {
      PutString(&out, r.repository);
      PutString(&out, r.tag);
      PutString(&out, r.manifest.str());
      PutString(&out, r.source);
    });
  }
  PutU32(&out, static_cast<uint32_t>(catalog.manifests.size()));
  for (const ManifestEntry& m : catalog.manifests) {
    PutRecord(&out, [&] {
      PutString(&out, m.digest.str());
      PutString(&out, m.media_type);
      PutU8(&out, m.absent ? kManifestFlagAbsent : 0);
      PutString(&out, m.bytes);
    });
    if (out.size() + 8 > kMaxCatalogSize) break;  // refused below; stop growing
  }
  PutU32(&out, static_cast<uint32_t>(catalog.blobs.size()));
  for (const BlobEntry& b : catalog.blobs) {
    PutRecord(&out, [&] {
      PutString(&out, b.digest.str());
      PutU64(&out, b.size);
      PutString(&out, b.media_type);
      PutU8(&out, static_cast<uint8_t>((b.shipped ? kBlobFlagShipped : 0) |
                                       (b.delta ? kBlobFlagDelta : 0)));
      if (b.delta) PutBlobDelta(&out, *b.delta);
    });
  }
  if (out.size() + 8 > kMaxCatalogSize) {
    return Status::InvalidArgument("catalog: encodes to more than the limit of " +
                                   std::to_string(kMaxCatalogSize) + " bytes");
  }
  PutU64(&out, Xxh3(io::AsBytes(out)));
  return out;
}

Status CheckCatalogChecksum(io::ByteView bytes, uint64_t offset) {
  if (bytes.size() < kMinCatalogSize) {
    return Status::Corruption("catalog at offset " + std::to_string(offset) + ": only " +
                              std::to_string(bytes.size()) + " bytes");
  }
  io::ByteView body = bytes.first(bytes.size() - 8);
  return CompareCatalogChecksum(LoadU64(bytes.data() + body.size()), Xxh3(body), offset);
}

Status CompareCatalogChecksum(uint64_t stored, uint64_t computed, uint64_t offset) {
  if (stored != computed) {
    return Status::Corruption("catalog at offset " + std::to_string(offset) +
                              ": checksum mismatch (stored " + ChecksumText(stored) +
                              ", computed " + ChecksumText(computed) + ")");
  }
  return Status::Ok();
}

Status DecodeCatalog(io::ByteView bytes, uint64_t offset, Catalog* out) {
  SLUICE_RETURN_IF_ERROR(CheckCatalogChecksum(bytes, offset));
  return ParseCatalog(bytes, offset, out);
}

Status ParseCatalog(io::ByteView bytes, uint64_t offset, Catalog* out) {
  if (bytes.size() < kMinCatalogSize) {
    return Status::Corruption("catalog at offset " + std::to_string(offset) + ": only " +
                              std::to_string(bytes.size()) + " bytes");
  }
  io::ByteView body = bytes.first(bytes.size() - 8);
  CatalogParser in(body, offset);
  uint32_t count = 0;
  SLUICE_RETURN_IF_ERROR(in.Count(&count, kMinRefRecordSize, "ref_count"));
  out->refs.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    RefEntry& r = out->refs[i];
    std::string what = "ref " + std::to_string(i);
    SLUICE_RETURN_IF_ERROR(in.BeginRecord(what));
    SLUICE_RETURN_IF_ERROR(in.Bytes(&r.repository, kMaxStringSize, what + " repository"));
    SLUICE_RETURN_IF_ERROR(in.Bytes(&r.tag, kMaxStringSize, what + " tag"));
    SLUICE_RETURN_IF_ERROR(in.DigestField(&r.manifest, what + " manifest digest"));
    SLUICE_RETURN_IF_ERROR(in.Bytes(&r.source, kMaxStringSize, what + " source"));
    in.EndRecord();
  }
  SLUICE_RETURN_IF_ERROR(in.Count(&count, kMinManifestRecordSize, "manifest_count"));
  out->manifests.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    ManifestEntry& m = out->manifests[i];
    std::string what = "manifest " + std::to_string(i);
    SLUICE_RETURN_IF_ERROR(in.BeginRecord(what));
    SLUICE_RETURN_IF_ERROR(in.DigestField(&m.digest, what + " digest"));
    SLUICE_RETURN_IF_ERROR(in.Bytes(&m.media_type, kMaxStringSize, what + " media type"));
    uint64_t at = in.offset();
    uint8_t flags = 0;
    SLUICE_RETURN_IF_ERROR(in.U8(&flags, what + " flags"));
    if (flags & ~kManifestFlagAbsent) {
      return in.Error(what + " " + m.digest.str() + " has unknown flags " + std::to_string(flags),
                      at);
    }
    m.absent = (flags & kManifestFlagAbsent) != 0;
    SLUICE_RETURN_IF_ERROR(in.Bytes(&m.bytes, kMaxManifestSize, what + " bytes"));
    in.EndRecord();
  }
  SLUICE_RETURN_IF_ERROR(in.Count(&count, kMinBlobRecordSize, "blob_count"));
  out->blobs.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    BlobEntry& b = out->blobs[i];
    std::string what = "blob " + std::to_string(i);
    SLUICE_RETURN_IF_ERROR(in.BeginRecord(what));
    SLUICE_RETURN_IF_ERROR(in.DigestField(&b.digest, what + " digest"));
    SLUICE_RETURN_IF_ERROR(in.U64(&b.size, what + " size"));
    SLUICE_RETURN_IF_ERROR(in.Bytes(&b.media_type, kMaxStringSize, what + " media type"));
    uint64_t at = in.offset();
    uint8_t flags = 0;
    SLUICE_RETURN_IF_ERROR(in.U8(&flags, what + " flags"));
    if (flags & ~(kBlobFlagShipped | kBlobFlagDelta)) {
      return in.Error(what + " " + b.digest.str() + " has unknown flags " + std::to_string(flags),
                      at);
    }
    b.shipped = (flags & kBlobFlagShipped) != 0;
    if (flags & kBlobFlagDelta) {
      SLUICE_RETURN_IF_ERROR(ParseBlobDelta(in, what + " " + b.digest.str(), &b.delta.emplace()));
    }
    in.EndRecord();
  }
  if (in.remaining() != 0) {
    return in.Error(std::to_string(in.remaining()) + " unexpected bytes after the last blob",
                    in.offset());
  }
  return ValidateCatalogAt(*out, ErrorKind::kCorruption,
                           "catalog at offset " + std::to_string(offset) + ": ", nullptr);
}

std::string EncodeSignatureBlock(const SignatureBlock& block) {
  std::string out;
  PutU32(&out, block.algorithm);
  out.append(reinterpret_cast<const char*>(block.key_fingerprint.data()),
             block.key_fingerprint.size());
  out.append(reinterpret_cast<const char*>(block.signature.data()), block.signature.size());
  return out;
}

SignatureBlock DecodeSignatureBlock(io::ByteView bytes) {
  SignatureBlock block;
  block.algorithm = LoadU32(bytes.data());
  std::memcpy(block.key_fingerprint.data(), bytes.data() + 4, 32);
  std::memcpy(block.signature.data(), bytes.data() + 36, 64);
  return block;
}

std::string SignatureMessage(const std::array<uint8_t, 32>& header_and_catalog_sha256) {
  std::string message(kSignatureContext);
  message.append(reinterpret_cast<const char*>(header_and_catalog_sha256.data()),
                 header_and_catalog_sha256.size());
  return message;
}

}  // namespace sluice::format
