#include "format/blob_check.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "string_io.h"

namespace sluice::format {
namespace {

using testing::FailingReader;
using testing::StringReader;

// Reads `reader` to its end; the bytes it handed out go to *out.
Status ReadAll(io::SequentialReader* reader, std::string* out) {
  std::vector<uint8_t> buffer(7);  // small, so the check sees many pieces
  while (true) {
    auto n = reader->Read(buffer);
    if (!n.ok()) return n.status();
    if (*n == 0) return Status::Ok();
    out->append(reinterpret_cast<const char*>(buffer.data()), *n);
  }
}

const std::string kBlob = "the bytes of a layer, in several pieces";

TEST_CASE("a verifying reader passes the blob through and ends cleanly") {
  for (std::optional<uint64_t> size :
       {std::optional<uint64_t>(kBlob.size()), std::optional<uint64_t>()}) {
    auto reader =
        NewVerifyingReader(std::make_unique<StringReader>(kBlob, 5), Sha256::Of(kBlob), size);
    std::string got;
    REQUIRE(ReadAll(reader.get(), &got).ok());
    CHECK(got == kBlob);
  }
}

TEST_CASE("a verifying reader ends with corruption naming the digest when the bytes differ") {
  std::string rotten = kBlob;
  rotten[3] ^= 1;
  Digest digest = Sha256::Of(kBlob);
  auto reader = NewVerifyingReader(std::make_unique<StringReader>(rotten), digest, kBlob.size());
  std::string got;
  Status s = ReadAll(reader.get(), &got);
  CHECK(s.IsCorruption());
  CHECK(s.message().find(digest.str()) != std::string::npos);
  CHECK(s.message().find("hash to " + Sha256::Of(rotten).str()) != std::string::npos);
}

TEST_CASE(
    "a verifying reader fails once more bytes than declared arrive, without handing them out") {
  auto reader = NewVerifyingReader(std::make_unique<StringReader>(kBlob), Sha256::Of(kBlob),
                                   kBlob.size() - 10);
  std::string got;
  Status s = ReadAll(reader.get(), &got);
  CHECK(s.IsCorruption());
  CHECK(s.message().find("more than the expected " + std::to_string(kBlob.size() - 10)) !=
        std::string::npos);
  CHECK(got.size() <= kBlob.size() - 10);
}

TEST_CASE("a verifying reader reports a short blob as corruption with both sizes") {
  std::string shorter = kBlob.substr(0, 20);
  auto reader = NewVerifyingReader(std::make_unique<StringReader>(shorter), Sha256::Of(kBlob),
                                   kBlob.size(), "layer x of archive a.tar");
  std::string got;
  Status s = ReadAll(reader.get(), &got);
  CHECK(s.IsCorruption());
  CHECK(s.message() ==
        "layer x of archive a.tar: 20 bytes, expected " + std::to_string(kBlob.size()));
}

TEST_CASE("a verifying reader passes an I/O error through as it is") {
  auto reader = NewVerifyingReader(std::make_unique<FailingReader>(kBlob, 10), Sha256::Of(kBlob),
                                   kBlob.size());
  std::string got;
  Status s = ReadAll(reader.get(), &got);
  CHECK(!s.ok());
  CHECK(!s.IsCorruption());
}

TEST_CASE("a blob check accepts exactly the blob and nothing else") {
  Digest digest = Sha256::Of(kBlob);
  BlobCheck good(digest, kBlob.size(), "blob");
  REQUIRE(good.Update(io::AsBytes(kBlob.substr(0, 10))).ok());
  REQUIRE(good.Update(io::AsBytes(kBlob.substr(10))).ok());
  CHECK(good.Finish().ok());
  CHECK(good.count() == kBlob.size());

  BlobCheck too_long(digest, kBlob.size(), "blob");
  REQUIRE(too_long.Update(io::AsBytes(kBlob)).ok());
  CHECK(too_long.Update(io::AsBytes(std::string("x"))).IsCorruption());

  BlobCheck empty(Sha256::Of(""), 0, "blob");
  CHECK(empty.Finish().ok());
}

}  // namespace
}  // namespace sluice::format
