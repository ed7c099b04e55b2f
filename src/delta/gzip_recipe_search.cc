// FindGzipRecipe: one pass over the blob. Its deflate stream is inflated, and
// candidate encoders (stock zlib driven as each producer drives it) compress
// the decoded content side by side; each candidate's output is compared with
// the blob's own deflate bytes as both appear, and a candidate is dropped at
// its first differing byte. Most die in the first deflate block.
//
// Memory stays bounded: at most kMaxLive candidates hold zlib state at once.
// The others wait, in order of how common their producer is, and are tried
// against the content seen so far (kept while it is under kScreenContent)
// when a place frees up, until one has clearly outrun the others. A candidate
// not tried by the time the content passes kScreenContent is not tried.
#include <zlib.h>

#include <algorithm>
#include <array>
#include <vector>

#include "delta/deflate_replay.h"
#include "delta/gzip_member.h"
#include "delta/gzip_recipe.h"

namespace sluice::delta {
namespace {

constexpr size_t kMaxLive = 6;
constexpr size_t kStartsPerPiece = 8;
constexpr size_t kScreenContent = 2 << 20;
// A candidate right about the blob lags its deflate bytes by about one deflate
// block and leads them by a few bytes (a block end inflate has not read yet).
constexpr uint64_t kMaxLag = 8 << 20;
constexpr size_t kMaxLead = 64 << 10;
// Wrong candidates die within the first deflate blocks. One that has matched
// twice as far as any dropped one, and at least kProven, is taken for the
// producer: no more are started, unless it dies while the content so far is
// still kept.
constexpr uint64_t kProven = 16 << 10;

using Encoder = GzipRecipe::Encoder;

GzipRecipe Make(Encoder encoder, int level, int mem_level, int strategy, uint32_t block_size) {
  GzipRecipe recipe;
  recipe.encoder = encoder;
  recipe.level = static_cast<uint8_t>(level);
  recipe.mem_level = static_cast<uint8_t>(mem_level);
  recipe.strategy = static_cast<uint8_t>(strategy);
  recipe.block_size = block_size;
  return recipe;
}

// Every recipe tried, the commonest producers first.
std::vector<GzipRecipe> Candidates() {
  constexpr std::array<int, 9> kLevels = {6, 9, 1, 2, 3, 4, 5, 7, 8};
  std::vector<GzipRecipe> out;
  auto pigz = [&](uint32_t block) {
    for (int level : kLevels) out.push_back(Make(Encoder::kPigz, level, 8, Z_DEFAULT_STRATEGY, block));
    // One thread differs from several only where deflate_fast (levels 1-3)
    // skips hashing inside matches: the dictionary pigz sets hashes every byte.
    for (int level = 1; level <= 3; ++level) {
      out.push_back(Make(Encoder::kPigzSingleThread, level, 8, Z_DEFAULT_STRATEGY, block));
    }
  };
  for (int level : kLevels) out.push_back(Make(Encoder::kZlib, level, 8, Z_DEFAULT_STRATEGY, 0));
  pigz(128 << 10);
  for (int level : kLevels) out.push_back(Make(Encoder::kZlib, level, 9, Z_DEFAULT_STRATEGY, 0));
  // Z_FILTERED changes only deflate_slow (levels 4-9).
  for (int mem_level : {8, 9}) {
    for (int level = 4; level <= 9; ++level) out.push_back(Make(Encoder::kZlib, level, mem_level, Z_FILTERED, 0));
  }
  for (uint32_t kib : {64u, 256u, 32u, 512u, 1024u}) pigz(kib << 10);
  for (int level : kLevels) out.push_back(Make(Encoder::kPigzIndependent, level, 8, Z_DEFAULT_STRATEGY, 128 << 10));
  for (int mem_level = 7; mem_level >= 1; --mem_level) {
    for (int level : kLevels) out.push_back(Make(Encoder::kZlib, level, mem_level, Z_DEFAULT_STRATEGY, 0));
  }
  // Huffman-only and RLE ignore the level; Z_FIXED does not.
  for (int mem_level : {8, 9}) {
    out.push_back(Make(Encoder::kZlib, 6, mem_level, Z_HUFFMAN_ONLY, 0));
    out.push_back(Make(Encoder::kZlib, 6, mem_level, Z_RLE, 0));
  }
  for (int level : kLevels) out.push_back(Make(Encoder::kZlib, level, 8, Z_FIXED, 0));
  return out;
}

// A candidate being compared.
struct Trial {
  size_t index = 0;  // in Candidates()
  std::unique_ptr<DeflateReplay> replay;
  uint64_t matched = 0;  // its output bytes equal to the blob's so far
  std::string lead;      // its output the blob's inflater has not reached yet
  bool dead = false;
};

class Search : public MemberVisitor {
 public:
  explicit Search(const ByteConsumer& content) : content_(content), candidates_(Candidates()) {}

  Status OnHeader(std::string_view header) override {
    header_ = header;
    return FillPlaces();
  }

  Status OnDeflate(io::ByteView deflate, io::ByteView content) override {
    window_.append(io::AsChars(deflate));
    deflate_seen_ += deflate.size();
    for (auto& trial : live_) {
      if (!trial->lead.empty()) {
        std::string lead = std::move(trial->lead);
        trial->lead.clear();
        static_cast<void>(Compare(*trial, io::AsBytes(lead)));  // a mismatch marks it dead
      }
    }
    if (!content.empty()) {
      SLUICE_RETURN_IF_ERROR(content_(content));
      for (auto& trial : live_) Feed(*trial, content);
      if (screening_) {
        prefix_.append(io::AsChars(content));
        if (prefix_.size() > kScreenContent) {
          screening_ = false;
          std::string().swap(prefix_);
        }
      }
    }
    DropDead();
    SLUICE_RETURN_IF_ERROR(FillPlaces());
    if (live_.empty()) return NoRecipe();
    TrimWindow();
    return Status::Ok();
  }

  // After the member's trailer checked out: the first candidate (commonest
  // first) whose finished stream is the blob's.
  Result<GzipRecipe> Finish() {
    for (auto& trial : live_) {
      if (Finished(*trial)) return Found(*trial);
    }
    while (screening_ && next_ < candidates_.size()) {
      auto trial = Start(next_++);
      if (trial != nullptr && Finished(*trial)) return Found(*trial);
    }
    return NoRecipe();
  }

 private:
  Result<GzipRecipe> Found(const Trial& trial) const {
    GzipRecipe recipe = candidates_[trial.index];
    recipe.header = header_;
    return recipe;
  }

  bool Finished(Trial& trial) {
    if (trial.dead) return false;
    auto checker = [&](io::ByteView out) { return Compare(trial, out); };
    if (!trial.replay->Finish(checker).ok() || trial.dead) return false;
    return trial.matched == deflate_seen_ && trial.lead.empty();
  }

  // Compares a candidate's output with the blob's deflate bytes; an error
  // stops the candidate's deflate early once it has died.
  Status Compare(Trial& trial, io::ByteView out) {
    if (trial.dead) return Status::Unsupported("candidate dropped");
    if (trial.lead.empty() && trial.matched < deflate_seen_) {
      const size_t n = std::min<uint64_t>(out.size(), deflate_seen_ - trial.matched);
      const auto* blob = reinterpret_cast<const uint8_t*>(window_.data()) + (trial.matched - window_start_);
      const auto diff = std::mismatch(out.begin(), out.begin() + static_cast<ptrdiff_t>(n), blob);
      const auto same = static_cast<uint64_t>(diff.first - out.begin());
      trial.matched += same;
      if (same < n) return Kill(trial);
      out = out.subspan(n);
    }
    trial.lead.append(io::AsChars(out));
    if (trial.lead.size() > kMaxLead) return Kill(trial);
    return Status::Ok();
  }

  Status Kill(Trial& trial) {
    trial.dead = true;
    trial.lead.clear();
    farthest_ = std::max(farthest_, trial.matched);
    return Status::Unsupported("candidate dropped");
  }

  void Feed(Trial& trial, io::ByteView content) {
    if (trial.dead) return;
    auto checker = [&](io::ByteView out) { return Compare(trial, out); };
    if (!trial.replay->Write(content, checker).ok()) trial.dead = true;
  }

  // Starts candidate `index` on the content so far; nullptr when it already differs.
  std::unique_ptr<Trial> Start(size_t index) {
    ++tried_;
    auto trial = std::make_unique<Trial>();
    trial->index = index;
    auto replay = DeflateReplay::Make(candidates_[index]);
    if (!replay.ok()) return nullptr;
    trial->replay = std::move(replay).value();
    Feed(*trial, io::AsBytes(prefix_));
    if (trial->dead) return nullptr;
    return trial;
  }

  Status FillPlaces() {
    for (const auto& trial : live_) {
      if (trial->matched >= std::max(kProven, 2 * farthest_)) return Status::Ok();
    }
    // Starts are spread over the content (a few per piece, more while none
    // is live) so that a right candidate can outrun the rest before all of
    // them are tried.
    for (size_t starts = 0; (starts < kStartsPerPiece || live_.empty()) && screening_ && live_.size() < kMaxLive &&
                            next_ < candidates_.size();
         ++starts) {
      auto trial = Start(next_++);
      if (trial != nullptr) live_.push_back(std::move(trial));
    }
    return Status::Ok();
  }

  void DropDead() {
    for (auto& trial : live_) {
      if (!trial->dead && deflate_seen_ - trial->matched > kMaxLag) static_cast<void>(Kill(*trial));
    }
    std::erase_if(live_, [](const auto& trial) { return trial->dead; });
  }

  // Keeps the blob's deflate bytes from the slowest candidate on (from the
  // start while candidates may still be started).
  void TrimWindow() {
    if (screening_) return;
    uint64_t keep_from = deflate_seen_;
    for (const auto& trial : live_) keep_from = std::min(keep_from, trial->matched);
    if (keep_from - window_start_ > (1 << 20)) {
      window_.erase(0, keep_from - window_start_);
      window_start_ = keep_from;
    }
  }

  Status NoRecipe() const {
    return Status::Unsupported(
        "not made by zlib or pigz: its deflate stream differs from every candidate encoder (" +
        std::to_string(tried_) + " tried) by byte " + std::to_string(farthest_) + " of " +
        std::to_string(deflate_seen_) +
        " read (Go's compress/gzip and klauspost/pgzip, as BuildKit, containerd and umoci use, and GNU "
        "gzip make such layers)");
  }

  const ByteConsumer& content_;
  const std::vector<GzipRecipe> candidates_;
  std::string header_;
  size_t next_ = 0;   // the next candidate to start
  size_t tried_ = 0;
  std::vector<std::unique_ptr<Trial>> live_;
  bool screening_ = true;  // prefix_ still holds all the content so far
  std::string prefix_;
  std::string window_;     // the blob's deflate bytes from window_start_ on
  uint64_t window_start_ = 0;
  uint64_t deflate_seen_ = 0;
  uint64_t farthest_ = 0;  // the most deflate bytes a dropped candidate matched
};

// What follows the member: nothing, more members, or other bytes.
Status CheckNothingFollows(ChunkedInput& input, uint64_t member_end) {
  SLUICE_ASSIGN_OR_RETURN(io::ByteView next, input.Next());
  if (next.empty()) return Status::Ok();
  input.Unread(next.size());
  class Ignore : public MemberVisitor {
    Status OnHeader(std::string_view) override { return Status::Ok(); }
    Status OnDeflate(io::ByteView, io::ByteView) override { return Status::Ok(); }
  } ignore;
  size_t members = 1;
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(io::ByteView more, input.Next());
    if (more.empty()) return Status::Unsupported(std::to_string(members) + " gzip members");
    input.Unread(more.size());
    if (!ReadGzipMember(input, ignore).ok()) break;
    ++members;
  }
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(io::ByteView rest, input.Next());
    if (rest.empty()) break;
  }
  return Status::Unsupported(std::to_string(input.offset() - member_end) + " bytes after the gzip member");
}

}  // namespace

Result<GzipRecipe> FindGzipRecipe(io::SequentialReader& blob, const ByteConsumer& content) {
  ChunkedInput input(blob);
  SLUICE_ASSIGN_OR_RETURN(io::ByteView first, input.Next());
  if (first.empty()) return Status::Unsupported(blob.name() + ": empty, not gzip");
  input.Unread(first.size());
  Search search(content);
  auto named = [&](const Status& status) {
    return status.kind() == ErrorKind::kUnsupported ? status.WithContext(blob.name()) : status;
  };
  SLUICE_RETURN_IF_ERROR(named(ReadGzipMember(input, search)));
  auto recipe = search.Finish();
  if (!recipe.ok()) return named(recipe.status());
  SLUICE_RETURN_IF_ERROR(named(CheckNothingFollows(input, input.offset())));
  return recipe;
}

}  // namespace sluice::delta
