/// \file The GPU templates (NVIDIA GPUs through NVPTX) and what they share.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "schedules/schedule_template.h"

namespace convtune::gpu {

std::unique_ptr<ScheduleTemplate> make_direct_template();

/// Steps that run an elementwise stage over n, k, p, q (a convolution's epilogue) on the GPU:
/// its points fused and split into blocks of 256 threads.
void append_elementwise(const std::string& stage, std::vector<Step>& steps);

} // namespace convtune::gpu
