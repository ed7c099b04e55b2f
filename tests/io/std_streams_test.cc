// StdinReader and StdoutWriter, with fd 0 and 1 temporarily pointed at pipes.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <thread>

#include "io/file.h"
#include "tests/io/test_util.h"

namespace sluice::io {
namespace {

// Points `target_fd` at `replacement` until destroyed.
class Redirect {
 public:
  Redirect(int target_fd, int replacement) : target_(target_fd), saved_(::dup(target_fd)) {
    ::dup2(replacement, target_);
  }
  ~Redirect() {
    ::dup2(saved_, target_);
    ::close(saved_);
  }
  Redirect(const Redirect&) = delete;
  Redirect& operator=(const Redirect&) = delete;

 private:
  int target_;
  int saved_;
};

TEST_CASE("StdinReader reads a pipe to its end") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  const std::vector<uint8_t> data = testing::RandomBytes(300000, 9);  // more than a pipe holds
  std::thread feeder([&] {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(fds[1], data.data() + done, data.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(fds[1]);
  });
  std::vector<uint8_t> back;
  Result<size_t> last = size_t{0};
  {
    Redirect redirect(STDIN_FILENO, fds[0]);
    std::unique_ptr<SequentialReader> reader = StdinReader();
    std::vector<uint8_t> buf(70000);
    for (;;) {
      last = reader->Read(buf);
      if (!last.ok()) break;
      back.insert(back.end(), buf.begin(), buf.begin() + static_cast<ptrdiff_t>(*last));
      if (*last < buf.size()) break;  // a pipe delivers in pieces; short means the end
    }
    CHECK(reader->name() == "<stdin>");
  }
  feeder.join();
  ::close(fds[0]);
  REQUIRE(last.ok());
  CHECK(back == data);
}

TEST_CASE("StdoutWriter writes everything to a pipe, and Sync accepts a pipe") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  const std::vector<uint8_t> data = testing::RandomBytes(2 * 1048576 + 3, 10);
  std::vector<uint8_t> back;
  std::thread drainer([&] {
    uint8_t buf[65536];
    for (;;) {
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      back.insert(back.end(), buf, buf + n);
    }
  });
  Status append, sync, close;
  {
    Redirect redirect(STDOUT_FILENO, fds[1]);
    std::unique_ptr<SequentialWriter> writer = StdoutWriter();
    append = writer->Append(data);
    sync = writer->Sync();
    close = writer->Close();
  }
  ::close(fds[1]);  // the only write end left: the drainer sees the end
  drainer.join();
  ::close(fds[0]);
  CHECK(append.ok());
  CHECK(sync.ok());
  CHECK(close.ok());
  CHECK(back == data);
}

TEST_CASE("StdoutWriter into a pipe whose reader went away fails as a broken pipe") {
  // As the sluice command does: without it, the write would kill the test.
  auto* saved = std::signal(SIGPIPE, SIG_IGN);
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  ::close(fds[0]);
  Status append, close;
  {
    Redirect redirect(STDOUT_FILENO, fds[1]);
    std::unique_ptr<SequentialWriter> writer = StdoutWriter();
    // More than the buffer, so that it is written out now.
    append = writer->Append(testing::RandomBytes(2 * 1048576, 11));
    close = writer->Close();
  }
  ::close(fds[1]);
  std::signal(SIGPIPE, saved);
  CHECK(append.kind() == ErrorKind::kBrokenPipe);
  CHECK(append.ToString() == "broken pipe: write <stdout>: Broken pipe");
  CHECK(close.kind() == ErrorKind::kBrokenPipe);  // the first error, kept
}

}  // namespace
}  // namespace sluice::io
