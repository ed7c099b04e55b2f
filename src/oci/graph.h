// The manifest graph: what one manifest references, and the one walk over
// everything reachable from a root. Every place that follows a graph (the
// export plan, the catalog check, the importer, the inventories, the
// registry-storage sink) goes through here, so the rules are decided once:
//   - an index lists child manifests; an image manifest names one config and
//     its layers;
//   - foreign (non-distributable) layers live outside registries: like
//     skopeo and the registry itself, nothing fetches, ships or requires them;
//   - indexes nest at most kMaxIndexDepth deep (real ones nest once);
//   - one blob declared with two sizes is corruption;
//   - every digest is visited once per walk, children before their parents,
//     so an importer writing in visit order never publishes an index before
//     the manifests it lists.
// Hooks: a child filter (platforms: export --platform, and the importer
// skipping children a bundle left out) and attached manifests (signatures,
// attestations, referrers): each walked as a root of its own right after its
// subject, so it comes after the subject in visit order, at most
// kMaxAttachDepth attachments deep (a signature of an SBOM of an image is 2). A walk either stops
// at the first error (export, import) or, for an inventory of what a store holds, walks past damage
// and says which manifests were found whole.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "oci/manifest.h"

namespace sluice::oci {

inline constexpr int kMaxIndexDepth = 8;
// Signature of an attestation of an image, and one more level: real chains
// are one or two deep, and a source whose artifacts point at each other in a
// long chain must not make the walk ask forever.
inline constexpr int kMaxAttachDepth = 3;

enum class ReferenceKind { kManifest, kConfig, kLayer };

struct Reference {
  ReferenceKind kind;
  const Descriptor* descriptor;  // points into the Manifest it came from
};

// What `manifest` references, in document order (children of an index;
// config then layers of an image), foreign layers left out.
std::vector<Reference> ReferencesOf(const Manifest& manifest);

struct FetchedManifest {
  std::string bytes;       // exactly as stored
  std::string media_type;  // as the store declared it; may be empty
};

struct GraphHooks {
  // The bytes of the manifest `d` names, checked against d.digest. Required.
  std::function<Result<FetchedManifest>(const Descriptor& d)> fetch;
  // A config or layer `of` references; once per digest per walk. Optional.
  std::function<Status(const Descriptor& blob, const Descriptor& of)> blob;
  // A manifest, after everything below it; once per digest. `bytes` may be
  // moved from. Optional.
  std::function<Status(const Descriptor& d, const Manifest& m, std::string& bytes)> manifest;
  // Manifests attached to `d` (signatures, referrers), asked for once per
  // manifest after `d` and everything below it were visited, while `d` is
  // fewer than kMaxAttachDepth attachments from a root. Each is walked like
  // a root, right away. Optional.
  std::function<Result<std::vector<Descriptor>>(const Descriptor& d, const Manifest& m)> attached;
  // Whether to follow child `child` of index `index`. Default: all.
  std::function<bool(const Descriptor& index, const Descriptor& child)> keep_child;
  // Damage to walk past. Called with the error of `fetch` or `blob` for `d`,
  // or with the graph's own (a manifest that does not parse, indexes nested
  // too deep, a blob declared with two sizes). True: the walk goes on, and
  // `d` and every manifest above it count as incomplete (GraphWalk::Complete).
  // False, or no hook: the walk stops with the error.
  std::function<bool(const Descriptor& d, const Status& error)> walk_past;
};

class GraphWalk {
 public:
  explicit GraphWalk(GraphHooks hooks) : hooks_(std::move(hooks)) {}

  // Walks from `root` (its media_type may be empty: the document's own
  // then decides). Digests visited by earlier calls are not visited again.
  // Errors name the manifest they concern.
  Status Walk(const Descriptor& root);

  // Whether the manifest `digest`, visited by an earlier Walk, and everything
  // below it were found whole: no damage walked past on the way.
  bool Complete(const format::Digest& digest) const;

 private:
  struct SeenBlob {
    uint64_t size;
    bool intact;
  };

  // Whether `d` and everything below it are whole.
  // `attach_depth`: how many attachments away from a root `d` is.
  Result<bool> Visit(const Descriptor& d, int depth, int attach_depth);
  Result<bool> VisitBlob(const Descriptor& blob, const Descriptor& of);
  // `error` concerning `d`: false when hooks_.walk_past takes it, else the error.
  Result<bool> Damage(const Descriptor& d, const Status& error);

  GraphHooks hooks_;
  std::map<format::Digest, bool> manifests_;  // -> complete
  std::map<format::Digest, SeenBlob> blobs_;
};

}  // namespace sluice::oci
