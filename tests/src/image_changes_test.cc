#include "image_changes.h"

#include <catch2/catch.hpp>

using namespace sluice;
using Kind = ImageChange::Kind;

namespace {

Ledger::BundleImage Image(const std::string& repository, const std::string& tag,
                          const std::string& content) {
  return {"registry.example/" + repository + (tag.empty() ? "" : ":" + tag), repository, tag,
          format::Sha256::Of(content)};
}

format::BundleHeader Bundle(uint64_t sequence) {
  format::BundleHeader header;
  header.sequence = sequence;
  header.created_unix = 1700000000 + sequence;
  return header;
}

}  // namespace

TEST_CASE("with no bundle recorded every image is added") {
  Ledger ledger = Ledger::Create();
  ImageChanges c = CompareWithLastBundle({Image("app", "1", "a"), Image("db", "2", "b")}, ledger);
  CHECK(c.since_sequence == 0);
  CHECK(c.comparable);
  REQUIRE(c.changes.size() == 2);
  CHECK(c.Count(Kind::kAdded) == 2);
  CHECK(c.changes[1].image == Image("db", "2", "b"));
}

TEST_CASE("images are compared with the last bundle by the name they are imported as") {
  Ledger ledger = Ledger::Create();
  // An older bundle carried db:2; only the last one counts.
  ledger.RecordBundle(Bundle(1), {}, std::vector<Ledger::BundleImage>{Image("db", "2", "b")});
  ledger.RecordBundle(
      Bundle(2), {},
      std::vector<Ledger::BundleImage>{Image("app", "1", "a"), Image("app", "2", "old"),
                                       Image("web", "1", "w")});
  Ledger::BundleImage moved = Image("app", "2", "new");
  // The same name from another source is the same image on the far side.
  moved.ref = "oci:/srv/images:app:2";
  ImageChanges c =
      CompareWithLastBundle({Image("app", "1", "a"), moved, Image("db", "2", "b")}, ledger);
  CHECK(c.since_sequence == 2);
  CHECK(c.since_created_unix == 1700000002);
  REQUIRE(c.changes.size() == 4);
  CHECK(c.changes[0].kind == Kind::kUnchanged);
  CHECK(c.changes[1].kind == Kind::kRepointed);
  CHECK(c.changes[1].image == moved);
  CHECK(c.changes[1].previous == format::Sha256::Of("old"));
  CHECK(c.changes[2].kind == Kind::kAdded);
  CHECK(c.changes[3].kind == Kind::kRemoved);
  CHECK(c.changes[3].image == Image("web", "1", "w"));
  CHECK(c.Count(Kind::kAdded) == 1);
  CHECK(c.Count(Kind::kRepointed) == 1);
  CHECK(c.Count(Kind::kUnchanged) == 1);
  CHECK(c.Count(Kind::kRemoved) == 1);
}

TEST_CASE("an image pinned by digest is added or removed, never re-pointed") {
  Ledger ledger = Ledger::Create();
  ledger.RecordBundle(
      Bundle(1), {},
      std::vector<Ledger::BundleImage>{Image("app", "", "a"), Image("app", "1", "a")});
  ImageChanges c = CompareWithLastBundle({Image("app", "", "b"), Image("app", "1", "a")}, ledger);
  REQUIRE(c.changes.size() == 3);
  CHECK(c.changes[0].kind == Kind::kAdded);
  CHECK(c.changes[1].kind == Kind::kUnchanged);
  CHECK(c.changes[2].kind == Kind::kRemoved);
  CHECK(c.changes[2].image.digest == format::Sha256::Of("a"));
  // The same repository in another registry path is another name.
  ImageChanges other = CompareWithLastBundle({Image("team/app", "1", "a")}, ledger);
  CHECK(other.Count(Kind::kAdded) == 1);
  CHECK(other.Count(Kind::kRemoved) == 2);
}

TEST_CASE("a last bundle whose images were not recorded cannot be compared, and says so") {
  Ledger ledger = Ledger::Create();
  ledger.RecordBundle(Bundle(1), {}, std::vector<Ledger::BundleImage>{Image("app", "1", "a")});
  ledger.RecordBundle(Bundle(2), {});
  ImageChanges c = CompareWithLastBundle({Image("app", "1", "a")}, ledger);
  CHECK(c.since_sequence == 2);
  CHECK_FALSE(c.comparable);
  CHECK(c.changes.empty());
}

TEST_CASE("the names of the changes are the words the plan prints") {
  CHECK(std::string(ImageChangeName(Kind::kAdded)) == "added");
  CHECK(std::string(ImageChangeName(Kind::kRepointed)) == "re-pointed");
  CHECK(std::string(ImageChangeName(Kind::kUnchanged)) == "unchanged");
  CHECK(std::string(ImageChangeName(Kind::kRemoved)) == "removed");
}
