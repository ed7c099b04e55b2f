#include "image_changes.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>

namespace sluice {
namespace {

// The name an image is imported as: (repository, tag), or (repository,
// "@digest") when pinned, as the catalog tells refs apart (format/SPEC.md).
std::pair<std::string, std::string> NameOf(const Ledger::BundleImage& image) {
  return {image.repository, image.tag.empty() ? "@" + image.digest.str() : image.tag};
}

}  // namespace

size_t ImageChanges::Count(ImageChange::Kind kind) const {
  return static_cast<size_t>(std::count_if(
      changes.begin(), changes.end(), [kind](const ImageChange& c) { return c.kind == kind; }));
}

ImageChanges CompareWithLastBundle(const std::vector<Ledger::BundleImage>& planned,
                                   const Ledger& ledger) {
  ImageChanges result;
  const Ledger::BundleRecord* last = ledger.bundles().empty() ? nullptr : &ledger.bundles().back();
  if (last != nullptr) {
    result.since_sequence = last->sequence;
    result.since_created_unix = last->created_unix;
    if (!last->images) {
      result.comparable = false;
      return result;
    }
  }
  std::map<std::pair<std::string, std::string>, const Ledger::BundleImage*> before;
  if (last != nullptr) {
    for (const Ledger::BundleImage& image : *last->images) before.emplace(NameOf(image), &image);
  }
  std::set<std::pair<std::string, std::string>> now;
  for (const Ledger::BundleImage& image : planned) {
    auto name = NameOf(image);
    now.insert(name);
    ImageChange change;
    change.image = image;
    auto it = before.find(name);
    if (it == before.end()) {
      change.kind = ImageChange::Kind::kAdded;
    } else if (it->second->digest != image.digest) {
      change.kind = ImageChange::Kind::kRepointed;
      change.previous = it->second->digest;
    } else {
      change.kind = ImageChange::Kind::kUnchanged;
    }
    result.changes.push_back(std::move(change));
  }
  if (last != nullptr) {
    for (const Ledger::BundleImage& image : *last->images) {
      if (now.contains(NameOf(image))) continue;
      result.changes.push_back({ImageChange::Kind::kRemoved, image, {}});
    }
  }
  return result;
}

const char* ImageChangeName(ImageChange::Kind kind) {
  switch (kind) {
    case ImageChange::Kind::kAdded:
      return "added";
    case ImageChange::Kind::kRepointed:
      return "re-pointed";
    case ImageChange::Kind::kUnchanged:
      return "unchanged";
    case ImageChange::Kind::kRemoved:
      return "removed";
  }
  return "?";
}

}  // namespace sluice
