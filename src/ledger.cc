#include "ledger.h"

#include <openssl/rand.h>

#include <algorithm>
#include <chrono>

#include "io/atomic_file.h"
#include "ledger_file.h"

namespace sluice {
namespace {

using BlobRecord = Ledger::BlobRecord;
using RawDigest = std::array<uint8_t, 32>;

const BlobRecord* FindRaw(const std::vector<BlobRecord>& blobs, const RawDigest& raw) {
  auto it = std::lower_bound(blobs.begin(), blobs.end(), raw,
                             [](const BlobRecord& r, const RawDigest& d) { return r.digest < d; });
  return it != blobs.end() && it->digest == raw ? &*it : nullptr;
}

// Merges `added` (sorted, no digest in `blobs`) into `blobs` (sorted) in
// place, from the back: each record moves at most once, no second vector.
void MergeSorted(std::vector<BlobRecord>* blobs, const std::vector<BlobRecord>& added) {
  if (added.empty()) return;
  const size_t old_size = blobs->size();
  const size_t new_size = old_size + added.size();
  if (blobs->capacity() < new_size) blobs->reserve(Ledger::CapacityFor(new_size));
  blobs->resize(new_size);
  auto old_end = blobs->begin() + static_cast<ptrdiff_t>(old_size);
  auto out = blobs->end();
  auto next = added.end();
  while (next != added.begin()) {
    if (old_end != blobs->begin() && BlobRecord::DigestLess(*(next - 1), *(old_end - 1))) {
      *--out = *--old_end;
    } else {
      *--out = *--next;
    }
  }
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

}  // namespace

Ledger Ledger::Create() {
  Ledger ledger;
  RAND_bytes(ledger.id_.data(), static_cast<int>(ledger.id_.size()));
  return ledger;
}

Ledger::Ledger(ledger_file::Contents&& contents)
    : id_(contents.id),
      sequence_(contents.sequence),
      blobs_(std::move(contents.blobs)),
      bundles_(std::move(contents.bundles)),
      pending_(std::move(contents.pending)) {}

Result<Ledger> Ledger::Load(io::FileSystem* fs, const std::string& path) {
  auto file = fs->NewPositionalReader(path);
  if (!file.ok()) {
    if (file.status().IsNotFound()) return Create();
    return file.status().WithContext("reading ledger " + path);
  }
  SLUICE_ASSIGN_OR_RETURN(ledger_file::Contents contents, ledger_file::Read(**file, path));
  return Ledger(std::move(contents));
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
  auto publish = [&]() -> Status {
    SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<io::AtomicFile> file, io::AtomicFile::Create(fs, path));
    SLUICE_RETURN_IF_ERROR(ledger_file::Write(*this, file->writer()));
    return file->Commit();
  };
  return publish().WithContext("writing ledger " + path);
}

const Ledger::BlobRecord* Ledger::Find(const format::Digest& digest) const {
  std::optional<RawDigest> raw = ledger_file::RawDigest(digest);
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
    std::optional<RawDigest> raw = ledger_file::RawDigest(d);
    if (raw && FindRaw(blobs_, *raw) == nullptr) added.push_back({*raw, sequence, 0});
  }
  std::sort(added.begin(), added.end(), BlobRecord::DigestLess);
  added.erase(std::unique(added.begin(), added.end(), BlobRecord::SameDigest), added.end());
  MergeSorted(&blobs_, added);
}

std::vector<Ledger::BundleImage> Ledger::ImagesOf(const format::Catalog& catalog) {
  std::vector<BundleImage> images;
  images.reserve(catalog.refs.size());
  for (const format::RefEntry& ref : catalog.refs) {
    images.push_back({ref.source, ref.repository, ref.tag, ref.manifest});
  }
  return images;
}

void Ledger::RecordBundle(const format::BundleHeader& header,
                          const std::vector<format::Digest>& shipped,
                          std::optional<std::vector<BundleImage>> images) {
  sequence_ = header.sequence;
  AddBlobs(shipped, header.sequence);
  BundleRecord record;
  record.sequence = header.sequence;
  record.bundle_id = format::HexEncode(header.bundle_id);
  record.created_unix = header.created_unix;
  record.blobs = shipped.size();
  record.images = std::move(images);
  bundles_.push_back(std::move(record));
  pending_.reset();
  ForgetOldImages();
}

void Ledger::CommitPending() {
  if (!pending_) return;
  sequence_ = pending_->record.sequence;
  AddBlobs(pending_->shipped, sequence_);
  bundles_.push_back(std::move(pending_->record));
  pending_.reset();
  ForgetOldImages();
}

void Ledger::ForgetOldImages() {
  if (bundles_.size() <= kBundlesWithImages) return;
  for (size_t i = 0; i < bundles_.size() - kBundlesWithImages; ++i) bundles_[i].images.reset();
}

// A blob already recorded keeps its record (who shipped it, and whether a
// receipt confirmed it); both lists are sorted, so one walk pairs them up.
void Ledger::ReplaceBlobs(const std::vector<format::Digest>& held) {
  std::vector<BlobRecord> blobs;
  blobs.reserve(CapacityFor(held.size()));
  for (const format::Digest& d : held) {
    if (std::optional<RawDigest> raw = ledger_file::RawDigest(d)) blobs.push_back({*raw, sequence_, 0});
  }
  std::sort(blobs.begin(), blobs.end(), BlobRecord::DigestLess);
  blobs.erase(std::unique(blobs.begin(), blobs.end(), BlobRecord::SameDigest), blobs.end());
  auto known = blobs_.begin();
  for (BlobRecord& b : blobs) {
    known = std::lower_bound(known, blobs_.end(), b, BlobRecord::DigestLess);
    if (known != blobs_.end() && BlobRecord::SameDigest(*known, b)) b = *known;
  }
  blobs_ = std::move(blobs);
}

}  // namespace sluice
