// Parity streams (PARITY.md section 12): a bundle written to a pipe or a
// one-way link, wrapped in fixed-size packets that carry Reed-Solomon parity
// inline, so that a receiver that lost, damaged, or got extra bytes can
// still rebuild the bundle without asking again; what it cannot rebuild it
// reports by the bundle byte range lost.
//
// The bytes are cut into groups of k data stripes of S bytes; each group is
// sent as k + m packets (its k data stripes, then m parity stripes), every
// packet a header and S payload bytes with one checksum over both. A group
// whose k + m packets arrive with at most m lost (damaged, dropped, cut
// short) is rebuilt whole.
//
// Memory: the writer holds one group, (k + m) x S bytes (1.1 MiB at the
// defaults: 16 + 2 stripes of 64 KiB); the reader at most that much plus a
// window of about two packets, whatever the stream claims: the format caps
// (k + m) x S at 64 MiB.
//
// Not thread-safe: one thread uses a writer or a reader at a time.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "format/parity_format.h"
#include "io/file.h"

namespace sluice::format {

struct ParityStreamOptions {
  // m: parity packets per group, 1 ..= 255 - k. A group survives the loss
  // of any m of its k + m packets.
  uint32_t parity_count = kStreamDefaultParityCount;
  // k: data stripes per group, 1 ..= 254 (the last group may have fewer).
  uint32_t data_count = kStreamDefaultDataCount;
  // S: payload bytes of every packet, a multiple of 4096 from 4096 to 1 MiB;
  // (k + m) x S at most 64 MiB.
  uint32_t stripe_size = kStreamDefaultStripeSize;
  // Written in every packet, so a reader can tell this stream's packets from
  // another's. Random (OpenSSL RAND_bytes) when absent; tests give one to get
  // the same bytes every time.
  std::optional<std::array<uint8_t, 16>> stream_id;
};

// kInvalidArgument naming the option when `options` break the limits above.
Status CheckParityStreamOptions(const ParityStreamOptions& options);

// A writer of the envelope around the bytes appended to it.
//
// Ownership: the caller owns `out`, which must outlive the writer; the
// writer only appends to it (and Sync()s it when asked), never closes it.
//
// Append() buffers into the current group; a full group is encoded and
// written as k + m packets when the next byte arrives (or at Close), so that
// the last group, however long, is the one marked last. Close() writes the
// last group (short, or of zero data bytes for an empty stream), marks it
// last, and does not close `out`: the caller closes it. Sync() syncs `out`
// with the packets written so far; the bytes of the group being filled are
// not in `out` until that group is written (a group cannot be cut short
// without being the last). Size() counts the data bytes appended (the
// bundle's bytes), not the bytes written to `out`.
//
// The destructor writes nothing: an envelope that was not closed lacks its
// last group, which every reader reports as a truncated stream, never as a
// short one. After an error (of `out`) the writer is broken and every later
// call returns that error.
Result<std::unique_ptr<io::SequentialWriter>> NewParityStreamWriter(
    io::SequentialWriter* out, const ParityStreamOptions& options = {});

// What a reader met on its way; updated as it reads (read it after the end,
// or after an error, for the whole story).
struct ParityStreamReport {
  std::array<uint8_t, 16> stream_id{};  // of the first intact packet
  uint32_t stripe_size = 0;             // S
  uint32_t data_count = 0;              // k of the full groups (0 until one is seen)
  uint32_t parity_count = 0;            // m

  uint64_t groups = 0;           // groups finished and handed on
  uint64_t packets = 0;          // intact packets of this stream used
  uint64_t packets_lost = 0;     // packets of finished groups that never came intact
  uint64_t stripes_rebuilt = 0;  // data stripes rebuilt from parity
  uint64_t duplicates = 0;       // intact packets seen before (ignored)
  uint64_t foreign_packets = 0;  // intact packets of another stream id (ignored)
  uint64_t bytes_skipped = 0;    // input bytes not in any intact packet (damage, garbage)
  uint64_t data_bytes = 0;       // bytes Read returned (successfully)

  // For people: "3 stripes rebuilt from parity; 4 packets lost, 70144
  // bytes skipped", or "intact" when nothing was lost or skipped.
  std::string Summary() const;
};

// A reader of the bytes inside the envelope that `in` holds.
//
// Every packet is checked against its checksum; one that fails is dropped.
// When the next bytes do not hold an intact packet, the reader scans forward
// for one (magic, header in range, checksum), so dropped, damaged and
// inserted bytes are all survived. A group is handed on once k of its
// packets are intact: missing data stripes are rebuilt from parity.
//
// kCorruption, on a line naming the group, the bundle byte range lost
// ([a, b)), roughly where in the stream, how many packets were lost and
// how many parity could repair, and what to do next, when: a group lost more
// than m packets; whole groups are missing; the input ends before the last
// group (truncated, naming the bundle byte where it stops); intact packets
// of the same stream contradict each other; or `in` holds no intact packet
// (naming why the first candidate was refused). kUnsupported when the only
// candidates are of another stream version. The data of the groups before
// the fault is handed on first; the error comes with the first Read that
// reaches what is lost (that Read's buffer holds no bytes to use: a short
// count would read as the end), and every later Read returns it. I/O errors
// of `in` are passed on as they are.
//
// Packets of another stream id are ignored (counted), as are duplicates and
// packets of groups already handed on. The reader stops reading `in` after
// the last packet of the last group, or at the end of `in` when some of the
// last group's packets never came.
//
// `report`, when not null, must outlive the reader. Named after `in`.
Result<std::unique_ptr<io::SequentialReader>> NewParityStreamReader(
    std::unique_ptr<io::SequentialReader> in, ParityStreamReport* report = nullptr);

// Whether `first_bytes` start with the packet magic.
bool LooksLikeParityStream(io::ByteView first_bytes);

// For a reader of stdin that may hold a bundle or an envelope around one:
// peeks at the start of `in` and returns NewParityStreamReader's reader if it
// is an envelope, else a reader of `in`'s bytes as they are (peeked bytes
// replayed). An envelope is recognised by the packet magic at its start or,
// when its first packet's magic was damaged, anywhere in its first packet's
// worth of bytes (kParityStreamMaxPeek) when those do not start with the bundle magic
// (SPEC.md). At most kParityStreamMaxPeek bytes are read ahead;
// `unwrapped`, when not null, says which it chose. `report` as above.
inline constexpr size_t kParityStreamMaxPeek = kStreamMaxHeaderSize + kStreamMaxStripeSize;
Result<std::unique_ptr<io::SequentialReader>> MaybeUnwrapParityStream(
    std::unique_ptr<io::SequentialReader> in, ParityStreamReport* report = nullptr,
    bool* unwrapped = nullptr);

}  // namespace sluice::format
