// What a destination holds, so that the connected side can rebuild its ledger
// after a lost medium: `sluice inventory` takes it on the air-gapped side,
// `sluice ledger rebuild --from-inventory` reads it on the connected side.
//
// On disk it is a JSON document (format "sluice-inventory", version 1):
//
//   {"format": "sluice-inventory", "version": 1,
//    "destination": "oci:/srv/mirror", "created_unix": 1700000000,
//    "blobs": [{"digest": "sha256:…", "size": 1234}, …],
//    "tags": [{"name": "app:1.0", "digest": "sha256:…", "media_type": "…",
//              "complete": true}, …],
//    "damaged": ["blobs/sha256/…: holds 812 bytes hashing to sha256:…", …]}
//
// "blobs" lists what the destination holds intact, manifests, configs and
// layers alike, sorted by digest; the ledger is keyed by digest, so this list
// is what a rebuilt ledger believes the far side has. Whatever is damaged or
// missing is left out of "blobs" and described in "damaged", so a rebuilt
// ledger has the exporter ship it again. A tag is "complete" when every
// manifest, config and layer of its image is among "blobs". Two kinds of
// destination:
//
//   oci:DIR   every file of blobs/sha256 is hashed; one whose bytes do not
//             hash to its name is damaged. Tags are index.json's entries,
//             named by their org.opencontainers.image.ref.name.
//   docker://HOST[:PORT][/PREFIX]
//             a registry, through its API: the repositories of the catalog
//             (only PREFIX and those below it when a PREFIX is given), every
//             tag of each, every manifest of each tag's image (child
//             manifests of indexes too) fetched and checked against its
//             digest, and every config and layer confirmed in the repository
//             with a HEAD request whose size must be the descriptor's. A
//             registry checks a blob's digest when it is pushed (and sluice
//             imports check it before pushing), so a HEAD that answers with
//             the right size is taken as the blob being intact; with
//             `verify_blobs` every blob is downloaded and hashed instead (for
//             storage suspected of rot, at the cost of reading everything).
//             A blob missing, or of the wrong size, in any repository whose
//             images name it is left out of "blobs": the next bundle then
//             carries it and the import pushes it where it is missing. Tags
//             are named "REPOSITORY:TAG" with the repository as the import
//             named it, i.e. minus "PREFIX/" (just "TAG" for PREFIX itself),
//             which is how an OCI layout names them. Blobs and manifests no
//             tag leads to are not seen (the registry API cannot list them).
//
// The signature is detached, in FILE.sig, over the exact bytes of FILE:
//
//   {"format": "sluice-inventory-signature", "version": 1,
//    "signer": "sha256:<fingerprint of the public key>",
//    "ed25519": "<128 hex digits>"}
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/crypto.h"
#include "io/file.h"

namespace sluice {

namespace registry {
class RegistryClient;
}  // namespace registry

struct Inventory {
  struct Blob {
    format::Digest digest;
    uint64_t size = 0;
  };
  struct Tag {
    std::string name;  // the ref name annotation, or REPOSITORY:TAG; "" when there is none
    format::Digest digest;
    std::string media_type;
    bool complete = false;
  };

  std::string destination;  // as the user named it, e.g. "oci:/srv/mirror"
  uint64_t created_unix = 0;
  std::vector<Blob> blobs;  // intact, sorted by digest
  std::vector<Tag> tags;    // in index.json order; a registry's sorted by name
  std::vector<std::string> damaged;
};

// Reads every blob of the OCI layout `dir` (hashing it) and its index.json.
// kNotFound if `dir` is not an OCI layout (no oci-layout file).
Result<Inventory> TakeOciLayoutInventory(io::FileSystem* fs, const std::string& dir,
                                         const std::string& destination);

// Lists the repositories of the registry `client` talks to that are `prefix`
// or below it (all of them when `prefix` is empty), as described above.
// `destination` is recorded as given and names the registry in messages.
// Failures to talk to the registry (network, auth, a catalog it refuses)
// are errors; what the registry answers is missing or corrupt is recorded in
// "damaged".
Result<Inventory> TakeRegistryInventory(registry::RegistryClient* client, const std::string& prefix,
                                        const std::string& destination, bool verify_blobs);

// The document's bytes.
std::string SerializeInventory(const Inventory& inventory);
// kCorruption (naming `where`) for anything that is not a version 1 inventory.
Result<Inventory> ParseInventory(std::string_view text, const std::string& where);

// "FILE.sig"
std::string InventorySignaturePath(const std::string& inventory_path);

// Writes FILE atomically and, with a key, FILE.sig (also atomically, after
// FILE). Without a key, removes a FILE.sig left from an earlier signed
// inventory, which would no longer match.
Status WriteInventory(io::FileSystem* fs, const std::string& path, const Inventory& inventory,
                      const format::PrivateKey* key);

// Reads FILE. With `trusted` keys, FILE.sig must exist and carry a signature
// of FILE's exact bytes by one of them: kUntrusted otherwise, naming the
// file and the signer. Without (nullptr), the signature is not looked at.
Result<Inventory> LoadInventory(io::FileSystem* fs, const std::string& path,
                                const std::vector<format::PublicKey>* trusted);

}  // namespace sluice
