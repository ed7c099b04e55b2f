// Pushes images to a registry: docker://HOST[:PORT][/PREFIX]. An image of
// repository R lands at PREFIX/R (or R without a prefix); which part of the
// source name R is (the source host dropped) is the importer's choice.
//
//   HasBlob   HEAD the blob (then the manifest) in the target repository.
//             When absent there but known to exist in another repository of
//             the same registry (seen or pushed by this sink), it is mounted
//             (POST ...?mount=&from=) and HasBlob answers true.
//   FindBlob  for a blob the bundle assumes present (delivered earlier, maybe
//             to another repository): HEAD it in each repository of the
//             registry's catalog and mount it from the first that has it.
//   NewBlob   uploads as the bytes come (RegistryClient::StartUpload: one PUT
//             for small blobs, PATCH chunks for large); Commit() checks size
//             and sha256 first (kCorruption, nothing committed) and the
//             registry checks them again.
//   PutManifest  PUT /v2/<repo>/manifests/<digest>: by digest, so no tag
//             moves before Commit().
//   AddTag    records the tag only.
//   Commit    pushes every recorded tag as PUT /v2/<repo>/manifests/<tag>
//             with the same bytes as the digest push, after everything else.
//             A registry has no multi-tag transaction: tags appear one by one,
//             each only after its whole image is there.
#pragma once

#include <memory>

#include "reference/reference.h"
#include "registry/registry_client.h"
#include "sink/image_sink.h"

namespace sluice {

// `destination` comes from ParseDestination (host, and prefix in repository).
Result<std::unique_ptr<ImageSink>> NewRegistrySink(const Reference& destination,
                                                   registry::ClientOptions options);

}  // namespace sluice
