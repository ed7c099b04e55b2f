// Sizes as people write them on a command line ("10M", "1.5G", "500k",
// "4.7GiB", "1048576"): one grammar for every option that takes bytes
// (export --rate-limit, and the volume size of split bundles to come).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "io/status.h"

namespace sluice {

// Parses DIGITS[.DIGITS][UNIT] into bytes. UNIT is a power of 1024:
//   K, k, KiB  2^10      M, m, MiB  2^20
//   G, g, GiB  2^30      T, t, TiB  2^40      B or none  1
// A fraction needs a unit and is rounded down to whole bytes ("1.5K" is
// 1536, "4.7G" 5046586572). 0 is a size; whether it makes sense is for the
// caller to say. kInvalidArgument, with a message that quotes `text` and
// says what is wrong, for anything else: an empty text, a sign ("-1"),
// spaces, a unit it does not know (among them "MB" and "KB", which could
// mean powers of 1000 as well), more than 18 decimals, or a size above
// 2^64 - 1 bytes.
Result<uint64_t> ParseByteSize(std::string_view text);

// A size for people, in the same units: "512 B", "1.5 MiB", "85.2 GiB".
std::string HumanBytes(uint64_t bytes);

}  // namespace sluice
