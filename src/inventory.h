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
// "blobs" lists every file of blobs/sha256 whose bytes hash to its name
// (manifests and configs included), sorted by digest; a file that does not is
// left out of "blobs" and described in "damaged", so a rebuilt ledger has the
// exporter ship it again. A tag is "complete" when every manifest, config and
// layer of its image is among "blobs".
//
// The signature is detached, in FILE.sig, over the exact bytes of FILE:
//
//   {"format": "sluice-inventory-signature", "version": 1,
//    "signer": "sha256:<fingerprint of the public key>",
//    "ed25519": "<128 hex digits>"}
//
// Only oci:DIR destinations can be inventoried so far.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/crypto.h"
#include "io/file.h"

namespace sluice {

struct Inventory {
  struct Blob {
    format::Digest digest;
    uint64_t size = 0;
  };
  struct Tag {
    std::string name;  // the ref name annotation; "" when the entry has none
    format::Digest digest;
    std::string media_type;
    bool complete = false;
  };

  std::string destination;  // as the user named it, e.g. "oci:/srv/mirror"
  uint64_t created_unix = 0;
  std::vector<Blob> blobs;  // intact, sorted by digest
  std::vector<Tag> tags;    // in index.json order
  std::vector<std::string> damaged;
};

// Reads every blob of the OCI layout `dir` (hashing it) and its index.json.
// kNotFound if `dir` is not an OCI layout (no oci-layout file).
Result<Inventory> TakeOciLayoutInventory(io::FileSystem* fs, const std::string& dir,
                                         const std::string& destination);

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
