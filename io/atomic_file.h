// Atomic publication: write a temp file beside the target, fsync it, rename
// it over the target, fsync the directory. Until Commit() succeeds, nothing
// is visible at the target path; if the AtomicFile is destroyed uncommitted,
// the temp file is removed.
#pragma once

#include <memory>
#include <string>

#include "io/file.h"

namespace sluice::io {

class AtomicFile {
 public:
  // Opens "<path>.tmp-<random>" for writing in path's directory.
  static Result<std::unique_ptr<AtomicFile>> Create(FileSystem* fs, const std::string& path,
                                                    const WriterOptions& options = {});
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  SequentialWriter* writer() { return writer_.get(); }
  const std::string& temp_path() const { return temp_path_; }

  // Sync, close, rename over the target, sync the directory. With
  // `exclusive`, fails with kAlreadyExists instead of replacing a file that
  // appeared at the target meanwhile.
  Status Commit();
  // Removes the temp file now (also done by the destructor).
  void Abandon();

 private:
  AtomicFile(FileSystem* fs, std::string path, std::string temp_path,
             std::unique_ptr<SequentialWriter> writer);

  FileSystem* fs_;
  std::string path_;
  std::string temp_path_;
  std::unique_ptr<SequentialWriter> writer_;
  bool done_ = false;
};

// Writes `data` to path atomically (see AtomicFile).
Status WriteFileAtomically(FileSystem* fs, const std::string& path, ByteView data,
                           const WriterOptions& options = {});

// Reads a whole small file. Refuses files larger than max_size with
// kInvalidArgument naming the path, so a hostile file cannot exhaust memory.
Result<std::string> ReadSmallFile(FileSystem* fs, const std::string& path, uint64_t max_size);

// "dir/name" without doubling slashes; Dirname("a/b") == "a", Dirname("b") == ".".
std::string JoinPath(std::string_view dir, std::string_view name);
std::string Dirname(std::string_view path);

}  // namespace sluice::io
