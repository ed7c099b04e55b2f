// libFuzzer target: arbitrary text parsed as a transport reference
// (oci:, docker://, oci-archive:, docker-archive:) and as a registry
// reference and push destination, as the command line does with user input
// and the importer with names from a bundle.
//
// Checks that a parsed registry reference is a fixed point of its own
// normalised form: parsing ToString() gives the same reference back, and a
// parsed OCI tag is a valid OCI ref name.
#include <cstdint>
#include <string_view>

#include "reference/reference.h"
#include "reference/transport_ref.h"

namespace {

using namespace sluice;

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

void SameReference(const Reference& a, const Reference& b) {
  Check(a.host == b.host && a.repository == b.repository && a.tag == b.tag &&
        a.digest == b.digest);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto ref = ParseTransportRef(text);
  if (ref.ok() && ref->transport == Transport::kOciLayout && !ref->name.empty()) {
    Check(IsValidOciRefName(ref->name));
  }
  (void)IsValidOciRefName(text);

  auto reference = ParseReference(text);
  if (reference.ok()) {
    (void)reference->Endpoint();
    (void)reference->ManifestReference();
    if (!reference->repository.empty()) {
      Check(ValidateRepository(reference->repository).ok());
    }
    if (!reference->tag.empty()) Check(IsValidTag(reference->tag));
    auto again = ParseReference(reference->ToString());
    Check(again.ok());
    SameReference(*reference, *again);
  }

  auto destination = ParseDestination(text);
  if (destination.ok()) {
    Check(IsValidHost(destination->host));
    Check(destination->tag.empty() && destination->digest.empty());
  }
  return 0;
}
