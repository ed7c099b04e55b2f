// Sub-layer deltas end to end (format/SPEC.md section 4, "Delta blobs"): a
// one-layer image rebuilt a month later (make-month-image: files changed,
// removed and added) exported after the first month was delivered ships its
// layer as a delta of the two tars plus the gzip recipe, and every sink
// rebuilds the very same layer bytes. Layers no recipe reproduces (GNU gzip,
// Go's pgzip) ship whole and the report says why; a missing or damaged base
// and a damaged delta are refused with nothing made visible.
#include <xxhash.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../registry/registry_fixture.h"
#include "e2e_support.h"

namespace sluice::e2e {
namespace {

using registry::testing::TestRegistry;

// What make-month-image made for one month.
struct Month {
  std::string manifest;
  std::string layer;
  uint64_t layer_size = 0;
};

// Month `month` of the image TAG in `layout`, its layer made by `producer`
// ("none", "python" or a compressing command).
Month MakeMonth(const std::string& layout, const std::string& tag, int month,
                const std::string& producer) {
  RunResult r = Run({SLUICE_MONTH_IMAGE, layout, tag, std::to_string(month), producer});
  Require(r);
  nlohmann::json made = ParseJson(r.out);
  return {made.at("manifest"), made.at("layer"), made.at("layer_size")};
}

// The only layer of the image manifest `digest` in `layout`.
Month MonthAt(const std::string& layout, const std::string& digest) {
  nlohmann::json manifest = ParseJson(ReadFile(BlobPath(layout, digest)));
  const nlohmann::json& layer = manifest.at("layers").at(0);
  return {digest, layer.at("digest"), layer.at("size")};
}

// Month `month` with a layer Go made: an uncompressed month, copied by
// skopeo (containers/image compresses with klauspost/pgzip) into `layout`.
Month MakeGoMonth(const std::string& dir, int month) {
  MakeMonth(dir + "/plain", "img:1", month, "none");
  Require(Run({"skopeo", "--insecure-policy", "copy", "--quiet", "--dest-compress",
               "--dest-compress-format", "gzip", "oci:" + dir + "/plain:img:1",
               "oci:" + dir + "/go:img:1"}));
  std::string layout = dir + "/go";
  return MonthAt(layout, TaggedDigest(layout, "img:1"));
}

// `sluice export SOURCE --json -q EXTRA` by `w`, parsed.
nlohmann::json ExportJson(Workspace& w, const std::string& source, const std::string& bundle,
                          const std::vector<std::string>& extra = {}) {
  RunResult r = w.Export({source}, bundle, Concat({"--json", "-q"}, extra));
  Require(r);
  return ParseJson(r.out);
}

// The report's entry for `layer` in "deltas"; null when it has none.
nlohmann::json DeltaEntry(const nlohmann::json& report, const std::string& layer) {
  for (const auto& d : report.at("deltas")) {
    if (d.at("layer") == layer) return d;
  }
  return nullptr;
}

std::string FileDigest(const std::string& path) { return Sha256Digest(ReadFile(path)); }

// oci:DEST holds month `m` whole and tagged: the layer file hashes to its
// digest and skopeo reads the month's manifest under the tag.
void RequireLayoutHolds(const std::string& dest, const Month& m) {
  REQUIRE(Exists(BlobPath(dest, m.layer)));
  CHECK(FileDigest(BlobPath(dest, m.layer)) == m.layer);
  CHECK(TaggedDigest(dest, "img:1") == m.manifest);
  CHECK(SkopeoManifestDigest(dest, "img:1") == m.manifest);
}

// Month 1 then month 2 of an image whose layer `producer` makes, exported
// with one ledger: month 1 imported into oci:dest, month 2 exported after.
struct MonthPair {
  explicit MonthPair(const std::string& producer, const std::vector<std::string>& extra = {}) {
    month1 = MakeMonth(source, "img:1", 1, producer);
    Require(w.Export({"oci:" + source + ":img:1"}, bundle1, {"-q"}));
    Require(w.Import(bundle1, dest));
    month2 = MakeMonth(source, "img:1", 2, producer);
    report2 = ExportJson(w, "oci:" + source + ":img:1", bundle2, extra);
  }

  Workspace w;
  std::string source = w.dir / "source";
  std::string dest = w.dir / "dest";
  std::string bundle1 = w.dir / "month1.sluice";
  std::string bundle2 = w.dir / "month2.sluice";
  Month month1, month2;
  nlohmann::json report2;
};

// The month-2 layer went as a delta against month 1's: at most 12 % of the
// layer's bytes travel, the bundle verifies, and the import into the same
// layout rebuilds the exact layer.
void RequireDeltaRoundTrip(const std::string& producer, const std::string& encoding) {
  MonthPair p(producer);
  nlohmann::json d = DeltaEntry(p.report2, p.month2.layer);
  INFO(p.report2.dump(2));
  REQUIRE(d.is_object());
  CHECK(d["delta"] == true);
  CHECK(d["base"] == p.month1.layer);
  CHECK(d["layer_bytes"] == p.month2.layer_size);
  CHECK(d["encoding"].get<std::string>().find(encoding) != std::string::npos);
  const uint64_t bundle_bytes = ReadFile(p.bundle2).size();
  CHECK(p.report2["bundle_bytes"] == bundle_bytes);
  CHECK(d["delta_bytes"].get<uint64_t>() < bundle_bytes);
  CHECK(bundle_bytes * 100 <= p.month2.layer_size * 12);
  WARN(producer << ": layer " << p.month2.layer_size << " bytes, delta " << d["delta_bytes"]
                << " bytes, bundle " << bundle_bytes << " bytes ("
                << (100.0 * static_cast<double>(bundle_bytes) /
                    static_cast<double>(p.month2.layer_size))
                << " %), " << d["encoding"]);

  Require(p.w.Verify(p.bundle2));
  Require(p.w.Import(p.bundle2, p.dest));
  RequireLayoutHolds(p.dest, p.month2);
  Require(Run({"oci-image-tool", "validate", "--type", "image", p.dest}));
}

TEST_CASE("a pigz --best layer of the next month ships as a delta and is rebuilt exactly") {
  RequireDeltaRoundTrip("pigz --best --no-time", "pigz level 9");
}

TEST_CASE("a layer of Python's gzip (zlib) ships as a delta and is rebuilt exactly") {
  RequireDeltaRoundTrip("python", "zlib level 6");
}

TEST_CASE("an uncompressed tar layer ships as a delta and is rebuilt exactly") {
  RequireDeltaRoundTrip("none", "none");
}

// The month-2 layer went whole, the report saying why (`reason`), and the
// round trip is intact.
void RequireWholeWithReason(Workspace& w, const nlohmann::json& report, const Month& month2,
                            const std::string& bundle, const std::string& dest,
                            const std::vector<std::string>& reasons) {
  INFO(report.dump(2));
  nlohmann::json d = DeltaEntry(report, month2.layer);
  REQUIRE(d.is_object());
  CHECK(d["delta"] == false);
  const std::string why = d.value("why_not", "");
  CHECK_FALSE(why.empty());
  for (const std::string& reason : reasons) CHECK(why.find(reason) != std::string::npos);
  // It names the layer, not the export's scratch files (gone by now).
  CHECK(why.find("sluice-delta") == std::string::npos);
  CHECK(why.find(month2.layer) != std::string::npos);
  CHECK(ReadFile(bundle).size() > month2.layer_size);
  WARN("shipped whole: layer " << month2.layer_size << " bytes, bundle " << ReadFile(bundle).size()
                               << " bytes: " << why);
  Require(w.Verify(bundle));
  Require(w.Import(bundle, dest));
  RequireLayoutHolds(dest, month2);
}

TEST_CASE(
    "a GNU gzip layer ships whole, not as a delta, the report saying no zlib or pigz recipe makes "
    "it") {
  MonthPair p("gzip -9 -n");
  RequireWholeWithReason(p.w, p.report2, p.month2, p.bundle2, p.dest,
                         {"not made by zlib or pigz", "GNU gzip"});
}

TEST_CASE("a Go-made (pgzip) layer ships whole, not as a delta, the report naming Go and pgzip") {
  Workspace w;
  std::string dest = w.dir / "dest";
  Month month1 = MakeGoMonth(w.dir.path(), 1);
  Require(w.Export({"oci:" + std::string(w.dir / "go") + ":img:1"}, w.dir / "b1.sluice", {"-q"}));
  Require(w.Import(w.dir / "b1.sluice", dest));
  Month month2 = MakeGoMonth(w.dir.path(), 2);
  REQUIRE(month2.layer != month1.layer);
  nlohmann::json report =
      ExportJson(w, "oci:" + std::string(w.dir / "go") + ":img:1", w.dir / "b2.sluice");
  RequireWholeWithReason(w, report, month2, w.dir / "b2.sluice", dest, {"Go", "pgzip"});
  CHECK(DeltaEntry(report, month2.layer)["base"] == month1.layer);
}

TEST_CASE("a layer whose image's previous manifest is gone from the source ships whole, saying so") {
  Workspace w;
  const std::string source = w.dir / "source";
  const std::string dest = w.dir / "dest";
  Month month1 = MakeMonth(source, "img:1", 1, "pigz --best --no-time");
  Require(w.Export({"oci:" + source + ":img:1"}, w.dir / "m1.sluice", {"-q"}));
  Require(w.Import(w.dir / "m1.sluice", dest));
  Month month2 = MakeMonth(source, "img:1", 2, "pigz --best --no-time");
  REQUIRE(std::filesystem::remove(BlobPath(source, month1.manifest)));
  nlohmann::json report = ExportJson(w, "oci:" + source + ":img:1", w.dir / "m2.sluice");
  INFO(report.dump(2));
  nlohmann::json d = DeltaEntry(report, month2.layer);
  REQUIRE(d.is_object());
  CHECK(d["delta"] == false);
  CHECK(d["layer_bytes"] == month2.layer_size);
  CHECK(d["why_not"].get<std::string>().find("previous version " + month1.manifest) !=
        std::string::npos);
  Require(w.Import(w.dir / "m2.sluice", dest));
  RequireLayoutHolds(dest, month2);
}

TEST_CASE("export --no-delta ships the next month's layer whole") {
  MonthPair p("pigz --best --no-time", {"--no-delta"});
  INFO(p.report2.dump(2));
  nlohmann::json d = DeltaEntry(p.report2, p.month2.layer);
  CHECK((d.is_null() || d["delta"] == false));
  CHECK(ReadFile(p.bundle2).size() > p.month2.layer_size);
  const nlohmann::json inspected = InspectJson(p.bundle2);  // alive while the loop reads it
  for (const auto& b : inspected["blobs"]) {
    if (b["digest"] == p.month2.layer)
      CHECK(b["stored_size"].get<uint64_t>() >= p.month2.layer_size);
  }
  Require(p.w.Verify(p.bundle2));
  Require(p.w.Import(p.bundle2, p.dest));
  RequireLayoutHolds(p.dest, p.month2);
}

TEST_CASE("month 3 ships as a delta against month 2, which came as a delta itself") {
  MonthPair p("pigz --best --no-time");
  REQUIRE(DeltaEntry(p.report2, p.month2.layer)["delta"] == true);
  Require(p.w.Import(p.bundle2, p.dest));
  Month month3 = MakeMonth(p.source, "img:1", 3, "pigz --best --no-time");
  const std::string bundle3 = p.w.dir / "month3.sluice";
  nlohmann::json report3 = ExportJson(p.w, "oci:" + p.source + ":img:1", bundle3);
  INFO(report3.dump(2));
  nlohmann::json d = DeltaEntry(report3, month3.layer);
  REQUIRE(d.is_object());
  CHECK(d["delta"] == true);
  CHECK(d["base"] == p.month2.layer);
  CHECK(ReadFile(bundle3).size() * 100 <= month3.layer_size * 12);
  WARN("month 3: layer " << month3.layer_size << " bytes, delta " << d["delta_bytes"]
                         << " bytes, bundle " << ReadFile(bundle3).size() << " bytes");
  Require(p.w.Verify(bundle3));
  Require(p.w.Import(bundle3, p.dest));
  RequireLayoutHolds(p.dest, month3);
  CHECK(FileDigest(BlobPath(p.dest, p.month2.layer)) == p.month2.layer);
}

// What skopeo reads at docker://HOST/REF: the manifest's digest, and the
// layer's digest once copied back into a layout under `scratch`.
void RequireRegistryHolds(const TestRegistry& registry, const std::string& ref, const Month& m,
                          const std::string& scratch) {
  RunResult raw =
      Run(Concat({"skopeo", "inspect", "--raw"},
                 Concat(registry.Flags(""), {"docker://" + registry.host() + "/" + ref})));
  Require(raw);
  CHECK(Sha256Digest(raw.out) == m.manifest);
  Require(
      Run(Concat(Concat({"skopeo", "--insecure-policy", "copy", "--quiet"}, registry.Flags("src")),
                 {"docker://" + registry.host() + "/" + ref, "oci:" + scratch + ":x"})));
  CHECK(TaggedDigest(scratch, "x") == m.manifest);
  REQUIRE(Exists(BlobPath(scratch, m.layer)));
  CHECK(FileDigest(BlobPath(scratch, m.layer)) == m.layer);
}

// `sluice import BUNDLE --to TO` with `w`'s key.
RunResult ImportTo(Workspace& w, const std::string& bundle, const std::string& to,
                   const std::vector<std::string>& extra = {}) {
  return Sluice(Concat({"import", bundle, "--trust", w.keys.public_key, "--to", to, "--mapping",
                        w.dir / "mapping.txt", "-q"},
                       extra));
}

TEST_CASE("a delta imported into docker-registry is rebuilt from the registry's base") {
  MonthPair p("pigz --best --no-time");
  REQUIRE(DeltaEntry(p.report2, p.month2.layer)["delta"] == true);
  TestRegistry registry;
  const std::string to = "docker://" + registry.host() + "/mirror";
  Require(ImportTo(p.w, p.bundle1, to, registry.Flags("dest")));
  Require(ImportTo(p.w, p.bundle2, to, registry.Flags("dest")));
  RequireRegistryHolds(registry, "mirror/img:1", p.month2, p.w.dir / "back");
}

// The blob file of `digest` in a docker-registry storage root.
std::string StorageBlob(const std::string& storage, const std::string& digest) {
  const std::string hex = digest.substr(7);
  return storage + "/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex + "/data";
}

TEST_CASE("a delta imported into registry-storage: is rebuilt from the stored base") {
  MonthPair p("python");
  REQUIRE(DeltaEntry(p.report2, p.month2.layer)["delta"] == true);
  TestRegistry served;  // serves the storage directory sluice writes
  const std::string to = "registry-storage:" + served.storage() + ":mirror";
  Require(ImportTo(p.w, p.bundle1, to));
  Require(ImportTo(p.w, p.bundle2, to));
  REQUIRE(Exists(StorageBlob(served.storage(), p.month2.layer)));
  CHECK(FileDigest(StorageBlob(served.storage(), p.month2.layer)) == p.month2.layer);
  RequireRegistryHolds(served, "mirror/img:1", p.month2, p.w.dir / "back");
}

// A refused import of month 2 left `dest` as it was: the tag (if any) still
// names month 1, and no file of month 2's layer is there.
void RequireNothingVisible(const std::string& dest, const std::string& tagged,
                           const Month& month2) {
  CHECK(TaggedDigest(dest, "img:1") == tagged);
  CHECK_FALSE(Exists(BlobPath(dest, month2.layer)));
  for (const std::string& path : ListTree(dest)) {
    CHECK(path.find(month2.layer.substr(7)) == std::string::npos);
  }
}

TEST_CASE("a delta whose base the destination never got is refused: import the earlier bundle") {
  MonthPair p("pigz --best --no-time");
  REQUIRE(DeltaEntry(p.report2, p.month2.layer)["delta"] == true);
  const std::string fresh = p.w.dir / "fresh";
  RunResult r = p.w.Import(p.bundle2, fresh);
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  const std::string line = r.ErrorLine();
  CHECK(line.find(p.month1.layer) != std::string::npos);
  CHECK(line.find("the base of delta blob " + p.month2.layer) != std::string::npos);
  CHECK(line.find("import bundle 1") != std::string::npos);
  if (Exists(fresh)) RequireNothingVisible(fresh, "", p.month2);
}

TEST_CASE("a delta whose base is damaged at the destination is refused, naming the base") {
  MonthPair p("pigz --best --no-time");
  REQUIRE(DeltaEntry(p.report2, p.month2.layer)["delta"] == true);
  const std::string base = BlobPath(p.dest, p.month1.layer);
  std::string bytes = ReadFile(base);
  REQUIRE(bytes.size() > 100000);
  std::memcpy(bytes.data() + bytes.size() / 2, "damaged!", 8);  // same size, other bytes
  WriteFile(base, bytes);
  RunResult r = p.w.Import(p.bundle2, p.dest);
  INFO(r.Describe());
  CHECK(r.exit_code == 3);
  const std::string line = r.ErrorLine();
  CHECK(line.find("base " + p.month1.layer) != std::string::npos);
  CHECK(line.find(p.month2.layer) != std::string::npos);
  CHECK(line.find("damaged at the destination") != std::string::npos);
  RequireNothingVisible(p.dest, p.month1.manifest, p.month2);
}

uint32_t U32At(const std::string& b, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[at + i]);
  return v;
}

uint64_t U64At(const std::string& b, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[at + i]);
  return v;
}

// The offset of the first frame (format/SPEC.md section 7) of catalog blob
// `blob_index` in `bundle`, found by its magic and fields.
size_t FirstFrameOf(const std::string& bundle, uint32_t blob_index) {
  for (size_t at = bundle.find("SFRM"); at != std::string::npos; at = bundle.find("SFRM", at + 1)) {
    if (at + 40 > bundle.size()) break;
    if (U32At(bundle, at + 4) == blob_index && U64At(bundle, at + 8) == 0 &&
        U32At(bundle, at + 20) > 16) {
      return at;
    }
  }
  FAIL("no frame of blob " << blob_index);
  return 0;
}

// A copy of `p`'s month-2 bundle with one byte of the delta's frame payload
// flipped; with `fix_checksum` the frame's XXH3 is made to match again, so
// only the delta's own digest can tell.
std::string DamagedDelta(const MonthPair& p, bool fix_checksum) {
  nlohmann::json inspected = InspectJson(p.bundle2);
  uint32_t index = 0;
  bool found = false;
  for (const auto& b : inspected["blobs"]) {
    if (b["digest"] == p.month2.layer) {
      found = true;
      break;
    }
    ++index;  // frames name blobs by catalog index
  }
  REQUIRE(found);
  std::string bytes = ReadFile(p.bundle2);
  const size_t frame = FirstFrameOf(bytes, index);
  const uint32_t stored = U32At(bytes, frame + 20);
  bytes[frame + 40 + stored / 2] ^= 0x20;
  if (fix_checksum) {
    XXH3_state_t* state = XXH3_createState();
    REQUIRE(state != nullptr);
    XXH3_64bits_reset(state);
    XXH3_64bits_update(state, bytes.data() + frame, 32);
    XXH3_64bits_update(state, bytes.data() + frame + 40, stored);
    uint64_t sum = XXH3_64bits_digest(state);
    XXH3_freeState(state);
    for (int i = 0; i < 8; ++i) bytes[frame + 32 + i] = static_cast<char>((sum >> (8 * i)) & 0xff);
  }
  const std::string out = p.w.dir / (fix_checksum ? "resummed.sluice" : "flipped.sluice");
  WriteFile(out, bytes);
  return out;
}

TEST_CASE("a damaged delta in the bundle is refused by verify and import with exit 3") {
  MonthPair p("pigz --best --no-time");
  REQUIRE(DeltaEntry(p.report2, p.month2.layer)["delta"] == true);
  for (bool fix_checksum : {false, true}) {
    INFO("frame checksum made to match: " << fix_checksum);
    Workspace& w = p.w;
    const std::string bad = DamagedDelta(p, fix_checksum);
    RunResult v = w.Verify(bad);
    INFO(v.Describe());
    CHECK(v.exit_code == 3);
    CHECK(v.ErrorLine().find(p.month2.layer) != std::string::npos);
    RunResult r = w.Import(bad, p.dest);
    INFO(r.Describe());
    CHECK(r.exit_code == 3);
    CHECK(r.ErrorLine().find(p.month2.layer) != std::string::npos);
    RequireNothingVisible(p.dest, p.month1.manifest, p.month2);
  }
  // The undamaged bundle still goes in.
  Require(p.w.Import(p.bundle2, p.dest));
  RequireLayoutHolds(p.dest, p.month2);
}

}  // namespace
}  // namespace sluice::e2e
