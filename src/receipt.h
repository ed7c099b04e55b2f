// Receipts: what a destination says it holds after an import, signed, for the
// connected side to learn what was *delivered* rather than merely *shipped*.
//
// `sluice import ... --receipt FILE --receipt-key KEY` writes one after an
// import that published everything; `sluice ledger confirm FILE` checks it on
// the connected side and marks the blobs it lists as delivered (ledger.h).
//
// A receipt file is UTF-8 JSON, an envelope around the exact bytes that were
// signed, so that no reader ever has to serialise anything again to check a
// signature:
//
//   {"format": "sluice-receipt", "version": 1,
//    "payload": "<base64 of the payload bytes>",
//    "signer": "sha256:<64 hex digits>",
//    "ed25519": "<128 hex digits>"}
//
//   payload  the payload bytes (below) in base64, RFC 4648 section 4: the
//            standard alphabet, '=' padding, no line breaks, no white space,
//            and canonical (the unused bits of the last character are zero).
//   signer   "sha256:" and the lower-case hex SHA-256 of the signer's 32-byte
//            raw Ed25519 public key: the key's fingerprint, as bundles and
//            `sluice keygen` name keys.
//   ed25519  the 64-byte Ed25519 signature (RFC 8032, pure Ed25519), in
//            lower-case hex, of the 50-byte message
//
//              "sluice receipt v1" || 0x00 || SHA-256(payload bytes)
//
//            i.e. the 17 ASCII bytes of "sluice receipt v1", one zero byte,
//            and the 32 raw bytes of the payload's SHA-256. The prefix keeps
//            a receipt signature from ever passing for a bundle's or an
//            inventory's (and theirs for a receipt's), should one key sign
//            several kinds of thing.
//
// The payload (the bytes the base64 stands for) is itself a UTF-8 JSON object:
//
//   {"format": "sluice-receipt-payload", "version": 1,
//    "bundle_id": "<32 hex digits>", "ledger_id": "<32 hex digits>",
//    "sequence": N, "created": "2024-05-01T12:00:00Z",
//    "created_unix": 1714564800, "destination": "oci:/srv/mirror",
//    "blobs": ["sha256:<64 hex>", ...],
//    "refs": [{"repository": "app", "tag": "1.0", "digest": "sha256:<64 hex>"}, ...]}
//
//   bundle_id, ledger_id, sequence
//            the imported bundle's header: its id, the id of the exporter's
//            ledger, and its sequence in that ledger (lower-case hex).
//   created, created_unix
//            when the receipt was made (just after the import), in ISO 8601
//            UTC with whole seconds and in seconds since the epoch; the two
//            name the same second.
//   destination
//            where the bundle was imported, as `import --to` named it;
//            informational.
//   blobs    the digest of every config and layer blob the bundle's catalog
//            lists, shipped or assumed present: after the import the
//            destination holds each one intact (shipped blobs were verified
//            and written or found intact, assumed ones checked present).
//            Strictly increasing (byte-wise), so no digest twice. Manifests
//            are not listed: they travel in every bundle.
//   refs     the references the import published, in catalog order: the
//            repository and tag as the bundle names them ("" for an image
//            of an OCI layout without a repository part, and a tag of ""
//            for an image pinned by digest only), and its manifest digest. A
//            tag an older bundle would have moved back (and did not) is not
//            listed.
//
// A verifier must refuse a receipt unless: the envelope is a JSON object with
// those four string members and format "sluice-receipt"; its version is 1
// (another version: unsupported, not damaged); the payload is canonical
// base64; the signer names a key it trusts; the signature verifies over the
// message above with that key. Only then is the payload read, and it too must
// be a JSON object of format "sluice-receipt-payload", version 1, with every
// member above of the type shown, hex and digests well formed, created equal
// to created_unix, and blobs strictly increasing.
//
// How it grows: members may be added to either object; readers ignore those
// they do not know. A change that a reader must understand to stay safe
// comes with a new version.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "format/crypto.h"
#include "io/file.h"

namespace sluice {

struct Receipt {
  std::string bundle_id;  // 32 lower-case hex digits
  std::string ledger_id;  // 32 lower-case hex digits
  uint64_t sequence = 0;
  uint64_t created_unix = 0;
  std::string destination;
  std::vector<format::Digest> blobs;  // sorted, no digest twice
  struct Ref {
    std::string repository;
    std::string tag;  // "" for an image pinned by digest
    format::Digest digest;
    bool operator==(const Ref&) const = default;
  };
  std::vector<Ref> refs;

  bool operator==(const Receipt&) const = default;
};

// A receipt as `ledger confirm` takes it: checked, and who signed it.
struct VerifiedReceipt {
  Receipt receipt;
  std::string signer;  // "sha256:…" fingerprint of the key that signed it
};

// The file's limit: a million blobs make ~100 MiB.
inline constexpr uint64_t kMaxReceiptFileSize = 1ull << 30;

// The payload bytes of `receipt` (above). Its blobs are sorted and
// deduplicated here; "created" is derived from created_unix.
std::string EncodeReceiptPayload(const Receipt& receipt);

// The message a receipt's signature is over: the domain prefix and the
// SHA-256 of `payload` (above).
std::string ReceiptSignedMessage(std::string_view payload);

// The receipt file's bytes: `payload` exactly as given, signed with `key`.
Result<std::string> SignReceiptPayload(std::string_view payload, const format::PrivateKey& key);

// EncodeReceiptPayload, then SignReceiptPayload.
Result<std::string> SignReceipt(const Receipt& receipt, const format::PrivateKey& key);

// Checks the receipt file `text` against `trusted` as a verifier must
// (above); `where` names it in messages ("receipt /media/r.json").
// kCorruption for a damaged or malformed file (truncated, not JSON, a field
// missing or of the wrong type, bad base64 or hex); kUntrusted for a signer
// not in `trusted`, or a signature that does not verify (bytes changed after
// signing); kUnsupported for another version. Each message is one line
// naming the receipt and what is wrong.
Result<VerifiedReceipt> VerifyReceipt(std::string_view text,
                                      const std::vector<format::PublicKey>& trusted,
                                      const std::string& where);

// Reads `path` (at most kMaxReceiptFileSize bytes) and checks it as
// VerifyReceipt does.
Result<VerifiedReceipt> LoadReceipt(io::FileSystem* fs, const std::string& path,
                                    const std::vector<format::PublicKey>& trusted);

}  // namespace sluice
