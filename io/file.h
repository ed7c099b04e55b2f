// The I/O layer: the only place sluice touches files. It knows bytes and
// paths, nothing about OCI or bundles.
//
// Three small file types and a FileSystem that makes them. Implementations:
//   - io_uring (default; several large reads and writes in flight),
//   - posix pread/pwrite (used when io_uring cannot be set up, or SLUICE_IO=posix),
//   - in memory (tests), and a fault-injecting wrapper (tests).
// Callers never know which one runs.
//
// Errors: every method maps errno to a Status in one place. ENOSPC and EDQUOT
// become kNoSpace; ENOENT becomes kNotFound; EEXIST kAlreadyExists; EPIPE
// (the reader of a pipe, FIFO or socket went away; SIGPIPE must be ignored
// for a write to return it) kBrokenPipe; anything else kIoError. Messages
// name the path.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/status.h"

namespace sluice::io {

using ByteView = std::span<const uint8_t>;
using MutableBytes = std::span<uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Writes a file front to back. Not thread-safe. Owns its descriptor.
class SequentialWriter {
 public:
  virtual ~SequentialWriter() = default;
  SequentialWriter(const SequentialWriter&) = delete;
  SequentialWriter& operator=(const SequentialWriter&) = delete;

  // Appends `data`. The writer may keep it in a buffer or in flight; it is
  // durable only after Sync() returns OK. After an error the writer is broken
  // and every later call returns that error.
  virtual Status Append(ByteView data) = 0;
  // Writes out everything appended so far and fsyncs the file.
  virtual Status Sync() = 0;
  // Writes out everything appended and closes. Idempotent. The destructor
  // closes too, but cannot report errors: call Close().
  virtual Status Close() = 0;
  // Bytes accepted by Append so far.
  virtual uint64_t Size() const = 0;
  // A hint, before the first Append: the file will grow to about `bytes`.
  // A file writer may reserve that space now, so that its writes need not
  // extend the file one by one; the file still ends at the size appended.
  virtual void Reserve(uint64_t /*bytes*/) {}

 protected:
  SequentialWriter() = default;
};

// Reads a file (or a pipe) front to back. Not thread-safe.
class SequentialReader {
 public:
  virtual ~SequentialReader() = default;
  SequentialReader(const SequentialReader&) = delete;
  SequentialReader& operator=(const SequentialReader&) = delete;

  // Reads up to buf.size() bytes into buf. Returns the count read; fewer than
  // asked only at end of input, and 0 exactly at end of input.
  virtual Result<size_t> Read(MutableBytes buf) = 0;
  // A name for messages: the path, or "<stdin>".
  virtual const std::string& name() const = 0;

 protected:
  SequentialReader() = default;
};

// Reads at any offset. Safe to call from several threads at once.
class PositionalReader {
 public:
  virtual ~PositionalReader() = default;
  PositionalReader(const PositionalReader&) = delete;
  PositionalReader& operator=(const PositionalReader&) = delete;

  // Reads up to buf.size() bytes at `offset`. Fewer only at end of file.
  virtual Result<size_t> ReadAt(uint64_t offset, MutableBytes buf) const = 0;
  virtual uint64_t Size() const = 0;
  virtual const std::string& name() const = 0;

 protected:
  PositionalReader() = default;
};

struct WriterOptions {
  bool exclusive = false;  // fail with kAlreadyExists if the file exists
  unsigned mode = 0644;    // permission bits for a new file (e.g. 0600 for keys)
};

// An exclusive lock, held until the object is destroyed (or its process
// ends, however it ends: the kernel lets go of it).
class FileLock {
 public:
  virtual ~FileLock() = default;
};

struct LockOptions {
  // How long to wait for the holder to let go; zero: fail at once.
  std::chrono::milliseconds wait{0};
  // Who is taking the lock ("sluice export, pid 42"): kept in the lock file
  // while it is held, so that whoever waits in vain can be told.
  std::string holder;
};

struct FileInfo {
  uint64_t size = 0;
  bool is_directory = false;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // "io_uring", "posix" or "memory": for diagnostics only.
  virtual std::string_view name() const = 0;

  // Creates (or truncates, unless options.exclusive) the file at path.
  virtual Result<std::unique_ptr<SequentialWriter>> NewWriter(const std::string& path,
                                                              const WriterOptions& options = {}) = 0;
  virtual Result<std::unique_ptr<SequentialReader>> NewSequentialReader(const std::string& path) = 0;
  virtual Result<std::unique_ptr<PositionalReader>> NewPositionalReader(const std::string& path) = 0;

  // kNotFound if nothing is at path.
  virtual Result<FileInfo> Stat(const std::string& path) = 0;
  // Creates path and missing parents; OK if it already is a directory.
  virtual Status CreateDirs(const std::string& path) = 0;
  // Names (not paths) of the entries of a directory, sorted.
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  // Atomically replaces `to` with `from` (rename(2)).
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // Removes a file, or an empty directory. kNotFound if absent.
  virtual Status Remove(const std::string& path) = 0;
  // fsyncs a directory so renames and creations in it are durable.
  virtual Status SyncDir(const std::string& path) = 0;
  // Overwrites data.size() bytes of the existing file at path, from
  // `offset` (which must leave them inside the file), and makes the file
  // durable (fsync). For a field a sequential writer could not know when it
  // passed it: the volume count of a bundle cut into volumes.
  virtual Status OverwriteAt(const std::string& path, uint64_t offset, ByteView data) = 0;
  // Bytes available to an unprivileged writer on the filesystem holding path
  // (path, or its nearest existing ancestor).
  virtual Result<uint64_t> FreeSpace(const std::string& path) = 0;
  // Takes an exclusive advisory lock on the file at path (flock(2) on the
  // real file systems), creating it if missing; its directory must exist.
  // Only other takers of the same lock wait: it guards a read-change-replace
  // of shared state (a ledger, an index.json) between cooperating processes.
  // The file stays when the lock is let go (removing it would let a waiter
  // and a newcomer lock two different files). kBusy naming path and the
  // holder when options.wait passes without the lock.
  virtual Result<std::unique_ptr<FileLock>> Lock(const std::string& path,
                                                 const LockOptions& options) = 0;

  bool Exists(const std::string& path) { return Stat(path).ok(); }
};

// The process-wide real file system: io_uring when it can be set up and
// SLUICE_IO is not "posix", else pread/pwrite. Never null; never freed.
FileSystem* DefaultFileSystem();
// The plain pread/pwrite implementation, always available.
FileSystem* PosixFileSystem();
// The io_uring implementation, or nullptr when the kernel or runtime refuses it.
FileSystem* UringFileSystem();

// Standard input and output, for bundles streamed through pipes.
std::unique_ptr<SequentialReader> StdinReader();
std::unique_ptr<SequentialWriter> StdoutWriter();

}  // namespace sluice::io
