// The cryptography the bundle format is defined in terms of: SHA-256 content
// digests and Ed25519 signatures, both through OpenSSL 3. Key *files* (PEM,
// trust directories) are src/'s business; this header deals in raw keys.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "io/file.h"

namespace sluice::format {

// A content digest, "sha256:" followed by 64 lowercase hex digits. The only
// algorithm the format (and OCI in practice) uses.
class Digest {
 public:
  Digest() = default;  // empty; only for containers, never valid
  // Validates the text: algorithm "sha256", 64 lowercase hex digits.
  static Result<Digest> Parse(std::string_view text);
  static Digest FromRaw(const std::array<uint8_t, 32>& raw);

  const std::string& str() const { return text_; }
  std::string_view hex() const { return std::string_view(text_).substr(7); }
  // "sha256:0123456789ab", for messages.
  std::string Short() const { return text_.substr(0, 19); }
  bool empty() const { return text_.empty(); }

  auto operator<=>(const Digest&) const = default;

 private:
  explicit Digest(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

// Streaming SHA-256. Memory is constant whatever the input size.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(io::ByteView data);
  // Returns the digest; the hasher must not be used afterwards.
  std::array<uint8_t, 32> FinishRaw();
  Digest Finish() { return Digest::FromRaw(FinishRaw()); }

  static Digest Of(io::ByteView data);
  static Digest Of(std::string_view data) { return Of(io::AsBytes(data)); }

 private:
  struct State;
  std::unique_ptr<State> state_;
};

using Ed25519Signature = std::array<uint8_t, 64>;

struct PublicKey {
  std::array<uint8_t, 32> raw{};

  // SHA-256 of the 32 raw key bytes: how bundles name their signer.
  std::array<uint8_t, 32> Fingerprint() const;
  // "sha256:<hex>" of Fingerprint(), for people.
  std::string FingerprintText() const;

  static Result<PublicKey> FromPem(std::string_view pem);
  std::string ToPem() const;
  bool Verify(io::ByteView message, const Ed25519Signature& signature) const;

  bool operator==(const PublicKey&) const = default;
};

// An Ed25519 private key. Not copyable: it owns key material.
class PrivateKey {
 public:
  static Result<PrivateKey> Generate();
  static Result<PrivateKey> FromPem(std::string_view pem);
  PrivateKey(PrivateKey&&) noexcept;
  PrivateKey& operator=(PrivateKey&&) noexcept;
  ~PrivateKey();

  // PKCS#8 PEM, unencrypted.
  std::string ToPem() const;
  PublicKey public_key() const { return public_key_; }
  Result<Ed25519Signature> Sign(io::ByteView message) const;

 private:
  struct Handle;
  explicit PrivateKey(std::unique_ptr<Handle> handle, PublicKey public_key);
  std::unique_ptr<Handle> handle_;
  PublicKey public_key_;
};

std::string HexEncode(io::ByteView bytes);

// Standard base64 (RFC 4648, with padding) through OpenSSL's
// EVP_EncodeBlock/EVP_DecodeBlock. Decode ignores trailing newlines and
// spaces; kInvalidArgument for anything that is not base64.
std::string Base64Encode(std::string_view data);
Result<std::string> Base64Decode(std::string_view text);

}  // namespace sluice::format
