#include "ledger_file.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <span>

#include "format/checksum.h"
#include "format/endian.h"
#include "io/json_fields.h"
#include "json_document.h"

namespace sluice::ledger_file {
namespace {

using nlohmann::json;
using BlobRecord = Ledger::BlobRecord;

constexpr const char* kJsonFormatName = "sluice-ledger";
constexpr int kJsonFormatVersion = 1;
// Records are read and written through a buffer of about this size: a
// million of them never need a second copy of the whole vector.
constexpr size_t kChunkBytes = 1 << 20;

// Decodes lower-case hex into `out`, which it must fill exactly.
bool ParseHex(std::string_view hex, std::span<uint8_t> out) {
  if (hex.size() != out.size() * 2) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < out.size(); ++i) {
    int high = nibble(hex[2 * i]);
    int low = nibble(hex[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    out[i] = static_cast<uint8_t>(high << 4 | low);
  }
  return true;
}

Status Damaged(const std::string& path, const std::string& problem) {
  return Status::Corruption("ledger " + path + ": " + problem);
}

Result<format::Digest> DigestField(const io::JsonField& field) {
  SLUICE_ASSIGN_OR_RETURN(std::string text, field.AsString());
  auto digest = format::Digest::Parse(text);
  if (!digest.ok()) return field.Invalid("is not a digest: " + digest.status().message());
  return *digest;
}

Result<std::vector<Ledger::BundleImage>> ImagesFromJson(const io::JsonField& images) {
  SLUICE_ASSIGN_OR_RETURN(std::vector<io::JsonField> elements, images.Elements());
  std::vector<Ledger::BundleImage> out;
  out.reserve(elements.size());
  for (const io::JsonField& i : elements) {
    SLUICE_RETURN_IF_ERROR(i.ExpectObject());
    Ledger::BundleImage image;
    SLUICE_ASSIGN_OR_RETURN(image.ref, i.StringOr("ref", ""));
    SLUICE_ASSIGN_OR_RETURN(image.repository, i.StringOr("repository", ""));
    SLUICE_ASSIGN_OR_RETURN(image.tag, i.StringOr("tag", ""));
    SLUICE_ASSIGN_OR_RETURN(std::string digest, i.String("digest"));
    auto parsed = format::Digest::Parse(digest);
    if (!parsed.ok())
      return i.Invalid("has a digest that is not one: " + parsed.status().message());
    image.digest = *parsed;
    out.push_back(std::move(image));
  }
  return out;
}

Result<Ledger::BundleRecord> RecordFromJson(const io::JsonField& b) {
  Ledger::BundleRecord record;
  SLUICE_ASSIGN_OR_RETURN(record.sequence, b.UintOr("sequence", 0));
  SLUICE_ASSIGN_OR_RETURN(record.bundle_id, b.StringOr("bundle_id", ""));
  SLUICE_ASSIGN_OR_RETURN(record.created_unix, b.UintOr("created_unix", 0));
  SLUICE_ASSIGN_OR_RETURN(record.blobs, b.UintOr("blobs", 0));
  SLUICE_ASSIGN_OR_RETURN(record.confirmed_unix, b.UintOr("confirmed_unix", 0));
  SLUICE_ASSIGN_OR_RETURN(record.receipt_unix, b.UintOr("receipt_unix", 0));
  // Absent in records written before images were (ledger_file.h).
  SLUICE_ASSIGN_OR_RETURN(std::optional<io::JsonField> images, b.OptionalArray("images"));
  if (images) {
    SLUICE_ASSIGN_OR_RETURN(record.images, ImagesFromJson(*images));
  }
  return record;
}

Result<Ledger::PendingBundle> PendingFromJson(const io::JsonField& p, uint64_t sequence) {
  SLUICE_ASSIGN_OR_RETURN(Ledger::BundleRecord record, RecordFromJson(p));
  SLUICE_ASSIGN_OR_RETURN(std::string output, p.String("output"));
  Ledger::PendingBundle pending{record, std::move(output), {}};
  if (pending.record.sequence != sequence + 1) {
    return p.Invalid("is for sequence " + std::to_string(pending.record.sequence) + ", not " +
                     std::to_string(sequence + 1));
  }
  SLUICE_ASSIGN_OR_RETURN(io::JsonField shipped, p.Array("shipped"));
  SLUICE_ASSIGN_OR_RETURN(std::vector<io::JsonField> digests, shipped.Elements());
  for (const io::JsonField& d : digests) {
    SLUICE_ASSIGN_OR_RETURN(format::Digest digest, DigestField(d));
    pending.shipped.push_back(std::move(digest));
  }
  return pending;
}

json RecordToJson(const Ledger::BundleRecord& b) {
  json record = {{"sequence", b.sequence},
                 {"bundle_id", b.bundle_id},
                 {"created_unix", b.created_unix},
                 {"blobs", b.blobs}};
  // Only once confirmed (ledger_file.h): a ledger without receipts is
  // written as before them.
  if (b.confirmed()) {
    record["confirmed_unix"] = b.confirmed_unix;
    record["receipt_unix"] = b.receipt_unix;
  }
  if (b.images) {
    json images = json::array();
    for (const Ledger::BundleImage& i : *b.images) {
      images.push_back({{"ref", i.ref},
                        {"repository", i.repository},
                        {"tag", i.tag},
                        {"digest", i.digest.str()}});
    }
    record["images"] = std::move(images);
  }
  return record;
}

// Takes the id, sequence, bundles and pending record from the JSON both
// versions share.
Status ReadMetadata(const io::JsonField& root, const std::string& path, Contents* c) {
  SLUICE_ASSIGN_OR_RETURN(std::string id, root.String("ledger_id"));
  if (!ParseHex(id, c->id)) {
    return Damaged(
        path, "ledger_id is not " + std::to_string(c->id.size() * 2) + " lower-case hex digits");
  }
  SLUICE_ASSIGN_OR_RETURN(c->sequence, root.Uint("sequence"));
  SLUICE_ASSIGN_OR_RETURN(std::optional<io::JsonField> bundles, root.OptionalArray("bundles"));
  if (bundles) {
    SLUICE_ASSIGN_OR_RETURN(std::vector<io::JsonField> records, bundles->Elements());
    for (const io::JsonField& b : records) {
      SLUICE_RETURN_IF_ERROR(b.ExpectObject());
      SLUICE_ASSIGN_OR_RETURN(Ledger::BundleRecord record, RecordFromJson(b));
      c->bundles.push_back(std::move(record));
    }
  }
  SLUICE_ASSIGN_OR_RETURN(std::optional<io::JsonField> pending, root.OptionalObject("pending"));
  if (pending) {
    SLUICE_ASSIGN_OR_RETURN(c->pending, PendingFromJson(*pending, c->sequence));
  }
  return Status::Ok();
}

std::string MetadataJson(const Ledger& ledger) {
  json doc = json::object();
  doc["ledger_id"] = format::HexEncode(ledger.id());
  doc["sequence"] = ledger.sequence();
  json bundles = json::array();
  for (const Ledger::BundleRecord& b : ledger.bundles()) bundles.push_back(RecordToJson(b));
  doc["bundles"] = std::move(bundles);
  if (const auto& p = ledger.pending()) {
    json pending = RecordToJson(p->record);
    pending["output"] = p->output;
    json shipped = json::array();
    for (const format::Digest& d : p->shipped) shipped.push_back(d.str());
    pending["shipped"] = std::move(shipped);
    doc["pending"] = std::move(pending);
  }
  return io::DumpJson(doc);
}

// Reads exactly out.size() bytes at `offset`. A file that ends sooner
// changed since it was measured (everything is checked against its size
// first): damage, not an I/O failure.
Status ReadExactly(const io::PositionalReader& file, uint64_t offset, io::MutableBytes out,
                   const std::string& path) {
  Result<size_t> n = file.ReadAt(offset, out);
  if (!n.ok()) return n.status().WithContext("reading ledger " + path);
  if (*n != out.size()) {
    return Damaged(path, "ends at byte " + std::to_string(offset + *n) + ", " +
                             std::to_string(out.size() - *n) + " bytes short of what it said");
  }
  return Status::Ok();
}

// The fields of a version 2 header (ledger_file.h).
struct FileHeader {
  uint32_t version = 0;
  uint32_t header_size = 0;
  uint32_t record_size = 0;
  uint32_t reserved = 0;
  uint64_t record_count = 0;
  uint64_t metadata_size = 0;
};

FileHeader DecodeHeader(const uint8_t* p) {
  return {format::LoadU32(p + kVersionOffset),     format::LoadU32(p + kHeaderSizeOffset),
          format::LoadU32(p + kRecordSizeOffset),  format::LoadU32(p + kReservedOffset),
          format::LoadU64(p + kRecordCountOffset), format::LoadU64(p + kMetadataSizeOffset)};
}

std::string EncodeHeader(uint64_t record_count, uint64_t metadata_size) {
  std::string out(kMagic);
  format::PutU32(&out, kVersion);
  format::PutU32(&out, kHeaderSize);
  format::PutU32(&out, kRecordSize);
  format::PutU32(&out, 0);  // reserved
  format::PutU64(&out, record_count);
  format::PutU64(&out, metadata_size);
  return out;
}

// Checks what the header says against itself and the file's size, before
// anything is allocated on its word.
Status CheckHeader(const FileHeader& h, uint64_t file_size, const std::string& path) {
  auto field = [&](const char* name, uint64_t value, const std::string& expected) {
    return Damaged(path, std::string("header field ") + name + " is " + std::to_string(value) +
                             ", expected " + expected);
  };
  if (h.header_size < kHeaderSize || h.header_size > kMaxHeaderSize) {
    return field("header_size", h.header_size,
                 std::to_string(kHeaderSize) + " to " + std::to_string(kMaxHeaderSize));
  }
  if (h.record_size < kRecordSize || h.record_size > kMaxRecordSize) {
    return field("record_size", h.record_size,
                 std::to_string(kRecordSize) + " to " + std::to_string(kMaxRecordSize));
  }
  if (h.reserved != 0) return field("reserved", h.reserved, "0");
  if (h.metadata_size > kMaxMetadataSize) {
    return field("metadata_size", h.metadata_size, "at most " + std::to_string(kMaxMetadataSize));
  }
  // Every term is bounded (the count by the size limit), so the sum cannot wrap.
  if (h.record_count > kMaxFileSize / h.record_size) {
    return field("record_count", h.record_count, "a number that fits in the file");
  }
  const uint64_t expected =
      h.header_size + h.metadata_size + h.record_count * h.record_size + kChecksumSize;
  if (expected != file_size) {
    return Damaged(path, "its header accounts for " + std::to_string(expected) + " bytes (" +
                             std::to_string(h.record_count) + " records of " +
                             std::to_string(h.record_size) + " bytes, " +
                             std::to_string(h.metadata_size) + " bytes of metadata), but it has " +
                             std::to_string(file_size));
  }
  return Status::Ok();
}

// Reads [offset, offset + size) into `out` and adds it to `checksum`.
Status ReadRegion(const io::PositionalReader& file, uint64_t offset, std::string* out,
                  format::Xxh3Stream* checksum, const std::string& path) {
  io::MutableBytes bytes(reinterpret_cast<uint8_t*>(out->data()), out->size());
  SLUICE_RETURN_IF_ERROR(ReadExactly(file, offset, bytes, path));
  checksum->Update(bytes);
  return Status::Ok();
}

// Reads the records, from `offset` on, into `blobs`, chunk by chunk, adding
// their bytes to `checksum`. Fields past the ones known are skipped.
Status ReadRecords(const io::PositionalReader& file, const FileHeader& h, uint64_t offset,
                   std::vector<BlobRecord>* blobs, format::Xxh3Stream* checksum,
                   const std::string& path) {
  blobs->reserve(Ledger::CapacityFor(h.record_count));
  const uint64_t per_chunk = std::max<uint64_t>(1, kChunkBytes / h.record_size);
  std::string chunk;
  for (uint64_t done = 0; done < h.record_count;) {
    const uint64_t count = std::min(per_chunk, h.record_count - done);
    chunk.resize(count * h.record_size);
    SLUICE_RETURN_IF_ERROR(ReadRegion(file, offset, &chunk, checksum, path));
    const auto* p = reinterpret_cast<const uint8_t*>(chunk.data());
    for (uint64_t i = 0; i < count; ++i, p += h.record_size) {
      BlobRecord& r = blobs->emplace_back();
      std::memcpy(r.digest.data(), p, r.digest.size());
      r.sent_sequence = format::LoadU64(p + kSentSequenceOffset);
      r.delivered_sequence = format::LoadU64(p + kDeliveredSequenceOffset);
    }
    offset += chunk.size();
    done += count;
  }
  return Status::Ok();
}

// kCorruption naming the first record that is not after the one before it
// (out of order, or the same digest twice).
Status CheckOrder(const std::vector<BlobRecord>& blobs, uint64_t first_record_offset,
                  uint32_t record_size, const std::string& path) {
  for (size_t i = 1; i < blobs.size(); ++i) {
    if (BlobRecord::DigestLess(blobs[i - 1], blobs[i])) continue;
    return Damaged(
        path, "record " + std::to_string(i) + " (at byte " +
                  std::to_string(first_record_offset + i * record_size) + ", " +
                  format::Digest::FromRaw(blobs[i].digest).str() + ") " +
                  (BlobRecord::SameDigest(blobs[i - 1], blobs[i]) ? "repeats" : "sorts before") +
                  " record " + std::to_string(i - 1));
  }
  return Status::Ok();
}

// For a file of another version: damaged, unless the checksum every version
// ends with matches; only then is the version believed.
Status RefuseOtherVersion(const io::PositionalReader& file, uint32_t version,
                          const std::string& path) {
  // Called on files of at least a header and a checksum.
  const uint64_t size = file.Size();
  if (size <= kMaxFileSize) {
    format::Xxh3Stream checksum;
    std::string chunk;
    for (uint64_t offset = 0; offset < size - kChecksumSize; offset += chunk.size()) {
      chunk.resize(std::min<uint64_t>(kChunkBytes, size - kChecksumSize - offset));
      SLUICE_RETURN_IF_ERROR(ReadRegion(file, offset, &chunk, &checksum, path));
    }
    uint8_t stored[kChecksumSize];
    SLUICE_RETURN_IF_ERROR(ReadExactly(file, size - kChecksumSize, stored, path));
    if (format::LoadU64(stored) == checksum.Digest()) {
      return Status::Unsupported("ledger " + path + " is of version " + std::to_string(version) +
                                 "; this sluice reads versions 1 and " + std::to_string(kVersion) +
                                 ": use a newer sluice");
    }
  }
  return Damaged(path, "header field version is " + std::to_string(version) +
                           " and the checksum does not match: the file is damaged");
}

Result<Contents> ReadJson(const io::PositionalReader& file, const std::string& path) {
  if (file.Size() > kMaxJsonFileSize) {
    return Damaged(path, "starts without the magic \"" + std::string(kMagic) +
                             "\" and is too large (" + std::to_string(file.Size()) +
                             " bytes) for a ledger of version 1");
  }
  std::string text(file.Size(), '\0');
  SLUICE_RETURN_IF_ERROR(ReadExactly(
      file, 0, io::MutableBytes(reinterpret_cast<uint8_t*>(text.data()), text.size()), path));
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || text[first] != '{') {
    return Damaged(path, "is not a ledger: it starts neither with \"" + std::string(kMagic) +
                             "\" (version 2) nor with a JSON object (version 1)");
  }
  SLUICE_ASSIGN_OR_RETURN(
      io::JsonDocument doc,
      ParseJsonDocument(text, kJsonFormatName, kJsonFormatVersion, "ledger " + path));
  io::JsonField root = doc.root();
  Contents c;
  SLUICE_RETURN_IF_ERROR(ReadMetadata(root, path, &c));
  SLUICE_ASSIGN_OR_RETURN(io::JsonField blobs, root.Object("blobs"));
  SLUICE_ASSIGN_OR_RETURN(auto shipped_in, blobs.Members());
  c.blobs.reserve(Ledger::CapacityFor(shipped_in.size()));
  for (const auto& [digest, sequence] : shipped_in) {
    auto parsed = format::Digest::Parse(digest);
    if (!parsed.ok())
      return sequence.Invalid("is not keyed by a digest: " + parsed.status().message());
    SLUICE_ASSIGN_OR_RETURN(uint64_t sent, sequence.AsUint());
    c.blobs.push_back({*RawDigest(*parsed), sent, 0});
  }
  // A JSON object's keys are unique, and come sorted from the parser; sorted
  // here all the same, so the invariant does not rest on the JSON library.
  std::sort(c.blobs.begin(), c.blobs.end(), BlobRecord::DigestLess);
  c.blobs.erase(std::unique(c.blobs.begin(), c.blobs.end(), BlobRecord::SameDigest), c.blobs.end());
  return c;
}

Result<Contents> ReadBinary(const io::PositionalReader& file, const std::string& path) {
  const uint64_t size = file.Size();
  if (size < kHeaderSize + kChecksumSize) {
    return Damaged(path, "is " + std::to_string(size) + " bytes, shorter than the " +
                             std::to_string(kHeaderSize + kChecksumSize) + " of an empty ledger");
  }
  uint8_t fixed[kHeaderSize];
  SLUICE_RETURN_IF_ERROR(ReadExactly(file, 0, fixed, path));
  const FileHeader h = DecodeHeader(fixed);
  if (h.version != kVersion) return RefuseOtherVersion(file, h.version, path);
  if (size > kMaxFileSize) {
    return Damaged(path, "is " + std::to_string(size) + " bytes, more than the " +
                             std::to_string(kMaxFileSize) + " a ledger can be");
  }
  SLUICE_RETURN_IF_ERROR(CheckHeader(h, size, path));

  // The whole header again (with any fields a later version added), then
  // the metadata and the records, all through the checksum.
  format::Xxh3Stream checksum;
  std::string header(h.header_size, '\0');
  SLUICE_RETURN_IF_ERROR(ReadRegion(file, 0, &header, &checksum, path));
  std::string metadata(h.metadata_size, '\0');
  SLUICE_RETURN_IF_ERROR(ReadRegion(file, h.header_size, &metadata, &checksum, path));
  Contents c;
  const uint64_t records_offset = h.header_size + h.metadata_size;
  SLUICE_RETURN_IF_ERROR(ReadRecords(file, h, records_offset, &c.blobs, &checksum, path));
  uint8_t stored[kChecksumSize];
  SLUICE_RETURN_IF_ERROR(ReadExactly(file, size - kChecksumSize, stored, path));
  if (format::LoadU64(stored) != checksum.Digest()) {
    return Damaged(path, "checksum of bytes 0 to " + std::to_string(size - kChecksumSize) + " is " +
                             format::ChecksumText(checksum.Digest()) + ", but the file says " +
                             format::ChecksumText(format::LoadU64(stored)));
  }
  SLUICE_RETURN_IF_ERROR(CheckOrder(c.blobs, records_offset, h.record_size, path));
  SLUICE_ASSIGN_OR_RETURN(io::JsonDocument doc, io::ParseJson(metadata, "ledger " + path));
  SLUICE_RETURN_IF_ERROR(doc.root().ExpectObject());
  SLUICE_RETURN_IF_ERROR(ReadMetadata(doc.root(), path, &c));
  return c;
}

}  // namespace

std::optional<std::array<uint8_t, 32>> RawDigest(const format::Digest& digest) {
  std::array<uint8_t, 32> raw;
  if (digest.empty() || !ParseHex(digest.hex(), raw)) return std::nullopt;
  return raw;
}

Result<Contents> Read(const io::PositionalReader& file, const std::string& path) {
  std::string magic(std::min<uint64_t>(file.Size(), kMagic.size()), '\0');
  io::MutableBytes magic_bytes(reinterpret_cast<uint8_t*>(magic.data()), magic.size());
  SLUICE_RETURN_IF_ERROR(ReadExactly(file, 0, magic_bytes, path));
  if (magic == kMagic) return ReadBinary(file, path);
  return ReadJson(file, path);
}

Status Write(const Ledger& ledger, io::SequentialWriter* out) {
  const std::string metadata = MetadataJson(ledger);
  const std::vector<BlobRecord>& blobs = ledger.blobs();
  format::Xxh3Stream checksum;
  auto append = [&](io::ByteView bytes) {
    checksum.Update(bytes);
    return out->Append(bytes);
  };
  const std::string header = EncodeHeader(blobs.size(), metadata.size());
  // Header, metadata, the records and the 8-byte checksum trailer.
  out->Reserve(header.size() + metadata.size() + blobs.size() * kRecordSize + 8);
  SLUICE_RETURN_IF_ERROR(append(io::AsBytes(header)));
  SLUICE_RETURN_IF_ERROR(append(io::AsBytes(metadata)));
  constexpr size_t kPerChunk = kChunkBytes / kRecordSize;
  std::vector<uint8_t> chunk;
  for (size_t first = 0; first < blobs.size(); first += kPerChunk) {
    const size_t count = std::min(kPerChunk, blobs.size() - first);
    chunk.resize(count * kRecordSize);
    uint8_t* p = chunk.data();
    for (size_t i = first; i < first + count; ++i, p += kRecordSize) {
      std::memcpy(p, blobs[i].digest.data(), blobs[i].digest.size());
      format::StoreU64(p + kSentSequenceOffset, blobs[i].sent_sequence);
      format::StoreU64(p + kDeliveredSequenceOffset, blobs[i].delivered_sequence);
    }
    SLUICE_RETURN_IF_ERROR(append(chunk));
  }
  std::string trailer;
  format::PutU64(&trailer, checksum.Digest());
  return out->Append(io::AsBytes(trailer));
}

}  // namespace sluice::ledger_file
