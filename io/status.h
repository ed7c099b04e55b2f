// Errors as values. Every fallible operation in sluice returns a Status or a
// Result<T>. A Status carries a kind, so callers can tell corruption (the
// bytes are wrong) from an I/O failure (the bytes could not be read), and a
// message that says what failed and where (file, digest, frame, offset).
//
// Only the CLI turns a Status into an exit code and a line on stderr.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sluice {

enum class ErrorKind {
  kOk = 0,
  kInvalidArgument,  // the caller asked for something malformed
  kNotFound,         // a file, tag, blob or key that does not exist
  kAlreadyExists,    // refusing to overwrite
  kCorruption,       // bytes that do not match their checksum, digest or format
  kUntrusted,        // a signature that does not verify or a key not trusted
  kIoError,          // the operating system failed to read or write
  kNoSpace,          // ENOSPC, or a free-space check failed
  kUnsupported,      // a version, feature or media type this build does not know
  kNetwork,          // a transport failure talking to a remote
  kAuth,             // credentials refused
  kBusy,             // a lock another process holds
  kBrokenPipe,       // the reader of a pipe, FIFO or socket went away (EPIPE)
};

std::string_view ErrorKindName(ErrorKind kind);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) { return {ErrorKind::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {ErrorKind::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {ErrorKind::kAlreadyExists, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {ErrorKind::kCorruption, std::move(msg)}; }
  static Status Untrusted(std::string msg) { return {ErrorKind::kUntrusted, std::move(msg)}; }
  static Status IoError(std::string msg) { return {ErrorKind::kIoError, std::move(msg)}; }
  static Status NoSpace(std::string msg) { return {ErrorKind::kNoSpace, std::move(msg)}; }
  static Status Unsupported(std::string msg) { return {ErrorKind::kUnsupported, std::move(msg)}; }
  static Status Network(std::string msg) { return {ErrorKind::kNetwork, std::move(msg)}; }
  static Status Auth(std::string msg) { return {ErrorKind::kAuth, std::move(msg)}; }
  static Status Busy(std::string msg) { return {ErrorKind::kBusy, std::move(msg)}; }
  static Status BrokenPipe(std::string msg) { return {ErrorKind::kBrokenPipe, std::move(msg)}; }
  // A failure of `kind` (kOk, which is no failure, reads as kIoError).
  static Status FromKind(ErrorKind kind, std::string msg) {
    return {kind == ErrorKind::kOk ? ErrorKind::kIoError : kind, std::move(msg)};
  }

  bool ok() const { return kind_ == ErrorKind::kOk; }
  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }

  bool IsCorruption() const { return kind_ == ErrorKind::kCorruption; }
  bool IsNotFound() const { return kind_ == ErrorKind::kNotFound; }
  bool IsNoSpace() const { return kind_ == ErrorKind::kNoSpace; }

  // "corruption: blob sha256:ab.. frame 3 at offset 4096: checksum mismatch"
  std::string ToString() const;

  // Returns a copy whose message is prefixed with "context: ". Kind is kept,
  // so wrapping never turns corruption into something else.
  Status WithContext(std::string_view context) const;

 private:
  Status(ErrorKind kind, std::string msg) : kind_(kind), message_(std::move(msg)) {}

  ErrorKind kind_ = ErrorKind::kOk;
  std::string message_;
};

// A value or the error that prevented it.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status error) : state_(std::move(error)) {  // NOLINT
    assert(!std::get<Status>(state_).ok() && "Result built from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(state_); }

  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace sluice

#define SLUICE_CONCAT_INNER_(a, b) a##b
#define SLUICE_CONCAT_(a, b) SLUICE_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (a Status) is not OK.
#define SLUICE_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::sluice::Status sluice_status_ = (expr);        \
    if (!sluice_status_.ok()) return sluice_status_; \
  } while (0)

// `SLUICE_ASSIGN_OR_RETURN(auto x, MakeX());` binds the value or returns the error.
#define SLUICE_ASSIGN_OR_RETURN(lhs, expr) \
  SLUICE_ASSIGN_OR_RETURN_IMPL_(SLUICE_CONCAT_(sluice_result_, __LINE__), lhs, expr)
#define SLUICE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
