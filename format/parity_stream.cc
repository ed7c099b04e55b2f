// Parity streams (PARITY.md section 12): the packet codec, the writer and the
// resynchronising reader.
#include "format/parity_stream.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "format/bundle_format.h"
#include "format/checksum.h"
#include "format/endian.h"
#include "format/reed_solomon.h"
#include "io/range_reader.h"

namespace sluice::format {
namespace {

// Field offsets of the packet header (PARITY.md section 12.3).
constexpr size_t kOffVersion = 8;
constexpr size_t kOffHeaderSize = 12;
constexpr size_t kOffStreamId = 16;
constexpr size_t kOffGroup = 32;
constexpr size_t kOffDataOffset = 40;
constexpr size_t kOffGroupSize = 48;
constexpr size_t kOffStripeSize = 56;
constexpr size_t kOffDataCount = 60;
constexpr size_t kOffParityCount = 64;
constexpr size_t kOffPacketIndex = 68;
constexpr size_t kOffFlags = 72;
static_assert(kStreamHeaderFieldsEnd == 80 && kStreamHeaderSize == 88);

// What one packet header says. The checksum is not kept: a header is only
// decoded from a packet whose checksum matched.
struct PacketHeader {
  uint32_t header_size = kStreamHeaderSize;
  std::array<uint8_t, 16> stream_id{};
  uint64_t group = 0;
  uint64_t data_offset = 0;  // bundle byte of the group's first data byte
  uint64_t group_size = 0;   // data bytes in the group
  uint32_t stripe_size = 0;  // S
  uint32_t data_count = 0;   // k of this group
  uint32_t parity_count = 0;
  uint32_t packet_index = 0;
  uint32_t flags = 0;

  bool last() const { return (flags & kStreamFlagLastGroup) != 0; }
  uint64_t packet_size() const { return uint64_t{header_size} + stripe_size; }
};

// The header bytes [0, header_size - 8): all but the checksum.
void EncodeHeader(const PacketHeader& h, uint8_t* p) {
  std::memset(p, 0, h.header_size - kStreamChecksumSize);
  std::memcpy(p, kStreamMagic.data(), kStreamMagic.size());
  StoreU32(p + kOffVersion, kStreamVersion);
  StoreU32(p + kOffHeaderSize, h.header_size);
  std::memcpy(p + kOffStreamId, h.stream_id.data(), h.stream_id.size());
  StoreU64(p + kOffGroup, h.group);
  StoreU64(p + kOffDataOffset, h.data_offset);
  StoreU64(p + kOffGroupSize, h.group_size);
  StoreU32(p + kOffStripeSize, h.stripe_size);
  StoreU32(p + kOffDataCount, h.data_count);
  StoreU32(p + kOffParityCount, h.parity_count);
  StoreU32(p + kOffPacketIndex, h.packet_index);
  StoreU32(p + kOffFlags, h.flags);
}

// `p` holds at least header_size bytes (already checked).
PacketHeader DecodeHeader(const uint8_t* p) {
  PacketHeader h;
  h.header_size = LoadU32(p + kOffHeaderSize);
  std::memcpy(h.stream_id.data(), p + kOffStreamId, h.stream_id.size());
  h.group = LoadU64(p + kOffGroup);
  h.data_offset = LoadU64(p + kOffDataOffset);
  h.group_size = LoadU64(p + kOffGroupSize);
  h.stripe_size = LoadU32(p + kOffStripeSize);
  h.data_count = LoadU32(p + kOffDataCount);
  h.parity_count = LoadU32(p + kOffParityCount);
  h.packet_index = LoadU32(p + kOffPacketIndex);
  h.flags = LoadU32(p + kOffFlags);
  return h;
}

// XXH3-64 of header bytes [0, H - 8) || payload.
uint64_t PacketChecksum(Xxh3Stream* hash, const uint8_t* header, size_t header_size,
                        const uint8_t* payload, size_t stripe_size) {
  hash->Reset();
  hash->Update({header, header_size - kStreamChecksumSize});
  hash->Update({payload, stripe_size});
  return hash->Digest();
}

bool StripeSizeValid(uint64_t s) {
  return s >= kStreamMinStripeSize && s <= kStreamMaxStripeSize && s % 4096 == 0;
}

// Empty when the header's fields are in range and agree with one another
// (PARITY.md section 12.6); else why not, naming the field.
std::string HeaderFault(const PacketHeader& h) {
  const auto n = [](uint64_t v) { return std::to_string(v); };
  if (!StripeSizeValid(h.stripe_size)) {
    return "stripe_size " + n(h.stripe_size) + " is not a multiple of 4096 from " +
           n(kStreamMinStripeSize) + " to " + n(kStreamMaxStripeSize);
  }
  if (h.data_count < 1 || h.parity_count < 1 ||
      uint64_t{h.data_count} + h.parity_count > ReedSolomon::kMaxShards) {
    return "data_count " + n(h.data_count) + " and parity_count " + n(h.parity_count) +
           ": need at least 1 of each and at most " + n(ReedSolomon::kMaxShards) + " together";
  }
  const uint64_t total = uint64_t{h.data_count} + h.parity_count;
  if (total * h.stripe_size > kStreamMaxGroupBytes) {
    return "a group of " + n(total) + " stripes of " + n(h.stripe_size) + " bytes exceeds " +
           n(kStreamMaxGroupBytes) + " bytes";
  }
  if (h.packet_index >= total) {
    return "packet_index " + n(h.packet_index) + " is not below data_count + parity_count " +
           n(total);
  }
  const uint64_t stripes =
      std::max<uint64_t>(1, (h.group_size + h.stripe_size - 1) / h.stripe_size);
  if (h.group_size > uint64_t{h.data_count} * h.stripe_size || stripes != h.data_count) {
    return "group_size " + n(h.group_size) + " does not fill data_count " + n(h.data_count) +
           " stripes of " + n(h.stripe_size) + " bytes";
  }
  if (!h.last() && h.group_size != uint64_t{h.data_count} * h.stripe_size) {
    return "group_size " + n(h.group_size) + " of a group that is not the last is not " +
           "data_count x stripe_size";
  }
  if (h.data_offset % h.stripe_size != 0 || h.data_offset > kStreamMaxDataOffset ||
      h.group_size > kStreamMaxDataOffset - h.data_offset) {
    return "data_offset " + n(h.data_offset) + " is not a multiple of stripe_size or lies past " +
           n(kStreamMaxDataOffset);
  }
  if (h.group > h.data_offset / h.stripe_size) {
    return "group " + n(h.group) + " starts at data_offset " + n(h.data_offset) +
           ", before its earlier groups' stripes";
  }
  return {};
}

std::string Range(uint64_t a, uint64_t b) {
  return "[" + std::to_string(a) + ", " + std::to_string(b) + ")";
}

constexpr std::string_view kAskAgain = "ask for the bundle again";

// ---------------------------------------------------------------------------
// Writer.

class ParityStreamWriter final : public io::SequentialWriter {
 public:
  ParityStreamWriter(io::SequentialWriter* out, const ParityStreamOptions& options,
                     const std::array<uint8_t, 16>& stream_id, ReedSolomon rs)
      : out_(out),
        k_(options.data_count),
        m_(options.parity_count),
        s_(options.stripe_size),
        stream_id_(stream_id),
        rs_(std::move(rs)),
        data_(size_t{k_} * s_),
        parity_(size_t{m_} * s_),
        header_(kStreamHeaderSize) {}

  Status Append(io::ByteView data) override {
    if (!status_.ok()) return status_;
    if (closed_) return Status::InvalidArgument("parity stream: append after close");
    while (!data.empty()) {
      // A full group waits for the next byte: only then is it known not to
      // be the last.
      if (fill_ == data_.size()) {
        status_ = WriteGroup(/*last=*/false);
        if (!status_.ok()) return status_;
      }
      const size_t n = std::min(data.size(), data_.size() - fill_);
      std::memcpy(data_.data() + fill_, data.data(), n);
      fill_ += n;
      size_ += n;
      data = data.subspan(n);
    }
    return Status::Ok();
  }

  Status Sync() override {
    if (!status_.ok()) return status_;
    status_ = out_->Sync();
    return status_;
  }

  Status Close() override {
    if (closed_) return status_;
    closed_ = true;
    if (status_.ok()) status_ = WriteGroup(/*last=*/true);
    return status_;
  }

  uint64_t Size() const override { return size_; }

 private:
  Status WriteGroup(bool last) {
    const uint32_t k =
        last ? static_cast<uint32_t>(std::max<size_t>(1, (fill_ + s_ - 1) / s_)) : k_;
    std::fill(data_.begin() + static_cast<ptrdiff_t>(fill_),
              data_.begin() + static_cast<ptrdiff_t>(size_t{k} * s_), uint8_t{0});
    std::optional<ReedSolomon> short_rs;
    const ReedSolomon* rs = &rs_;
    if (k != k_) {
      // Only the last group is short; k + m is within the limits already.
      SLUICE_ASSIGN_OR_RETURN(ReedSolomon r,
                              ReedSolomon::Create(static_cast<int>(k), static_cast<int>(m_)));
      short_rs.emplace(std::move(r));
      rs = &*short_rs;
    }
    std::vector<const uint8_t*> data_ptrs(k);
    std::vector<uint8_t*> parity_ptrs(m_);
    for (uint32_t i = 0; i < k; ++i) data_ptrs[i] = data_.data() + size_t{i} * s_;
    for (uint32_t p = 0; p < m_; ++p) parity_ptrs[p] = parity_.data() + size_t{p} * s_;
    rs->Encode(data_ptrs, parity_ptrs, s_);

    PacketHeader h;
    h.stream_id = stream_id_;
    h.group = group_;
    h.data_offset = data_offset_;
    h.group_size = fill_;
    h.stripe_size = s_;
    h.data_count = k;
    h.parity_count = m_;
    h.flags = last ? kStreamFlagLastGroup : 0;
    for (uint32_t i = 0; i < k + m_; ++i) {
      h.packet_index = i;
      const uint8_t* payload = i < k ? data_ptrs[i] : parity_ptrs[i - k];
      EncodeHeader(h, header_.data());
      StoreU64(header_.data() + kStreamHeaderSize - kStreamChecksumSize,
               PacketChecksum(&hash_, header_.data(), kStreamHeaderSize, payload, s_));
      SLUICE_RETURN_IF_ERROR(out_->Append(header_));
      SLUICE_RETURN_IF_ERROR(out_->Append({payload, s_}));
    }
    ++group_;
    data_offset_ += fill_;
    fill_ = 0;
    return Status::Ok();
  }

  io::SequentialWriter* out_;
  const uint32_t k_;
  const uint32_t m_;
  const uint32_t s_;
  const std::array<uint8_t, 16> stream_id_;
  ReedSolomon rs_;
  std::vector<uint8_t> data_;    // k stripes of the group being filled
  std::vector<uint8_t> parity_;  // m stripes
  std::vector<uint8_t> header_;
  Xxh3Stream hash_;
  size_t fill_ = 0;
  uint64_t group_ = 0;
  uint64_t data_offset_ = 0;
  uint64_t size_ = 0;
  bool closed_ = false;
  Status status_;
};

// ---------------------------------------------------------------------------
// Reader.

// Input is read in chunks of this much.
constexpr size_t kReadChunk = 64u << 10;

class ParityStreamReader final : public io::SequentialReader {
 public:
  ParityStreamReader(std::unique_ptr<io::SequentialReader> in, ParityStreamReport* report)
      : in_(std::move(in)), report_(report ? report : &own_report_) {
    *report_ = ParityStreamReport{};
  }

  Result<size_t> Read(io::MutableBytes buf) override {
    if (!error_.ok()) return error_;
    size_t done = 0;
    while (done < buf.size()) {
      if (out_pos_ < out_size_) {
        const size_t slot = static_cast<size_t>(out_pos_ / s_);
        const size_t off = static_cast<size_t>(out_pos_ % s_);
        const size_t n = static_cast<size_t>(
            std::min<uint64_t>({buf.size() - done, s_ - off, out_size_ - out_pos_}));
        std::memcpy(buf.data() + done, slots_[slot].data() + off, n);
        done += n;
        out_pos_ += n;
        continue;
      }
      if (done_) break;
      // The bytes of an earlier group already in buf are not handed on: a
      // short count would read as the end of input.
      error_ = NextGroup();
      if (!error_.ok()) return error_;
    }
    report_->data_bytes += done;
    return done;
  }

  const std::string& name() const override { return in_->name(); }

 private:
  std::string Where() const { return "parity stream " + in_->name(); }

  // Makes the next group's bytes ready to hand on (out_size_, slots_), or
  // sets done_ after the last group.
  Status NextGroup() {
    out_pos_ = out_size_ = 0;
    while (true) {
      SLUICE_ASSIGN_OR_RETURN(bool got, NextPacket());
      if (!got) {
        if (collecting_) return FinishGroup();
        if (!established_) return NoPacket();
        return Status::Corruption(
            Where() + ": ends at stream offset " + std::to_string(win_offset_) +
            " before its last group: truncated after bundle byte " +
            std::to_string(next_data_offset_) + " (group " + std::to_string(next_group_) +
            " never came); " + std::string(kAskAgain));
      }
      const PacketHeader& h = *pending_;
      if (!established_) Establish(h);
      if (h.stream_id != report_->stream_id) {
        ++report_->foreign_packets;
        Consume();
        continue;
      }
      SLUICE_RETURN_IF_ERROR(CheckAgainstStream(h));
      if (h.group < next_group_) {  // of a group already handed on
        ++report_->duplicates;
        Consume();
        continue;
      }
      if (collecting_ && h.group != group_.group) {
        // Left pending: it starts the next group once this one is handed on.
        return FinishGroup();
      }
      if (!collecting_) {
        if (h.group != next_group_) return MissingGroups(h);
        SLUICE_RETURN_IF_ERROR(StartGroup(h));
      } else if (h.data_count != group_.data_count || h.group_size != group_.group_size ||
                 h.data_offset != group_.data_offset || h.last() != group_.last()) {
        return Status::Corruption(
            Where() + ": packet " + std::to_string(h.packet_index) + " of group " +
            std::to_string(h.group) + " at stream offset " + std::to_string(win_offset_) +
            " contradicts the group's other packets (data_count, " +
            "group_size, data_offset or last flag); " + std::string(kAskAgain));
      }
      if (present_[h.packet_index]) {
        ++report_->duplicates;
        Consume();
        continue;
      }
      std::vector<uint8_t>& slot = slots_[h.packet_index];
      const uint8_t* payload = win_.data() + begin_ + h.header_size;
      slot.assign(payload, payload + s_);
      present_[h.packet_index] = true;
      ++present_count_;
      ++report_->packets;
      Consume();
      if (present_count_ == group_.data_count + m_) return FinishGroup();
    }
  }

  void Establish(const PacketHeader& h) {
    established_ = true;
    report_->stream_id = h.stream_id;
    report_->stripe_size = s_ = h.stripe_size;
    report_->parity_count = m_ = h.parity_count;
  }

  // An intact packet of this stream that disagrees with the earlier ones
  // comes from a broken writer, not from damage on the way: refused.
  Status CheckAgainstStream(const PacketHeader& h) {
    std::string fault;
    if (h.stripe_size != s_) {
      fault = "stripe_size " + std::to_string(h.stripe_size) + ", not " + std::to_string(s_);
    } else if (h.parity_count != m_) {
      fault = "parity_count " + std::to_string(h.parity_count) + ", not " + std::to_string(m_);
    } else if (k_ != 0 && (h.last() ? h.data_count > k_ : h.data_count != k_)) {
      fault = "data_count " + std::to_string(h.data_count) + " where full groups have " +
              std::to_string(k_);
    } else if (k_ != 0 && h.data_offset != h.group * k_ * uint64_t{s_}) {
      fault = "data_offset " + std::to_string(h.data_offset) + " for group " +
              std::to_string(h.group) + " of " + std::to_string(k_) + " stripes";
    }
    if (!fault.empty()) {
      return Status::Corruption(Where() + ": packet " + std::to_string(h.packet_index) +
                                " of group " + std::to_string(h.group) + " at stream offset " +
                                std::to_string(win_offset_) + " contradicts the stream: " + fault +
                                "; " + std::string(kAskAgain));
    }
    if (!h.last() && k_ == 0) report_->data_count = k_ = h.data_count;
    return Status::Ok();
  }

  Status StartGroup(const PacketHeader& h) {
    if (h.data_offset != next_data_offset_) {
      return Status::Corruption(
          Where() + ": group " + std::to_string(h.group) + " at stream offset " +
          std::to_string(win_offset_) + " starts at bundle byte " + std::to_string(h.data_offset) +
          ", not " + std::to_string(next_data_offset_) + "; " + std::string(kAskAgain));
    }
    collecting_ = true;
    group_ = h;
    group_stream_start_ = last_packet_end_;
    const size_t total = h.data_count + m_;
    if (slots_.size() < total) slots_.resize(total);
    present_.assign(total, false);
    present_count_ = 0;
    return Status::Ok();
  }

  Status FinishGroup() {
    collecting_ = false;
    const uint32_t k = group_.data_count;
    const uint32_t total = k + m_;
    const uint64_t lost = total - present_count_;
    report_->packets_lost += lost;
    if (present_count_ < k) {
      return Status::Corruption(
          Where() + ": group " + std::to_string(group_.group) + " lost " + std::to_string(lost) +
          " of its " + std::to_string(total) + " packets at stream offsets " +
          Range(group_stream_start_, win_offset_) + ", and its " + std::to_string(m_) +
          " parity packets repair at most " + std::to_string(m_) + ": bundle bytes " +
          Range(group_.data_offset, group_.data_offset + group_.group_size) + " are lost; " +
          std::string(kAskAgain) + ", or export with a larger --parity");
    }
    uint64_t rebuilt = 0;
    for (uint32_t i = 0; i < k; ++i) rebuilt += present_[i] ? 0 : 1;
    if (rebuilt > 0) {
      if (!rs_ || rs_->data_count() != static_cast<int>(k)) {
        SLUICE_ASSIGN_OR_RETURN(ReedSolomon rs,
                                ReedSolomon::Create(static_cast<int>(k), static_cast<int>(m_)));
        rs_.emplace(std::move(rs));
      }
      std::vector<uint8_t*> shards(total);
      for (uint32_t i = 0; i < total; ++i) {
        slots_[i].resize(s_);
        shards[i] = slots_[i].data();
      }
      SLUICE_RETURN_IF_ERROR(rs_->Reconstruct(shards, present_, s_).WithContext(Where()));
      report_->stripes_rebuilt += rebuilt;
    }
    ++report_->groups;
    out_pos_ = 0;
    out_size_ = group_.group_size;
    next_group_ = group_.group + 1;
    next_data_offset_ = group_.data_offset + group_.group_size;
    if (group_.last()) done_ = true;
    return Status::Ok();
  }

  Status MissingGroups(const PacketHeader& h) {
    const std::string groups = h.group == next_group_ + 1
                                   ? "group " + std::to_string(next_group_) + " is"
                                   : "groups " + std::to_string(next_group_) + " to " +
                                         std::to_string(h.group - 1) + " are";
    return Status::Corruption(Where() + ": " + groups + " missing (no intact packet of them " +
                              "at stream offsets " + Range(last_packet_end_, win_offset_) +
                              "): bundle bytes " + Range(next_data_offset_, h.data_offset) +
                              " are lost; " + std::string(kAskAgain));
  }

  Status NoPacket() const {
    if (win_offset_ == 0) return Status::Corruption(Where() + ": empty input, no packet");
    std::string msg = Where() + ": no intact packet in " + std::to_string(win_offset_) + " bytes";
    if (first_reject_.empty()) return Status::Corruption(msg + " (no packet magic)");
    msg += "; the first candidate " + first_reject_;
    return first_reject_unsupported_ ? Status::Unsupported(msg) : Status::Corruption(msg);
  }

  // Finds the next intact packet at or after the window's start, skipping
  // what is not one; leaves it at the window's start with its header in
  // pending_. False at the end of input.
  Result<bool> NextPacket() {
    if (pending_) return true;
    while (true) {
      SLUICE_RETURN_IF_ERROR(Fill(kStreamMagic.size()));
      const size_t avail = win_.size() - begin_;
      if (avail < kStreamMagic.size()) {
        Skip(avail);
        return false;
      }
      const uint8_t* p = win_.data() + begin_;
      const uint8_t* end = p + avail;
      const uint8_t* found = std::search(p, end, kStreamMagic.begin(), kStreamMagic.end());
      if (found != p) {
        // Keep a tail that may be the start of a magic cut by the window.
        Skip(found == end ? avail - (kStreamMagic.size() - 1) : static_cast<size_t>(found - p));
        continue;
      }
      SLUICE_ASSIGN_OR_RETURN(std::optional<PacketHeader> h, Candidate());
      if (h) {
        pending_ = *h;
        return true;
      }
      Skip(1);
    }
  }

  // The packet whose magic is at the window's start, if it is intact; else
  // nullopt, the reason noted (the first one is kept for NoPacket).
  Result<std::optional<PacketHeader>> Candidate() {
    SLUICE_RETURN_IF_ERROR(Fill(kStreamHeaderPrefixSize));
    if (win_.size() - begin_ < kStreamHeaderPrefixSize) return Reject("input ends in its header");
    const uint32_t version = LoadU32(win_.data() + begin_ + kOffVersion);
    const uint32_t header_size = LoadU32(win_.data() + begin_ + kOffHeaderSize);
    if (version != kStreamVersion) {
      return Reject("is of stream version " + std::to_string(version) + "; this reader knows " +
                        std::to_string(kStreamVersion),
                    /*unsupported=*/true);
    }
    if (header_size < kStreamMinHeaderSize || header_size > kStreamMaxHeaderSize ||
        header_size % 8 != 0) {
      return Reject("has header_size " + std::to_string(header_size) + ", not a multiple of 8 " +
                    "from " + std::to_string(kStreamMinHeaderSize) + " to " +
                    std::to_string(kStreamMaxHeaderSize));
    }
    SLUICE_RETURN_IF_ERROR(Fill(header_size));
    if (win_.size() - begin_ < header_size) return Reject("input ends in its header");
    const PacketHeader h = DecodeHeader(win_.data() + begin_);
    if (std::string fault = HeaderFault(h); !fault.empty()) return Reject("has " + fault);
    SLUICE_RETURN_IF_ERROR(Fill(h.packet_size()));
    const size_t avail = win_.size() - begin_;
    if (avail < h.packet_size()) {
      return Reject("is cut short: input ends after " + std::to_string(avail) + " of its " +
                    std::to_string(h.packet_size()) + " bytes");
    }
    const uint8_t* p = win_.data() + begin_;
    const uint64_t stored = LoadU64(p + header_size - kStreamChecksumSize);
    const uint64_t computed =
        PacketChecksum(&hash_, p, header_size, p + header_size, h.stripe_size);
    if (stored != computed) {
      return Reject("fails its checksum: stored " + ChecksumText(stored) + ", computed " +
                    ChecksumText(computed));
    }
    return std::optional<PacketHeader>(h);
  }

  std::optional<PacketHeader> Reject(const std::string& why, bool unsupported = false) {
    if (first_reject_.empty()) {
      first_reject_ = "at stream offset " + std::to_string(win_offset_) + " " + why;
      first_reject_unsupported_ = unsupported;
    }
    return std::nullopt;
  }

  // Reads until the window holds n bytes or the input ends. Short reads
  // are taken as pipes give them; only 0 is the end.
  Status Fill(uint64_t n) {
    while (!in_eof_ && win_.size() - begin_ < n) {
      if (begin_ > 0) {
        win_.erase(win_.begin(), win_.begin() + static_cast<ptrdiff_t>(begin_));
        begin_ = 0;
      }
      const size_t old = win_.size();
      // Grown by what arrives, never by what a header claims is coming.
      const size_t want = kReadChunk;
      win_.resize(old + want);
      Result<size_t> got = in_->Read({win_.data() + old, want});
      if (!got.ok()) {
        win_.resize(old);
        return got.status();
      }
      win_.resize(old + *got);
      if (*got == 0) in_eof_ = true;
    }
    return Status::Ok();
  }

  void Skip(size_t n) {
    begin_ += n;
    win_offset_ += n;
    report_->bytes_skipped += n;
  }

  void Consume() {
    const size_t n = static_cast<size_t>(pending_->packet_size());
    begin_ += n;
    win_offset_ += n;
    last_packet_end_ = win_offset_;
    pending_.reset();
  }

  std::unique_ptr<io::SequentialReader> in_;
  ParityStreamReport own_report_;
  ParityStreamReport* report_;
  Status error_;

  // Input window: bytes [begin_, size) not yet taken; win_offset_ is the
  // stream offset of win_[begin_].
  std::vector<uint8_t> win_;
  size_t begin_ = 0;
  uint64_t win_offset_ = 0;
  bool in_eof_ = false;
  uint64_t last_packet_end_ = 0;         // stream offset after the last packet taken
  std::optional<PacketHeader> pending_;  // intact packet at win_[begin_], not yet taken
  std::string first_reject_;
  bool first_reject_unsupported_ = false;
  Xxh3Stream hash_;

  // The stream, from its first intact packet.
  bool established_ = false;
  uint32_t s_ = 0;
  uint32_t m_ = 0;
  uint32_t k_ = 0;  // of full groups; 0 until a packet of one is seen

  // The group being collected.
  bool collecting_ = false;
  PacketHeader group_;
  uint64_t group_stream_start_ = 0;
  std::vector<std::vector<uint8_t>> slots_;  // payloads by packet index, S bytes each
  std::vector<bool> present_;
  uint32_t present_count_ = 0;
  std::optional<ReedSolomon> rs_;  // for the last k met

  uint64_t next_group_ = 0;
  uint64_t next_data_offset_ = 0;

  // The group handed on: bytes [out_pos_, out_size_) of slots_ 0..k-1.
  uint64_t out_pos_ = 0;
  uint64_t out_size_ = 0;
  bool done_ = false;  // the last group is the one handed on
};

}  // namespace

Status CheckParityStreamOptions(const ParityStreamOptions& o) {
  const auto n = [](uint64_t v) { return std::to_string(v); };
  if (o.data_count < 1 || o.parity_count < 1 ||
      uint64_t{o.data_count} + o.parity_count > ReedSolomon::kMaxShards) {
    return Status::InvalidArgument("parity stream: " + n(o.data_count) + " data and " +
                                   n(o.parity_count) + " parity stripes per group; need at " +
                                   "least 1 of each and at most " + n(ReedSolomon::kMaxShards) +
                                   " together");
  }
  if (!StripeSizeValid(o.stripe_size)) {
    return Status::InvalidArgument("parity stream: stripe size " + n(o.stripe_size) +
                                   " is not a multiple of 4096 from " + n(kStreamMinStripeSize) +
                                   " to " + n(kStreamMaxStripeSize));
  }
  const uint64_t group = (uint64_t{o.data_count} + o.parity_count) * o.stripe_size;
  if (group > kStreamMaxGroupBytes) {
    return Status::InvalidArgument("parity stream: a group of " + n(o.data_count + o.parity_count) +
                                   " stripes of " + n(o.stripe_size) + " bytes is " + n(group) +
                                   " bytes; at most " + n(kStreamMaxGroupBytes));
  }
  return Status::Ok();
}

Result<std::unique_ptr<io::SequentialWriter>> NewParityStreamWriter(
    io::SequentialWriter* out, const ParityStreamOptions& options) {
  if (out == nullptr) return Status::InvalidArgument("parity stream: no output");
  SLUICE_RETURN_IF_ERROR(CheckParityStreamOptions(options));
  std::array<uint8_t, 16> id{};
  if (options.stream_id) {
    id = *options.stream_id;
  } else if (RAND_bytes(id.data(), static_cast<int>(id.size())) != 1) {
    return Status::IoError("parity stream: no random stream id (RAND_bytes failed)");
  }
  SLUICE_ASSIGN_OR_RETURN(ReedSolomon rs,
                          ReedSolomon::Create(static_cast<int>(options.data_count),
                                              static_cast<int>(options.parity_count)));
  return std::unique_ptr<io::SequentialWriter>(
      std::make_unique<ParityStreamWriter>(out, options, id, std::move(rs)));
}

Result<std::unique_ptr<io::SequentialReader>> NewParityStreamReader(
    std::unique_ptr<io::SequentialReader> in, ParityStreamReport* report) {
  if (in == nullptr) return Status::InvalidArgument("parity stream: no input");
  return std::unique_ptr<io::SequentialReader>(
      std::make_unique<ParityStreamReader>(std::move(in), report));
}

bool LooksLikeParityStream(io::ByteView first_bytes) {
  return first_bytes.size() >= kStreamMagic.size() &&
         std::equal(kStreamMagic.begin(), kStreamMagic.end(), first_bytes.begin());
}

Result<std::unique_ptr<io::SequentialReader>> MaybeUnwrapParityStream(
    std::unique_ptr<io::SequentialReader> in, ParityStreamReport* report, bool* unwrapped) {
  if (in == nullptr) return Status::InvalidArgument("parity stream: no input");
  std::vector<uint8_t> peeked;
  // Reads until `n` bytes are peeked or the input ends.
  const auto peek = [&](size_t n) -> Status {
    while (peeked.size() < n) {
      const size_t old = peeked.size();
      peeked.resize(n);
      Result<size_t> got = in->Read({peeked.data() + old, n - old});
      if (!got.ok()) {
        peeked.resize(old);
        return got.status();
      }
      peeked.resize(old + *got);
      if (*got == 0) break;
    }
    return Status::Ok();
  };
  SLUICE_RETURN_IF_ERROR(peek(kStreamMagic.size()));
  bool envelope = LooksLikeParityStream(peeked);
  const bool bundle = peeked.size() >= kHeaderMagic.size() &&
                      std::equal(kHeaderMagic.begin(), kHeaderMagic.end(), peeked.begin());
  if (!envelope && !bundle && peeked.size() == kStreamMagic.size()) {
    // Neither magic: a bundle whose first bytes are damaged, or an envelope
    // whose first packet is. Only an envelope has its magic further on.
    SLUICE_RETURN_IF_ERROR(peek(kParityStreamMaxPeek));
    envelope = std::search(peeked.begin(), peeked.end(), kStreamMagic.begin(),
                           kStreamMagic.end()) != peeked.end();
  }
  if (unwrapped != nullptr) *unwrapped = envelope;
  std::string name = in->name();
  std::vector<std::unique_ptr<io::SequentialReader>> parts;
  parts.push_back(io::NewBytesReader(std::move(peeked), std::move(name)));
  parts.push_back(std::move(in));
  std::unique_ptr<io::SequentialReader> replay = io::NewConcatenatedReader(std::move(parts));
  if (!envelope) return replay;
  return NewParityStreamReader(std::move(replay), report);
}

std::string ParityStreamReport::Summary() const {
  if (packets_lost == 0 && bytes_skipped == 0 && stripes_rebuilt == 0) return "intact";
  std::string s = std::to_string(stripes_rebuilt) +
                  (stripes_rebuilt == 1 ? " stripe" : " stripes") + " rebuilt from parity; " +
                  std::to_string(packets_lost) + (packets_lost == 1 ? " packet" : " packets") +
                  " lost, " + std::to_string(bytes_skipped) + " bytes skipped";
  return s;
}

}  // namespace sluice::format
