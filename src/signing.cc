#include "signing.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "io/atomic_file.h"

namespace sluice {
namespace {

constexpr uint64_t kMaxKeyFileSize = 64 * 1024;

// The PEM markers of an encrypted private key: PKCS#8 ("BEGIN ENCRYPTED
// PRIVATE KEY", what `openssl pkey -aes256` writes) and the traditional
// per-block encryption header ("Proc-Type: 4,ENCRYPTED").
bool IsEncryptedPem(std::string_view pem) {
  return pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string_view::npos ||
         pem.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos;
}

// The permission bits of the file at path. io::FileInfo does not carry them
// (yet), so this stat(2) is the one outside io/; a key file is always on the
// real file system, which is where it looks. fs->Stat names a missing file
// as every other read of the key would.
Result<unsigned> PermissionBits(io::FileSystem* fs, const std::string& path) {
  SLUICE_RETURN_IF_ERROR(fs->Stat(path).status());
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::IoError("stat " + path + ": " + std::strerror(errno));
  }
  return static_cast<unsigned>(st.st_mode & 07777);
}

}  // namespace

Status GenerateKeyPair(io::FileSystem* fs, const std::string& private_path,
                       const std::string& public_path) {
  for (const std::string& path : {private_path, public_path}) {
    if (fs->Exists(path)) {
      return Status::AlreadyExists(path + " already exists; refusing to overwrite a key");
    }
  }
  SLUICE_ASSIGN_OR_RETURN(format::PrivateKey key, format::PrivateKey::Generate());
  std::string private_pem = key.ToPem();
  std::string public_pem = key.public_key().ToPem();
  SLUICE_RETURN_IF_ERROR(io::WriteFileAtomically(fs, private_path, io::AsBytes(private_pem),
                                                 {.exclusive = true, .mode = 0600}));
  Status s = io::WriteFileAtomically(fs, public_path, io::AsBytes(public_pem),
                                     {.exclusive = true, .mode = 0644});
  if (!s.ok()) {
    // A private key without its public half is useless and confusing.
    (void)fs->Remove(private_path);
    return s;
  }
  return Status::Ok();
}

Result<format::PrivateKey> LoadPrivateKey(io::FileSystem* fs, const std::string& path) {
  auto pem = io::ReadSmallFile(fs, path, kMaxKeyFileSize);
  if (!pem.ok()) return pem.status().WithContext("reading signing key");
  // Checked before OpenSSL sees the text: given an encrypted key and no
  // passphrase callback, OpenSSL would prompt on the terminal.
  if (IsEncryptedPem(*pem)) {
    return Status::InvalidArgument(
        "signing key " + path +
        " is encrypted; sluice never asks for a passphrase and needs an unencrypted key: write "
        "a decrypted copy, readable by you only, with '(umask 077; openssl pkey -in " +
        path + " -out " + path + ".plain)' and give that");
  }
  auto key = format::PrivateKey::FromPem(*pem);
  if (!key.ok()) return key.status().WithContext(path);
  return key;
}

Status CheckPrivateKeyPermissions(io::FileSystem* fs, const std::string& path) {
  auto mode = PermissionBits(fs, path);
  if (!mode.ok()) return mode.status().WithContext("signing key");
  if ((*mode & 077) == 0) return Status::Ok();
  char octal[16];
  std::snprintf(octal, sizeof octal, "%04o", *mode);
  return Status::InvalidArgument("signing key " + path + " has mode " + octal +
                                 ": group or others may read it, and whoever reads it can sign "
                                 "bundles the far side trusts; run 'chmod 600 " +
                                 path + "'");
}

Result<format::PublicKey> LoadPublicKey(io::FileSystem* fs, const std::string& path) {
  auto pem = io::ReadSmallFile(fs, path, kMaxKeyFileSize);
  if (!pem.ok()) return pem.status().WithContext("reading trusted key");
  auto key = format::PublicKey::FromPem(*pem);
  if (!key.ok()) return key.status().WithContext(path);
  return key;
}

Result<std::vector<format::PublicKey>> LoadTrustedKeys(io::FileSystem* fs,
                                                       const std::vector<std::string>& paths) {
  std::vector<format::PublicKey> keys;
  for (const std::string& path : paths) {
    SLUICE_ASSIGN_OR_RETURN(io::FileInfo info, fs->Stat(path));
    if (!info.is_directory) {
      SLUICE_ASSIGN_OR_RETURN(format::PublicKey key, LoadPublicKey(fs, path));
      keys.push_back(key);
      continue;
    }
    SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(path));
    for (const std::string& name : names) {
      if (!name.ends_with(".pub") && !name.ends_with(".pem")) continue;
      SLUICE_ASSIGN_OR_RETURN(format::PublicKey key, LoadPublicKey(fs, io::JoinPath(path, name)));
      keys.push_back(key);
    }
  }
  if (keys.empty()) return Status::InvalidArgument("no trusted public key given (--trust)");
  return keys;
}

}  // namespace sluice
