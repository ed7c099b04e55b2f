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

#include "tests/support/files.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace sluice::e2e {

// Child processes, temp directories and file helpers come from
// tests/support/ (plain C++, no sluice code).
using ::sluice::testing::CopyTree;
using ::sluice::testing::Exists;
using ::sluice::testing::ListTree;
using ::sluice::testing::ReadFile;
using ::sluice::testing::Run;
using ::sluice::testing::RunResult;
using ::sluice::testing::TempDir;
using ::sluice::testing::WriteFile;

// Runs the sluice binary under test with args.
RunResult Sluice(const std::vector<std::string>& args, const std::string& stdin_path = "");

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

// a followed by b: argv built from pieces.
std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b);

// REQUIREs that `r` exited with `exit_code`, showing the command and its
// output when it did not.
void Require(const RunResult& r, int exit_code = 0);

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
