// What format/SPEC.md section 4 requires of a delta blob's fields beyond
// their parsing (known codes, parameters in range for their encoding, one
// RFC 1952 gzip header), for the catalog's validation.
#pragma once

#include <string>
#include <string_view>

#include "format/catalog.h"

namespace sluice::format {

// Whether `header` is exactly one RFC 1952 member header: magic, deflate,
// no reserved flag, and the optional fields its flags announce, ending
// where the bytes end.
bool IsGzipHeader(std::string_view header);

// The problem with delta blob `b`'s fields ("has unknown delta codec 7"),
// or an empty string. Whether its base is shipped by the same bundle is
// the catalog's to check.
std::string DeltaProblem(const BlobEntry& b);

}  // namespace sluice::format
