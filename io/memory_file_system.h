// An in-memory FileSystem for tests, with a crash simulation.
//
// Paths are strings, normalised before use: repeated and trailing slashes and
// "." components are dropped; ".." is not resolved. "/" and "." always exist
// as directories; everything else must be created (CreateDirs) before files
// go in it, as on disk.
//
// Durability follows what a POSIX file system promises, so tests can check
// that callers publish in the right order (LevelDB's fault_injection_test):
//   - a file's bytes are durable up to its last writer Sync();
//   - a file's existence under a name (creation, rename, removal) is durable
//     once its directory has been passed to SyncDir().
// DropUnsyncedData() then simulates a crash by throwing away everything else.
//
// Thread-safe. Readers and writers keep their file alive and may outlive the
// MemoryFileSystem.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "io/file.h"

namespace sluice::io {

class MemoryFileSystem final : public FileSystem {
 public:
  // FreeSpace() reports `capacity` minus the bytes stored. Writes are never
  // refused for lack of space: FaultInjectionFileSystem simulates a full disk.
  explicit MemoryFileSystem(uint64_t capacity = uint64_t{1} << 40);
  ~MemoryFileSystem() override;
  MemoryFileSystem(const MemoryFileSystem&) = delete;
  MemoryFileSystem& operator=(const MemoryFileSystem&) = delete;

  std::string_view name() const override { return "memory"; }
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
  // Locks are held in memory, by path, and are not files.
  Result<std::unique_ptr<FileLock>> Lock(const std::string& path,
                                         const LockOptions& options) override;

  // Simulates a crash and reboot: every file loses the bytes written after
  // its last Sync(), and every directory goes back to the entries it had at
  // its last SyncDir() (a directory never synced is empty; entries under a
  // directory that itself vanished go with it). Open readers and writers keep
  // working on files that may no longer have a name.
  void DropUnsyncedData();

  // The permission bits a file was created with; kNotFound if absent.
  Result<unsigned> Mode(const std::string& path);

  struct State;  // shared with open files; defined in the .cc

 private:
  std::shared_ptr<State> state_;
};

}  // namespace sluice::io
