/// \file The C header of an ahead-of-time kernel, written from its kernel ABI (ir/kernel_abi.h)
/// so that it cannot disagree with the object: the entries' prototypes, each parameter's shape
/// and layout as a comment and its element count as a constant, the workspace size, the return
/// codes, and the thread count of the runtime. Plain C99 that also compiles as C++.
#pragma once

#include <string>
#include <vector>

#include "ir/kernel_abi.h"

namespace convtune {

/// What the header says about where the kernel came from (in its opening comment).
struct HeaderProvenance {
  std::string workload;  ///< the workload's spec
  std::string key;       ///< its database key
  std::string target;    ///< the target's key
  std::string schedule;  ///< "template NAME {config}", or how the schedule was chosen
};

/// A kernel the header declares: the ABI of its entries (whose symbols start with abi.name)
/// and where it came from.
struct HeaderKernel {
  KernelAbi abi;
  HeaderProvenance from;
};

/// One header declaring every kernel of `kernels`; `guard` names its include guard.
std::string c_header(const std::vector<HeaderKernel>& kernels, const std::string& guard);

/// The header of one kernel.
std::string c_header(const KernelAbi& abi, const HeaderProvenance& from);

/// True when `name` can name a C function: a letter or '_', then letters, digits and '_', not
/// a C keyword.
bool is_c_identifier(const std::string& name);

} // namespace convtune
