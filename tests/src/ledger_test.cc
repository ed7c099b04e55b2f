#include "ledger.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <random>

#include "format/checksum.h"
#include "format/endian.h"
#include "io/atomic_file.h"
#include "io/fault_injection_file_system.h"
#include "io/memory_file_system.h"
#include "ledger_file.h"
#include "test_support.h"

using namespace sluice;
using sluice::testing::TempDir;
namespace lf = sluice::ledger_file;

namespace {

std::vector<format::Digest> RandomDigests(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<format::Digest> digests;
  for (size_t i = 0; i < n; ++i) {
    std::array<uint8_t, 32> raw;
    for (uint8_t& b : raw) b = static_cast<uint8_t>(rng());
    digests.push_back(format::Digest::FromRaw(raw));
  }
  return digests;
}

format::BundleHeader Bundle(uint64_t sequence) {
  format::BundleHeader header;
  header.sequence = sequence;
  header.bundle_id[0] = static_cast<uint8_t>(sequence);
  header.created_unix = 1700000000 + sequence;
  return header;
}

// Three blobs over two bundles, and a third bundle pending: every part of
// the file has something in it.
Ledger SmallLedger() {
  Ledger ledger = Ledger::Create();
  ledger.RecordBundle(Bundle(1), {format::Sha256::Of("config"), format::Sha256::Of("layer")});
  ledger.RecordBundle(Bundle(2), {format::Sha256::Of("layer 2")});
  ledger.SetPending({{3, std::string(32, 'c'), 1700000003, 1},
                     "/srv/out/3.sluice",
                     {format::Sha256::Of("layer 3")}});
  return ledger;
}

void CheckSameLedger(const Ledger& a, const Ledger& b) {
  CHECK(a.id() == b.id());
  CHECK(a.sequence() == b.sequence());
  CHECK(a.blobs() == b.blobs());
  REQUIRE(a.bundles().size() == b.bundles().size());
  for (size_t i = 0; i < a.bundles().size(); ++i) {
    CHECK(a.bundles()[i].sequence == b.bundles()[i].sequence);
    CHECK(a.bundles()[i].bundle_id == b.bundles()[i].bundle_id);
    CHECK(a.bundles()[i].created_unix == b.bundles()[i].created_unix);
    CHECK(a.bundles()[i].blobs == b.bundles()[i].blobs);
    CHECK(a.bundles()[i].confirmed_unix == b.bundles()[i].confirmed_unix);
    CHECK(a.bundles()[i].receipt_unix == b.bundles()[i].receipt_unix);
    CHECK(a.bundles()[i].images == b.bundles()[i].images);
  }
  REQUIRE(a.pending().has_value() == b.pending().has_value());
  if (a.pending()) {
    CHECK(a.pending()->record.sequence == b.pending()->record.sequence);
    CHECK(a.pending()->record.bundle_id == b.pending()->record.bundle_id);
    CHECK(a.pending()->output == b.pending()->output);
    CHECK(a.pending()->shipped == b.pending()->shipped);
    CHECK(a.pending()->record.images == b.pending()->record.images);
  }
}

// The bytes Save writes for `ledger`.
std::string Saved(const Ledger& ledger) {
  io::MemoryFileSystem fs;
  REQUIRE(ledger.Save(&fs, "/l.ledger").ok());
  auto bytes = io::ReadSmallFile(&fs, "/l.ledger", 1 << 20);
  REQUIRE(bytes.ok());
  return *bytes;
}

Result<Ledger> LoadBytes(const std::string& bytes) {
  io::MemoryFileSystem fs;
  REQUIRE(io::WriteFileAtomically(&fs, "/l.ledger", io::AsBytes(bytes)).ok());
  return Ledger::Load(&fs, "/l.ledger");
}

void CheckCorruption(const Result<Ledger>& loaded, const std::string& mention) {
  REQUIRE_FALSE(loaded.ok());
  INFO(loaded.status().message());
  CHECK(loaded.status().IsCorruption());
  CHECK(loaded.status().message().find("ledger /l.ledger") != std::string::npos);
  CHECK(loaded.status().message().find(mention) != std::string::npos);
}

// A version 2 file as a writer of a later version might lay it out:
// `header_size` and `record_size` at least what version 2 writes, the bytes
// beyond filled with `filler`, and a correct checksum.
struct Forged {
  uint32_t version = lf::kVersion;
  uint32_t header_size = lf::kHeaderSize;
  uint32_t record_size = lf::kRecordSize;
  std::string metadata = R"({"ledger_id":"00112233445566778899aabbccddeeff","sequence":2})";
  std::vector<Ledger::BlobRecord> records;
  char filler = '\x5a';

  std::string Bytes() const {
    std::string out(lf::kMagic);
    format::PutU32(&out, version);
    format::PutU32(&out, header_size);
    format::PutU32(&out, record_size);
    format::PutU32(&out, 0);
    format::PutU64(&out, records.size());
    format::PutU64(&out, metadata.size());
    out.resize(std::max<size_t>(out.size(), header_size), filler);
    out += metadata;
    for (const Ledger::BlobRecord& r : records) {
      std::string record(reinterpret_cast<const char*>(r.digest.data()), r.digest.size());
      format::PutU64(&record, r.sent_sequence);
      format::PutU64(&record, r.delivered_sequence);
      record.resize(std::max<size_t>(record.size(), record_size), filler);
      out += record.substr(0, record_size);
    }
    format::PutU64(&out, format::Xxh3(io::AsBytes(out)));
    return out;
  }
};

// Records in order of digest: 0x01.., 0x02.., ...
std::vector<Ledger::BlobRecord> SortedRecords(size_t n) {
  std::vector<Ledger::BlobRecord> records(n);
  for (size_t i = 0; i < n; ++i) {
    records[i].digest.fill(static_cast<uint8_t>(i + 1));
    records[i].sent_sequence = 1 + i % 2;
  }
  return records;
}

}  // namespace

TEST_CASE("a missing ledger loads as a fresh one with sequence 0") {
  TempDir tmp;
  auto ledger = Ledger::Load(io::DefaultFileSystem(), tmp / "ledger.json");
  REQUIRE(ledger.ok());
  CHECK(ledger->sequence() == 0);
  CHECK(ledger->blob_count() == 0);
}

TEST_CASE("a saved ledger loads back with its id, sequence and blobs") {
  TempDir tmp;
  Ledger ledger = Ledger::Create();
  format::BundleHeader header;
  header.sequence = 1;
  format::Digest d = format::Sha256::Of("layer");
  ledger.RecordBundle(header, {d});
  REQUIRE(ledger.Save(io::DefaultFileSystem(), tmp / "ledger.json").ok());

  auto loaded = Ledger::Load(io::DefaultFileSystem(), tmp / "ledger.json");
  REQUIRE(loaded.ok());
  CHECK(loaded->id() == ledger.id());
  CHECK(loaded->sequence() == 1);
  CHECK(loaded->Contains(d));
  CHECK_FALSE(loaded->Contains(format::Sha256::Of("other")));
}

TEST_CASE("a damaged ledger is corruption naming the file, never a fresh ledger") {
  TempDir tmp;
  std::string path = tmp / "ledger.json";
  for (
      const char* text :
      {"", "{", "[]", R"({"format":"other","version":1})",
       R"({"format":"sluice-ledger","version":1,"ledger_id":"zz","sequence":0,"blobs":{}})",
       R"({"format":"sluice-ledger","version":1,"ledger_id":"00000000000000000000000000000000","sequence":0,"blobs":{"sha256:x":1}})"}) {
    INFO(text);
    testing::WriteFile(path, text);
    auto ledger = Ledger::Load(io::DefaultFileSystem(), path);
    REQUIRE_FALSE(ledger.ok());
    CHECK(ledger.status().IsCorruption());
    CHECK(ledger.status().message().find(path) != std::string::npos);
  }
}

TEST_CASE("a ledger of a newer version is refused naming the version") {
  TempDir tmp;
  testing::WriteFile(tmp / "l.json", R"({"format":"sluice-ledger","version":7})");
  auto ledger = Ledger::Load(io::DefaultFileSystem(), tmp / "l.json");
  REQUIRE_FALSE(ledger.ok());
  CHECK(ledger.status().kind() == ErrorKind::kUnsupported);
  CHECK(ledger.status().message().find("7") != std::string::npos);
}

TEST_CASE("a symlinked ledger is saved through to its target and stays a link") {
  TempDir tmp;
  testing::WriteFile(tmp / "shared/.keep", "");
  const std::string target = tmp / "shared/site-a.ledger";
  const std::string link = tmp / "ledger.json";
  REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
  REQUIRE(Ledger::Create().Save(io::DefaultFileSystem(), target).ok());

  auto ledger = Ledger::Load(io::DefaultFileSystem(), link);
  REQUIRE(ledger.ok());
  format::BundleHeader header;
  header.sequence = 1;
  ledger->RecordBundle(header, {format::Sha256::Of("layer")});
  REQUIRE(ledger->Save(io::DefaultFileSystem(), link).ok());

  struct stat st;
  REQUIRE(::lstat(link.c_str(), &st) == 0);
  CHECK(S_ISLNK(st.st_mode));
  auto shared = Ledger::Load(io::DefaultFileSystem(), target);
  REQUIRE(shared.ok());
  CHECK(shared->sequence() == 1);
  CHECK(shared->id() == ledger->id());
  auto lock = Ledger::LockPath(io::DefaultFileSystem(), link);
  REQUIRE(lock.ok());
  CHECK(*lock == target + ".lock");
}

TEST_CASE("a ledger in a directory that does not exist cannot be locked, and says so") {
  TempDir tmp;
  const std::string path = tmp / "ledgers/site-a.ledger";
  auto ledger = Ledger::LoadLocked(io::DefaultFileSystem(), path, "sluice export");
  REQUIRE_FALSE(ledger.ok());
  CHECK(ledger.status().IsNotFound());
  CHECK(ledger.status().message() == "cannot use ledger " + path + ": directory " +
                                         tmp / "ledgers" + " does not exist; create it first");
}

TEST_CASE("a ledger of many blobs saves and loads back record for record") {
  io::MemoryFileSystem fs;
  Ledger ledger = Ledger::Create();
  std::vector<format::Digest> first = RandomDigests(50000, 1);
  std::vector<format::Digest> second = RandomDigests(20000, 2);
  second.push_back(first[7]);  // shipped again: keeps the bundle that first shipped it
  ledger.RecordBundle(Bundle(1), first);
  ledger.RecordBundle(Bundle(2), second);
  REQUIRE(ledger.blob_count() == 70000);
  REQUIRE(ledger.Save(&fs, "/l.ledger").ok());
  auto size = fs.Stat("/l.ledger");
  REQUIRE(size.ok());
  CHECK(size->size < lf::kHeaderSize + 1024 + 70000 * lf::kRecordSize + lf::kChecksumSize);

  auto loaded = Ledger::Load(&fs, "/l.ledger");
  REQUIRE(loaded.ok());
  CheckSameLedger(*loaded, ledger);
  CHECK(loaded->SentSequence(first[7]) == 1u);
  CHECK(loaded->SentSequence(second[0]) == 2u);
  CHECK(loaded->SentSequence(format::Sha256::Of("never shipped")) == std::nullopt);
  for (size_t i = 0; i < first.size(); i += 997) CHECK(loaded->Contains(first[i]));
  for (size_t i = 0; i < second.size(); i += 997) CHECK(loaded->Contains(second[i]));
  for (const format::Digest& d : RandomDigests(100, 3)) CHECK_FALSE(loaded->Contains(d));
  CHECK_FALSE(loaded->Contains(format::Digest()));
}

TEST_CASE("recording a bundle merges its blobs into order, each digest once") {
  Ledger ledger = Ledger::Create();
  std::vector<format::Digest> digests = RandomDigests(300, 4);
  ledger.RecordBundle(Bundle(1), {digests.begin(), digests.begin() + 100});
  // Overlapping, repeated and out of order.
  std::vector<format::Digest> next(digests.rbegin(), digests.rend());
  next.push_back(digests[150]);
  ledger.RecordBundle(Bundle(2), next);
  REQUIRE(ledger.blob_count() == 300);
  for (size_t i = 1; i < ledger.blobs().size(); ++i) {
    CHECK(ledger.blobs()[i - 1].digest < ledger.blobs()[i].digest);
  }
  CHECK(ledger.SentSequence(digests[99]) == 1u);
  CHECK(ledger.SentSequence(digests[100]) == 2u);
  CHECK(ledger.bundles().back().blobs == next.size());
}

TEST_CASE("rebuilding keeps the records of blobs still held and drops the others") {
  std::vector<Ledger::BlobRecord> records = SortedRecords(3);
  records[1].delivered_sequence = 2;
  Forged forged;
  forged.records = records;
  auto ledger = LoadBytes(forged.Bytes());
  REQUIRE(ledger.ok());
  format::Digest kept = format::Digest::FromRaw(records[1].digest);
  format::Digest added = format::Sha256::Of("new at the far side");
  ledger->ReplaceBlobs({added, kept, added});
  REQUIRE(ledger->blob_count() == 2);
  CHECK_FALSE(ledger->Contains(format::Digest::FromRaw(records[0].digest)));
  CHECK(ledger->SentSequence(added) == ledger->sequence());
  // Its whole record, the receipt's sequence included.
  CHECK(std::find(ledger->blobs().begin(), ledger->blobs().end(), records[1]) !=
        ledger->blobs().end());
}

TEST_CASE("a ledger is saved as version 2: magic, header, metadata, records, checksum") {
  Ledger ledger = SmallLedger();
  std::string bytes = Saved(ledger);
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  CHECK(bytes.substr(0, 8) == "SLUICELG");
  CHECK(format::LoadU32(p + lf::kVersionOffset) == 2);
  CHECK(format::LoadU32(p + lf::kHeaderSizeOffset) == 40);
  CHECK(format::LoadU32(p + lf::kRecordSizeOffset) == 48);
  CHECK(format::LoadU32(p + lf::kReservedOffset) == 0);
  CHECK(format::LoadU64(p + lf::kRecordCountOffset) == 3);
  const uint64_t metadata_size = format::LoadU64(p + lf::kMetadataSizeOffset);
  CHECK(bytes.size() == 40 + metadata_size + 3 * 48 + 8);
  CHECK(bytes.substr(40, metadata_size).find("\"pending\"") != std::string::npos);
  const uint8_t* first_record = p + 40 + metadata_size;
  CHECK(std::memcmp(first_record, ledger.blobs()[0].digest.data(), 32) == 0);
  CHECK(format::LoadU64(first_record + 32) == ledger.blobs()[0].sent_sequence);
  CHECK(format::LoadU64(p + bytes.size() - 8) ==
        format::Xxh3(io::AsBytes(std::string_view(bytes).substr(0, bytes.size() - 8))));
  // The same ledger saves to the same bytes: a dropped pending record gives
  // back the file from before it, byte for byte.
  CHECK(Saved(ledger) == bytes);
}

TEST_CASE("every byte of a ledger file flipped is corruption naming the file") {
  Ledger ledger = SmallLedger();
  const std::string good = Saved(ledger);
  REQUIRE(LoadBytes(good).ok());
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t flip : {0x01, 0x80, 0xff}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ flip);
      INFO("byte " << i << " ^ " << int(flip));
      auto loaded = LoadBytes(bad);
      // The checksum covers every byte before it: no flip is harmless.
      CheckCorruption(loaded, "");
    }
  }
}

TEST_CASE("a ledger file cut short at any length, or with a byte more, is corruption") {
  const std::string good = Saved(SmallLedger());
  for (size_t n = 0; n < good.size(); ++n) {
    INFO("length " << n);
    CheckCorruption(LoadBytes(good.substr(0, n)), "");
  }
  CheckCorruption(LoadBytes(good + '\0'), "accounts for " + std::to_string(good.size()));
}

TEST_CASE("a ledger whose records are out of order or repeated is corruption naming the record") {
  Forged forged;
  forged.records = SortedRecords(4);
  REQUIRE(LoadBytes(forged.Bytes()).ok());
  const uint64_t first_record = lf::kHeaderSize + forged.metadata.size();
  SECTION("two records swapped") {
    std::swap(forged.records[2], forged.records[3]);
    CheckCorruption(LoadBytes(forged.Bytes()),
                    "record 3 (at byte " + std::to_string(first_record + 3 * 48) + ", sha256:" +
                        format::HexEncode(forged.records[3].digest) + ") sorts before record 2");
  }
  SECTION("a digest twice") {
    forged.records[1].digest = forged.records[0].digest;
    CheckCorruption(LoadBytes(forged.Bytes()), "record 1 (at byte");
    CheckCorruption(LoadBytes(forged.Bytes()), "repeats record 0");
  }
}

TEST_CASE("a ledger with larger records and header than version 2 writes loads, extras ignored") {
  Forged forged;
  forged.header_size = 64;
  forged.record_size = 80;
  forged.records = SortedRecords(3);
  forged.records[0].delivered_sequence = 1;  // a receipt, kept as read
  auto loaded = LoadBytes(forged.Bytes());
  REQUIRE(loaded.ok());
  CHECK(loaded->blobs() == forged.records);
  CHECK(loaded->sequence() == 2);
  // Saved as version 2 lays it out: what it knows, and nothing else.
  Forged expected;
  expected.metadata =
      R"({"bundles":[],"ledger_id":"00112233445566778899aabbccddeeff","sequence":2})";
  expected.records = forged.records;
  CHECK(Saved(*loaded) == expected.Bytes());
}

TEST_CASE("a ledger whose header is out of bounds is corruption naming the field") {
  Forged forged;
  forged.records = SortedRecords(2);
  SECTION("records smaller than version 2's") {
    forged.record_size = 40;
    CheckCorruption(LoadBytes(forged.Bytes()), "record_size is 40, expected 48 to 4096");
  }
  SECTION("a header smaller than version 2's") {
    std::string bytes = forged.Bytes();
    format::StoreU32(reinterpret_cast<uint8_t*>(bytes.data()) + lf::kHeaderSizeOffset, 39);
    CheckCorruption(LoadBytes(bytes), "header_size is 39, expected 40 to 4096");
  }
  SECTION("a record count beyond the file") {
    std::string bytes = forged.Bytes();
    format::StoreU64(reinterpret_cast<uint8_t*>(bytes.data()) + lf::kRecordCountOffset,
                     UINT64_MAX / 2);
    CheckCorruption(LoadBytes(bytes), "record_count");
  }
  SECTION("a metadata size beyond the file") {
    std::string bytes = forged.Bytes();
    format::StoreU64(reinterpret_cast<uint8_t*>(bytes.data()) + lf::kMetadataSizeOffset, 1000);
    CheckCorruption(LoadBytes(bytes), "header accounts for");
  }
  SECTION("metadata that is not a JSON object") {
    forged.metadata = "[1]";
    CheckCorruption(LoadBytes(forged.Bytes()), "");
  }
}

TEST_CASE("a ledger of a newer version is refused as such, a damaged version field as damage") {
  Forged forged;
  forged.version = 3;
  auto newer = LoadBytes(forged.Bytes());
  REQUIRE_FALSE(newer.ok());
  CHECK(newer.status().kind() == ErrorKind::kUnsupported);
  CHECK(newer.status().message().find("version 3") != std::string::npos);

  std::string damaged = Forged{}.Bytes();
  damaged[lf::kVersionOffset] = 3;
  CheckCorruption(LoadBytes(damaged), "checksum does not match");
}

TEST_CASE("a version 1 ledger loads, and saves as version 2 with everything it held") {
  const std::string v1 = R"({
 "format": "sluice-ledger", "version": 1,
 "ledger_id": "e0e53f3050b860e73490d33b697b1daf",
 "sequence": 2,
 "blobs": {
  "sha256:e5a66c242e89ca1960aa66eaa9b52c32cfab6e9640b976b7cf6116bef49d7494": 1,
  "sha256:5aaa3b6d657f9c622db8064ced83081b0ae9fc03150d54d7b9d2c201072023e5": 2
 },
 "bundles": [
  {"sequence": 1, "bundle_id": "cd15e9c009e2768c81559f9b40115a50", "created_unix": 1796195525, "blobs": 1},
  {"sequence": 2, "bundle_id": "6d7ce9d0e549ae169ced83e6cb7e8842", "created_unix": 1796195526, "blobs": 1}
 ],
 "pending": {"sequence": 3, "bundle_id": "00000000000000000000000000000000",
  "created_unix": 1700000000, "blobs": 1, "output": "/srv/out/next.sluice",
  "shipped": ["sha256:7c4d17d2146c651313403cf2c890c85eb4083f512a23f96e4a7191c467476e9d"]}
})";
  auto loaded = LoadBytes(v1);
  REQUIRE(loaded.ok());
  CHECK(format::HexEncode(loaded->id()) == "e0e53f3050b860e73490d33b697b1daf");
  CHECK(loaded->sequence() == 2);
  REQUIRE(loaded->blob_count() == 2);
  auto digest = [](const char* hex) {
    return *format::Digest::Parse(std::string("sha256:") + hex);
  };
  const format::Digest a =
      digest("e5a66c242e89ca1960aa66eaa9b52c32cfab6e9640b976b7cf6116bef49d7494");
  const format::Digest b =
      digest("5aaa3b6d657f9c622db8064ced83081b0ae9fc03150d54d7b9d2c201072023e5");
  CHECK(loaded->SentSequence(a) == 1u);
  CHECK(loaded->SentSequence(b) == 2u);
  REQUIRE(loaded->bundles().size() == 2);
  CHECK(loaded->bundles()[1].bundle_id == "6d7ce9d0e549ae169ced83e6cb7e8842");
  CHECK(loaded->bundles()[1].created_unix == 1796195526);
  REQUIRE(loaded->pending());
  CHECK(loaded->pending()->record.sequence == 3);
  CHECK(loaded->pending()->output == "/srv/out/next.sluice");
  CHECK(loaded->pending()->shipped ==
        std::vector{digest("7c4d17d2146c651313403cf2c890c85eb4083f512a23f96e4a7191c467476e9d")});

  const std::string v2 = Saved(*loaded);
  CHECK(v2.substr(0, 8) == "SLUICELG");
  auto again = LoadBytes(v2);
  REQUIRE(again.ok());
  CheckSameLedger(*again, *loaded);
  CHECK(again->SentSequence(a) == 1u);
  CHECK(again->SentSequence(b) == 2u);
}

TEST_CASE("a file that is neither a version 2 ledger nor JSON is corruption saying so") {
  for (const std::string& text :
       std::vector<std::string>{"SLUICE", "  \n", "sluice ledger", std::string("\0\0\0", 3)}) {
    INFO(text);
    CheckCorruption(LoadBytes(text), "is not a ledger");
  }
}

TEST_CASE("a save that fails at any step leaves the ledger as it was and no temp file") {
  using Op = io::FaultInjectionFileSystem::Op;
  io::MemoryFileSystem memory;
  REQUIRE(memory.CreateDirs("/d").ok());
  Ledger ledger = Ledger::Create();
  ledger.RecordBundle(Bundle(1), RandomDigests(30000, 5));  // records in two chunks
  REQUIRE(ledger.Save(&memory, "/d/l.ledger").ok());
  auto before = io::ReadSmallFile(&memory, "/d/l.ledger", 16 << 20);
  REQUIRE(before.ok());
  ledger.RecordBundle(Bundle(2), RandomDigests(10, 6));
  // Appends: header, metadata, two chunks of records, checksum.
  for (auto [op, nth] : std::vector<std::pair<Op, int>>{{Op::kAppend, 1},
                                                        {Op::kAppend, 3},
                                                        {Op::kAppend, 4},
                                                        {Op::kAppend, 5},
                                                        {Op::kSync, 1},
                                                        {Op::kClose, 1},
                                                        {Op::kRename, 1}}) {
    INFO("call " << nth << " of op " << static_cast<int>(op) << " fails");
    io::FaultInjectionFileSystem faulty(&memory);
    faulty.FailNth(op, nth, ErrorKind::kNoSpace);
    Status saved = ledger.Save(&faulty, "/d/l.ledger");
    REQUIRE_FALSE(saved.ok());
    CHECK(saved.message().find("writing ledger /d/l.ledger") != std::string::npos);
    CHECK(io::ReadSmallFile(&memory, "/d/l.ledger", 16 << 20).value() == *before);
    auto names = memory.ListDir("/d");
    REQUIRE(names.ok());
    for (const std::string& name : *names) {
      CHECK(name.find(".tmp-") == std::string::npos);
    }
  }
  REQUIRE(ledger.Save(&memory, "/d/l.ledger").ok());
  auto after = Ledger::Load(&memory, "/d/l.ledger");
  REQUIRE(after.ok());
  CheckSameLedger(*after, ledger);
}

TEST_CASE("marking blobs delivered sets the receipt's bundle on the blobs the ledger holds only") {
  Ledger ledger = Ledger::Create();
  const format::Digest a = format::Sha256::Of("a"), b = format::Sha256::Of("b"),
                       c = format::Sha256::Of("c");
  ledger.RecordBundle(Bundle(1), {a, b});
  ledger.RecordBundle(Bundle(2), {c});
  const format::Digest stranger = format::Sha256::Of("never shipped");

  Ledger::Delivery d = ledger.MarkDelivered({a, stranger, a}, 1);
  CHECK(d.marked == 1);
  CHECK(d.already == 0);
  CHECK(d.not_held == 1);
  CHECK(ledger.Record(a)->delivered_sequence == 1);
  CHECK(ledger.Record(a)->sent_sequence == 1);
  CHECK(ledger.Record(b)->delivered_sequence == 0);
  CHECK_FALSE(ledger.Contains(stranger));
  CHECK(ledger.blob_count() == 3);
  CHECK(ledger.delivered_count() == 1);
}

TEST_CASE("a blob confirmed by an earlier bundle's receipt keeps it; a later one's gives way") {
  Ledger ledger = Ledger::Create();
  const format::Digest a = format::Sha256::Of("a"), b = format::Sha256::Of("b");
  ledger.RecordBundle(Bundle(1), {a, b});
  ledger.RecordBundle(Bundle(2), {});
  ledger.RecordBundle(Bundle(3), {});
  REQUIRE(ledger.MarkDelivered({a}, 2).marked == 1);
  REQUIRE(ledger.MarkDelivered({b}, 3).marked == 1);

  // The receipt of bundle 3 lists a too: a keeps 2.
  Ledger::Delivery later = ledger.MarkDelivered({a}, 3);
  CHECK(later.marked == 0);
  CHECK(later.already == 1);
  CHECK(ledger.Record(a)->delivered_sequence == 2);
  // The receipt of bundle 1 arrives last: both were delivered by bundle 1.
  Ledger::Delivery earlier = ledger.MarkDelivered({a, b}, 1);
  CHECK(earlier.marked == 2);
  CHECK(ledger.Record(a)->delivered_sequence == 1);
  CHECK(ledger.Record(b)->delivered_sequence == 1);
}

TEST_CASE("marking the same receipt's blobs delivered twice changes nothing the second time") {
  Ledger ledger = Ledger::Create();
  std::vector<format::Digest> digests = RandomDigests(200, 9);
  ledger.RecordBundle(Bundle(1), digests);
  REQUIRE(ledger.MarkDelivered(digests, 1).marked == 200);
  REQUIRE(ledger.ConfirmBundle(1, 1700000100, 1700000050));
  const std::string once = Saved(ledger);

  Ledger::Delivery again = ledger.MarkDelivered(digests, 1);
  CHECK(again.marked == 0);
  CHECK(again.already == 200);
  CHECK_FALSE(ledger.ConfirmBundle(1, 1700000999, 1700000999));
  CHECK(ledger.FindBundle(1)->confirmed_unix == 1700000100);
  CHECK(Saved(ledger) == once);
}

TEST_CASE("a confirmed bundle and its delivered blobs survive a save and a load") {
  io::MemoryFileSystem fs;
  Ledger ledger = SmallLedger();
  ledger.MarkDelivered({format::Sha256::Of("layer")}, 1);
  REQUIRE(ledger.ConfirmBundle(1, 1700000100, 1700000050));
  CHECK_FALSE(ledger.ConfirmBundle(9, 1700000100, 1700000050));  // not in the history
  REQUIRE(ledger.Save(&fs, "/l.ledger").ok());

  auto loaded = Ledger::Load(&fs, "/l.ledger");
  REQUIRE(loaded.ok());
  CheckSameLedger(*loaded, ledger);
  REQUIRE(loaded->FindBundle(1) != nullptr);
  CHECK(loaded->FindBundle(1)->confirmed());
  CHECK(loaded->FindBundle(1)->confirmed_unix == 1700000100);
  CHECK(loaded->FindBundle(1)->receipt_unix == 1700000050);
  CHECK_FALSE(loaded->FindBundle(2)->confirmed());
  CHECK(loaded->FindBundle(3) == nullptr);  // pending, not in the history yet
  CHECK(loaded->Record(format::Sha256::Of("layer"))->delivered_sequence == 1);
  CHECK(loaded->Record(format::Sha256::Of("config"))->delivered_sequence == 0);
}

TEST_CASE("a ledger with no confirmation is written as before receipts, without their members") {
  Ledger ledger = SmallLedger();
  std::string bytes = Saved(ledger);
  CHECK(bytes.find("confirmed_unix") == std::string::npos);
  CHECK(bytes.find("receipt_unix") == std::string::npos);
  REQUIRE(ledger.ConfirmBundle(2, 1700000100, 1700000050));
  bytes = Saved(ledger);
  CHECK(bytes.find(R"("confirmed_unix":1700000100)") != std::string::npos);
  CHECK(bytes.find(R"("receipt_unix":1700000050)") != std::string::npos);
}

TEST_CASE("a bundle record's confirmation of the wrong type is corruption naming the field") {
  Forged forged;
  forged.metadata = R"({"ledger_id":"00112233445566778899aabbccddeeff","sequence":1,)"
                    R"("bundles":[{"sequence":1,"bundle_id":"ab","confirmed_unix":"soon"}]})";
  CheckCorruption(LoadBytes(forged.Bytes()), "bundles[0].confirmed_unix");
}

namespace {

// The images of a bundle: what `sluice plan` compares with, and `ledger show`
// lists (ledger_file.h, "images").
std::vector<Ledger::BundleImage> Images(const std::string& tag_prefix, size_t n) {
  std::vector<Ledger::BundleImage> images;
  for (size_t i = 0; i < n; ++i) {
    const std::string tag = tag_prefix + std::to_string(i);
    images.push_back({"oci:/srv/images:app:" + tag, "app", tag, format::Sha256::Of(tag)});
  }
  return images;
}

}  // namespace

TEST_CASE("a bundle's images, and a pending bundle's, survive a save and a load") {
  io::MemoryFileSystem fs;
  Ledger ledger = Ledger::Create();
  ledger.RecordBundle(Bundle(1), {format::Sha256::Of("layer")}, Images("1.", 3));
  // Pinned by digest: no tag.
  ledger.RecordBundle(Bundle(2), {},
                      std::vector<Ledger::BundleImage>{
                          {"registry.example/team/app@" + format::Sha256::Of("x").str(),
                           "team/app", "", format::Sha256::Of("x")}});
  Ledger::PendingBundle pending{{3, std::string(32, 'c'), 1700000003, 1}, "/srv/out/3.sluice",
                                {format::Sha256::Of("layer 3")}};
  pending.record.images = Images("3.", 2);
  ledger.SetPending(pending);
  REQUIRE(ledger.Save(&fs, "/l.ledger").ok());

  auto loaded = Ledger::Load(&fs, "/l.ledger");
  REQUIRE(loaded.ok());
  CheckSameLedger(*loaded, ledger);
  REQUIRE(loaded->FindBundle(1)->images.has_value());
  CHECK(*loaded->FindBundle(1)->images == Images("1.", 3));
  REQUIRE(loaded->FindBundle(2)->images.has_value());
  CHECK(loaded->FindBundle(2)->images->at(0).tag.empty());
  CHECK(loaded->FindBundle(2)->images->at(0).repository == "team/app");

  // Once published, the pending bundle's images are its record's.
  loaded->CommitPending();
  REQUIRE(loaded->FindBundle(3) != nullptr);
  REQUIRE(loaded->FindBundle(3)->images.has_value());
  CHECK(*loaded->FindBundle(3)->images == Images("3.", 2));
}

TEST_CASE("a bundle recorded without its images says they were not recorded, not that it had none") {
  io::MemoryFileSystem fs;
  Ledger ledger = Ledger::Create();
  ledger.RecordBundle(Bundle(1), {});
  ledger.RecordBundle(Bundle(2), {}, std::vector<Ledger::BundleImage>{});
  REQUIRE(ledger.Save(&fs, "/l.ledger").ok());
  auto loaded = Ledger::Load(&fs, "/l.ledger");
  REQUIRE(loaded.ok());
  CHECK_FALSE(loaded->FindBundle(1)->images.has_value());
  REQUIRE(loaded->FindBundle(2)->images.has_value());
  CHECK(loaded->FindBundle(2)->images->empty());
  const std::string bytes = Saved(ledger);
  // One "images" member: bundle 2's.
  CHECK(bytes.find(R"("images")") == bytes.rfind(R"("images")"));
}

TEST_CASE("the images of a ledger's last bundles are kept, older bundles' are dropped") {
  Ledger ledger = Ledger::Create();
  const uint64_t bundles = Ledger::kBundlesWithImages + 5;
  for (uint64_t s = 1; s <= bundles; ++s) {
    ledger.RecordBundle(Bundle(s), {}, Images(std::to_string(s) + ".", 1));
  }
  for (uint64_t s = 1; s <= bundles; ++s) {
    INFO("bundle " << s);
    CHECK(ledger.FindBundle(s)->images.has_value() == (s > 5));
  }
  // Through a pending record too.
  ledger.SetPending({{bundles + 1, std::string(32, 'c'), 1700000003, 0}, "/srv/out", {}});
  ledger.CommitPending();
  CHECK_FALSE(ledger.FindBundle(6)->images.has_value());
  CHECK(ledger.FindBundle(7)->images.has_value());
  CHECK(ledger.bundles().size() == bundles + 1);
}

TEST_CASE("a ledger with images is still a version 2 file, which an earlier reader takes") {
  Ledger ledger = Ledger::Create();
  ledger.RecordBundle(Bundle(1), {format::Sha256::Of("layer")}, Images("1.", 1));
  const std::string bytes = Saved(ledger);
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  CHECK(format::LoadU32(p + lf::kVersionOffset) == 2);
  CHECK(format::LoadU32(p + lf::kHeaderSizeOffset) == lf::kHeaderSize);
  CHECK(format::LoadU32(p + lf::kRecordSizeOffset) == lf::kRecordSize);
  // The images are a member of the bundle's record in the metadata, which a
  // reader before them ignores (ledger_file.h).
  const uint64_t metadata_size = format::LoadU64(p + lf::kMetadataSizeOffset);
  const std::string metadata = bytes.substr(lf::kHeaderSize, metadata_size);
  CHECK(metadata.find(R"("images":[{"digest":")" + format::Sha256::Of("1.0").str() +
                      R"(","ref":"oci:/srv/images:app:1.0","repository":"app","tag":"1.0"}])") !=
        std::string::npos);
}

TEST_CASE("a ledger written before bundles recorded their images loads, and keeps them unrecorded") {
  // Written by `sluice export` (twice, of the sample images) before this
  // change; its bytes are committed as they are.
  const std::string golden = std::string(SLUICE_SRC_TEST_DIR) + "/golden/ledger_v2_no_images.ledger";
  io::FileSystem* fs = io::DefaultFileSystem();
  auto loaded = Ledger::Load(fs, golden);
  REQUIRE(loaded.ok());
  CHECK(format::HexEncode(loaded->id()) == "7ad75d02fff508b5bb16087a9fc12447");
  CHECK(loaded->sequence() == 2);
  CHECK(loaded->blob_count() == 7);
  REQUIRE(loaded->bundles().size() == 2);
  CHECK(loaded->bundles()[0].bundle_id == "0dad679260cf2098e6b80025d8839257");
  CHECK(loaded->bundles()[0].blobs == 4);
  CHECK(loaded->bundles()[0].created_unix == 1796296690);
  CHECK(loaded->bundles()[1].bundle_id == "44d86c109f799ea2014145d53aeb3e0e");
  CHECK(loaded->bundles()[1].blobs == 3);
  for (const Ledger::BundleRecord& b : loaded->bundles()) CHECK_FALSE(b.images.has_value());
  CHECK_FALSE(loaded->pending().has_value());

  // The next bundle records its images; the old ones stay unrecorded.
  TempDir tmp;
  format::BundleHeader header = Bundle(3);
  loaded->RecordBundle(header, {format::Sha256::Of("new layer")}, Images("3.", 2));
  REQUIRE(loaded->Save(fs, tmp / "l.ledger").ok());
  auto again = Ledger::Load(fs, tmp / "l.ledger");
  REQUIRE(again.ok());
  CheckSameLedger(*again, *loaded);
  CHECK_FALSE(again->FindBundle(1)->images.has_value());
  CHECK_FALSE(again->FindBundle(2)->images.has_value());
  REQUIRE(again->FindBundle(3)->images.has_value());
  CHECK(again->FindBundle(3)->images->size() == 2);
}

TEST_CASE("a bundle's images of the wrong shape are corruption naming the field") {
  const std::string prefix = R"({"ledger_id":"00112233445566778899aabbccddeeff","sequence":1,)"
                             R"("bundles":[{"sequence":1,"bundle_id":"ab","images":)";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"("app:1")", "bundles[0].images"},
      {R"([7])", "bundles[0].images[0]"},
      {R"([{"ref":"x","tag":1,"digest":"sha256:00"}])", "bundles[0].images[0].tag"},
      {R"([{"ref":"x"}])", "bundles[0].images[0].digest"},
      {R"([{"ref":"x","digest":"sha256:00"}])", "bundles[0].images[0]"},
  };
  for (const auto& [images, mention] : cases) {
    INFO(images);
    Forged forged;
    forged.metadata = prefix + images + "}]}";
    CheckCorruption(LoadBytes(forged.Bytes()), mention);
  }
}
