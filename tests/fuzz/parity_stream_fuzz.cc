// libFuzzer target: arbitrary bytes read as a parity stream (format/PARITY.md
// section 12) through NewParityStreamReader and MaybeUnwrapParityStream, and
// the same bytes carried as data through a writer and back.
//
// Beyond "no crash, no leak, no UB" it checks the reader's promises: damage
// is reported as damage (the bytes are in memory, so no I/O error can
// happen), the report counts what was handed on, and a stream the writer made
// comes back byte for byte, also with any one byte of it flipped (one flip
// damages one packet, which parity always repairs).
//
// Seeds (corpus/parity_stream_fuzz/), made by NewParityStreamWriter: the
// worked example of PARITY.md section 12.8 (k = 2, m = 1, "hello, world\n");
// three groups of k = 2, m = 1 with a short last group; a stream of 40 bytes
// (k = 2, m = 2) with its second packet damaged.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "format/parity_stream.h"
#include "fuzz_check.h"
#include "io/range_reader.h"

namespace {

using namespace sluice;
using fuzz::Check;

bool Damage(const Status& s) {
  return s.kind() == ErrorKind::kCorruption || s.kind() == ErrorKind::kUnsupported;
}

// Reads `r` to its end or first error; returns the bytes and the status.
Status Drain(io::SequentialReader* r, std::string* out) {
  std::vector<uint8_t> buf(40000);
  while (true) {
    Result<size_t> n = r->Read(buf);
    if (!n.ok()) return n.status();
    if (*n == 0) return Status::Ok();
    out->append(reinterpret_cast<const char*>(buf.data()), *n);
  }
}

class StringOut final : public io::SequentialWriter {
 public:
  Status Append(io::ByteView data) override {
    out.append(io::AsChars(data));
    return Status::Ok();
  }
  Status Sync() override { return Status::Ok(); }
  Status Close() override { return Status::Ok(); }
  uint64_t Size() const override { return out.size(); }
  std::string out;
};

std::unique_ptr<io::SequentialReader> Input(const uint8_t* data, size_t size) {
  return io::NewBytesReader(std::vector<uint8_t>(data, data + size), "<fuzz>");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    format::ParityStreamReport report;
    Result<std::unique_ptr<io::SequentialReader>> r =
        format::NewParityStreamReader(Input(data, size), &report);
    Check(r.ok());
    std::string out;
    Status s = Drain(r->get(), &out);
    Check(s.ok() || Damage(s));
    Check(report.data_bytes == out.size());
    Check(report.bytes_skipped <= size);
    if (s.ok()) Check(report.packets > 0);
  }
  {
    bool unwrapped = false;
    Result<std::unique_ptr<io::SequentialReader>> r =
        format::MaybeUnwrapParityStream(Input(data, size), nullptr, &unwrapped);
    Check(r.ok());
    std::string out;
    Status s = Drain(r->get(), &out);
    if (!unwrapped) Check(s.ok() && out == std::string(reinterpret_cast<const char*>(data), size));
    if (unwrapped) Check(s.ok() || Damage(s));
  }
  // The input as data: through a writer of small packets and back, intact
  // and with one byte flipped where the input's first bytes say.
  if (size > 64 * 1024) return 0;
  format::ParityStreamOptions options;
  options.data_count = size > 0 ? 1 + data[0] % 4 : 2;
  options.parity_count = size > 1 ? 1 + data[1] % 2 : 1;
  options.stripe_size = 4096;
  options.stream_id = std::array<uint8_t, 16>{};
  StringOut stream;
  Result<std::unique_ptr<io::SequentialWriter>> w = format::NewParityStreamWriter(&stream, options);
  Check(w.ok());
  Check((*w)->Append({data, size}).ok());
  Check((*w)->Close().ok());
  const std::string original(reinterpret_cast<const char*>(data), size);
  for (int flip = 0; flip < 2; ++flip) {
    std::string bytes = stream.out;
    if (flip == 1) {
      size_t at = 0;
      for (size_t i = 0; i < size && i < 4; ++i) at = at * 256 + data[i];
      bytes[at % bytes.size()] ^= static_cast<char>(size > 4 ? data[4] | 1 : 0x80);
    }
    Result<std::unique_ptr<io::SequentialReader>> r = format::NewParityStreamReader(
        io::NewBytesReader(std::vector<uint8_t>(bytes.begin(), bytes.end()), "<fuzz>"));
    Check(r.ok());
    std::string out;
    Check(Drain(r->get(), &out).ok());
    Check(out == original);
  }
  return 0;
}
