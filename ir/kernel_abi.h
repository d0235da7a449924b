/// \file The kernel ABI: what a compiled nest takes and needs, derived from the nest once.
///
/// Every consumer of a kernel (code generation, the JIT wrapper, the kernel runner, and the C
/// header writer of ahead-of-time compilation) reads the parameters, the workspace and the
/// stages from here, so they cannot disagree. A kernel NAME exports:
/// - `int NAME(params...)`: the convenience entry (input, weights, ..., output in the plain
///   layouts) that allocates its workspace, runs every stage and frees it;
/// - `int NAME_call(float* const* params, void* workspace)`: the same over a table of the
///   parameters and a caller's workspace (allocated when null);
/// - for kernels with weights, the entries of repeated inference with fixed weights:
///   `void NAME_pack_weights(const float* weights, float* packed)` writes the weights in the
///   kernel's own layout (`packed_weights_bytes`; a copy when the kernel packs none), and
///   `int NAME_run(params..., void* workspace)` takes that packed form in the weights' place and
///   runs every stage but the weights' packing over the caller's workspace: no allocation;
/// - for kernels that keep the input or the output re-laid out in blocks (`blocked`):
///   `int NAME_run_blocked(params..., void* workspace)`, NAME_run with those parameters in the
///   kernel's own layouts: the input's packing and the output's unpacking are skipped, the
///   caller's buffers stand for the temporaries they fill (the network issue chains layers so);
/// - `void NAME_stage(int64_t stage, float* const* buffers)`: one stage alone, over a table of
///   the parameters then the temporaries (for timing layout transforms apart).
/// The entries return 0, kKernelOutOfMemory when an allocating entry cannot allocate, or
/// kKernelCpuUnsupported when the kernel was compiled for CPU features this machine lacks
/// (checked on the first call, through libconvtune_rt; NAME_pack_weights then writes nothing).
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
constexpr int kKernelCpuUnsupported = 2;

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

/// A parameter as NAME_run_blocked takes it: in the kernel's own layout, the one its packed
/// temporary has. Element (i0, i1, ...) of the parameter is at index
/// [i0/b0 or i0+offset0]...[i_d % b_d for each block], the blocks innermost in order; every
/// other element of a read one must hold `exterior_value` (the padding, the spare channels of the
/// last block); a written one's other elements are left undefined.
struct AbiBlocked {
  int param = -1;      ///< the parameter it stands for
  int temporary = -1;  ///< the kernel's temporary in that layout
  int stage = -1;      ///< the stage converting between them (skipped by NAME_run_blocked)
  std::string layout;  ///< e.g. "NCHW16c"
  std::vector<int64_t> shape;  ///< the blocked tensor's shape
  std::vector<std::pair<int, int64_t>> blocks;  ///< (dimension of the parameter, block), innermost last
  std::vector<int64_t> offsets;  ///< per dimension of the parameter
  double exterior_value = 0;
};

struct AbiStage {
  std::string name;
  StageKind kind = StageKind::Compute;
  /// On a GPU, each stage is a kernel `NAME_sI` (I its index) taking the buffer table's pointers
  /// (parameters, then temporaries at their workspace offsets) as arguments, launched on this
  /// grid of blocks of these threads: the extents of its loops bound to blockIdx.x|y|z and
  /// threadIdx.x|y|z (1 where none is bound). A CPU stage has 1s.
  int64_t grid[3] = {1, 1, 1};
  int64_t block[3] = {1, 1, 1};
  int64_t shared_bytes = 0;  ///< the shared memory a block of the kernel holds (each buffer 16-byte aligned)
  bool on_gpu() const;       ///< whether any loop of the stage is bound to the GPU
};

struct KernelAbi {
  static constexpr int64_t kWorkspaceAlign = 64;
  /// What a GPU kernel assumes of every pointer it is given (the driver's allocations are
  /// 256-byte aligned): its vector loads of 4 floats rely on it.
  static constexpr int64_t kGpuBufferAlign = 16;

  std::string name;                      ///< the kernel's symbol
  std::vector<AbiParam> params;          ///< in the entry's argument order
  std::vector<AbiTemporary> temporaries; ///< in the stage table's order, after the params
  std::vector<AbiStage> stages;          ///< in the order they run
  int64_t workspace_bytes = 0;
  int weights_param = -1;   ///< the parameter called "weights"; -1 when there is none
  int packed_weights = -1;  ///< the temporary the weights' packing writes; -1 when none
  int64_t packed_weights_bytes = 0;  ///< what NAME_pack_weights writes (the weights' own size without packing)
  std::vector<AbiBlocked> blocked;   ///< the parameters NAME_run_blocked takes in blocks; empty: no such entry

  bool has_stage(StageKind kind) const;
};

/// The number of elements of a dense tensor of `shape`.
int64_t elements_of(const std::vector<int64_t>& shape);

/// The ABI of `nest`: its three parameters, its temporaries packed into one workspace (each
/// slot rounded up to kWorkspaceAlign bytes), its stages.
KernelAbi kernel_abi(const LoopNest& nest);

void to_json(nlohmann::json& j, const KernelAbi& abi);

/// The GPU kernel of stage `index` of the kernel `name`: NAME_sINDEX.
std::string gpu_kernel_name(const std::string& name, size_t index);

} // namespace convtune
