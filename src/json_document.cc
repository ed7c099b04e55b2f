#include "json_document.h"

#include <nlohmann/json.hpp>

namespace sluice {

Result<nlohmann::json> ParseJsonDocument(std::string_view text, std::string_view format,
                                         int version, const std::string& what) {
  using nlohmann::json;
  auto bad = [&](const std::string& problem) {
    return Status::Corruption(what + " is not valid: " + problem);
  };
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return bad("not a JSON object");
  if (doc.value("format", "") != format) {
    return bad("\"format\" is not \"" + std::string(format) + "\"");
  }
  if (doc.value("version", 0) != version) {
    return Status::Unsupported(what + " has version " + doc.value("version", json()).dump() +
                               "; this sluice reads version " + std::to_string(version));
  }
  return doc;
}

}  // namespace sluice
