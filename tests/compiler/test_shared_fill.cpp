/// \file The cooperative fill of a GPU block's shared region, run here by the IR interpreter
/// (no GPU needed): every point of the region filled from its source, for vectors
/// of 1, 2 and 4 points a thread and blocks that do or do not divide the region; the width
/// chosen only where the source's rows and alignment allow; the vector fill widened.
#include <catch2/catch.hpp>

#include <limits>
#include <map>

#include "compiler/shared_fill.h"
#include "compiler/vectorize_loops.h"
#include "ir/ir_visitor.h"
#include "tests/ir_interpreter.h"

using namespace convtune;
using convtune::testing::Interpreter;

namespace {

Expr v(const std::string& n) { return Var::make(n); }

/// A region of `rows` x `cols` read from rows `row0`.. and columns `col0`.. of a 10 x 576 source.
struct Case {
  int64_t rows, cols, row0, col0;
};

const BufferRef& source() {
  static const BufferRef b = make_buffer("weights", {10, 576}, MemoryScope::Param);
  return b;
}

SharedFill region_fill(const Case& c, std::vector<LoopDim> threads) {
  return {"w", {c.rows, c.cols}, std::move(threads)};
}

Expr point_value(const SharedFill& fill, const Case& c) {
  return Load::make(source(), {Expr(c.row0) + v(fill_coordinate(fill, 0)), Expr(c.col0) + v(fill_coordinate(fill, 1))});
}

Stmt point_store(const SharedFill& fill, const Case& c, const BufferRef& region) {
  return Store::make(region, {v(fill_coordinate(fill, 0)), v(fill_coordinate(fill, 1))}, point_value(fill, c), false);
}

/// The fill inside its block's thread loops.
Stmt in_threads(const SharedFill& fill, Stmt s) {
  for (const LoopDim& t : fill.threads) s = For::make(t.name, 0, t.extent, t.kind, s);
  return s;
}

} // namespace

TEST_CASE("a shared region is filled from its source, in vectors of 1, 2 and 4", "[gpu][shared_fill]") {
  const std::vector<std::vector<LoopDim>> blocks = {
      {{"tx", 32, ForKind::GpuThreadX}, {"ty", 3, ForKind::GpuThreadY}},   // 96 threads: the last round partial
      {{"tx", 8, ForKind::GpuThreadX}},                                    // many rounds
      {{"tz", 2, ForKind::GpuThreadZ}, {"tx", 4, ForKind::GpuThreadX}, {"ty", 2, ForKind::GpuThreadY}},
      {{"tx", 512, ForKind::GpuThreadX}}};                                 // more threads than points
  const Case c{3, 36, 2, 72};
  for (const auto& threads : blocks) {
    for (int vector : {1, 2, 4}) {
      SharedFill fill = region_fill(c, threads);
      fill.vector = vector;
      const BufferRef region = make_buffer("w_shared", {c.rows, c.cols}, MemoryScope::GpuShared);
      // Each source element holds its own flat index; the region starts as NaN.
      Interpreter run;
      std::vector<float>& src = run.memory[source().get()];
      for (int64_t i = 0; i < source()->elements(); ++i) src.push_back(float(i));
      run.memory[region.get()].assign(size_t(region->elements()), std::numeric_limits<float>::quiet_NaN());
      run.run(in_threads(fill, shared_fill(fill, point_store(fill, c, region), 8)));
      INFO("threads " << threads.size() << ", vector " << vector);
      const std::vector<float>& filled = run.memory[region.get()];
      for (int64_t i = 0; i < c.rows; ++i) {
        for (int64_t j = 0; j < c.cols; ++j) CHECK(filled[size_t(i * c.cols + j)] == float((c.row0 + i) * 576 + c.col0 + j));
      }
    }
  }
}

TEST_CASE("a fill is as wide as its rows and its source's alignment allow", "[gpu][shared_fill]") {
  const std::vector<LoopDim> threads = {{"tx", 64, ForKind::GpuThreadX}};
  const auto width = [&](const Case& c) {
    const SharedFill fill = region_fill(c, threads);
    return shared_fill_vector(fill, point_value(fill, c), {});
  };
  CHECK(width({3, 36, 2, 72}) == 4);   // rows of 576 floats, columns from 72: 16-byte steps
  CHECK(width({3, 36, 2, 74}) == 2);   // from 74: 8-byte steps only
  CHECK(width({3, 36, 2, 73}) == 1);   // from 73: no vector lines up
  CHECK(width({3, 18, 2, 72}) == 2);   // rows of 18 points: a float4 would cross a row
  CHECK(width({3, 9, 2, 72}) == 1);
  // Not one load stepping by one element along the row: no vector.
  const SharedFill fill = region_fill({3, 36, 2, 72}, threads);
  const Expr x0 = v(fill_coordinate(fill, 0)), x1 = v(fill_coordinate(fill, 1));
  CHECK(shared_fill_vector(fill, Load::make(source(), {x0, x1 * Expr(2)}), {}) == 1);
  CHECK(shared_fill_vector(fill, Load::make(source(), {x1, x0}), {}) == 1);
  CHECK(shared_fill_vector(fill, Select::make(x1 < Expr(3), Load::make(source(), {x0, x1}), FloatImm::make(0.0)), {}) == 1);
  // A column start known only through a let (a block's channel step times 36 taps).
  const Expr let_start = Load::make(source(), {x0, v("c0") + x1});
  CHECK(shared_fill_vector(fill, let_start, [](const std::string& n) { return n == "c0" ? v("co") * Expr(36) : Expr(); }) == 4);
  CHECK(shared_fill_vector(fill, let_start, {}) == 1);
}

TEST_CASE("the vectorize pass turns a vector fill into vector loads and stores", "[gpu][shared_fill]") {
  const Case c{3, 36, 2, 72};
  SharedFill fill = region_fill(c, {{"tx", 32, ForKind::GpuThreadX}});
  fill.vector = 4;
  const BufferRef region = make_buffer("w_shared", {c.rows, c.cols}, MemoryScope::GpuShared);
  const Stmt widened = vectorize_loops(shared_fill(fill, point_store(fill, c, region), 8));
  struct Count : IRVisitor {
    using IRVisitor::visit;
    int vector_stores = 0, lane_loops = 0;
    void visit(const Store* s) override {
      vector_stores += s->value.lanes() == 4 && s->value.as<Load>() ? 1 : 0;
      IRVisitor::visit(s);
    }
    void visit(const For* f) override {
      lane_loops += f->name == "w_lane" ? 1 : 0;
      IRVisitor::visit(f);
    }
  } count;
  count.visit(widened);
  const int vector_stores = count.vector_stores, loops_left = count.lane_loops;
  CHECK(vector_stores > 0);
  CHECK(loops_left == 0);
}
