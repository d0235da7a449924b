/// \file Aligned fp32 tensors and their deterministic random fill.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace convtune {

/// A 64-byte aligned, zero-initialised block of fp32 values; movable, not copyable.
class Tensor {
public:
  Tensor() = default;
  explicit Tensor(int64_t elements);
  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  int64_t size() const { return size_; }
  float& operator[](int64_t i) { return data_[i]; }
  float operator[](int64_t i) const { return data_[i]; }
  void fill_zero();
  /// Uniform values in [-1, 1) from a seeded generator: the same seed gives the same values
  /// on every machine.
  void fill_random(uint64_t seed);

private:
  struct FreeDeleter {
    void operator()(float* p) const;
  };
  std::unique_ptr<float[], FreeDeleter> data_;
  int64_t size_ = 0;
};

} // namespace convtune
