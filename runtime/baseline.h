/// \file Peer implementations of a convolution for `convtune bench`: oneDNN (when installed)
/// and im2col + Eigen GEMM. Each separates what it does outside the timed region (layout
/// reorders, weight preparation) from the timed execution.
#pragma once

#include <memory>
#include <string>

#include "ir/workload.h"
#include "runtime/tensor.h"

namespace convtune {

class Baseline {
public:
  virtual ~Baseline() = default;
  /// Reorders the NCHW input and KCRS weights into the peer's layouts (not timed as the kernel).
  virtual void prepare(const Tensor& input, const Tensor& weights) = 0;
  /// The convolution alone: what is timed.
  virtual void execute() = 0;
  /// Writes the result as NKPQ into `output` (after execute).
  virtual void finish(Tensor& output) = 0;
  /// The peer's own name for what it runs (e.g. oneDNN's implementation), for the table.
  virtual std::string detail() const { return ""; }
};

/// Waits until the OpenMP threads of a peer (oneDNN, Eigen) have stopped spinning after their
/// last parallel region, so the next kernel timed does not share the cores with them. Measured
/// on C2 at 2 threads: without it convtune's row read 133 instead of 187 GFLOP/s.
void settle_openmp_threads();

/// True when convtune was built with oneDNN (libdnnl-dev at configure time).
bool onednn_available();
/// oneDNN's convolution_forward with format `any` for all tensors, on `threads` OpenMP
/// threads; nullptr when oneDNN is not available.
std::unique_ptr<Baseline> make_onednn_baseline(const Workload& wl, int threads);
/// im2col into a column matrix, then one Eigen GEMM per group and image.
std::unique_ptr<Baseline> make_im2col_baseline(const Workload& wl, int threads);

} // namespace convtune
