#include "io/crash_file_system.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace sluice::io {
namespace {

uint64_t EnvNumber(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::numeric_limits<uint64_t>::max();
  return std::strtoull(value, nullptr, 10);
}

[[noreturn]] void Die() {
  // SIGKILL, as a power cut or the OOM killer would: no destructor runs, no
  // temp file is removed, no buffer is flushed.
  ::kill(::getpid(), SIGKILL);
  std::abort();  // not reached
}

struct Budget {
  uint64_t crash_after_bytes;
  uint64_t crash_before_rename;
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> renames{0};
};

class CrashWriter final : public SequentialWriter {
 public:
  CrashWriter(std::unique_ptr<SequentialWriter> base, Budget* budget)
      : base_(std::move(base)), budget_(budget) {}

  Status Append(ByteView data) override {
    uint64_t before = budget_->bytes.fetch_add(data.size());
    if (before + data.size() > budget_->crash_after_bytes) {
      uint64_t fits = budget_->crash_after_bytes > before ? budget_->crash_after_bytes - before : 0;
      if (fits > 0) (void)base_->Append(data.first(fits));
      // The bytes that fit may sit in a buffer; a crash loses those too,
      // but give them their chance to reach the kernel.
      (void)base_->Sync();
      Die();
    }
    return base_->Append(data);
  }
  Status Sync() override { return base_->Sync(); }
  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }
  void Reserve(uint64_t bytes) override { base_->Reserve(bytes); }

 private:
  std::unique_ptr<SequentialWriter> base_;
  Budget* budget_;
};

class CrashFileSystem final : public FileSystem {
 public:
  CrashFileSystem(FileSystem* base, Budget* budget) : base_(base), budget_(budget) {}

  std::string_view name() const override { return base_->name(); }
  Result<std::unique_ptr<SequentialWriter>> NewWriter(const std::string& path,
                                                      const WriterOptions& options) override {
    SLUICE_ASSIGN_OR_RETURN(auto writer, base_->NewWriter(path, options));
    return std::unique_ptr<SequentialWriter>(
        std::make_unique<CrashWriter>(std::move(writer), budget_));
  }
  Result<std::unique_ptr<SequentialReader>> NewSequentialReader(const std::string& path) override {
    return base_->NewSequentialReader(path);
  }
  Result<std::unique_ptr<PositionalReader>> NewPositionalReader(const std::string& path) override {
    return base_->NewPositionalReader(path);
  }
  Result<FileInfo> Stat(const std::string& path) override { return base_->Stat(path); }
  Status CreateDirs(const std::string& path) override { return base_->CreateDirs(path); }
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }
  Status Rename(const std::string& from, const std::string& to) override {
    uint64_t n = budget_->renames.fetch_add(1) + 1;
    std::fprintf(stderr, "sluice-test-crash: rename %llu after %llu bytes: %s -> %s\n",
                 static_cast<unsigned long long>(n),
                 static_cast<unsigned long long>(budget_->bytes.load()), from.c_str(), to.c_str());
    std::fflush(stderr);
    if (n == budget_->crash_before_rename) Die();
    return base_->Rename(from, to);
  }
  Status Remove(const std::string& path) override { return base_->Remove(path); }
  Status SyncDir(const std::string& path) override { return base_->SyncDir(path); }
  Status OverwriteAt(const std::string& path, uint64_t offset, ByteView data) override {
    return base_->OverwriteAt(path, offset, data);
  }
  Result<uint64_t> FreeSpace(const std::string& path) override { return base_->FreeSpace(path); }
  Result<std::unique_ptr<FileLock>> Lock(const std::string& path,
                                         const LockOptions& options) override {
    return base_->Lock(path, options);
  }

 private:
  FileSystem* base_;
  Budget* budget_;
};

}  // namespace

FileSystem* WrapForCrashTests(FileSystem* base) {
  uint64_t bytes = EnvNumber("SLUICE_TEST_CRASH_AFTER_BYTES");
  uint64_t rename = EnvNumber("SLUICE_TEST_CRASH_BEFORE_RENAME");
  if (bytes == std::numeric_limits<uint64_t>::max() &&
      rename == std::numeric_limits<uint64_t>::max()) {
    return base;
  }
  // Lives as long as the process: DefaultFileSystem() is never destroyed.
  static Budget budget{bytes, rename};
  static CrashFileSystem fs(base, &budget);
  return &fs;
}

}  // namespace sluice::io
