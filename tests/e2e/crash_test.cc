// Crash tests: `sluice import` and `sluice export` killed with SIGKILL at many
// points, then run again.
//
// The kill points come from the sluice_crashable binary (the sluice command
// built with io/crash_file_system.h): SLUICE_TEST_CRASH_AFTER_BYTES=N kills it
// once N bytes have been written in all, SLUICE_TEST_CRASH_BEFORE_RENAME=N
// instead of its Nth rename (a complete temp file, not yet published). A
// first run with no reachable crash point traces every rename with the bytes
// written before it; the points tried are then the first bytes, each file's
// boundaries (one byte before, at, and after), the middle of each file, and
// every rename.
//
// After each kill:
//   import: every file of blobs/sha256 named by a digest holds exactly those
//           bytes; every tag of index.json names an image whose manifests,
//           configs and layers are all there; the rerun succeeds and leaves the
//           same tags and blobs as an import that was never interrupted,
//           and no temp file ("*.tmp-*"): the rerun removes those the kill
//           left (the kills are checked to have left some).
//   import into registry-storage:DIR: killed before every rename and in the
//           middle of files, the rerun leaves exactly the files of an import
//           that was never interrupted, and no temp file.
//   export: once the next run has settled the ledger's pending record (see
//           src/ledger.h), the ledger counts exactly what the output path
//           holds: before the bundle's rename it is byte for byte what it
//           was and nothing there verifies as a bundle (the rerun succeeds
//           and its bundle imports); after it, the bundle verifies, imports,
//           and the ledger records that very bundle.
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "e2e_support.h"

namespace sluice::e2e {
namespace {

constexpr uint64_t kNever = 1ull << 60;

// What one run of sluice_crashable wrote: the byte count before each rename,
// and the rename's target.
struct Rename {
  uint64_t bytes_before = 0;
  std::string to;
};

RunResult Crashable(const std::string& variable, uint64_t value,
                    const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"env", variable + "=" + std::to_string(value),
                                   SLUICE_CRASHABLE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv);
}

RunResult CrashAfterBytes(uint64_t bytes, const std::vector<std::string>& args) {
  return Crashable("SLUICE_TEST_CRASH_AFTER_BYTES", bytes, args);
}

RunResult CrashBeforeRename(uint64_t n, const std::vector<std::string>& args) {
  return Crashable("SLUICE_TEST_CRASH_BEFORE_RENAME", n, args);
}

std::vector<Rename> ParseTrace(const std::string& err) {
  std::vector<Rename> renames;
  std::istringstream lines(err);
  for (std::string line; std::getline(lines, line);) {
    const std::string prefix = "sluice-test-crash: rename ";
    if (line.rfind(prefix, 0) != 0) continue;
    size_t after = line.find(" after ");
    size_t bytes_end = line.find(" bytes: ");
    size_t arrow = line.find(" -> ");
    REQUIRE(after != std::string::npos);
    REQUIRE(bytes_end != std::string::npos);
    REQUIRE(arrow != std::string::npos);
    renames.push_back({std::stoull(line.substr(after + 7, bytes_end - after - 7)),
                       line.substr(arrow + 4)});
  }
  return renames;
}

// Runs `args` with no reachable crash point: the renames it does, and its
// total bytes (the sluice_crashable hook is checked to be there at all).
std::vector<Rename> Trace(const std::vector<std::string>& args) {
  RunResult r = CrashAfterBytes(kNever, args);
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  std::vector<Rename> renames = ParseTrace(r.err);
  REQUIRE(!renames.empty());
  return renames;
}

// Byte counts to die at: the first bytes, both sides of every file boundary
// (a rename ends a file), and the middle of every file.
std::set<uint64_t> BytePoints(const std::vector<Rename>& renames) {
  std::set<uint64_t> points = {0, 1, 4095, 4096, 4097};
  uint64_t previous = 0;
  for (const Rename& r : renames) {
    uint64_t b = r.bytes_before;
    if (b > 0) points.insert(b - 1);
    points.insert(b);
    points.insert(b + 1);
    points.insert(previous + (b - previous) / 2);
    previous = b;
  }
  return points;
}

bool IsHexName(const std::string& name) {
  if (name.size() != 64) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Every entry below dir named like a temp file of sluice.
std::vector<std::string> TempFiles(const std::string& dir) {
  std::vector<std::string> temps;
  for (const std::string& path : ListTree(dir)) {
    if (path.find(".tmp-") != std::string::npos) temps.push_back(path);
  }
  return temps;
}

// The layout invariants. Returns the digest-named blobs. blobs/sha256 holds
// nothing else, even right after a kill: every tool walks it as
// content-addressed. The temp files a kill leaves behind are in sluice's own
// directory (.sluice/: the ingest directory and the state file's), and are
// counted in *leftovers.
std::set<std::string> CheckLayout(const std::string& layout, size_t* leftovers) {
  std::set<std::string> blobs;
  for (const std::string& name : ListTree(layout + "/blobs/sha256")) {
    INFO("file " << name << " in blobs/sha256 of " << layout);
    REQUIRE(IsHexName(name));
    CHECK(Sha256Digest(ReadFile(layout + "/blobs/sha256/" + name)) == "sha256:" + name);
    blobs.insert("sha256:" + name);
  }
  for (const std::string& name : ListTree(layout)) {
    INFO("file " << name << " of " << layout);
    if (name.starts_with(".sluice/") && name.find(".tmp-") != std::string::npos) {
      ++*leftovers;
    } else {
      CHECK(name.find(".tmp-") == std::string::npos);
    }
  }
  if (!Exists(layout + "/index.json")) return blobs;
  nlohmann::json index = ParseJson(ReadFile(layout + "/index.json"));
  REQUIRE(index.is_object());
  // Walk every tagged image: manifests, indexes, configs and layers.
  std::vector<std::string> stack;
  for (const auto& d : index.at("manifests")) stack.push_back(d.at("digest"));
  std::set<std::string> seen;
  while (!stack.empty()) {
    std::string digest = stack.back();
    stack.pop_back();
    if (!seen.insert(digest).second) continue;
    INFO("tagged image part " << digest << " of " << layout);
    REQUIRE(blobs.contains(digest));
    nlohmann::json doc = ParseJson(ReadFile(BlobPath(layout, digest)));
    for (const auto& child : doc.value("manifests", nlohmann::json::array())) {
      stack.push_back(child.at("digest"));
    }
    if (doc.contains("config")) CHECK(blobs.contains(doc["config"].at("digest")));
    for (const auto& layer : doc.value("layers", nlohmann::json::array())) {
      CHECK(blobs.contains(layer.at("digest")));
    }
  }
  return blobs;
}

std::map<std::string, std::string> Tags(const std::string& layout) {
  std::map<std::string, std::string> tags;
  if (!Exists(layout + "/index.json")) return tags;
  nlohmann::json index = ParseJson(ReadFile(layout + "/index.json"));
  for (const auto& d : index.at("manifests")) {
    tags[d.at("annotations").at("org.opencontainers.image.ref.name")] = d.at("digest");
  }
  return tags;
}

struct ImportCase {
  Workspace w;
  std::string bundle;       // what is imported under crashes
  std::string base_bundle;  // imported first, cleanly, when `on_existing`
  std::string reference;    // an uninterrupted import of the same
  std::set<std::string> reference_blobs;
  std::map<std::string, std::string> reference_tags;

  explicit ImportCase(bool on_existing) {
    const std::string& samples = SampleLayout();
    base_bundle = w.dir / "base.sluice";
    bundle = w.dir / "rest.sluice";
    if (on_existing) {
      RunResult b = w.Export({"oci:" + samples + ":base:1"}, base_bundle, {"-q"});
      INFO(b.Describe());
      REQUIRE(b.exit_code == 0);
    }
    RunResult e = w.Export({"oci:" + samples + ":app:1.0", "oci:" + samples + ":app:1.1",
                            "oci:" + samples + ":multi:1"},
                           bundle, {"-q", "--frame-size", "65536"});
    INFO(e.Describe());
    REQUIRE(e.exit_code == 0);
    reference = w.dir / "reference";
    Prepare(reference, on_existing);
    RunResult i = w.Import(bundle, reference);
    INFO(i.Describe());
    REQUIRE(i.exit_code == 0);
    size_t leftovers = 0;
    reference_blobs = CheckLayout(reference, &leftovers);
    reference_tags = Tags(reference);
    REQUIRE(leftovers == 0);
    REQUIRE(reference_tags.size() >= 3);
  }

  // An empty destination, or one holding base:1.
  void Prepare(const std::string& layout, bool on_existing) {
    if (!on_existing) return;
    RunResult i = w.Import(base_bundle, layout);
    INFO(i.Describe());
    REQUIRE(i.exit_code == 0);
  }

  std::vector<std::string> Args(const std::string& layout) {
    return {"import",    bundle, "--trust", w.keys.public_key, "--to", "oci:" + layout,
            "--mapping", layout + ".mapping", "-q"};
  }

  // After a kill: the invariants, the old tags intact, then a clean rerun
  // that ends where an uninterrupted import does, without temp files.
  // Returns how many temp files the kill left.
  size_t CheckAfterKill(const std::string& layout, const RunResult& killed, bool on_existing) {
    INFO(killed.Describe());
    REQUIRE(killed.exit_code == 128 + 9);
    size_t leftovers = 0;
    CheckLayout(layout, &leftovers);
    const size_t left_by_kill = TempFiles(layout).size();
    if (on_existing) CHECK(Tags(layout).contains("base:1"));
    for (const auto& [tag, digest] : Tags(layout)) {
      INFO("tag " << tag);
      CHECK(reference_tags.at(tag) == digest);
    }
    RunResult rerun = w.Import(bundle, layout);
    INFO(rerun.Describe());
    REQUIRE(rerun.exit_code == 0);
    leftovers = 0;
    CHECK(CheckLayout(layout, &leftovers) == reference_blobs);
    CHECK(Tags(layout) == reference_tags);
    CHECK(TempFiles(layout).empty());
    return left_by_kill;
  }
};

void RunImportCrashes(bool on_existing) {
  ImportCase c(on_existing);
  std::string traced = c.w.dir / "traced";
  c.Prepare(traced, on_existing);
  std::vector<Rename> renames = Trace(c.Args(traced));
  // Blobs, manifests, index.json, then the mapping files: each by a rename.
  bool index_renamed = false;
  for (const Rename& r : renames) index_renamed |= r.to == traced + "/index.json";
  CHECK(index_renamed);

  int n = 0;
  size_t temps_left = 0;
  for (uint64_t bytes : BytePoints(renames)) {
    std::string layout = c.w.dir / ("bytes-" + std::to_string(bytes));
    c.Prepare(layout, on_existing);
    INFO("killed after " << bytes << " bytes");
    RunResult killed = CrashAfterBytes(bytes, c.Args(layout));
    if (killed.exit_code == 0) {
      // Past the last byte the import writes: nothing to kill.
      CHECK(bytes >= renames.back().bytes_before);
      continue;
    }
    temps_left += c.CheckAfterKill(layout, killed, on_existing);
    ++n;
  }
  for (size_t k = 1; k <= renames.size(); ++k) {
    std::string layout = c.w.dir / ("rename-" + std::to_string(k));
    c.Prepare(layout, on_existing);
    INFO("killed before rename " << k << " (" << renames[k - 1].to << ")");
    size_t left = c.CheckAfterKill(layout, CrashBeforeRename(k, c.Args(layout)), on_existing);
    // The temp file of the rename not done is there, complete, until the rerun.
    if (renames[k - 1].to.starts_with(traced + "/")) CHECK(left >= 1);
    temps_left += left;
    ++n;
  }
  // Many distinct points, or the test proves little.
  CHECK(n >= 20);
  CHECK(temps_left >= renames.size() / 2);
}

TEST_CASE("an import killed at any byte or rename leaves only whole blobs and whole images, "
          "and its rerun completes",
          "[crash]") {
  SECTION("into an empty layout") { RunImportCrashes(/*on_existing=*/false); }
  SECTION("into a layout that already has tags") { RunImportCrashes(/*on_existing=*/true); }
}

TEST_CASE("an import killed again and again on the same layout still converges", "[crash]") {
  ImportCase c(/*on_existing=*/false);
  std::string layout = c.w.dir / "again";
  std::vector<Rename> renames = Trace(c.Args(c.w.dir / "traced"));
  // Each run dies a little later than where the previous one died.
  uint64_t total = renames.back().bytes_before;
  for (uint64_t bytes = 1; bytes < total; bytes += total / 7 + 1) {
    INFO("killed after " << bytes << " bytes");
    RunResult killed = CrashAfterBytes(bytes, c.Args(layout));
    INFO(killed.Describe());
    // A rerun skips what is already there, so it may finish before `bytes`.
    if (killed.exit_code == 0) break;
    REQUIRE(killed.exit_code == 128 + 9);
    size_t leftovers = 0;
    CheckLayout(layout, &leftovers);
  }
  RunResult rerun = c.w.Import(c.bundle, layout);
  INFO(rerun.Describe());
  REQUIRE(rerun.exit_code == 0);
  size_t leftovers = 0;
  CHECK(CheckLayout(layout, &leftovers) == c.reference_blobs);
  CHECK(Tags(layout) == c.reference_tags);
  CHECK(TempFiles(layout).empty());
}

// Every file below dir (relative path) with its bytes, and every directory.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const std::string& path : ListTree(dir)) {
    std::string full = dir + "/" + path;
    files[path] = std::filesystem::is_directory(full) ? "<dir>" : ReadFile(full);
  }
  return files;
}

TEST_CASE("an import into registry storage killed before any rename or mid-file leaves no "
          "temp file after its rerun, and the files of an uninterrupted import",
          "[crash]") {
  const std::string& samples = SampleLayout();
  Workspace w;
  std::string bundle = w.dir / "bundle.sluice";
  RunResult e = w.Export({"oci:" + samples + ":app:1.0", "oci:" + samples + ":multi:1"}, bundle,
                         {"-q", "--frame-size", "65536"});
  INFO(e.Describe());
  REQUIRE(e.exit_code == 0);
  auto args = [&](const std::string& dir) {
    std::vector<std::string> a = {"import", bundle, "--trust", w.keys.public_key};
    a.insert(a.end(), {"--to", "registry-storage:" + dir + ":mirror", "--mapping", "", "-q"});
    return a;
  };
  auto import = [&](const std::string& dir) {
    std::vector<std::string> argv = {SLUICE_BINARY};
    for (const std::string& a : args(dir)) argv.push_back(a);
    return Run(argv);
  };
  std::string reference = w.dir / "reference";
  RunResult clean = import(reference);
  INFO(clean.Describe());
  REQUIRE(clean.exit_code == 0);
  const std::map<std::string, std::string> expected = Snapshot(reference);
  REQUIRE(TempFiles(reference).empty());

  std::vector<Rename> renames = Trace(args(w.dir / "traced"));
  std::set<uint64_t> mid_file;
  uint64_t previous = 0;
  for (const Rename& r : renames) {
    if (r.bytes_before > previous + 1) mid_file.insert(previous + (r.bytes_before - previous) / 2);
    previous = r.bytes_before;
  }
  auto check = [&](const std::string& dir, const RunResult& killed) {
    INFO(killed.Describe());
    REQUIRE(killed.exit_code == 128 + 9);
    // What the registry reads holds no temp file even now: they are all in
    // the ingest directory, outside docker/registry/v2.
    CHECK(TempFiles(dir + "/docker").empty());
    size_t left = TempFiles(dir).size();
    RunResult rerun = import(dir);
    INFO(rerun.Describe());
    REQUIRE(rerun.exit_code == 0);
    CHECK(TempFiles(dir).empty());
    CHECK(Snapshot(dir) == expected);
    return left;
  };
  size_t killed_with_temps = 0;
  int n = 0;
  for (size_t k = 1; k <= renames.size(); ++k) {
    std::string dir = w.dir / ("rename-" + std::to_string(k));
    INFO("killed before rename " << k << " (" << renames[k - 1].to << ")");
    size_t left = check(dir, CrashBeforeRename(k, args(dir)));
    CHECK(left >= 1);  // the complete temp file of the rename not done
    killed_with_temps += left > 0;
    ++n;
  }
  for (uint64_t bytes : mid_file) {
    std::string dir = w.dir / ("bytes-" + std::to_string(bytes));
    INFO("killed after " << bytes << " bytes");
    killed_with_temps += check(dir, CrashAfterBytes(bytes, args(dir))) > 0;
    ++n;
  }
  CHECK(n >= 10);
  CHECK(killed_with_temps >= renames.size());
}

// The name of one killed export's files: the ledger records the output
// path, so every run's paths have one length, and byte counts then mean the
// same point in every run.
std::string RunName(char kind, uint64_t n) {
  std::string digits = std::to_string(n);
  return std::string(1, kind) + std::string(12 - digits.size(), '0') + digits;
}

TEST_CASE("an export killed at any byte or rename leaves a ledger that, once settled, counts "
          "exactly the bundle at the output path, and its rerun completes",
          "[crash]") {
  const std::string& samples = SampleLayout();
  Workspace w;
  // A ledger that already has something: the killed export is a delta.
  RunResult first = w.Export({"oci:" + samples + ":base:1"}, w.dir / "first.sluice", {"-q"});
  INFO(first.Describe());
  REQUIRE(first.exit_code == 0);
  const std::string ledger_before = ReadFile(w.ledger);
  RunResult shown_before = Sluice({"ledger", "show", "--ledger", w.ledger, "--json"});
  REQUIRE(shown_before.exit_code == 0);
  const uint64_t sequence_before = ParseJson(shown_before.out)["sequence"].get<uint64_t>();
  std::string received = w.dir / "received";
  RunResult imported = w.Import(w.dir / "first.sluice", received);
  INFO(imported.Describe());
  REQUIRE(imported.exit_code == 0);

  // Each run works on its own copy of the old ledger.
  auto args = [&](const std::string& name) {
    return std::vector<std::string>{"export", "oci:" + samples + ":app:1.0",
                                    "oci:" + samples + ":multi:1", "--ledger",
                                    w.dir / (name + ".ledger"), "--sign-key", w.keys.private_key,
                                    "-o", w.dir / (name + ".sluice"), "--frame-size", "65536",
                                    "-q"};
  };
  auto fresh_args = [&](const std::string& name) {
    WriteFile(w.dir / (name + ".ledger"), ledger_before);
    return args(name);
  };
  const std::string traced = RunName('t', 0);
  std::vector<Rename> renames = Trace(fresh_args(traced));
  // The ledger with the bundle pending, the bundle (the commit point), the
  // ledger with the bundle recorded.
  REQUIRE(renames.size() == 3);
  CHECK(renames[0].to == w.dir / (traced + ".ledger"));
  CHECK(renames[1].to == w.dir / (traced + ".sluice"));
  CHECK(renames[2].to == w.dir / (traced + ".ledger"));

  auto import_and_check = [&](const std::string& name, const std::string& bundle) {
    std::string layout = w.dir / (name + "-layout");
    CopyTree(received, layout);
    RunResult in = w.Import(bundle, layout);
    INFO(in.Describe());
    REQUIRE(in.exit_code == 0);
    CHECK(TaggedDigest(layout, "app:1.0") == TaggedDigest(samples, "app:1.0"));
    CHECK(TaggedDigest(layout, "multi:1") == TaggedDigest(samples, "multi:1"));
  };

  // Returns whether the kill came after the bundle was published.
  auto check = [&](const std::string& name, const RunResult& killed) {
    INFO(killed.Describe());
    REQUIRE(killed.exit_code == 128 + 9);
    std::string ledger = w.dir / (name + ".ledger");
    std::string bundle = w.dir / (name + ".sluice");
    // The next run settles what the kill left; `ledger show` is one.
    RunResult shown = Sluice({"ledger", "show", "--ledger", ledger, "--json"});
    INFO(shown.Describe());
    REQUIRE(shown.exit_code == 0);
    CHECK(ReadFile(ledger).find("\"pending\"") == std::string::npos);
    const bool published = Exists(bundle) && w.Verify(bundle).exit_code == 0;
    if (published) {
      // Killed between the bundle's rename and the last ledger save: the
      // ledger counts this very bundle, and the far side can import it.
      nlohmann::json settled = ParseJson(shown.out);
      CHECK(settled["sequence"].get<uint64_t>() == sequence_before + 1);
      CHECK(settled["bundles"].back()["bundle_id"] == InspectJson(bundle)["bundle_id"]);
      import_and_check(name, bundle);
    } else {
      // Anything earlier: the ledger byte for byte as it was, and whatever is
      // at the output path does not verify. The rerun ships a bundle that imports.
      CHECK(ReadFile(ledger) == ledger_before);
      std::vector<std::string> rerun_args = {SLUICE_BINARY};
      for (const std::string& a : args(name)) rerun_args.push_back(a);
      RunResult rerun = Run(rerun_args);
      INFO(rerun.Describe());
      REQUIRE(rerun.exit_code == 0);
      CHECK(ReadFile(ledger) != ledger_before);
      // The rerun removed the temp files the kill left beside the bundle.
      for (const std::string& file : ListTree(w.dir.path())) {
        CHECK_FALSE((file.starts_with(name) && file.find(".tmp-") != std::string::npos));
      }
      import_and_check(name, bundle);
    }
    return published;
  };

  int n = 0;
  int published = 0;
  for (uint64_t bytes : BytePoints(renames)) {
    std::string name = RunName('b', bytes);
    INFO("killed after " << bytes << " bytes");
    RunResult killed = CrashAfterBytes(bytes, fresh_args(name));
    if (killed.exit_code == 0) {
      CHECK(bytes >= renames.back().bytes_before);
      continue;
    }
    bool after = check(name, killed);
    CHECK(after == (bytes >= renames[1].bytes_before));
    published += after;
    ++n;
  }
  for (size_t k = 1; k <= renames.size(); ++k) {
    std::string name = RunName('r', k);
    INFO("killed before rename " << k);
    bool after = check(name, CrashBeforeRename(k, fresh_args(name)));
    CHECK(after == (k == 3));
    published += after;
    ++n;
  }
  CHECK(n >= 10);
  CHECK(published >= 1);
}

TEST_CASE("an export into volumes killed at any byte or rename leaves either the whole set, "
          "counted by the ledger, or no volume 1 and the ledger as it was",
          "[crash][volumes]") {
  const std::string& samples = SampleLayout();
  Workspace w;
  RunResult first = w.Export({"oci:" + samples + ":base:1"}, w.dir / "first.sluice", {"-q"});
  REQUIRE(first.exit_code == 0);
  const std::string ledger_before = ReadFile(w.ledger);
  auto args = [&](const std::string& name) {
    return std::vector<std::string>{"export", "oci:" + samples + ":app:1.0",
                                    "oci:" + samples + ":multi:1", "--ledger",
                                    w.dir / (name + ".ledger"), "--sign-key", w.keys.private_key,
                                    "-o", w.dir / (name + ".sluice"), "--frame-size", "4096",
                                    // About 8 volumes: enough renames before and after the
                                    // commit point, at about 40 kill points (24K made 190
                                    // volumes and a 10-minute test of the same boundaries).
                                    "--volume-size", "512K", "-q"};
  };
  auto fresh_args = [&](const std::string& name) {
    WriteFile(w.dir / (name + ".ledger"), ledger_before);
    return args(name);
  };
  const std::string traced = RunName('t', 0);
  std::vector<Rename> renames = Trace(fresh_args(traced));
  // The ledger with the bundle pending, volumes 2.. n, volume 1 (the commit
  // point), the ledger with the bundle recorded.
  REQUIRE(renames.size() >= 5);
  const size_t commit = renames.size() - 2;
  CHECK(renames[commit].to == w.dir / (traced + ".001.sluice"));
  CHECK(renames.back().to == w.dir / (traced + ".ledger"));

  auto check = [&](const std::string& name, const RunResult& killed) {
    INFO(killed.Describe());
    REQUIRE(killed.exit_code == 128 + 9);
    const std::string ledger = w.dir / (name + ".ledger");
    const std::string set = w.dir / (name + ".sluice");
    RunResult shown = Sluice({"ledger", "show", "--ledger", ledger, "--json"});
    INFO(shown.Describe());
    REQUIRE(shown.exit_code == 0);
    const bool published = Exists(w.dir / (name + ".001.sluice"));
    if (published) {
      CHECK(w.Verify(set).exit_code == 0);
      CHECK(ParseJson(shown.out)["bundles"].back()["bundle_id"] == InspectJson(set)["bundle_id"]);
    } else {
      CHECK(w.Verify(set).exit_code != 0);
      CHECK(ReadFile(ledger) == ledger_before);
      std::vector<std::string> rerun_args = {SLUICE_BINARY};
      for (const std::string& a : args(name)) rerun_args.push_back(a);
      RunResult rerun = Run(rerun_args);
      INFO(rerun.Describe());
      REQUIRE(rerun.exit_code == 0);
      CHECK(w.Verify(set).exit_code == 0);
    }
    return published;
  };
  int n = 0;
  int published = 0;
  for (uint64_t bytes : BytePoints(renames)) {
    const std::string name = RunName('b', bytes);
    INFO("killed after " << bytes << " bytes");
    RunResult killed = CrashAfterBytes(bytes, fresh_args(name));
    if (killed.exit_code == 0) continue;
    published += check(name, killed);
    ++n;
  }
  for (size_t k = 1; k <= renames.size(); ++k) {
    const std::string name = RunName('r', k);
    INFO("killed before rename " << k);
    const bool after = check(name, CrashBeforeRename(k, fresh_args(name)));
    CHECK(after == (k > commit + 1));
    published += after;
  }
  CHECK(n >= 10);
  CHECK(published >= 1);
}

}  // namespace
}  // namespace sluice::e2e
