// The names a bundle's refs carry (format::RefEntry: repository and tag), and
// the one rule for which of them are valid. verify and import both apply it
// to every ref before anything is written, and every sink applies it to the
// name the image gets there, so no two places can disagree on a name.
//
//   repository set    a registry name: the repository under the distribution
//                     grammar (ValidateRepository) and the tag under its tag
//                     grammar (IsValidTag): "library/alpine" "3.19"
//   repository empty  an OCI layout's name: the tag is a whole OCI ref.name
//                     (IsValidOciRefName): "" "app:1.0"
//   tag empty         pinned: the image is known by its digest only and gets
//                     no tag anywhere ("library/alpine" "" is alpine@sha256:...)
//
// Pure functions: no I/O.
#pragma once

#include <string>
#include <string_view>

#include "io/status.h"

namespace sluice {

// Ok, or kInvalidArgument naming the part that is wrong (names quoted with
// QuoteName, so a hostile name cannot garble a message or a terminal).
Status CheckRefName(std::string_view repository, std::string_view tag);

// "repository:tag", "tag" without a repository, "repository" when pinned:
// the name as an OCI ref.name or a message shows it.
std::string JoinRefName(std::string_view repository, std::string_view tag);

// A name from untrusted input, quoted for a message: printable ASCII as is,
// other bytes as \xNN, and long names cut short.
std::string QuoteName(std::string_view name);

}  // namespace sluice
