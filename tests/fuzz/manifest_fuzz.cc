// libFuzzer target: arbitrary bytes parsed as a manifest or index under each
// media type a descriptor or registry can declare (and none), as import and
// export do with manifests from a bundle, a layout or a registry.
//
// Checks what callers rely on: a parsed image has a config, an index has
// none, and every descriptor's digest is a valid sha256 digest.
#include <cstdint>
#include <string_view>

#include "oci/manifest.h"
#include "oci/media_types.h"

namespace {

using namespace sluice;

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

void CheckDescriptor(const oci::Descriptor& d) {
  Check(format::Digest::Parse(d.digest.str()).ok());
  if (d.platform) (void)d.platform->ToString();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  static constexpr std::string_view kTypes[] = {
      "",
      oci::kOciManifest,
      oci::kOciIndex,
      oci::kDockerManifest,
      oci::kDockerManifestList,
      oci::kDockerSchema1,
      oci::kDockerSchema1Signed,
      "application/octet-stream",
  };
  for (std::string_view type : kTypes) {
    auto m = oci::ParseManifest(bytes, type);
    if (!m.ok()) continue;
    if (m->kind == oci::ManifestKind::kImage) {
      Check(m->config.has_value() && m->manifests.empty());
      CheckDescriptor(*m->config);
      for (const auto& d : m->layers) CheckDescriptor(d);
    } else {
      Check(!m->config.has_value() && m->layers.empty());
      for (const auto& d : m->manifests) CheckDescriptor(d);
    }
  }
  return 0;
}
