// libFuzzer target: arbitrary bytes as a ledger file, loaded the way every
// `sluice export` and `sluice ledger` loads one (Ledger::Load, here from an
// in-memory file system).
//
// Beyond "no crash, no leak, no UB, no exception" it checks that a ledger
// that loads saves and loads back to the same id, sequence, blobs, bundles
// and pending record.
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "io/atomic_file.h"
#include "io/memory_file_system.h"
#include "ledger.h"

using namespace sluice;
using fuzz::Check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  io::MemoryFileSystem fs;
  Check(io::WriteFileAtomically(&fs, "/l.ledger", io::ByteView(data, size)).ok());
  auto ledger = Ledger::Load(&fs, "/l.ledger");
  if (!ledger.ok()) return 0;
  Check(ledger->Save(&fs, "/again.ledger").ok());
  auto again = Ledger::Load(&fs, "/again.ledger");
  Check(again.ok());
  Check(again->id() == ledger->id() && again->sequence() == ledger->sequence());
  Check(again->blob_count() == ledger->blob_count());
  Check(again->bundles().size() == ledger->bundles().size());
  Check(again->pending().has_value() == ledger->pending().has_value());
  if (ledger->pending()) {
    Check(again->pending()->output == ledger->pending()->output);
    Check(again->pending()->shipped == ledger->pending()->shipped);
  }
  return 0;
}
