/// \file Loads of blocked inputs re-indexed into their layout.
#include "compiler/input_layouts.h"

#include <algorithm>

#include "ir/error.h"
#include "ir/ir_visitor.h"

namespace convtune {

namespace {

LoopNest read_blocked(LoopNest nest, const std::string& name, const TensorLayout& layout) {
  NestParam* param = nullptr;
  for (NestParam& p : nest.params) {
    if (p.buffer->name == name && !p.written) param = &p;
  }
  internal_check(param && param->buffer->shape.size() == 4 && param->layout.size() == 4,
                 "read_inputs_blocked: no 4-D parameter " + name);
  struct Relayout : IRMutator {
    const Buffer* logical;
    BufferRef stored;
    const TensorLayout* layout;
    using IRMutator::mutate;
    Expr visit(const Load* op, const Expr& self) override {
      if (op->buffer.get() != logical) return IRMutator::visit(op, self);
      std::vector<Expr> i;
      for (const Expr& e : op->indices) i.push_back(mutate(e));
      return Load::make(stored, layout->index(i[0], i[1], i[2], i[3]));
    }
  } relayout;
  const BufferRef logical = param->buffer;
  relayout.logical = logical.get();
  relayout.stored = make_buffer(name, layout.shape, MemoryScope::Param);
  relayout.layout = &layout;
  for (NestStage& s : nest.stages) s.body = relayout.mutate(s.body);
  param->buffer = relayout.stored;
  param->layout = layout.letters(param->layout);
  nest.layouts.erase(std::remove_if(nest.layouts.begin(), nest.layouts.end(), [&](const PackedLayout& l) { return l.original == logical; }),
                     nest.layouts.end());
  return nest;
}

} // namespace

LoopNest read_inputs_blocked(const LoopNest& nest, const ParamLayouts& layouts) {
  LoopNest out = nest;
  if (layouts.input) out = read_blocked(std::move(out), "input", *layouts.input);
  if (layouts.residual) out = read_blocked(std::move(out), "residual", *layouts.residual);
  return out;
}

} // namespace convtune
