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

// Reads an unencrypted PEM private key. Never asks for a passphrase: an
// encrypted key is kInvalidArgument saying so and how to decrypt a copy.
Result<format::PrivateKey> LoadPrivateKey(io::FileSystem* fs, const std::string& path);

// Ok when group and others have no permission on the private key file at
// path (mode & 077 == 0). Else kInvalidArgument naming the file and its mode
// and saying to chmod 600 it, as ssh refuses such a key: anyone who can read
// it can sign bundles the far side trusts. kNotFound if there is no file.
// The mode is read from the real file system, whatever fs is.
Status CheckPrivateKeyPermissions(io::FileSystem* fs, const std::string& path);

Result<format::PublicKey> LoadPublicKey(io::FileSystem* fs, const std::string& path);

// Each entry is a public key file, or a directory whose *.pub and *.pem files
// are all trusted. kInvalidArgument if the list yields no key.
Result<std::vector<format::PublicKey>> LoadTrustedKeys(io::FileSystem* fs,
                                                       const std::vector<std::string>& paths);

}  // namespace sluice
