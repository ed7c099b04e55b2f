// A FileSystem for tests that forwards to another one and injects failures:
// a disk that fills up after N bytes, or the Nth rename, fsync or other call
// failing. It also counts calls. Tests use it to check what callers leave
// behind when I/O fails ("a failed export leaves the ledger as it was").
//
// A failing call does nothing: the base file system never sees it, except
// that a failing Close() still closes the base file (as close(2) does) and
// a write that overflows the limit writes the bytes that fit (as write(2)
// does on a filling disk). A writer or reader that has failed keeps
// returning that error, as the real ones do.
//
// Thread-safe. Does not own `base`, which must outlive this object and every
// file opened through it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "io/file.h"

namespace sluice::io {

class FaultInjectionFileSystem final : public FileSystem {
 public:
  // The calls that can be counted and made to fail.
  enum class Op {
    kNewWriter,
    kAppend,
    kSync,       // SequentialWriter::Sync
    kClose,      // SequentialWriter::Close
    kNewReader,  // NewSequentialReader and NewPositionalReader
    kRead,       // SequentialReader::Read and PositionalReader::ReadAt
    kStat,
    kCreateDirs,
    kListDir,
    kRename,
    kRemove,
    kSyncDir,
    kOverwrite,
    kFreeSpace,
  };
  static constexpr int kOpCount = static_cast<int>(Op::kFreeSpace) + 1;

  explicit FaultInjectionFileSystem(FileSystem* base);
  ~FaultInjectionFileSystem() override;
  FaultInjectionFileSystem(const FaultInjectionFileSystem&) = delete;
  FaultInjectionFileSystem& operator=(const FaultInjectionFileSystem&) = delete;

  // Like a disk with `bytes` free: once that many more bytes have been
  // appended through writers of this file system (all files together), an
  // append writes what still fits and fails with kNoSpace, and so does every
  // append after it.
  void FailWritesAfter(uint64_t bytes);
  // The `n`th call of `op` from now on (1 = the next one) fails with `kind`;
  // the others succeed. Replaces an earlier rule for the same op.
  void FailNth(Op op, uint64_t n, ErrorKind kind = ErrorKind::kIoError);
  // Every call of `op` from now on fails with `kind`.
  void FailAlways(Op op, ErrorKind kind = ErrorKind::kIoError);
  // Removes every rule and the write limit; counts are kept.
  void ClearFailures();

  // Calls of `op` so far, failed ones included.
  uint64_t Count(Op op) const;
  // Bytes appended to the base file system so far.
  uint64_t BytesWritten() const;

  std::string_view name() const override;
  Result<std::unique_ptr<SequentialWriter>> NewWriter(const std::string& path,
                                                      const WriterOptions& options = {}) override;
  Result<std::unique_ptr<SequentialReader>> NewSequentialReader(const std::string& path) override;
  Result<std::unique_ptr<PositionalReader>> NewPositionalReader(const std::string& path) override;
  Result<FileInfo> Stat(const std::string& path) override;
  Status CreateDirs(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  Status OverwriteAt(const std::string& path, uint64_t offset, ByteView data) override;
  Result<uint64_t> FreeSpace(const std::string& path) override;
  Result<std::unique_ptr<FileLock>> Lock(const std::string& path,
                                         const LockOptions& options) override;

  struct State;  // shared with open files; defined in the .cc

 private:
  FileSystem* const base_;
  std::shared_ptr<State> state_;
};

}  // namespace sluice::io
