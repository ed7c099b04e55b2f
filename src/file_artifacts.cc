#include "file_artifacts.h"

#include <map>
#include <vector>

#include "format/blob_check.h"
#include "io/atomic_file.h"
#include "reference/ref_name.h"

namespace sluice {
namespace {

constexpr size_t kCopyBufferSize = 1u << 20;
constexpr size_t kMaxFileName = 255;

// A name that can only ever mean a file directly in the directory.
bool IsPlainFileName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.size() <= kMaxFileName &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

Status WriteOne(io::FileSystem* fs, ImageSink* sink, const ImportReport::Ref& ref,
                const std::string& path) {
  const oci::Descriptor& content = ref.artifact->content;
  SLUICE_ASSIGN_OR_RETURN(auto blob, sink->OpenBlob(ref.repository, content.digest));
  auto reader =
      format::NewVerifyingReader(std::move(blob), content.digest, content.size,
                                 "file " + QuoteName(ref.artifact->name) + " (blob " +
                                     content.digest.str() + " of " + ref.destination + ")");
  SLUICE_ASSIGN_OR_RETURN(auto out, io::AtomicFile::Create(fs, path));
  std::vector<uint8_t> buffer(kCopyBufferSize);
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(size_t n, reader->Read(buffer));
    if (n == 0) break;
    SLUICE_RETURN_IF_ERROR(out->writer()->Append(io::ByteView(buffer.data(), n)));
  }
  return out->Commit();
}

}  // namespace

Status WriteFileArtifacts(io::FileSystem* fs, ImageSink* sink, const std::string& dir,
                          ImportReport* report) {
  // Checked whole before anything is written: names, and one file per name.
  std::map<std::string, const ImportReport::Ref*> by_name;
  std::vector<ImportReport::Ref*> files;
  for (ImportReport::Ref& ref : report->refs) {
    if (!ref.artifact || ref.artifact->kind != oci::ArtifactKind::kFile) continue;
    const std::string& name = ref.artifact->name;
    if (!IsPlainFileName(name)) {
      return Status::Corruption("--files-to " + dir + ": " + ref.destination + " names its file " +
                                QuoteName(name) +
                                ", which is no plain file name; nothing was written there");
    }
    auto [it, added] = by_name.emplace(name, &ref);
    if (!added) {
      if (it->second->artifact->content.digest == ref.artifact->content.digest) continue;
      return Status::InvalidArgument(
          "--files-to " + dir + ": " + it->second->destination + " and " + ref.destination +
          " are two different files named " + QuoteName(name) +
          "; nothing was written there (import them into directories of their own)");
    }
    files.push_back(&ref);
  }
  if (files.empty()) return Status::Ok();
  SLUICE_RETURN_IF_ERROR(fs->CreateDirs(dir).WithContext("--files-to " + dir));
  // Temp files a killed import left (their process gone).
  (void)io::RemoveStaleTempFiles(fs, dir);
  for (ImportReport::Ref* ref : files) {
    std::string path = io::JoinPath(dir, ref->artifact->name);
    SLUICE_RETURN_IF_ERROR(WriteOne(fs, sink, *ref, path).WithContext("--files-to " + dir));
    ref->file = path;
  }
  // Refs of the same file under two tags name the same path.
  for (ImportReport::Ref& ref : report->refs) {
    if (ref.artifact && ref.artifact->kind == oci::ArtifactKind::kFile && ref.file.empty()) {
      ref.file = io::JoinPath(dir, ref.artifact->name);
    }
  }
  return Status::Ok();
}

}  // namespace sluice
