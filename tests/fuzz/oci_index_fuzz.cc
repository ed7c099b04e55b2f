// libFuzzer target: arbitrary bytes as an OCI layout's index.json, parsed
// the way the oci: and oci-archive: sources, the layout sink and `sluice
// inventory` read one (oci::ParseIndex).
//
// Beyond "no crash, no leak, no UB, no exception" it checks that every entry
// of an index that parses has a valid sha256 digest.
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "oci/layout.h"

using namespace sluice;
using fuzz::Check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::AsText(data, size);
  auto entries = oci::ParseIndex(text, "<fuzz> index.json");
  if (!entries.ok()) {
    Check(entries.status().IsCorruption());
    return 0;
  }
  for (const oci::IndexEntry& e : *entries) Check(format::Digest::Parse(e.digest.str()).ok());
  return 0;
}
