// libFuzzer target: arbitrary bytes as a ledger file, loaded the way every
// `sluice export` and `sluice ledger` loads one (Ledger::Load, here from an
// in-memory file system).
//
// Beyond "no crash, no leak, no UB, no exception" it checks that a ledger
// that loads saves and loads back to the same id, sequence, blobs (with
// their records), bundles (with the images they carried) and pending record.
//
// A version 2 file ends with a checksum of everything before it, which a
// mutation almost never keeps right: the input is also loaded with its last
// 8 bytes replaced by the right checksum, so that the fuzzer gets past it to
// the header, the records and the metadata.
#include <cstdint>
#include <string>

#include "format/checksum.h"
#include "format/endian.h"
#include "fuzz_check.h"
#include "io/atomic_file.h"
#include "io/memory_file_system.h"
#include "ledger.h"
#include "ledger_file.h"

using namespace sluice;
using fuzz::Check;

namespace {

void CheckRoundTrip(io::ByteView bytes) {
  io::MemoryFileSystem fs;
  Check(io::WriteFileAtomically(&fs, "/l.ledger", bytes).ok());
  auto ledger = Ledger::Load(&fs, "/l.ledger");
  if (!ledger.ok()) return;
  Check(ledger->Save(&fs, "/again.ledger").ok());
  auto again = Ledger::Load(&fs, "/again.ledger");
  Check(again.ok());
  Check(again->id() == ledger->id() && again->sequence() == ledger->sequence());
  Check(again->blobs() == ledger->blobs());
  Check(again->bundles().size() == ledger->bundles().size());
  for (size_t i = 0; i < ledger->bundles().size(); ++i) {
    Check(again->bundles()[i].sequence == ledger->bundles()[i].sequence);
    Check(again->bundles()[i].bundle_id == ledger->bundles()[i].bundle_id);
    Check(again->bundles()[i].images == ledger->bundles()[i].images);
  }
  Check(again->pending().has_value() == ledger->pending().has_value());
  if (ledger->pending()) {
    Check(again->pending()->output == ledger->pending()->output);
    Check(again->pending()->shipped == ledger->pending()->shipped);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckRoundTrip(io::ByteView(data, size));
  const std::string_view magic = ledger_file::kMagic;
  if (size >= magic.size() + ledger_file::kChecksumSize &&
      std::string_view(reinterpret_cast<const char*>(data), magic.size()) == magic) {
    std::string fixed(reinterpret_cast<const char*>(data), size - ledger_file::kChecksumSize);
    format::PutU64(&fixed, format::Xxh3(io::AsBytes(fixed)));
    CheckRoundTrip(io::AsBytes(fixed));
  }
  return 0;
}
