#include "registry/certs_dir.h"

#include <catch2/catch.hpp>

#include "io/atomic_file.h"
#include "io/memory_file_system.h"

namespace sluice::registry {
namespace {

void Touch(io::FileSystem* fs, const std::string& path) {
  REQUIRE(fs->CreateDirs(io::Dirname(path)).ok());
  REQUIRE(io::WriteFileAtomically(fs, path, io::AsBytes(std::string("pem"))).ok());
}

const std::vector<std::string> kRoots = {"/etc/containers/certs.d", "/etc/docker/certs.d"};

TEST_CASE("certs.d gives the CAs and client pair of the host:port directory") {
  io::MemoryFileSystem fs;
  Touch(&fs, "/etc/containers/certs.d/127.0.0.1:5443/ca.crt");
  Touch(&fs, "/etc/containers/certs.d/127.0.0.1:5443/extra.crt");
  Touch(&fs, "/etc/containers/certs.d/127.0.0.1:5443/client.cert");
  Touch(&fs, "/etc/containers/certs.d/127.0.0.1:5443/client.key");
  Touch(&fs, "/etc/containers/certs.d/127.0.0.1:5443/README");
  Touch(&fs, "/etc/containers/certs.d/127.0.0.1:6000/other.crt");
  auto dir = FindCertsDir(&fs, "127.0.0.1:5443", "", kRoots);
  REQUIRE(dir.ok());
  CHECK(dir->dir == "/etc/containers/certs.d/127.0.0.1:5443");
  CHECK(dir->ca_files ==
        std::vector<std::string>{"/etc/containers/certs.d/127.0.0.1:5443/ca.crt",
                                 "/etc/containers/certs.d/127.0.0.1:5443/extra.crt"});
  CHECK(dir->client_cert == "/etc/containers/certs.d/127.0.0.1:5443/client.cert");
  CHECK(dir->client_key == "/etc/containers/certs.d/127.0.0.1:5443/client.key");
}

TEST_CASE("the first certs.d root holding the host wins") {
  io::MemoryFileSystem fs;
  Touch(&fs, "/etc/docker/certs.d/reg.example/docker.crt");
  auto dir = FindCertsDir(&fs, "reg.example", "", kRoots);
  REQUIRE(dir.ok());
  CHECK(dir->dir == "/etc/docker/certs.d/reg.example");
  CHECK(dir->ca_files.size() == 1);

  Touch(&fs, "/etc/containers/certs.d/reg.example/containers.crt");
  dir = FindCertsDir(&fs, "reg.example", "", kRoots);
  REQUIRE(dir.ok());
  CHECK(dir->dir == "/etc/containers/certs.d/reg.example");
}

TEST_CASE("no certs.d directory means no extra TLS files") {
  io::MemoryFileSystem fs;
  auto dir = FindCertsDir(&fs, "quay.io", "", kRoots);
  REQUIRE(dir.ok());
  CHECK(dir->dir.empty());
  CHECK(dir->ca_files.empty());
  CHECK(dir->client_cert.empty());
}

TEST_CASE("an explicit cert dir replaces the roots and must exist") {
  io::MemoryFileSystem fs;
  Touch(&fs, "/etc/containers/certs.d/h:1/ignored.crt");
  Touch(&fs, "/tmp/certs/mine.crt");
  auto dir = FindCertsDir(&fs, "h:1", "/tmp/certs", kRoots);
  REQUIRE(dir.ok());
  CHECK(dir->ca_files == std::vector<std::string>{"/tmp/certs/mine.crt"});

  auto missing = FindCertsDir(&fs, "h:1", "/nope", kRoots);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().IsNotFound());
  CHECK(missing.status().message().find("/nope") != std::string::npos);
}

TEST_CASE("a client certificate without its key, or a key alone, is refused") {
  io::MemoryFileSystem fs;
  Touch(&fs, "/d1/client.cert");
  auto a = FindCertsDir(&fs, "h", "/d1", kRoots);
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().message().find("/d1/client.key") != std::string::npos);
  CHECK(a.status().message().find("*.crt") != std::string::npos);

  Touch(&fs, "/d2/lonely.key");
  auto b = FindCertsDir(&fs, "h", "/d2", kRoots);
  REQUIRE_FALSE(b.ok());
  CHECK(b.status().message().find("/d2/lonely.cert") != std::string::npos);
}

TEST_CASE("a client pair is NAME.cert with NAME.key, and only one pair can be presented") {
  io::MemoryFileSystem fs;
  Touch(&fs, "/d/ca.crt");
  Touch(&fs, "/d/me.cert");
  Touch(&fs, "/d/me.key");
  auto one = FindCertsDir(&fs, "h", "/d", kRoots);
  REQUIRE(one.ok());
  CHECK(one->client_cert == "/d/me.cert");
  CHECK(one->client_key == "/d/me.key");
  CHECK(one->ca_files == std::vector<std::string>{"/d/ca.crt"});

  // A key of another name does not pair with it.
  Touch(&fs, "/e/me.cert");
  Touch(&fs, "/e/you.key");
  auto crossed = FindCertsDir(&fs, "h", "/e", kRoots);
  REQUIRE_FALSE(crossed.ok());
  CHECK(crossed.status().message().find("/e/me.key") != std::string::npos);

  Touch(&fs, "/d/second.cert");
  Touch(&fs, "/d/second.key");
  auto two = FindCertsDir(&fs, "h", "/d", kRoots);
  REQUIRE_FALSE(two.ok());
  CHECK(two.status().kind() == ErrorKind::kInvalidArgument);
  CHECK(two.status().message().find("me.cert") != std::string::npos);
  CHECK(two.status().message().find("second.cert") != std::string::npos);
}

}  // namespace
}  // namespace sluice::registry
