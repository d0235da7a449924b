/// \file Temporaries grown to hold their reads and writes.
#include "compiler/storage.h"

#include <map>

#include "ir/ir_visitor.h"

namespace convtune {

LoopNest size_storage(const LoopNest& nest) {
  std::map<const Buffer*, BufferRef> grown;
  for (const BufferRef& t : nest.temporaries) {
    std::vector<int64_t> shape = t->shape;
    bool grows = false, holdable = true;
    for (const NestStage& stage : nest.stages) {
      // A tail's writes too, so that they need no guard; not into an exterior that must keep
      // the identity its readers rely on.
      std::vector<AccessBox> boxes = stage.reads;
      if (!t->exterior_identity) boxes.insert(boxes.end(), stage.writes.begin(), stage.writes.end());
      for (const AccessBox& box : boxes) {
        if (box.buffer != t) continue;
        // Below zero or unbounded is not an over-run a larger buffer can hold.
        if (!box.bounded) holdable = false;
        for (size_t d = 0; holdable && d < shape.size(); ++d) {
          if (box.lo[d] < 0) {
            holdable = false;
          } else if (box.hi[d] >= shape[d]) {
            shape[d] = box.hi[d] + 1;
            grows = true;
          }
        }
      }
    }
    if (holdable && grows) grown[t.get()] = make_buffer(t->name, shape, t->scope, t->exterior_identity);
  }
  if (grown.empty()) return nest;
  const auto larger = [&](const BufferRef& b) {
    auto it = grown.find(b.get());
    return it == grown.end() ? b : it->second;
  };
  LoopNest out = map_stages(nest, [&](const Stmt& s) { return replace_buffers(s, larger); });
  for (BufferRef& t : out.temporaries) t = larger(t);
  for (PackedLayout& l : out.layouts) l.packed = larger(l.packed);
  for (NestStage& stage : out.stages) {
    for (AccessBox& box : stage.reads) box.buffer = larger(box.buffer);
    for (AccessBox& box : stage.writes) box.buffer = larger(box.buffer);
  }
  return out;
}

} // namespace convtune
