#include "io/posix_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

#include "io/errno_status.h"

namespace sluice::io {

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

Status UniqueFd::Close(std::string_view path) {
  if (fd_ < 0) return Status::Ok();
  // Linux releases the descriptor even when close() fails, so never retry:
  // the number may already belong to another thread's file.
  int rc = ::close(release());
  if (rc != 0 && errno != EINTR) return ErrnoStatus(errno, "close", path);
  return Status::Ok();
}

namespace {

struct WriteBufferPool {
  std::mutex mu;
  std::vector<uint8_t*> free;
};

// Never destroyed: buffers may be freed during static destruction.
WriteBufferPool& Pool() {
  static WriteBufferPool* pool = new WriteBufferPool;
  return *pool;
}

}  // namespace

void WriteBufferFree::operator()(uint8_t* p) const {
  WriteBufferPool& pool = Pool();
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    if (pool.free.size() < kPooledWriteBuffers) {
      pool.free.push_back(p);
      return;
    }
  }
  std::free(p);
}

AlignedBuffer NewWriteBuffer() {
  WriteBufferPool& pool = Pool();
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    if (!pool.free.empty()) {
      AlignedBuffer buffer(pool.free.back());
      pool.free.pop_back();
      return buffer;
    }
  }
  AlignedBuffer buffer(
      static_cast<uint8_t*>(std::aligned_alloc(kDirectAlignment, kWriteBufferSize)));
  if (buffer == nullptr) throw std::bad_alloc();
  return buffer;
}

bool ReserveSpace(int fd, uint64_t bytes) {
  if (bytes == 0) return false;
  // Up to the block the padded tail of a direct writer reaches.
  const uint64_t rounded = (bytes + kDirectAlignment - 1) / kDirectAlignment * kDirectAlignment;
  int rc;
  do {
    rc = ::fallocate(fd, 0, 0, static_cast<off_t>(rounded));
  } while (rc != 0 && errno == EINTR);
  // A reservation that ran out of space may hold some blocks: let them go.
  if (rc != 0) (void)::ftruncate(fd, 0);
  return rc == 0;
}

bool SetDirect(int fd, bool on) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return false;
  int wanted = on ? (flags | O_DIRECT) : (flags & ~O_DIRECT);
  if (fcntl(fd, F_SETFL, wanted) != 0) return (flags & O_DIRECT) != 0;
  return on;
}

Result<UniqueFd> OpenForWriting(const std::string& path, const WriterOptions& options) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (options.exclusive ? O_EXCL : O_TRUNC);
  int fd;
  do {
    fd = ::open(path.c_str(), flags, static_cast<mode_t>(options.mode));
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoStatus(errno, "open for writing", path);
  return UniqueFd(fd);
}

Result<OpenedFile> OpenForReading(const std::string& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoStatus(errno, "open for reading", path);
  OpenedFile file;
  file.fd = UniqueFd(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, "stat", path);
  if (S_ISDIR(st.st_mode)) return ErrnoStatus(EISDIR, "open for reading", path);
  file.regular = S_ISREG(st.st_mode);
  file.size = file.regular ? static_cast<uint64_t>(st.st_size) : 0;
  return file;
}

bool IsRegularFile(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

Result<size_t> ReadFully(int fd, MutableBytes buf, const std::string& name) {
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + done, buf.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read", name);
    }
    if (n == 0) break;  // end of input
    done += static_cast<size_t>(n);
  }
  return done;
}

Result<size_t> PreadFully(int fd, uint64_t offset, MutableBytes buf, const std::string& name) {
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n =
        ::pread(fd, buf.data() + done, buf.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read at offset " + std::to_string(offset + done) + " of", name);
    }
    if (n == 0) break;  // end of file
    done += static_cast<size_t>(n);
  }
  return done;
}

Status WriteFully(int fd, ByteView data, const std::string& name) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write", name);
    }
    data = data.subspan(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status PwriteFully(int fd, ByteView data, uint64_t offset, const std::string& name, bool* direct) {
  if (*direct && (offset % kDirectAlignment != 0 || data.size() % kDirectAlignment != 0)) {
    *direct = SetDirect(fd, false);
  }
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EINVAL && *direct) {
      *direct = SetDirect(fd, false);
      if (!*direct) continue;
    }
    if (n <= 0) {
      // A write of zero bytes would repeat forever; report it as EIO.
      return ErrnoStatus(n < 0 ? errno : EIO, "write at offset " + std::to_string(offset) + " of",
                         name);
    }
    offset += static_cast<uint64_t>(n);
    data = data.subspan(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status TruncateFd(int fd, uint64_t size, const std::string& name) {
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    return ErrnoStatus(errno, "truncate to " + std::to_string(size) + " bytes", name);
  }
  return Status::Ok();
}

Status SyncFd(int fd, const std::string& name) {
  int rc;
  do {
    rc = ::fsync(fd);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return ErrnoStatus(errno, "fsync", name);
  return Status::Ok();
}

namespace {

// Writes full buffers of one file on a thread of its own, in the order
// queued, so that the caller fills the next buffer while the device takes
// this one: what the kernel does for the io_uring writer, for when there is
// no ring. At most kBuffers buffers exist; the caller waits for a free one.
class WriteBehind {
 public:
  static constexpr size_t kBuffers = 4;
  // Writes `data` at `offset` of the file; runs on the thread.
  using WriteFn = std::function<Status(ByteView data, uint64_t offset)>;

  explicit WriteBehind(WriteFn write) : write_(std::move(write)), thread_([this] { Run(); }) {}
  ~WriteBehind() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  WriteBehind(const WriteBehind&) = delete;
  WriteBehind& operator=(const WriteBehind&) = delete;

  // Queues the first `length` bytes of `buffer` for `offset`; returns a
  // buffer to fill next. Fails with the thread's first error, if any.
  Result<AlignedBuffer> Submit(AlignedBuffer buffer, size_t length, uint64_t offset) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!status_.ok()) return status_;
    queue_.push_back(Job{std::move(buffer), length, offset});
    changed_.notify_all();
    if (allocated_ < kBuffers) {
      ++allocated_;
      lock.unlock();
      return NewWriteBuffer();
    }
    changed_.wait(lock, [&] { return !free_.empty(); });
    AlignedBuffer next = std::move(free_.back());
    free_.pop_back();
    return next;
  }

  // Waits until every queued buffer is written; the thread's first error.
  Status Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return queue_.empty() && !busy_; });
    return status_;
  }

 private:
  struct Job {
    AlignedBuffer buffer;
    size_t length;
    uint64_t offset;
  };

  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to write
      Job job = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      // After a failure the rest is dropped: the file is broken anyway.
      const bool write = status_.ok();
      lock.unlock();
      Status s = write ? write_(ByteView(job.buffer.get(), job.length), job.offset) : Status::Ok();
      lock.lock();
      if (status_.ok()) status_ = std::move(s);
      free_.push_back(std::move(job.buffer));
      busy_ = false;
      changed_.notify_all();
    }
  }

  const WriteFn write_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Job> queue_;
  std::vector<AlignedBuffer> free_;
  size_t allocated_ = 1;  // the caller's first buffer
  bool busy_ = false;
  bool stopping_ = false;
  Status status_;
  std::thread thread_;  // last: starts once the members it uses exist
};

// Buffers appends and writes them out in kWriteBufferSize pieces.
//
// A regular file is written with O_DIRECT where the file system allows it,
// for the reason the io_uring writer is: buffered, every byte is copied into
// the page cache and the final fsync then waits for all of it, which
// measured here 3 times slower than the same 1 MiB writes direct
// (bench/README.md, the two write+fsync limits). Full buffers are written
// by a WriteBehind thread, started with the second buffer (a file of one
// buffer or less never starts one), so that hashing and copying overlap
// with the device. The last, partial buffer is padded with zeros to the
// block size and the file cut back to its real size, as there (and as after
// a Reserve, see ReserveSpace). Anything
// else (a pipe, stdout) is written with write(2), in order.
class PosixWriter final : public SequentialWriter {
 public:
  // `owned` is the descriptor to close, empty for stdout (which stays open
  // for the rest of the process: closing fd 1 would let a later open()
  // reuse it and receive stray prints).
  PosixWriter(int fd, UniqueFd owned, std::string name)
      : fd_(fd), owned_(std::move(owned)), name_(std::move(name)) {
    positional_ = owned_.valid() && IsRegularFile(fd_);
    direct_ = positional_ && SetDirect(fd_, true);
  }
  ~PosixWriter() override { (void)Close(); }

  Status Append(ByteView data) override {
    SLUICE_RETURN_IF_ERROR(CheckUsable());
    size_ += data.size();
    // Not direct and nothing buffered: a large append goes out as it is,
    // without a copy.
    if (!direct_ && length_ == 0 && data.size() >= kWriteBufferSize) {
      return Fail(WriteOut(data));
    }
    while (!data.empty()) {
      if (buffer_ == nullptr) buffer_ = NewWriteBuffer();
      size_t n = std::min(data.size(), kWriteBufferSize - length_);
      std::memcpy(buffer_.get() + length_, data.data(), n);
      length_ += n;
      data = data.subspan(n);
      if (length_ == kWriteBufferSize) SLUICE_RETURN_IF_ERROR(Fail(WriteFullBuffer()));
    }
    return Status::Ok();
  }

  Status Sync() override {
    SLUICE_RETURN_IF_ERROR(CheckUsable());
    SLUICE_RETURN_IF_ERROR(Fail(Flush()));
    SLUICE_RETURN_IF_ERROR(Fail(CutToSize()));
    if (!owned_.valid()) {
      // stdout: a pipe or a terminal cannot be fsynced, and need not be.
      Status s = SyncFd(fd_, name_);
      return s.ok() || !IsRegularFile(fd_) ? Status::Ok() : Fail(std::move(s));
    }
    return Fail(SyncFd(fd_, name_));
  }

  Status Close() override {
    if (closed_) return status_;
    closed_ = true;
    if (status_.ok()) (void)Fail(Flush());
    behind_.reset();  // every write has ended: Flush waited, or nothing more is queued
    if (status_.ok()) (void)Fail(CutToSize());
    Status close_status = owned_.Close(name_);
    if (status_.ok()) status_ = std::move(close_status);
    return status_;
  }

  uint64_t Size() const override { return size_; }

  // Only a file of more than one buffer gains: it is written behind, direct.
  void Reserve(uint64_t bytes) override {
    if (!positional_ || closed_ || size_ > 0 || bytes <= kWriteBufferSize) return;
    reserved_ = ReserveSpace(fd_, bytes);
  }

 private:
  Status CheckUsable() {
    if (!status_.ok()) return status_;
    if (closed_) return Status::InvalidArgument("write to " + name_ + " after close");
    return Status::Ok();
  }
  // The first error is kept and returned by every later call.
  Status Fail(Status s) {
    if (!s.ok() && status_.ok()) status_ = s;
    return s;
  }

  // A full buffer: to the write-behind thread from the second on, since
  // most files are smaller than one buffer and gain nothing from a thread.
  Status WriteFullBuffer() {
    if (!positional_ || (behind_ == nullptr && offset_ == 0)) {
      Status s = WriteOut(ByteView(buffer_.get(), length_));
      length_ = 0;
      return s;
    }
    if (behind_ == nullptr) {
      behind_ = std::make_unique<WriteBehind>(
          [this](ByteView data, uint64_t offset) { return PwriteAt(data, offset); });
    }
    SLUICE_ASSIGN_OR_RETURN(buffer_, behind_->Submit(std::move(buffer_), length_, offset_));
    offset_ += length_;
    length_ = 0;
    return Status::Ok();
  }

  // Writes everything appended. A partial buffer at an aligned offset is
  // padded with zeros to the block size so it can go direct too; CutToSize
  // then gives the file its size.
  Status Flush() {
    if (behind_ != nullptr) SLUICE_RETURN_IF_ERROR(behind_->Wait());
    if (length_ == 0) return Status::Ok();
    size_t length = length_;
    const size_t unaligned = length % kDirectAlignment;
    if (direct_ && unaligned != 0 && offset_ % kDirectAlignment == 0) {
      std::memset(buffer_.get() + length, 0, kDirectAlignment - unaligned);
      length += kDirectAlignment - unaligned;
      padded_ = true;
    }
    Status s = WriteOut(ByteView(buffer_.get(), length));
    offset_ -= length - length_;  // the padding is not part of the file
    length_ = 0;
    return s;
  }

  // Writes data at offset_, on this thread, and moves offset_ past it.
  Status WriteOut(ByteView data) {
    if (!positional_) {
      SLUICE_RETURN_IF_ERROR(WriteFully(fd_, data, name_));
    } else {
      SLUICE_RETURN_IF_ERROR(PwriteAt(data, offset_));
    }
    offset_ += data.size();
    return Status::Ok();
  }

  // pwrite(2)s all of data at offset. Runs on the write-behind thread while
  // one is writing, on the caller's otherwise (never both at once).
  Status PwriteAt(ByteView data, uint64_t offset) {
    bool direct = direct_;
    Status s = PwriteFully(fd_, data, offset, name_, &direct);
    direct_ = direct;
    return s;
  }

  // After a padded tail or a reservation the file is longer than what was
  // appended (and a later Append, unaligned, goes buffered over the
  // padding): cut it back.
  Status CutToSize() {
    if (!padded_ && !reserved_) return Status::Ok();
    SLUICE_RETURN_IF_ERROR(TruncateFd(fd_, size_, name_));
    padded_ = false;
    reserved_ = false;
    return Status::Ok();
  }

  const int fd_;
  UniqueFd owned_;
  const std::string name_;
  bool positional_ = false;  // a regular file of ours: pwrite(2) at offsets
  // The fd has O_DIRECT set. Atomic: the write-behind thread may turn it
  // off while Append reads it.
  std::atomic<bool> direct_ = false;
  bool padded_ = false;   // a tail went out padded; the file needs cutting to size_
  bool reserved_ = false;  // space was reserved past size_; the file needs cutting too
  AlignedBuffer buffer_;  // kWriteBufferSize bytes, allocated on first use
  size_t length_ = 0;     // bytes of buffer_ filled
  uint64_t offset_ = 0;   // where buffer_ goes in the file
  uint64_t size_ = 0;
  bool closed_ = false;
  Status status_;
  std::unique_ptr<WriteBehind> behind_;  // last: its thread uses the members above
};

class PosixSequentialReader final : public SequentialReader {
 public:
  PosixSequentialReader(int fd, UniqueFd owned, std::string name)
      : fd_(fd), owned_(std::move(owned)), name_(std::move(name)) {}

  Result<size_t> Read(MutableBytes buf) override { return ReadFully(fd_, buf, name_); }
  const std::string& name() const override { return name_; }

 private:
  const int fd_;
  UniqueFd owned_;  // empty for stdin, which is not ours to close
  const std::string name_;
};

// pread(2) keeps no file position, so concurrent ReadAt calls are safe.
class PosixPositionalReader final : public PositionalReader {
 public:
  PosixPositionalReader(UniqueFd fd, std::string name, uint64_t size)
      : fd_(std::move(fd)), name_(std::move(name)), size_(size) {}

  Result<size_t> ReadAt(uint64_t offset, MutableBytes buf) const override {
    return PreadFully(fd_.get(), offset, buf, name_);
  }
  uint64_t Size() const override { return size_; }
  const std::string& name() const override { return name_; }

 private:
  const UniqueFd fd_;
  const std::string name_;
  const uint64_t size_;
};

}  // namespace

std::unique_ptr<SequentialWriter> NewPosixWriter(UniqueFd fd, std::string name) {
  int raw = fd.get();
  return std::make_unique<PosixWriter>(raw, std::move(fd), std::move(name));
}

std::unique_ptr<SequentialReader> NewPosixSequentialReader(UniqueFd fd, std::string name) {
  int raw = fd.get();
  return std::make_unique<PosixSequentialReader>(raw, std::move(fd), std::move(name));
}

std::unique_ptr<PositionalReader> NewPosixPositionalReader(UniqueFd fd, std::string name,
                                                           uint64_t size) {
  return std::make_unique<PosixPositionalReader>(std::move(fd), std::move(name), size);
}

std::unique_ptr<SequentialReader> StdinReader() {
  return std::make_unique<PosixSequentialReader>(STDIN_FILENO, UniqueFd(), "<stdin>");
}

std::unique_ptr<SequentialWriter> StdoutWriter() {
  return std::make_unique<PosixWriter>(STDOUT_FILENO, UniqueFd(), "<stdout>");
}

}  // namespace sluice::io
