#include "format/checksum.h"

#include <xxhash.h>

#include <cstdio>
#include <new>

namespace sluice::format {

uint64_t Xxh3(io::ByteView data) { return XXH3_64bits(data.data(), data.size()); }

std::string ChecksumText(uint64_t checksum) {
  char buf[19];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(checksum));
  return buf;
}

struct Xxh3Stream::State {
  XXH3_state_t* state = nullptr;
  ~State() { XXH3_freeState(state); }
};

Xxh3Stream::Xxh3Stream() : state_(std::make_unique<State>()) {
  state_->state = XXH3_createState();
  // Only allocation can fail here; treat it as new does.
  if (state_->state == nullptr) throw std::bad_alloc();
  Reset();
}

Xxh3Stream::~Xxh3Stream() = default;

void Xxh3Stream::Reset() { XXH3_64bits_reset(state_->state); }

void Xxh3Stream::Update(io::ByteView data) {
  if (!data.empty()) XXH3_64bits_update(state_->state, data.data(), data.size());
}

uint64_t Xxh3Stream::Digest() const { return XXH3_64bits_digest(state_->state); }

}  // namespace sluice::format
