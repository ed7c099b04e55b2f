#include "json_document.h"

namespace sluice {

Result<io::JsonDocument> ParseJsonDocument(std::string_view text, std::string_view format,
                                           uint64_t version, const std::string& what) {
  SLUICE_ASSIGN_OR_RETURN(io::JsonDocument doc, io::ParseJson(text, what));
  io::JsonField root = doc.root();
  SLUICE_RETURN_IF_ERROR(root.ExpectObject());
  SLUICE_ASSIGN_OR_RETURN(std::string found, root.String("format"));
  if (found != format) {
    return Status::Corruption(what + ": format is \"" + found + "\", expected \"" +
                              std::string(format) + "\"");
  }
  SLUICE_ASSIGN_OR_RETURN(uint64_t found_version, root.Uint("version"));
  if (found_version != version) {
    return Status::Unsupported(what + " has version " + std::to_string(found_version) +
                               "; this sluice reads version " + std::to_string(version));
  }
  return doc;
}

Result<format::Digest> DigestValue(const io::JsonField& field) {
  SLUICE_ASSIGN_OR_RETURN(std::string text, field.AsString());
  auto digest = format::Digest::Parse(text);
  if (!digest.ok()) return field.Invalid("is not a digest: " + digest.status().message());
  return std::move(digest).value();
}

Result<format::Digest> DigestMember(const io::JsonField& object, std::string_view key) {
  SLUICE_ASSIGN_OR_RETURN(std::optional<io::JsonField> member, object.Member(key));
  if (!member) {
    SLUICE_RETURN_IF_ERROR(object.String(key).status());  // "... is missing, expected a string"
  }
  return DigestValue(*member);
}

}  // namespace sluice
