#include "tests/io/test_util.h"

#include <sys/stat.h>

#include <algorithm>
#include <stdexcept>

#include "tests/support/files.h"

namespace sluice::io::testing {

std::vector<uint8_t> RandomBytes(size_t size, uint32_t seed) {
  std::string bytes = ::sluice::testing::RandomBytes(size, seed);
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

Backend::Backend(const std::string& name) {
  if (name == "memory") {
    memory_ = std::make_unique<MemoryFileSystem>();
    fs_ = memory_.get();
    root_ = "/work";
    if (!fs_->CreateDirs(root_).ok()) throw std::runtime_error("memory CreateDirs");
    return;
  }
  fs_ = name == "posix" ? PosixFileSystem() : UringFileSystem();
  if (fs_ == nullptr) return;
  temp_dir_ = std::make_unique<TempDir>();
  root_ = temp_dir_->path();
}

Backend::~Backend() = default;

std::string Backend::Path(const std::string& name) const { return root_ + "/" + name; }

unsigned Backend::Mode(const std::string& path) const {
  if (memory_ != nullptr) {
    Result<unsigned> mode = memory_->Mode(path);
    return mode.ok() ? *mode : ~0u;
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ~0u;
  return st.st_mode & 07777;
}

std::vector<std::string> BackendNames() { return {"posix", "io_uring", "memory"}; }

Status WriteInPieces(FileSystem* fs, const std::string& path, const std::vector<uint8_t>& data,
                     const std::vector<size_t>& piece_sizes) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<SequentialWriter> writer, fs->NewWriter(path));
  ByteView rest(data);
  for (size_t i = 0; !rest.empty(); ++i) {
    size_t n = std::min(rest.size(), piece_sizes[i % piece_sizes.size()]);
    SLUICE_RETURN_IF_ERROR(writer->Append(rest.first(n)));
    rest = rest.subspan(n);
  }
  if (writer->Size() != data.size()) return Status::IoError("writer Size() disagrees");
  return writer->Close();
}

Result<std::vector<uint8_t>> ReadAll(FileSystem* fs, const std::string& path, size_t chunk) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<SequentialReader> reader, fs->NewSequentialReader(path));
  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(chunk);
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(size_t n, reader->Read(buf));
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<ptrdiff_t>(n));
    if (n < chunk) break;
  }
  // The contract: once at the end, a reader keeps returning 0.
  SLUICE_ASSIGN_OR_RETURN(size_t again, reader->Read(buf));
  if (again != 0) return Status::IoError("read after the end returned bytes");
  return out;
}

Status WriteString(FileSystem* fs, const std::string& path, std::string_view data) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<SequentialWriter> writer, fs->NewWriter(path));
  SLUICE_RETURN_IF_ERROR(writer->Append(AsBytes(data)));
  return writer->Close();
}

std::string ReadString(FileSystem* fs, const std::string& path) {
  Result<std::vector<uint8_t>> bytes = ReadAll(fs, path, 4096);
  if (!bytes.ok()) return "<error: " + bytes.status().ToString() + ">";
  return std::string(bytes->begin(), bytes->end());
}

}  // namespace sluice::io::testing
