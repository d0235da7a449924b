/// \file The roofline of a CPU target: peak FP32 FLOP/s and streaming bandwidth for a thread
/// count, measured once by microbenchmarks and cached on disk by CPU model.
#pragma once

#include <string>

#include "targets/target.h"

namespace convtune {

struct Roofline {
  double peak_gflops = 0;    ///< FMA throughput with enough independent accumulators
  double bandwidth_gbs = 0;  ///< streaming triad over arrays far larger than the last cache
  std::string source;        ///< "measured", "cache FILE" or "environment"

  /// The attainable GFLOP/s at an arithmetic intensity (FLOP/byte): min(peak, ai * bw).
  double bound_gflops(double intensity) const;
};

/// The roofline for `threads` threads (a GPU's from its driver's attributes, whatever the
/// count; zeros, its source saying why, where no driver is found). CONVTUNE_PEAK_GFLOPS and CONVTUNE_PEAK_GBS override a CPU's; otherwise it is read from $XDG_CACHE_HOME/convtune/roofline.json (or ~/.cache/...),
/// keyed by CPU model and thread count, and measured (about a second) when missing.
Roofline roofline(const Target& target, int threads);

} // namespace convtune
