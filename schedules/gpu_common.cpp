/// \file What the GPU templates share (schedules/gpu_templates.h).
#include "schedules/gpu_templates.h"

#include <algorithm>

#include "ir/error.h"

namespace convtune::gpu {

void append_elementwise(const std::string& stage, std::vector<Step>& steps) {
  std::vector<Step> st = {Step::fuse("n", "k", "nk"), Step::fuse("nk", "p", "nkp"), Step::fuse("nkp", "q", "point"),
                          Step::split("point", 256, "point_block", "point_thread"),
                          Step::bind("point_block", "blockIdx.x"), Step::bind("point_thread", "threadIdx.x")};
  for (Step& s : st) {
    s.stage = stage;
    steps.push_back(s);
  }
}

void fuse_block_index(bool grouped, std::vector<Step>& steps) {
  if (grouped) {
    steps.push_back(Step::fuse("n", "g", "ng"));
    steps.push_back(Step::fuse("ng", "ko", "block"));
  } else {
    steps.push_back(Step::fuse("n", "ko", "block"));
  }
}

std::vector<int64_t> powers_covering(int64_t extent, int64_t limit) {
  std::vector<int64_t> out;
  for (int64_t v = 1; v <= limit; v *= 2) {
    out.push_back(v);
    if (v >= extent) break;
  }
  return out;
}

int64_t at_most(const std::vector<int64_t>& values, int64_t want) {
  int64_t best = values.front();
  for (int64_t v : values) {
    if (v <= want) best = std::max(best, v);
  }
  return best;
}

const std::vector<int64_t>& knob_values(const KnobSpace& space, const std::string& name) {
  for (const Knob& k : space.knobs) {
    if (k.name == name) return k.values;
  }
  throw InternalError(space.template_name + ": no knob " + name);
}

} // namespace convtune::gpu
