/// \file The boxes each stage reads.
#include "compiler/bounds_inference.h"

#include <algorithm>

#include "compiler/scoped_mutator.h"

namespace convtune {

namespace {

/// Widens the box of `buffer` in `boxes` to hold an access at `indices` where `scope` stands.
void add_access(std::vector<AccessBox>& boxes, const BufferRef& buffer, const std::vector<Expr>& indices, const NestScope& scope) {
  auto it = std::find_if(boxes.begin(), boxes.end(), [&](const AccessBox& b) { return b.buffer == buffer; });
  if (it == boxes.end()) {
    const size_t dims = indices.size();
    boxes.push_back({buffer, std::vector<int64_t>(dims, std::numeric_limits<int64_t>::max()),
                     std::vector<int64_t>(dims, std::numeric_limits<int64_t>::min()), true});
    it = boxes.end() - 1;
  }
  for (size_t d = 0; d < indices.size(); ++d) {
    const Interval i = bounds_of(scope.in_loops(indices[d]), scope.ranges);
    if (!i.bounded()) {
      it->bounded = false;
      continue;
    }
    it->lo[d] = std::min(it->lo[d], i.lo);
    it->hi[d] = std::max(it->hi[d], i.hi);
  }
}

} // namespace

LoopNest infer_bounds(const LoopNest& nest) {
  LoopNest out = nest;
  for (NestStage& stage : out.stages) {
    stage.reads.clear();
    stage.writes.clear();
    for_each_store(stage.body, [&](const Store* s, const NestScope& scope) {
      for (const Expr& i : s->indices) {
        for (const Load* l : loads_in(i)) add_access(stage.reads, l->buffer, l->indices, scope);
      }
      for (const Load* l : loads_in(s->value)) add_access(stage.reads, l->buffer, l->indices, scope);
      add_access(stage.writes, s->buffer, s->indices, scope);
    });
  }
  return out;
}

} // namespace convtune
