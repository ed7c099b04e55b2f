// Shared by the end-to-end tests: running the sluice binary and the OCI tools
// as child processes, temp directories, the sample images (made once per
// process by tools/make-sample-images) and small file and digest helpers.
//
// These tests only talk to sluice through its command line, as a user would;
// they use no sluice library code, so a bug there cannot hide a bug here.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::e2e {

// What a finished child process did.
struct RunResult {
  int exit_code = -1;  // 128 + signal number when it was killed
  std::string out;
  std::string err;
  std::string command;  // for messages

  // The command, exit code, stdout and stderr, for INFO().
  std::string Describe() const;
  // The error line sluice printed on stderr ("sluice: error: ..."), or ""
  // when there is not exactly one. Progress lines may come before it.
  std::string ErrorLine() const;
};

// Runs argv[0] (searched in PATH) with argv; stdin from stdin_path, or
// /dev/null when empty. stdout and stderr are captured in full.
RunResult Run(const std::vector<std::string>& argv, const std::string& stdin_path = "");

// Runs the sluice binary under test with args.
RunResult Sluice(const std::vector<std::string>& args, const std::string& stdin_path = "");

// A fresh directory under $TMPDIR, removed with everything in it unless
// SLUICE_E2E_KEEP is set in the environment.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The OCI layout made by tools/make-sample-images (tags base:1, app:1.0,
// app:1.1, multi:1), built on first use and shared read-only by the tests of
// one process. Tests that change a layout work on a CopyTree of it.
const std::string& SampleLayout();

// An Ed25519 key pair made with `sluice keygen` in dir.
struct KeyPair {
  std::string private_key;
  std::string public_key;
};
KeyPair MakeKeys(const TempDir& dir, const std::string& name);

// One side of a transfer: a temp dir with a signing key pair and a ledger
// path (the ledger file appears with the first export).
struct Workspace {
  Workspace();

  // sluice export SOURCES... --ledger LEDGER --sign-key KEY -o BUNDLE EXTRA...
  RunResult Export(const std::vector<std::string>& sources, const std::string& bundle,
                   const std::vector<std::string>& extra = {});
  // sluice verify BUNDLE --trust PUB
  RunResult Verify(const std::string& bundle);
  // sluice import BUNDLE --trust PUB --to oci:LAYOUT
  RunResult Import(const std::string& bundle, const std::string& layout);

  TempDir dir;
  KeyPair keys;
  std::string ledger;
};

// `sluice inspect BUNDLE --json`, parsed; throws when it fails.
nlohmann::json InspectJson(const std::string& bundle);
// The name a ref of `inspect --json` stands for: "REPOSITORY:TAG", or TAG
// when the repository is empty ({"repository":"app","tag":"1.0"} and
// {"repository":"","tag":"app:1.0"} both name app:1.0).
std::string RefName(const nlohmann::json& ref);

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& bytes);
bool Exists(const std::string& path);
void CopyTree(const std::string& from, const std::string& to);
// Sorted relative paths of every entry below dir (empty if dir is absent).
std::vector<std::string> ListTree(const std::string& dir);

// "sha256:<hex>" of bytes.
std::string Sha256Digest(std::string_view bytes);

nlohmann::json ParseJson(const std::string& text);

// The digest index.json of the layout at dir gives for tag (its
// org.opencontainers.image.ref.name annotation); "" if there is none.
std::string TaggedDigest(const std::string& layout, const std::string& tag);
// The path of a blob of a layout.
std::string BlobPath(const std::string& layout, const std::string& digest);
// The config and layer digests of an image manifest in a layout.
std::set<std::string> ImageBlobs(const std::string& layout, const std::string& manifest_digest);

// The sha256 of the manifest bytes skopeo reads for oci:layout:tag, or the
// skopeo failure.
std::string SkopeoManifestDigest(const std::string& layout, const std::string& tag);

}  // namespace sluice::e2e
