#include "delta/patch_codec.h"

#include <xxhash.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "io/mapped_file.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace sluice::delta {
namespace {

using testing::RandomBytes;
using testing::TempDir;

// The tests use a fast level: the codec's behaviour does not depend on it.
constexpr int kTestLevel = 3;

DeltaBase MapBase(const TempDir& dir, const std::string& bytes) {
  std::string path = dir / "base.tar";
  testing::WriteFile(path, bytes);
  Result<DeltaBase> base = DeltaBase::MapFile(path);
  REQUIRE(base.ok());
  return std::move(base).value();
}

std::string Encode(const DeltaBase& base, const std::string& content, size_t chunk = 1 << 16,
                   DeltaEncoderOptions options = {.level = kTestLevel}) {
  std::string delta;
  auto encoder = DeltaEncoder::Make(base, content.size(), options, [&](io::ByteView bytes) {
    delta.append(io::AsChars(bytes));
    return Status::Ok();
  });
  REQUIRE(encoder.ok());
  for (size_t at = 0; at < content.size(); at += chunk) {
    REQUIRE((*encoder)->Write(io::AsBytes(std::string_view(content).substr(at, chunk))).ok());
  }
  REQUIRE((*encoder)->Finish().ok());
  return delta;
}

struct Decoded {
  Status status;        // the first error of Make, Write or Finish
  std::string content;  // what the decoder passed out before it stopped
};

Decoded Decode(const DeltaBase& base, uint64_t content_size, std::string_view delta,
               size_t chunk = 1 << 16) {
  Decoded out;
  auto decoder = DeltaDecoder::Make(base, content_size, [&](io::ByteView bytes) {
    out.content.append(io::AsChars(bytes));
    return Status::Ok();
  });
  if (!decoder.ok()) {
    out.status = decoder.status();
    return out;
  }
  for (size_t at = 0; at < delta.size() && out.status.ok(); at += chunk) {
    out.status = (*decoder)->Write(io::AsBytes(delta.substr(at, chunk)));
  }
  if (out.status.ok()) out.status = (*decoder)->Finish();
  return out;
}

// `base` with a few edits, as a month of updates makes in a tar: bytes
// replaced, inserted and deleted, and a tail appended.
std::string Edited(const std::string& base, uint64_t seed) {
  std::string content = base;
  size_t n = content.size();
  content.replace(n / 5, 300, RandomBytes(300, seed + 1));
  content.insert(n / 2, RandomBytes(700, seed + 2));
  content.erase(3 * n / 4, 500);
  content += RandomBytes(900, seed + 3);
  return content;
}

TEST_CASE("a delta rebuilds its content exactly, whatever the base and content") {
  TempDir dir;
  std::string text;
  for (int i = 0; text.size() < 200000; ++i) {
    text += "usr/lib/x86_64-linux-gnu/libexample" + std::to_string(i % 97) + ".so." +
            std::to_string(i) + " some repetitive tar header padding\n";
  }
  struct Case {
    const char* name;
    std::string base;
    std::string content;
  };
  const Case cases[] = {
      {"empty base", "", text},
      {"empty content", text, ""},
      {"both empty", "", ""},
      {"identical", text, text},
      {"insertions, deletions and an appended tail", text, Edited(text, 10)},
      {"content larger than the base", text.substr(0, 50000), Edited(text, 20)},
      {"content smaller than the base", text, text.substr(30000, 40000)},
      {"random, incompressible", RandomBytes(100000, 30), RandomBytes(150000, 31)},
      {"random content, edited", RandomBytes(100000, 40), Edited(RandomBytes(100000, 40), 41)},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    DeltaBase base = MapBase(dir, c.base);
    REQUIRE(base.bytes().size() == c.base.size());
    for (size_t chunk : {size_t{1} << 16, size_t{4093}}) {
      CAPTURE(chunk);
      std::string delta = Encode(base, c.content, chunk);
      Decoded decoded = Decode(base, c.content.size(), delta, chunk);
      INFO(decoded.status.ToString());
      REQUIRE(decoded.status.ok());
      REQUIRE(decoded.content == c.content);
    }
  }
}

TEST_CASE("a delta passes content out a byte at a time as well as in large writes") {
  TempDir dir;
  std::string base_bytes = RandomBytes(20000, 1);
  DeltaBase base = MapBase(dir, base_bytes);
  std::string content = Edited(base_bytes, 2);
  std::string delta = Encode(base, content, 1);
  Decoded decoded = Decode(base, content.size(), delta, 1);
  REQUIRE(decoded.status.ok());
  REQUIRE(decoded.content == content);
}

TEST_CASE("a delta of content that shares most bytes with its base is under 1 % of the content") {
  TempDir dir;
  // Random bytes: nothing compresses but what the base already holds, so the
  // delta's size is what the edits cost.
  std::string base_bytes = RandomBytes(4 << 20, 7);
  DeltaBase base = MapBase(dir, base_bytes);
  std::string content = Edited(base_bytes, 8);  // 2.4 KiB of edits in 4 MiB
  std::string delta = Encode(base, content);
  CAPTURE(delta.size());
  REQUIRE(delta.size() < content.size() / 100);
  // Without the base the same content does not compress at all.
  DeltaBase empty;
  REQUIRE(Encode(empty, content).size() > content.size());
  REQUIRE(Decode(base, content.size(), delta).content == content);
}

TEST_CASE("a delta decoded against another base fails or yields other bytes, never the content") {
  TempDir dir;
  std::string base_bytes = RandomBytes(60000, 11);
  std::string content = Edited(base_bytes, 12);
  std::string delta;
  {
    DeltaBase base = MapBase(dir, base_bytes);
    delta = Encode(base, content);
  }
  std::string other_bases[] = {
      RandomBytes(60000, 13),                        // unrelated
      base_bytes.substr(0, 59999),                   // one byte short: every offset moves
      std::string(base_bytes).replace(100, 1, "x"),  // one byte changed
      "",                                            // none
  };
  for (const std::string& other : other_bases) {
    CAPTURE(other.size());
    DeltaBase base = MapBase(dir, other);
    Decoded decoded = Decode(base, content.size(), delta);
    REQUIRE(decoded.content != content);
    if (!decoded.status.ok()) REQUIRE(decoded.status.IsCorruption());
  }
}

TEST_CASE("every truncation of a delta is refused") {
  TempDir dir;
  std::string base_bytes = RandomBytes(3000, 21);
  DeltaBase base = MapBase(dir, base_bytes);
  std::string content = Edited(base_bytes, 22);
  std::string delta = Encode(base, content);
  REQUIRE(Decode(base, content.size(), delta).status.ok());
  for (size_t len = 0; len < delta.size(); ++len) {
    CAPTURE(len);
    Decoded decoded = Decode(base, content.size(), std::string_view(delta).substr(0, len));
    REQUIRE(decoded.status.IsCorruption());
    REQUIRE(decoded.content.size() <= content.size());
  }
}

TEST_CASE("a delta with any byte flipped is refused, or still yields exactly the content") {
  TempDir dir;
  std::string base_bytes = RandomBytes(3000, 31);
  DeltaBase base = MapBase(dir, base_bytes);
  std::string content = Edited(base_bytes, 32);
  std::string delta = Encode(base, content);
  size_t refused = 0;
  size_t tries = 0;
  for (size_t at = 0; at < delta.size(); ++at) {
    for (uint8_t flip : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
      CAPTURE(at, flip);
      std::string damaged = delta;
      damaged[at] = static_cast<char>(damaged[at] ^ flip);
      Decoded decoded = Decode(base, content.size(), damaged);
      REQUIRE(decoded.content.size() <= content.size());
      ++tries;
      if (!decoded.status.ok()) {
        REQUIRE(decoded.status.IsCorruption());
        REQUIRE(decoded.status.message().find("delta at offset ") != std::string::npos);
        ++refused;
      } else {
        // A few bits zstd never reads (a bitstream's padding) may change
        // without effect; zstd checked the content's checksum.
        REQUIRE(decoded.content == content);
      }
    }
  }
  CAPTURE(refused, tries);
  REQUIRE(refused > tries * 95 / 100);
}

TEST_CASE("bytes after a delta's frame are refused, naming their offset") {
  TempDir dir;
  DeltaBase base = MapBase(dir, "base bytes");
  std::string content = "content bytes";
  std::string delta = Encode(base, content);
  for (const std::string& tail : {std::string("x"), delta}) {
    Decoded decoded = Decode(base, content.size(), delta + tail);
    REQUIRE(decoded.status.IsCorruption());
    REQUIRE_THAT(decoded.status.message(),
                 Catch::Contains("offset " + std::to_string(delta.size())) &&
                     Catch::Contains("after the frame"));
  }
}

TEST_CASE("a delta declaring another content size is refused before any content comes out") {
  TempDir dir;
  std::string base_bytes = RandomBytes(10000, 41);
  DeltaBase base = MapBase(dir, base_bytes);
  std::string content = Edited(base_bytes, 42);
  std::string delta = Encode(base, content);
  for (uint64_t expected : {uint64_t{content.size() - 100}, uint64_t{content.size() + 100}}) {
    CAPTURE(expected);
    Decoded decoded = Decode(base, expected, delta);
    REQUIRE(decoded.status.IsCorruption());
    REQUIRE_THAT(decoded.status.message(),
                 Catch::Contains("declares " + std::to_string(content.size())));
    REQUIRE(decoded.content.empty());
  }
}

// A zstd frame made by hand: one raw block holding `content`, a window of
// 2^window_log bytes declared in the window descriptor (not single-segment),
// the content size in 4 bytes, and the content checksum.
std::string HandMadeFrame(const std::string& content, int window_log) {
  std::string frame = "\x28\xb5\x2f\xfd";
  frame += static_cast<char>(0x84);  // 4-byte content size, checksum, not single-segment
  frame += static_cast<char>((window_log - 10) << 3);
  for (int i = 0; i < 4; ++i) frame += static_cast<char>((content.size() >> (8 * i)) & 0xff);
  uint32_t block_header = (static_cast<uint32_t>(content.size()) << 3) | 1;  // raw, last
  for (int i = 0; i < 3; ++i) frame += static_cast<char>((block_header >> (8 * i)) & 0xff);
  frame += content;
  uint32_t checksum = static_cast<uint32_t>(XXH64(content.data(), content.size(), 0));
  for (int i = 0; i < 4; ++i) frame += static_cast<char>((checksum >> (8 * i)) & 0xff);
  return frame;
}

TEST_CASE("a zstd frame declaring a window above the base and content's limit is refused") {
  DeltaBase empty;
  std::string content = RandomBytes(1000, 51);
  REQUIRE(DeltaWindowSize(content.size()) == 1024);
  // Within the limit, the hand-made frame decodes: the refusal below is the window's.
  Decoded fine = Decode(empty, content.size(), HandMadeFrame(content, 10));
  INFO(fine.status.ToString());
  REQUIRE(fine.status.ok());
  REQUIRE(fine.content == content);
  for (int window_log : {11, 27, 31, 41}) {
    CAPTURE(window_log);
    Decoded decoded = Decode(empty, content.size(), HandMadeFrame(content, window_log));
    REQUIRE(decoded.status.IsCorruption());
    // A window beyond any zstd's reach fails zstd's own header check.
    REQUIRE_THAT(decoded.status.message(),
                 Catch::Contains(window_log <= 31 ? "window" : "too much memory"));
    REQUIRE(decoded.content.empty());
  }
}

TEST_CASE("bytes that are no zstd frame are refused as a delta at offset 0") {
  DeltaBase empty;
  const std::string not_deltas[] = {
      std::string(64, 'x'),
      // A skippable frame: magic 0x184D2A50, 4 bytes of length, the bytes.
      std::string("\x50\x2a\x4d\x18\x04\x00\x00\x00"
                  "abcd",
                  12),
  };
  for (const std::string& bytes : not_deltas) {
    Decoded decoded = Decode(empty, 4, bytes);
    REQUIRE(decoded.status.IsCorruption());
    REQUIRE_THAT(decoded.status.message(), Catch::Contains("delta at offset 0"));
  }
}

TEST_CASE("a delta encoder refuses content beyond or short of its declared size") {
  DeltaBase empty;
  auto sink = [](io::ByteView) { return Status::Ok(); };
  auto encoder = DeltaEncoder::Make(empty, 10, {.level = kTestLevel}, sink);
  REQUIRE(encoder.ok());
  REQUIRE((*encoder)->Write(io::AsBytes("0123456789")).ok());
  Status over = (*encoder)->Write(io::AsBytes("x"));
  REQUIRE(over.kind() == ErrorKind::kInvalidArgument);
  REQUIRE((*encoder)->Finish().kind() == ErrorKind::kInvalidArgument);  // broken stays broken

  auto short_encoder = DeltaEncoder::Make(empty, 10, {.level = kTestLevel}, sink);
  REQUIRE(short_encoder.ok());
  REQUIRE((*short_encoder)->Write(io::AsBytes("01234")).ok());
  REQUIRE((*short_encoder)->Finish().kind() == ErrorKind::kInvalidArgument);
}

TEST_CASE("a delta spanning more than the window limit is unsupported on both sides") {
  DeltaBase empty;
  auto sink = [](io::ByteView) { return Status::Ok(); };
  REQUIRE(DeltaDecoder::Make(empty, kMaxDeltaSpan, sink).ok());
  auto encoder = DeltaEncoder::Make(empty, kMaxDeltaSpan + 1, {}, sink);
  REQUIRE(encoder.status().kind() == ErrorKind::kUnsupported);
  auto decoder = DeltaDecoder::Make(empty, kMaxDeltaSpan + 1, sink);
  REQUIRE(decoder.status().kind() == ErrorKind::kUnsupported);
  REQUIRE_THAT(decoder.status().message(), Catch::Contains("ship the layer whole"));
}

TEST_CASE("a delta encoder refuses a level zstd does not have") {
  DeltaBase empty;
  auto sink = [](io::ByteView) { return Status::Ok(); };
  for (int level : {0, 23, -5}) {
    CAPTURE(level);
    REQUIRE(DeltaEncoder::Make(empty, 1, {.level = level}, sink).status().kind() ==
            ErrorKind::kInvalidArgument);
  }
}

TEST_CASE("an error from the delta's consumer stops the encoder and the decoder") {
  TempDir dir;
  std::string content = RandomBytes(300000, 61);
  DeltaBase empty;
  auto failing = [](io::ByteView) { return Status::NoSpace("disk full"); };
  auto encoder = DeltaEncoder::Make(empty, content.size(), {.level = kTestLevel}, failing);
  REQUIRE(encoder.ok());
  Status status = (*encoder)->Write(io::AsBytes(content));
  if (status.ok()) status = (*encoder)->Finish();
  REQUIRE(status.IsNoSpace());

  std::string delta = Encode(empty, content);
  auto decoder = DeltaDecoder::Make(empty, content.size(), failing);
  REQUIRE(decoder.ok());
  REQUIRE((*decoder)->Write(io::AsBytes(delta)).IsNoSpace());
  REQUIRE((*decoder)->Finish().IsNoSpace());
}

TEST_CASE("a delta base maps a file's bytes, and a missing file is not found, naming it") {
  TempDir dir;
  std::string bytes = RandomBytes(10000, 71);
  testing::WriteFile(dir / "layer.tar", bytes);
  Result<DeltaBase> base = DeltaBase::MapFile(dir / "layer.tar");
  REQUIRE(base.ok());
  REQUIRE(io::AsChars(base->bytes()) == bytes);
  DeltaBase moved = std::move(base).value();
  REQUIRE(io::AsChars(moved.bytes()) == bytes);

  Result<DeltaBase> missing = DeltaBase::MapFile(dir / "absent.tar");
  REQUIRE(missing.status().IsNotFound());
  REQUIRE_THAT(missing.status().message(), Catch::Contains(dir / "absent.tar"));

  Result<DeltaBase> directory = DeltaBase::MapFile(dir.path());
  REQUIRE_FALSE(directory.ok());
  REQUIRE_THAT(directory.status().message(), Catch::Contains(dir.path()));
}

}  // namespace
}  // namespace sluice::delta
