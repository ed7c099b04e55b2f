// Receipts over a one-way link: `import --receipt` on the far side says what
// the destination holds, `ledger confirm` takes it on the connected side, and
// `export --base delivered` then ships again exactly what no receipt
// confirmed; `export --resend-last K` is the rolling window of sites that
// send nothing back. The receipt is checked here as a verifier written from
// src/receipt.h would check it, with OpenSSL alone.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>

#include "../registry/registry_fixture.h"
#include "e2e_support.h"

namespace sluice::e2e {
namespace {

using registry::testing::TestRegistry;

std::set<std::string> Shipped(const nlohmann::json& info) {
  std::set<std::string> digests;
  for (const auto& blob : info.at("blobs")) {
    if (blob.at("shipped") == true) digests.insert(blob.at("digest").get<std::string>());
  }
  return digests;
}

std::set<std::string> Listed(const nlohmann::json& info) {
  std::set<std::string> digests;
  for (const auto& blob : info.at("blobs")) digests.insert(blob.at("digest").get<std::string>());
  return digests;
}

std::string Unbase64(const std::string& text) {
  std::string out(text.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  REQUIRE(n >= 0);
  size_t padding = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

std::string Sha256Raw(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  REQUIRE(EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) == 1);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string Hex(std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// Checks the receipt file at `path` as src/receipt.h tells a verifier to,
// against the public key PEM at `public_key`, and returns its payload.
nlohmann::json VerifiedPayload(const std::string& path, const std::string& public_key) {
  nlohmann::json envelope = ParseJson(ReadFile(path));
  REQUIRE(envelope.at("format") == "sluice-receipt");
  REQUIRE(envelope.at("version") == 1);
  const std::string payload = Unbase64(envelope.at("payload").get<std::string>());

  std::string pem = ReadFile(public_key);
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  REQUIRE(key != nullptr);
  unsigned char raw[32];
  size_t raw_size = sizeof raw;
  REQUIRE(EVP_PKEY_get_raw_public_key(key, raw, &raw_size) == 1);
  CHECK(envelope.at("signer") ==
        "sha256:" + Hex(Sha256Raw(std::string_view(reinterpret_cast<char*>(raw), raw_size))));

  std::string message("sluice receipt v1", 17);
  message.push_back('\0');
  message += Sha256Raw(payload);
  std::string hex = envelope.at("ed25519");
  REQUIRE(hex.size() == 128);
  unsigned char signature[64];
  for (size_t i = 0; i < 64; ++i) {
    signature[i] = static_cast<unsigned char>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  REQUIRE(EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1);
  int verified = EVP_DigestVerify(ctx, signature, sizeof signature,
                                  reinterpret_cast<const unsigned char*>(message.data()),
                                  message.size());
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  CHECK(verified == 1);

  nlohmann::json doc = ParseJson(payload);
  CHECK(doc.at("format") == "sluice-receipt-payload");
  CHECK(doc.at("version") == 1);
  return doc;
}

// The two sides of a one-way link: the exporter's workspace (signing key,
// ledger) and the far side (a destination layout, a receipt key pair).
struct Link {
  Link() : far(MakeKeys(w.dir, "far")) {}

  RunResult Export(const std::string& tag, const std::string& bundle,
                   const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"-q"};
    args.insert(args.end(), extra.begin(), extra.end());
    return w.Export({"oci:" + SampleLayout() + ":" + tag}, bundle, args);
  }
  RunResult Import(const std::string& bundle, const std::string& receipt) {
    return Sluice({"import", bundle, "--trust", w.keys.public_key, "--to", "oci:" + out,
                   "--mapping", "", "-q", "--receipt", receipt, "--receipt-key",
                   far.private_key});
  }
  RunResult Confirm(const std::string& receipt, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"ledger", "confirm", receipt, "--ledger", w.ledger,
                                     "--trust", far.public_key};
    args.insert(args.end(), extra.begin(), extra.end());
    return Sluice(args);
  }
  nlohmann::json Show() {
    RunResult r = Sluice({"ledger", "show", "--ledger", w.ledger, "--json"});
    Require(r);
    return ParseJson(r.out);
  }

  Workspace w;
  KeyPair far;
  std::string out = w.dir / "far-side";
};

TEST_CASE("an import with --receipt writes a receipt a verifier built from its documented "
          "format accepts, naming every blob of the catalog and every ref imported",
          "[e2e][receipt]") {
  Link link;
  const std::string b1 = link.w.dir / "b1", b2 = link.w.dir / "b2";
  Require(link.Export("base:1", b1));
  Require(link.Export("app:1.0", b2));
  Require(link.Import(b1, link.w.dir / "r1.json"));
  RunResult imported = link.Import(b2, link.w.dir / "r2.json");
  Require(imported);

  nlohmann::json info = InspectJson(b2);
  nlohmann::json payload = VerifiedPayload(link.w.dir / "r2.json", link.far.public_key);
  INFO(payload.dump(2));
  CHECK(payload.at("bundle_id") == info.at("bundle_id"));
  CHECK(payload.at("ledger_id") == info.at("ledger_id"));
  CHECK(payload.at("sequence") == 2);
  CHECK(payload.at("destination") == "oci:" + link.out);
  // Shipped ones and those the bundle assumed present alike, sorted.
  std::vector<std::string> blobs = payload.at("blobs");
  CHECK(std::is_sorted(blobs.begin(), blobs.end()));
  CHECK(std::set<std::string>(blobs.begin(), blobs.end()) == Listed(info));
  REQUIRE(Shipped(info).size() < Listed(info).size());  // the test has both kinds
  REQUIRE(payload.at("refs").size() == 1);
  CHECK(payload["refs"][0] == nlohmann::json{{"repository", "app"},
                                             {"tag", "1.0"},
                                             {"digest", TaggedDigest(SampleLayout(), "app:1.0")}});
  const uint64_t created = payload.at("created_unix");
  CHECK(created > 1700000000);
  CHECK(std::regex_match(payload.at("created").get<std::string>(),
                         std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  // The report says where the receipt went.
  CHECK(imported.out.find("receipt " + link.w.dir / "r2.json") != std::string::npos);
}

TEST_CASE("a confirmed receipt lets export --base delivered ship no blob again",
          "[e2e][receipt]") {
  Link link;
  const std::string b1 = link.w.dir / "b1", receipt = link.w.dir / "r1.json";
  Require(link.Export("app:1.0", b1));
  Require(link.Import(b1, receipt));
  RunResult confirmed = link.Confirm(receipt);
  Require(confirmed);
  CHECK(confirmed.out.find("confirmed bundle 1") != std::string::npos);
  CHECK(confirmed.out.find("4 blobs now delivered") != std::string::npos);

  nlohmann::json shown = link.Show();
  CHECK(shown.at("delivered_blobs") == 4);
  CHECK(shown.at("unconfirmed_blobs") == 0);
  CHECK(shown.at("bundles")[0].at("confirmed") == true);

  const std::string b2 = link.w.dir / "b2";
  Require(link.Export("app:1.0", b2, {"--base", "delivered"}));
  nlohmann::json info = InspectJson(b2);
  CHECK(Shipped(info).empty());
  CHECK(Listed(info) == ImageBlobs(SampleLayout(), TaggedDigest(SampleLayout(), "app:1.0")));
  // And the far side takes it.
  Require(link.Import(b2, link.w.dir / "r2.json"));
}

TEST_CASE("without a confirmed receipt, export --base delivered ships every blob again and "
          "--base sent none",
          "[e2e][receipt]") {
  Link link;
  const std::string b1 = link.w.dir / "b1";
  Require(link.Export("app:1.0", b1));
  Require(link.Import(b1, link.w.dir / "r1.json"));  // the receipt never comes back

  const std::string sent = link.w.dir / "sent", delivered = link.w.dir / "delivered";
  Require(link.Export("app:1.0", sent, {"--base", "sent"}));
  CHECK(Shipped(InspectJson(sent)).empty());
  RunResult again = link.w.Export({"oci:" + SampleLayout() + ":app:1.0"}, delivered,
                                  {"-q", "--base", "delivered", "--json"});
  Require(again);
  const std::set<std::string> image = ImageBlobs(SampleLayout(), TaggedDigest(SampleLayout(), "app:1.0"));
  CHECK(Shipped(InspectJson(delivered)) == image);
  nlohmann::json report = ParseJson(again.out);
  CHECK(report.at("resent_blobs") == image.size());
  CHECK(report.at("shipped_blobs") == image.size());
  // Re-shipped blobs keep the bundle that first sent them.
  nlohmann::json shown = link.Show();
  CHECK(shown.at("blobs") == image.size());
  CHECK(shown.at("delivered_blobs") == 0);
}

TEST_CASE("confirming the same receipt twice changes nothing the second time and says so",
          "[e2e][receipt]") {
  Link link;
  const std::string b1 = link.w.dir / "b1", receipt = link.w.dir / "r1.json";
  Require(link.Export("app:1.0", b1));
  Require(link.Import(b1, receipt));
  Require(link.Confirm(receipt));
  const std::string once = ReadFile(link.w.ledger);

  RunResult twice = link.Confirm(receipt);
  Require(twice);
  CHECK(twice.out.find("was confirmed before") != std::string::npos);
  CHECK(twice.out.find("nothing changed") != std::string::npos);
  CHECK(ReadFile(link.w.ledger) == once);

  // A second receipt of the same bundle (imported again) changes nothing either.
  Require(link.Import(b1, link.w.dir / "r1-again.json"));
  RunResult json = link.Confirm(link.w.dir / "r1-again.json", {"--json"});
  Require(json);
  CHECK(ParseJson(json.out).at("changed") == false);
  CHECK(ReadFile(link.w.ledger) == once);
}

TEST_CASE("a forged, untrusted, damaged or cut receipt is refused in one line with exit 3 and "
          "the ledger is left byte for byte",
          "[e2e][receipt]") {
  Link link;
  const std::string b1 = link.w.dir / "b1", receipt = link.w.dir / "r1.json";
  Require(link.Export("app:1.0", b1));
  Require(link.Import(b1, receipt));
  const std::string ledger = ReadFile(link.w.ledger);
  const std::string text = ReadFile(receipt);
  const std::string bad = link.w.dir / "bad.json";
  std::string mention;

  SECTION("signed by a key the connected side does not trust") {
    KeyPair stranger = MakeKeys(link.w.dir, "stranger");
    Require(Sluice({"import", b1, "--trust", link.w.keys.public_key, "--to",
                    "oci:" + link.out, "--mapping", "", "-q", "--receipt", bad, "--receipt-key",
                    stranger.private_key}));
    mention = "which is not a trusted key";
  }
  SECTION("a byte of its payload changed") {
    nlohmann::json envelope = ParseJson(text);
    std::string payload = envelope.at("payload");
    payload[40] = payload[40] == 'A' ? 'B' : 'A';
    envelope["payload"] = payload;
    WriteFile(bad, envelope.dump());
    mention = "changed after it was signed";
  }
  SECTION("cut short") {
    WriteFile(bad, text.substr(0, text.size() / 2));
    mention = "receipt " + bad;
  }
  SECTION("its signer swapped for the trusted key's, the signature not") {
    KeyPair stranger = MakeKeys(link.w.dir, "stranger");
    Require(Sluice({"import", b1, "--trust", link.w.keys.public_key, "--to",
                    "oci:" + link.out, "--mapping", "", "-q", "--receipt", bad, "--receipt-key",
                    stranger.private_key}));
    nlohmann::json forged = ParseJson(ReadFile(bad));
    forged["signer"] = ParseJson(text).at("signer");
    WriteFile(bad, forged.dump());
    mention = "does not match its payload";
  }
  RunResult r = link.Confirm(bad);
  INFO(r.Describe());
  CHECK(r.exit_code == 3);
  CHECK(r.ErrorLine().find(mention) != std::string::npos);
  CHECK(r.out.empty());
  CHECK(ReadFile(link.w.ledger) == ledger);
}

TEST_CASE("a receipt of another ledger is refused naming both ledger ids", "[e2e][receipt]") {
  Link link;
  const std::string b1 = link.w.dir / "b1", receipt = link.w.dir / "r1.json";
  Require(link.Export("app:1.0", b1));
  Require(link.Import(b1, receipt));
  Workspace other;
  Require(other.Export({"oci:" + SampleLayout() + ":app:1.0"}, other.dir / "b1", {"-q"}));
  const std::string before = ReadFile(other.ledger);

  RunResult r = Sluice({"ledger", "confirm", receipt, "--ledger", other.ledger, "--trust",
                        link.far.public_key});
  INFO(r.Describe());
  CHECK(r.exit_code == 3);
  const std::string ours = InspectJson(b1).at("ledger_id");
  const std::string theirs = InspectJson(other.dir / "b1").at("ledger_id");
  CHECK(r.ErrorLine().find(ours) != std::string::npos);
  CHECK(r.ErrorLine().find(theirs) != std::string::npos);
  CHECK(ReadFile(other.ledger) == before);
}

TEST_CASE("a receipt of a bundle the ledger has not recorded is refused, naming the ledger's "
          "sequence",
          "[e2e][receipt]") {
  Link link;
  const std::string b1 = link.w.dir / "b1", b2 = link.w.dir / "b2";
  Require(link.Export("base:1", b1));
  const std::string old_copy = ReadFile(link.w.ledger);
  Require(link.Export("app:1.0", b2));
  Require(link.Import(b1, link.w.dir / "r1.json"));
  Require(link.Import(b2, link.w.dir / "r2.json"));
  WriteFile(link.w.ledger, old_copy);  // the ledger restored from a copy of before bundle 2

  RunResult r = link.Confirm(link.w.dir / "r2.json");
  INFO(r.Describe());
  CHECK(r.exit_code == 3);
  CHECK(r.ErrorLine().find("confirms bundle 2") != std::string::npos);
  CHECK(r.ErrorLine().find("up to 1 only") != std::string::npos);
  CHECK(ReadFile(link.w.ledger) == old_copy);
  Require(link.Confirm(link.w.dir / "r1.json"));
}

TEST_CASE("export --resend-last 1 ships again the blobs the last bundle shipped, and no older "
          "ones",
          "[e2e][receipt]") {
  Link link;
  const std::string b1 = link.w.dir / "b1", b2 = link.w.dir / "b2", b3 = link.w.dir / "b3",
                    b4 = link.w.dir / "b4";
  Require(link.Export("app:1.0", b1));
  Require(link.Export("app:1.1", b2));
  const std::set<std::string> second = Shipped(InspectJson(b2));
  REQUIRE(second.size() == 2);  // app:1.1's new config and layer

  Require(link.Export("app:1.1", b3, {"--resend-last", "1"}));
  CHECK(Shipped(InspectJson(b3)) == second);
  // Bundle 3 shipped nothing first, so a window of one bundle holds nothing now.
  Require(link.Export("app:1.1", b4, {"--resend-last", "1"}));
  CHECK(Shipped(InspectJson(b4)).empty());
  // Two bundles back reach bundle 2 again; three, bundle 1 too.
  const std::string b5 = link.w.dir / "b5", b6 = link.w.dir / "b6";
  Require(link.Export("app:1.1", b5, {"--resend-last", "3"}));
  CHECK(Shipped(InspectJson(b5)) == second);
  Require(link.Export("app:1.1", b6, {"--resend-last", "9"}));
  CHECK(Shipped(InspectJson(b6)) ==
        ImageBlobs(SampleLayout(), TaggedDigest(SampleLayout(), "app:1.1")));
  // Each one is imported on top of what came before.
  for (const std::string& b : {b1, b2, b3, b4, b5, b6}) {
    Require(link.Import(b, b + ".receipt"));
  }
}

TEST_CASE("an import that fails writes no receipt", "[e2e][receipt]") {
  Link link;
  const std::string b1 = link.w.dir / "b1", b2 = link.w.dir / "b2";
  Require(link.Export("app:1.0", b1));
  Require(link.Export("app:1.1", b2));
  // A receipt that could not be written is refused before anything is imported.
  RunResult early = link.Import(b1, link.w.dir / "receipts/r1.json");
  INFO(early.Describe());
  CHECK(early.exit_code == 1);
  CHECK(early.ErrorLine().find("directory " + link.w.dir / "receipts" + " does not exist") !=
        std::string::npos);
  CHECK_FALSE(Exists(link.out));
  // b2 assumes app:1.0's layers, which the empty destination lacks.
  REQUIRE(Run({"mkdir", link.w.dir / "receipts"}).exit_code == 0);
  RunResult r = link.Import(b2, link.w.dir / "receipts/r2.json");
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  CHECK(r.ErrorLine().find("lacks 3 blob(s)") != std::string::npos);
  CHECK(ListTree(link.w.dir / "receipts").empty());
}

TEST_CASE("import takes --receipt and --receipt-key together or not at all, checked before "
          "anything is imported",
          "[e2e][receipt][usage]") {
  Link link;
  const std::string b1 = link.w.dir / "b1";
  Require(link.Export("app:1.0", b1));
  auto import = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"import", b1,        "--trust",   link.w.keys.public_key,
                                     "--to",   "oci:" + link.out, "--mapping", ""};
    args.insert(args.end(), extra.begin(), extra.end());
    return Sluice(args);
  };
  RunResult no_key = import({"--receipt", link.w.dir / "r.json"});
  INFO(no_key.Describe());
  CHECK(no_key.exit_code == 2);
  CHECK(no_key.err.find("--receipt and --receipt-key go together") != std::string::npos);
  RunResult no_file = import({"--receipt-key", link.far.private_key});
  CHECK(no_file.exit_code == 2);
  RunResult missing_key =
      import({"--receipt", link.w.dir / "r.json", "--receipt-key", link.w.dir / "none.key"});
  INFO(missing_key.Describe());
  CHECK(missing_key.exit_code == 1);
  CHECK(missing_key.ErrorLine().find("none.key") != std::string::npos);
  RunResult into_dir = import({"--receipt", link.w.dir.path(), "--receipt-key", link.far.private_key});
  INFO(into_dir.Describe());
  CHECK(into_dir.exit_code == 2);
  CHECK(into_dir.ErrorLine().find("is a directory") != std::string::npos);
  CHECK_FALSE(Exists(link.out));
  CHECK_FALSE(Exists(link.w.dir / "r.json"));
}

TEST_CASE("export refuses a --base other than sent or delivered and a negative --resend-last",
          "[e2e][receipt][usage]") {
  Link link;
  RunResult base = link.Export("app:1.0", link.w.dir / "b", {"--base", "received"});
  INFO(base.Describe());
  CHECK(base.exit_code == 2);
  CHECK(base.err.find("--base takes 'sent' or 'delivered', not 'received'") != std::string::npos);
  RunResult negative = link.Export("app:1.0", link.w.dir / "b", {"--resend-last", "-1"});
  INFO(negative.Describe());
  CHECK(negative.exit_code == 2);
  CHECK_FALSE(Exists(link.w.dir / "b"));
  CHECK_FALSE(Exists(link.w.ledger));
}

TEST_CASE("ledger show tells confirmed bundles and delivered blobs from the rest, in text and "
          "JSON",
          "[e2e][receipt][ledger]") {
  Link link;
  const std::string b1 = link.w.dir / "b1", b2 = link.w.dir / "b2";
  Require(link.Export("app:1.0", b1));
  Require(link.Export("app:1.1", b2));
  Require(link.Import(b1, link.w.dir / "r1.json"));
  Require(link.Confirm(link.w.dir / "r1.json"));

  nlohmann::json shown = link.Show();
  INFO(shown.dump(2));
  CHECK(shown.at("blobs") == 6);
  CHECK(shown.at("delivered_blobs") == 4);
  CHECK(shown.at("unconfirmed_blobs") == 2);
  CHECK(shown.at("confirmed_bundles") == 1);
  REQUIRE(shown.at("bundles").size() == 2);
  const auto& first = shown["bundles"][0];
  const auto& second = shown["bundles"][1];
  CHECK(first.at("confirmed") == true);
  CHECK(first.at("confirmed_unix").get<uint64_t>() >= first.at("created_unix").get<uint64_t>());
  CHECK(first.at("receipt_unix").get<uint64_t>() >= first.at("created_unix").get<uint64_t>());
  CHECK(second.at("confirmed") == false);
  CHECK_FALSE(second.contains("confirmed_unix"));
  const std::regex iso(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
  CHECK(std::regex_match(second.at("created").get<std::string>(), iso));

  RunResult text = Sluice({"ledger", "show", "--ledger", link.w.ledger});
  Require(text);
  INFO(text.out);
  CHECK(text.out.find("6 sent: 4 delivered (confirmed by a receipt), 2 not confirmed") !=
        std::string::npos);
  CHECK(text.out.find("2, 1 confirmed") != std::string::npos);
  const std::string id1 = InspectJson(b1).at("bundle_id"), id2 = InspectJson(b2).at("bundle_id");
  std::smatch line1, line2;
  CHECK(std::regex_search(text.out, line1,
                          std::regex("1  " + id1 + "  created " + R"(\S+Z  4 blobs shipped  )" +
                                     "confirmed " + R"(\S+Z \(receipt of \S+Z\))")));
  CHECK(std::regex_search(text.out, line2,
                          std::regex("2  " + id2 + "  created " +
                                     R"(\S+Z  2 blobs shipped  not confirmed)")));
}

TEST_CASE("an import into a registry with --receipt lists what the registry now holds, and "
          "confirming it lets --base delivered ship nothing again",
          "[e2e][receipt][registry]") {
  TestRegistry registry;
  Link link;
  const std::string b1 = link.w.dir / "b1", receipt = link.w.dir / "r1.json";
  const std::string to = "docker://" + registry.host() + "/mirror";
  Require(link.w.Export({"oci:" + SampleLayout() + ":app:1.0", "oci:" + SampleLayout() + ":multi:1"},
                        b1, {"-q"}));
  std::vector<std::string> args = {"import",       b1,         "--trust", link.w.keys.public_key,
                                   "--to",         to,         "--mapping", "",
                                   "--state-file", link.w.dir / "state.json", "--receipt",
                                   receipt,        "--receipt-key", link.far.private_key, "--json"};
  for (const std::string& flag : registry.Flags("dest")) args.push_back(flag);
  RunResult imported = Sluice(args);
  Require(imported);
  CHECK(ParseJson(imported.out).at("receipt") == receipt);

  nlohmann::json info = InspectJson(b1);
  nlohmann::json payload = VerifiedPayload(receipt, link.far.public_key);
  INFO(payload.dump(2));
  CHECK(payload.at("destination") == to);
  std::vector<std::string> blobs = payload.at("blobs");
  CHECK(std::set<std::string>(blobs.begin(), blobs.end()) == Listed(info));
  std::set<std::pair<std::string, std::string>> refs;
  for (const auto& ref : payload.at("refs")) {
    refs.insert({ref.at("repository").get<std::string>() + ":" + ref.at("tag").get<std::string>(),
                 ref.at("digest").get<std::string>()});
  }
  CHECK(refs == std::set<std::pair<std::string, std::string>>{
                    {"app:1.0", TaggedDigest(SampleLayout(), "app:1.0")},
                    {"multi:1", TaggedDigest(SampleLayout(), "multi:1")}});
  // What the receipt names is there: the registry serves each manifest.
  for (const auto& ref : payload.at("refs")) {
    std::string raw = registry::testing::InspectRaw(
        registry, "mirror/" + ref.at("repository").get<std::string>() + ":" +
                      ref.at("tag").get<std::string>());
    CHECK(Sha256Digest(raw) == ref.at("digest"));
  }

  Require(link.Confirm(receipt));
  const std::string b2 = link.w.dir / "b2";
  Require(link.w.Export({"oci:" + SampleLayout() + ":app:1.0", "oci:" + SampleLayout() + ":multi:1"},
                        b2, {"-q", "--base", "delivered"}));
  CHECK(Shipped(InspectJson(b2)).empty());
}

}  // namespace
}  // namespace sluice::e2e
