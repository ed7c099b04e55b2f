#include "byte_size.h"

#include <array>
#include <cstdio>
#include <limits>
#include <string>

namespace sluice {
namespace {

// A size times its unit fits in 128 bits: 2^64 * 2^40 < 2^128.
__extension__ using Wide = unsigned __int128;

constexpr size_t kMaxDecimals = 18;  // 10^18 < 2^64

struct Unit {
  std::string_view name;
  uint64_t bytes;
};
constexpr std::array<Unit, 14> kUnits = {{
    {"", 1},
    {"B", 1},
    {"K", uint64_t{1} << 10},
    {"k", uint64_t{1} << 10},
    {"KiB", uint64_t{1} << 10},
    {"M", uint64_t{1} << 20},
    {"m", uint64_t{1} << 20},
    {"MiB", uint64_t{1} << 20},
    {"G", uint64_t{1} << 30},
    {"g", uint64_t{1} << 30},
    {"GiB", uint64_t{1} << 30},
    {"T", uint64_t{1} << 40},
    {"t", uint64_t{1} << 40},
    {"TiB", uint64_t{1} << 40},
}};

constexpr std::string_view kGrammar =
    "a number of bytes with an optional unit K, M, G or T (powers of 1024; also k, m, g, t "
    "and KiB, MiB, GiB, TiB), e.g. 1048576, 500K, 10M or 1.5G";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string Quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

}  // namespace

Result<uint64_t> ParseByteSize(std::string_view text) {
  if (text.empty()) {
    return Status::InvalidArgument("an empty size; expected " + std::string(kGrammar));
  }
  if (text.front() == '-') {
    return Status::InvalidArgument(Quoted(text) + " is negative; a size is 0 bytes or more");
  }
  constexpr Wide kMax = std::numeric_limits<uint64_t>::max();
  size_t at = 0;
  // The whole part, stopped from growing once it is past any size.
  Wide whole = 0;
  while (at < text.size() && IsDigit(text[at])) {
    if (whole <= kMax) whole = whole * 10 + static_cast<unsigned>(text[at] - '0');
    ++at;
  }
  if (at == 0) {
    return Status::InvalidArgument(Quoted(text) + " is not a size; expected " +
                                   std::string(kGrammar));
  }
  // The fraction as numerator / 10^decimals.
  uint64_t numerator = 0;
  uint64_t denominator = 1;
  bool fraction = false;
  if (at < text.size() && text[at] == '.') {
    size_t first = ++at;
    while (at < text.size() && IsDigit(text[at])) {
      if (at - first == kMaxDecimals) {
        return Status::InvalidArgument(Quoted(text) + " has more than " +
                                       std::to_string(kMaxDecimals) + " decimals");
      }
      numerator = numerator * 10 + static_cast<unsigned>(text[at] - '0');
      denominator *= 10;
      ++at;
    }
    if (at == first) {
      return Status::InvalidArgument(Quoted(text) + " is not a size; expected " +
                                     std::string(kGrammar));
    }
    fraction = true;
  }
  std::string_view unit_name = text.substr(at);
  const Unit* unit = nullptr;
  for (const Unit& u : kUnits) {
    if (u.name == unit_name) unit = &u;
  }
  if (unit == nullptr) {
    return Status::InvalidArgument(Quoted(text) + " has an unknown unit " + Quoted(unit_name) +
                                   "; expected " + std::string(kGrammar));
  }
  if (fraction && unit->bytes == 1) {
    return Status::InvalidArgument(Quoted(text) +
                                   " is a fraction of a byte; give whole bytes, or a unit "
                                   "(e.g. 1.5K)");
  }
  Wide bytes =
      whole > kMax ? kMax + 1 : whole * unit->bytes + Wide{numerator} * unit->bytes / denominator;
  if (bytes > kMax) {
    return Status::InvalidArgument(Quoted(text) + " is too large; a size is at most " +
                                   std::to_string(std::numeric_limits<uint64_t>::max()) +
                                   " bytes (16 EiB - 1)");
  }
  return static_cast<uint64_t>(bytes);
}

std::string HumanBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", value, kUnits[unit]);
  return buf;
}

}  // namespace sluice
