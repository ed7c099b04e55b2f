// Parity streams (PARITY.md section 12): the packets the writer produces,
// and a reader that gives back the same bytes through damage, loss, inserted
// garbage and foreign packets up to what the parity allows, and names what
// it cannot rebuild.
#include "format/parity_stream.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "format/checksum.h"
#include "format/endian.h"
#include "format/parity_format.h"
#include "tests/format/string_io.h"

namespace sluice::format {
namespace {

using testing::FailingReader;
using testing::StringReader;
using testing::StringWriter;

constexpr uint32_t kS = 4096;
constexpr size_t kH = kStreamHeaderSize;
constexpr size_t kP = kH + kS;  // bytes of a packet at the tests' stripe size

std::array<uint8_t, 16> TestId(uint8_t first = 0x10) {
  std::array<uint8_t, 16> id{};
  for (int i = 0; i < 16; ++i) id[i] = static_cast<uint8_t>(first + i);
  return id;
}

ParityStreamOptions Options(uint32_t k, uint32_t m, uint32_t s = kS, uint8_t id = 0x10) {
  ParityStreamOptions o;
  o.data_count = k;
  o.parity_count = m;
  o.stripe_size = s;
  o.stream_id = TestId(id);
  return o;
}

std::string Bytes(size_t n, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// The envelope around `data`, appended in pieces of `chunk` bytes.
std::string Wrap(const std::string& data, const ParityStreamOptions& o, size_t chunk = 10007) {
  StringWriter out;
  auto w = NewParityStreamWriter(&out, o);
  REQUIRE(w.ok());
  for (size_t i = 0; i < data.size(); i += chunk) {
    REQUIRE((*w)->Append(io::AsBytes(std::string_view(data).substr(i, chunk))).ok());
  }
  REQUIRE((*w)->Size() == data.size());
  REQUIRE((*w)->Close().ok());
  return out.contents();
}

// What a reader of `stream` gives back, read in pieces of `chunk` bytes.
Result<std::string> Unwrap(std::string stream, ParityStreamReport* report = nullptr,
                           size_t chunk = 5000, size_t input_chunk = 0) {
  SLUICE_ASSIGN_OR_RETURN(
      auto r, NewParityStreamReader(std::make_unique<StringReader>(std::move(stream), input_chunk),
                                    report));
  std::string out;
  std::string buf(chunk, '\0');
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(size_t n,
                            r->Read({reinterpret_cast<uint8_t*>(buf.data()), buf.size()}));
    if (n == 0) break;
    out.append(buf, 0, n);
  }
  return out;
}

// Packets in a stream of `size` data bytes: k + m per full group, and the
// last group's ceil(rest / S) (at least 1) + m.
size_t PacketCount(size_t size, uint32_t k, uint32_t m, uint32_t s = kS) {
  const size_t group = size_t{k} * s;
  const size_t full = size == 0 ? 0 : (size - 1) / group;
  const size_t rest = size - full * group;
  return full * (k + m) + std::max<size_t>(1, (rest + s - 1) / s) + m;
}

// Rewrites a packet's checksum after a test changed its header: a packet a
// writer could have made.
void Reseal(std::string* packet, size_t header_size = kH, size_t stripe = kS) {
  std::string covered = packet->substr(0, header_size - 8) + packet->substr(header_size, stripe);
  StoreU64(reinterpret_cast<uint8_t*>(packet->data()) + header_size - 8,
           Xxh3(io::AsBytes(covered)));
}

void SetU32(std::string* s, size_t off, uint32_t v) {
  StoreU32(reinterpret_cast<uint8_t*>(s->data()) + off, v);
}
void SetU64(std::string* s, size_t off, uint64_t v) {
  StoreU64(reinterpret_cast<uint8_t*>(s->data()) + off, v);
}

TEST_CASE("parity stream round trips every size around stripe and group edges", "[parity-stream]") {
  for (uint32_t k : {1u, 4u}) {
    for (uint32_t m : {1u, 2u}) {
      const size_t g = size_t{k} * kS;
      for (size_t size : {size_t{0}, size_t{1}, size_t{kS - 1}, size_t{kS}, size_t{kS + 1}, g - 1,
                          g, g + 1, 3 * g, 3 * g + 5}) {
        CAPTURE(k, m, size);
        const std::string data = Bytes(size, static_cast<uint32_t>(size));
        const std::string stream = Wrap(data, Options(k, m));
        CHECK(stream.size() == PacketCount(size, k, m) * kP);
        ParityStreamReport report;
        auto back = Unwrap(stream, &report);
        REQUIRE(back.ok());
        CHECK(*back == data);
        CHECK(report.packets == PacketCount(size, k, m));
        CHECK(report.packets_lost == 0);
        CHECK(report.bytes_skipped == 0);
        CHECK(report.stripes_rebuilt == 0);
        CHECK(report.data_bytes == size);
        CHECK(report.Summary() == "intact");
      }
    }
  }
}

TEST_CASE("parity stream round trips random sizes, appends and reads", "[parity-stream]") {
  std::mt19937 rng(7);
  for (int i = 0; i < 30; ++i) {
    const size_t size = rng() % (200 * 1024);
    const uint32_t k = 1 + rng() % 8;
    const uint32_t m = 1 + rng() % 3;
    const size_t append = 1 + rng() % 20000;
    const size_t read = 1 + rng() % 20000;
    CAPTURE(size, k, m, append, read);
    const std::string data = Bytes(size, static_cast<uint32_t>(i));
    auto back = Unwrap(Wrap(data, Options(k, m), append), nullptr, read);
    REQUIRE(back.ok());
    CHECK(*back == data);
  }
}

TEST_CASE("parity stream round trips at the default options with a random id", "[parity-stream]") {
  const std::string data = Bytes(3 * kStreamDefaultDataCount * kStreamDefaultStripeSize + 12345);
  StringWriter out;
  auto w = NewParityStreamWriter(&out);
  REQUIRE(w.ok());
  REQUIRE((*w)->Append(io::AsBytes(data)).ok());
  REQUIRE((*w)->Close().ok());
  ParityStreamReport report;
  auto back = Unwrap(out.contents(), &report);
  REQUIRE(back.ok());
  CHECK(*back == data);
  CHECK(report.stripe_size == kStreamDefaultStripeSize);
  CHECK(report.data_count == kStreamDefaultDataCount);
  CHECK(report.parity_count == kStreamDefaultParityCount);
  CHECK(report.groups == 4);
  // Two writers draw two ids.
  StringWriter out2;
  auto w2 = NewParityStreamWriter(&out2);
  REQUIRE(w2.ok());
  REQUIRE((*w2)->Close().ok());
  CHECK(out2.contents().substr(16, 16) != out.contents().substr(16, 16));
}

TEST_CASE("parity stream writer output is the same bytes given the same stream id",
          "[parity-stream]") {
  const std::string data = Bytes(5 * kS + 17);
  const std::string a = Wrap(data, Options(2, 2), 1);
  const std::string b = Wrap(data, Options(2, 2), 100000);
  CHECK(a == b);
  CHECK(a != Wrap(data, Options(2, 2, kS, 0x20)));
  // Every packet starts with the magic, version 1 and header_size 88.
  for (size_t off = 0; off < a.size(); off += kP) {
    CHECK(LooksLikeParityStream(io::AsBytes(a).subspan(off)));
    CHECK(LoadU32(reinterpret_cast<const uint8_t*>(a.data()) + off + 8) == 1);
    CHECK(LoadU32(reinterpret_cast<const uint8_t*>(a.data()) + off + 12) == kH);
  }
}

// PARITY.md section 12.8: "hello, world\n" in a stream of k = 2, m = 1,
// S = 4096, stream id 10 11 .. 1F.
TEST_CASE("parity stream writer reproduces the worked example of PARITY.md", "[parity-stream]") {
  const std::string stream = Wrap("hello, world\n", Options(2, 1));
  REQUIRE(stream.size() == 2 * kP);
  const std::string expected_header =
      "89534c555354520a0100000058000000"  // magic, version 1, header_size 88
      "101112131415161718191a1b1c1d1e1f"  // stream_id
      "00000000000000000000000000000000"  // group 0, data_offset 0
      "0d000000000000000010000001000000"  // group_size 13, stripe_size 4096, data_count 1
      "01000000000000000100000000000000"  // parity_count 1, packet_index 0, flags: last
      "c3e0dccf62b60f18";                 // packet checksum, XXH3-64 0x180fb662cfdce0c3
  std::string hex;
  for (size_t i = 0; i < kH; ++i) {
    static const char* kDigits = "0123456789abcdef";
    const auto b = static_cast<uint8_t>(stream[i]);
    hex += kDigits[b >> 4];
    hex += kDigits[b & 15];
  }
  CHECK(hex == expected_header);
  CHECK(stream.substr(kH, 13) == "hello, world\n");
  CHECK(stream.substr(kH + 13, kS - 13) == std::string(kS - 13, '\0'));
  // k = 1, m = 1: the parity stripe is a copy (PARITY.md section 5).
  CHECK(stream.substr(kP + kH, kS) == stream.substr(kH, kS));
}

TEST_CASE("parity stream rebuilds every combination of up to m damaged packets in a group",
          "[parity-stream]") {
  constexpr uint32_t k = 3;
  constexpr uint32_t m = 2;
  // Two full groups and a last one of 2 data stripes: 5 + 5 + 4 packets.
  const std::string data = Bytes(2 * k * kS + kS + 100);
  const std::string stream = Wrap(data, Options(k, m));
  REQUIRE(stream.size() == 14 * kP);
  for (size_t first : {size_t{5}, size_t{10}}) {  // group 1, and the last group
    const size_t n = first == 5 ? k + m : 2 + m;
    for (uint32_t mask = 1; mask < (1u << n); ++mask) {
      if (__builtin_popcount(mask) > static_cast<int>(m)) continue;
      CAPTURE(first, mask);
      std::string damaged = stream;
      uint32_t data_hit = 0;
      for (size_t i = 0; i < n; ++i) {
        if ((mask & (1u << i)) == 0) continue;
        // A byte of the header for some, of the payload for others.
        const size_t at = (first + i) * kP + (i % 2 == 0 ? 40 + i : kH + 1000 * i);
        damaged[at] = static_cast<char>(damaged[at] ^ 0x40);
        data_hit += i < n - m ? 1 : 0;
      }
      ParityStreamReport report;
      auto back = Unwrap(damaged, &report);
      REQUIRE(back.ok());
      CHECK(*back == data);
      CHECK(report.packets_lost == static_cast<uint64_t>(__builtin_popcount(mask)));
      CHECK(report.stripes_rebuilt == data_hit);
      CHECK(report.bytes_skipped == report.packets_lost * kP);
    }
  }
}

TEST_CASE("parity stream with m + 1 packets of a group damaged names the group and bytes lost",
          "[parity-stream]") {
  const std::string data = Bytes(3 * 4 * kS);
  const std::string stream = Wrap(data, Options(4, 2));
  std::string damaged = stream;
  for (size_t i : {6, 8, 11}) damaged[i * kP + kH + 5] ^= 1;  // group 1: packets 0, 2, 5
  ParityStreamReport report;
  auto back = Unwrap(damaged, &report);
  REQUIRE(!back.ok());
  CHECK(back.status().kind() == ErrorKind::kCorruption);
  const std::string msg = back.status().message();
  CHECK_THAT(msg, Catch::Contains("group 1 lost 3 of its 6 packets"));
  CHECK_THAT(msg, Catch::Contains("stream offsets [" + std::to_string(6 * kP) + ", " +
                                  std::to_string(12 * kP) + ")"));
  CHECK_THAT(msg, Catch::Contains("repair at most 2"));
  CHECK_THAT(msg, Catch::Contains("bundle bytes [16384, 32768) are lost"));
  CHECK_THAT(msg, Catch::Contains("--parity"));
  CHECK(msg.find('\n') == std::string::npos);
  CHECK(report.groups == 1);  // group 0 was handed on
}

TEST_CASE("parity stream rebuilds up to m whole packets dropped from every group",
          "[parity-stream]") {
  const std::string data = Bytes(4 * 4 * kS + 3 * kS);  // 4 full groups of 6, a last of 5
  const std::string stream = Wrap(data, Options(4, 2));
  std::string dropped;
  size_t lost = 0;
  for (size_t i = 0; i < 29; ++i) {
    const size_t in_group = i < 24 ? i % 6 : i - 24;
    const size_t group = i < 24 ? i / 6 : 4;
    // Two per group, at different places in each.
    if (in_group == group % 6 || in_group == (group + 3) % 5) {
      ++lost;
      continue;
    }
    dropped += stream.substr(i * kP, kP);
  }
  REQUIRE(lost == 10);
  ParityStreamReport report;
  auto back = Unwrap(dropped, &report);
  REQUIRE(back.ok());
  CHECK(*back == data);
  CHECK(report.packets_lost == 10);
  CHECK(report.bytes_skipped == 0);
}

TEST_CASE("parity stream resynchronises after a partial range of a packet is dropped",
          "[parity-stream]") {
  const std::string data = Bytes(3 * 4 * kS);
  const std::string stream = Wrap(data, Options(4, 2));
  for (size_t at : {size_t{0}, size_t{50}, kH + 10, 7 * kP + 2000, 12 * kP + 3000}) {
    CAPTURE(at);
    std::string cut = stream;
    cut.erase(at, 1000);
    ParityStreamReport report;
    auto back = Unwrap(cut, &report);
    REQUIRE(back.ok());
    CHECK(*back == data);
    CHECK(report.packets_lost == 1);
    CHECK(report.bytes_skipped == kP - 1000);
  }
  // A range across a packet boundary damages two packets.
  std::string cut = stream;
  cut.erase(2 * kP - 500, 1000);
  auto back = Unwrap(cut);
  REQUIRE(back.ok());
  CHECK(*back == data);
}

TEST_CASE("parity stream skips garbage inserted between and inside packets", "[parity-stream]") {
  const std::string data = Bytes(3 * 4 * kS + 5);
  const std::string stream = Wrap(data, Options(4, 2));
  std::string magic(kStreamMagic.begin(), kStreamMagic.end());
  const std::string garbage = Bytes(777, 99) + magic + Bytes(300, 98) + magic.substr(0, 5);
  SECTION("between packets, before the first and after the last") {
    std::string noisy = garbage;
    for (size_t i = 0; i * kP < stream.size(); ++i) noisy += stream.substr(i * kP, kP) + garbage;
    ParityStreamReport report;
    auto back = Unwrap(noisy, &report);
    REQUIRE(back.ok());
    CHECK(*back == data);
    CHECK(report.packets_lost == 0);
    // The garbage after the last packet is never read.
    CHECK(report.bytes_skipped == (stream.size() / kP) * garbage.size());
  }
  SECTION("inside m packets of one group") {
    std::string noisy = stream;
    noisy.insert(7 * kP + 100, garbage);
    noisy.insert(6 * kP + 3000, garbage);
    auto back = Unwrap(noisy);
    REQUIRE(back.ok());
    CHECK(*back == data);
  }
}

TEST_CASE("parity stream gives the same bytes whatever single byte is flipped", "[parity-stream]") {
  const std::string data = Bytes(2 * 2 * kS + 100);
  const std::string stream = Wrap(data, Options(2, 1));  // 3 + 3 + 2 packets
  REQUIRE(stream.size() == 8 * kP);
  for (size_t at = 0; at < stream.size(); ++at) {
    std::string damaged = stream;
    damaged[at] = static_cast<char>(damaged[at] ^ (1u << (at % 8)));
    auto back = Unwrap(damaged, nullptr, 1 << 20);
    if (!back.ok() || *back != data) {
      FAIL("flipping byte " << at << ": "
                            << (back.ok() ? "other bytes" : back.status().ToString()));
    }
  }
}

TEST_CASE("parity stream cut short is an error naming where it stops, or rebuilt",
          "[parity-stream]") {
  const std::string data = Bytes(2 * 2 * kS + 100);
  const std::string stream = Wrap(data, Options(2, 1));  // 3 + 3 + 2 packets
  for (size_t end = 0; end < stream.size(); end += 397) {
    CAPTURE(end);
    auto back = Unwrap(stream.substr(0, end));
    // The last group's parity packet may be lost; nothing else.
    if (end >= 7 * kP) {
      REQUIRE(back.ok());
      CHECK(*back == data);
      continue;
    }
    REQUIRE(!back.ok());
    CHECK(back.status().kind() == ErrorKind::kCorruption);
  }
  auto cut = Unwrap(stream.substr(0, 6 * kP));
  REQUIRE(!cut.ok());
  CHECK_THAT(cut.status().message(),
             Catch::Contains("ends at stream offset " + std::to_string(6 * kP) +
                             " before its last group: truncated after bundle byte 16384 "
                             "(group 2 never came)"));
  auto in_group = Unwrap(stream.substr(0, 6 * kP + 100));
  REQUIRE(!in_group.ok());
  CHECK_THAT(in_group.status().message(), Catch::Contains("truncated after bundle byte 16384"));
  auto lost_group = Unwrap(stream.substr(0, 4 * kP));
  REQUIRE(!lost_group.ok());
  CHECK_THAT(lost_group.status().message(),
             Catch::Contains("group 1 lost 2 of its 3 packets") &&
                 Catch::Contains("bundle bytes [8192, 16384) are lost"));
}

TEST_CASE("parity stream with whole groups missing names them and the bytes lost",
          "[parity-stream]") {
  const std::string data = Bytes(5 * 2 * kS);
  const std::string stream = Wrap(data, Options(2, 1));  // 5 groups of 3 packets
  std::string one = stream;
  one.erase(3 * kP, 3 * kP);
  auto back = Unwrap(one);
  REQUIRE(!back.ok());
  CHECK(back.status().kind() == ErrorKind::kCorruption);
  CHECK_THAT(back.status().message(),
             Catch::Contains("group 1 is missing") &&
                 Catch::Contains("bundle bytes [8192, 16384) are lost") &&
                 Catch::Contains("stream offsets [" + std::to_string(3 * kP) + ", " +
                                 std::to_string(3 * kP) + ")"));
  std::string several = stream;
  several.erase(3 * kP, 9 * kP);
  several.insert(3 * kP, Bytes(5000));
  auto back2 = Unwrap(several);
  REQUIRE(!back2.ok());
  CHECK_THAT(back2.status().message(), Catch::Contains("groups 1 to 3 are missing") &&
                                           Catch::Contains("bundle bytes [8192, 32768) are lost"));
  auto first = Unwrap(stream.substr(3 * kP));
  REQUIRE(!first.ok());
  CHECK_THAT(first.status().message(), Catch::Contains("group 0 is missing") &&
                                           Catch::Contains("bundle bytes [0, 8192) are lost"));
}

TEST_CASE("parity stream ignores duplicates and packets of another stream", "[parity-stream]") {
  const std::string data = Bytes(3 * 2 * kS + 1);
  const std::string stream = Wrap(data, Options(2, 1));
  const std::string other = Wrap(Bytes(3 * 2 * kS + 1, 5), Options(2, 1, kS, 0x80));
  std::string mixed;
  for (size_t i = 0; i * kP < stream.size(); ++i) {
    mixed += stream.substr(i * kP, kP);
    if (i % 2 == 0) mixed += stream.substr(i * kP, kP);            // a duplicate
    if (i * kP < other.size()) mixed += other.substr(i * kP, kP);  // a foreign packet
  }
  ParityStreamReport report;
  auto back = Unwrap(mixed, &report);
  REQUIRE(back.ok());
  CHECK(*back == data);
  // Not the duplicate of the very last packet: the reader stops at the
  // packet that completes the last group.
  CHECK(report.duplicates == 5);
  CHECK(report.foreign_packets > 0);
  CHECK(report.packets_lost == 0);
  CHECK(report.stream_id == TestId());
}

TEST_CASE("parity stream reader skips header bytes of later revisions", "[parity-stream]") {
  const std::string data = Bytes(2 * 2 * kS + 9);
  const std::string stream = Wrap(data, Options(2, 1));
  std::string longer;
  for (size_t i = 0; i * kP < stream.size(); ++i) {
    std::string packet = stream.substr(i * kP, kP);
    packet.insert(kStreamHeaderFieldsEnd, std::string(16, '\x5a'));
    SetU32(&packet, 12, kH + 16);
    Reseal(&packet, kH + 16);
    longer += packet;
  }
  auto back = Unwrap(longer);
  REQUIRE(back.ok());
  CHECK(*back == data);
}

TEST_CASE("parity stream reader refuses hostile header fields, each with its own message",
          "[parity-stream]") {
  const std::string packet = Wrap("some bundle bytes", Options(2, 1)).substr(0, kP);
  struct Case {
    const char* name;
    size_t offset;
    uint64_t value;
    bool wide;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"huge k", 60, 1000000, false, "data_count 1000000 and parity_count 1"},
      {"zero m", 64, 0, false, "data_count 1 and parity_count 0"},
      {"k + m over 255", 64, 255, false, "at most 255 together"},
      {"zero stripe size", 56, 0, false, "stripe_size 0 is not a multiple of 4096"},
      {"huge stripe size", 56, 1u << 30, false, "stripe_size 1073741824"},
      {"stripe size not a multiple of 4096", 56, 5000, false, "stripe_size 5000"},
      {"header_size too small", 12, 8, false, "header_size 8, not a multiple of 8 from 88"},
      {"header_size huge", 12, 0x80000000u, false, "header_size 2147483648"},
      {"header_size not a multiple of 8", 12, 92, false, "header_size 92"},
      {"packet index past the group", 68, 2, false, "packet_index 2"},
      {"group_size past its stripes", 48, kS + 1, true, "group_size 4097"},
      {"data_offset not on a stripe", 40, 100, true, "data_offset 100"},
      {"data_offset huge", 40, uint64_t{1} << 62, true, "data_offset 4611686018427387904"},
      {"group before its offset allows", 32, 5, true, "group 5 starts at data_offset 0"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    std::string bad = packet;
    if (c.wide) {
      SetU64(&bad, c.offset, c.value);
    } else {
      SetU32(&bad, c.offset, static_cast<uint32_t>(c.value));
    }
    Reseal(&bad);
    auto back = Unwrap(bad);
    REQUIRE(!back.ok());
    CHECK(back.status().kind() == ErrorKind::kCorruption);
    CHECK_THAT(back.status().message(),
               Catch::Contains("no intact packet in " + std::to_string(kP) + " bytes") &&
                   Catch::Contains("at stream offset 0") && Catch::Contains(c.expected));
  }
  std::string newer = packet;
  SetU32(&newer, 8, 2);
  auto back = Unwrap(newer);
  REQUIRE(!back.ok());
  CHECK(back.status().kind() == ErrorKind::kUnsupported);
  CHECK_THAT(back.status().message(), Catch::Contains("stream version 2"));

  std::string flipped = packet;
  flipped[kH + 3] ^= 1;
  auto damaged = Unwrap(flipped);
  REQUIRE(!damaged.ok());
  CHECK_THAT(damaged.status().message(), Catch::Contains("fails its checksum"));
}

TEST_CASE("parity stream reader refuses intact packets that contradict the stream",
          "[parity-stream]") {
  const std::string stream = Wrap(Bytes(3 * 2 * kS), Options(2, 1));
  SECTION("another parity count") {
    std::string bad = stream;
    std::string packet = bad.substr(3 * kP, kP);
    SetU32(&packet, 64, 2);
    Reseal(&packet);
    bad.replace(3 * kP, kP, packet);
    auto back = Unwrap(bad);
    REQUIRE(!back.ok());
    CHECK_THAT(back.status().message(),
               Catch::Contains("packet 0 of group 1 at stream offset " + std::to_string(3 * kP) +
                               " contradicts the stream: parity_count 2, not 1"));
  }
  SECTION("a first group that does not start at bundle byte 0") {
    std::string packet = Wrap("some bundle bytes", Options(2, 1)).substr(0, kP);
    SetU64(&packet, 40, kS);
    Reseal(&packet);
    auto back = Unwrap(packet);
    REQUIRE(!back.ok());
    CHECK_THAT(back.status().message(),
               Catch::Contains("group 0 at stream offset 0 starts at bundle byte 4096, not 0"));
  }
}

TEST_CASE("parity stream reader names empty input and input without packets", "[parity-stream]") {
  auto empty = Unwrap("");
  REQUIRE(!empty.ok());
  CHECK(empty.status().kind() == ErrorKind::kCorruption);
  CHECK_THAT(empty.status().message(), Catch::Contains("empty input"));
  auto noise = Unwrap(Bytes(100000));
  REQUIRE(!noise.ok());
  CHECK_THAT(noise.status().message(),
             Catch::Contains("no intact packet in 100000 bytes (no packet magic)"));
}

TEST_CASE("parity stream reader takes input a few bytes at a time, as pipes give it",
          "[parity-stream]") {
  const std::string data = Bytes(3 * 2 * kS + 77);
  std::string stream = Wrap(data, Options(2, 1));
  stream[kP + 10] ^= 1;
  auto back = Unwrap(stream, nullptr, 3000, 999);
  REQUIRE(back.ok());
  CHECK(*back == data);
}

TEST_CASE("parity stream reader passes I/O errors on as I/O errors", "[parity-stream]") {
  const std::string stream = Wrap(Bytes(3 * 2 * kS), Options(2, 1));
  auto r = NewParityStreamReader(std::make_unique<FailingReader>(stream, 4 * kP));
  REQUIRE(r.ok());
  std::string buf(1 << 20, '\0');
  auto n = (*r)->Read({reinterpret_cast<uint8_t*>(buf.data()), buf.size()});
  REQUIRE(!n.ok());
  CHECK(n.status().kind() == ErrorKind::kIoError);
  // And keeps returning the error.
  auto again = (*r)->Read({reinterpret_cast<uint8_t*>(buf.data()), 1});
  CHECK(again.status().kind() == ErrorKind::kIoError);
}

TEST_CASE("parity stream writer refuses options outside the limits", "[parity-stream]") {
  StringWriter out;
  struct Case {
    uint32_t k, m, s;
    const char* expected;
  };
  for (const Case& c : std::vector<Case>{{0, 1, kS, "0 data and 1 parity"},
                                         {1, 0, kS, "1 data and 0 parity"},
                                         {200, 56, kS, "at most 255 together"},
                                         {4, 2, 1000, "stripe size 1000"},
                                         {4, 2, 2u << 20, "stripe size 2097152"},
                                         {4, 2, 4097, "stripe size 4097"},
                                         {100, 1, 1u << 20, "at most 67108864"}}) {
    CAPTURE(c.k, c.m, c.s);
    auto w = NewParityStreamWriter(&out, Options(c.k, c.m, c.s));
    REQUIRE(!w.ok());
    CHECK(w.status().kind() == ErrorKind::kInvalidArgument);
    CHECK_THAT(w.status().message(), Catch::Contains(c.expected));
  }
  CHECK(NewParityStreamWriter(nullptr, Options(2, 1)).status().kind() ==
        ErrorKind::kInvalidArgument);
  CHECK(out.contents().empty());
}

// Counts the calls a writer makes to its output.
class CountingWriter final : public StringWriter {
 public:
  Status Sync() override {
    ++syncs;
    return Status::Ok();
  }
  Status Close() override {
    ++closes;
    return Status::Ok();
  }
  int syncs = 0;
  int closes = 0;
};

TEST_CASE("parity stream writer never closes its output, and Close writes the last group once",
          "[parity-stream]") {
  CountingWriter out;
  auto w = NewParityStreamWriter(&out, Options(2, 1));
  REQUIRE(w.ok());
  REQUIRE((*w)->Append(io::AsBytes(Bytes(2 * kS))).ok());
  CHECK(out.contents().empty());  // a full group waits: it may be the last
  REQUIRE((*w)->Sync().ok());
  CHECK(out.syncs == 1);
  REQUIRE((*w)->Append(io::AsBytes("x")).ok());
  CHECK(out.contents().size() == 3 * kP);
  REQUIRE((*w)->Close().ok());
  REQUIRE((*w)->Close().ok());
  CHECK(out.contents().size() == 5 * kP);
  CHECK(out.closes == 0);
  CHECK((*w)->Size() == 2 * kS + 1);
  CHECK(!(*w)->Append(io::AsBytes("y")).ok());
}

TEST_CASE("a writer destroyed without Close leaves a stream readers call truncated",
          "[parity-stream]") {
  StringWriter out;
  {
    auto w = NewParityStreamWriter(&out, Options(2, 1));
    REQUIRE(w.ok());
    REQUIRE((*w)->Append(io::AsBytes(Bytes(3 * kS))).ok());
  }
  auto back = Unwrap(out.contents());
  REQUIRE(!back.ok());
  CHECK_THAT(back.status().message(), Catch::Contains("truncated after bundle byte 8192"));
}

Result<std::string> ReadAllMaybeUnwrapped(std::string input, bool* unwrapped,
                                          ParityStreamReport* report = nullptr) {
  SLUICE_ASSIGN_OR_RETURN(
      auto r,
      MaybeUnwrapParityStream(std::make_unique<StringReader>(std::move(input)), report, unwrapped));
  std::string out;
  std::string buf(7000, '\0');
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(size_t n,
                            r->Read({reinterpret_cast<uint8_t*>(buf.data()), buf.size()}));
    if (n == 0) break;
    out.append(buf, 0, n);
  }
  return out;
}

TEST_CASE("maybe-unwrap passes plain bytes through and unwraps an envelope, damaged or not",
          "[parity-stream]") {
  const std::string bundle = "\x89SLUICE\n" + Bytes(50000);
  bool unwrapped = true;
  for (const std::string& plain : {bundle, std::string("abc"), std::string(""), Bytes(2 << 20)}) {
    auto back = ReadAllMaybeUnwrapped(plain, &unwrapped);
    REQUIRE(back.ok());
    CHECK(*back == plain);
    CHECK(!unwrapped);
  }
  const std::string stream = Wrap(bundle, Options(4, 2));
  ParityStreamReport report;
  auto back = ReadAllMaybeUnwrapped(stream, &unwrapped, &report);
  REQUIRE(back.ok());
  CHECK(*back == bundle);
  CHECK(unwrapped);
  CHECK(report.packets == stream.size() / kP);

  std::string damaged = stream;
  damaged[0] ^= 1;  // the first packet's magic
  back = ReadAllMaybeUnwrapped(damaged, &unwrapped, &report);
  REQUIRE(back.ok());
  CHECK(*back == bundle);
  CHECK(unwrapped);
  CHECK(report.stripes_rebuilt == 1);
  CHECK(report.Summary() ==
        "1 stripe rebuilt from parity; 1 packet lost, " + std::to_string(kP) + " bytes skipped");
}

}  // namespace
}  // namespace sluice::format
