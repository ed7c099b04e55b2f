#include "source/index_images.h"

#include <utility>

#include "reference/reference.h"

namespace sluice {

std::pair<std::string, std::string> SplitRefName(const std::string& name) {
  size_t colon = name.rfind(':');
  if (colon != std::string::npos) {
    std::string repository = name.substr(0, colon);
    std::string tag = name.substr(colon + 1);
    if (ValidateRepository(repository).ok() && IsValidTag(tag)) {
      return {repository, tag};
    }
  }
  return {"", name};
}

Result<std::vector<SourceImage>> ImagesOfIndex(std::vector<oci::IndexEntry> entries,
                                               const std::string& wanted,
                                               const std::string& display_prefix,
                                               const std::string& where) {
  std::vector<SourceImage> images;
  std::string available;
  for (oci::IndexEntry& entry : entries) {
    const std::string& name = entry.ref_name;
    if (name.empty()) continue;
    available += (available.empty() ? "" : ", ") + name;
    if (!wanted.empty() && name != wanted) continue;
    auto [repository, tag] = SplitRefName(name);
    images.push_back(SourceImage{.display = display_prefix + ":" + name,
                                 .repository = std::move(repository),
                                 .tag = std::move(tag),
                                 .digest = entry.digest,
                                 .media_type = std::move(entry.media_type)});
  }
  if (!images.empty()) return images;
  if (wanted.empty()) return Status::NotFound(where + " has no tagged image");
  return Status::NotFound("tag '" + wanted + "' not found in " + where +
                          (available.empty() ? std::string(" (it has no tags)")
                                             : " (tags: " + available + ")"));
}

}  // namespace sluice
