#include "signing.h"

#include "io/atomic_file.h"

namespace sluice {
namespace {

constexpr uint64_t kMaxKeyFileSize = 64 * 1024;

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
  auto key = format::PrivateKey::FromPem(*pem);
  if (!key.ok()) return key.status().WithContext(path);
  return key;
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
