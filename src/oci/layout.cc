#include "oci/layout.h"

#include "io/atomic_file.h"

namespace sluice::oci {

std::string BlobPath(std::string_view dir, const format::Digest& digest) {
  return io::JoinPath(io::JoinPath(dir, "blobs/sha256"), digest.hex());
}

}  // namespace sluice::oci
