// Reed-Solomon parity files for bundles (PARITY.md): writing them, reading
// their tables, finding which rows of which shards are damaged or missing,
// and rebuilding them.
//
// A parity set protects k data shards, each a byte range of a data file (a
// volume file whole, or a segment of a single bundle file), with m parity
// files. Every shard is cut into rows of stripe_size bytes, and every row of
// every shard has a checksum, so damage is located to one row of one shard;
// a row is repairable when at most m of its k + m shard rows are lost.
//
// Memory, whatever the sizes of the files: k + m rows (of stripe_size
// bytes, or shard_size when smaller) while writing or rebuilding, one row
// while checking, plus the tables ((k + m) x rows x 8 bytes: 1/131072 of the
// data at the default stripe). So 10 MiB for 8 + 2 shards at the default
// stripe of 1 MiB, and at most 4 GiB at the format's limits (255 rows of
// 16 MiB, PARITY.md section 7).
//
// Threads: WriteParity and the rebuilds read and hash half of each row's
// data shards on a second thread (format/side_thread.h), so the files'
// ReadAt is called from two threads, as io::PositionalReader allows.
//
// Errors: kCorruption for damage, naming the file, shard, row and offset;
// I/O failures of the files read stay I/O errors (a row that cannot be read
// is not taken for a damaged one).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format/parity_format.h"
#include "io/file.h"

namespace sluice::format {

// Data shard bytes: [offset, offset + length) of a data file. Shards shorter
// than the longest are read as if zero-padded to its length.
struct DataShard {
  const io::PositionalReader* file = nullptr;
  uint32_t volume_number = 1;  // which data file: 1-based; 1 for a single file
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct ParityParams {
  std::array<uint8_t, 16> bundle_id{};
  std::array<uint8_t, 32> bundle_digest{};  // SHA-256 of the bundle's header || catalog
  uint32_t stripe_size = kDefaultStripeSize;
};

// Writes the m = outputs.size() parity files of `data` (k shards, every file
// present and at least offset + length bytes long), parity file p to
// outputs[p]. Appends only: the caller syncs and closes the writers, and
// publishes the files only if this returns OK.
//
// The tables come before the parity bytes but depend on them, so the data is
// read twice: once for the checksums (parity rows computed and hashed, not
// kept), once for the parity bytes. The second pass checks every data row
// against the first; a file that changed in between is an error (kIoError),
// not a parity file that protects neither version.
//
// kInvalidArgument for a set the format cannot describe (PARITY.md section
// 7: no shard, k + m > 255, a stripe size that is not a multiple of 4096
// between 4 KiB and 16 MiB, all shards empty, ...).
Status WriteParity(const std::vector<DataShard>& data, const ParityParams& params,
                   const std::vector<io::SequentialWriter*>& outputs);

// The number of segments a single file of `size` bytes is cut into by
// default: one per stripe, at most kDefaultSegmentCount (32), at least 1.
uint32_t DefaultSegmentCount(uint64_t size, uint32_t stripe_size);

// Cuts `file`'s first `size` bytes into `count` consecutive shards (volume
// number 1) whose boundaries are multiples of stripe_size: the file's rows
// are dealt out as evenly as possible, earlier shards taking one more row
// where they do not divide. `count` is lowered to the number of rows when
// there are fewer (so no shard is empty unless size is 0: then one empty
// shard). `stripe_size` must be valid (kMinStripeSize..kMaxStripeSize).
std::vector<DataShard> SegmentShards(const io::PositionalReader* file, uint64_t size,
                                     uint32_t count, uint32_t stripe_size);

// A parity file's header (PARITY.md section 3).
struct ParityHeader {
  uint32_t header_size = kParityHeaderSize;
  std::array<uint8_t, 16> bundle_id{};
  std::array<uint8_t, 32> bundle_digest{};
  uint32_t data_count = 0;    // k
  uint32_t parity_count = 0;  // m
  uint32_t parity_index = 0;  // p, which parity shard this file holds
  uint32_t stripe_size = 0;   // S
  uint64_t shard_size = 0;    // L, the longest data shard

  uint64_t rows() const;                    // ceil(L / S)
  uint64_t row_length(uint64_t row) const;  // bytes of a parity row: S, or less for the last
  uint64_t tables_offset() const { return header_size; }
  uint64_t tables_size() const;  // shard table, row checksums, tables checksum
  uint64_t parity_offset() const { return tables_offset() + tables_size(); }
  uint64_t file_size() const { return parity_offset() + shard_size; }
  // Same set: bundle, k, m, stripe and shard size (not parity_index).
  bool SameSet(const ParityHeader& other) const;
};

// Reads and checks a parity file's header: magic, header_size, header
// checksum, version (kUnsupported), then the fields' ranges, and that the
// file is at least as long as header and tables (so their size can be
// trusted before anything is allocated for them).
Result<ParityHeader> ReadParityHeader(const io::PositionalReader& file);

// One entry of the shard table.
struct ShardEntry {
  uint32_t volume_number = 1;
  uint64_t offset = 0;
  uint64_t length = 0;
  std::array<uint8_t, 32> sha256{};  // of the shard's bytes
};

// What any intact parity file says about its set.
struct ParitySetInfo {
  ParityHeader header;             // parity_index: that of the file the tables came from
  std::vector<ShardEntry> shards;  // the k data shards
  // (k + m) x rows row checksums, shard by shard: data 0..k-1, parity 0..m-1.
  std::vector<uint64_t> row_checksums;

  uint32_t data_count() const { return header.data_count; }
  uint32_t parity_count() const { return header.parity_count; }
  uint64_t rows() const { return header.rows(); }
  // `shard` counts data shards then parity shards (k + p is parity p).
  uint64_t RowChecksum(uint32_t shard, uint64_t row) const {
    return row_checksums[shard * rows() + row];
  }
  // The real bytes of a row: for a data shard those of its length that fall
  // in the row (0 for a row wholly past it); for a parity shard the row's
  // length.
  uint64_t RowBytes(uint32_t shard, uint64_t row) const;
};

// Reads and checks one parity file whole: header, tables (tables checksum,
// every shard no longer than L and the longest exactly L) and the file's
// size. Reads the header and tables, not the parity bytes.
Result<ParitySetInfo> ReadParityFile(const io::PositionalReader& file);

// Rows [first, first + count).
struct RowRange {
  uint64_t first = 0;
  uint64_t count = 0;
  bool operator==(const RowRange&) const = default;
};

// What a check found in one shard.
struct ShardHealth {
  std::string name;      // "volume 3", "volume 1 segment 2", "parity 1"
  std::string file;      // the file read for it; empty when missing
  uint64_t offset = 0;   // where the shard's bytes start in that file
  uint64_t length = 0;   // the shard's bytes (shard_size for parity)
  bool missing = false;  // no file
  // Rows lost, in order: damaged (bytes that do not match their checksum,
  // or lie past the file's end) or, when missing, every row holding bytes.
  std::vector<RowRange> lost;

  uint64_t lost_rows() const;
  bool intact() const { return lost.empty(); }
};

struct ParityCheck {
  uint32_t stripe_size = 0;
  uint32_t parity_count = 0;
  std::vector<ShardHealth> data;    // k
  std::vector<ShardHealth> parity;  // m
  // Rows with more than m shard rows lost, in order: what cannot be rebuilt.
  std::vector<RowRange> unrepairable;
  // Remarks beside the shards' damage: parity files not used and why, data
  // files shorter or longer than their shards.
  std::vector<std::string> notes;

  bool intact() const;  // no row of any shard lost
  bool repairable() const { return unrepairable.empty(); }
  // Lines for people: each shard that lost rows (rows, and byte ranges in
  // its file), each row that cannot be rebuilt and which shards lost it,
  // then the notes. Long lists are cut short, saying how much was left out.
  std::string Report() const;
};

// A parity set as found on the far side: the parity files (some possibly
// missing or damaged), then the data files (some possibly missing or
// damaged). Open() the parity files, attach the data files, then Check(),
// read through NewShardReader()/NewVolumeReader(), or rebuild files.
//
// The data and parity files must outlive the set and every reader made from
// it. Safe to use from several threads once the files are attached (each
// reader has its own buffers).
class ParitySet {
 public:
  // Takes the tables of the first of `parity_files` (any order; nullptr
  // entries count as missing) that ReadParityFile accepts, or failing that
  // the first whose header and tables are intact though its size is wrong
  // (a truncated copy). Every file whose header is intact and describes the
  // same set holds parity shard header.parity_index; other files are noted
  // (notes()) and not used. With `bundle_digest`, files whose header names
  // another bundle are noted and passed over first (kNotFound if no file is
  // left); without it, the caller compares info().header with the bundle it
  // expects. kCorruption naming every file's fault when no file has intact
  // tables (kUnsupported when each is of an unknown version); I/O errors as
  // they come.
  static Result<std::unique_ptr<ParitySet>> Open(
      const std::vector<const io::PositionalReader*>& parity_files,
      const std::optional<std::array<uint8_t, 32>>& bundle_digest = std::nullopt);
  ~ParitySet();
  ParitySet(const ParitySet&) = delete;
  ParitySet& operator=(const ParitySet&) = delete;

  const ParitySetInfo& info() const;
  // Files met by Open that are not used, and why.
  const std::vector<std::string>& notes() const;

  // Attaches the file holding data shard `shard` at its table offset;
  // nullptr (the default) marks it missing. kInvalidArgument if the set has
  // no such shard.
  Status SetDataFile(uint32_t shard, const io::PositionalReader* file);
  // Attaches `file` to every shard of that volume number; kInvalidArgument
  // if none has it.
  Status SetVolumeFile(uint32_t volume_number, const io::PositionalReader* file);
  // Distinct volume numbers of the shard table, ascending.
  std::vector<uint32_t> VolumeNumbers() const;

  // Reads every row of every shard once and compares it with its checksum.
  // Memory: one row.
  Result<ParityCheck> Check() const;

  // Data shard `shard`'s bytes ([0, length)): each row read is checked
  // against its checksum, and a lost one rebuilt from the other shards'
  // rows. ReadAt fails with kCorruption naming the row and the lost shards
  // when a row has more than m lost. Serialises its callers.
  // kInvalidArgument if the set has no such shard.
  Result<std::unique_ptr<io::PositionalReader>> NewShardReader(uint32_t shard) const;
  // The same for a whole data file: the shards of `volume_number` in
  // offset order, which must cover [0, end) without gaps or overlaps
  // (kInvalidArgument if not), as WriteParity's callers lay them out.
  Result<std::unique_ptr<io::PositionalReader>> NewVolumeReader(uint32_t volume_number) const;

  // Writes data shard `shard` (or the whole data file `volume_number`)
  // rebuilt to `out`, and checks its SHA-256 against the shard table. Appends
  // only; `out` holds rebuilt bytes only if this returns OK, so write to a
  // temporary file and publish it then.
  Status RebuildDataShard(uint32_t shard, io::SequentialWriter* out) const;
  Status RebuildVolume(uint32_t volume_number, io::SequentialWriter* out) const;
  // Rebuilds data shards shards[i] to outs[i] in one pass: the other shards'
  // rows are read once for all of them (rebuilding two lost volumes one
  // after the other would read the survivors twice). Memory: one more row
  // per shard. kInvalidArgument for a shard out of range or named twice.
  Status RebuildDataShards(const std::vector<uint32_t>& shards,
                           const std::vector<io::SequentialWriter*>& outs) const;
  // Writes parity file `parity_index` anew (the tables of info(), its
  // parity rows computed from the data, rebuilt where lost). Same contract.
  Status RepairParityFile(uint32_t parity_index, io::SequentialWriter* out) const;

  struct Impl;

 private:
  explicit ParitySet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::format
