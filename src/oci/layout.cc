#include "oci/layout.h"

#include "io/atomic_file.h"
#include "io/json_fields.h"
#include "json_document.h"

namespace sluice::oci {
namespace {

Result<IndexEntry> ParseIndexEntry(const io::JsonField& entry) {
  SLUICE_RETURN_IF_ERROR(entry.ExpectObject());
  IndexEntry out;
  SLUICE_ASSIGN_OR_RETURN(out.digest, DigestMember(entry, "digest"));
  SLUICE_ASSIGN_OR_RETURN(out.media_type, entry.StringOr("mediaType", ""));
  SLUICE_ASSIGN_OR_RETURN(out.size, entry.UintOr("size", 0));
  SLUICE_ASSIGN_OR_RETURN(std::optional<io::JsonField> annotations,
                          entry.OptionalObject("annotations"));
  if (annotations) {
    SLUICE_ASSIGN_OR_RETURN(out.ref_name, annotations->StringOr(kRefNameAnnotation, ""));
  }
  return out;
}

}  // namespace

Result<std::vector<IndexEntry>> ParseIndex(std::string_view text, const std::string& what) {
  SLUICE_ASSIGN_OR_RETURN(io::JsonDocument doc, io::ParseJson(text, what));
  SLUICE_RETURN_IF_ERROR(doc.root().ExpectObject());
  SLUICE_ASSIGN_OR_RETURN(io::JsonField manifests, doc.root().Array("manifests"));
  SLUICE_ASSIGN_OR_RETURN(std::vector<io::JsonField> entries, manifests.Elements());
  std::vector<IndexEntry> out;
  out.reserve(entries.size());
  for (const io::JsonField& entry : entries) {
    SLUICE_ASSIGN_OR_RETURN(IndexEntry parsed, ParseIndexEntry(entry));
    out.push_back(std::move(parsed));
  }
  return out;
}

std::string BlobPath(std::string_view dir, const format::Digest& digest) {
  return io::JoinPath(io::JoinPath(dir, "blobs/sha256"), digest.hex());
}

}  // namespace sluice::oci
