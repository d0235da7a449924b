/// \file A blocked tensor's storage: where the logical elements lie, and the exterior the
/// runtime fills around them (every element not one of them, nothing else).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "runtime/network_ops.h"

using namespace convtune;

TEST_CASE("fill_exterior writes every element outside the logical tensor and none inside", "[runtime][layout]") {
  // 2 x 11 channels x 5 x 4 in blocks of 4 (the last block holds 3 channels, one spare lane),
  // rows 8 from 2, columns 7 from 1.
  TensorLayout l;
  l.block = 4;
  l.top = 2;
  l.left = 1;
  l.shape = {2, 3, 8, 7, 4};
  l.exterior = -std::numeric_limits<double>::infinity();
  const int64_t channels = 11, rows = 5, columns = 4;
  std::vector<float> storage(size_t(l.elements()));
  for (size_t i = 0; i < storage.size(); ++i) storage[i] = float(i);
  fill_exterior(storage.data(), l, channels, rows, columns);

  int64_t inside = 0;
  for (int64_t n = 0; n < 2; ++n) {
    for (int64_t cb = 0; cb < 3; ++cb) {
      for (int64_t h = 0; h < 8; ++h) {
        for (int64_t w = 0; w < 7; ++w) {
          for (int64_t lane = 0; lane < 4; ++lane) {
            const int64_t at = (((n * 3 + cb) * 8 + h) * 7 + w) * 4 + lane;
            const bool logical = cb * 4 + lane < channels && h >= 2 && h < 2 + rows && w >= 1 && w < 1 + columns;
            INFO(n << " " << cb << " " << h << " " << w << " " << lane);
            if (logical) {
              CHECK(storage[size_t(at)] == float(at));
              ++inside;
            } else {
              CHECK(std::isinf(storage[size_t(at)]));
            }
          }
        }
      }
    }
  }
  CHECK(inside == 2 * channels * rows * columns);

  // unblock reads the logical elements back in NCHW order.
  std::vector<float> dense(size_t(2 * channels * rows * columns));
  unblock(storage.data(), l, {2, channels, rows, columns}, dense.data());
  CHECK(dense[0] == float((((0 * 3 + 0) * 8 + 2) * 7 + 1) * 4 + 0));
  const int64_t last = (((1 * 3 + 2) * 8 + 2 + 4) * 7 + 1 + 3) * 4 + 2;  // n 1, channel 10, row 4, column 3
  CHECK(dense.back() == float(last));
}
