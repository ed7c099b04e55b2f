#include "ledger.h"

#include <openssl/rand.h>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
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
      if (c >= '0' && c <= '9') value |= c - '0';
      else if (c >= 'a' && c <= 'f') value |= c - 'a' + 10;
      else return false;
    }
    (*out)[i] = static_cast<uint8_t>(value);
  }
  return true;
}

Ledger::BundleRecord RecordFromJson(const json& b) {
  return {b.value("sequence", uint64_t{0}), b.value("bundle_id", ""),
          b.value("created_unix", uint64_t{0}), b.value("blobs", uint64_t{0})};
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
  auto bad = [&](const std::string& what) {
    return Status::Corruption("ledger " + path + " is not valid: " + what);
  };
  SLUICE_ASSIGN_OR_RETURN(json doc,
                          ParseJsonDocument(*text, kFormatName, kFormatVersion, "ledger " + path));
  Ledger ledger;
  if (!ParseHexId(doc.value("ledger_id", ""), &ledger.id_)) return bad("bad \"ledger_id\"");
  auto seq = doc.find("sequence");
  if (seq == doc.end() || !seq->is_number_unsigned()) return bad("bad \"sequence\"");
  ledger.sequence_ = seq->get<uint64_t>();
  auto blobs = doc.find("blobs");
  if (blobs == doc.end() || !blobs->is_object()) return bad("no \"blobs\" object");
  for (const auto& [digest, shipped_in] : blobs->items()) {
    if (!format::Digest::Parse(digest).ok() || !shipped_in.is_number_unsigned()) {
      return bad("bad blob entry '" + digest + "'");
    }
    ledger.blobs_.emplace(digest, shipped_in.get<uint64_t>());
  }
  for (const auto& b : doc.value("bundles", json::array())) {
    if (!b.is_object()) return bad("bad \"bundles\" entry");
    ledger.bundles_.push_back(RecordFromJson(b));
  }
  if (auto p = doc.find("pending"); p != doc.end()) {
    if (!p->is_object() || !p->value("output", json()).is_string() ||
        !p->value("shipped", json()).is_array()) {
      return bad("bad \"pending\" record");
    }
    PendingBundle pending{RecordFromJson(*p), (*p)["output"].get<std::string>(), {}};
    if (pending.record.sequence != ledger.sequence_ + 1) {
      return bad("\"pending\" record is for sequence " + std::to_string(pending.record.sequence) +
                 ", not " + std::to_string(ledger.sequence_ + 1));
    }
    for (const json& d : (*p)["shipped"]) {
      if (!d.is_string()) return bad("bad digest in \"pending\" record");
      auto digest = format::Digest::Parse(d.get<std::string>());
      if (!digest.ok()) return bad("bad digest in \"pending\" record");
      pending.shipped.push_back(*digest);
    }
    ledger.pending_ = std::move(pending);
  }
  return ledger;
}

Status Ledger::Save(io::FileSystem* fs, const std::string& path) const {
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
    pending["output"] = pending_->output_path;
    json shipped = json::array();
    for (const format::Digest& d : pending_->shipped) shipped.push_back(d.str());
    pending["shipped"] = std::move(shipped);
    doc["pending"] = std::move(pending);
  }
  std::string text = doc.dump(1) + "\n";
  return io::WriteFileAtomically(fs, path, io::AsBytes(text))
      .WithContext("writing ledger " + path);
}

void Ledger::RecordBundle(const format::BundleHeader& header,
                          const std::vector<format::Digest>& shipped) {
  sequence_ = header.sequence;
  for (const format::Digest& d : shipped) blobs_.emplace(d.str(), header.sequence);
  bundles_.push_back({header.sequence, format::HexEncode(header.bundle_id), header.created_unix,
                      shipped.size()});
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
