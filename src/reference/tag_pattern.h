// A tag pattern: which tags of a repository to take (a mirror config's
// tagPattern), as a regular expression in ECMAScript syntax (the grammar of
// JavaScript) that must match the whole tag, as if written between ^ and $:
// "1\.2\.[0-9]+" takes 1.2.0 and 1.2.15, not 11.2.0 or 1.2.3-debug.
//
// Whole-tag matching, not a search, because a pattern that matches a part of
// a tag takes more images than its writer meant, and each costs bytes on the
// far side. std::regex reports a bad pattern, and a match it cannot finish,
// by throwing: both are caught here and become a Status, so nothing above
// sees an exception.
#pragma once

#include <memory>
#include <regex>
#include <string>
#include <string_view>

#include "io/status.h"

namespace sluice {

class TagPattern {
 public:
  // kInvalidArgument naming the pattern and what is wrong with it.
  static Result<TagPattern> Parse(std::string_view pattern);

  // Whether `tag` matches as a whole. kInvalidArgument when the regex
  // engine gives up on it (a pattern too complex for a tag that long).
  Result<bool> Matches(std::string_view tag) const;

  // The pattern as written.
  const std::string& text() const { return text_; }

 private:
  TagPattern(std::string text, std::shared_ptr<const std::regex> regex)
      : text_(std::move(text)), regex_(std::move(regex)) {}

  std::string text_;
  // Shared: a compiled regex is immutable, and a pattern is copied with the
  // source refs that carry it.
  std::shared_ptr<const std::regex> regex_;
};

}  // namespace sluice
