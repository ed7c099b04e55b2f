// Receipts (receipt.h): the file is checked as a verifier written from the
// header's description must check it, and every damaged, forged or foreign
// receipt is refused with the kind the CLI maps to "bad data".
#include "receipt.h"

#include <openssl/evp.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "io/memory_file_system.h"
#include "io/atomic_file.h"
#include "unix_time.h"

using namespace sluice;
using nlohmann::json;

namespace {

format::PrivateKey NewKey() {
  auto key = format::PrivateKey::Generate();
  REQUIRE(key.ok());
  return std::move(key).value();
}

Receipt SampleReceipt() {
  Receipt r;
  r.bundle_id = "00112233445566778899aabbccddeeff";
  r.ledger_id = "ffeeddccbbaa99887766554433221100";
  r.sequence = 7;
  r.created_unix = 1714564800;  // 2024-05-01T12:00:00Z
  r.destination = "oci:/srv/mirror";
  r.blobs = {format::Sha256::Of("layer b"), format::Sha256::Of("config"),
             format::Sha256::Of("layer a")};
  r.refs = {{"app", "1.0", format::Sha256::Of("manifest")},
            {"", "base:1", format::Sha256::Of("base manifest")},
            {"team/tool", "", format::Sha256::Of("pinned")}};
  return r;
}

std::string Signed(const Receipt& r, const format::PrivateKey& key) {
  auto text = SignReceipt(r, key);
  REQUIRE(text.ok());
  return *text;
}

std::string Base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string Unbase64(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  REQUIRE(n >= 0);
  size_t padding = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

// The envelope of a signed receipt with its payload replaced by `payload`
// (base64 of it), the signature left as it was.
std::string WithPayload(const std::string& text, const std::string& payload) {
  json envelope = json::parse(text);
  envelope["payload"] = Base64(payload);
  return envelope.dump();
}

// `payload` signed by `key`: a receipt whose signature is good whatever the
// payload says.
std::string SignedPayload(const std::string& payload, const format::PrivateKey& key) {
  auto text = SignReceiptPayload(payload, key);
  REQUIRE(text.ok());
  return *text;
}

void CheckRefused(const Result<VerifiedReceipt>& r, ErrorKind kind, const std::string& mention) {
  REQUIRE_FALSE(r.ok());
  INFO(r.status().ToString());
  CHECK(r.status().kind() == kind);
  CHECK(r.status().message().find("receipt /r.json") != std::string::npos);
  CHECK(r.status().message().find(mention) != std::string::npos);
  CHECK(r.status().message().find('\n') == std::string::npos);
}

}  // namespace

TEST_CASE("a signed receipt verifies with its signer's key and reads back field for field") {
  format::PrivateKey key = NewKey();
  format::PrivateKey other = NewKey();
  Receipt receipt = SampleReceipt();
  std::string text = Signed(receipt, key);

  auto verified = VerifyReceipt(text, {other.public_key(), key.public_key()}, "receipt /r.json");
  REQUIRE(verified.ok());
  CHECK(verified->signer == key.public_key().FingerprintText());
  Receipt expected = receipt;
  std::sort(expected.blobs.begin(), expected.blobs.end());
  CHECK(verified->receipt == expected);
}

TEST_CASE("a receipt's payload lists its blobs sorted once each and both forms of its time") {
  Receipt receipt = SampleReceipt();
  receipt.blobs.push_back(receipt.blobs[0]);
  json payload = json::parse(EncodeReceiptPayload(receipt));
  CHECK(payload.at("format") == "sluice-receipt-payload");
  CHECK(payload.at("version") == 1);
  CHECK(payload.at("created") == "2024-05-01T12:00:00Z");
  CHECK(payload.at("created_unix") == 1714564800);
  std::vector<std::string> blobs = payload.at("blobs");
  REQUIRE(blobs.size() == 3);
  CHECK(std::is_sorted(blobs.begin(), blobs.end()));
  REQUIRE(payload.at("refs").size() == 3);
  CHECK(payload["refs"][2] == json{{"repository", "team/tool"},
                                   {"tag", ""},
                                   {"digest", format::Sha256::Of("pinned").str()}});
}

TEST_CASE("the signature is Ed25519 over the domain prefix and the payload's SHA-256, as "
          "receipt.h documents it") {
  format::PrivateKey key = NewKey();
  std::string text = Signed(SampleReceipt(), key);
  json envelope = json::parse(text);
  CHECK(envelope.at("format") == "sluice-receipt");
  CHECK(envelope.at("version") == 1);
  CHECK(envelope.at("signer") == key.public_key().FingerprintText());
  std::string payload = Unbase64(envelope.at("payload").get<std::string>());
  CHECK(payload == EncodeReceiptPayload(SampleReceipt()));

  // The 50-byte message, built from the description alone.
  std::string message("sluice receipt v1", 17);
  message.push_back('\0');
  unsigned char digest[32];
  unsigned int size = 0;
  REQUIRE(EVP_Digest(payload.data(), payload.size(), digest, &size, EVP_sha256(), nullptr) == 1);
  message.append(reinterpret_cast<const char*>(digest), size);
  REQUIRE(message.size() == 50);
  CHECK(ReceiptSignedMessage(payload) == message);
  format::Ed25519Signature signature{};
  std::string hex = envelope.at("ed25519");
  REQUIRE(hex.size() == 128);
  for (size_t i = 0; i < signature.size(); ++i) {
    signature[i] = static_cast<uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  }
  CHECK(key.public_key().Verify(io::AsBytes(message), signature));
  // Not over the payload itself, nor over a bundle's context.
  CHECK_FALSE(key.public_key().Verify(io::AsBytes(payload), signature));
}

TEST_CASE("a receipt with any byte of its file changed is refused as damaged or untrusted") {
  format::PrivateKey key = NewKey();
  const std::string text = Signed(SampleReceipt(), key);
  for (uint8_t flip : {0x01, 0x20, 0x80}) {
    for (size_t i = 0; i < text.size(); ++i) {
      std::string changed = text;
      changed[i] = static_cast<char>(changed[i] ^ flip);
      auto r = VerifyReceipt(changed, {key.public_key()}, "receipt /r.json");
      INFO("byte " << i << " ^ " << int{flip} << ": " << changed.substr(i > 20 ? i - 20 : 0, 40));
      REQUIRE_FALSE(r.ok());
      ErrorKind kind = r.status().kind();
      CHECK((kind == ErrorKind::kCorruption || kind == ErrorKind::kUntrusted ||
             kind == ErrorKind::kUnsupported));
    }
  }
}

TEST_CASE("a receipt whose payload was changed by a byte and re-encoded is refused as untrusted") {
  format::PrivateKey key = NewKey();
  const std::string text = Signed(SampleReceipt(), key);
  const std::string payload = EncodeReceiptPayload(SampleReceipt());
  for (size_t i = 0; i < payload.size(); ++i) {
    std::string changed = payload;
    changed[i] = static_cast<char>(changed[i] ^ 0x01);
    INFO("payload byte " << i);
    CheckRefused(VerifyReceipt(WithPayload(text, changed), {key.public_key()}, "receipt /r.json"),
                 ErrorKind::kUntrusted, "changed after it was signed");
  }
  // The unchanged payload, re-encoded the same way, still verifies.
  CHECK(VerifyReceipt(WithPayload(text, payload), {key.public_key()}, "receipt /r.json").ok());
}

TEST_CASE("a receipt cut short anywhere is refused as damaged") {
  format::PrivateKey key = NewKey();
  const std::string text = Signed(SampleReceipt(), key);
  REQUIRE(text.back() == '\n');
  // Every cut before the closing brace; the final newline is white space.
  for (size_t size = 0; size + 1 < text.size(); ++size) {
    INFO("cut to " << size << " bytes");
    CheckRefused(VerifyReceipt(text.substr(0, size), {key.public_key()}, "receipt /r.json"),
                 ErrorKind::kCorruption, "");
  }
}

TEST_CASE("a receipt signed by a key that is not trusted is refused naming its signer") {
  format::PrivateKey key = NewKey();
  format::PrivateKey trusted = NewKey();
  CheckRefused(VerifyReceipt(Signed(SampleReceipt(), key), {trusted.public_key()},
                             "receipt /r.json"),
               ErrorKind::kUntrusted,
               "signed by " + key.public_key().FingerprintText() + ", which is not a trusted key");
}

TEST_CASE("a receipt naming a trusted signer but signed by another key is refused") {
  format::PrivateKey forger = NewKey();
  format::PrivateKey trusted = NewKey();
  json envelope = json::parse(Signed(SampleReceipt(), forger));
  envelope["signer"] = trusted.public_key().FingerprintText();
  CheckRefused(VerifyReceipt(envelope.dump(), {trusted.public_key()}, "receipt /r.json"),
               ErrorKind::kUntrusted, "does not match its payload");
}

TEST_CASE("a receipt whose envelope is malformed is refused as damaged naming what") {
  format::PrivateKey key = NewKey();
  const json good = json::parse(Signed(SampleReceipt(), key));
  struct Case {
    const char* what;
    std::function<void(json&)> edit;
    ErrorKind kind;
    const char* mention;
  };
  const std::string payload = good.at("payload");
  const std::vector<Case> cases = {
      {"not an object", [](json& e) { e = json::array(); }, ErrorKind::kCorruption, ""},
      {"another format", [](json& e) { e["format"] = "sluice-inventory"; },
       ErrorKind::kCorruption, "format"},
      {"a later version", [](json& e) { e["version"] = 2; }, ErrorKind::kUnsupported,
       "version 2"},
      {"no payload", [](json& e) { e.erase("payload"); }, ErrorKind::kCorruption, "payload"},
      {"a numeric signature", [](json& e) { e["ed25519"] = 5; }, ErrorKind::kCorruption,
       "ed25519"},
      {"a short signature", [](json& e) { e["ed25519"] = "abcd"; }, ErrorKind::kCorruption,
       "ed25519 is not 128 lower-case hex digits"},
      {"upper-case hex", [](json& e) {
         std::string s = e["ed25519"];
         for (char& c : s) c = static_cast<char>(std::toupper(c));
         e["ed25519"] = s;
       },
       ErrorKind::kCorruption, "ed25519"},
      {"base64 with a line break",
       [&](json& e) { e["payload"] = payload.substr(0, 64) + "\n" + payload.substr(64); },
       ErrorKind::kCorruption, "canonical base64"},
      {"base64 not padded", [&](json& e) { e["payload"] = payload + "A"; },
       ErrorKind::kCorruption, "canonical base64"},
      {"base64 with a character outside its alphabet",
       [&](json& e) { e["payload"] = "*" + payload.substr(1); }, ErrorKind::kCorruption,
       "canonical base64"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    json edited = good;
    c.edit(edited);
    CheckRefused(VerifyReceipt(edited.dump(), {key.public_key()}, "receipt /r.json"), c.kind,
                 c.mention);
  }
}

TEST_CASE("a signed payload that breaks the receipt's rules is refused as damaged naming the "
          "field") {
  format::PrivateKey key = NewKey();
  const json good = json::parse(EncodeReceiptPayload(SampleReceipt()));
  struct Case {
    const char* what;
    std::function<void(json&)> edit;
    ErrorKind kind;
    const char* mention;
  };
  const std::vector<Case> cases = {
      {"blobs out of order",
       [](json& p) { std::swap(p["blobs"][0], p["blobs"][1]); }, ErrorKind::kCorruption,
       "blobs[1] sorts before"},
      {"a blob twice", [](json& p) { p["blobs"][1] = p["blobs"][0]; }, ErrorKind::kCorruption,
       "blobs[1] repeats"},
      {"a blob that is no digest", [](json& p) { p["blobs"][0] = "sha256:xyz"; },
       ErrorKind::kCorruption, "blobs[0]"},
      {"created and created_unix apart", [](json& p) { p["created"] = "2024-05-01T12:00:01Z"; },
       ErrorKind::kCorruption, "created"},
      {"a bundle id that is not hex", [](json& p) { p["bundle_id"] = "not hex"; },
       ErrorKind::kCorruption, "bundle_id"},
      {"a ledger id of upper-case hex",
       [](json& p) { p["ledger_id"] = "FFEEDDCCBBAA99887766554433221100"; },
       ErrorKind::kCorruption, "ledger_id"},
      {"a sequence as a string", [](json& p) { p["sequence"] = "7"; }, ErrorKind::kCorruption,
       "sequence"},
      {"no refs", [](json& p) { p.erase("refs"); }, ErrorKind::kCorruption, "refs"},
      {"a ref without a tag", [](json& p) { p["refs"][0].erase("tag"); },
       ErrorKind::kCorruption, "refs[0].tag"},
      {"an inventory's format", [](json& p) { p["format"] = "sluice-inventory"; },
       ErrorKind::kCorruption, "format"},
      {"a later version", [](json& p) { p["version"] = 2; }, ErrorKind::kUnsupported,
       "version 2"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    json edited = good;
    c.edit(edited);
    CheckRefused(VerifyReceipt(SignedPayload(edited.dump(), key), {key.public_key()},
                               "receipt /r.json"),
                 c.kind, c.mention);
  }
  // Members it does not know are ignored: how the payload grows.
  json grown = good;
  grown["site"] = "north";
  CHECK(VerifyReceipt(SignedPayload(grown.dump(), key), {key.public_key()}, "receipt /r.json")
            .ok());
}

TEST_CASE("a receipt file is loaded and checked, a missing one is not found naming it") {
  io::MemoryFileSystem fs;
  format::PrivateKey key = NewKey();
  const std::string text = Signed(SampleReceipt(), key);
  REQUIRE(io::WriteFileAtomically(&fs, "/r.json", io::AsBytes(text)).ok());
  auto loaded = LoadReceipt(&fs, "/r.json", {key.public_key()});
  REQUIRE(loaded.ok());
  CHECK(loaded->receipt.sequence == 7);

  auto missing = LoadReceipt(&fs, "/none.json", {key.public_key()});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().IsNotFound());
  CHECK(missing.status().message().find("/none.json") != std::string::npos);
}

TEST_CASE("times are written in ISO 8601 UTC to the second") {
  CHECK(IsoTimeUtc(0) == "1970-01-01T00:00:00Z");
  CHECK(IsoTimeUtc(1714564800) == "2024-05-01T12:00:00Z");
  CHECK(IsoTimeUtc(253402300799) == "9999-12-31T23:59:59Z");
  CHECK(IsoTimeUtc(253402300800) == "@253402300800");
}
