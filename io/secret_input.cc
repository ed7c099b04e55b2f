#include "io/secret_input.h"

#include <fcntl.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <iterator>

#include "io/errno_status.h"

namespace sluice::io {
namespace {

constexpr int kRestoringSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

// What the signal handler needs to put the terminal back: written before
// the handler is installed, read only by it.
volatile sig_atomic_t g_terminal_fd = -1;
termios g_saved_settings;

void RestoreTerminalAndDie(int signal_number) {
  // tcsetattr is async-signal-safe. SA_RESETHAND made the action the default
  // again, and the signal, blocked while this runs, is raised once it returns.
  tcsetattr(g_terminal_fd, TCSAFLUSH, &g_saved_settings);
  raise(signal_number);
}

// Closes a descriptor it owns.
class OwnedFd {
 public:
  explicit OwnedFd(int fd) : fd_(fd) {}
  ~OwnedFd() {
    if (fd_ >= 0) close(fd_);
  }
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Echo off on `fd` for its lifetime, with handlers that restore it should a
// signal end the process first.
class EchoOff {
 public:
  EchoOff(int fd, const termios& saved) : fd_(fd) {
    g_saved_settings = saved;
    g_terminal_fd = fd;
    struct sigaction action {};
    action.sa_handler = RestoreTerminalAndDie;
    action.sa_flags = SA_RESETHAND;
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < std::size(kRestoringSignals); ++i) {
      sigaction(kRestoringSignals[i], &action, &old_actions_[i]);
    }
  }
  ~EchoOff() {
    tcsetattr(fd_, TCSAFLUSH, &g_saved_settings);
    for (size_t i = 0; i < std::size(kRestoringSignals); ++i) {
      sigaction(kRestoringSignals[i], &old_actions_[i], nullptr);
    }
    g_terminal_fd = -1;
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  int fd_;
  struct sigaction old_actions_[std::size(kRestoringSignals)];
};

Status WriteAll(int fd, std::string_view text, std::string_view what) {
  while (!text.empty()) {
    ssize_t n = write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoStatus(n < 0 ? errno : EIO, "write", what);
    text.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// One line from `fd`, a byte at a time. *ended is false when the input
// ended before any byte.
Result<std::string> ReadLine(int fd, std::string_view what, bool* ended) {
  std::string line;
  *ended = false;
  while (true) {
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "read", what);
    if (n == 0) {
      *ended = line.empty();
      break;
    }
    if (c == '\n') break;
    if (line.size() == kMaxSecretLine) {
      return Status::InvalidArgument(std::string(what) + ": the line is longer than " +
                                     std::to_string(kMaxSecretLine) + " bytes");
    }
    line.push_back(c);
  }
  if (line.ends_with('\r')) line.pop_back();
  return line;
}

}  // namespace

Result<std::optional<std::string>> ReadSecretFromTerminal(std::string_view prompt) {
  OwnedFd tty(open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (tty.get() < 0) {
    // ENXIO: no controlling terminal; the others: no usable /dev/tty at all.
    if (errno == ENXIO || errno == ENOENT || errno == ENODEV || errno == ENOTTY) {
      return std::optional<std::string>();
    }
    return ErrnoStatus(errno, "open", "/dev/tty");
  }
  termios saved;
  if (tcgetattr(tty.get(), &saved) != 0) {
    if (errno == ENOTTY) return std::optional<std::string>();
    return ErrnoStatus(errno, "tcgetattr", "/dev/tty");
  }
  std::optional<Result<std::string>> line;
  bool ended = false;
  {
    EchoOff echo_off(tty.get(), saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHOE | ECHOK | ECHONL);
    quiet.c_lflag |= ICANON;
    // Echo goes off before the prompt shows, so nothing typed after the
    // prompt can be echoed; TCSAFLUSH drops whatever was typed before it.
    if (tcsetattr(tty.get(), TCSAFLUSH, &quiet) != 0) {
      return ErrnoStatus(errno, "tcsetattr", "/dev/tty");
    }
    SLUICE_RETURN_IF_ERROR(WriteAll(tty.get(), prompt, "/dev/tty"));
    line = ReadLine(tty.get(), "/dev/tty", &ended);
  }
  // The newline typed was not echoed: end the prompt's line.
  SLUICE_RETURN_IF_ERROR(WriteAll(tty.get(), "\n", "/dev/tty"));
  if (!line->ok()) return line->status();
  if (ended) return Status::InvalidArgument("the terminal was closed before a line was typed");
  return std::optional<std::string>(std::move(*line).value());
}

Result<std::string> ReadSecretLineFromStdin() {
  bool ended = false;
  SLUICE_ASSIGN_OR_RETURN(std::string line, ReadLine(STDIN_FILENO, "standard input", &ended));
  if (ended) return Status::InvalidArgument("standard input is empty");
  return line;
}

}  // namespace sluice::io
