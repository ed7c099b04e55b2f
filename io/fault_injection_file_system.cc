#include "io/fault_injection_file_system.h"

#include <algorithm>
#include <array>
#include <mutex>
#include <utility>

namespace sluice::io {

namespace {

using Op = FaultInjectionFileSystem::Op;

std::string_view OpName(Op op) {
  switch (op) {
    case Op::kNewWriter:
      return "open for writing";
    case Op::kAppend:
      return "write";
    case Op::kSync:
      return "fsync";
    case Op::kClose:
      return "close";
    case Op::kNewReader:
      return "open for reading";
    case Op::kRead:
      return "read";
    case Op::kStat:
      return "stat";
    case Op::kCreateDirs:
      return "create directory";
    case Op::kListDir:
      return "list directory";
    case Op::kRename:
      return "rename";
    case Op::kRemove:
      return "remove";
    case Op::kSyncDir:
      return "sync directory";
    case Op::kOverwrite:
      return "overwrite";
    case Op::kFreeSpace:
      return "measure free space of";
  }
  return "unknown operation";
}

Status MakeStatus(ErrorKind kind, std::string msg) {
  return Status::FromKind(kind, std::move(msg));
}

}  // namespace

struct FaultInjectionFileSystem::State {
  struct Rule {
    bool armed = false;
    bool always = false;
    uint64_t fail_at = 0;  // the value of the op's count that fails
    ErrorKind kind = ErrorKind::kIoError;
  };

  // Counts a call of `op` on `what` and returns the injected failure, if any.
  Status Check(Op op, std::string_view what) {
    std::lock_guard<std::mutex> lock(mu);
    const auto i = static_cast<size_t>(op);
    uint64_t count = ++counts[i];
    Rule& rule = rules[i];
    if (!rule.armed || (!rule.always && count != rule.fail_at)) return Status::Ok();
    if (!rule.always) rule.armed = false;
    return MakeStatus(rule.kind, std::string(OpName(op)) + " " + std::string(what) +
                                     ": injected failure (call " + std::to_string(count) + ")");
  }

  // How many of `wanted` bytes may still be written under the limit.
  uint64_t Reserve(uint64_t wanted) {
    std::lock_guard<std::mutex> lock(mu);
    uint64_t allowed = limited ? std::min(wanted, budget) : wanted;
    if (limited) budget -= allowed;
    written += allowed;
    return allowed;
  }

  mutable std::mutex mu;
  std::array<uint64_t, kOpCount> counts{};
  std::array<Rule, kOpCount> rules{};
  bool limited = false;
  uint64_t budget = 0;  // bytes that may still be written, when limited
  uint64_t written = 0;
};

namespace {

using State = FaultInjectionFileSystem::State;

class FaultWriter final : public SequentialWriter {
 public:
  FaultWriter(std::shared_ptr<State> state, std::unique_ptr<SequentialWriter> base,
              std::string name)
      : state_(std::move(state)), base_(std::move(base)), name_(std::move(name)) {}

  Status Append(ByteView data) override {
    SLUICE_RETURN_IF_ERROR(status_);
    SLUICE_RETURN_IF_ERROR(Fail(state_->Check(Op::kAppend, name_)));
    uint64_t allowed = state_->Reserve(data.size());
    if (allowed > 0) SLUICE_RETURN_IF_ERROR(Fail(base_->Append(data.first(allowed))));
    if (allowed < data.size()) {
      return Fail(Status::NoSpace("write " + name_ +
                                  ": No space left on device (injected: write limit reached)"));
    }
    return Status::Ok();
  }
  Status Sync() override {
    SLUICE_RETURN_IF_ERROR(status_);
    SLUICE_RETURN_IF_ERROR(Fail(state_->Check(Op::kSync, name_)));
    return Fail(base_->Sync());
  }
  Status Close() override {
    Status injected = state_->Check(Op::kClose, name_);
    Status closed = base_->Close();
    if (!status_.ok()) return status_;
    return Fail(!injected.ok() ? injected : closed);
  }
  uint64_t Size() const override { return base_->Size(); }
  void Reserve(uint64_t bytes) override { base_->Reserve(bytes); }

 private:
  Status Fail(Status s) {
    if (!s.ok() && status_.ok()) status_ = s;
    return s;
  }

  std::shared_ptr<State> state_;
  std::unique_ptr<SequentialWriter> base_;
  const std::string name_;
  Status status_;
};

class FaultSequentialReader final : public SequentialReader {
 public:
  FaultSequentialReader(std::shared_ptr<State> state, std::unique_ptr<SequentialReader> base)
      : state_(std::move(state)), base_(std::move(base)) {}

  Result<size_t> Read(MutableBytes buf) override {
    SLUICE_RETURN_IF_ERROR(status_);
    Status injected = state_->Check(Op::kRead, base_->name());
    if (!injected.ok()) {
      status_ = injected;
      return injected;
    }
    Result<size_t> n = base_->Read(buf);
    if (!n.ok()) status_ = n.status();
    return n;
  }
  const std::string& name() const override { return base_->name(); }

 private:
  std::shared_ptr<State> state_;
  std::unique_ptr<SequentialReader> base_;
  Status status_;
};

// Positional reads are independent, so a failed ReadAt does not break the
// reader: only the injected call fails.
class FaultPositionalReader final : public PositionalReader {
 public:
  FaultPositionalReader(std::shared_ptr<State> state, std::unique_ptr<PositionalReader> base)
      : state_(std::move(state)), base_(std::move(base)) {}

  Result<size_t> ReadAt(uint64_t offset, MutableBytes buf) const override {
    SLUICE_RETURN_IF_ERROR(
        state_->Check(Op::kRead, "offset " + std::to_string(offset) + " of " + base_->name()));
    return base_->ReadAt(offset, buf);
  }
  uint64_t Size() const override { return base_->Size(); }
  const std::string& name() const override { return base_->name(); }

 private:
  std::shared_ptr<State> state_;
  std::unique_ptr<PositionalReader> base_;
};

}  // namespace

FaultInjectionFileSystem::FaultInjectionFileSystem(FileSystem* base)
    : base_(base), state_(std::make_shared<State>()) {}

FaultInjectionFileSystem::~FaultInjectionFileSystem() = default;

void FaultInjectionFileSystem::FailWritesAfter(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->limited = true;
  state_->budget = bytes;
}

void FaultInjectionFileSystem::FailNth(Op op, uint64_t n, ErrorKind kind) {
  std::lock_guard<std::mutex> lock(state_->mu);
  const auto i = static_cast<size_t>(op);
  state_->rules[i] = {
      .armed = n > 0, .always = false, .fail_at = state_->counts[i] + n, .kind = kind};
}

void FaultInjectionFileSystem::FailAlways(Op op, ErrorKind kind) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->rules[static_cast<size_t>(op)] = {
      .armed = true, .always = true, .fail_at = 0, .kind = kind};
}

void FaultInjectionFileSystem::ClearFailures() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->rules = {};
  state_->limited = false;
}

uint64_t FaultInjectionFileSystem::Count(Op op) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->counts[static_cast<size_t>(op)];
}

uint64_t FaultInjectionFileSystem::BytesWritten() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->written;
}

std::string_view FaultInjectionFileSystem::name() const { return base_->name(); }

Result<std::unique_ptr<SequentialWriter>> FaultInjectionFileSystem::NewWriter(
    const std::string& path, const WriterOptions& options) {
  SLUICE_RETURN_IF_ERROR(state_->Check(Op::kNewWriter, path));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<SequentialWriter> base, base_->NewWriter(path, options));
  return std::unique_ptr<SequentialWriter>(new FaultWriter(state_, std::move(base), path));
}

Result<std::unique_ptr<SequentialReader>> FaultInjectionFileSystem::NewSequentialReader(
    const std::string& path) {
  SLUICE_RETURN_IF_ERROR(state_->Check(Op::kNewReader, path));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<SequentialReader> base, base_->NewSequentialReader(path));
  return std::unique_ptr<SequentialReader>(new FaultSequentialReader(state_, std::move(base)));
}

Result<std::unique_ptr<PositionalReader>> FaultInjectionFileSystem::NewPositionalReader(
    const std::string& path) {
  SLUICE_RETURN_IF_ERROR(state_->Check(Op::kNewReader, path));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<PositionalReader> base, base_->NewPositionalReader(path));
  return std::unique_ptr<PositionalReader>(new FaultPositionalReader(state_, std::move(base)));
}

Result<FileInfo> FaultInjectionFileSystem::Stat(const std::string& path) {
  SLUICE_RETURN_IF_ERROR(state_->Check(Op::kStat, path));
  return base_->Stat(path);
}

Status FaultInjectionFileSystem::CreateDirs(const std::string& path) {
  SLUICE_RETURN_IF_ERROR(state_->Check(Op::kCreateDirs, path));
  return base_->CreateDirs(path);
}

Result<std::vector<std::string>> FaultInjectionFileSystem::ListDir(const std::string& path) {
  SLUICE_RETURN_IF_ERROR(state_->Check(Op::kListDir, path));
  return base_->ListDir(path);
}

Status FaultInjectionFileSystem::Rename(const std::string& from, const std::string& to) {
  SLUICE_RETURN_IF_ERROR(state_->Check(Op::kRename, from + " to " + to));
  return base_->Rename(from, to);
}

Status FaultInjectionFileSystem::Remove(const std::string& path) {
  SLUICE_RETURN_IF_ERROR(state_->Check(Op::kRemove, path));
  return base_->Remove(path);
}

Status FaultInjectionFileSystem::OverwriteAt(const std::string& path, uint64_t offset,
                                             ByteView data) {
  SLUICE_RETURN_IF_ERROR(state_->Check(Op::kOverwrite, path));
  return base_->OverwriteAt(path, offset, data);
}

Status FaultInjectionFileSystem::SyncDir(const std::string& path) {
  SLUICE_RETURN_IF_ERROR(state_->Check(Op::kSyncDir, path));
  return base_->SyncDir(path);
}

Result<uint64_t> FaultInjectionFileSystem::FreeSpace(const std::string& path) {
  SLUICE_RETURN_IF_ERROR(state_->Check(Op::kFreeSpace, path));
  SLUICE_ASSIGN_OR_RETURN(uint64_t free, base_->FreeSpace(path));
  std::lock_guard<std::mutex> lock(state_->mu);
  // A full disk looks full to a free-space check too.
  return state_->limited ? std::min(free, state_->budget) : free;
}

Result<std::unique_ptr<FileLock>> FaultInjectionFileSystem::Lock(const std::string& path,
                                                                const LockOptions& options) {
  return base_->Lock(path, options);
}

}  // namespace sluice::io
