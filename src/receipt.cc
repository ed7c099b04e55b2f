#include "receipt.h"

#include <openssl/evp.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/json_fields.h"
#include "json_document.h"
#include "unix_time.h"

namespace sluice {
namespace {

using nlohmann::ordered_json;

constexpr const char* kEnvelopeFormat = "sluice-receipt";
constexpr const char* kPayloadFormat = "sluice-receipt-payload";
constexpr uint64_t kVersion = 1;
// "sluice receipt v1" and its terminating zero byte.
constexpr std::string_view kSignatureContext{"sluice receipt v1\0", 18};
constexpr size_t kIdHexDigits = 32;

// Canonical base64 only (receipt.h): whatever EVP_DecodeBlock would also
// take (white space, stray bits in the last character) is refused, by
// encoding what it decoded and comparing.
std::optional<std::string> Base64DecodeCanonical(std::string_view text) {
  if (text.size() > static_cast<size_t>(INT32_MAX)) return std::nullopt;
  Result<std::string> out = format::Base64Decode(text);
  if (!out.ok() || format::Base64Encode(*out) != text) return std::nullopt;
  return std::move(out).value();
}

bool IsLowerHex(std::string_view text, size_t digits) {
  return text.size() == digits && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool DecodeHex(std::string_view hex, uint8_t* out, size_t size) {
  if (!IsLowerHex(hex, size * 2)) return false;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (size_t i = 0; i < size; ++i) {
    out[i] = static_cast<uint8_t>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  }
  return true;
}

Result<std::string> HexIdMember(const io::JsonField& object, std::string_view key) {
  SLUICE_ASSIGN_OR_RETURN(std::string id, object.String(key));
  if (!IsLowerHex(id, kIdHexDigits)) {
    return object.Invalid(std::string(key) + " is not " + std::to_string(kIdHexDigits) +
                          " lower-case hex digits");
  }
  return id;
}

// Reads the payload, once its signature has been checked.
Result<Receipt> ParsePayload(std::string_view payload, const std::string& where) {
  SLUICE_ASSIGN_OR_RETURN(io::JsonDocument doc,
                          ParseJsonDocument(payload, kPayloadFormat, kVersion, where + " payload"));
  const io::JsonField root = doc.root();
  Receipt r;
  SLUICE_ASSIGN_OR_RETURN(r.bundle_id, HexIdMember(root, "bundle_id"));
  SLUICE_ASSIGN_OR_RETURN(r.ledger_id, HexIdMember(root, "ledger_id"));
  SLUICE_ASSIGN_OR_RETURN(r.sequence, root.Uint("sequence"));
  SLUICE_ASSIGN_OR_RETURN(r.created_unix, root.Uint("created_unix"));
  SLUICE_ASSIGN_OR_RETURN(std::string created, root.String("created"));
  if (created != IsoTimeUtc(r.created_unix)) {
    return Status::Corruption(where + " payload: created is \"" + created +
                              "\" but created_unix " + std::to_string(r.created_unix) + " is " +
                              IsoTimeUtc(r.created_unix));
  }
  SLUICE_ASSIGN_OR_RETURN(r.destination, root.String("destination"));
  SLUICE_ASSIGN_OR_RETURN(io::JsonField blobs, root.Array("blobs"));
  SLUICE_ASSIGN_OR_RETURN(std::vector<io::JsonField> blob_list, blobs.Elements());
  r.blobs.reserve(blob_list.size());
  for (const io::JsonField& b : blob_list) {
    SLUICE_ASSIGN_OR_RETURN(format::Digest digest, DigestValue(b));
    if (!r.blobs.empty() && !(r.blobs.back() < digest)) {
      return b.Invalid(r.blobs.back() == digest ? "repeats the digest before it"
                                                : "sorts before the digest before it");
    }
    r.blobs.push_back(std::move(digest));
  }
  SLUICE_ASSIGN_OR_RETURN(io::JsonField refs, root.Array("refs"));
  SLUICE_ASSIGN_OR_RETURN(std::vector<io::JsonField> ref_list, refs.Elements());
  for (const io::JsonField& ref : ref_list) {
    Receipt::Ref entry;
    SLUICE_ASSIGN_OR_RETURN(entry.repository, ref.String("repository"));
    SLUICE_ASSIGN_OR_RETURN(entry.tag, ref.String("tag"));
    SLUICE_ASSIGN_OR_RETURN(entry.digest, DigestMember(ref, "digest"));
    r.refs.push_back(std::move(entry));
  }
  return r;
}

}  // namespace

std::string EncodeReceiptPayload(const Receipt& receipt) {
  std::vector<format::Digest> sorted = receipt.blobs;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  ordered_json blobs = ordered_json::array();
  for (const format::Digest& d : sorted) blobs.push_back(d.str());
  ordered_json refs = ordered_json::array();
  for (const Receipt::Ref& ref : receipt.refs) {
    refs.push_back(
        {{"repository", ref.repository}, {"tag", ref.tag}, {"digest", ref.digest.str()}});
  }
  ordered_json doc = {{"format", kPayloadFormat},
                      {"version", kVersion},
                      {"bundle_id", receipt.bundle_id},
                      {"ledger_id", receipt.ledger_id},
                      {"sequence", receipt.sequence},
                      {"created", IsoTimeUtc(receipt.created_unix)},
                      {"created_unix", receipt.created_unix},
                      {"destination", receipt.destination},
                      {"blobs", std::move(blobs)},
                      {"refs", std::move(refs)}};
  // A destination path that is not UTF-8 is informational only: its bad
  // bytes become U+FFFD rather than an exception.
  return doc.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

std::string ReceiptSignedMessage(std::string_view payload) {
  std::string message(kSignatureContext);
  format::Sha256 hasher;
  hasher.Update(io::AsBytes(payload));
  const std::array<uint8_t, 32> raw = hasher.FinishRaw();
  message.append(reinterpret_cast<const char*>(raw.data()), raw.size());
  return message;
}

Result<std::string> SignReceiptPayload(std::string_view payload, const format::PrivateKey& key) {
  SLUICE_ASSIGN_OR_RETURN(format::Ed25519Signature signature,
                          key.Sign(io::AsBytes(ReceiptSignedMessage(payload))));
  ordered_json envelope = {{"format", kEnvelopeFormat},
                           {"version", kVersion},
                           {"payload", format::Base64Encode(payload)},
                           {"signer", key.public_key().FingerprintText()},
                           {"ed25519", format::HexEncode(signature)}};
  return io::DumpJson(envelope, 1) + "\n";
}

Result<std::string> SignReceipt(const Receipt& receipt, const format::PrivateKey& key) {
  return SignReceiptPayload(EncodeReceiptPayload(receipt), key);
}

Result<VerifiedReceipt> VerifyReceipt(std::string_view text,
                                      const std::vector<format::PublicKey>& trusted,
                                      const std::string& where) {
  SLUICE_ASSIGN_OR_RETURN(io::JsonDocument doc,
                          ParseJsonDocument(text, kEnvelopeFormat, kVersion, where));
  const io::JsonField root = doc.root();
  SLUICE_ASSIGN_OR_RETURN(std::string encoded, root.String("payload"));
  SLUICE_ASSIGN_OR_RETURN(std::string signer, root.String("signer"));
  SLUICE_ASSIGN_OR_RETURN(std::string signature_hex, root.String("ed25519"));
  format::Ed25519Signature signature{};
  if (!DecodeHex(signature_hex, signature.data(), signature.size())) {
    return Status::Corruption(where + ": ed25519 is not " + std::to_string(signature.size() * 2) +
                              " lower-case hex digits");
  }
  std::optional<std::string> payload = Base64DecodeCanonical(encoded);
  if (!payload) {
    return Status::Corruption(where + ": payload is not canonical base64 (RFC 4648, padded, "
                                      "no white space)");
  }
  auto key = std::find_if(trusted.begin(), trusted.end(),
                          [&](const format::PublicKey& k) { return k.FingerprintText() == signer; });
  if (key == trusted.end()) {
    return Status::Untrusted(where + " is signed by " + signer +
                             ", which is not a trusted key; pass the far side's public key "
                             "with --trust");
  }
  if (!key->Verify(io::AsBytes(ReceiptSignedMessage(*payload)), signature)) {
    return Status::Untrusted(where + ": the signature does not match its payload (signer " +
                             signer + "): the receipt was changed after it was signed");
  }
  SLUICE_ASSIGN_OR_RETURN(Receipt receipt, ParsePayload(*payload, where));
  return VerifiedReceipt{std::move(receipt), std::move(signer)};
}

Result<VerifiedReceipt> LoadReceipt(io::FileSystem* fs, const std::string& path,
                                    const std::vector<format::PublicKey>& trusted) {
  auto text = io::ReadSmallFile(fs, path, kMaxReceiptFileSize);
  if (!text.ok()) return text.status().WithContext("reading receipt " + path);
  return VerifyReceipt(*text, trusted, "receipt " + path);
}

}  // namespace sluice
