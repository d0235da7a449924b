/// \file Temporaries grown to hold their reads and writes.
#include "compiler/storage.h"

#include <map>

#include "ir/ir_visitor.h"

namespace convtune {

namespace {

/// The packed layout of an input that `t` holds, or nullptr.
const PackedLayout* input_layout(const LoopNest& nest, const BufferRef& t) {
  for (const PackedLayout& l : nest.layouts) {
    if (l.packed == t && !l.written) return &l;
  }
  return nullptr;
}

} // namespace

LoopNest size_storage(const LoopNest& nest) {
  std::map<const Buffer*, BufferRef> grown;
  for (const BufferRef& t : nest.temporaries) {
    std::vector<int64_t> shape = t->shape;
    bool grows = false, holdable = true;
    for (const NestStage& stage : nest.stages) {
      // A tail's writes too, so that they need no guard; not into an exterior that must keep
      // the identity its readers rely on.
      std::vector<const AccessBox*> boxes;
      for (const AccessBox& box : stage.reads) boxes.push_back(&box);
      if (!t->exterior_identity) {
        for (const AccessBox& box : stage.writes) boxes.push_back(&box);
      }
      for (const AccessBox* b : boxes) {
        const AccessBox& box = *b;
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
    // A packed input's rows start on a cache line: its innermost dimension that is not a block
    // is padded until a row (with its blocks) is a multiple of 64 bytes. Vector loads along a
    // row then split across lines only where their start is unaligned itself (a tap's shift),
    // not on every row (a sparse kernel reads a plain NCHW copy, rows of w + pads floats).
    if (const PackedLayout* layout = input_layout(nest, t); holdable && layout && shape.size() > layout->blocks.size()) {
      const size_t row = shape.size() - layout->blocks.size() - 1;
      int64_t block_floats = 1;
      for (size_t d = row + 1; d < shape.size(); ++d) block_floats *= shape[d];
      while (shape[row] * block_floats * 4 % 64 != 0) {
        ++shape[row];
        grows = true;
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
