/// \file Channel-blocked tensor storage: the layout, an algorithm's output in it, and the
/// exterior a consumer's packing would have written.
#include "ir/tensor_layout.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "ir/error.h"

namespace convtune {

std::optional<TensorLayout> TensorLayout::of(const AbiBlocked& b, const std::vector<int64_t>& logical) {
  if (logical.size() != 4 || b.blocks.size() != 1 || b.blocks[0].first != 1 || b.shape.size() != 5) return std::nullopt;
  if (b.offsets.size() != 4 || b.offsets[0] != 0 || b.offsets[1] != 0) return std::nullopt;
  TensorLayout l;
  l.block = b.blocks[0].second;
  l.top = b.offsets[2];
  l.left = b.offsets[3];
  l.shape = b.shape;
  l.exterior = b.exterior_value;
  // The storage holds the whole logical tensor where the index puts it.
  if (l.shape[0] != logical[0] || l.shape[1] * l.block < logical[1] || l.shape[4] != l.block ||
      l.shape[2] < l.top + logical[2] || l.shape[3] < l.left + logical[3]) {
    return std::nullopt;
  }
  return l;
}

int64_t TensorLayout::elements() const {
  int64_t e = 1;
  for (int64_t d : shape) e *= d;
  return e;
}

std::vector<Expr> TensorLayout::index(const Expr& n, const Expr& c, const Expr& h, const Expr& w) const {
  const auto shifted = [](const Expr& e, int64_t by) { return by ? e + Expr(by) : e; };
  return {n, c / Expr(block), shifted(h, top), shifted(w, left), c % Expr(block)};
}

int64_t TensorLayout::offset(int64_t n, int64_t c, int64_t h, int64_t w) const {
  return (((n * shape[1] + c / block) * shape[2] + h + top) * shape[3] + w + left) * block + c % block;
}

std::string TensorLayout::letters(const std::string& plain) const {
  return plain + std::to_string(block) + char(std::tolower(static_cast<unsigned char>(plain.at(1))));
}

std::string TensorLayout::describe() const {
  char text[160];
  std::snprintf(text, sizeof text, "NCHW%lldc, rows %lld from %lld, columns %lld from %lld, exterior %g", (long long)block,
                (long long)shape[2], (long long)top, (long long)shape[3], (long long)left, exterior);
  return text;
}

Algorithm with_output_layout(const Algorithm& algorithm, const TensorLayout& layout, const std::vector<std::string>& scheduled) {
  Algorithm alg = algorithm;
  NestParam* out = nullptr;
  for (NestParam& p : alg.params) {
    if (p.written) out = &p;
  }
  internal_check(out && out->buffer->shape.size() == 4 && out->layout.size() == 4, "with_output_layout: no 4-D output");
  internal_check(!alg.stages.empty() && alg.stages.back().buffer == out->buffer, "with_output_layout: the last stage does not write the output");
  const BufferRef logical = out->buffer;
  const BufferRef stored = make_buffer(logical->name, layout.shape, MemoryScope::Param);
  AlgorithmStage& writer = alg.stages.back();
  std::vector<Expr> point;
  std::vector<Dim> dims;
  for (size_t d = 0; d < 4; ++d) {
    const std::string name(1, char(std::tolower(static_cast<unsigned char>(out->layout[d]))));
    point.push_back(Var::make(name));
    dims.push_back({name, logical->shape[d]});
  }
  if (std::find(scheduled.begin(), scheduled.end(), writer.name) != scheduled.end()) {
    const BufferRef result = make_buffer("result", logical->shape, MemoryScope::Heap);
    writer.buffer = result;
    AlgorithmStage store;
    store.name = "store";
    store.dims = dims;
    store.buffer = stored;
    store.index = layout.index(point[0], point[1], point[2], point[3]);
    store.init = Load::make(result, point);
    alg.stages.push_back(std::move(store));
  } else {
    internal_check(writer.index.size() == 4, "with_output_layout: the output's writer has no 4-D index");
    writer.buffer = stored;
    writer.index = layout.index(writer.index[0], writer.index[1], writer.index[2], writer.index[3]);
  }
  out->buffer = stored;
  out->layout = layout.letters(out->layout);
  return alg;
}

std::string ParamLayouts::describe() const {
  std::string s;
  if (output) s += "output " + output->describe();
  if (input) s += std::string(s.empty() ? "" : "; ") + "input " + input->describe();
  if (residual) s += std::string(s.empty() ? "" : "; ") + "residual " + residual->describe();
  return s;
}

void unblock(const float* storage, const TensorLayout& l, const std::vector<int64_t>& logical, float* dense) {
  for (int64_t n = 0; n < logical[0]; ++n) {
    for (int64_t c = 0; c < logical[1]; ++c) {
      for (int64_t h = 0; h < logical[2]; ++h) {
        for (int64_t w = 0; w < logical[3]; ++w) *dense++ = storage[l.offset(n, c, h, w)];
      }
    }
  }
}

} // namespace convtune
