// The one check that bytes are the blob they claim to be: counted and hashed
// as they pass, compared with the expected size and sha256 at the end. Used
// wherever blob bytes cross a trust boundary: read from a registry, a layout
// or an archive, written to a sink. Memory stays constant whatever the size.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "format/crypto.h"
#include "io/file.h"

namespace sluice::format {

class BlobCheck {
 public:
  // `size`: nullopt when the source does not declare one (only the digest
  // is checked then). `what` names the bytes in messages ("blob
  // sha256:... from HOST/REPO", "layer 'blobs/sha256/…' of archive a.tar").
  BlobCheck(Digest digest, std::optional<uint64_t> size, std::string what);

  // kCorruption as soon as more than `size` bytes have arrived.
  Status Update(io::ByteView data);
  // kCorruption unless exactly `size` bytes hashing to the digest arrived.
  // Call once.
  Status Finish();

  uint64_t count() const { return count_; }
  const Digest& digest() const { return digest_; }

 private:
  Digest digest_;
  std::optional<uint64_t> size_;
  std::string what_;
  uint64_t count_ = 0;
  Sha256 hasher_;
};

// A reader that passes `inner`'s bytes through a BlobCheck: its last Read
// returns the check's failure instead of 0 when the bytes were not the blob,
// and it fails at once when more than `size` bytes arrive. `what` defaults
// to "blob DIGEST from INNER-NAME".
std::unique_ptr<io::SequentialReader> NewVerifyingReader(
    std::unique_ptr<io::SequentialReader> inner, Digest digest, std::optional<uint64_t> size,
    std::string what = {});

}  // namespace sluice::format
