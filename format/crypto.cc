#include "format/crypto.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <utility>

namespace sluice::format {
namespace {

std::string OpenSslError(std::string_view what) {
  std::string msg(what);
  unsigned long code = ERR_get_error();
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    msg += " (";
    msg += buf;
    msg += ")";
  }
  ERR_clear_error();
  return msg;
}

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<PublicKey> RawPublicKey(EVP_PKEY* key) {
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    return Status::InvalidArgument("key is not an Ed25519 key");
  }
  PublicKey out;
  size_t len = out.raw.size();
  if (EVP_PKEY_get_raw_public_key(key, out.raw.data(), &len) != 1 || len != out.raw.size()) {
    return Status::InvalidArgument(OpenSslError("cannot read Ed25519 public key"));
  }
  return out;
}

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

std::string HexEncode(io::ByteView bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

Result<Digest> Digest::Parse(std::string_view text) {
  constexpr std::string_view kPrefix = "sha256:";
  if (text.substr(0, kPrefix.size()) != kPrefix) {
    return Status::InvalidArgument("digest '" + std::string(text.substr(0, 80)) +
                                   "' is not sha256:<64 hex digits>");
  }
  std::string_view hex = text.substr(kPrefix.size());
  if (hex.size() != 64) {
    return Status::InvalidArgument("digest '" + std::string(text.substr(0, 80)) +
                                   "' does not have 64 hex digits");
  }
  for (char c : hex) {
    if (!IsLowerHex(c)) {
      return Status::InvalidArgument("digest '" + std::string(text) +
                                     "' has a character that is not lowercase hex");
    }
  }
  return Digest(std::string(text));
}

Digest Digest::FromRaw(const std::array<uint8_t, 32>& raw) {
  return Digest("sha256:" + HexEncode(raw));
}

struct Sha256::State {
  MdCtxPtr ctx{EVP_MD_CTX_new()};
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  // Only allocation failure can make these fail; treat it like new does.
  if (!state_->ctx || EVP_DigestInit_ex(state_->ctx.get(), EVP_sha256(), nullptr) != 1) {
    throw std::bad_alloc();
  }
}

Sha256::~Sha256() = default;

void Sha256::Update(io::ByteView data) {
  if (!data.empty()) EVP_DigestUpdate(state_->ctx.get(), data.data(), data.size());
}

std::array<uint8_t, 32> Sha256::FinishRaw() {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx.get(), out.data(), &len);
  return out;
}

Digest Sha256::Of(io::ByteView data) {
  Sha256 hasher;
  hasher.Update(data);
  return hasher.Finish();
}

std::array<uint8_t, 32> PublicKey::Fingerprint() const {
  Sha256 hasher;
  hasher.Update(raw);
  return hasher.FinishRaw();
}

std::string PublicKey::FingerprintText() const {
  return "sha256:" + HexEncode(Fingerprint());
}

Result<PublicKey> PublicKey::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Status::InvalidArgument(OpenSslError("not a PEM public key"));
  return RawPublicKey(key.get());
}

std::string PublicKey::ToPem() const {
  PkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size()));
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key.get());
  return BioToString(bio.get());
}

bool PublicKey::Verify(io::ByteView message, const Ed25519Signature& signature) const {
  PkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size()));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!key || !ctx) return false;
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return false;
  bool good = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                               message.size()) == 1;
  ERR_clear_error();
  return good;
}

struct PrivateKey::Handle {
  PkeyPtr key;
};

PrivateKey::PrivateKey(std::unique_ptr<Handle> handle, PublicKey public_key)
    : handle_(std::move(handle)), public_key_(public_key) {}
PrivateKey::PrivateKey(PrivateKey&&) noexcept = default;
PrivateKey& PrivateKey::operator=(PrivateKey&&) noexcept = default;
PrivateKey::~PrivateKey() = default;

Result<PrivateKey> PrivateKey::Generate() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return Status::IoError(OpenSslError("cannot generate an Ed25519 key"));
  SLUICE_ASSIGN_OR_RETURN(PublicKey pub, RawPublicKey(key.get()));
  return PrivateKey(std::make_unique<Handle>(Handle{std::move(key)}), pub);
}

Result<PrivateKey> PrivateKey::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Status::InvalidArgument(OpenSslError("not a PEM private key"));
  SLUICE_ASSIGN_OR_RETURN(PublicKey pub, RawPublicKey(key.get()));
  return PrivateKey(std::make_unique<Handle>(Handle{std::move(key)}), pub);
}

std::string PrivateKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), handle_->key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return BioToString(bio.get());
}

Result<Ed25519Signature> PrivateKey::Sign(io::ByteView message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  Ed25519Signature sig{};
  size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, handle_->key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1) {
    return Status::IoError(OpenSslError("Ed25519 signing failed"));
  }
  return sig;
}

std::string Base64Encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text.size() % 4 != 0) {
    return Status::InvalidArgument("base64 text of length " + std::to_string(text.size()) +
                                   " is not a multiple of 4");
  }
  std::string out(text.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return Status::InvalidArgument("invalid base64");
  // EVP_DecodeBlock counts the bytes the padding stands for.
  size_t len = static_cast<size_t>(n);
  if (text.ends_with("==")) {
    len -= 2;
  } else if (text.ends_with("=")) {
    len -= 1;
  }
  out.resize(len);
  return out;
}

}  // namespace sluice::format
