// libFuzzer target: arbitrary bytes as an inventory file, parsed the way
// `sluice ledger rebuild --from-inventory` reads one (ParseInventory).
//
// Beyond "no crash, no leak, no UB, no exception" it checks that an
// inventory that parses serialises and parses back to the same blobs, tags,
// damage notes and destination.
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "inventory.h"

using namespace sluice;
using fuzz::Check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::AsText(data, size);
  auto inventory = ParseInventory(text, "<fuzz>");
  if (!inventory.ok()) return 0;
  auto again = ParseInventory(SerializeInventory(*inventory), "<again>");
  Check(again.ok());
  Check(again->destination == inventory->destination);
  Check(again->created_unix == inventory->created_unix);
  Check(again->blobs.size() == inventory->blobs.size());
  for (size_t i = 0; i < again->blobs.size(); ++i) {
    Check(again->blobs[i].digest == inventory->blobs[i].digest);
    Check(again->blobs[i].size == inventory->blobs[i].size);
  }
  Check(again->tags.size() == inventory->tags.size());
  for (size_t i = 0; i < again->tags.size(); ++i) {
    Check(again->tags[i].name == inventory->tags[i].name);
    Check(again->tags[i].digest == inventory->tags[i].digest);
    Check(again->tags[i].complete == inventory->tags[i].complete);
  }
  Check(again->damaged == inventory->damaged);
  return 0;
}
