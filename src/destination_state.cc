#include "destination_state.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/json_fields.h"
#include "json_document.h"
#include "sink/image_sink.h"

namespace sluice {
namespace {

constexpr std::string_view kFormatName = "sluice-destination-state";
constexpr uint64_t kFormatVersion = 1;
constexpr uint64_t kMaxStateFileSize = 64 * 1024;

}  // namespace

DestinationStateFile::DestinationStateFile(io::FileSystem* fs, std::string path)
    : fs_(fs), path_(std::move(path)) {}

Result<DestinationState> DestinationStateFile::Load() const {
  auto text = io::ReadSmallFile(fs_, path_, kMaxStateFileSize);
  if (!text.ok()) {
    if (text.status().IsNotFound()) return DestinationState{};
    return text.status();
  }
  SLUICE_ASSIGN_OR_RETURN(
      io::JsonDocument doc,
      ParseJsonDocument(*text, kFormatName, kFormatVersion, "destination state " + path_));
  DestinationState state;
  SLUICE_ASSIGN_OR_RETURN(state.ledger_id, doc.root().String("ledger_id"));
  SLUICE_ASSIGN_OR_RETURN(state.sequence, doc.root().Uint("sequence"));
  return state;
}

Status DestinationStateFile::Save(const DestinationState& state) const {
  nlohmann::ordered_json doc = {{"format", kFormatName},
                                {"version", kFormatVersion},
                                {"ledger_id", state.ledger_id},
                                {"sequence", state.sequence}};
  std::string text = io::DumpJson(doc, 1) + "\n";
  return io::WriteFileAtomically(fs_, path_, io::AsBytes(text))
      .WithContext("writing destination state " + path_);
}

Result<std::unique_ptr<io::FileLock>> DestinationStateFile::Lock(
    std::chrono::milliseconds wait) const {
  SLUICE_RETURN_IF_ERROR(fs_->CreateDirs(io::Dirname(path_)));
  auto lock = fs_->Lock(path_ + ".lock", {.wait = wait, .holder = io::LockHolder("sluice import")});
  if (!lock.ok() && lock.status().kind() == ErrorKind::kBusy) {
    return Status::Busy(lock.status().message() +
                        ": another import into the same destination is still running; let it "
                        "finish, or wait longer with --lock-timeout SECONDS");
  }
  // What a killed import left of its state file (it held this lock).
  if (lock.ok()) SLUICE_RETURN_IF_ERROR(io::RemoveStaleTempFiles(fs_, io::Dirname(path_)).status());
  return lock;
}

std::string LocalStatePath(const std::string& root) {
  return io::JoinPath(SluiceDir(root), "state.json");
}

std::string DefaultRegistryStatePath(const std::string& host, const std::string& prefix) {
  std::string base;
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && xdg[0] == '/') {
    base = xdg;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') {
    base = io::JoinPath(home, ".local/state");
  } else {
    return "";
  }
  // A port's colon is kept: file names may hold it.
  std::string name = prefix.empty() ? host : host + "/" + prefix;
  return io::JoinPath(io::JoinPath(base, "sluice/registries"), name + ".json");
}

}  // namespace sluice
