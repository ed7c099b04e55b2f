// Private to io/: file descriptors and the plain read/write/pread file types.
// Shared by the posix and the io_uring file systems, which differ only in
// how bulk bytes move; opening, sizing and the fallbacks are the same.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "io/file.h"

namespace sluice::io {

// Writers gather appends into buffers of this size before writing them out;
// large enough that a syscall (or an io_uring submission) moves a lot of
// bytes, small enough that a few of them in flight cost little memory.
inline constexpr size_t kWriteBufferSize = size_t{1} << 20;

// O_DIRECT needs buffers, offsets and lengths aligned to the logical block
// size; 4096 covers every common device.
inline constexpr size_t kDirectAlignment = 4096;

// A write buffer: kWriteBufferSize bytes of heap memory aligned to
// kDirectAlignment, as O_DIRECT needs. A freed one is kept for the next file
// (up to kPooledWriteBuffers of them): an import writes hundreds of files,
// and fresh memory costs a page fault and a zeroed page per 4 KiB, as much
// as copying the bytes into it.
struct WriteBufferFree {
  void operator()(uint8_t* p) const;
};
using AlignedBuffer = std::unique_ptr<uint8_t, WriteBufferFree>;
inline constexpr size_t kPooledWriteBuffers = 16;
// Its bytes are stale. Throws std::bad_alloc.
AlignedBuffer NewWriteBuffer();

// Reserves `bytes` of space for fd (fallocate(2), which also sets the file's
// size), so that direct writes inside it are overwrites: ext4 extends a file
// only under an exclusive lock, which a write must block for (io_uring hands
// each such write to a kernel worker thread), and allocates its blocks one
// write at a time. For an empty file only. Returns whether the space is
// reserved (not, e.g., when it does not fit); the caller cuts the file to
// its real size at the end.
bool ReserveSpace(int fd, uint64_t bytes);

// Turns O_DIRECT on or off for fd. Returns whether it is on afterwards: a
// file system without direct I/O refuses it.
bool SetDirect(int fd, bool on);

// Owns a file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes now and reports a failed close(2) (which can carry a deferred
  // write error, e.g. on NFS). The descriptor is released either way.
  Status Close(std::string_view path);

 private:
  int fd_ = -1;
};

// Opens path for writing: created with options.mode, truncated unless
// options.exclusive (then kAlreadyExists if it exists).
Result<UniqueFd> OpenForWriting(const std::string& path, const WriterOptions& options);

struct OpenedFile {
  UniqueFd fd;
  uint64_t size = 0;     // at open time; 0 for pipes and devices
  bool regular = false;  // a regular file (not a pipe, socket or device)
};
// Opens path for reading. A directory is refused (EISDIR, kIoError).
Result<OpenedFile> OpenForReading(const std::string& path);

// True if fd is a regular file (not a pipe, socket, device or directory).
bool IsRegularFile(int fd);

// read(2)s until buf is full or end of input; retries EINTR.
Result<size_t> ReadFully(int fd, MutableBytes buf, const std::string& name);
// pread(2)s until buf is full or end of file; retries EINTR.
Result<size_t> PreadFully(int fd, uint64_t offset, MutableBytes buf, const std::string& name);
// write(2)s all of data; retries EINTR and short writes.
Status WriteFully(int fd, ByteView data, const std::string& name);
// pwrite(2)s all of data at offset; retries EINTR and short writes. While
// *direct (fd has O_DIRECT), a piece at an unaligned offset or length, or a
// write the file system refuses with EINVAL although it took the flag, turns
// O_DIRECT off and sets *direct to false, then goes on buffered.
Status PwriteFully(int fd, ByteView data, uint64_t offset, const std::string& name, bool* direct);
// fsync(2).
Status SyncFd(int fd, const std::string& name);
// ftruncate(2) to `size` bytes.
Status TruncateFd(int fd, uint64_t size, const std::string& name);

// The posix file types over an open descriptor, which they own. The writer
// writes a regular file with O_DIRECT where the file system allows it (see
// posix_file.cc).
std::unique_ptr<SequentialWriter> NewPosixWriter(UniqueFd fd, std::string name);
std::unique_ptr<SequentialReader> NewPosixSequentialReader(UniqueFd fd, std::string name);
std::unique_ptr<PositionalReader> NewPosixPositionalReader(UniqueFd fd, std::string name,
                                                           uint64_t size);

}  // namespace sluice::io
