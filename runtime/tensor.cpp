/// \file Aligned fp32 tensors and their deterministic random fill.
#include "runtime/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "ir/error.h"

namespace convtune {

namespace {

/// Alignment of every tensor: a cache line, and enough for the widest (AVX-512) vector loads.
constexpr size_t kAlignment = 64;

/// splitmix64 (Steele, Lea, Flood 2014): tiny, and fully specified, so the stream is the same
/// on every machine and standard library (unlike std::uniform_real_distribution).
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

} // namespace

void Tensor::FreeDeleter::operator()(float* p) const { std::free(p); }

Tensor::Tensor(int64_t elements) : size_(elements) {
  internal_check(elements >= 0, "tensor with a negative size " + std::to_string(elements));
  if (elements == 0) return;
  size_t bytes = static_cast<size_t>(elements) * sizeof(float);
  // aligned_alloc requires the size to be a multiple of the alignment.
  bytes = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, bytes);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  data_.reset(static_cast<float*>(p));
}

void Tensor::fill_zero() {
  if (size_ == 0) return;
  std::memset(data_.get(), 0, static_cast<size_t>(size_) * sizeof(float));
}

void Tensor::fill_random(uint64_t seed) {
  uint64_t state = seed;
  for (int64_t i = 0; i < size_; ++i) {
    // The top 24 bits give m in [0, 2^24); m * 2^-23 - 1 lies in [-1, 1) on a 2^-23 grid, which
    // fp32 represents exactly, so no rounding can differ between machines.
    uint64_t m = splitmix64(state) >> 40;
    data_[i] = static_cast<float>(m) * 0x1p-23f - 1.0f;
  }
}

} // namespace convtune
