#include "reference/tag_pattern.h"

namespace sluice {

Result<TagPattern> TagPattern::Parse(std::string_view pattern) {
  if (pattern.empty()) {
    return Status::InvalidArgument(
        "an empty tag pattern matches no tag; write one, e.g. 1\\.2\\..*");
  }
  try {
    auto regex =
        std::make_shared<const std::regex>(pattern.begin(), pattern.end(), std::regex::ECMAScript);
    return TagPattern(std::string(pattern), std::move(regex));
  } catch (const std::regex_error& e) {
    return Status::InvalidArgument(
        "tag pattern '" + std::string(pattern) +
        "' is not a regular expression (ECMAScript syntax): " + e.what());
  }
}

Result<bool> TagPattern::Matches(std::string_view tag) const {
  try {
    return std::regex_match(tag.begin(), tag.end(), *regex_);
  } catch (const std::regex_error& e) {
    return Status::InvalidArgument("tag pattern '" + text_ + "' could not be matched against '" +
                                   std::string(tag) + "': " + e.what());
  }
}

}  // namespace sluice
