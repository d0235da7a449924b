/// \file Layout packing: packed indices, bounds-sized packed buffers, pack and unpack stages.
#include "compiler/layout_packing.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <numeric>

#include "ir/error.h"
#include "ir/ir_visitor.h"

namespace convtune {

namespace {

Expr var(const std::string& n) { return Var::make(n); }

/// The extent a packed dimension needs to hold every index the stage uses.
int64_t needed(const Expr& index, int64_t at_least, const VarRanges& ranges) {
  Interval i = bounds_of(index, ranges);
  internal_check(i.bounded() && i.lo >= 0, "layout packing: unbounded packed index " + std::to_string(i.hi));
  return std::max(i.hi + 1, at_least);
}

/// Loop names of a packed tensor's dimensions: the layout's letters, "b" for a block's outer
/// index, "i" for its inner one (NCHW[x]c: n, cb, h, w, ci).
std::vector<std::string> packed_loop_names(const PackSpec& spec) {
  std::vector<std::string> names;
  for (size_t d = 0; d < spec.original->shape.size(); ++d) {
    std::string letter(1, char(std::tolower(static_cast<unsigned char>(d < spec.layout.size() ? spec.layout[d] : 'x'))));
    names.push_back(spec.block_of(d) ? letter + "b" : letter);
  }
  for (const auto& [d, b] : spec.blocks) {
    names.push_back(std::string(1, char(std::tolower(static_cast<unsigned char>(spec.layout[d])))) + "i");
  }
  return names;
}

/// Loops over `extents` named `names`, the first `fused` (at most all) fused into one parallel loop.
Stmt parallel_nest(const std::vector<std::string>& names, const std::vector<int64_t>& extents, std::vector<Expr>& coords,
                   const std::function<Stmt()>& body, size_t fused = 2) {
  fused = std::max<size_t>(1, std::min(fused, names.size()));
  std::string fused_name = names[0];
  int64_t fused_extent = extents[0];
  for (size_t d = 1; d < fused; ++d) {
    fused_name += "_" + names[d];
    fused_extent *= extents[d];
  }
  // The fused index, outermost dimension slowest.
  coords.assign(names.size(), Expr());
  int64_t inner = fused_extent;
  for (size_t d = 0; d < fused; ++d) {
    inner /= extents[d];
    Expr c = inner > 1 ? var(fused_name) / Expr(inner) : var(fused_name);
    coords[d] = d > 0 ? c % Expr(extents[d]) : c;
  }
  for (size_t d = fused; d < names.size(); ++d) coords[d] = var(names[d]);
  Stmt s = body();
  for (size_t d = names.size(); d-- > fused;) s = For::make(names[d], 0, extents[d], ForKind::Serial, s);
  return For::make(fused_name, 0, fused_extent, ForKind::Parallel, s);
}

/// `e` clamped into [0, extent): keeps a load in bounds where a select discards it.
Expr clamp(const Expr& e, int64_t extent) { return max(min(e, Expr(extent - 1)), Expr(0)); }

} // namespace

/// The index of `spec.packed` for an access of the original at `index`, and (the first time)
/// the packed buffer, sized by bounds inference to hold every index the stage uses.
std::vector<Expr> packed_index(PackSpec& spec, const std::vector<Expr>& index, const std::vector<LetBinding>& lets,
                               const VarRanges& ranges) {
  std::vector<Expr> value(index.size());
  for (size_t d = 0; d < index.size(); ++d) value[d] = spec.uses_value(d) ? substitute_lets(index[d], lets) : index[d];
  if (spec.offsets.empty()) {
    spec.offsets.assign(index.size(), 0);
    for (size_t d : spec.exterior_dims) {
      const Interval i = bounds_of(value[d], ranges);
      internal_check(i.bounded(), "layout packing: unbounded index of " + spec.original->name);
      spec.offsets[d] = std::max<int64_t>(0, -i.lo);
    }
  }
  std::vector<Expr> outer, inner;
  for (size_t d = 0; d < index.size(); ++d) {
    if (const int64_t b = spec.block_of(d)) {
      outer.push_back(value[d] / Expr(b));
    } else if (spec.exterior_dims.count(d)) {
      outer.push_back(spec.offsets[d] ? value[d] + Expr(spec.offsets[d]) : value[d]);
    } else {
      outer.push_back(value[d]);
    }
  }
  for (const auto& [d, b] : spec.blocks) inner.push_back(value[d] % Expr(b));
  if (!spec.packed) {
    std::vector<int64_t> shape;
    for (size_t d = 0; d < outer.size(); ++d) {
      // A written tensor is unpacked whole: its packed form holds at least all of it.
      const int64_t b = spec.block_of(d);
      const int64_t whole = spec.written ? (b ? (spec.original->shape[d] + b - 1) / b : spec.original->shape[d]) : 1;
      shape.push_back(needed(outer[d], whole, ranges));
    }
    for (const auto& block : spec.blocks) shape.push_back(block.second);
    // A read tensor's pack fills what lies outside it with the reading fold's identity.
    spec.packed = make_buffer(spec.original->name + "_packed" + spec.suffix, shape, MemoryScope::Heap, /*exterior_identity=*/!spec.written);
  }
  outer.insert(outer.end(), inner.begin(), inner.end());
  return outer;
}

Stmt pack_stage(const PackSpec& spec) {
  const std::vector<int64_t>& shape = spec.packed->shape;
  const size_t dims = spec.original->shape.size();
  std::vector<Expr> c;
  return parallel_nest(packed_loop_names(spec), shape, c, [&] {
    std::vector<Expr> load_index(dims), conds;
    for (size_t d = 0; d < dims; ++d) {
      Expr coord = c[d];
      int64_t hi = shape[d] - 1;
      if (const int64_t b = spec.block_of(d)) {
        for (size_t j = 0; j < spec.blocks.size(); ++j) {
          if (spec.blocks[j].first == d) coord = coord * Expr(b) + c[dims + j];
        }
        hi = shape[d] * b - 1;
      }
      const int64_t off = spec.offsets.empty() ? 0 : spec.offsets[d];
      if (off) coord = coord - Expr(off);
      const int64_t extent = spec.original->shape[d];
      if (off) conds.push_back(coord >= Expr(0));
      if (hi - off >= extent) conds.push_back(coord < Expr(extent));
      load_index[d] = off || hi - off >= extent ? clamp(coord, extent) : coord;
    }
    const Expr inside = all_of(conds);
    Expr value = Load::make(spec.original, load_index);
    if (inside.defined()) value = Select::make(inside, value, FloatImm::make(spec.exterior_value));
    return Store::make(spec.packed, c, value, false);
  }, shape.size() >= 4 ? 3 : 2);  // the rows too, so that one channel block still spreads over the threads
}

/// original[...] = packed at that element, over the original's extent only. The consumer may
/// store anywhere (a blocked output's index): it is computed at every point of its own.
bool unpack_can_compute(const AlgorithmStage& consumer, const BufferRef& produced) {
  if (consumer.update || consumer.dims.size() != produced->shape.size()) return false;
  for (size_t d = 0; d < consumer.dims.size(); ++d) {
    if (consumer.dims[d].extent != produced->shape[d]) return false;
  }
  // Every read of `produced` is at the consumer's own point.
  bool at_point = true, reads = false;
  struct Check : IRVisitor {
    const AlgorithmStage* consumer;
    const Buffer* produced;
    bool *at_point, *reads;
    using IRVisitor::visit;
    void visit(const Load* op) override {
      if (op->buffer.get() == produced) {
        *reads = true;
        for (size_t d = 0; d < op->indices.size(); ++d) {
          const Var* v = op->indices[d].as<Var>();
          if (!v || v->name != consumer->dims[d].name) *at_point = false;
        }
      }
      IRVisitor::visit(op);
    }
  } c;
  c.consumer = &consumer;
  c.produced = produced.get();
  c.at_point = &at_point;
  c.reads = &reads;
  c.visit(consumer.init);
  return reads && at_point;
}

namespace {

/// The store of the original (or of the consumer computed inline) at point `c` of the original,
/// read from the packed form at `packed` (by default, c's blocks and lanes).
Stmt unpack_store(const PackSpec& spec, const AlgorithmStage* consumer, const std::vector<Expr>& c,
                  std::vector<Expr> packed = {}) {
  const std::vector<int64_t>& shape = spec.original->shape;
  if (packed.empty()) {
    for (size_t d = 0; d < shape.size(); ++d) {
      const int64_t b = spec.block_of(d);
      packed.push_back(b ? c[d] / Expr(b) : c[d]);
    }
    for (const auto& [d, b] : spec.blocks) packed.push_back(c[d] % Expr(b));
  }
  Expr value = Load::make(spec.packed, packed);
  if (!consumer) return Store::make(spec.original, c, value, false);
  // The consumer's definition at this point, its read of the original from the packed form.
  return consumer_store_at(*consumer, *spec.original, c, value);
}

} // namespace

Stmt consumer_store_at(const AlgorithmStage& consumer, const Buffer& produced, const std::vector<Expr>& coords,
                       const Expr& value) {
  struct Inline : IRMutator {
    const Buffer* produced;
    Expr value;
    using IRMutator::mutate;
    Expr visit(const Load* op, const Expr& self) override {
      return op->buffer.get() == produced ? value : IRMutator::visit(op, self);
    }
  } inline_read;
  inline_read.produced = &produced;
  inline_read.value = value;
  Expr result = inline_read.mutate(consumer.init);
  std::vector<Expr> at = consumer.index;
  // Through placeholders: a coordinate may name another of the consumer's dimensions.
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t d = 0; d < coords.size(); ++d) {
      const std::string placeholder = "consumer." + std::to_string(d);
      const std::string& from = pass == 0 ? consumer.dims[d].name : placeholder;
      const Expr to = pass == 0 ? Var::make(placeholder) : coords[d];
      result = substitute(result, from, to);
      for (Expr& i : at) i = substitute(i, from, to);
    }
  }
  return Store::make(consumer.buffer, at, result, false);
}

Stmt unpack_stage(const PackSpec& spec, const AlgorithmStage* consumer) {
  const std::vector<int64_t>& shape = spec.original->shape;
  std::vector<std::string> names;
  for (size_t d = 0; d < shape.size(); ++d) {
    names.push_back(std::string(1, char(std::tolower(static_cast<unsigned char>(spec.layout[d])))));
  }
  // A consumer storing in channel blocks of its own (a network's tensor kept blocked for the next
  // kernel): the channels' lanes go innermost, vectorized, their blocks just outside the
  // innermost dimension, so that a run of lanes of one row is read from the packed result and
  // written to the output contiguously.
  if (consumer && consumer->index.size() != shape.size() && spec.blocks.size() == 1 && spec.blocks[0].first + 1 < shape.size()) {
    const size_t cd = spec.blocks[0].first;
    // Lanes that divide the channels (every run full), the packed block (one packed row) and the
    // consumer's block where its innermost index is `channel % block` (one run of its row).
    const int64_t packed_block = spec.blocks[0].second;
    int64_t b = std::gcd(packed_block, shape[cd]);
    if (const Binary* m = consumer->index.back().as<Binary>(); m && m->op == BinaryOp::Mod) {
      if (const IntImm* block = m->b.as<IntImm>()) b = std::gcd(b, block->value);
    }
    std::vector<std::string> loop_names;
    std::vector<int64_t> loop_extents;
    for (size_t d = 0; d + 1 < shape.size(); ++d) {
      if (d == cd) continue;
      loop_names.push_back(names[d]);
      loop_extents.push_back(shape[d]);
    }
    loop_names.push_back(names[cd] + "b");
    loop_extents.push_back(shape[cd] / b);
    loop_names.push_back(names.back());
    loop_extents.push_back(shape.back());
    const std::string lane = names[cd] + "i";
    std::vector<Expr> loops;
    return parallel_nest(loop_names, loop_extents, loops, [&] {
      std::vector<Expr> c(shape.size());
      size_t l = 0;
      for (size_t d = 0; d + 1 < shape.size(); ++d) {
        if (d != cd) c[d] = loops[l++];
      }
      const Expr run = loops[l++];
      c[cd] = run * Expr(b) + var(lane);
      c.back() = loops[l];
      // The packed element: block run / (packed_block / b), lane (run % that) * b + lane, so
      // that the lane enters its index affinely.
      std::vector<Expr> packed = c;
      const int64_t runs = packed_block / b;
      packed[cd] = runs > 1 ? run / Expr(runs) : run;
      packed.push_back(runs > 1 ? (run % Expr(runs)) * Expr(b) + var(lane) : var(lane));
      return For::make(lane, 0, b, b > 1 ? ForKind::Vectorized : ForKind::Serial, unpack_store(spec, consumer, c, packed));
    });
  }
  // One blocked dimension that is not the innermost (NCHW[x]c's channels) goes just inside the
  // innermost: a packed row (every block of one output row) is then read from the cache once
  // per channel while the original is written contiguously, not once per channel from memory.
  const bool by_block = spec.blocks.size() == 1 && spec.blocks[0].first + 1 < shape.size();
  std::vector<size_t> order(shape.size());
  for (size_t d = 0; d < order.size(); ++d) order[d] = d;
  if (by_block) {
    order.erase(order.begin() + long(spec.blocks[0].first));
    order.insert(order.end() - 1, spec.blocks[0].first);
  }
  std::vector<std::string> loop_names;
  std::vector<int64_t> loop_extents;
  for (size_t d : order) {
    loop_names.push_back(names[d]);
    loop_extents.push_back(shape[d]);
  }
  std::vector<Expr> loops;
  return parallel_nest(loop_names, loop_extents, loops, [&] {
    std::vector<Expr> c(shape.size());
    for (size_t i = 0; i < order.size(); ++i) c[order[i]] = loops[i];
    return unpack_store(spec, consumer, c);
  });
}

} // namespace convtune
