/// \file The kernel ABI: what a compiled nest takes and needs, derived from the nest once.
///
/// Every consumer of a kernel (code generation, the JIT wrapper, the kernel runner, and the C
/// header writer of ahead-of-time compilation) reads the parameters, the workspace and the
/// stages from here, so they cannot disagree. A kernel exports:
/// - `int NAME_run(const float* input, const float* weights, float* output, void* workspace)`:
///   runs the stages in order with the temporaries carved out of `workspace` (at least
///   `workspace_bytes`, 64-byte aligned); no allocation;
/// - `int NAME(const float* input, const float* weights, float* output)`: the convenience entry
///   that allocates the workspace, calls NAME_run and frees it;
/// - `void NAME_stage(int64_t stage, float* const* buffers)`: one stage alone, over a table of
///   the parameters then the temporaries (for timing layout transforms apart).
/// The entries return 0, or kKernelOutOfMemory when the convenience entry cannot allocate.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "ir/ir.h"

namespace convtune {

/// Return codes of the kernel entries.
constexpr int kKernelOk = 0;
constexpr int kKernelOutOfMemory = 1;

/// A parameter of the entry: a dense row-major fp32 tensor the caller owns.
struct AbiParam {
  std::string name;              ///< "input", "weights", "output"
  std::vector<int64_t> shape;
  std::string layout;            ///< the dimension letters outermost first, e.g. "NCHW"
  bool written = false;          ///< the kernel writes it (the output); others are only read
};

/// A temporary of the kernel, placed in the workspace.
struct AbiTemporary {
  std::string name;
  std::vector<int64_t> shape;
  int64_t offset_bytes = 0;      ///< from the workspace's start; a multiple of kWorkspaceAlign
  int64_t bytes = 0;
};

struct AbiStage {
  std::string name;
  StageKind kind = StageKind::Compute;
};

struct KernelAbi {
  static constexpr int64_t kWorkspaceAlign = 64;

  std::string name;                      ///< the kernel's symbol
  std::vector<AbiParam> params;          ///< in the entry's argument order
  std::vector<AbiTemporary> temporaries; ///< in the stage table's order, after the params
  std::vector<AbiStage> stages;          ///< in the order NAME_run runs them
  int64_t workspace_bytes = 0;

  bool has_stage(StageKind kind) const;
};

/// The ABI of `nest`: its three parameters, its temporaries packed into one workspace (each
/// slot rounded up to kWorkspaceAlign bytes), its stages.
KernelAbi kernel_abi(const LoopNest& nest);

void to_json(nlohmann::json& j, const KernelAbi& abi);

} // namespace convtune
