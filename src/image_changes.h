// What changed since the last bundle: the images an export would carry now
// against those the ledger's last bundle carried (Ledger::BundleRecord
// images), by the name each is imported as, repository and tag (images
// pinned by digest are named by it, and so are never re-pointed).
#pragma once

#include <cstdint>
#include <vector>

#include "format/crypto.h"
#include "ledger.h"

namespace sluice {

struct ImageChange {
  enum class Kind {
    kAdded,      // a name the last bundle did not carry
    kRepointed,  // a name it carried, now for another digest
    kUnchanged,  // a name it carried, for the same digest
    kRemoved,    // a name it carried that the export does not
  };
  Kind kind = Kind::kAdded;
  // As the export would carry it; for kRemoved, as the last bundle did.
  Ledger::BundleImage image;
  // kRepointed: the digest the last bundle carried under the name.
  format::Digest previous;
};

struct ImageChanges {
  // The bundle compared with: the ledger's last; 0 when it has recorded none.
  uint64_t since_sequence = 0;
  uint64_t since_created_unix = 0;
  // False when that bundle's images were not recorded (a ledger written by
  // a sluice before they were): then `changes` is empty.
  bool comparable = true;
  // The images of the export in its order (added, re-pointed, unchanged),
  // then the removed in the last bundle's order.
  std::vector<ImageChange> changes;

  size_t Count(ImageChange::Kind kind) const;
};

// Compares `planned` (the images of the bundle an export would write) with
// the last bundle `ledger` recorded. With no bundle recorded, every image
// is added.
ImageChanges CompareWithLastBundle(const std::vector<Ledger::BundleImage>& planned,
                                   const Ledger& ledger);

// "added", "re-pointed", "unchanged", "removed".
const char* ImageChangeName(ImageChange::Kind kind);

}  // namespace sluice
