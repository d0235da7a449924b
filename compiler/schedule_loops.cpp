/// \file The scheduling pass: loops, lets, guards, the cache_write tile, packed layouts.
#include "compiler/schedule_loops.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <memory>

#include "compiler/layout_packing.h"
#include "compiler/region_bounds.h"
#include "compiler/shared_fill.h"
#include "compiler/simplify.h"
#include "ir/interval.h"
#include "ir/ir_visitor.h"

namespace convtune {

namespace {

Expr var(const std::string& n) { return Var::make(n); }

/// What lowering one scheduled stage gives: its statements (pack stages, the stage, the
/// unpacking), the packed temporaries, and the consumer computed in the unpacking, if any.
struct LoweredStage {
  std::vector<NestStage> stages;
  std::vector<BufferRef> packed;
  std::vector<PackedLayout> layouts;  ///< the packed ones that re-lay out a parameter
  const AlgorithmStage* fused = nullptr;
};

/// A stage computed at a loop of the one being lowered (schedules/stage_placement.h).
struct PlacedProducer {
  const AlgorithmStage* stage;
  StagePlacement placement;
};

/// The most a local region may hold: it lives on the stack of the thread that computes it.
constexpr int64_t kMaxLocalBytes = 128 * 1024;
/// The most a region kept in registers may hold (its loops are unrolled).
constexpr int64_t kMaxRegisterElements = 256;
/// A shared region's fill is unrolled up to this many rounds of the block's threads.
constexpr int64_t kMaxUnrolledFillRounds = 8;

/// An update that folds nothing: what a pure stage has.
const Update& no_update() {
  static const Update none;
  return none;
}

class Lowering {
public:
  Lowering(const ScheduleState& st, std::vector<PlacedProducer> placed = {})
      : st_(st), alg_(st.algorithm()), stage_(st.stage()), update_(stage_.update ? *stage_.update : no_update()),
        placed_(std::move(placed)) {
    derive_indices();
    plan_packs();
  }

  LoweredStage lower() {
    Expr product = rewrite_reads(reads());
    // A pack the stage never reads (a layout the algorithm does not use) is dropped.
    if (input_pack_ && !input_pack_->packed) input_pack_.reset();
    if (weight_pack_ && !weight_pack_->packed) weight_pack_.reset();
    build_target();

    LoweredStage out;
    // An epilogue right after the stage is computed inline in its unpacking: the stage's own
    // buffer is then never stored, only its packed form. Where the epilogue stores into channel
    // blocks of its own, it is computed in the register tile's write-back instead, and the
    // packed form and its unpacking pass are gone.
    out.fused = fused_consumer();
    if (out.fused) epilogue_block_ = writeback_block(*out.fused);
    if (epilogue_block_) epilogue_ = out.fused;
    for (PackSpec* spec : {input_pack_.get(), weight_pack_.get(), output_pack_.get()}) {
      if (!spec || (spec == output_pack_.get() && epilogue_)) continue;
      out.packed.push_back(spec->packed);
      if (spec->original->scope == MemoryScope::Param) {
        out.layouts.push_back({spec->packed, spec->original, spec->layout, spec->blocks, spec->offsets, spec->exterior_value,
                               spec->written, !(spec->written && out.fused)});
      }
    }
    if (input_pack_) out.stages.push_back({"pack_" + input_pack_->original->name + input_pack_->suffix, StageKind::PackInput, pack_stage(*input_pack_)});
    if (weight_pack_) out.stages.push_back({"pack_" + weight_pack_->original->name + weight_pack_->suffix, StageKind::PackWeights, pack_stage(*weight_pack_)});
    NestStage compute{stage_.name, stage_.kind, compute_stage(product), dimensions(), update_.boundary, {}};
    out.stages.push_back(std::move(compute));
    if (output_pack_ && !epilogue_) {
      const std::string name = out.fused ? "unpack_" + output_pack_->original->name + output_pack_->suffix + "_" + out.fused->name
                                         : "unpack_" + output_pack_->original->name + output_pack_->suffix;
      out.stages.push_back({name, StageKind::UnpackOutput, unpack_stage(*output_pack_, out.fused)});
    }
    return out;
  }

private:
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
    throw InternalError("schedule_loops: no dimension " + r);
  }

  std::vector<std::string> root_names() const {
    std::vector<std::string> names;
    for (const Dim& d : stage_.dims) names.push_back(d.name);
    for (const Dim& d : update_.rdims) names.push_back(d.name);
    return names;
  }

  bool placed_locally(const BufferRef& b) const {
    for (const PlacedProducer& p : placed_) {
      if (p.stage->buffer == b && p.placement.storage != "workspace") return true;
    }
    return false;
  }

  /// Wraps `body` in the given loops, innermost last in the list; inside a loop that a stage
  /// is computed at, that stage's region comes first.
  /// `further_in`: the loops of `body` itself (a cache_write's tile and reductions), which are
  /// inside every loop of `loops` too.
  Stmt wrap_placed(const std::vector<LoopDim>& loops, Stmt body, const std::vector<LoopDim>& further_in = {}) {
    for (size_t i = loops.size(); i-- > 0;) {
      InnerLoops inner;
      for (size_t j = i + 1; j < loops.size(); ++j) inner.push_back({loops[j].name, loops[j].extent});
      for (const LoopDim& l : further_in) inner.push_back({l.name, l.extent});
      for (const PlacedProducer& p : placed_) {
        if (p.placement.loop == loops[i].name) body = compute_region(p, inner, body);
      }
      body = For::make(loops[i].name, 0, loop_extent(loops[i]), loops[i].kind, body);
    }
    return body;
  }

  /// How many times `l` runs: a reduction dimension's own trip count (ir/algorithm.h) where
  /// the loop is that whole dimension and every name the count reads is bound by a loop
  /// outside it; its extent otherwise.
  Expr loop_extent(const LoopDim& l) const {
    for (const Dim& d : update_.rdims) {
      if (d.name != l.name || !d.trips.defined() || d.extent != l.extent) continue;
      const Expr trips = substitute_lets(d.trips, pure_lets_);
      std::set<std::string> outside;
      for (const LoopDim& o : st_.loops()) {
        if (o.name == l.name) break;
        outside.insert(o.name);
      }
      for (const std::string& v : vars_in(trips)) {
        if (!outside.count(v)) return Expr(l.extent);
      }
      // A count that is never above 0 (every list empty) keeps the loop: a loop that never
      // runs is refused by the verifier, and this one sums zeros.
      if (bounds_of(trips, ranges_).hi <= 0) return Expr(l.extent);
      return trips;
    }
    return Expr(l.extent);
  }

  /// `body` (inside the loop `p` is computed at) after the region of `p` it reads, computed
  /// into a local buffer or the stage's own; the reads of a local one move to it. Unchanged
  /// when `body` does not read the stage (a loop nest of the stage that does not read it).
  Stmt compute_region(const PlacedProducer& p, const InnerLoops& inner, const Stmt& body) {
    const AlgorithmStage& producer = *p.stage;
    // Each read's indices in the loops alone (its lets substituted).
    const auto in_loops = [this](const Load* l) {
      std::vector<Expr> idx;
      for (const Expr& i : l->indices) idx.push_back(substitute_lets(i, all_lets_));
      return idx;
    };
    std::vector<std::vector<Expr>> reads;
    for (const Load* l : loads_in(body)) {
      if (l->buffer == producer.buffer) reads.push_back(in_loops(l));
    }
    if (reads.empty()) return body;
    const std::string where = "compute_at: stage '" + stage_.name + "' reads '" + producer.name + "' below loop '" + p.placement.loop + "'";
    // A shared region is the block's: it covers what every thread of the block reads, so the
    // thread loops outside count as loops inside (schedules/stage_placement checks none is
    // inside the loop).
    const bool shared = p.placement.storage == "shared";
    const std::vector<LoopDim> threads = shared ? threads_outside(p.placement.loop) : std::vector<LoopDim>{};
    InnerLoops relaxed = inner;
    for (const LoopDim& t : threads) relaxed.push_back({t.name, t.extent});
    std::string why;
    const std::optional<ReadRegion> region = read_region(reads, relaxed, why);
    if (!region) throw ScheduleError(where + " at an " + why);

    const bool local = p.placement.storage != "workspace";
    int64_t elements = 1;
    for (int64_t e : region->extent) elements *= e;
    if (shared) {
      shared_bytes_ += elements * int64_t(sizeof(float));
      if (shared_bytes_ > kGpuSharedBytesPerBlock) {
        throw ScheduleError(where + ": the block's shared memory would hold " + std::to_string(shared_bytes_) +
                            " bytes; a block holds at most " + std::to_string(kGpuSharedBytesPerBlock) + " (48 KiB)");
      }
    }
    if (p.placement.storage == "registers" && elements > kMaxRegisterElements) {
      throw ScheduleError(where + ": its region holds " + std::to_string(elements) + " values; registers hold at most " +
                          std::to_string(kMaxRegisterElements) + " (use 'local')");
    }
    if (local && !shared && elements * int64_t(sizeof(float)) > kMaxLocalBytes) {
      throw ScheduleError(where + ": its region holds " + std::to_string(elements) + " values (" +
                          std::to_string(elements * int64_t(sizeof(float)) / 1024) + " KiB); a local buffer holds at most " +
                          std::to_string(kMaxLocalBytes / 1024) + " KiB (compute it at a loop further in, or use 'workspace')");
    }
    const BufferRef store = local ? make_buffer(producer.name + "_at_" + p.placement.loop, region->extent,
                                                shared ? MemoryScope::GpuShared : MemoryScope::Stack)
                                  : producer.buffer;

    // The region: one loop per dimension of the buffer, guarded to the stage's extent, each
    // point the stage's definition at the dimensions its buffer index inverts to.
    std::vector<Expr> coords, at, inside;
    for (size_t d = 0; d < region->extent.size(); ++d) {
      const std::string x = producer.name + "_x" + std::to_string(d);
      at.push_back(var(x));
      coords.push_back(region->min[d] + var(x));
    }
    std::optional<std::vector<LetBinding>> point = stage_point(producer, coords);
    internal_check(point.has_value(), "compute_region: the stage's index does not invert");
    Expr value = producer.init;
    std::vector<LetBinding> dims;
    for (const auto& [dim, v] : *point) {
      // Its dimensions take names of their own: the consumer's loops may share them.
      const std::string renamed = producer.name + "_" + dim;
      value = substitute(value, dim, var(renamed));
      dims.push_back({renamed, v});
    }
    SharedFill shared_region{producer.name, region->extent, threads};
    if (shared) shared_region.vector = shared_fill_vector(shared_region, substitute_lets(value, dims), lets_lookup());
    const auto extent_of = [&](const std::string& dim) {
      for (const Dim& d : producer.dims) {
        if (d.name == dim) return d.extent;
      }
      return int64_t(1);
    };
    // The lanes of a vector must agree on the guard: a dimension along the region's rows goes
    // without one where the whole region lies inside the stage, and else there is no vector.
    const std::string row = fill_coordinate(shared_region, region->extent.size() - 1);
    if (shared_region.vector > 1) {
      VarRanges in_region = ranges_;
      for (size_t d = 0; d < region->extent.size(); ++d) in_region[fill_coordinate(shared_region, d)] = {0, region->extent[d] - 1};
      for (const auto& [dim, v] : *point) {
        const Interval within = bounds_of(v, in_region);
        if (vars_in(v).count(row) && (within.lo < 0 || within.hi >= extent_of(dim))) shared_region.vector = 1;
      }
    }
    const auto along_row = [&](const Expr& v) { return shared_region.vector > 1 && vars_in(v).count(row) > 0; };
    for (const auto& [dim, v] : *point) {
      if (along_row(v)) continue;
      // Only the points of the stage: the box may reach past it (a tail of the reads).
      inside.push_back(var(producer.name + "_" + dim) >= Expr(0));
      inside.push_back(var(producer.name + "_" + dim) < Expr(extent_of(dim)));
    }
    Stmt fill = Store::make(store, local ? at : coords, value, false);
    fill = wrap_lets(dims, inside.empty() ? fill : IfThenElse::make(all_of(inside), fill));
    if (shared) {
      fill = shared_fill(shared_region, fill, kMaxUnrolledFillRounds);
    } else {
      const ForKind kind = p.placement.storage == "registers" ? ForKind::Unrolled : ForKind::Serial;
      for (size_t d = region->extent.size(); d-- > 0;) {
        fill = For::make(producer.name + "_x" + std::to_string(d), 0, region->extent[d], kind, fill);
      }
    }
    if (!local) return Block::make({fill, body});

    const Stmt reads_local = replace_loads(body, [&](const Load* l) {
      return l->buffer == producer.buffer ? Load::make(store, index_in_region(in_loops(l), *region, relaxed)) : Expr();
    });
    // Shared: no thread may fill the region while another still reads the previous one, and
    // none may read it before every thread has filled its part.
    if (shared) return Allocate::make(store, Block::make({Barrier::make(), fill, Barrier::make(), reads_local}));
    return Allocate::make(store, Block::make({fill, reads_local}));
  }

  /// The value of a let of the stage's loops, for the modulus analysis.
  LetLookup lets_lookup() const {
    return [this](const std::string& name) {
      for (const auto& [n, v] : all_lets_) {
        if (n == name) return v;
      }
      return Expr();
    };
  }

  /// The thread loops at and outside `loop`, outermost first.
  std::vector<LoopDim> threads_outside(const std::string& loop) const {
    std::vector<LoopDim> out;
    for (const LoopDim& l : st_.loops()) {
      if (is_gpu_thread(l.kind)) out.push_back(l);
      if (l.name == loop) break;
    }
    return out;
  }

  /// Expresses every dimension of the stage through the scheduled loops, walking the relations
  /// backwards.
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
    if (update) body = wrap_lets(reduction_lets_, wrap_lets(update_.lets, body));
    return wrap_lets(pure_lets_, body);
  }

  /// The layouts the pack primitives name: the input as NCHW[x]c with its padding as the fold's
  /// identity, the weights as KCRS[x]c[y]k, the stage's result blocked along its channels
  /// (NKPQ[y]k for a convolution).
  void plan_packs() {
    const NestParam* input = find_param(alg_.params, "input");
    const NestParam* weights = find_param(alg_.params, "weights");
    if (const int64_t x = st_.input_block(); x && input) {
      input_pack_ = std::make_unique<PackSpec>(PackSpec{input->buffer, input->layout, {{1, x}}, {2, 3}, false, {}, nullptr});
      // The padding must not change the fold: zeros for a sum, -infinity for a max.
      if (update_.op == ReduceOp::Max) input_pack_->exterior_value = -std::numeric_limits<double>::infinity();
    }
    if (const int64_t x = st_.weight_in_block(); x && weights) {
      weight_pack_ = std::make_unique<PackSpec>(
          PackSpec{weights->buffer, weights->layout, {{1, x}, {0, st_.weight_out_block()}}, {}, false, {}, nullptr});
    }
    if (const int64_t y = st_.output_block()) {
      // The result's layout: its parameter's, or for a temporary the output's it stands for.
      std::string layout;
      for (const NestParam& p : alg_.params) {
        if (p.buffer == stage_.buffer || (layout.empty() && p.written)) layout = p.layout;
      }
      output_pack_ = std::make_unique<PackSpec>(PackSpec{stage_.buffer, layout, {{1, y}}, {}, true, {}, nullptr});
    }
    for (PackSpec* spec : {input_pack_.get(), weight_pack_.get(), output_pack_.get()}) {
      if (spec && stage_.name != alg_.main_stage) spec->suffix = "_for_" + stage_.name;
    }
  }

  /// The stage after the scheduled one when it can be computed inside the unpacking of a
  /// packed result (a convolution's epilogue); nullptr otherwise.
  const AlgorithmStage* fused_consumer() const {
    if (!output_pack_) return nullptr;
    for (size_t i = 0; i + 1 < alg_.stages.size(); ++i) {
      if (alg_.stages[i].name != stage_.name) continue;
      const AlgorithmStage& next = alg_.stages[i + 1];
      return unpack_can_compute(next, stage_.buffer) ? &next : nullptr;
    }
    return nullptr;
  }

  /// The channel block `consumer` (the fused epilogue) stores in when it can be computed in the
  /// register tile's write-back, straight into that layout; 0 otherwise. It can when it stores in
  /// channel blocks (a network's tensor kept blocked: a dense store would scatter the lanes),
  /// the tile holds whole sums (no reduction loop outside it), its innermost loop runs over the
  /// lanes of one packed channel block, one of that block and the consumer's is a multiple of the
  /// other (the lanes go in runs that each lie in one block of both), and the channels end on a
  /// consumer's block (a run of lanes is then all in or all out).
  int64_t writeback_block(const AlgorithmStage& consumer) const {
    if (st_.accumulate_at().empty() || output_pack_->blocks.size() != 1) return 0;
    const auto& loops = st_.loops();
    for (const LoopDim& l : loops) {
      if (l.reduction) return 0;  // outside the tile: its sums are partial there
      if (l.name == st_.accumulate_at()) break;
    }
    const auto [dim, block] = output_pack_->blocks[0];
    const std::vector<int64_t>& shape = output_pack_->original->shape;
    if (consumer.index.size() != shape.size() + 1) return 0;
    const Binary* lane = consumer.index.back().as<Binary>();
    const IntImm* consumer_block = lane && lane->op == BinaryOp::Mod ? lane->b.as<IntImm>() : nullptr;
    if (!consumer_block || shape[dim] % consumer_block->value != 0) return 0;
    if (block % consumer_block->value != 0 && consumer_block->value % block != 0) return 0;
    const LoopDim& innermost = loops.back();
    if (innermost.kind != ForKind::Vectorized || innermost.extent != block || innermost.reduction) return 0;
    const Var* lane_var = simplify(target_index_.back(), ranges_).as<Var>();
    return lane_var && lane_var->name == innermost.name ? consumer_block->value : 0;
  }

  /// The register tile's write-back: its sums stored into the stage's target, or the epilogue
  /// computed from them in runs of lanes that lie in one channel block of the epilogue's layout,
  /// each run's store one vector.
  Stmt write_back(const std::vector<LoopDim>& tile, const std::vector<Expr>& tile_index, const BufferRef& acc) const {
    const Expr sums = Load::make(acc, tile_index);
    if (!epilogue_) return wrap(tile, with_lets(Store::make(target_, target_index_, sums, false), false));
    const LoopDim& lanes = tile.back();
    // Runs of the smaller of the two blocks: a packed block spans several of the consumer's, or
    // a consumer's block holds several packed blocks (`per_block` runs of them).
    const int64_t run = std::min(lanes.extent, epilogue_block_), runs = lanes.extent / run, per_block = epilogue_block_ / run;
    const std::string run_var = lanes.name + "_run", lane_var = lanes.name + "_lane", block_var = lanes.name + "_block";
    const Expr run_start = runs > 1 ? var(run_var) * Expr(run) : Expr(0);
    // The run's index: its first channel (the lane's channel at lane 0, a multiple of the run)
    // over the run. A channel is the consumer's block start, the run's place in that block and
    // the lane, which is how the store indexes the layout (each part's range is seen to fit in
    // the block); the guards narrow the run (and the rows and columns) so that every index is
    // seen to be inside.
    const size_t dim = output_pack_->blocks[0].first;
    std::vector<LetBinding> lets = {{lanes.name, run_start}};
    lets.insert(lets.end(), pure_lets_.begin(), pure_lets_.end());
    const Expr first_channel = substitute_lets(stage_.index[dim], lets);
    std::vector<Expr> coords = stage_.index;
    const Expr block = var(block_var);
    coords[dim] = per_block > 1 ? block / Expr(per_block) * Expr(epilogue_block_) + block % Expr(per_block) * Expr(run) + var(lane_var)
                                : block * Expr(run) + var(lane_var);
    // Tails: a channel tile past the last block, a row or column tile past the result, which
    // would write the layout's border or spare lanes (not the kernel's) and read past the bias.
    std::vector<Expr> inside;
    const int64_t channels = output_pack_->original->shape[dim];
    if (bounds_of(stage_.index[dim], ranges_).hi >= channels) inside.push_back(var(block_var) < Expr(channels / run));
    std::set<std::string> varying = {lanes.name};  // the channel's dimensions: guarded by its block
    for (const LetBinding& l : pure_lets_) {
      const std::set<std::string> uses = vars_in(l.second);
      if (std::any_of(uses.begin(), uses.end(), [&](const std::string& v) { return varying.count(v) > 0; })) varying.insert(l.first);
    }
    for (const Dim& d : stage_.dims) {
      const auto r = ranges_.find(d.name);
      if (r != ranges_.end() && r->second.hi >= d.extent && !varying.count(d.name)) inside.push_back(var(d.name) < Expr(d.extent));
    }
    Stmt body = guarded(inside, consumer_store_at(*epilogue_, *stage_.buffer, coords, sums));
    body = LetStmt::make(block_var, first_channel / Expr(run), body);
    body = LetStmt::make(lanes.name, run_start + var(lane_var), with_lets(body, false));
    body = For::make(lane_var, 0, run, ForKind::Vectorized, body);
    if (runs > 1) body = For::make(run_var, 0, runs, ForKind::Unrolled, body);
    return wrap(std::vector<LoopDim>(tile.begin(), tile.end() - 1), body);
  }

  /// What the stage reads: its update's value, or a pure stage's definition.
  const Expr& reads() const { return stage_.update ? update_.value : stage_.init; }

  /// The update's value with reads of packed tensors turned into reads of their packed form.
  Expr rewrite_reads(const Expr& value) {
    struct Rewrite : IRMutator {
      Lowering* self;
      using IRMutator::mutate;
      Expr visit(const Load* op, const Expr& self_expr) override {
        for (PackSpec* spec : {self->input_pack_.get(), self->weight_pack_.get()}) {
          if (spec && op->buffer == spec->original) {
            std::vector<Expr> idx = packed_index(*spec, op->indices, self->all_lets_, self->ranges_);
            return Load::make(spec->packed, idx);
          }
        }
        return IRMutator::visit(op, self_expr);
      }
    } r;
    r.self = this;
    return r.mutate(value);
  }

  /// The stage's dimensions, for the passes that guard its tails.
  std::vector<StageDim> dimensions() const {
    std::vector<StageDim> dims;
    for (const Dim& d : stage_.dims) {
      const bool exact = std::count(stage_.exact_dims.begin(), stage_.exact_dims.end(), d.name) > 0;
      dims.push_back({d.name, d.extent, false, exact});
    }
    for (const Dim& d : update_.rdims) {
      const bool exact = std::count(stage_.exact_dims.begin(), stage_.exact_dims.end(), d.name) > 0;
      dims.push_back({d.name, d.extent, true, exact});
    }
    return dims;
  }

  /// The guard the definition itself puts on its fold: none where it skips the taps outside a
  /// boundary tensor (compiler/padding derives that guard again over the scheduled ranges).
  std::vector<Expr> definition_guard() const {
    if (update_.boundary || !update_.guard.defined()) return {};
    return {update_.guard};
  }

  void build_target() {
    if (output_pack_) {
      target_index_ = packed_index(*output_pack_, stage_.index, all_lets_, ranges_);
      target_ = output_pack_->packed;
      return;
    }
    target_ = stage_.buffer;
    target_index_ = stage_.index;
  }

  static Stmt guarded(const std::vector<Expr>& conds, Stmt body) {
    const Expr c = all_of(conds);
    return c.defined() ? IfThenElse::make(c, body) : body;
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
    if (!stage_.update) {
      // A pure stage: its definition at each point of its loops (`product` is the definition
      // with its reads rewritten).
      return wrap_placed(loops, with_lets(Store::make(target_, target_index_, product, false), false));
    }
    const std::vector<Expr> update_guards = definition_guard();

    if (st_.accumulate_at().empty()) {
      // The result is initialised by its own nest over the pure loops, then folded into.
      std::vector<LoopDim> pure;
      for (const LoopDim& l : loops) {
        if (!l.reduction) pure.push_back(l);
      }
      Stmt init = wrap(pure, with_lets(Store::make(target_, target_index_, stage_.init, false), false));
      Stmt update = wrap_placed(loops, with_lets(guarded(update_guards, fold(target_, target_index_, product)), true));
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
    Stmt update = wrap_placed(inner, with_lets(guarded(update_guards, fold(acc, tile_index, product)), true));
    Stmt write = write_back(tile, tile_index, acc);
    bool reduction_outside = false;
    for (const LoopDim& l : outer) reduction_outside = reduction_outside || l.reduction;
    if (!reduction_outside) {
      Stmt init = wrap(tile, Store::make(acc, tile_index, stage_.init, false));
      return wrap_placed(outer, Allocate::make(acc, Block::make({init, update, write})), inner);
    }
    // A reduction loop outside the tile (an input-channel block kept in cache across every
    // output tile): the target is initialised by its own nest first, and each visit of the
    // tile starts from the partial sums the iterations before left there.
    std::vector<LoopDim> pure;
    for (const LoopDim& l : loops) {
      if (!l.reduction) pure.push_back(l);
    }
    Stmt init_target = wrap(pure, with_lets(Store::make(target_, target_index_, stage_.init, false), false));
    Stmt resume = wrap(tile, with_lets(Store::make(acc, tile_index, Load::make(target_, target_index_), false), false));
    return Block::make({init_target, wrap_placed(outer, Allocate::make(acc, Block::make({resume, update, write})), inner)});
  }

  const ScheduleState& st_;
  const Algorithm& alg_;
  const AlgorithmStage& stage_;
  const Update& update_;
  VarRanges ranges_;
  std::vector<std::pair<std::string, Expr>> pure_lets_, reduction_lets_, all_lets_;
  std::vector<PlacedProducer> placed_;  ///< stages computed at its loops
  int64_t shared_bytes_ = 0;             ///< what its regions in shared storage take together
  std::unique_ptr<PackSpec> input_pack_, weight_pack_, output_pack_;
  BufferRef target_;
  std::vector<Expr> target_index_;
  const AlgorithmStage* epilogue_ = nullptr;  ///< the epilogue computed in the write-back, if any
  int64_t epilogue_block_ = 0;                 ///< its channel block
};

/// The stages computed at a loop of `consumer`.
std::vector<PlacedProducer> placed_at(const StageStates& states, const std::string& consumer) {
  std::vector<PlacedProducer> out;
  for (const auto& [stage, p] : states.placements) {
    if (p.kind == StagePlacement::At && p.consumer == consumer) out.push_back({&states.algorithm.stage(stage), p});
  }
  return out;
}

} // namespace

LoopNest schedule_loops(const StageStates& states, const std::string& name) {
  const ScheduleState& main_state = states.main();
  const Algorithm& alg = states.algorithm;
  internal_check(main_state.stage().name == alg.main_stage, "schedule_loops: the first state is not the main stage's");
  LoweredStage main_lowered = Lowering(main_state, placed_at(states, alg.main_stage)).lower();

  LoopNest nest;
  nest.name = name;
  nest.params = alg.params;
  nest.temporaries = main_lowered.packed;
  nest.layouts = main_lowered.layouts;
  // Stages computed inside the unpacking of a scheduled stage's packed result (an epilogue):
  // they do not run on their own, and that stage's own result is never stored.
  std::set<std::string> fused;
  if (main_lowered.fused) fused.insert(main_lowered.fused->name);
  for (const AlgorithmStage& s : alg.stages) {
    if (fused.count(s.name)) continue;
    const bool is_main = s.name == alg.main_stage;
    const StagePlacement placement = states.placement(s.name);
    // A stage computed at a loop runs inside its consumer; in the workspace, its buffer stays.
    if (placement.kind == StagePlacement::At) {
      if (placement.storage == "workspace") nest.temporaries.push_back(s.buffer);
      continue;
    }
    LoweredStage lowered;
    if (is_main) {
      lowered = main_lowered;
    } else if (const ScheduleState* st = states.find(s.name)) {
      lowered = Lowering(*st, placed_at(states, s.name)).lower();
      nest.temporaries.insert(nest.temporaries.end(), lowered.packed.begin(), lowered.packed.end());
      nest.layouts.insert(nest.layouts.end(), lowered.layouts.begin(), lowered.layouts.end());
      if (lowered.fused) fused.insert(lowered.fused->name);
    } else {
      lowered.stages.push_back({s.name, s.kind, naive_stage_loops(s, /*parallel=*/true)});
    }
    if (!lowered.fused && s.buffer->scope != MemoryScope::Param) nest.temporaries.push_back(s.buffer);
    nest.stages.insert(nest.stages.end(), lowered.stages.begin(), lowered.stages.end());
  }
  return nest;
}

} // namespace convtune
