#include "ledger.h"

#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <span>

#include "format/checksum.h"
#include "format/endian.h"
#include "io/atomic_file.h"
#include "io/json_fields.h"
#include "json_document.h"

namespace sluice {
namespace {

using nlohmann::json;
using BlobRecord = Ledger::BlobRecord;
using RawDigest = std::array<uint8_t, 32>;
namespace lf = ledger_file;

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

// The raw bytes of a digest; nullopt for an empty (default) one, the only
// kind of format::Digest that is not "sha256:" and 64 hex digits.
std::optional<RawDigest> ToRaw(const format::Digest& digest) {
  RawDigest raw;
  if (digest.empty() || !ParseHex(digest.hex(), raw)) return std::nullopt;
  return raw;
}

bool DigestLess(const BlobRecord& a, const BlobRecord& b) { return a.digest < b.digest; }
bool SameDigest(const BlobRecord& a, const BlobRecord& b) { return a.digest == b.digest; }

const BlobRecord* FindRaw(const std::vector<BlobRecord>& blobs, const RawDigest& raw) {
  auto it = std::lower_bound(blobs.begin(), blobs.end(), raw,
                             [](const BlobRecord& r, const RawDigest& d) { return r.digest < d; });
  return it != blobs.end() && it->digest == raw ? &*it : nullptr;
}

// Spare room for the blobs of the next bundles, so that recording one
// (a handful of blobs, most of the time) does not copy the whole vector
// and, for the moment of the copy, hold it twice.
size_t WithHeadroom(size_t count) { return count + count / 64 + 1024; }

// Merges `added` (sorted, no digest in `blobs`) into `blobs` (sorted) in
// place, from the back: each record moves at most once, no second vector.
void MergeSorted(std::vector<BlobRecord>* blobs, const std::vector<BlobRecord>& added) {
  if (added.empty()) return;
  const size_t old_size = blobs->size();
  const size_t new_size = old_size + added.size();
  if (blobs->capacity() < new_size) blobs->reserve(WithHeadroom(new_size));
  blobs->resize(new_size);
  auto old_end = blobs->begin() + static_cast<ptrdiff_t>(old_size);
  auto out = blobs->end();
  auto next = added.end();
  while (next != added.begin()) {
    if (old_end != blobs->begin() && DigestLess(*(next - 1), *(old_end - 1))) {
      *--out = *--old_end;
    } else {
      *--out = *--next;
    }
  }
}

Result<Ledger::BundleRecord> RecordFromJson(const io::JsonField& b) {
  Ledger::BundleRecord record;
  SLUICE_ASSIGN_OR_RETURN(record.sequence, b.UintOr("sequence", 0));
  SLUICE_ASSIGN_OR_RETURN(record.bundle_id, b.StringOr("bundle_id", ""));
  SLUICE_ASSIGN_OR_RETURN(record.created_unix, b.UintOr("created_unix", 0));
  SLUICE_ASSIGN_OR_RETURN(record.blobs, b.UintOr("blobs", 0));
  SLUICE_ASSIGN_OR_RETURN(record.confirmed_unix, b.UintOr("confirmed_unix", 0));
  SLUICE_ASSIGN_OR_RETURN(record.receipt_unix, b.UintOr("receipt_unix", 0));
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
    SLUICE_ASSIGN_OR_RETURN(std::string text, d.AsString());
    auto digest = format::Digest::Parse(text);
    if (!digest.ok()) return d.Invalid("is not a digest: " + digest.status().message());
    pending.shipped.push_back(*digest);
  }
  return pending;
}

// Takes the lock file `lock_path` of the ledger at `path` at once, or says
// who holds it and what to do.
Result<std::unique_ptr<io::FileLock>> TakeLock(io::FileSystem* fs, const std::string& path,
                                               const std::string& lock_path, std::string_view who) {
  auto lock =
      fs->Lock(lock_path, {.wait = std::chrono::milliseconds(0), .holder = io::LockHolder(who)});
  if (lock.ok()) return lock;
  const Status& s = lock.status();
  if (s.kind() == ErrorKind::kBusy) {
    return Status::Busy("ledger " + path + " is in use: " + s.message() +
                        "; run this again once that has finished");
  }
  if (s.IsNotFound()) {
    return Status::NotFound("cannot use ledger " + path + ": directory " + io::Dirname(lock_path) +
                            " does not exist; create it first");
  }
  return s.WithContext("locking ledger " + path);
}

json RecordToJson(const Ledger::BundleRecord& b) {
  json record = {{"sequence", b.sequence},
                 {"bundle_id", b.bundle_id},
                 {"created_unix", b.created_unix},
                 {"blobs", b.blobs}};
  // Only once confirmed (ledger.h): a ledger without receipts is written as
  // before them.
  if (b.confirmed()) {
    record["confirmed_unix"] = b.confirmed_unix;
    record["receipt_unix"] = b.receipt_unix;
  }
  return record;
}

Status Damaged(const std::string& path, const std::string& problem) {
  return Status::Corruption("ledger " + path + ": " + problem);
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

// The fields of a version 2 header (ledger.h).
struct FileHeader {
  uint32_t version = 0;
  uint32_t header_size = 0;
  uint32_t record_size = 0;
  uint32_t reserved = 0;
  uint64_t record_count = 0;
  uint64_t metadata_size = 0;
};

FileHeader DecodeHeader(const uint8_t* p) {
  return {
      format::LoadU32(p + lf::kVersionOffset),     format::LoadU32(p + lf::kHeaderSizeOffset),
      format::LoadU32(p + lf::kRecordSizeOffset),  format::LoadU32(p + lf::kReservedOffset),
      format::LoadU64(p + lf::kRecordCountOffset), format::LoadU64(p + lf::kMetadataSizeOffset)};
}

std::string EncodeHeader(uint64_t record_count, uint64_t metadata_size) {
  std::string out(lf::kMagic);
  format::PutU32(&out, lf::kVersion);
  format::PutU32(&out, lf::kHeaderSize);
  format::PutU32(&out, lf::kRecordSize);
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
  if (h.header_size < lf::kHeaderSize || h.header_size > lf::kMaxHeaderSize) {
    return field("header_size", h.header_size,
                 std::to_string(lf::kHeaderSize) + " to " + std::to_string(lf::kMaxHeaderSize));
  }
  if (h.record_size < lf::kRecordSize || h.record_size > lf::kMaxRecordSize) {
    return field("record_size", h.record_size,
                 std::to_string(lf::kRecordSize) + " to " + std::to_string(lf::kMaxRecordSize));
  }
  if (h.reserved != 0) return field("reserved", h.reserved, "0");
  if (h.metadata_size > lf::kMaxMetadataSize) {
    return field("metadata_size", h.metadata_size,
                 "at most " + std::to_string(lf::kMaxMetadataSize));
  }
  // Every term is bounded (the count by the size limit), so the sum cannot wrap.
  if (h.record_count > lf::kMaxFileSize / h.record_size) {
    return field("record_count", h.record_count, "a number that fits in the file");
  }
  const uint64_t expected =
      h.header_size + h.metadata_size + h.record_count * h.record_size + lf::kChecksumSize;
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
  blobs->reserve(WithHeadroom(h.record_count));
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
      r.sent_sequence = format::LoadU64(p + lf::kSentSequenceOffset);
      r.delivered_sequence = format::LoadU64(p + lf::kDeliveredSequenceOffset);
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
    if (DigestLess(blobs[i - 1], blobs[i])) continue;
    return Damaged(path, "record " + std::to_string(i) + " (at byte " +
                             std::to_string(first_record_offset + i * record_size) + ", " +
                             format::Digest::FromRaw(blobs[i].digest).str() + ") " +
                             (SameDigest(blobs[i - 1], blobs[i]) ? "repeats" : "sorts before") +
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
  if (size <= lf::kMaxFileSize) {
    format::Xxh3Stream checksum;
    std::string chunk;
    for (uint64_t offset = 0; offset < size - lf::kChecksumSize; offset += chunk.size()) {
      chunk.resize(std::min<uint64_t>(kChunkBytes, size - lf::kChecksumSize - offset));
      SLUICE_RETURN_IF_ERROR(ReadRegion(file, offset, &chunk, &checksum, path));
    }
    uint8_t stored[lf::kChecksumSize];
    SLUICE_RETURN_IF_ERROR(ReadExactly(file, size - lf::kChecksumSize, stored, path));
    if (format::LoadU64(stored) == checksum.Digest()) {
      return Status::Unsupported("ledger " + path + " is of version " + std::to_string(version) +
                                 "; this sluice reads versions 1 and " +
                                 std::to_string(lf::kVersion) + ": use a newer sluice");
    }
  }
  return Damaged(path, "header field version is " + std::to_string(version) +
                           " and the checksum does not match: the file is damaged");
}

}  // namespace

Ledger Ledger::Create() {
  Ledger ledger;
  RAND_bytes(ledger.id_.data(), static_cast<int>(ledger.id_.size()));
  return ledger;
}

Result<Ledger> Ledger::Load(io::FileSystem* fs, const std::string& path) {
  auto file = fs->NewPositionalReader(path);
  if (!file.ok()) {
    if (file.status().IsNotFound()) return Create();
    return file.status().WithContext("reading ledger " + path);
  }
  const io::PositionalReader& reader = **file;
  std::string magic(std::min<uint64_t>(reader.Size(), lf::kMagic.size()), '\0');
  io::MutableBytes magic_bytes(reinterpret_cast<uint8_t*>(magic.data()), magic.size());
  SLUICE_RETURN_IF_ERROR(ReadExactly(reader, 0, magic_bytes, path));
  if (magic == lf::kMagic) return LoadBinary(reader, path);
  return LoadJson(reader, path);
}

Result<Ledger> Ledger::LoadJson(const io::PositionalReader& file, const std::string& path) {
  if (file.Size() > lf::kMaxJsonFileSize) {
    return Damaged(path, "starts without the magic \"" + std::string(lf::kMagic) +
                             "\" and is too large (" + std::to_string(file.Size()) +
                             " bytes) for a ledger of version 1");
  }
  std::string text(file.Size(), '\0');
  SLUICE_RETURN_IF_ERROR(ReadExactly(
      file, 0, io::MutableBytes(reinterpret_cast<uint8_t*>(text.data()), text.size()), path));
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || text[first] != '{') {
    return Damaged(path, "is not a ledger: it starts neither with \"" + std::string(lf::kMagic) +
                             "\" (version 2) nor with a JSON object (version 1)");
  }
  SLUICE_ASSIGN_OR_RETURN(
      io::JsonDocument doc,
      ParseJsonDocument(text, kJsonFormatName, kJsonFormatVersion, "ledger " + path));
  io::JsonField root = doc.root();
  Ledger ledger;
  SLUICE_RETURN_IF_ERROR(ledger.ReadMetadata(root, path));
  SLUICE_ASSIGN_OR_RETURN(io::JsonField blobs, root.Object("blobs"));
  SLUICE_ASSIGN_OR_RETURN(auto shipped_in, blobs.Members());
  ledger.blobs_.reserve(WithHeadroom(shipped_in.size()));
  for (const auto& [digest, sequence] : shipped_in) {
    auto parsed = format::Digest::Parse(digest);
    if (!parsed.ok())
      return sequence.Invalid("is not keyed by a digest: " + parsed.status().message());
    SLUICE_ASSIGN_OR_RETURN(uint64_t sent, sequence.AsUint());
    ledger.blobs_.push_back({*ToRaw(*parsed), sent, 0});
  }
  // A JSON object's keys are unique, and come sorted from the parser; sorted
  // here all the same, so the invariant does not rest on the JSON library.
  std::sort(ledger.blobs_.begin(), ledger.blobs_.end(), DigestLess);
  ledger.blobs_.erase(std::unique(ledger.blobs_.begin(), ledger.blobs_.end(), SameDigest),
                      ledger.blobs_.end());
  return ledger;
}

Result<Ledger> Ledger::LoadBinary(const io::PositionalReader& file, const std::string& path) {
  const uint64_t size = file.Size();
  if (size < lf::kHeaderSize + lf::kChecksumSize) {
    return Damaged(path, "is " + std::to_string(size) + " bytes, shorter than the " +
                             std::to_string(lf::kHeaderSize + lf::kChecksumSize) +
                             " of an empty ledger");
  }
  uint8_t fixed[lf::kHeaderSize];
  SLUICE_RETURN_IF_ERROR(ReadExactly(file, 0, fixed, path));
  const FileHeader h = DecodeHeader(fixed);
  if (h.version != lf::kVersion) return RefuseOtherVersion(file, h.version, path);
  if (size > lf::kMaxFileSize) {
    return Damaged(path, "is " + std::to_string(size) + " bytes, more than the " +
                             std::to_string(lf::kMaxFileSize) + " a ledger can be");
  }
  SLUICE_RETURN_IF_ERROR(CheckHeader(h, size, path));

  // The whole header again (with any fields a later version added), then
  // the metadata and the records, all through the checksum.
  format::Xxh3Stream checksum;
  std::string header(h.header_size, '\0');
  SLUICE_RETURN_IF_ERROR(ReadRegion(file, 0, &header, &checksum, path));
  std::string metadata(h.metadata_size, '\0');
  SLUICE_RETURN_IF_ERROR(ReadRegion(file, h.header_size, &metadata, &checksum, path));
  Ledger ledger;
  const uint64_t records_offset = h.header_size + h.metadata_size;
  SLUICE_RETURN_IF_ERROR(ReadRecords(file, h, records_offset, &ledger.blobs_, &checksum, path));
  uint8_t stored[lf::kChecksumSize];
  SLUICE_RETURN_IF_ERROR(ReadExactly(file, size - lf::kChecksumSize, stored, path));
  if (format::LoadU64(stored) != checksum.Digest()) {
    return Damaged(path, "checksum of bytes 0 to " + std::to_string(size - lf::kChecksumSize) +
                             " is " + format::ChecksumText(checksum.Digest()) +
                             ", but the file says " +
                             format::ChecksumText(format::LoadU64(stored)));
  }
  SLUICE_RETURN_IF_ERROR(CheckOrder(ledger.blobs_, records_offset, h.record_size, path));
  SLUICE_ASSIGN_OR_RETURN(io::JsonDocument doc, io::ParseJson(metadata, "ledger " + path));
  SLUICE_RETURN_IF_ERROR(doc.root().ExpectObject());
  SLUICE_RETURN_IF_ERROR(ledger.ReadMetadata(doc.root(), path));
  return ledger;
}

Status Ledger::ReadMetadata(const io::JsonField& root, const std::string& path) {
  SLUICE_ASSIGN_OR_RETURN(std::string id, root.String("ledger_id"));
  if (!ParseHex(id, id_)) {
    return Damaged(path,
                   "ledger_id is not " + std::to_string(id_.size() * 2) + " lower-case hex digits");
  }
  SLUICE_ASSIGN_OR_RETURN(sequence_, root.Uint("sequence"));
  SLUICE_ASSIGN_OR_RETURN(std::optional<io::JsonField> bundles, root.OptionalArray("bundles"));
  if (bundles) {
    SLUICE_ASSIGN_OR_RETURN(std::vector<io::JsonField> records, bundles->Elements());
    for (const io::JsonField& b : records) {
      SLUICE_RETURN_IF_ERROR(b.ExpectObject());
      SLUICE_ASSIGN_OR_RETURN(BundleRecord record, RecordFromJson(b));
      bundles_.push_back(std::move(record));
    }
  }
  SLUICE_ASSIGN_OR_RETURN(std::optional<io::JsonField> pending, root.OptionalObject("pending"));
  if (pending) {
    SLUICE_ASSIGN_OR_RETURN(pending_, PendingFromJson(*pending, sequence_));
  }
  return Status::Ok();
}

Result<std::string> Ledger::LockPath(io::FileSystem* fs, const std::string& path) {
  SLUICE_ASSIGN_OR_RETURN(std::string real, io::FollowSymlinks(fs, path));
  return real + ".lock";
}

Result<Ledger> Ledger::LoadLocked(io::FileSystem* fs, const std::string& path,
                                  std::string_view who) {
  SLUICE_ASSIGN_OR_RETURN(std::string lock_path, LockPath(fs, path));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<io::FileLock> lock, TakeLock(fs, path, lock_path, who));
  // Read only once the lock is held: what another run saved before letting
  // go is what this one builds on.
  SLUICE_ASSIGN_OR_RETURN(Ledger ledger, Load(fs, path));
  ledger.lock_ = std::move(lock);
  ledger.lock_path_ = std::move(lock_path);
  return ledger;
}

Status Ledger::Save(io::FileSystem* fs, const std::string& path) const {
  SLUICE_ASSIGN_OR_RETURN(std::string lock_path, LockPath(fs, path));
  std::unique_ptr<io::FileLock> lock_for_this_write;
  if (!lock_ || lock_path != lock_path_) {
    SLUICE_ASSIGN_OR_RETURN(lock_for_this_write, TakeLock(fs, path, lock_path, "sluice"));
  }
  return WriteBinary(fs, path).WithContext("writing ledger " + path);
}

std::string Ledger::MetadataJson() const {
  json doc = json::object();
  doc["ledger_id"] = format::HexEncode(id_);
  doc["sequence"] = sequence_;
  json bundles = json::array();
  for (const BundleRecord& b : bundles_) bundles.push_back(RecordToJson(b));
  doc["bundles"] = std::move(bundles);
  if (pending_) {
    json pending = RecordToJson(pending_->record);
    pending["output"] = pending_->output;
    json shipped = json::array();
    for (const format::Digest& d : pending_->shipped) shipped.push_back(d.str());
    pending["shipped"] = std::move(shipped);
    doc["pending"] = std::move(pending);
  }
  return doc.dump();
}

// Streams the file through one chunk buffer: saving a million blobs costs
// 1 MiB besides the ledger itself.
Status Ledger::WriteBinary(io::FileSystem* fs, const std::string& path) const {
  const std::string metadata = MetadataJson();
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<io::AtomicFile> file, io::AtomicFile::Create(fs, path));
  format::Xxh3Stream checksum;
  auto append = [&](io::ByteView bytes) {
    checksum.Update(bytes);
    return file->writer()->Append(bytes);
  };
  SLUICE_RETURN_IF_ERROR(append(io::AsBytes(EncodeHeader(blobs_.size(), metadata.size()))));
  SLUICE_RETURN_IF_ERROR(append(io::AsBytes(metadata)));
  constexpr size_t kPerChunk = kChunkBytes / lf::kRecordSize;
  std::vector<uint8_t> chunk;
  for (size_t first = 0; first < blobs_.size(); first += kPerChunk) {
    const size_t count = std::min(kPerChunk, blobs_.size() - first);
    chunk.resize(count * lf::kRecordSize);
    uint8_t* p = chunk.data();
    for (size_t i = first; i < first + count; ++i, p += lf::kRecordSize) {
      std::memcpy(p, blobs_[i].digest.data(), blobs_[i].digest.size());
      format::StoreU64(p + lf::kSentSequenceOffset, blobs_[i].sent_sequence);
      format::StoreU64(p + lf::kDeliveredSequenceOffset, blobs_[i].delivered_sequence);
    }
    SLUICE_RETURN_IF_ERROR(append(chunk));
  }
  std::string trailer;
  format::PutU64(&trailer, checksum.Digest());
  SLUICE_RETURN_IF_ERROR(file->writer()->Append(io::AsBytes(trailer)));
  return file->Commit();
}

const Ledger::BlobRecord* Ledger::Find(const format::Digest& digest) const {
  std::optional<RawDigest> raw = ToRaw(digest);
  return raw ? FindRaw(blobs_, *raw) : nullptr;
}

Ledger::BlobRecord* Ledger::FindMutable(const format::Digest& digest) {
  return const_cast<BlobRecord*>(Find(digest));
}

std::optional<uint64_t> Ledger::SentSequence(const format::Digest& digest) const {
  const BlobRecord* record = Find(digest);
  if (record == nullptr) return std::nullopt;
  return record->sent_sequence;
}

std::optional<Ledger::BlobRecord> Ledger::Record(const format::Digest& digest) const {
  const BlobRecord* record = Find(digest);
  if (record == nullptr) return std::nullopt;
  return *record;
}

size_t Ledger::delivered_count() const {
  return static_cast<size_t>(std::count_if(blobs_.begin(), blobs_.end(), [](const BlobRecord& r) {
    return r.delivered_sequence != 0;
  }));
}

const Ledger::BundleRecord* Ledger::FindBundle(uint64_t sequence) const {
  for (const BundleRecord& b : bundles_) {
    if (b.sequence == sequence) return &b;
  }
  return nullptr;
}

Ledger::Delivery Ledger::MarkDelivered(const std::vector<format::Digest>& digests,
                                       uint64_t sequence) {
  std::vector<format::Digest> unique = digests;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  Delivery delivery;
  for (const format::Digest& d : unique) {
    BlobRecord* record = FindMutable(d);
    if (record == nullptr) {
      ++delivery.not_held;
    } else if (record->delivered_sequence != 0 && record->delivered_sequence <= sequence) {
      ++delivery.already;
    } else {
      // Not confirmed yet, or only by a later bundle's receipt: the earliest
      // bundle known to have delivered it is this one.
      record->delivered_sequence = sequence;
      ++delivery.marked;
    }
  }
  return delivery;
}

bool Ledger::ConfirmBundle(uint64_t sequence, uint64_t confirmed_unix, uint64_t receipt_unix) {
  for (BundleRecord& b : bundles_) {
    if (b.sequence != sequence) continue;
    if (b.confirmed()) return false;
    b.confirmed_unix = std::max<uint64_t>(confirmed_unix, 1);
    b.receipt_unix = receipt_unix;
    return true;
  }
  return false;
}

void Ledger::AddBlobs(const std::vector<format::Digest>& digests, uint64_t sequence) {
  std::vector<BlobRecord> added;
  added.reserve(digests.size());
  for (const format::Digest& d : digests) {
    std::optional<RawDigest> raw = ToRaw(d);
    if (raw && FindRaw(blobs_, *raw) == nullptr) added.push_back({*raw, sequence, 0});
  }
  std::sort(added.begin(), added.end(), DigestLess);
  added.erase(std::unique(added.begin(), added.end(), SameDigest), added.end());
  MergeSorted(&blobs_, added);
}

void Ledger::RecordBundle(const format::BundleHeader& header,
                          const std::vector<format::Digest>& shipped) {
  sequence_ = header.sequence;
  AddBlobs(shipped, header.sequence);
  bundles_.push_back(
      {header.sequence, format::HexEncode(header.bundle_id), header.created_unix, shipped.size()});
  pending_.reset();
}

void Ledger::CommitPending() {
  if (!pending_) return;
  sequence_ = pending_->record.sequence;
  AddBlobs(pending_->shipped, sequence_);
  bundles_.push_back(pending_->record);
  pending_.reset();
}

// A blob already recorded keeps its record (who shipped it, and whether a
// receipt confirmed it); both lists are sorted, so one walk pairs them up.
void Ledger::ReplaceBlobs(const std::vector<format::Digest>& held) {
  std::vector<BlobRecord> blobs;
  blobs.reserve(WithHeadroom(held.size()));
  for (const format::Digest& d : held) {
    if (std::optional<RawDigest> raw = ToRaw(d)) blobs.push_back({*raw, sequence_, 0});
  }
  std::sort(blobs.begin(), blobs.end(), DigestLess);
  blobs.erase(std::unique(blobs.begin(), blobs.end(), SameDigest), blobs.end());
  auto known = blobs_.begin();
  for (BlobRecord& b : blobs) {
    known = std::lower_bound(known, blobs_.end(), b, DigestLess);
    if (known != blobs_.end() && SameDigest(*known, b)) b = *known;
  }
  blobs_ = std::move(blobs);
}

}  // namespace sluice
