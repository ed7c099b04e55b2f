// Encoding and decoding of the signed part of a bundle: header, catalog and
// signature block (SPEC.md sections 3 to 5). Pure functions over bytes; the
// reader and writer do the I/O.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "format/catalog.h"
#include "format/crypto.h"
#include "io/file.h"
#include "io/status.h"

namespace sluice::format {

// The header fields as stored.
struct HeaderFields {
  uint32_t format_version = 0;
  uint32_t required_features = 0;
  uint32_t optional_features = 0;
  uint32_t header_size = 0;
  BundleHeader header;
  uint64_t catalog_size = 0;
};

// The kHeaderSize-byte header (format version kFormatVersion), checksum
// included. `required_features` is RequiredFeatures() of the catalog.
std::string EncodeHeader(const BundleHeader& header, uint64_t catalog_size,
                         uint32_t required_features);

// The required feature bits a catalog's records call for: kRequiredFeatureDelta
// when a blob is shipped as a delta.
uint32_t RequiredFeatures(const Catalog& catalog);

// Checks the magic and header_size in the first kHeaderPrefixSize bytes of a
// bundle and returns header_size. kCorruption otherwise.
Result<uint32_t> DecodeHeaderPrefix(io::ByteView prefix);

// Decodes a whole header of header_size bytes: checks the checksum first,
// then the version and required features (kUnsupported, naming them), then
// the catalog size (kCorruption).
Result<HeaderFields> DecodeHeader(io::ByteView header);

// What ValidateCatalog did, for tests that hold its cost to the catalog's
// size (SPEC.md section 12).
struct CatalogValidationCost {
  // Digests and ref names compared for equality while looking them up.
  uint64_t comparisons = 0;
};

// Checks what SPEC.md section 4 requires of a catalog (refs name manifests,
// no duplicate refs or digests, manifest bytes hash to their digests, limits).
// Errors have kind `kind` (kInvalidArgument for a writer's input, kCorruption
// for a reader's) and name the offending entry. Time linear in the number of
// records and the manifest bytes; `cost`, when given, is added to.
Status ValidateCatalog(const Catalog& catalog, ErrorKind kind,
                       CatalogValidationCost* cost = nullptr);

// Validates (kInvalidArgument) and encodes refs, manifests and blobs,
// checksum included. Refuses catalogs larger than kMaxCatalogSize.
Result<std::string> EncodeCatalog(const Catalog& catalog);

// Checks the checksum of `bytes`, a whole catalog that starts at absolute
// `offset`, and nothing else (kCorruption on a mismatch). A reader does this
// before it checks the signature, so damage is reported as damage, and
// parses only afterwards (SPEC.md section 10).
Status CheckCatalogChecksum(io::ByteView bytes, uint64_t offset);
// The same check for a reader that hashed the catalog as it arrived:
// `stored` is its last 8 bytes, `computed` the XXH3-64 of those before them.
Status CompareCatalogChecksum(uint64_t stored, uint64_t computed, uint64_t offset);

// Parses and validates `bytes`, a whole catalog that starts at absolute
// `offset` and whose checksum has been checked, into
// out->refs/manifests/blobs. Time linear in its size; memory a small multiple
// of it. kCorruption naming the entry and offset on any failure.
Status ParseCatalog(io::ByteView bytes, uint64_t offset, Catalog* out);

// CheckCatalogChecksum, then ParseCatalog.
Status DecodeCatalog(io::ByteView bytes, uint64_t offset, Catalog* out);

struct SignatureBlock {
  uint32_t algorithm = 0;
  std::array<uint8_t, 32> key_fingerprint{};
  Ed25519Signature signature{};
};

std::string EncodeSignatureBlock(const SignatureBlock& block);
// `bytes` must be kSignatureSize long. Does not check any field.
SignatureBlock DecodeSignatureBlock(io::ByteView bytes);

// The signed message: kSignatureContext || SHA-256(header || catalog).
std::string SignatureMessage(const std::array<uint8_t, 32>& header_and_catalog_sha256);

// A Status of the given kind (Status has one factory per kind).
Status MakeStatus(ErrorKind kind, std::string message);

}  // namespace sluice::format
