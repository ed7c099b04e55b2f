// ParitySet: checking a parity set and rebuilding what it lost (PARITY.md
// sections 5 and 8).
#include <algorithm>
#include <cstring>
#include <iterator>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "format/checksum.h"
#include "format/crypto.h"
#include "format/parity.h"
#include "format/parity_tables.h"
#include "format/reed_solomon.h"
#include "format/side_thread.h"

namespace sluice::format {
namespace {

// Lists in reports stop after this many entries.
constexpr size_t kReportListLimit = 10;

// Appends row r to ranges, extending the last range when r follows it.
void AddRow(std::vector<RowRange>* ranges, uint64_t r) {
  if (!ranges->empty() && ranges->back().first + ranges->back().count == r) {
    ++ranges->back().count;
  } else {
    ranges->push_back({r, 1});
  }
}

bool Contains(const std::vector<RowRange>& ranges, uint64_t r) {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), r,
                             [](uint64_t row, const RowRange& x) { return row < x.first; });
  return it != ranges.begin() && r < std::prev(it)->first + std::prev(it)->count;
}

std::string RowsText(const RowRange& r) {
  return r.count == 1
             ? "row " + std::to_string(r.first)
             : "rows " + std::to_string(r.first) + "-" + std::to_string(r.first + r.count - 1);
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

}  // namespace

struct ParitySet::Impl {
  struct ParitySource {
    const io::PositionalReader* file = nullptr;
    uint64_t data_offset = 0;  // where its parity bytes start (its own header_size)
  };

  ParitySetInfo info;
  std::vector<std::string> data_names;
  std::vector<const io::PositionalReader*> data_files;
  std::vector<ParitySource> parity;
  std::vector<std::string> notes;

  uint32_t k() const { return info.data_count(); }
  uint32_t m() const { return info.parity_count(); }
  uint32_t n() const { return k() + m(); }
  uint64_t stripe() const { return info.header.stripe_size; }
  // The longest row: S, or L when the shards are shorter than a stripe.
  size_t row_capacity() const { return static_cast<size_t>(info.header.row_length(0)); }

  ReedSolomon NewCode() const {
    // k and m were checked by ReadParityHeader, so this cannot fail.
    return std::move(ReedSolomon::Create(static_cast<int>(k()), static_cast<int>(m())).value());
  }

  // "volume 3", "volume 1 segment 2", "parity 0"
  std::string ShardName(uint32_t shard) const {
    return shard < k() ? data_names[shard] : "parity " + std::to_string(shard - k());
  }
  const io::PositionalReader* FileOf(uint32_t shard) const {
    return shard < k() ? data_files[shard] : parity[shard - k()].file;
  }
  // "volume 3 (b.sluice.003)", "parity 0 (missing)"
  std::string ShardLabel(uint32_t shard) const {
    const io::PositionalReader* f = FileOf(shard);
    return ShardName(shard) + " (" + (f ? f->name() : std::string("missing")) + ")";
  }
  // Where row `row` of `shard` starts in its file.
  uint64_t RowOffset(uint32_t shard, uint64_t row) const {
    const uint64_t base = shard < k() ? info.shards[shard].offset : parity[shard - k()].data_offset;
    return base + row * stripe();
  }

  // Reads row `row` of `shard` into buf (the row's length; a data row
  // zero-padded past its real bytes). True if intact: a data row with no
  // real bytes always is; a missing file, a short file or bytes that do not
  // match their checksum make it lost (false). I/O errors are errors.
  Result<bool> ReadRow(uint32_t shard, uint64_t row, uint8_t* buf) const {
    const uint64_t len = info.header.row_length(row);
    const uint64_t real = info.RowBytes(shard, row);
    std::memset(buf + real, 0, len - real);
    if (real == 0) return true;
    const io::PositionalReader* file = FileOf(shard);
    if (file == nullptr) return false;
    SLUICE_ASSIGN_OR_RETURN(size_t got,
                            ReadUpTo(*file, RowOffset(shard, row), io::MutableBytes(buf, real)));
    if (got < real) return false;
    return Xxh3(io::ByteView(buf, real)) == info.RowChecksum(shard, row);
  }

  // The data shards of a volume in offset order, if they cover it from 0
  // without gap or overlap.
  Result<std::vector<uint32_t>> VolumeShards(uint32_t volume) const {
    std::vector<uint32_t> shards;
    for (uint32_t i = 0; i < k(); ++i) {
      if (info.shards[i].volume_number == volume) shards.push_back(i);
    }
    if (shards.empty()) {
      return Status::InvalidArgument("parity set: no data shard of volume " +
                                     std::to_string(volume));
    }
    std::stable_sort(shards.begin(), shards.end(), [&](uint32_t a, uint32_t b) {
      return info.shards[a].offset < info.shards[b].offset;
    });
    uint64_t end = 0;
    for (uint32_t i : shards) {
      if (info.shards[i].offset != end) {
        return Status::InvalidArgument(
            "parity set: the shards of volume " + std::to_string(volume) +
            " do not cover it: " + ShardName(i) + " starts at " +
            std::to_string(info.shards[i].offset) + ", not at " + std::to_string(end));
      }
      end += info.shards[i].length;
    }
    return shards;
  }

  Status NoShard(uint32_t shard) const {
    return Status::InvalidArgument("parity set: no data shard " + std::to_string(shard) +
                                   " in a set of " + std::to_string(k()));
  }

  void CheckFileSizes(ParityCheck* check) const;
  Status CheckShard(uint32_t shard, std::vector<uint8_t>* buf, std::vector<uint8_t>* lost_per_row,
                    ShardHealth* health) const;
};

namespace {

// Fills the rows of every shard for one row number, rebuilding lost ones.
// Memory: k + m rows, allocated once.
class RowRebuilder {
 public:
  explicit RowRebuilder(const ParitySet::Impl& set)
      : set_(set), rs_(set.NewCode()), buffers_(set.n() * set.row_capacity()), pointers_(set.n()) {
    for (uint32_t i = 0; i < set.n(); ++i) pointers_[i] = buffers_.data() + i * set.row_capacity();
  }

  // Makes every shard's row `row` hold its true bytes (data rows
  // zero-padded): reads the data shards (half of them on the side thread),
  // then parity shards until k are intact, and rebuilds the others. Shards
  // in `known_lost` are not read again. kCorruption naming the row and its
  // lost shards when fewer than k are intact.
  Status Load(uint64_t row, std::span<const uint32_t> known_lost) {
    const uint32_t k = set_.k();
    std::vector<char> intact(set_.n(), 0);  // not vector<bool>: two threads write it
    auto read = [&](uint32_t first, uint32_t end) -> Status {
      for (uint32_t s = first; s < end; ++s) {
        if (std::find(known_lost.begin(), known_lost.end(), s) != known_lost.end()) continue;
        SLUICE_ASSIGN_OR_RETURN(bool ok, set_.ReadRow(s, row, pointers_[s]));
        intact[s] = ok;
      }
      return Status::Ok();
    };
    Status side;
    side_.Start([&] { side = read(0, k / 2); });
    Status mine = read(k / 2, k);
    side_.Join();
    SLUICE_RETURN_IF_ERROR(side);
    SLUICE_RETURN_IF_ERROR(mine);
    uint32_t count = static_cast<uint32_t>(std::count(intact.begin(), intact.end(), 1));
    for (uint32_t s = k; s < set_.n() && count < k; ++s) {
      SLUICE_RETURN_IF_ERROR(read(s, s + 1));
      count += intact[s];
    }
    if (count < k) {
      // Every shard was read: those not intact are all lost.
      std::vector<uint32_t> lost;
      for (uint32_t s = 0; s < set_.n(); ++s) {
        if (!intact[s]) lost.push_back(s);
      }
      return Unrepairable(row, lost);
    }
    std::vector<bool> present(intact.begin(), intact.end());
    const uint64_t len = set_.info.header.row_length(row);
    SLUICE_RETURN_IF_ERROR(rs_.Reconstruct(pointers_, present, len));
    // A rebuilt row that does not match its checksum means intact rows that
    // do not belong together (files of two sets mixed): say so, never serve it.
    for (uint32_t s = 0; s < set_.n(); ++s) {
      if (present[s] || set_.info.RowBytes(s, row) == 0) continue;
      const uint64_t sum = Xxh3(io::ByteView(pointers_[s], set_.info.RowBytes(s, row)));
      if (sum != set_.info.RowChecksum(s, row)) {
        return Status::Corruption("row " + std::to_string(row) + " of " + set_.ShardLabel(s) +
                                  " rebuilt from the other shards does not match its checksum " +
                                  "(rebuilt " + ChecksumText(sum) + ", table " +
                                  ChecksumText(set_.info.RowChecksum(s, row)) +
                                  "): do these files all belong to one parity set?");
      }
    }
    return Status::Ok();
  }

  const uint8_t* row(uint32_t shard) const { return pointers_[shard]; }

 private:
  Status Unrepairable(uint64_t row, const std::vector<uint32_t>& lost) const {
    std::vector<std::string> names;
    for (uint32_t s : lost) names.push_back(set_.ShardLabel(s));
    const uint64_t start = row * set_.stripe();
    return Status::Corruption(
        "row " + std::to_string(row) + " (bytes " + std::to_string(start) + ".." +
        std::to_string(start + set_.info.header.row_length(row)) + " of each shard) cannot be " +
        "rebuilt: " + std::to_string(lost.size()) + " of its " + std::to_string(set_.n()) +
        " shard rows are lost (" + Join(names, ", ") + ") and " + std::to_string(set_.m()) +
        " parity shards rebuild at most " + std::to_string(set_.m()) +
        "; find an intact copy of one of those files");
  }

  const ParitySet::Impl& set_;
  ReedSolomon rs_;
  std::vector<uint8_t> buffers_;
  std::vector<uint8_t*> pointers_;
  SideThread side_;
};

// Data shard bytes, each row checked and, if lost, rebuilt on demand. One
// row is kept, so reads smaller than a row cost one check per row.
class ShardReader final : public io::PositionalReader {
 public:
  ShardReader(const ParitySet::Impl& set, uint32_t shard)
      : set_(set), shard_(shard), name_(set.ShardLabel(shard)) {}

  Result<size_t> ReadAt(uint64_t offset, io::MutableBytes buf) const override {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t length = Size();
    if (offset >= length) return size_t{0};
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), length - offset));
    size_t done = 0;
    while (done < n) {
      const uint64_t pos = offset + done;
      const uint64_t row = pos / set_.stripe();
      const uint64_t in_row = pos % set_.stripe();
      SLUICE_RETURN_IF_ERROR(LoadRow(row));
      const size_t take = static_cast<size_t>(
          std::min<uint64_t>(n - done, set_.info.RowBytes(shard_, row) - in_row));
      std::memcpy(buf.data() + done, row_.data() + in_row, take);
      done += take;
    }
    return n;
  }
  uint64_t Size() const override { return set_.info.shards[shard_].length; }
  const std::string& name() const override { return name_; }

 private:
  Status LoadRow(uint64_t row) const {
    if (cached_ == row) return Status::Ok();
    cached_.reset();
    row_.resize(set_.row_capacity());
    SLUICE_ASSIGN_OR_RETURN(bool intact, set_.ReadRow(shard_, row, row_.data()));
    if (!intact) {
      if (!rebuilder_) rebuilder_.emplace(set_);
      const uint32_t lost[] = {shard_};
      SLUICE_RETURN_IF_ERROR(rebuilder_->Load(row, lost));
      std::memcpy(row_.data(), rebuilder_->row(shard_), set_.info.header.row_length(row));
    }
    cached_ = row;
    return Status::Ok();
  }

  const ParitySet::Impl& set_;
  const uint32_t shard_;
  const std::string name_;
  mutable std::mutex mu_;
  mutable std::vector<uint8_t> row_;
  mutable std::optional<uint64_t> cached_;
  mutable std::optional<RowRebuilder> rebuilder_;
};

// A data file made of consecutive shards.
class VolumeReader final : public io::PositionalReader {
 public:
  VolumeReader(std::vector<std::unique_ptr<io::PositionalReader>> parts, std::string name)
      : parts_(std::move(parts)), name_(std::move(name)) {
    uint64_t start = 0;
    for (const auto& p : parts_) {
      starts_.push_back(start);
      start += p->Size();
    }
    size_ = start;
  }

  Result<size_t> ReadAt(uint64_t offset, io::MutableBytes buf) const override {
    size_t done = 0;
    while (done < buf.size() && offset + done < size_) {
      const uint64_t pos = offset + done;
      const size_t i = static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), pos) -
                                           starts_.begin() - 1);
      SLUICE_ASSIGN_OR_RETURN(size_t n, parts_[i]->ReadAt(pos - starts_[i], buf.subspan(done)));
      if (n == 0) break;  // cannot happen: each part has its Size() bytes
      done += n;
    }
    return done;
  }
  uint64_t Size() const override { return size_; }
  const std::string& name() const override { return name_; }

 private:
  std::vector<std::unique_ptr<io::PositionalReader>> parts_;
  std::vector<uint64_t> starts_;
  uint64_t size_ = 0;
  std::string name_;
};

}  // namespace

// ---- ParityCheck ----

uint64_t ShardHealth::lost_rows() const {
  uint64_t n = 0;
  for (const RowRange& r : lost) n += r.count;
  return n;
}

bool ParityCheck::intact() const {
  for (const auto* shards : {&data, &parity}) {
    for (const ShardHealth& h : *shards) {
      if (!h.intact()) return false;
    }
  }
  return true;
}

std::string ParityCheck::Report() const {
  std::vector<std::string> lines;
  auto bytes_of = [&](const ShardHealth& h, const RowRange& r) {
    const uint64_t start = r.first * stripe_size;
    const uint64_t end = std::min(h.length, (r.first + r.count) * stripe_size);
    return "bytes " + std::to_string(h.offset + start) + ".." + std::to_string(h.offset + end);
  };
  for (const auto* shards : {&data, &parity}) {
    for (const ShardHealth& h : *shards) {
      if (h.intact()) continue;
      std::string line = h.name + " (" + (h.missing ? "missing" : h.file) + "): ";
      if (h.missing) {
        line += "missing, " + std::to_string(h.lost_rows()) + " rows lost";
      } else {
        std::vector<std::string> parts;
        for (size_t i = 0; i < h.lost.size() && i < kReportListLimit; ++i) {
          parts.push_back(RowsText(h.lost[i]) + " (" + bytes_of(h, h.lost[i]) + ")");
        }
        line += Join(parts, ", ") + " damaged";
        if (h.lost.size() > kReportListLimit) {
          line += ", and " + std::to_string(h.lost.size() - kReportListLimit) + " more ranges (" +
                  std::to_string(h.lost_rows()) + " rows in all)";
        }
      }
      lines.push_back(line);
    }
  }
  size_t listed = 0;
  for (const RowRange& range : unrepairable) {
    for (uint64_t r = range.first; r < range.first + range.count; ++r) {
      if (listed++ == kReportListLimit) break;
      std::vector<std::string> names;
      for (const auto* shards : {&data, &parity}) {
        for (const ShardHealth& h : *shards) {
          if (Contains(h.lost, r)) names.push_back(h.name);
        }
      }
      lines.push_back("row " + std::to_string(r) +
                      " cannot be rebuilt: " + std::to_string(names.size()) + " shards lost it (" +
                      Join(names, ", ") + "), " + std::to_string(parity_count) +
                      " parity shards rebuild at most " + std::to_string(parity_count));
    }
  }
  uint64_t unrepairable_rows = 0;
  for (const RowRange& r : unrepairable) unrepairable_rows += r.count;
  if (unrepairable_rows > kReportListLimit) {
    lines.push_back("and " + std::to_string(unrepairable_rows - kReportListLimit) +
                    " more rows that cannot be rebuilt");
  }
  if (lines.empty())
    lines.push_back("every row of every shard is intact");
  else if (unrepairable.empty())
    lines.push_back("every lost row can be rebuilt");
  for (const std::string& note : notes) lines.push_back("note: " + note);
  return Join(lines, "\n") + "\n";
}

// ---- ParitySet ----

void ParitySet::Impl::CheckFileSizes(ParityCheck* check) const {
  for (uint32_t i = 0; i < k(); ++i) {
    const io::PositionalReader* f = data_files[i];
    if (f == nullptr) continue;
    // One note per file: at its last shard.
    uint64_t end = 0;
    bool last = true;
    for (uint32_t j = 0; j < k(); ++j) {
      if (data_files[j] != f) continue;
      end = std::max(end, info.shards[j].offset + info.shards[j].length);
      if (j > i) last = false;
    }
    if (!last) continue;
    if (f->Size() < end) {
      check->notes.push_back(f->name() + " has " + std::to_string(f->Size()) +
                             " bytes, its shards need " + std::to_string(end) + " (truncated)");
    } else if (f->Size() > end) {
      check->notes.push_back(f->name() + " has " + std::to_string(f->Size() - end) +
                             " bytes after its last shard; they are not protected, and a " +
                             "rebuilt file leaves them out");
    }
  }
}

Status ParitySet::Impl::CheckShard(uint32_t shard, std::vector<uint8_t>* buf,
                                   std::vector<uint8_t>* lost_per_row, ShardHealth* h) const {
  const io::PositionalReader* f = FileOf(shard);
  h->name = ShardName(shard);
  h->file = f ? f->name() : std::string();
  h->offset = shard < k() ? info.shards[shard].offset : parity[shard - k()].data_offset;
  h->length = shard < k() ? info.shards[shard].length : info.header.shard_size;
  h->missing = f == nullptr;
  for (uint64_t r = 0; r < info.rows(); ++r) {
    if (info.RowBytes(shard, r) == 0) break;  // rows past a data shard's length hold zeros
    bool intact = false;
    if (f != nullptr) {
      SLUICE_ASSIGN_OR_RETURN(intact, ReadRow(shard, r, buf->data()));
    }
    if (intact) continue;
    AddRow(&h->lost, r);
    ++(*lost_per_row)[r];
  }
  return Status::Ok();
}

ParitySet::ParitySet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ParitySet::~ParitySet() = default;

const ParitySetInfo& ParitySet::info() const { return impl_->info; }
const std::vector<std::string>& ParitySet::notes() const { return impl_->notes; }

Result<std::unique_ptr<ParitySet>> ParitySet::Open(
    const std::vector<const io::PositionalReader*>& parity_files,
    const std::optional<std::array<uint8_t, 32>>& bundle_digest) {
  struct Candidate {
    const io::PositionalReader* file;
    ParityHeader header;
  };
  std::vector<Candidate> candidates;
  std::vector<std::string> faults;
  std::vector<std::string> other_bundle;
  bool all_unsupported = true;
  auto fault = [&](const Status& s) -> Status {
    if (!s.IsCorruption() && s.kind() != ErrorKind::kUnsupported) return s;
    faults.push_back(s.message());
    all_unsupported &= s.kind() == ErrorKind::kUnsupported;
    return Status::Ok();
  };
  for (const io::PositionalReader* f : parity_files) {
    if (f == nullptr) continue;
    Result<ParityHeader> h = ReadParityHeader(*f);
    if (!h.ok()) {
      SLUICE_RETURN_IF_ERROR(fault(h.status()));
    } else if (bundle_digest && h->bundle_digest != *bundle_digest) {
      other_bundle.push_back(f->name() + ": parity of another bundle (digest " +
                             HexEncode(h->bundle_digest) + "); not used");
    } else {
      candidates.push_back({f, *h});
    }
  }
  if (candidates.empty() && !other_bundle.empty()) {
    return Status::NotFound("no parity file of bundle " + HexEncode(*bundle_digest) + ": " +
                            Join(other_bundle, "; ") +
                            (faults.empty() ? "" : "; " + Join(faults, "; ")));
  }
  // Tables from a file of the right size if one has them intact, else from a
  // truncated or extended one.
  std::optional<ParitySetInfo> info;
  std::vector<const Candidate*> wrong_size;
  for (const Candidate& c : candidates) {
    Status size = CheckParityFileSize(*c.file, c.header);
    if (!size.ok()) {
      SLUICE_RETURN_IF_ERROR(fault(size));
      wrong_size.push_back(&c);
      continue;
    }
    Result<ParitySetInfo> t = ReadParityTables(*c.file, c.header);
    if (t.ok()) {
      info = std::move(t).value();
      break;
    }
    SLUICE_RETURN_IF_ERROR(fault(t.status()));
  }
  for (size_t i = 0; !info && i < wrong_size.size(); ++i) {
    Result<ParitySetInfo> t = ReadParityTables(*wrong_size[i]->file, wrong_size[i]->header);
    if (t.ok()) {
      info = std::move(t).value();
    } else {
      SLUICE_RETURN_IF_ERROR(fault(t.status()));
    }
  }
  if (!info) {
    if (faults.empty()) return Status::InvalidArgument("parity set: no parity file given");
    const std::string msg = "no usable parity file: " + Join(faults, "; ");
    return all_unsupported ? Status::Unsupported(msg) : Status::Corruption(msg);
  }

  auto impl = std::make_unique<Impl>();
  impl->info = std::move(*info);
  impl->notes = std::move(other_bundle);
  impl->notes.insert(impl->notes.end(), faults.begin(), faults.end());
  impl->data_files.assign(impl->k(), nullptr);
  impl->parity.resize(impl->m());
  for (const Candidate& c : candidates) {
    if (!c.header.SameSet(impl->info.header)) {
      impl->notes.push_back(c.file->name() + ": parity of another set (" +
                            std::to_string(c.header.data_count) + "+" +
                            std::to_string(c.header.parity_count) + " shards, bundle id " +
                            HexEncode(c.header.bundle_id) + "); not used");
      continue;
    }
    Impl::ParitySource& p = impl->parity[c.header.parity_index];
    if (p.file != nullptr) {
      impl->notes.push_back(c.file->name() + ": holds parity " +
                            std::to_string(c.header.parity_index) + " as " + p.file->name() +
                            " does; not used");
      continue;
    }
    p = {c.file, c.header.parity_offset()};
  }
  // Names: "volume V" when a volume has one shard, else "volume V segment J".
  for (uint32_t i = 0; i < impl->k(); ++i) {
    const uint32_t v = impl->info.shards[i].volume_number;
    uint32_t same = 0;
    uint32_t before = 0;
    for (uint32_t j = 0; j < impl->k(); ++j) {
      if (impl->info.shards[j].volume_number != v) continue;
      ++same;
      if (j < i) ++before;
    }
    impl->data_names.push_back("volume " + std::to_string(v) +
                               (same > 1 ? " segment " + std::to_string(before) : ""));
  }
  return std::unique_ptr<ParitySet>(new ParitySet(std::move(impl)));
}

Status ParitySet::SetDataFile(uint32_t shard, const io::PositionalReader* file) {
  if (shard >= impl_->k()) return impl_->NoShard(shard);
  impl_->data_files[shard] = file;
  return Status::Ok();
}

Status ParitySet::SetVolumeFile(uint32_t volume_number, const io::PositionalReader* file) {
  bool found = false;
  for (uint32_t i = 0; i < impl_->k(); ++i) {
    if (impl_->info.shards[i].volume_number != volume_number) continue;
    impl_->data_files[i] = file;
    found = true;
  }
  if (found) return Status::Ok();
  return Status::InvalidArgument("parity set: no data shard of volume " +
                                 std::to_string(volume_number));
}

std::vector<uint32_t> ParitySet::VolumeNumbers() const {
  std::vector<uint32_t> v;
  for (const ShardEntry& s : impl_->info.shards) v.push_back(s.volume_number);
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

Result<ParityCheck> ParitySet::Check() const {
  const Impl& set = *impl_;
  ParityCheck check;
  check.stripe_size = set.info.header.stripe_size;
  check.parity_count = set.m();
  check.notes = set.notes;
  set.CheckFileSizes(&check);
  std::vector<uint8_t> buf(set.row_capacity());
  std::vector<uint8_t> lost_per_row(set.info.rows(), 0);
  for (uint32_t s = 0; s < set.n(); ++s) {
    ShardHealth& h = s < set.k() ? check.data.emplace_back() : check.parity.emplace_back();
    SLUICE_RETURN_IF_ERROR(set.CheckShard(s, &buf, &lost_per_row, &h));
  }
  for (uint64_t r = 0; r < lost_per_row.size(); ++r) {
    if (lost_per_row[r] > set.m()) AddRow(&check.unrepairable, r);
  }
  return check;
}

Result<std::unique_ptr<io::PositionalReader>> ParitySet::NewShardReader(uint32_t shard) const {
  if (shard >= impl_->k()) return impl_->NoShard(shard);
  return std::unique_ptr<io::PositionalReader>(new ShardReader(*impl_, shard));
}

Result<std::unique_ptr<io::PositionalReader>> ParitySet::NewVolumeReader(
    uint32_t volume_number) const {
  SLUICE_ASSIGN_OR_RETURN(std::vector<uint32_t> shards, impl_->VolumeShards(volume_number));
  std::vector<std::unique_ptr<io::PositionalReader>> parts;
  for (uint32_t i : shards) parts.push_back(std::make_unique<ShardReader>(*impl_, i));
  return std::unique_ptr<io::PositionalReader>(
      new VolumeReader(std::move(parts), "volume " + std::to_string(volume_number)));
}

Status ParitySet::RebuildDataShard(uint32_t shard, io::SequentialWriter* out) const {
  return RebuildDataShards({shard}, {out});
}

Status ParitySet::RebuildDataShards(const std::vector<uint32_t>& shards,
                                    const std::vector<io::SequentialWriter*>& outs) const {
  const Impl& set = *impl_;
  if (shards.size() != outs.size()) {
    return Status::InvalidArgument("parity set: " + std::to_string(shards.size()) +
                                   " shards to rebuild and " + std::to_string(outs.size()) +
                                   " writers");
  }
  for (size_t i = 0; i < shards.size(); ++i) {
    if (shards[i] >= set.k()) return set.NoShard(shards[i]);
    if (std::count(shards.begin(), shards.end(), shards[i]) > 1) {
      return Status::InvalidArgument("parity set: data shard " + std::to_string(shards[i]) +
                                     " named twice to be rebuilt");
    }
  }
  std::vector<std::vector<uint8_t>> rows(shards.size(), std::vector<uint8_t>(set.row_capacity()));
  std::vector<Sha256> hashes(shards.size());
  std::optional<RowRebuilder> rebuilder;
  std::vector<uint32_t> lost;
  for (uint64_t r = 0; r < set.info.rows(); ++r) {
    // Each shard's row as it is; then, if any is lost, one rebuild for all.
    lost.clear();
    for (size_t i = 0; i < shards.size(); ++i) {
      SLUICE_ASSIGN_OR_RETURN(bool intact, set.ReadRow(shards[i], r, rows[i].data()));
      if (!intact) lost.push_back(shards[i]);
    }
    if (!lost.empty()) {
      if (!rebuilder) rebuilder.emplace(set);
      SLUICE_RETURN_IF_ERROR(rebuilder->Load(r, lost));
    }
    for (size_t i = 0; i < shards.size(); ++i) {
      const bool rebuilt = std::find(lost.begin(), lost.end(), shards[i]) != lost.end();
      const io::ByteView bytes(rebuilt ? rebuilder->row(shards[i]) : rows[i].data(),
                               set.info.RowBytes(shards[i], r));
      hashes[i].Update(bytes);
      SLUICE_RETURN_IF_ERROR(outs[i]->Append(bytes));
    }
  }
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::array<uint8_t, 32> sha = hashes[i].FinishRaw();
    const std::array<uint8_t, 32>& want = set.info.shards[shards[i]].sha256;
    if (sha != want) {
      return Status::Corruption("rebuilt " + set.ShardLabel(shards[i]) + " has SHA-256 " +
                                HexEncode(sha) + ", the shard table says " + HexEncode(want) +
                                ": its rows match their checksums but the whole does not match "
                                "its digest; do not use it");
    }
  }
  return Status::Ok();
}

Status ParitySet::RebuildVolume(uint32_t volume_number, io::SequentialWriter* out) const {
  SLUICE_ASSIGN_OR_RETURN(std::vector<uint32_t> shards, impl_->VolumeShards(volume_number));
  for (uint32_t i : shards) SLUICE_RETURN_IF_ERROR(RebuildDataShard(i, out));
  return Status::Ok();
}

Status ParitySet::RepairParityFile(uint32_t parity_index, io::SequentialWriter* out) const {
  const Impl& set = *impl_;
  if (parity_index >= set.m()) {
    return Status::InvalidArgument("parity set: no parity " + std::to_string(parity_index) +
                                   " in a set of " + std::to_string(set.m()));
  }
  ParityHeader h = set.info.header;
  h.parity_index = parity_index;
  h.header_size = kParityHeaderSize;
  SLUICE_RETURN_IF_ERROR(out->Append(io::AsBytes(EncodeParityHeader(h))));
  SLUICE_RETURN_IF_ERROR(AppendParityTables(set.info, {out}));
  RowRebuilder rebuilder(set);
  const uint32_t shard = set.k() + parity_index;
  for (uint64_t r = 0; r < set.info.rows(); ++r) {
    SLUICE_RETURN_IF_ERROR(rebuilder.Load(r, {}));
    const uint64_t len = h.row_length(r);
    // Load checked the rows it rebuilt; a parity row it read was intact.
    SLUICE_RETURN_IF_ERROR(out->Append(io::ByteView(rebuilder.row(shard), len)));
  }
  return Status::Ok();
}

}  // namespace sluice::format
