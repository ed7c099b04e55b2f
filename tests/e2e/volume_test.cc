// Bundles for media, through the command line: export --volume-size cuts a
// bundle into volumes none larger than asked; verify and import take the
// set by directory, by name or by any volume, and name a missing one;
// verify --volume checks one volume alone; --parity N writes parity files
// from which `sluice repair` rebuilds missing or damaged volumes (any N,
// every combination tried) and damaged ranges of a single file.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "../registry/registry_fixture.h"
#include "e2e_support.h"
#include "tests/support/files.h"
#include "tests/support/layout_builder.h"

namespace sluice::e2e {
namespace {

using ::sluice::testing::LayoutBuilder;
using ::sluice::testing::RandomBytes;
using ::sluice::testing::RunShell;
using ::sluice::testing::ShellQuote;

// An image of two random layers (600 KiB and 200 KiB), so that a bundle of
// small frames spans several small volumes.
std::string BigImageLayout(const TempDir& dir) {
  const std::string layout = dir / "layout";
  LayoutBuilder b(layout);
  auto l1 = b.AddBlob(RandomBytes(600 * 1024, 11), "application/vnd.oci.image.layer.v1.tar+gzip");
  auto l2 = b.AddBlob(RandomBytes(200 * 1024, 12), "application/vnd.oci.image.layer.v1.tar+gzip");
  auto image = b.AddImage({l1, l2});
  b.Tag("big:1", image.manifest, image.manifest_size, "application/vnd.oci.image.manifest.v1+json");
  return layout;
}

const std::vector<std::string> kSmallVolumes = {"--volume-size", "200K", "--frame-size", "16384"};

std::vector<std::string> VolumesIn(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename();
    if (name.rfind(prefix, 0) == 0 && name.size() > prefix.size() + 7 &&
        std::isdigit(static_cast<unsigned char>(name[prefix.size()]))) {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_CASE("export --volume-size writes volumes no larger than asked, and the set imports whole",
          "[e2e][volumes]") {
  Workspace w;
  const std::string layout = BigImageLayout(w.dir);
  const std::string media = w.dir / "media";
  std::filesystem::create_directory(media);
  RunResult e = w.Export({"oci:" + layout + ":big:1"}, media + "/site.sluice", kSmallVolumes);
  INFO(e.Describe());
  REQUIRE(e.exit_code == 0);
  const std::vector<std::string> volumes = VolumesIn(media, "site.");
  REQUIRE(volumes.size() >= 4);
  for (const std::string& v : volumes) CHECK(std::filesystem::file_size(v) <= 200 * 1024);
  CHECK(e.out.find("in " + std::to_string(volumes.size()) + " volumes") != std::string::npos);

  // The set by directory, by its name, or by any one volume.
  for (const std::string& given : {media, media + "/site.sluice", volumes[2]}) {
    RunResult v = w.Verify(given);
    INFO(v.Describe());
    CHECK(v.exit_code == 0);
  }
  const std::string dest = w.dir / "dest";
  RunResult i = w.Import(volumes.back(), dest);
  INFO(i.Describe());
  REQUIRE(i.exit_code == 0);
  CHECK(TaggedDigest(dest, "big:1") == TaggedDigest(layout, "big:1"));
  CHECK(SkopeoManifestDigest(dest, "big:1") == TaggedDigest(layout, "big:1"));
}

TEST_CASE("a volume set with a volume missing fails verify naming the volume, and import keeps "
          "the others without importing anything",
          "[e2e][volumes]") {
  Workspace w;
  const std::string layout = BigImageLayout(w.dir);
  RunResult e = w.Export({"oci:" + layout + ":big:1"}, w.dir / "site.sluice", kSmallVolumes);
  REQUIRE(e.exit_code == 0);
  const std::vector<std::string> volumes = VolumesIn(w.dir.path(), "site.");
  REQUIRE(volumes.size() >= 3);
  std::filesystem::remove(volumes[1]);
  RunResult v = w.Verify(volumes[0]);
  INFO(v.Describe());
  CHECK(v.exit_code != 0);
  CHECK(v.err.find("volume 2") != std::string::npos);
  CHECK(v.err.find("site.002.sluice") != std::string::npos);
  const std::string dest = w.dir / "dest";
  RunResult i = w.Import(volumes[0], dest);
  INFO(i.Describe());
  CHECK(i.exit_code == 0);
  CHECK(i.out.find("still needed: volume 2;") != std::string::npos);
  CHECK(TaggedDigest(dest, "big:1").empty());
  CHECK(!std::filesystem::exists(dest + "/blobs"));
}

// The files under dir/blobs and dir/index.json: what an OCI layout holds.
std::map<std::string, std::string> LayoutContents(const std::string& dir) {
  std::map<std::string, std::string> contents;
  contents["index.json"] = ReadFile(dir + "/index.json");
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir + "/blobs")) {
    if (e.is_regular_file()) contents[e.path().lexically_relative(dir)] = ReadFile(e.path());
  }
  return contents;
}

// Each volume (and parity file) of `media` moved to a directory of its own,
// as if each were on its own disc: disc-N/NAME.
std::vector<std::string> SpreadOverDiscs(const std::string& media, const std::string& root) {
  std::vector<std::string> discs;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(media)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    const std::string disc = root + "/disc-" + std::to_string(discs.size() + 1);
    std::filesystem::create_directories(disc);
    std::filesystem::rename(file, disc + "/" + file.filename().string());
    discs.push_back(disc + "/" + file.filename().string());
  }
  return discs;
}

// Exports big:1 of `layout` as site.sluice with `extra` (volumes, parity)
// and spreads its files over discs (SpreadOverDiscs).
std::vector<std::string> ExportToDiscs(Workspace& w, const std::string& layout,
                                       const std::vector<std::string>& extra) {
  const std::string media = w.dir / "media";
  std::filesystem::create_directory(media);
  RunResult e = w.Export({"oci:" + layout + ":big:1"}, media + "/site.sluice", extra);
  INFO(e.Describe());
  REQUIRE(e.exit_code == 0);
  return SpreadOverDiscs(media, w.dir / "discs");
}

TEST_CASE("volumes imported one at a time, each from its own disc and in any order, end as the "
          "whole set does, and nothing is visible before the last",
          "[e2e][volumes][disc-by-disc]") {
  Workspace w;
  const std::string layout = BigImageLayout(w.dir);
  const std::string media = w.dir / "media";
  std::filesystem::create_directory(media);
  REQUIRE(w.Export({"oci:" + layout + ":big:1"}, media + "/site.sluice", kSmallVolumes).exit_code ==
          0);
  // The whole set at once, for comparison.
  const std::string whole = w.dir / "whole";
  REQUIRE(w.Import(media, whole).exit_code == 0);

  const std::vector<std::string> discs = SpreadOverDiscs(media, w.dir / "discs");
  const size_t count = discs.size();
  REQUIRE(count >= 4);
  // A disc alone verifies alone, by the name of its volume.
  RunResult alone = w.Verify(discs[2]);
  INFO(alone.Describe());
  CHECK(alone.exit_code == 0);
  CHECK(alone.out.find("OK, volume 3 of " + std::to_string(count)) != std::string::npos);
  CHECK(alone.err.find("checking it alone") != std::string::npos);
  // 3, 1, last, 2, 4, ...: not in order, and each disc by its directory
  // (a mount point) or by its file.
  std::vector<size_t> order = {2, 0, count - 1, 1};
  for (size_t n = 3; n + 1 < count; ++n) order.push_back(n);
  const std::string dest = w.dir / "dest";
  std::vector<uint32_t> held;
  for (size_t step = 0; step < order.size(); ++step) {
    const std::string& volume = discs[order[step]];
    const std::string given =
        step % 2 == 0 ? std::filesystem::path(volume).parent_path().string() : volume;
    RunResult i = w.Import(given, dest);
    INFO(i.Describe());
    REQUIRE(i.exit_code == 0);
    held.push_back(static_cast<uint32_t>(order[step] + 1));
    if (step + 1 < order.size()) {
      std::vector<uint32_t> missing;
      for (uint32_t n = 1; n <= count; ++n) {
        if (std::find(held.begin(), held.end(), n) == held.end()) missing.push_back(n);
      }
      std::string list;
      for (uint32_t n : missing) list += (list.empty() ? "" : ", ") + std::to_string(n);
      CHECK(i.out.find("volume " + std::to_string(order[step] + 1) + " of bundle") !=
            std::string::npos);
      CHECK(i.out.find("still needed: volume" + std::string(missing.size() > 1 ? "s " : " ") +
                       list + ";") != std::string::npos);
      CHECK(TaggedDigest(dest, "big:1").empty());
      CHECK(!std::filesystem::exists(dest + "/blobs"));
    } else {
      CHECK(i.out.find("imported bundle") != std::string::npos);
    }
  }
  CHECK(TaggedDigest(dest, "big:1") == TaggedDigest(layout, "big:1"));
  CHECK(LayoutContents(dest) == LayoutContents(whole));
  // What was staged went with the import.
  // (Only the lock and the mark that the bundle is imported stay.)
  std::size_t staged = 0;
  for (const auto& e : std::filesystem::directory_iterator(dest + "/.sluice/staging")) {
    const std::string name = e.path().filename();
    if (name != ".lock" && !name.ends_with(".imported")) ++staged;
  }
  CHECK(staged == 0);
}

TEST_CASE("volumes imported one at a time into a docker-registry push nothing before the last, "
          "then the image with its digest",
          "[e2e][volumes][disc-by-disc][registry]") {
  Workspace w;
  const std::string layout = BigImageLayout(w.dir);
  const std::vector<std::string> discs = ExportToDiscs(w, layout, kSmallVolumes);
  REQUIRE(discs.size() >= 3);
  registry::testing::TestRegistry registry;
  const std::string state = w.dir / "registry-state.json";
  const std::string image = "docker://" + registry.host() + "/mirror/big:1";
  auto import = [&](const std::string& volume) {
    std::vector<std::string> argv = {"import", volume, "--trust", w.keys.public_key,
                                     "--to", "docker://" + registry.host() + "/mirror",
                                     "--state-file", state, "--mapping", ""};
    for (const std::string& flag : registry.Flags("dest")) argv.push_back(flag);
    return Sluice(argv);
  };
  auto skopeo_raw = [&]() {
    std::vector<std::string> argv = {"skopeo", "inspect", "--raw"};
    for (const std::string& flag : registry.Flags("")) argv.push_back(flag);
    argv.push_back(image);
    return Run(argv);
  };
  for (size_t n = discs.size(); n-- > 1;) {  // the last first, volume 1 last
    RunResult i = import(discs[n]);
    INFO(i.Describe());
    REQUIRE(i.exit_code == 0);
    CHECK(i.out.find("still needed: volume") != std::string::npos);
    CHECK(skopeo_raw().exit_code != 0);
  }
  // Kept beside the state file given.
  CHECK(std::filesystem::exists(w.dir / "staging"));
  RunResult last = import(discs[0]);
  INFO(last.Describe());
  REQUIRE(last.exit_code == 0);
  RunResult raw = skopeo_raw();
  INFO(raw.Describe());
  REQUIRE(raw.exit_code == 0);
  CHECK(Sha256Digest(raw.out) == TaggedDigest(layout, "big:1"));
}

TEST_CASE("a damaged volume given alone is refused naming it and is not kept; a good copy of it "
          "later completes the set",
          "[e2e][volumes][disc-by-disc]") {
  Workspace w;
  const std::string layout = BigImageLayout(w.dir);
  const std::vector<std::string> discs = ExportToDiscs(w, layout, kSmallVolumes);
  REQUIRE(discs.size() >= 3);
  const std::string dest = w.dir / "dest";
  const std::string good = ReadFile(discs[1]);
  std::string bad = good;
  bad[bad.size() / 2] ^= 0x20;
  WriteFile(discs[1], bad);
  RunResult refused = w.Import(discs[1], dest);
  INFO(refused.Describe());
  CHECK(refused.exit_code == 3);
  CHECK(refused.err.find(discs[1]) != std::string::npos);
  // The same volume again: refused again, since it was not kept.
  CHECK(w.Import(discs[1], dest).exit_code == 3);
  for (size_t n = 0; n < discs.size(); ++n) {
    if (n == 1) continue;
    RunResult i = w.Import(discs[n], dest);
    INFO(i.Describe());
    REQUIRE(i.exit_code == 0);
    if (n + 1 == discs.size()) CHECK(i.out.find("still needed: volume 2;") != std::string::npos);
  }
  // A volume given twice is held once.
  RunResult again = w.Import(discs[0], dest);
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("already held: volume 1") != std::string::npos);
  CHECK(TaggedDigest(dest, "big:1").empty());
  WriteFile(discs[1], good);
  RunResult last = w.Import(discs[1], dest);
  INFO(last.Describe());
  REQUIRE(last.exit_code == 0);
  CHECK(TaggedDigest(dest, "big:1") == TaggedDigest(layout, "big:1"));
}

TEST_CASE("the last two volumes imported at once import the bundle once, whole",
          "[e2e][volumes][disc-by-disc]") {
  Workspace w;
  const std::string layout = BigImageLayout(w.dir);
  const std::vector<std::string> discs = ExportToDiscs(w, layout, kSmallVolumes);
  REQUIRE(discs.size() >= 3);
  const std::string dest = w.dir / "dest";
  for (size_t n = 0; n + 2 < discs.size(); ++n) REQUIRE(w.Import(discs[n], dest).exit_code == 0);
  auto import = [&](const std::string& volume, const std::string& out) {
    return ShellQuote(SLUICE_BINARY) + " import " + ShellQuote(volume) + " --trust " +
           ShellQuote(w.keys.public_key) + " --to " + ShellQuote("oci:" + dest) + " -q > " +
           ShellQuote(out);
  };
  RunResult both = RunShell(import(discs[discs.size() - 2], w.dir / "a.out") +
                            " & first=$!; " + import(discs.back(), w.dir / "b.out") +
                            " & second=$!; wait $first && wait $second");
  INFO(both.Describe());
  REQUIRE(both.exit_code == 0);
  // One of them found the set whole and imported it; the other staged its
  // volume before (then "still needed") or found it imported.
  const std::string a = ReadFile(w.dir / "a.out"), b = ReadFile(w.dir / "b.out");
  INFO(a << "\n" << b);
  CHECK((a.find("imported bundle") != std::string::npos) !=
        (b.find("imported bundle") != std::string::npos));
  CHECK(TaggedDigest(dest, "big:1") == TaggedDigest(layout, "big:1"));
  CHECK(SkopeoManifestDigest(dest, "big:1") == TaggedDigest(layout, "big:1"));
}

TEST_CASE("volumes given one at a time import once the parity volumes make up for those still "
          "missing, and --json says what is still needed",
          "[e2e][volumes][disc-by-disc][parity]") {
  Workspace w;
  const std::string layout = BigImageLayout(w.dir);
  const std::vector<std::string> discs =
      ExportToDiscs(w, layout, {"--volume-size", "200K", "--frame-size", "16384", "--parity", "1"});
  // site.001 ... site.00N, then site.par1.
  REQUIRE(discs.back().find("site.par1.sluice") != std::string::npos);
  const size_t volumes = discs.size() - 1;
  REQUIRE(volumes >= 3);
  const std::string dest = w.dir / "dest";
  // The parity disc first, then every volume but the second.
  RunResult parity = Sluice({"import", discs.back(), "--trust", w.keys.public_key, "--to",
                             "oci:" + dest, "--json"});
  INFO(parity.Describe());
  REQUIRE(parity.exit_code == 0);
  auto report = nlohmann::json::parse(parity.out);
  CHECK(report["complete"] == false);
  CHECK(report["parity_held"] == nlohmann::json::array({1}));
  CHECK(report["volume_count"] == volumes);
  for (size_t n = 0; n < volumes; ++n) {
    if (n == 1) continue;
    RunResult i = w.Import(discs[n], dest);
    INFO(i.Describe());
    REQUIRE(i.exit_code == 0);
    if (n + 1 < volumes) CHECK(TaggedDigest(dest, "big:1").empty());
  }
  CHECK(TaggedDigest(dest, "big:1") == TaggedDigest(layout, "big:1"));
  CHECK(SkopeoManifestDigest(dest, "big:1") == TaggedDigest(layout, "big:1"));

  // The parity disc first, then every volume: the one before the last
  // imports (parity makes up for the last), which is then nothing to do.
  const std::string dest2 = w.dir / "dest2";
  REQUIRE(w.Import(discs.back(), dest2).exit_code == 0);
  for (size_t n = 0; n < volumes; ++n) {
    RunResult i = w.Import(discs[n], dest2);
    INFO(i.Describe());
    REQUIRE(i.exit_code == 0);
    CHECK((i.out.find("imported bundle") != std::string::npos) == (n + 2 == volumes));
    if (n + 1 == volumes) CHECK(i.out.find("already (from volumes given before)") != std::string::npos);
  }
  CHECK(TaggedDigest(dest2, "big:1") == TaggedDigest(layout, "big:1"));
  CHECK_FALSE(std::filesystem::exists(
      dest2 + "/.sluice/staging/" + ParseJson(parity.out).at("bundle_id").get<std::string>()));
}

TEST_CASE("verify --volume checks one volume alone and finds damage in it", "[e2e][volumes]") {
  Workspace w;
  const std::string layout = BigImageLayout(w.dir);
  RunResult e = w.Export({"oci:" + layout + ":big:1"}, w.dir / "site.sluice", kSmallVolumes);
  REQUIRE(e.exit_code == 0);
  const std::vector<std::string> volumes = VolumesIn(w.dir.path(), "site.");
  REQUIRE(volumes.size() >= 3);
  RunResult ok = Sluice({"verify", "--volume", volumes[1], "--trust", w.keys.public_key});
  INFO(ok.Describe());
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("volume 2 of " + std::to_string(volumes.size())) != std::string::npos);

  std::string bytes = ReadFile(volumes[1]);
  bytes[bytes.size() / 2] ^= 0x01;
  WriteFile(volumes[1], bytes);
  RunResult bad = Sluice({"verify", "--volume", volumes[1], "--trust", w.keys.public_key});
  INFO(bad.Describe());
  CHECK(bad.exit_code == 3);
  CHECK(bad.err.find("site.002.sluice") != std::string::npos);
  CHECK(Sluice({"verify", "--volume", volumes[0], "--trust", w.keys.public_key}).exit_code == 0);
}

TEST_CASE("repair rebuilds any two missing or damaged volumes from two parity files",
          "[e2e][volumes][parity]") {
  Workspace w;
  const std::string layout = BigImageLayout(w.dir);
  std::vector<std::string> extra = kSmallVolumes;
  extra.insert(extra.end(), {"--parity", "2"});
  RunResult e = w.Export({"oci:" + layout + ":big:1"}, w.dir / "site.sluice", extra);
  INFO(e.Describe());
  REQUIRE(e.exit_code == 0);
  const std::vector<std::string> volumes = VolumesIn(w.dir.path(), "site.");
  REQUIRE(volumes.size() >= 4);
  REQUIRE(std::filesystem::exists(w.dir / "site.par1.sluice"));
  REQUIRE(std::filesystem::exists(w.dir / "site.par2.sluice"));
  // inspect tells the volumes and what the parity costs.
  const nlohmann::json inspected = InspectJson(w.dir / "site.sluice");
  CHECK(inspected.at("volumes").get<uint64_t>() == volumes.size());
  CHECK(inspected.at("parity_files").size() == 2);
  uint64_t total = 0;
  for (const std::string& v : volumes) total += std::filesystem::file_size(v);
  CHECK(inspected.at("file_size").get<uint64_t>() == total);
  const uint64_t parity_bytes = std::filesystem::file_size(w.dir / "site.par1.sluice") +
                                std::filesystem::file_size(w.dir / "site.par2.sluice");
  CHECK(inspected.at("parity_bytes").get<uint64_t>() == parity_bytes);
  CHECK(inspected.at("parity_overhead_percent").get<double>() ==
        Approx(100.0 * static_cast<double>(parity_bytes) / static_cast<double>(total)));
  std::vector<std::string> originals;
  for (const std::string& v : volumes) originals.push_back(ReadFile(v));

  // Every pair of volumes, one lost and one damaged.
  for (size_t a = 0; a < volumes.size(); ++a) {
    for (size_t b = 0; b < volumes.size(); ++b) {
      if (a == b) continue;
      INFO("volume " << a + 1 << " missing, volume " << b + 1 << " damaged");
      std::filesystem::remove(volumes[a]);
      std::string damaged = originals[b];
      damaged[damaged.size() / 3] ^= 0x20;
      WriteFile(volumes[b], damaged);
      RunResult r = Sluice({"repair", w.dir / "site.sluice"});
      INFO(r.Describe());
      REQUIRE(r.exit_code == 0);
      for (size_t i = 0; i < volumes.size(); ++i) CHECK(ReadFile(volumes[i]) == originals[i]);
    }
  }
  // Three lost: more than the parity holds; one line naming what is lost, nothing written.
  std::filesystem::remove(volumes[0]);
  std::filesystem::remove(volumes[1]);
  std::filesystem::remove(volumes[2]);
  RunResult r = Sluice({"repair", w.dir / "site.sluice"});
  INFO(r.Describe());
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("lost more than") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(volumes[0]));
  RunResult v = w.Verify(volumes[3]);
  INFO(v.Describe());
  CHECK(v.exit_code != 0);
  for (const char* name : {"volume 1 (missing)", "volume 2 (missing)",
                           "volume 3 (missing)"}) {
    CHECK(v.err.find(name) != std::string::npos);
  }
  // Import keeps what is there, and says what it still needs.
  const std::string dest = w.dir / "dest";
  RunResult i = w.Import(volumes[3], dest);
  INFO(i.Describe());
  CHECK(i.exit_code == 0);
  CHECK(i.out.find("still needed: volumes 1, 2, 3 (any 1 of them)") != std::string::npos);
  CHECK(TaggedDigest(dest, "big:1").empty());
}

TEST_CASE("repair rebuilds a damaged range of a single bundle file, which then imports",
          "[e2e][parity]") {
  Workspace w;
  const std::string layout = BigImageLayout(w.dir);
  const std::string bundle = w.dir / "one.sluice";
  RunResult e = w.Export({"oci:" + layout + ":big:1"}, bundle, {"--parity", "1"});
  INFO(e.Describe());
  REQUIRE(e.exit_code == 0);
  const std::string original = ReadFile(bundle);
  std::string damaged = original;
  for (size_t i = 100000; i < 100000 + 20000; ++i) damaged[i] = 0;  // a scratched range
  WriteFile(bundle, damaged);
  // Verify reads it through its parity, rebuilding the range in memory.
  RunResult v = w.Verify(bundle);
  CHECK(v.exit_code == 0);
  CHECK(v.err.find("rebuilt in memory") != std::string::npos);
  // Without the parity file the damage is what it is.
  std::filesystem::rename(w.dir / "one.par1.sluice", w.dir / "aside");
  CHECK(w.Verify(bundle).exit_code == 3);
  std::filesystem::rename(w.dir / "aside", w.dir / "one.par1.sluice");
  RunResult r = Sluice({"repair", bundle});
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  CHECK(ReadFile(bundle) == original);
  RunResult again = Sluice({"repair", bundle});
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("intact") != std::string::npos);
  const std::string dest = w.dir / "dest";
  RunResult i = w.Import(bundle, dest);
  INFO(i.Describe());
  REQUIRE(i.exit_code == 0);
  CHECK(TaggedDigest(dest, "big:1") == TaggedDigest(layout, "big:1"));
}

TEST_CASE("verify and import rebuild lost volumes from the parity in memory, by themselves",
          "[e2e][volumes][parity]") {
  Workspace w;
  const std::string layout = BigImageLayout(w.dir);
  std::vector<std::string> extra = kSmallVolumes;
  extra.insert(extra.end(), {"--parity", "2"});
  REQUIRE(w.Export({"oci:" + layout + ":big:1"}, w.dir / "site.sluice", extra).exit_code == 0);
  const std::vector<std::string> volumes = VolumesIn(w.dir.path(), "site.");
  REQUIRE(volumes.size() >= 4);
  std::filesystem::remove(volumes[0]);
  std::string damaged = ReadFile(volumes[2]);
  damaged[damaged.size() / 2] ^= 0x04;
  WriteFile(volumes[2], damaged);

  RunResult v = w.Verify(w.dir / "site.sluice");
  INFO(v.Describe());
  CHECK(v.exit_code == 0);
  CHECK(v.err.find("rebuilt in memory") != std::string::npos);
  const std::string dest = w.dir / "dest";
  RunResult i = w.Import(volumes[1], dest);
  INFO(i.Describe());
  REQUIRE(i.exit_code == 0);
  CHECK(TaggedDigest(dest, "big:1") == TaggedDigest(layout, "big:1"));
  // Nothing on the medium was changed: that is what repair is for.
  CHECK_FALSE(std::filesystem::exists(volumes[0]));
  CHECK(ReadFile(volumes[2]) == damaged);

  // One more lost than the parity holds: refused, naming repair.
  std::filesystem::remove(volumes[3]);
  RunResult refused = w.Verify(w.dir / "site.sluice");
  CHECK(refused.exit_code == 3);
  CHECK(refused.err.find("lost more than") != std::string::npos);
}

TEST_CASE("import yields the same digests whichever two of the volumes and parity files are "
          "dropped or damaged",
          "[e2e][volumes][parity]") {
  Workspace w;
  const std::string layout = BigImageLayout(w.dir);
  const std::string media = w.dir / "media";
  std::filesystem::create_directory(media);
  std::vector<std::string> extra = kSmallVolumes;
  extra.insert(extra.end(), {"--parity", "2"});
  REQUIRE(w.Export({"oci:" + layout + ":big:1"}, media + "/site.sluice", extra).exit_code == 0);
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(media)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 6);  // 4 or more volumes and 2 parity files
  std::vector<std::string> originals;
  for (const std::string& f : files) originals.push_back(ReadFile(f));
  const std::string want = TaggedDigest(layout, "big:1");
  int combination = 0;
  for (size_t a = 0; a < files.size(); ++a) {
    for (size_t b = a + 1; b < files.size(); ++b, ++combination) {
      INFO(files[a] << " and " << files[b]);
      // Dropped, damaged, or one of each, in turn.
      for (size_t f : {a, b}) {
        if ((combination + (f == b ? 1 : 0)) % 3 == 0) {
          std::filesystem::remove(files[f]);
        } else {
          std::string bytes = originals[f];
          bytes[(bytes.size() * (f + 1)) / (files.size() + 1)] ^= 0x10;
          WriteFile(files[f], bytes);
        }
      }
      const std::string dest = w.dir / ("dest-" + std::to_string(combination));
      RunResult i = w.Import(media, dest);
      INFO(i.Describe());
      CHECK(i.exit_code == 0);
      CHECK(TaggedDigest(dest, "big:1") == want);
      for (size_t f : {a, b}) WriteFile(files[f], originals[f]);
    }
  }
}

TEST_CASE("a bundle exported again under its name without --parity is read without the old "
          "parity files, which are removed", "[e2e][parity]") {
  Workspace w;
  const std::string layout = BigImageLayout(w.dir);
  const std::string bundle = w.dir / "site.sluice";
  REQUIRE(w.Export({"oci:" + layout + ":big:1"}, bundle, {"--parity", "1"}).exit_code == 0);
  REQUIRE(std::filesystem::exists(w.dir / "site.par1.sluice"));
  const std::string old_parity = ReadFile(w.dir / "site.par1.sluice");
  RunResult again = w.Export({"oci:" + SampleLayout() + ":app:1.0"}, bundle);
  INFO(again.Describe());
  REQUIRE(again.exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(w.dir / "site.par1.sluice"));
  // Even an old parity file put back is not taken for this bundle's.
  WriteFile(w.dir / "site.par1.sluice", old_parity);
  RunResult v = w.Verify(bundle);
  INFO(v.Describe());
  CHECK(v.exit_code == 0);
  CHECK(v.err.find("rebuilt in memory") == std::string::npos);
  const std::string dest = w.dir / "dest";
  REQUIRE(w.Import(bundle, dest).exit_code == 0);
  CHECK(TaggedDigest(dest, "app:1.0") == TaggedDigest(SampleLayout(), "app:1.0"));
  CHECK(TaggedDigest(dest, "big:1").empty());
}

TEST_CASE("a bundle whose name ends in digits is one file, with parity of its own",
          "[e2e][parity]") {
  Workspace w;
  const std::string layout = BigImageLayout(w.dir);
  const std::string older = w.dir / "nightly.2023.sluice";
  const std::string newer = w.dir / "nightly.2024.sluice";
  REQUIRE(w.Export({"oci:" + SampleLayout() + ":app:1.0"}, older).exit_code == 0);
  REQUIRE(w.Export({"oci:" + layout + ":big:1"}, newer, {"--parity", "1"}).exit_code == 0);
  CHECK(std::filesystem::exists(w.dir / "nightly.2024.par1.sluice"));
  RunResult v = w.Verify(newer);
  INFO(v.Describe());
  CHECK(v.exit_code == 0);
  RunResult r = Sluice({"repair", newer});
  INFO(r.Describe());
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("intact") != std::string::npos);
  const std::string dest = w.dir / "dest";
  REQUIRE(w.Import(older, dest).exit_code == 0);
  CHECK(TaggedDigest(dest, "app:1.0") == TaggedDigest(SampleLayout(), "app:1.0"));
}

TEST_CASE("export -o NAME replaces an earlier bundle of that name, a single file or a set of volumes",
          "[e2e][volumes]") {
  Workspace w;
  const std::string layout = BigImageLayout(w.dir);
  const std::string name = w.dir / "site.sluice";
  REQUIRE(w.Export({"oci:" + SampleLayout() + ":app:1.0"}, name).exit_code == 0);
  REQUIRE(w.Export({"oci:" + layout + ":big:1"}, name, kSmallVolumes).exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(name));  // the set is what site.sluice names now
  CHECK(InspectJson(name).at("volumes").get<uint64_t>() > 1);
  REQUIRE(w.Export({"oci:" + SampleLayout() + ":app:1.1"}, name).exit_code == 0);
  CHECK(VolumesIn(w.dir.path(), "site.").empty());
  // site.sluice is now the third bundle, a file: app:1.1 alone.
  CHECK(w.Verify(name).exit_code == 0);
  const nlohmann::json third = InspectJson(name);
  CHECK(third.at("volumes").get<uint64_t>() == 1);
  REQUIRE(third.at("refs").size() == 1);
  CHECK(RefName(third.at("refs")[0]) == "app:1.1");
}

TEST_CASE("export refuses --volume-size where it cannot apply, and --parity beyond 64", "[e2e][volumes]") {
  Workspace w;
  const std::string src = "oci:" + SampleLayout() + ":app:1.0";
  RunResult stream = w.Export({src}, "-", {"--volume-size", "1M"});
  CHECK(stream.exit_code != 0);
  CHECK(stream.err.find("--volume-size") != std::string::npos);
  RunResult zero = w.Export({src}, w.dir / "z.sluice", {"--volume-size", "0"});
  CHECK(zero.exit_code == 2);
  RunResult tiny = w.Export({src}, w.dir / "t.sluice", {"--volume-size", "2K"});
  CHECK(tiny.exit_code != 0);
  CHECK(tiny.err.find("too small") != std::string::npos);
  // (--parity with -o - is a parity stream: stream_parity_test.cc.)
  RunResult too_much = w.Export({src}, w.dir / "p.sluice", {"--parity", "65"});
  CHECK(too_much.exit_code == 2);
  CHECK(too_much.err.find("--parity") != std::string::npos);
}

}  // namespace
}  // namespace sluice::e2e
