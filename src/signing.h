// Key files: Ed25519 keys in PEM, as `sluice keygen` writes them, and the set
// of keys an importer trusts.
#pragma once

#include <string>
#include <vector>

#include "format/crypto.h"
#include "io/file.h"

namespace sluice {

// Writes a new key pair. The private key file is created with mode 0600.
// Refuses (kAlreadyExists, naming the file) to overwrite either file, and
// leaves neither behind if it fails half way.
Status GenerateKeyPair(io::FileSystem* fs, const std::string& private_path,
                       const std::string& public_path);

Result<format::PrivateKey> LoadPrivateKey(io::FileSystem* fs, const std::string& path);
Result<format::PublicKey> LoadPublicKey(io::FileSystem* fs, const std::string& path);

// Each entry is a public key file, or a directory whose *.pub and *.pem files
// are all trusted. kInvalidArgument if the list yields no key.
Result<std::vector<format::PublicKey>> LoadTrustedKeys(io::FileSystem* fs,
                                                       const std::vector<std::string>& paths);

}  // namespace sluice
