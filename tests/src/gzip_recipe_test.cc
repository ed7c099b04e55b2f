// Gzip recipes against the real producers: Python's gzip and zlib, pigz,
// GNU gzip and umoci (Go, klauspost/pgzip) compress the same few MiB of text
// and binaries; every zlib- and pigz-made blob must come back byte for byte.
#include "delta/gzip_recipe.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "format/crypto.h"
#include "io/file.h"
#include "tests/support/files.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace sluice::delta {
namespace {

using testing::ReadFile;
using testing::RunShell;
using testing::ShellQuote;
using testing::TempDir;
using testing::WriteFile;

// About 3 MiB like a layer's tar: licence texts, then binaries, in a fixed order.
const std::string& ContentPath() {
  static TempDir dir;
  static const std::string path = [] {
    const std::string out = dir / "content.tar-like";
    auto made = RunShell("set -e; { cat $(ls /usr/share/doc/*/copyright | sort) | head -c 1500000;"
                         " cat $(ls /usr/bin/* | sort | head -40) 2>/dev/null | head -c 1800000; } > " +
                         ShellQuote(out));
    if (made.exit_code != 0) throw std::runtime_error(made.Describe());
    return out;
  }();
  return path;
}

// Runs `command` with $IN (the content) and $OUT (where the gzip goes) set.
std::string Produce(const TempDir& tmp, const std::string& command) {
  const std::string out = tmp / "blob.gz";
  auto run = RunShell("export IN=" + ShellQuote(ContentPath()) + " OUT=" + ShellQuote(out) + "; " + command);
  INFO(run.Describe());
  REQUIRE(run.exit_code == 0);
  return out;
}

struct Found {
  Result<GzipRecipe> recipe;
  std::string content;
};

Found Find(const std::string& path) {
  auto reader = io::PosixFileSystem()->NewSequentialReader(path);
  REQUIRE(reader.ok());
  std::string content;
  auto recipe = FindGzipRecipe(**reader, [&](io::ByteView bytes) {
    content.append(io::AsChars(bytes));
    return Status::Ok();
  });
  return {std::move(recipe), std::move(content)};
}

Result<std::string> Encode(const GzipRecipe& recipe, const std::string& content) {
  std::string out;
  SLUICE_ASSIGN_OR_RETURN(auto encoder, GzipEncoder::Make(recipe, [&](io::ByteView bytes) {
                            out.append(io::AsChars(bytes));
                            return Status::Ok();
                          }));
  // Uneven pieces, so nothing depends on how the content arrives.
  for (size_t at = 0, piece = 1000; at < content.size(); at += piece, piece = piece * 3 % 70001 + 1) {
    SLUICE_RETURN_IF_ERROR(encoder->Write(io::AsBytes(std::string_view(content).substr(at, piece))));
  }
  SLUICE_RETURN_IF_ERROR(encoder->Finish());
  return out;
}

// The producer's blob is found a recipe and made again exactly from its content.
GzipRecipe RequireReproduced(const std::string& command, const std::string& content_path = ContentPath()) {
  TempDir tmp;
  const std::string blob_path = Produce(tmp, command);
  const std::string blob = ReadFile(blob_path);
  Found found = Find(blob_path);
  INFO(command << ": " << found.recipe.status().ToString());
  REQUIRE(found.recipe.ok());
  INFO(DescribeRecipe(*found.recipe));
  CHECK(found.content == ReadFile(content_path));
  auto again = Encode(*found.recipe, found.content);
  REQUIRE(again.ok());
  CHECK(format::Sha256::Of(*again) == format::Sha256::Of(blob));
  return *found.recipe;
}

const std::string kPython = "python3 -c 'import gzip, os, zlib; ";

}  // namespace

TEST_CASE("Python's gzip at levels 1, 6 and 9 is reproduced by zlib at that level") {
  for (int level : {1, 6, 9}) {
    GzipRecipe recipe = RequireReproduced(
        kPython + "open(os.environ[\"OUT\"], \"wb\").write(gzip.compress(open(os.environ[\"IN\"], \"rb\").read(), " +
        std::to_string(level) + "))'");
    CHECK(recipe.encoder == GzipRecipe::Encoder::kZlib);
    CHECK(recipe.level == level);
    CHECK(recipe.mem_level == 8);
  }
}

TEST_CASE("zlib's own gzip stream with memLevel 9 or Z_FILTERED is reproduced with those settings") {
  auto zlib = [](const std::string& args) {
    return kPython + "c = zlib.compressobj(" + args +
           "); d = open(os.environ[\"IN\"], \"rb\").read(); "
           "open(os.environ[\"OUT\"], \"wb\").write(c.compress(d) + c.flush())'";
  };
  GzipRecipe mem9 = RequireReproduced(zlib("6, zlib.DEFLATED, 31, 9"));
  CHECK(mem9.mem_level == 9);
  GzipRecipe filtered = RequireReproduced(zlib("9, zlib.DEFLATED, 31, 8, zlib.Z_FILTERED"));
  CHECK(filtered.strategy == 1);
  CHECK(filtered.level == 9);
}

TEST_CASE("pigz's blocks, dictionaries and block-end flushes are reproduced for its common options") {
  struct Case {
    std::string options;
    GzipRecipe::Encoder encoder;
    int level;
    uint32_t block;
  };
  using E = GzipRecipe::Encoder;
  const Case cases[] = {
      {"-6", E::kPigz, 6, 128 << 10},
      {"--best --no-time", E::kPigz, 9, 128 << 10},  // debuerreotype's layers
      {"-6 -b 64", E::kPigz, 6, 64 << 10},
      {"-6 -p 2", E::kPigz, 6, 128 << 10},
      {"-6 -p 1", E::kPigz, 6, 128 << 10},           // one thread: the same bytes at level 6
      {"-1 -p 1", E::kPigzSingleThread, 1, 128 << 10},  // ...but not at level 1
      {"-1 -p 2", E::kPigz, 1, 128 << 10},
      {"-6 -i", E::kPigzIndependent, 6, 128 << 10},
  };
  for (const Case& c : cases) {
    GzipRecipe recipe = RequireReproduced("pigz " + c.options + " -c \"$IN\" > \"$OUT\"");
    CHECK(recipe.encoder == c.encoder);
    CHECK(recipe.level == c.level);
    CHECK(recipe.block_size == c.block);
  }
}

TEST_CASE("pigz output whose last block is exactly full, or tiny, or empty is reproduced") {
  // 3 blocks of 32 KiB exactly: the last one is finished, never flushed.
  TempDir tmp;
  WriteFile(tmp / "cut", ReadFile(ContentPath()).substr(0, 98304));
  GzipRecipe full = RequireReproduced("pigz -b 32 -c " + ShellQuote(tmp / "cut") + " > \"$OUT\"", tmp / "cut");
  CHECK(full.block_size == 32 << 10);
  for (const std::string& content : {std::string(), std::string("hello\n")}) {
    WriteFile(tmp / "small", content);
    REQUIRE(RunShell("pigz -c " + ShellQuote(tmp / "small") + " > " + ShellQuote(tmp / "small.gz")).exit_code == 0);
    Found found = Find(tmp / "small.gz");
    REQUIRE(found.recipe.ok());
    CHECK(found.content == content);
    auto again = Encode(*found.recipe, content);
    REQUIRE(again.ok());
    CHECK(*again == ReadFile(tmp / "small.gz"));
  }
}

TEST_CASE("GNU gzip's blobs have no zlib recipe and are refused saying so") {
  for (const std::string level : {"-6", "-9"}) {
    TempDir tmp;
    Found found = Find(Produce(tmp, "gzip " + level + " -c \"$IN\" > \"$OUT\""));
    INFO(found.recipe.status().ToString());
    REQUIRE(found.recipe.status().kind() == ErrorKind::kUnsupported);
    CHECK_THAT(found.recipe.status().message(), Catch::Contains("not made by zlib or pigz"));
  }
}

TEST_CASE("a Go-made layer (umoci, pgzip) is refused quickly, naming Go and pgzip") {
  TempDir tmp;
  const std::string t = ShellQuote(tmp.path());
  auto made = RunShell("set -e; cd " + t + "; umoci init --layout L; umoci new --image L:t;" +
                       " umoci unpack --rootless --image L:t b; cp " + ShellQuote(ContentPath()) +
                       " b/rootfs/content; umoci repack --image L:t b");
  INFO(made.Describe());
  REQUIRE(made.exit_code == 0);
  auto index = nlohmann::json::parse(ReadFile(tmp / "L/index.json"));
  std::string manifest_digest = index["manifests"][0]["digest"];
  auto manifest = nlohmann::json::parse(ReadFile(tmp / ("L/blobs/sha256/" + manifest_digest.substr(7))));
  std::string layer_digest = manifest["layers"][0]["digest"];
  const auto started = std::chrono::steady_clock::now();
  Found found = Find(tmp / ("L/blobs/sha256/" + layer_digest.substr(7)));
  const auto took = std::chrono::steady_clock::now() - started;
  INFO(found.recipe.status().ToString());
  REQUIRE(found.recipe.status().kind() == ErrorKind::kUnsupported);
  CHECK_THAT(found.recipe.status().message(), Catch::Contains("Go") && Catch::Contains("pgzip"));
  // Dropped within the first blocks, not after decoding the whole layer.
  CHECK(found.content.size() < ReadFile(ContentPath()).size());
  CHECK(took < std::chrono::seconds(20));
}

TEST_CASE("damaged gzip is corruption, extra members and trailing bytes are refused with a reason") {
  TempDir tmp;
  const std::string good = ReadFile(Produce(tmp, "pigz -6 -c \"$IN\" > \"$OUT\""));
  auto find_bytes = [&](const std::string& bytes) {
    WriteFile(tmp / "case.gz", bytes);
    return Find(tmp / "case.gz").recipe.status();
  };
  auto gunzip_bytes = [&](const std::string& bytes) {
    WriteFile(tmp / "case.gz", bytes);
    auto reader = io::PosixFileSystem()->NewSequentialReader(tmp / "case.gz");
    REQUIRE(reader.ok());
    return Gunzip(**reader, [](io::ByteView) { return Status::Ok(); });
  };
  SECTION("truncated") {
    for (size_t keep : {size_t{5}, good.size() / 2, good.size() - 3}) {
      INFO(keep);
      CHECK(find_bytes(good.substr(0, keep)).kind() == ErrorKind::kCorruption);
      CHECK(gunzip_bytes(good.substr(0, keep)).kind() == ErrorKind::kCorruption);
    }
  }
  SECTION("a wrong CRC32 or ISIZE") {
    for (size_t from_end : {size_t{8}, size_t{1}}) {
      std::string bad = good;
      bad[bad.size() - from_end] ^= 0x40;
      Status status = find_bytes(bad);
      CHECK(status.kind() == ErrorKind::kCorruption);
      CHECK_THAT(status.message(), Catch::Contains(from_end == 8 ? "CRC32" : "ISIZE"));
      CHECK(gunzip_bytes(bad).kind() == ErrorKind::kCorruption);
    }
  }
  SECTION("not gzip at all") {
    Status status = find_bytes("PK\x03\x04 a zip file");
    CHECK(status.kind() == ErrorKind::kUnsupported);
    CHECK_THAT(status.message(), Catch::Contains("not gzip (magic 50 4b)"));
  }
  SECTION("two members") {
    Status status = find_bytes(good + good);
    CHECK(status.kind() == ErrorKind::kUnsupported);
    CHECK_THAT(status.message(), Catch::Contains("2 gzip members"));
    CHECK(gunzip_bytes(good + good).ok());  // gzip -d reads both; so does Gunzip
  }
  SECTION("bytes after the member") {
    Status status = find_bytes(good + std::string(12, '\0'));
    CHECK(status.kind() == ErrorKind::kUnsupported);
    CHECK_THAT(status.message(), Catch::Contains("12 bytes after the gzip member"));
  }
}

TEST_CASE("Gunzip decodes what pigz made to the original content") {
  TempDir tmp;
  auto reader = io::PosixFileSystem()->NewSequentialReader(Produce(tmp, "pigz --best -c \"$IN\" > \"$OUT\""));
  REQUIRE(reader.ok());
  std::string content;
  REQUIRE(Gunzip(**reader, [&](io::ByteView bytes) {
            content.append(io::AsChars(bytes));
            return Status::Ok();
          }).ok());
  CHECK(content == ReadFile(ContentPath()));
}

TEST_CASE("a recipe with the wrong level re-encodes to different bytes") {
  TempDir tmp;
  const std::string blob_path = Produce(tmp, "pigz --best -c \"$IN\" > \"$OUT\"");
  Found found = Find(blob_path);
  REQUIRE(found.recipe.ok());
  GzipRecipe wrong = *found.recipe;
  wrong.level = 8;
  auto again = Encode(wrong, found.content);
  REQUIRE(again.ok());
  CHECK(format::Sha256::Of(*again) != format::Sha256::Of(ReadFile(blob_path)));
}

TEST_CASE("a recipe round trips through the format's content encoding, which refuses bad values") {
  GzipRecipe recipe;
  recipe.encoder = GzipRecipe::Encoder::kPigz;
  recipe.level = 9;
  recipe.block_size = 128 << 10;
  // FNAME "a.tar", as gzip and pigz write it for a named file.
  recipe.header = std::string("\x1f\x8b\x08\x08\x00\x00\x00\x00\x02\x03" "a.tar", 15) + std::string(1, '\0');
  const format::ContentEncoding encoding = ToContentEncoding(recipe);
  CHECK(encoding.kind == format::ContentEncoding::Kind::kGzipPigz);
  auto decoded = FromContentEncoding(encoding);
  REQUIRE(decoded.ok());
  CHECK(*decoded == recipe);

  auto refused = [&](auto change) {
    format::ContentEncoding bad = encoding;
    change(bad);
    return FromContentEncoding(bad).status().kind() == ErrorKind::kCorruption;
  };
  CHECK(refused([](auto& e) { e.kind = format::ContentEncoding::Kind::kNone; }));
  CHECK(refused([](auto& e) { e.level = 0; }));
  CHECK(refused([](auto& e) { e.level = 10; }));
  CHECK(refused([](auto& e) { e.mem_level = 10; }));
  CHECK(refused([](auto& e) { e.strategy = 5; }));
  CHECK(refused([](auto& e) { e.block_size += 1; }));
  CHECK(refused([](auto& e) { e.gzip_header[0] = 0x50; }));
  CHECK(refused([](auto& e) { e.gzip_header += "x"; }));
  for (size_t keep = 0; keep < encoding.gzip_header.size(); ++keep) {
    INFO(keep);
    CHECK(refused([&](auto& e) { e.gzip_header.resize(keep); }));
  }
}

}  // namespace sluice::delta
