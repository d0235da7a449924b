/// \file The cooperative fill of a shared region (see the header).
#include "compiler/shared_fill.h"

#include <algorithm>

#include "compiler/lane_analysis.h"
#include "ir/algorithm.h"
#include "ir/ir_visitor.h"

namespace convtune {

namespace {

Expr var(const std::string& n) { return Var::make(n); }

int64_t elements_of(const std::vector<int64_t>& extent) {
  int64_t n = 1;
  for (int64_t e : extent) n *= e;
  return n;
}

} // namespace

std::string fill_coordinate(const SharedFill& fill, size_t d) { return fill.name + "_x" + std::to_string(d); }

int shared_fill_vector(const SharedFill& fill, const Expr& value, const LetLookup& lets) {
  const Load* load = value.as<Load>();
  if (fill.extent.empty() || !load || load->buffer->scope == MemoryScope::Constant) return 1;
  const std::string last = fill_coordinate(fill, fill.extent.size() - 1);
  LaneInfo lanes;
  lanes.lanes = 4;
  lanes.strides[last] = 1;
  bool affine = true;
  if (flat_stride(*load->buffer, load->indices, lanes, affine) != 1 || !affine) return 1;
  // Where each vector starts the last coordinate is a multiple of the width; what else the
  // address holds must be a multiple of it too.
  const Expr start = substitute(flat_index(*load->buffer, load->indices), last, Expr(0));
  int vector = int(power_of_two_factor(start, 4, [&](const std::string& n) {
    if (n.rfind(fill.name + "_x", 0) == 0) return Expr();  // a coordinate: any value
    return lets ? lets(n) : Expr();
  }));
  while (fill.extent.back() % vector != 0) vector /= 2;
  return vector;
}

Stmt shared_fill(const SharedFill& fill, const Stmt& point, int64_t max_unrolled_rounds) {
  std::vector<const LoopDim*> by_axis;  // x, then y, then z
  for (ForKind k : {ForKind::GpuThreadX, ForKind::GpuThreadY, ForKind::GpuThreadZ}) {
    for (const LoopDim& t : fill.threads) {
      if (t.kind == k) by_axis.push_back(&t);
    }
  }
  Expr tid = 0;
  int64_t count = 1;
  for (const LoopDim* t : by_axis) {
    tid = tid + var(t->name) * Expr(count);
    count *= t->extent;
  }
  const int64_t vector = fill.vector, elements = elements_of(fill.extent);
  internal_check(vector >= 1 && fill.extent.back() % vector == 0, "shared_fill: a vector across rows");
  // `group`: which vector of the region's points (row-major) the thread fills this round. A
  // vector's points share every coordinate but the last, which steps by one across its lanes
  // (and the coordinates are written so that interval arithmetic bounds them exactly).
  const std::string group = fill.name + "_group", round = fill.name + "_round", lane = fill.name + "_lane";
  const size_t last = fill.extent.size() - 1;
  const int64_t groups = elements / vector;
  std::vector<LetBinding> outer;
  int64_t stride = groups;
  for (size_t d = 0; d < last; ++d) {
    stride /= fill.extent[d];
    outer.push_back({fill_coordinate(fill, d), var(group) / Expr(stride) % Expr(fill.extent[d])});
  }
  const Expr in_row = var(group) % Expr(fill.extent[last] / vector);
  Stmt body;
  if (vector == 1) {
    outer.push_back({fill_coordinate(fill, last), in_row});
    body = wrap_lets(outer, point);
  } else {
    body = wrap_lets(outer, For::make(lane, 0, vector, ForKind::Vectorized,
                                      LetStmt::make(fill_coordinate(fill, last), in_row * Expr(vector) + var(lane), point)));
  }
  if (groups % count != 0) body = IfThenElse::make(var(group) < Expr(groups), body);
  body = LetStmt::make(group, var(round) * Expr(count) + tid, body);
  const int64_t rounds = (groups + count - 1) / count;
  return For::make(round, 0, rounds, rounds <= max_unrolled_rounds ? ForKind::Unrolled : ForKind::Serial, body);
}

} // namespace convtune
