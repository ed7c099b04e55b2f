// Where an export writes its bundle. The exporter writes through this one
// interface whatever the destination is: a file published atomically, or a
// stream (standard output, a pipe, a FIFO, a device such as a data diode's
// sender), or the volumes of a bundle cut into files of a set size (a
// volume set, volume_set.h). Writer decorators (a rate limit) wrap writer()
// without the exporter knowing.
//
// The exporter's publication protocol (ledger.h) needs two things from an
// output: a commit point (Publish) before which nothing at the destination
// verifies as a bundle, and a location by which a later run can tell whether
// a crash happened before or after that point. A stream has neither: what it
// wrote is gone past recall, and the ledger records it once it is written
// whole.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "format/bundle_writer.h"
#include "io/file.h"

namespace sluice {

class BundleOutput {
 public:
  virtual ~BundleOutput() = default;  // unpublished: whatever was written is discarded

  // Before any byte: checks that `planned_bytes` fit (kNoSpace otherwise)
  // and opens a stream (which, for a FIFO, waits for its reader).
  virtual Status Prepare(uint64_t planned_bytes) = 0;
  // What the bundle writer writes into; valid after Prepare.
  virtual io::SequentialWriter* writer() = 0;
  // Makes the whole bundle visible: the commit point.
  virtual Status Publish() = 0;
  // What a pending-ledger record names, so that LoadLedger can settle an
  // export killed around Publish by looking there: an absolute path, so
  // that a run from another directory looks at the same file; nullopt when
  // there is nothing to look at (a stream).
  virtual std::optional<std::string> Location() const = 0;
  // For messages: "bundle /media/usb/site-a-0007.sluice", "standard output".
  virtual std::string Describe() const = 0;

  // A volume set: the sink the bundle writer asks for each next volume, and
  // the size no volume exceeds; nullptr and 0 for anything else.
  virtual format::VolumeSink* volume_sink() { return nullptr; }
  virtual uint64_t volume_size() const { return 0; }
  // Once the bundle writer finished, before Publish: writes each volume's
  // final record (its count known only now) back at `record_offset`.
  virtual Status CompleteVolumes(const std::vector<format::VolumeRecord>& /*volumes*/,
                                 uint64_t /*record_offset*/) {
    return Status::Ok();
  }
  // The files Publish made visible, in order (one for a file, none for a
  // stream).
  virtual std::vector<std::string> Files() const = 0;
};

// How the bundle is written, whatever the output.
struct BundleOutputOptions {
  // At most this many bytes a second, on average (io/rate_limited_writer.h:
  // a token bucket with a burst of io::DefaultBurstBytes); 0: as fast as
  // the output takes them.
  uint64_t bytes_per_second = 0;
  // Cut the bundle into volumes of at most this many bytes (a file output
  // only: `-o NAME.sluice` writes NAME.001.sluice, ...); 0: one file.
  uint64_t volume_size = 0;
  // A stream only: send the bundle inside a parity stream with this many
  // parity packets per group (format/parity_stream.h); 0: the bundle's
  // bytes as they are. (Files get parity files beside them instead.)
  uint32_t stream_parity = 0;
};

// Opens the output `output` names, when the export starts and before any
// source is read, so that an output that cannot be written is refused before
// any work is done:
//   "-"                standard output;
//   a FIFO, a character or block device, a socket (or a symlink to one, such
//                      as /dev/stdout on a pipe): written in place as a
//                      stream, like standard output, never replaced;
//   a directory        refused (kInvalidArgument);
//   anything else      a file, published as a temp file fsynced and renamed
//                      into place (through a symlink, to its target). The
//                      temp file is created now, so a missing directory
//                      (kNotFound) or one that cannot be written is refused
//                      now; it is removed if the output is dropped unpublished.
// With options.bytes_per_second, writer() passes the bytes on at that rate;
// with options.stream_parity, a stream carries the bundle in a parity
// stream (the rate then counts its packets).
// With options.volume_size, a file output becomes a volume set: every volume
// a temp file, fsynced, renamed into place by Publish after its count was
// written back, volume 1 last (the commit point, and Location()); volumes
// of an older, longer set of the same name are removed then. A stream or a
// rate limit with volumes is kInvalidArgument.
Result<std::unique_ptr<BundleOutput>> OpenBundleOutput(io::FileSystem* fs,
                                                       const std::string& output,
                                                       const BundleOutputOptions& options = {});

// Whether `location` (a BundleOutput::Location()) holds the whole bundle
// `bundle_id` (hex). Only the header and catalog are read: an output
// publishes a bundle only once it is durable whole.
bool OutputHoldsBundle(io::FileSystem* fs, const std::string& location,
                       const std::string& bundle_id);

}  // namespace sluice
