#include <algorithm>
#include <cstring>

#include "format/model_file.h"

namespace bertrt::format {
namespace {

constexpr uint64_t kOffsetBasis = 0xcbf29ce484222325ull;
constexpr uint64_t kPrime = 0x00000100000001b3ull;

inline uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

Checksum::Checksum() {
  for (int i = 0; i < 4; ++i) lanes_[i] = kOffsetBasis + static_cast<uint64_t>(i);
}

// Each step (lane ^ word) * odd prime is a bijection of the lane, so any change of a single
// word is always detected; four independent lanes keep the multiply latency off the critical path.
void Checksum::block(const uint8_t* p) {
  for (int i = 0; i < 4; ++i) lanes_[i] = (lanes_[i] ^ load_le64(p + 8 * i)) * kPrime;
}

void Checksum::update(const void* data, size_t size) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  total_ += size;
  if (pending_size_ > 0) {
    const size_t take = std::min(size, sizeof pending_ - pending_size_);
    std::memcpy(pending_ + pending_size_, p, take);
    pending_size_ += take;
    p += take;
    size -= take;
    if (pending_size_ < sizeof pending_) return;
    block(pending_);
    pending_size_ = 0;
  }
  while (size >= 32) {
    block(p);
    p += 32;
    size -= 32;
  }
  std::memcpy(pending_, p, size);
  pending_size_ = size;
}

uint64_t Checksum::finish() const {
  Checksum copy = *this;
  if (copy.pending_size_ > 0) {
    std::memset(copy.pending_ + copy.pending_size_, 0, sizeof copy.pending_ - copy.pending_size_);
    copy.block(copy.pending_);
  }
  uint64_t h = kOffsetBasis ^ total_;
  for (int i = 0; i < 4; ++i) h = (h ^ copy.lanes_[i]) * kPrime;
  h ^= h >> 32;
  return h;
}

uint64_t checksum_of(const uint8_t* data, size_t size) {
  Checksum c;
  c.update(data, size);
  return c.finish();
}

uint64_t structure_checksum(const uint8_t* data, uint64_t meta_offset, uint64_t meta_size, uint64_t table_offset,
                            uint64_t table_size) {
  static const uint8_t zeros[8] = {};
  Checksum c;
  c.update(data, 56);
  c.update(zeros, 8);
  c.update(data + meta_offset, meta_size);
  c.update(data + table_offset, table_size);
  return c.finish();
}

}  // namespace bertrt::format
