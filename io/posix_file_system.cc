// The plain POSIX file system: read/write/pread through posix_file.h, and the
// directory operations that the io_uring file system shares.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "io/atomic_file.h"
#include "io/errno_status.h"
#include "io/file.h"
#include "io/posix_file.h"

namespace sluice::io {
namespace {

// An flock(2) on an open lock file. Closing the descriptor lets go, so a
// killed holder never leaves the lock taken.
class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  // The holder's name goes before the lock does, so nobody is told of a
  // holder that has left.
  ~PosixFileLock() override { (void)::ftruncate(fd_.get(), 0); }

 private:
  UniqueFd fd_;
};

// Who holds the lock on `fd`, as its holder wrote it ("" if unknown).
std::string ReadHolder(int fd) {
  char buf[256];
  ssize_t n = ::pread(fd, buf, sizeof buf, 0);
  if (n <= 0) return "";
  // Printed as the command line prints every message (cli::Printable).
  return std::string(buf, static_cast<size_t>(n));
}

Result<std::unique_ptr<FileLock>> LockPosixFile(const std::string& path,
                                                const LockOptions& options) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoStatus(errno, "open lock file", path);
  const auto deadline = std::chrono::steady_clock::now() + options.wait;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EINTR) continue;
    if (err != EWOULDBLOCK) return ErrnoStatus(err, "lock", path);
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) {
      return LockBusy(path, ReadHolder(fd.get()), options.wait);
    }
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        left, std::chrono::milliseconds(50)));
  }
  if (::ftruncate(fd.get(), 0) != 0) return ErrnoStatus(errno, "truncate lock file", path);
  const std::string& holder = options.holder;
  if (!holder.empty() && ::pwrite(fd.get(), holder.data(), holder.size(), 0) < 0) {
    return ErrnoStatus(errno, "write lock file", path);
  }
  return std::unique_ptr<FileLock>(new PosixFileLock(std::move(fd)));
}

class PosixFileSystemImpl final : public FileSystem {
 public:
  std::string_view name() const override { return "posix"; }

  Result<std::unique_ptr<SequentialWriter>> NewWriter(const std::string& path,
                                                      const WriterOptions& options) override {
    SLUICE_ASSIGN_OR_RETURN(UniqueFd fd, OpenForWriting(path, options));
    return NewPosixWriter(std::move(fd), path);
  }

  Result<std::unique_ptr<SequentialReader>> NewSequentialReader(const std::string& path) override {
    SLUICE_ASSIGN_OR_RETURN(OpenedFile file, OpenForReading(path));
    return NewPosixSequentialReader(std::move(file.fd), path);
  }

  Result<std::unique_ptr<PositionalReader>> NewPositionalReader(const std::string& path) override {
    SLUICE_ASSIGN_OR_RETURN(OpenedFile file, OpenForReading(path));
    return NewPosixPositionalReader(std::move(file.fd), path, file.size);
  }

  Result<FileInfo> Stat(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, "stat", path);
    FileInfo info;
    info.is_directory = S_ISDIR(st.st_mode);
    info.size = info.is_directory ? 0 : static_cast<uint64_t>(st.st_size);
    return info;
  }

  Status CreateDirs(const std::string& path) override {
    if (path.empty()) return Status::InvalidArgument("create directory: empty path");
    // Walk down from the first component so each mkdir has a parent. An
    // existing component is fine as long as it is a directory.
    for (size_t end = path.find('/', 1);; end = path.find('/', end + 1)) {
      std::string prefix = path.substr(0, end);
      if (!prefix.empty() && prefix.back() != '/') {
        if (::mkdir(prefix.c_str(), 0755) != 0) {
          int err = errno;
          struct stat st;
          if (err != EEXIST) return ErrnoStatus(err, "create directory", prefix);
          if (::stat(prefix.c_str(), &st) != 0) return ErrnoStatus(errno, "stat", prefix);
          if (!S_ISDIR(st.st_mode)) return ErrnoStatus(ENOTDIR, "create directory", prefix);
        }
      }
      if (end == std::string::npos) break;
    }
    return Status::Ok();
  }

  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) return ErrnoStatus(errno, "list directory", path);
    std::vector<std::string> names;
    for (;;) {
      errno = 0;
      struct dirent* entry = ::readdir(dir);
      if (entry == nullptr) {
        int err = errno;
        ::closedir(dir);
        if (err != 0) return ErrnoStatus(err, "list directory", path);
        break;
      }
      std::string_view name = entry->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return ErrnoStatus(errno, "rename", from + " to " + to);
    }
    return Status::Ok();
  }

  Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) == 0) return Status::Ok();
    if (errno != EISDIR || ::rmdir(path.c_str()) != 0) return ErrnoStatus(errno, "remove", path);
    return Status::Ok();
  }

  Status OverwriteAt(const std::string& path, uint64_t offset, ByteView data) override {
    int fd;
    do {
      fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return ErrnoStatus(errno, "open for overwriting", path);
    UniqueFd file(fd);
    struct stat st {};
    if (::fstat(file.get(), &st) != 0) return ErrnoStatus(errno, "stat", path);
    if (offset + data.size() > static_cast<uint64_t>(st.st_size)) {
      return Status::InvalidArgument("overwrite " + path + ": bytes [" + std::to_string(offset) +
                                     ", " + std::to_string(offset + data.size()) +
                                     ") are not inside its " + std::to_string(st.st_size) +
                                     " bytes");
    }
    for (size_t done = 0; done < data.size();) {
      ssize_t n = ::pwrite(file.get(), data.data() + done, data.size() - done,
                           static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return ErrnoStatus(n < 0 ? errno : EIO, "overwrite", path);
      done += static_cast<size_t>(n);
    }
    SLUICE_RETURN_IF_ERROR(SyncFd(file.get(), path));
    return file.Close(path);
  }

  Status SyncDir(const std::string& path) override {
    int fd;
    do {
      fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return ErrnoStatus(errno, "open directory", path);
    UniqueFd dir(fd);
    SLUICE_RETURN_IF_ERROR(SyncFd(dir.get(), path));
    return dir.Close(path);
  }

  Result<std::unique_ptr<FileLock>> Lock(const std::string& path,
                                         const LockOptions& options) override {
    return LockPosixFile(path, options);
  }

  Result<uint64_t> FreeSpace(const std::string& path) override {
    // The target of an export often does not exist yet: measure the
    // filesystem of its nearest existing ancestor.
    std::string probe = path.empty() ? "." : path;
    for (;;) {
      struct statvfs vfs;
      if (::statvfs(probe.c_str(), &vfs) == 0) {
        return static_cast<uint64_t>(vfs.f_bavail) * static_cast<uint64_t>(vfs.f_frsize);
      }
      int err = errno;
      std::string parent = Dirname(probe);
      if ((err != ENOENT && err != ENOTDIR) || parent == probe) {
        return ErrnoStatus(err, "measure free space of", path);
      }
      probe = std::move(parent);
    }
  }
};

}  // namespace

FileSystem* PosixFileSystem() {
  static FileSystem* const fs = new PosixFileSystemImpl();
  return fs;
}

}  // namespace sluice::io
