#include "delta/delta_base.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "io/errno_status.h"

namespace sluice::delta {

Result<DeltaBase> DeltaBase::MapFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io::ErrnoStatus(errno, "open delta base", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Status status = io::ErrnoStatus(errno, "stat delta base", path);
    ::close(fd);
    return status;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument("delta base " + path + " is not a regular file");
  }
  if (st.st_size == 0) {
    ::close(fd);
    return DeltaBase();
  }
  void* data = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  int map_errno = errno;
  ::close(fd);  // the mapping keeps the file's pages
  if (data == MAP_FAILED) return io::ErrnoStatus(map_errno, "mmap delta base", path);
  return DeltaBase(static_cast<const uint8_t*>(data), static_cast<size_t>(st.st_size));
}

DeltaBase::DeltaBase(DeltaBase&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

DeltaBase& DeltaBase::operator=(DeltaBase&& other) noexcept {
  if (this != &other) {
    Unmap();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

DeltaBase::~DeltaBase() { Unmap(); }

void DeltaBase::Unmap() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace sluice::delta
