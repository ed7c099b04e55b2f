// What an export refuses, and when: a ledger another run holds, an output it
// cannot write, a ref no import would take; and where it writes: through a
// symlinked ledger, into a FIFO, and a pending record any later run can
// settle. Through the library, on the real file system.
#include "exporter.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <future>
#include <thread>

#include "io/fault_injection_file_system.h"
#include "ledger.h"
#include "source/oci_layout_source.h"
#include "test_support.h"
#include "tests/support/process.h"
#include "tests/support/transfer_fixture.h"

using namespace sluice;
using namespace sluice::testing;

namespace {

struct Fixture : LibraryTransfer {
  std::string layout = tmp / "src";
  std::string ledger = tmp / "ledger.json";
  LayoutBuilder builder{layout};
  BuiltImage app1, app2;

  Fixture() {
    BuiltBlob base = builder.AddBlob(RandomBytes(100000, 1), kTarGzip);
    BuiltBlob top = builder.AddBlob(RandomBytes(1000, 2), kTarGzip);
    app1 = builder.AddImage({base});
    app2 = builder.AddImage({base, top});
    builder.Tag("app:1.0", app1.manifest, app1.manifest_size, kManifestType);
    builder.Tag("app:1.1", app2.manifest, app2.manifest_size, kManifestType);
  }

  Result<ExportReport> ExportWith(ImageSource* source, const std::string& out,
                                  io::FileSystem* through = nullptr) {
    ExportOptions options;
    options.ledger_path = ledger;
    options.sign_key_path = key;
    options.output_path = out;
    return Export(through != nullptr ? through : fs, {source}, options);
  }
};

// A source that counts what is asked of it and, when told to, stops in
// ListImages until released: an export caught in the middle of its run.
class WatchedSource final : public ImageSource {
 public:
  explicit WatchedSource(std::unique_ptr<ImageSource> base) : base_(std::move(base)) {}

  // ListImages signals `entered` and waits for Release().
  void HoldInListImages() { hold_ = true; }
  std::future<void> Entered() { return entered_.get_future(); }
  void Release() { released_.set_value(); }
  int calls() const { return calls_; }

  Result<std::vector<SourceImage>> ListImages() override {
    ++calls_;
    if (hold_) {
      entered_.set_value();
      released_.get_future().wait();
    }
    return base_->ListImages();
  }
  Result<ManifestBytes> FetchManifest(const std::string& repository,
                                      const format::Digest& digest) override {
    ++calls_;
    return base_->FetchManifest(repository, digest);
  }
  Result<std::unique_ptr<io::SequentialReader>> OpenBlob(const std::string& repository,
                                                         const format::Digest& digest,
                                                         uint64_t size) override {
    ++calls_;
    return base_->OpenBlob(repository, digest, size);
  }

 private:
  std::unique_ptr<ImageSource> base_;
  bool hold_ = false;
  std::promise<void> entered_;
  std::promise<void> released_;
  std::atomic<int> calls_{0};
};

bool IsSymlink(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

bool IsFifo(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
}

// Changes the working directory for the life of this object.
class WorkingDirectory {
 public:
  explicit WorkingDirectory(const std::string& dir) {
    char buf[4096];
    REQUIRE(::getcwd(buf, sizeof buf) != nullptr);
    saved_ = buf;
    REQUIRE(::chdir(dir.c_str()) == 0);
  }
  ~WorkingDirectory() { (void)::chdir(saved_.c_str()); }
  void Change(const std::string& dir) { REQUIRE(::chdir(dir.c_str()) == 0); }

 private:
  std::string saved_;
};

}  // namespace

TEST_CASE("a second export on a ledger in use fails at once naming the holder, losing nothing") {
  Fixture f;
  WatchedSource first(NewOciLayoutSource(f.fs, f.layout, "app:1.0"));
  first.HoldInListImages();
  std::future<void> entered = first.Entered();
  std::future<Result<ExportReport>> first_export =
      std::async(std::launch::async, [&] { return f.ExportWith(&first, f.tmp / "1.sluice"); });
  entered.wait();

  // The first export is past loading the ledger and still running.
  auto second_source = NewOciLayoutSource(f.fs, f.layout, "app:1.1");
  auto started = std::chrono::steady_clock::now();
  auto second = f.ExportWith(second_source.get(), f.tmp / "2.sluice");
  auto took = std::chrono::steady_clock::now() - started;
  // And what `ledger rebuild` and `ledger show` load the ledger with.
  auto rebuild = LoadLedger(f.fs, f.ledger);
  first.Release();
  auto first_report = first_export.get();

  INFO(second.status().ToString());
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().kind() == ErrorKind::kBusy);
  CHECK(took < std::chrono::seconds(5));  // at once, not after a wait
  const std::string message = second.status().message();
  CHECK_THAT(message, Catch::Contains("ledger " + f.ledger + " is in use: " + f.ledger +
                                      ".lock is locked by sluice export (pid " +
                                      std::to_string(::getpid())));
  CHECK_THAT(message, Catch::Contains(" since ") && Catch::Contains("run this again"));
  CHECK(message.find('\n') == std::string::npos);
  CHECK_FALSE(Exists(f.tmp / "2.sluice"));
  REQUIRE_FALSE(rebuild.ok());
  CHECK(rebuild.status().kind() == ErrorKind::kBusy);

  INFO(first_report.status().ToString());
  REQUIRE(first_report.ok());
  CHECK(first_report->sequence == 1);
  // Once the first has finished, the second builds on it.
  auto again = f.ExportWith(second_source.get(), f.tmp / "2.sluice");
  INFO(again.status().ToString());
  REQUIRE(again.ok());
  CHECK(again->base_sequence == 1);
  CHECK(again->sequence == 2);
  auto ledger = Ledger::Load(f.fs, f.ledger);
  REQUIRE(ledger.ok());
  CHECK(ledger->sequence() == 2);
  CHECK(ledger->bundles().size() == 2);
}

TEST_CASE("a ledger saved while another run holds it is refused, not overwritten") {
  Fixture f;
  auto source = NewOciLayoutSource(f.fs, f.layout, "app:1.0");
  REQUIRE(f.ExportWith(source.get(), f.tmp / "1.sluice").ok());
  const std::string before = ReadFile(f.ledger);
  auto held = LoadLedger(f.fs, f.ledger, "sluice ledger rebuild");
  REQUIRE(held.ok());
  Status saved = Ledger::Create().Save(f.fs, f.ledger);
  CHECK(saved.kind() == ErrorKind::kBusy);
  CHECK_THAT(saved.message(), Catch::Contains("locked by sluice ledger rebuild (pid"));
  CHECK(ReadFile(f.ledger) == before);
  // The holder itself saves freely.
  CHECK(held->Save(f.fs, f.ledger).ok());
}

TEST_CASE("a symlinked ledger is written through to its target and stays a link") {
  Fixture f;
  const std::string shared = f.tmp / "shared/site-a.ledger";
  WriteFile(f.tmp / "shared/.keep", "");
  auto source1 = NewOciLayoutSource(f.fs, f.layout, "app:1.0");
  {
    ExportOptions options;
    options.ledger_path = shared;
    options.sign_key_path = f.key;
    options.output_path = f.tmp / "1.sluice";
    REQUIRE(Export(f.fs, {source1.get()}, options).ok());
  }
  // A relative link, as `ln -s shared/site-a.ledger ledger.json` makes.
  REQUIRE(::symlink("shared/site-a.ledger", f.ledger.c_str()) == 0);

  auto source2 = NewOciLayoutSource(f.fs, f.layout, "app:1.1");
  auto report = f.ExportWith(source2.get(), f.tmp / "2.sluice");
  INFO(report.status().ToString());
  REQUIRE(report.ok());
  CHECK(report->sequence == 2);
  CHECK(IsSymlink(f.ledger));
  auto target = Ledger::Load(f.fs, shared);
  REQUIRE(target.ok());
  CHECK(target->sequence() == 2);
  // One lock for every way to the ledger: beside the file it really is.
  CHECK(Exists(shared + ".lock"));
  CHECK_FALSE(Exists(f.ledger + ".lock"));
}

TEST_CASE("a pending bundle recorded with a relative output is settled from another directory") {
  Fixture f;
  WriteFile(f.tmp / "work/.keep", "");
  WriteFile(f.tmp / "elsewhere/.keep", "");
  WorkingDirectory cwd(f.tmp / "work");
  // Killed after the bundle's rename, before the last ledger save: renames
  // are the pending ledger (1st), the bundle (2nd), the recorded ledger (3rd).
  io::FaultInjectionFileSystem faulty(f.fs);
  faulty.FailNth(io::FaultInjectionFileSystem::Op::kRename, 3);
  auto source = NewOciLayoutSource(&faulty, f.layout, "app:1.0");
  auto report = f.ExportWith(source.get(), "rel.sluice", &faulty);
  REQUIRE_FALSE(report.ok());
  REQUIRE(Exists(f.tmp / "work/rel.sluice"));
  auto pending = Ledger::Load(f.fs, f.ledger);
  REQUIRE(pending.ok());
  REQUIRE(pending->pending());
  // Absolute, as the working directory spells it.
  CHECK(pending->pending()->output ==
        std::filesystem::canonical(f.tmp.path()).string() + "/work/rel.sluice");

  cwd.Change(f.tmp / "elsewhere");
  auto settled = LoadLedger(f.fs, f.ledger);
  INFO(settled.status().ToString());
  REQUIRE(settled.ok());
  CHECK_FALSE(settled->pending());
  CHECK(settled->sequence() == 1);
  REQUIRE(settled->bundles().size() == 1);
  CHECK(settled->bundles()[0].bundle_id == pending->pending()->record.bundle_id);
}

TEST_CASE("an output that cannot be written is refused before any source is read") {
  Fixture f;
  WatchedSource source(NewOciLayoutSource(f.fs, f.layout, "app:1.0"));
  io::FileSystem* through = f.fs;
  io::FaultInjectionFileSystem faulty(f.fs);
  std::string output;
  ErrorKind kind = ErrorKind::kOk;
  std::string says;

  SECTION("a directory") {
    output = f.tmp.path();
    kind = ErrorKind::kInvalidArgument;
    says = "bundle output " + output + " is a directory; name the bundle file, e.g. -o " + output +
           "/bundle.sluice";
  }
  SECTION("a directory that does not exist") {
    output = f.tmp / "no/such/b.sluice";
    kind = ErrorKind::kNotFound;
    says = "cannot write " + output + ": directory " + f.tmp / "no/such" +
           " does not exist; create it first";
  }
  SECTION("a directory where no file can be created") {
    faulty.FailAlways(io::FaultInjectionFileSystem::Op::kNewWriter);
    through = &faulty;
    output = f.tmp / "b.sluice";
    kind = ErrorKind::kIoError;
    says = "cannot write " + output + ": cannot create a file in " + f.tmp.path();
  }
  auto report = f.ExportWith(&source, output, through);
  INFO(report.status().ToString());
  REQUIRE_FALSE(report.ok());
  CHECK(report.status().kind() == kind);
  CHECK_THAT(report.status().message(), Catch::StartsWith(says));
  CHECK(source.calls() == 0);
  CHECK_FALSE(Exists(f.ledger));
  CHECK_FALSE(Exists(f.tmp / "b.sluice"));
  for (const std::string& name : ListTree(f.tmp.path())) {
    CHECK(name.find(".tmp-") == std::string::npos);
  }
}

TEST_CASE("an image named as no import would take it is refused before anything is written") {
  Fixture f;
  auto first = NewOciLayoutSource(f.fs, f.layout, "app:1.0");
  REQUIRE(f.ExportWith(first.get(), f.tmp / "1.sluice").ok());
  const std::string ledger_before = ReadFile(f.ledger);
  // An OCI layout takes any annotation; an OCI ref.name has no space.
  f.builder.Tag("app:1 beta", f.app2.manifest, f.app2.manifest_size, kManifestType);

  WatchedSource every_tag(NewOciLayoutSource(f.fs, f.layout, ""));
  auto report = f.ExportWith(&every_tag, f.tmp / "2.sluice");
  INFO(report.status().ToString());
  REQUIRE_FALSE(report.ok());
  CHECK(report.status().kind() == ErrorKind::kInvalidArgument);
  const std::string message = report.status().message();
  CHECK_THAT(message, Catch::StartsWith("image 'oci:" + f.layout +
                                        ":app:1 beta': name 'app:1 beta'"
                                        " is not a valid OCI reference name"));
  CHECK_THAT(message, Catch::Contains("rename it at the source or leave it out"));
  CHECK(every_tag.calls() == 1);  // listed, never walked
  CHECK_FALSE(Exists(f.tmp / "2.sluice"));
  CHECK(ReadFile(f.ledger) == ledger_before);
}

TEST_CASE("an export into a FIFO streams the bundle to its reader and leaves the FIFO") {
  Fixture f;
  const std::string fifo = f.tmp / "diode";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string received = f.tmp / "received.sluice";
  ChildProcess reader({"sh", "-c", "exec cat " + ShellQuote(fifo) + " > " + ShellQuote(received)});

  auto source = NewOciLayoutSource(f.fs, f.layout, "app:1.0");
  auto report = f.ExportWith(source.get(), fifo);
  INFO(report.status().ToString());
  REQUIRE(report.ok());
  // Replaced by a file, the FIFO would leave its reader waiting for ever
  // (the destructor kills it).
  REQUIRE(IsFifo(fifo));
  RunResult read = reader.Wait();
  INFO(read.Describe());
  REQUIRE(read.exit_code == 0);
  auto shipped = f.ShippedDigests(received);
  INFO(shipped.status().ToString());
  REQUIRE(shipped.ok());
  CHECK(shipped->size() == 2);  // config and layer
  CHECK(report->bundle_bytes == ReadFile(received).size());
  // Recorded as a stream is: no pending record, nothing beside the FIFO.
  auto ledger = Ledger::Load(f.fs, f.ledger);
  REQUIRE(ledger.ok());
  CHECK(ledger->sequence() == 1);
  CHECK_FALSE(ledger->pending());
}

TEST_CASE("an export into a FIFO whose reader went away is a broken pipe, and records nothing") {
  // As the sluice command does: without it, the write would kill the test.
  struct IgnoreSigpipe {
    IgnoreSigpipe() : saved(std::signal(SIGPIPE, SIG_IGN)) {}
    ~IgnoreSigpipe() { std::signal(SIGPIPE, saved); }
    void (*saved)(int);
  } ignore_sigpipe;
  Fixture f;
  // Larger than a pipe holds, so the writer meets the reader's absence.
  BuiltBlob big = f.builder.AddBlob(RandomBytes(3 << 20, 3), kTarGzip);
  BuiltImage image = f.builder.AddImage({big});
  f.builder.Tag("big:1", image.manifest, image.manifest_size, kManifestType);
  auto small = NewOciLayoutSource(f.fs, f.layout, "app:1.0");
  REQUIRE(f.ExportWith(small.get(), f.tmp / "1.sluice").ok());
  const std::string ledger_before = ReadFile(f.ledger);

  const std::string fifo = f.tmp / "diode";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  ChildProcess reader({"sh", "-c", "exec head -c 100 " + ShellQuote(fifo) + " > /dev/null"});
  auto source = NewOciLayoutSource(f.fs, f.layout, "big:1");
  auto report = f.ExportWith(source.get(), fifo);
  reader.Wait();

  REQUIRE_FALSE(report.ok());
  CHECK(report.status().kind() == ErrorKind::kBrokenPipe);
  CHECK_THAT(report.status().message(),
             Catch::StartsWith("the reader of bundle stream " + fifo + " went away after ") &&
                 Catch::EndsWith(" bytes of the bundle; nothing was recorded in the ledger"));
  CHECK(ReadFile(f.ledger) == ledger_before);
  CHECK(IsFifo(fifo));
}
