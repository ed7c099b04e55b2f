#include "io/posix_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
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

Status SyncFd(int fd, const std::string& name) {
  int rc;
  do {
    rc = ::fsync(fd);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return ErrnoStatus(errno, "fsync", name);
  return Status::Ok();
}

namespace {

// Buffers appends and write(2)s them out in kWriteBufferSize pieces.
class PosixWriter final : public SequentialWriter {
 public:
  // `owned` is the descriptor to close, empty for stdout (which stays open
  // for the rest of the process: closing fd 1 would let a later open()
  // reuse it and receive stray prints).
  PosixWriter(int fd, UniqueFd owned, std::string name)
      : fd_(fd), owned_(std::move(owned)), name_(std::move(name)) {
    buffer_.reserve(kWriteBufferSize);
  }
  ~PosixWriter() override { (void)Close(); }

  Status Append(ByteView data) override {
    SLUICE_RETURN_IF_ERROR(CheckUsable());
    size_ += data.size();
    if (data.size() < kWriteBufferSize - buffer_.size()) {
      buffer_.insert(buffer_.end(), data.begin(), data.end());
      return Status::Ok();
    }
    // Top up the buffer and write it, then write what is left directly if it
    // would fill a buffer anyway: a large append costs no extra copy.
    size_t take = kWriteBufferSize - buffer_.size();
    buffer_.insert(buffer_.end(), data.begin(), data.begin() + static_cast<ptrdiff_t>(take));
    data = data.subspan(take);
    SLUICE_RETURN_IF_ERROR(Flush());
    if (data.size() >= kWriteBufferSize) return Fail(WriteFully(fd_, data, name_));
    buffer_.assign(data.begin(), data.end());
    return Status::Ok();
  }

  Status Sync() override {
    SLUICE_RETURN_IF_ERROR(CheckUsable());
    SLUICE_RETURN_IF_ERROR(Flush());
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
    if (status_.ok()) (void)Flush();
    Status close_status = owned_.Close(name_);
    if (status_.ok()) status_ = std::move(close_status);
    return status_;
  }

  uint64_t Size() const override { return size_; }

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
  Status Flush() {
    if (buffer_.empty()) return Status::Ok();
    Status s = WriteFully(fd_, buffer_, name_);
    buffer_.clear();
    return Fail(std::move(s));
  }

  const int fd_;
  UniqueFd owned_;
  const std::string name_;
  std::vector<uint8_t> buffer_;
  uint64_t size_ = 0;
  bool closed_ = false;
  Status status_;
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
