/// \file Winograd's minimal filtering F(m x m, 3 x 3): the transform matrices, built by the
/// Cook-Toom construction from m + 1 interpolation points and the point at infinity (Lavin &
/// Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016; the construction as in
/// their wincnn notes), so that for a tile d of (m + 2) x (m + 2) inputs and a 3 x 3 filter g,
///     Y = AT [ (G g G^T) . (BT d BT^T) ] AT^T
/// is the m x m correlation of d with g (. the element-wise product).
#pragma once

#include <cstdint>
#include <vector>

namespace convtune {

struct WinogradMatrices {
  int m = 0;      ///< output tile side
  int alpha = 0;  ///< input tile side, m + 2
  std::vector<std::vector<double>> at;  ///< m x alpha
  std::vector<std::vector<double>> g;   ///< alpha x 3
  std::vector<std::vector<double>> bt;  ///< alpha x alpha
};

/// The output tile sides convtune builds: 2, 4 and 6 (points 0, +-1, +-2, +-1/2).
const std::vector<int>& winograd_tiles();

/// The matrices of F(m x m, 3 x 3); InternalError for a tile side not in winograd_tiles().
const WinogradMatrices& winograd_matrices(int m);

} // namespace convtune
