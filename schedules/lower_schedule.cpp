/// \file Lowering a scheduled stage of an algorithm: its loops as the schedule arranges them,
/// the stage's definition under them (its dimensions rebuilt through lets from the split and
/// fused loops), guards for tails and for the boundary, the local tile of cache_write, the
/// packed layouts with their pack and unpack stages, and the algorithm's other stages around it.
#include "schedules/lower_schedule.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "ir/interval.h"
#include "ir/ir_visitor.h"

namespace convtune {

namespace {

Expr var(const std::string& n) { return Var::make(n); }

/// How one tensor is re-laid out: dimensions split into blocks (outer index d / b in place,
/// inner index d % b appended in `blocks` order), and dimensions shifted by an exterior (a
/// zero border, so reads of the padding need no guard).
struct PackSpec {
  BufferRef original;
  std::string layout;                            ///< the original's dimension letters
  std::vector<std::pair<size_t, int64_t>> blocks;  ///< (dimension, block), inner blocks in order
  std::set<size_t> exterior_dims;                ///< dimensions that may be read outside the tensor
  bool written = false;                          ///< the stage writes it (then unpacked)
  // Filled by inference:
  std::vector<int64_t> offsets;                  ///< per dimension: the exterior before index 0
  BufferRef packed;

  int64_t block_of(size_t d) const {
    for (const auto& [dim, b] : blocks) {
      if (dim == d) return b;
    }
    return 0;
  }
  /// Dimensions whose packed index uses the dimension's value (not its let's name), so the
  /// simplifier sees (a*x + b) / x: the blocked and the shifted ones.
  bool uses_value(size_t d) const { return block_of(d) || exterior_dims.count(d); }
};

/// Replaces every let-bound name in `e` by its value, innermost first, until none is left.
Expr substitute_lets(Expr e, const std::vector<std::pair<std::string, Expr>>& lets) {
  for (auto it = lets.rbegin(); it != lets.rend(); ++it) e = substitute(e, it->first, it->second);
  return e;
}

class Lowering {
public:
  explicit Lowering(const ScheduleState& st)
      : st_(st), alg_(st.algorithm()), stage_(st.stage()), update_(*stage_.update) {}

  LoopNest run(const std::string& name) {
    derive_indices();
    plan_packs();

    Expr product = rewrite_reads(update_.value);
    // A pack the stage never reads (a layout the algorithm does not use) is dropped.
    if (input_pack_ && !input_pack_->packed) input_pack_.reset();
    if (weight_pack_ && !weight_pack_->packed) weight_pack_.reset();
    tail_guards();
    boundary_guards();
    build_target();
    Stmt compute = compute_stage(product);

    LoopNest nest;
    nest.name = name;
    nest.params = alg_.params;
    for (PackSpec* spec : {input_pack_.get(), weight_pack_.get(), output_pack_.get()}) {
      if (spec) nest.temporaries.push_back(spec->packed);
    }
    for (const AlgorithmStage& s : alg_.stages) {
      if (s.buffer->scope != MemoryScope::Param) nest.temporaries.push_back(s.buffer);
      if (s.name != stage_.name) {
        nest.stages.push_back({s.name, s.kind, naive_stage_loops(s, /*parallel=*/true)});
        continue;
      }
      if (input_pack_) nest.stages.push_back({"pack_" + input_pack_->original->name, StageKind::PackInput, pack_stage(*input_pack_)});
      if (weight_pack_) nest.stages.push_back({"pack_" + weight_pack_->original->name, StageKind::PackWeights, pack_stage(*weight_pack_)});
      nest.stages.push_back({s.name, StageKind::Compute, compute});
      if (output_pack_) {
        nest.stages.push_back({"unpack_" + output_pack_->original->name, StageKind::UnpackOutput, unpack_stage(*output_pack_)});
      }
    }
    return nest;
  }

private:
  /// A loop that over-runs makes the dimensions it derives from over-run (a tail). A tail
  /// needs a guard where it would reach memory outside a buffer or another point's data:
  /// - reads in the update that depend on the dimension, unless every such read is of a packed
  ///   layout (sized by bounds inference for the over-run, zeros past the tensor);
  /// - writes of the result, unless it is packed (sized the same way);
  /// - always for the stage's exact dimensions (a group's channels).
  /// Guards name the dimension's let, which the verifier and the simplifier can narrow.
  void tail_guards() {
    for (const std::string& root : tail_roots_) {
      const bool exact = std::count(stage_.exact_dims.begin(), stage_.exact_dims.end(), root) > 0;
      const bool reads_safe = !exact && reads_are_packed(root);
      Expr guard = var(root) < Expr(root_extent(root));
      if (is_reduction_root(root)) {
        if (!reads_safe) reduction_guards_.push_back(guard);
        continue;
      }
      const bool writes_safe = !exact && output_pack_ != nullptr;
      if (!writes_safe) {
        pure_guards_.push_back(guard);  // init and write (and, without cache_write, the update)
      } else if (!reads_safe && st_.accumulate_at().empty()) {
        pure_guards_.push_back(guard);
      }
      if (!reads_safe && !st_.accumulate_at().empty()) tile_read_guards_.push_back(guard);
    }
  }

  /// Whether every read in the update whose index depends on `root` is of a packed layout.
  bool reads_are_packed(const std::string& root) const {
    bool safe = true;
    struct Check : IRVisitor {
      const Lowering* self;
      const std::string* root;
      bool* safe;
      using IRVisitor::visit;
      void visit(const Load* op) override {
        bool depends = false;
        for (const Expr& i : op->indices) {
          const Expr full = substitute_lets(i, self->update_.lets);
          struct Uses : IRVisitor {
            const std::string* name;
            bool found = false;
            using IRVisitor::visit;
            void visit(const Var* v) override { found = found || v->name == *name; }
          } u;
          u.name = root;
          u.visit(full);
          depends = depends || u.found;
        }
        const bool packed = (self->input_pack_ && op->buffer == self->input_pack_->original) ||
                            (self->weight_pack_ && op->buffer == self->weight_pack_->original);
        if (depends && !packed) *safe = false;
        IRVisitor::visit(op);
      }
    } c;
    c.self = this;
    c.root = &root;
    c.safe = &safe;
    c.IRVisitor::visit(update_.value);
    return safe;
  }

  bool is_reduction_root(const std::string& r) const {
    for (const Dim& d : update_.rdims) {
      if (d.name == r) return true;
    }
    return false;
  }

  int64_t root_extent(const std::string& r) const {
    for (const Dim& d : stage_.dims) {
      if (d.name == r) return d.extent;
    }
    for (const Dim& d : update_.rdims) {
      if (d.name == r) return d.extent;
    }
    throw InternalError("lower_schedule: no dimension " + r);
  }

  std::vector<std::string> root_names() const {
    std::vector<std::string> names;
    for (const Dim& d : stage_.dims) names.push_back(d.name);
    for (const Dim& d : update_.rdims) names.push_back(d.name);
    return names;
  }

  /// Expresses every dimension of the stage through the scheduled loops (walking the
  /// relations backwards) and collects the dimensions a tail makes over-run.
  void derive_indices() {
    std::map<std::string, Expr> value;
    for (const LoopDim& l : st_.loops()) value[l.name] = var(l.name);
    const auto& rel = st_.relations();
    for (auto it = rel.rbegin(); it != rel.rend(); ++it) {
      if (it->kind == LoopRelation::Split) {
        value[it->parent] = value.at(it->outer) * Expr(it->factor) + value.at(it->inner);
      } else {
        value[it->outer] = value.at(it->parent) / Expr(it->factor);
        value[it->inner] = value.at(it->parent) % Expr(it->factor);
      }
    }
    // Which dimensions each name covers, walking forwards.
    std::map<std::string, std::set<std::string>> roots;
    for (const std::string& r : root_names()) roots[r] = {r};
    for (const LoopRelation& r : rel) {
      if (r.kind == LoopRelation::Split) {
        roots[r.outer] = roots[r.inner] = roots[r.parent];
        if (r.parent_extent % r.factor != 0) tail_roots_.insert(roots[r.parent].begin(), roots[r.parent].end());
      } else {
        roots[r.parent] = roots[r.outer];
        roots[r.parent].insert(roots[r.inner].begin(), roots[r.inner].end());
      }
    }
    // A dimension that was split or fused is bound by a let of its own name, so the guards on
    // it narrow a variable (which the verifier and the simplifier can use).
    for (const std::string& n : root_names()) {
      const Expr& v = value.at(n);
      if (v.as<Var>() && v.as<Var>()->name == n) continue;
      (is_reduction_root(n) ? reduction_lets_ : pure_lets_).push_back({n, v});
    }
    // The ranges of the loop and let-bound names, for bounds inference.
    for (const LoopDim& l : st_.loops()) ranges_[l.name] = {0, l.extent - 1};
    for (auto* lets : {&pure_lets_, &reduction_lets_}) {
      for (const auto& [n, v] : *lets) ranges_[n] = bounds_of(v, ranges_);
    }
    for (const LetBinding& l : update_.lets) ranges_[l.first] = bounds_of(l.second, ranges_);
    all_lets_ = pure_lets_;
    all_lets_.insert(all_lets_.end(), reduction_lets_.begin(), reduction_lets_.end());
    all_lets_.insert(all_lets_.end(), update_.lets.begin(), update_.lets.end());
  }

  /// `body` inside the lets of the stage's pure dimensions (and, for the update, of its
  /// reduction dimensions and its own lets).
  Stmt with_lets(Stmt body, bool update) const {
    if (update) {
      for (auto it = update_.lets.rbegin(); it != update_.lets.rend(); ++it) body = LetStmt::make(it->first, it->second, body);
      for (auto it = reduction_lets_.rbegin(); it != reduction_lets_.rend(); ++it) body = LetStmt::make(it->first, it->second, body);
    }
    for (auto it = pure_lets_.rbegin(); it != pure_lets_.rend(); ++it) body = LetStmt::make(it->first, it->second, body);
    return body;
  }

  const NestParam* param(const std::string& name) const {
    for (const NestParam& p : alg_.params) {
      if (p.buffer->name == name) return &p;
    }
    return nullptr;
  }

  /// The conv layouts the pack primitives name: the input as NCHW[x]c with its padding as
  /// zeros, the weights as KCRS[x]c[y]k, the stage's result as NKPQ[y]k.
  void plan_packs() {
    const NestParam* input = param("input");
    const NestParam* weights = param("weights");
    if (const int64_t x = st_.input_block(); x && input) {
      input_pack_ = std::make_unique<PackSpec>(PackSpec{input->buffer, input->layout, {{1, x}}, {2, 3}, false, {}, nullptr});
    }
    if (const int64_t x = st_.weight_in_block(); x && weights) {
      weight_pack_ = std::make_unique<PackSpec>(
          PackSpec{weights->buffer, weights->layout, {{1, x}, {0, st_.weight_out_block()}}, {}, false, {}, nullptr});
    }
    if (const int64_t y = st_.output_block()) {
      output_pack_ = std::make_unique<PackSpec>(PackSpec{stage_.buffer, "NKPQ", {{1, y}}, {}, true, {}, nullptr});
    }
  }

  /// The index of `spec.packed` for an access of the original at `index`, and (the first time)
  /// the packed buffer, sized by bounds inference to hold every index the stage uses.
  std::vector<Expr> packed_index(PackSpec& spec, const std::vector<Expr>& index) {
    std::vector<Expr> value(index.size());
    for (size_t d = 0; d < index.size(); ++d) value[d] = spec.uses_value(d) ? substitute_lets(index[d], all_lets_) : index[d];
    if (spec.offsets.empty()) {
      spec.offsets.assign(index.size(), 0);
      for (size_t d : spec.exterior_dims) {
        const Interval i = bounds_of(value[d], ranges_);
        internal_check(i.bounded(), "lower_schedule: unbounded index of " + spec.original->name);
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
        shape.push_back(needed(outer[d], whole));
      }
      for (const auto& block : spec.blocks) shape.push_back(block.second);
      spec.packed = make_buffer(spec.original->name + "_packed", shape, MemoryScope::Heap);
    }
    outer.insert(outer.end(), inner.begin(), inner.end());
    return outer;
  }

  /// The extent a packed dimension needs to hold every index the stage uses.
  int64_t needed(const Expr& index, int64_t at_least) const {
    Interval i = bounds_of(index, ranges_);
    internal_check(i.bounded() && i.lo >= 0, "lower_schedule: unbounded packed index " + std::to_string(i.hi));
    return std::max(i.hi + 1, at_least);
  }

  /// The update's value with reads of packed tensors turned into reads of their packed form.
  Expr rewrite_reads(const Expr& value) {
    struct Rewrite : IRMutator {
      Lowering* self;
      using IRMutator::mutate;
      Expr visit(const Load* op, const Expr& self_expr) override {
        for (PackSpec* spec : {self->input_pack_.get(), self->weight_pack_.get()}) {
          if (spec && op->buffer == spec->original) {
            std::vector<Expr> idx = self->packed_index(*spec, op->indices);
            return Load::make(spec->packed, idx);
          }
        }
        return IRMutator::visit(op, self_expr);
      }
    } r;
    r.self = this;
    return r.mutate(value);
  }

  /// Where the boundary tensor is read unpacked, a guard for each side its indices can cross
  /// over the scheduled ranges (tails included). Packed, its exterior holds zeros instead.
  void boundary_guards() {
    if (!update_.boundary) {
      if (update_.guard.defined()) boundary_.push_back(update_.guard);
      return;
    }
    if (input_pack_ && input_pack_->original == update_.boundary) return;
    const Load* read = nullptr;
    struct Find : IRVisitor {
      const Buffer* buffer;
      const Load** found;
      using IRVisitor::visit;
      void visit(const Load* op) override {
        if (op->buffer.get() == buffer && !*found) *found = op;
        IRVisitor::visit(op);
      }
    } f;
    f.buffer = update_.boundary.get();
    f.found = &read;
    f.IRVisitor::visit(update_.value);
    internal_check(read != nullptr, "lower_schedule: the update does not read its boundary tensor");
    for (size_t d = 0; d < read->indices.size(); ++d) {
      const Expr& i = read->indices[d];
      const Interval range = bounds_of(i, ranges_);
      if (range.lo < 0) boundary_.push_back(i >= Expr(0));
      if (range.hi >= read->buffer->shape[d]) boundary_.push_back(i < Expr(read->buffer->shape[d]));
    }
  }

  void build_target() {
    if (output_pack_) {
      target_index_ = packed_index(*output_pack_, stage_.index);
      target_ = output_pack_->packed;
      return;
    }
    target_ = stage_.buffer;
    target_index_ = stage_.index;
  }

  static Stmt guarded(const std::vector<Expr>& conds, Stmt body) {
    if (conds.empty()) return body;
    Expr c = conds[0];
    for (size_t i = 1; i < conds.size(); ++i) c = c && conds[i];
    return IfThenElse::make(c, body);
  }

  /// Wraps `body` in the given loops, innermost last in the list.
  static Stmt wrap(const std::vector<LoopDim>& loops, Stmt body) {
    for (auto it = loops.rbegin(); it != loops.rend(); ++it) body = For::make(it->name, 0, it->extent, it->kind, body);
    return body;
  }

  /// buffer[index] folded with `value` by the update's operator.
  Stmt fold(const BufferRef& buffer, const std::vector<Expr>& index, const Expr& value) const {
    if (update_.op == ReduceOp::Sum) return Store::make(buffer, index, value, true);
    return Store::make(buffer, index, max(Load::make(buffer, index), value), false);
  }

  Stmt compute_stage(const Expr& product) {
    const auto& loops = st_.loops();
    std::vector<Expr> update_guards = boundary_;
    update_guards.insert(update_guards.end(), reduction_guards_.begin(), reduction_guards_.end());
    update_guards.insert(update_guards.end(), tile_read_guards_.begin(), tile_read_guards_.end());

    if (st_.accumulate_at().empty()) {
      // The result is initialised by its own nest over the pure loops, then folded into.
      std::vector<LoopDim> pure;
      for (const LoopDim& l : loops) {
        if (!l.reduction) pure.push_back(l);
      }
      Stmt init = wrap(pure, with_lets(guarded(pure_guards_, Store::make(target_, target_index_, stage_.init, false)), false));
      std::vector<Expr> all = pure_guards_;
      all.insert(all.end(), update_guards.begin(), update_guards.end());
      Stmt update = wrap(loops, with_lets(guarded(all, fold(target_, target_index_, product)), true));
      return Block::make({init, update});
    }

    // Register accumulation: below `at`, a local tile over the pure loops inside it.
    size_t at = 0;
    for (size_t i = 0; i < loops.size(); ++i) {
      if (loops[i].name == st_.accumulate_at()) at = i;
    }
    std::vector<LoopDim> outer(loops.begin(), loops.begin() + long(at) + 1);
    std::vector<LoopDim> inner(loops.begin() + long(at) + 1, loops.end());
    std::vector<LoopDim> tile;
    std::vector<int64_t> tile_shape;
    std::vector<Expr> tile_index;
    for (const LoopDim& l : inner) {
      if (l.reduction) continue;
      tile.push_back(l);
      tile_shape.push_back(l.extent);
      tile_index.push_back(var(l.name));
    }
    if (tile.empty()) {
      tile_shape.push_back(1);
      tile_index.push_back(Expr(0));
    }
    BufferRef acc = make_buffer("acc", tile_shape, MemoryScope::Stack);
    Stmt init = wrap(tile, Store::make(acc, tile_index, stage_.init, false));
    Stmt update = wrap(inner, with_lets(guarded(update_guards, fold(acc, tile_index, product)), true));
    Stmt write = wrap(tile, with_lets(guarded(pure_guards_, Store::make(target_, target_index_, Load::make(acc, tile_index), false)), false));
    return wrap(outer, Allocate::make(acc, Block::make({init, update, write})));
  }

  /// Loop names of a packed tensor's dimensions: the layout's letters, "b" for a block's outer
  /// index, "i" for its inner one (NCHW[x]c: n, cb, h, w, ci).
  static std::vector<std::string> packed_loop_names(const PackSpec& spec) {
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

  /// Loops over `extents` named `names`, the first two fused into one parallel loop.
  static Stmt parallel_nest(const std::vector<std::string>& names, const std::vector<int64_t>& extents,
                            std::vector<Expr>& coords, const std::function<Stmt()>& body) {
    coords.clear();
    const bool fuse = names.size() >= 2;
    const std::string fused = fuse ? names[0] + "_" + names[1] : names[0];
    if (fuse) {
      coords.push_back(var(fused) / Expr(extents[1]));
      coords.push_back(var(fused) % Expr(extents[1]));
    } else {
      coords.push_back(var(fused));
    }
    for (size_t d = coords.size(); d < names.size(); ++d) coords.push_back(var(names[d]));
    Stmt s = body();
    for (size_t d = names.size(); d-- > (fuse ? 2 : 1);) s = For::make(names[d], 0, extents[d], ForKind::Serial, s);
    return For::make(fused, 0, fuse ? extents[0] * extents[1] : extents[0], ForKind::Parallel, s);
  }

  /// `e` clamped into [0, extent): keeps a load in bounds where a select discards it.
  static Expr clamp(const Expr& e, int64_t extent) { return max(min(e, Expr(extent - 1)), Expr(0)); }

  /// packed[outer..., inner...] = the original element there, or 0 outside the original.
  Stmt pack_stage(const PackSpec& spec) {
    const std::vector<int64_t>& shape = spec.packed->shape;
    const size_t dims = spec.original->shape.size();
    std::vector<Expr> c;
    return parallel_nest(packed_loop_names(spec), shape, c, [&] {
      std::vector<Expr> original(dims), load_index(dims);
      Expr inside;
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
        std::vector<Expr> conds;
        if (off) conds.push_back(coord >= Expr(0));
        if (hi - off >= extent) conds.push_back(coord < Expr(extent));
        load_index[d] = conds.empty() ? coord : clamp(coord, extent);
        for (const Expr& k : conds) inside = inside.defined() ? (inside && k) : k;
      }
      Expr value = Load::make(spec.original, load_index);
      if (inside.defined()) value = Select::make(inside, value, FloatImm::make(0));
      return Store::make(spec.packed, c, value, false);
    });
  }

  /// original[...] = packed at that element, over the original's extent only.
  Stmt unpack_stage(const PackSpec& spec) {
    const std::vector<int64_t>& shape = spec.original->shape;
    std::vector<std::string> names;
    for (size_t d = 0; d < shape.size(); ++d) {
      names.push_back(std::string(1, char(std::tolower(static_cast<unsigned char>(spec.layout[d])))));
    }
    std::vector<Expr> c;
    return parallel_nest(names, shape, c, [&] {
      std::vector<Expr> packed;
      for (size_t d = 0; d < shape.size(); ++d) {
        const int64_t b = spec.block_of(d);
        packed.push_back(b ? c[d] / Expr(b) : c[d]);
      }
      for (const auto& [d, b] : spec.blocks) packed.push_back(c[d] % Expr(b));
      return Store::make(spec.original, c, Load::make(spec.packed, packed), false);
    });
  }

  const ScheduleState& st_;
  const Algorithm& alg_;
  const AlgorithmStage& stage_;
  const Update& update_;
  VarRanges ranges_;
  std::vector<std::pair<std::string, Expr>> pure_lets_, reduction_lets_, all_lets_;
  std::set<std::string> tail_roots_;
  std::vector<Expr> pure_guards_, reduction_guards_, boundary_;
  std::vector<Expr> tile_read_guards_;  ///< pure tails guarding the update's reads below cache_write
  std::unique_ptr<PackSpec> input_pack_, weight_pack_, output_pack_;
  BufferRef target_;
  std::vector<Expr> target_index_;
};

} // namespace

LoopNest lower_schedule(const ScheduleState& state, const std::string& name) {
  return Lowering(state).run(name);
}

} // namespace convtune
