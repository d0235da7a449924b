/// \file The GPU templates (NVIDIA GPUs through NVPTX) and what they share.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "schedules/schedule_template.h"

namespace convtune::gpu {

std::unique_ptr<ScheduleTemplate> make_direct_template();
std::unique_ptr<ScheduleTemplate> make_im2col_gemm_template();
std::unique_ptr<ScheduleTemplate> make_depthwise_template();

/// The floats a block may keep in shared memory (ir/ir.h).
constexpr int64_t kSharedFloats = kGpuSharedBytesPerBlock / int64_t(sizeof(float));

/// Steps fusing the image `n`, the group `g` (when `grouped`) and the channel block `ko`, adjacent
/// in that order, into one loop `block`: one block index (blockIdx.x, whose range is the widest).
void fuse_block_index(bool grouped, std::vector<Step>& steps);

/// Steps that run an elementwise stage over n, k, p, q (a convolution's epilogue) on the GPU:
/// its points fused and split into blocks of 256 threads.
void append_elementwise(const std::string& stage, std::vector<Step>& steps);

/// The powers of two from 1 up to the first one at or above `extent`, at most `limit`: a
/// thread or register knob's values.
std::vector<int64_t> powers_covering(int64_t extent, int64_t limit);

/// The largest of `values` at most `want` (the smallest when none is).
int64_t at_most(const std::vector<int64_t>& values, int64_t want);

/// The values of the knob `name` of `space` (InternalError when it has none).
const std::vector<int64_t>& knob_values(const KnobSpace& space, const std::string& name);

} // namespace convtune::gpu
