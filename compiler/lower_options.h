/// \file Options of the lowering pipeline (free of LLVM headers).
#pragma once

#include "ir/tensor_layout.h"

namespace convtune {

struct LowerOptions {
  /// Print the IR after each step to stderr (also on when CONVTUNE_DUMP_IR is set).
  bool dump_ir = false;
  /// Print each step's time to stderr (also on when CONVTUNE_LOG_PASSES is set).
  bool log_timings = false;
  /// Let LLVM's loop and SLP vectorizers run. Vectorized loops are widened by convtune itself;
  /// turning these off shows (and tests) that widening alone.
  bool llvm_vectorizers = true;
  /// Where a network keeps the kernel's tensors in channel blocks instead of dense: the output
  /// stored so (what the next kernel reads without packing), the input and residual read so.
  ParamLayouts layouts;
};

} // namespace convtune
