#include "ledger.h"

#include <openssl/rand.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/json_fields.h"
#include "json_document.h"

namespace sluice {
namespace {

using nlohmann::json;

constexpr const char* kFormatName = "sluice-ledger";
constexpr int kFormatVersion = 1;
// A ledger of a million blobs is ~100 MiB of JSON; anything larger is not ours.
constexpr uint64_t kMaxLedgerSize = 1ull << 30;

bool ParseHexId(const std::string& hex, format::LedgerId* out) {
  if (hex.size() != out->size() * 2) return false;
  for (size_t i = 0; i < out->size(); ++i) {
    unsigned value = 0;
    for (char c : hex.substr(i * 2, 2)) {
      value <<= 4;
      if (c >= '0' && c <= '9')
        value |= c - '0';
      else if (c >= 'a' && c <= 'f')
        value |= c - 'a' + 10;
      else
        return false;
    }
    (*out)[i] = static_cast<uint8_t>(value);
  }
  return true;
}

Result<Ledger::BundleRecord> RecordFromJson(const io::JsonField& b) {
  Ledger::BundleRecord record;
  SLUICE_ASSIGN_OR_RETURN(record.sequence, b.UintOr("sequence", 0));
  SLUICE_ASSIGN_OR_RETURN(record.bundle_id, b.StringOr("bundle_id", ""));
  SLUICE_ASSIGN_OR_RETURN(record.created_unix, b.UintOr("created_unix", 0));
  SLUICE_ASSIGN_OR_RETURN(record.blobs, b.UintOr("blobs", 0));
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
  return {{"sequence", b.sequence},
          {"bundle_id", b.bundle_id},
          {"created_unix", b.created_unix},
          {"blobs", b.blobs}};
}

}  // namespace

Ledger Ledger::Create() {
  Ledger ledger;
  RAND_bytes(ledger.id_.data(), static_cast<int>(ledger.id_.size()));
  return ledger;
}

Result<Ledger> Ledger::Load(io::FileSystem* fs, const std::string& path) {
  auto text = io::ReadSmallFile(fs, path, kMaxLedgerSize);
  if (!text.ok()) {
    if (text.status().IsNotFound()) return Create();
    return text.status().WithContext("reading ledger " + path);
  }
  SLUICE_ASSIGN_OR_RETURN(io::JsonDocument doc,
                          ParseJsonDocument(*text, kFormatName, kFormatVersion, "ledger " + path));
  io::JsonField root = doc.root();
  Ledger ledger;
  SLUICE_ASSIGN_OR_RETURN(std::string id, root.String("ledger_id"));
  if (!ParseHexId(id, &ledger.id_)) {
    return Status::Corruption("ledger " + path + ": ledger_id is not " +
                              std::to_string(ledger.id_.size() * 2) + " lower-case hex digits");
  }
  SLUICE_ASSIGN_OR_RETURN(ledger.sequence_, root.Uint("sequence"));
  SLUICE_ASSIGN_OR_RETURN(io::JsonField blobs, root.Object("blobs"));
  SLUICE_ASSIGN_OR_RETURN(auto shipped_in, blobs.Members());
  for (const auto& [digest, sequence] : shipped_in) {
    auto parsed = format::Digest::Parse(digest);
    if (!parsed.ok())
      return sequence.Invalid("is not keyed by a digest: " + parsed.status().message());
    SLUICE_ASSIGN_OR_RETURN(uint64_t in, sequence.AsUint());
    ledger.blobs_.emplace(digest, in);
  }
  SLUICE_ASSIGN_OR_RETURN(std::optional<io::JsonField> bundles, root.OptionalArray("bundles"));
  if (bundles) {
    SLUICE_ASSIGN_OR_RETURN(std::vector<io::JsonField> records, bundles->Elements());
    for (const io::JsonField& b : records) {
      SLUICE_RETURN_IF_ERROR(b.ExpectObject());
      SLUICE_ASSIGN_OR_RETURN(BundleRecord record, RecordFromJson(b));
      ledger.bundles_.push_back(std::move(record));
    }
  }
  SLUICE_ASSIGN_OR_RETURN(std::optional<io::JsonField> pending, root.OptionalObject("pending"));
  if (pending) {
    SLUICE_ASSIGN_OR_RETURN(ledger.pending_, PendingFromJson(*pending, ledger.sequence_));
  }
  return ledger;
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
  json doc = json::object();
  doc["format"] = kFormatName;
  doc["version"] = kFormatVersion;
  doc["ledger_id"] = format::HexEncode(id_);
  doc["sequence"] = sequence_;
  json bundles = json::array();
  for (const BundleRecord& b : bundles_) bundles.push_back(RecordToJson(b));
  doc["bundles"] = std::move(bundles);
  doc["blobs"] = blobs_;
  if (pending_) {
    json pending = RecordToJson(pending_->record);
    pending["output"] = pending_->output;
    json shipped = json::array();
    for (const format::Digest& d : pending_->shipped) shipped.push_back(d.str());
    pending["shipped"] = std::move(shipped);
    doc["pending"] = std::move(pending);
  }
  std::string text = doc.dump(1) + "\n";
  return io::WriteFileAtomically(fs, path, io::AsBytes(text)).WithContext("writing ledger " + path);
}

void Ledger::RecordBundle(const format::BundleHeader& header,
                          const std::vector<format::Digest>& shipped) {
  sequence_ = header.sequence;
  for (const format::Digest& d : shipped) blobs_.emplace(d.str(), header.sequence);
  bundles_.push_back(
      {header.sequence, format::HexEncode(header.bundle_id), header.created_unix, shipped.size()});
  pending_.reset();
}

void Ledger::CommitPending() {
  if (!pending_) return;
  sequence_ = pending_->record.sequence;
  for (const format::Digest& d : pending_->shipped) blobs_.emplace(d.str(), sequence_);
  bundles_.push_back(pending_->record);
  pending_.reset();
}

void Ledger::ReplaceBlobs(const std::vector<format::Digest>& held) {
  std::map<std::string, uint64_t> blobs;
  for (const format::Digest& d : held) {
    auto known = blobs_.find(d.str());
    blobs.emplace(d.str(), known != blobs_.end() ? known->second : sequence_);
  }
  blobs_ = std::move(blobs);
}

}  // namespace sluice
