/// \file Lowering a schedule state: rebuild the indices, place guards and the local tile,
/// infer the packed buffers' extents, and add the layout stages.
#include "schedules/lower_schedule.h"

#include <algorithm>
#include <map>
#include <set>

#include "ir/interval.h"

namespace convtune {

namespace {

Expr var(const std::string& n) { return Var::make(n); }

class Lowering {
public:
  explicit Lowering(const ScheduleState& st) : st_(st), wl_(st.workload()) {}

  LoopNest run(const std::string& name) {
    derive_indices();

    input_ = make_buffer("input", {wl_.n, wl_.c, wl_.h, wl_.w}, MemoryScope::Param);
    weights_ = make_buffer("weights", {wl_.k, wl_.c_per_group(), wl_.r, wl_.s}, MemoryScope::Param);
    output_ = make_buffer("output", {wl_.n, wl_.k, wl_.p(), wl_.q()}, MemoryScope::Param);

    const bool all_packed = st_.input_block() && st_.weight_in_block() && st_.output_block();
    // Over-running k or c inside a group would touch the next group's channels.
    std::set<std::string> safe_roots = {"n", "g", "p", "q", "r", "s"};
    if (wl_.groups == 1) safe_roots.insert({"k", "c"});
    // A loop that over-runs makes the algorithm loops it derives from over-run, so each
    // tail is guarded on those (named by their lets, which the verifier can narrow).
    for (const std::string& root : tail_roots_) {
      if (all_packed && safe_roots.count(root)) continue;
      Expr guard = var(root) < Expr(root_extent(root));
      (is_reduction_root(root) ? reduction_guards_ : pure_guards_).push_back(guard);
    }

    LoopNest nest;
    nest.name = name;
    nest.params = {{input_, "NCHW", false}, {weights_, "KCRS", false}, {output_, "NKPQ", true}};

    Expr in_value = input_value();
    Expr w_value = weight_value();
    build_target();
    Stmt compute = compute_stage(in_value * w_value);

    if (packed_input_) {
      nest.temporaries.push_back(packed_input_);
      nest.stages.push_back({"pack_input", StageKind::PackInput, pack_input_stage()});
    }
    if (packed_weights_) {
      nest.temporaries.push_back(packed_weights_);
      nest.stages.push_back({"pack_weights", StageKind::PackWeights, pack_weights_stage()});
    }
    if (packed_output_) nest.temporaries.push_back(packed_output_);
    nest.stages.push_back({"compute", StageKind::Compute, compute});
    if (packed_output_) nest.stages.push_back({"unpack_output", StageKind::UnpackOutput, unpack_output_stage()});
    return nest;
  }

private:
  static bool is_reduction_root(const std::string& r) { return r == "c" || r == "r" || r == "s"; }

  int64_t root_extent(const std::string& r) const {
    if (r == "n") return wl_.n;
    if (r == "g") return wl_.groups;
    if (r == "k") return wl_.k_per_group();
    if (r == "p") return wl_.p();
    if (r == "q") return wl_.q();
    if (r == "c") return wl_.c_per_group();
    if (r == "r") return wl_.r;
    return wl_.s;
  }

  /// Expresses every algorithm loop through the scheduled loops (walking the relations
  /// backwards) and collects a guard for each split with a tail.
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
    // Which algorithm loops each name covers, walking forwards.
    std::map<std::string, std::set<std::string>> roots;
    for (const char* r : {"n", "g", "k", "p", "q", "c", "r", "s"}) roots[r] = {r};
    for (const LoopRelation& r : rel) {
      if (r.kind == LoopRelation::Split) {
        roots[r.outer] = roots[r.inner] = roots[r.parent];
        if (r.parent_extent % r.factor != 0) tail_roots_.insert(roots[r.parent].begin(), roots[r.parent].end());
      } else {
        roots[r.parent] = roots[r.outer];
        roots[r.parent].insert(roots[r.inner].begin(), roots[r.inner].end());
      }
    }
    // An algorithm loop that was split or fused is bound by a let of its own name, so the
    // guards on it narrow a variable (which the verifier and the simplifier can use).
    for (const char* n : {"n", "g", "k", "p", "q", "c", "r", "s"}) {
      auto it = value.find(n);
      if (it == value.end() || (it->second.as<Var>() && it->second.as<Var>()->name == n)) continue;
      (is_reduction_root(n) ? reduction_lets_ : pure_lets_).push_back({n, it->second});
    }
    auto get = [&](const char* n) { return value.count(n) ? var(n) : Expr(0); };
    // Packed indices use the values themselves, so the simplifier sees (a*x + b) / x.
    auto get_value = [&](const char* n) { return value.count(n) ? value.at(n) : Expr(0); };
    k_abs_value_ = wl_.groups == 1 ? get_value("k") : get_value("g") * Expr(wl_.k_per_group()) + get_value("k");
    c_abs_value_ = wl_.groups == 1 ? get_value("c") : get_value("g") * Expr(wl_.c_per_group()) + get_value("c");
    c_value_ = get_value("c");
    ih_packed_ = get_value("p") * Expr(wl_.stride_h) + get_value("r") * Expr(wl_.dilation_h);
    iw_packed_ = get_value("q") * Expr(wl_.stride_w) + get_value("s") * Expr(wl_.dilation_w);
    n_ = get("n");
    g_ = get("g");
    k_ = get("k");
    p_ = get("p");
    q_ = get("q");
    c_ = get("c");
    r_ = get("r");
    s_ = get("s");
    k_abs_ = wl_.groups == 1 ? k_ : g_ * Expr(wl_.k_per_group()) + k_;
    c_abs_ = wl_.groups == 1 ? c_ : g_ * Expr(wl_.c_per_group()) + c_;
    ih_ = var("ih");
    iw_ = var("iw");
    ih_value_ = p_ * Expr(wl_.stride_h) + r_ * Expr(wl_.dilation_h) - Expr(wl_.pad_top);
    iw_value_ = q_ * Expr(wl_.stride_w) + s_ * Expr(wl_.dilation_w) - Expr(wl_.pad_left);
    // The ranges of the let-bound names, for bounds inference.
    for (const LoopDim& l : st_.loops()) ranges_[l.name] = {0, l.extent - 1};
    for (auto* lets : {&pure_lets_, &reduction_lets_}) {
      for (const auto& [n, v] : *lets) ranges_[n] = bounds_of(v, ranges_);
    }
    ranges_["ih"] = bounds_of(ih_value_, ranges_);
    ranges_["iw"] = bounds_of(iw_value_, ranges_);
  }

  /// `body` inside the lets of the algorithm's pure loops (and, for the update, the reduction
  /// loops and the input coordinates).
  Stmt with_lets(Stmt body, bool update) const {
    if (update) {
      body = LetStmt::make("iw", iw_value_, body);
      body = LetStmt::make("ih", ih_value_, body);
      for (auto it = reduction_lets_.rbegin(); it != reduction_lets_.rend(); ++it) body = LetStmt::make(it->first, it->second, body);
    }
    for (auto it = pure_lets_.rbegin(); it != pure_lets_.rend(); ++it) body = LetStmt::make(it->first, it->second, body);
    return body;
  }

  /// The extent a packed dimension needs to hold every index the compute stage uses.
  int64_t needed(const Expr& index, int64_t at_least) {
    Interval i = bounds_of(index, ranges_);
    internal_check(i.bounded() && i.lo >= 0, "lower_schedule: unbounded packed index " + std::to_string(i.hi));
    return std::max(i.hi + 1, at_least);
  }

  Expr input_value() {
    if (const int64_t x = st_.input_block()) {
      std::vector<Expr> idx = {n_, c_abs_value_ / Expr(x), ih_packed_, iw_packed_, c_abs_value_ % Expr(x)};
      std::vector<int64_t> shape;
      for (size_t d = 0; d + 1 < idx.size(); ++d) shape.push_back(needed(idx[d], 1));
      shape.push_back(x);
      packed_input_ = make_buffer("input_packed", shape, MemoryScope::Heap);
      return Load::make(packed_input_, idx);
    }
    // Unpacked: a guard for each side the taps can cross.
    if (wl_.pad_top > 0 || bounds_of(ih_, ranges_).lo < 0) padding_.push_back(ih_ >= Expr(0));
    if (bounds_of(ih_, ranges_).hi >= wl_.h) padding_.push_back(ih_ < Expr(wl_.h));
    if (wl_.pad_left > 0 || bounds_of(iw_, ranges_).lo < 0) padding_.push_back(iw_ >= Expr(0));
    if (bounds_of(iw_, ranges_).hi >= wl_.w) padding_.push_back(iw_ < Expr(wl_.w));
    return Load::make(input_, {n_, c_abs_, ih_, iw_});
  }

  Expr weight_value() {
    const int64_t x = st_.weight_in_block(), y = st_.weight_out_block();
    if (!x) return Load::make(weights_, {k_abs_, c_, r_, s_});
    std::vector<Expr> idx = {k_abs_value_ / Expr(y), c_value_ / Expr(x), r_, s_, c_value_ % Expr(x), k_abs_value_ % Expr(y)};
    std::vector<int64_t> shape;
    for (size_t d = 0; d < 4; ++d) shape.push_back(needed(idx[d], 1));
    shape.push_back(x);
    shape.push_back(y);
    packed_weights_ = make_buffer("weights_packed", shape, MemoryScope::Heap);
    return Load::make(packed_weights_, idx);
  }

  void build_target() {
    if (const int64_t y = st_.output_block()) {
      std::vector<Expr> idx = {n_, k_abs_value_ / Expr(y), p_, q_, k_abs_value_ % Expr(y)};
      const int64_t kb = (wl_.k + y - 1) / y;
      std::vector<int64_t> shape = {needed(idx[0], wl_.n), needed(idx[1], kb), needed(idx[2], wl_.p()),
                                    needed(idx[3], wl_.q()), y};
      packed_output_ = make_buffer("output_packed", shape, MemoryScope::Heap);
      target_ = packed_output_;
      target_index_ = idx;
      return;
    }
    target_ = output_;
    target_index_ = {n_, k_abs_, p_, q_};
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

  Stmt compute_stage(const Expr& product) {
    const auto& loops = st_.loops();
    std::vector<Expr> update_guards = padding_;
    update_guards.insert(update_guards.end(), reduction_guards_.begin(), reduction_guards_.end());

    if (st_.accumulate_at().empty()) {
      // The output is zeroed by its own nest over the pure loops, then accumulated into.
      std::vector<LoopDim> pure;
      for (const LoopDim& l : loops) {
        if (!l.reduction) pure.push_back(l);
      }
      Stmt init = wrap(pure, with_lets(guarded(pure_guards_, Store::make(target_, target_index_, FloatImm::make(0), false)), false));
      std::vector<Expr> all = pure_guards_;
      all.insert(all.end(), update_guards.begin(), update_guards.end());
      Stmt update = wrap(loops, with_lets(guarded(all, Store::make(target_, target_index_, product, true)), true));
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
    Stmt init = wrap(tile, Store::make(acc, tile_index, FloatImm::make(0), false));
    Stmt update = wrap(inner, with_lets(guarded(update_guards, Store::make(acc, tile_index, product, true)), true));
    Stmt write = wrap(tile, with_lets(guarded(pure_guards_, Store::make(target_, target_index_, Load::make(acc, tile_index), false)), false));
    return wrap(outer, Allocate::make(acc, Block::make({init, update, write})));
  }

  /// input_packed[n][cb][hp][wp][ci] = input at channel cb*x+ci, row hp-pad_top, column
  /// wp-pad_left, or 0 outside the input.
  Stmt pack_input_stage() {
    const auto& shape = packed_input_->shape;
    const int64_t x = shape[4];
    Expr nb = var("nb"), hp = var("hp"), wp = var("wp"), ci = var("ci");
    Expr n = nb / Expr(shape[1]), cb = nb % Expr(shape[1]);
    Expr ch = cb * Expr(x) + ci, h = hp - Expr(wl_.pad_top), w = wp - Expr(wl_.pad_left);
    Expr inside = n < Expr(wl_.n) && ch < Expr(wl_.c) && h >= Expr(0) && h < Expr(wl_.h) && w >= Expr(0) && w < Expr(wl_.w);
    Expr value = Select::make(inside, Load::make(input_, {clamp(n, wl_.n), clamp(ch, wl_.c), clamp(h, wl_.h), clamp(w, wl_.w)}),
                              FloatImm::make(0));
    Stmt body = Store::make(packed_input_, {n, cb, hp, wp, ci}, value, false);
    body = For::make("ci", 0, x, ForKind::Serial, body);
    body = For::make("wp", 0, shape[3], ForKind::Serial, body);
    body = For::make("hp", 0, shape[2], ForKind::Serial, body);
    return For::make("nb", 0, shape[0] * shape[1], ForKind::Parallel, body);
  }

  /// weights_packed[kb][cb][r][s][ci][ki] = weights[kb*y+ki][cb*x+ci][r][s], 0 beyond.
  Stmt pack_weights_stage() {
    const auto& shape = packed_weights_->shape;
    Expr kb = var("kb"), cb = var("cb"), r = var("r"), s = var("s"), ci = var("ci"), ki = var("ki");
    Expr k = kb * Expr(shape[5]) + ki, c = cb * Expr(shape[4]) + ci;
    Expr inside = k < Expr(wl_.k) && c < Expr(wl_.c_per_group()) && r < Expr(wl_.r) && s < Expr(wl_.s);
    Expr value = Select::make(inside,
                              Load::make(weights_, {clamp(k, wl_.k), clamp(c, wl_.c_per_group()), clamp(r, wl_.r), clamp(s, wl_.s)}),
                              FloatImm::make(0));
    Stmt body = Store::make(packed_weights_, {kb, cb, r, s, ci, ki}, value, false);
    const char* names[] = {"kb", "cb", "r", "s", "ci", "ki"};
    for (int d = 5; d >= 0; --d) body = For::make(names[d], 0, shape[size_t(d)], d == 0 ? ForKind::Parallel : ForKind::Serial, body);
    return body;
  }

  /// output[n][k][p][q] = output_packed[n][k/y][p][q][k%y] over the real output only.
  Stmt unpack_output_stage() {
    const int64_t y = packed_output_->shape[4];
    Expr nk = var("nk"), p = var("p"), q = var("q");
    Expr n = nk / Expr(wl_.k), k = nk % Expr(wl_.k);
    Stmt body = Store::make(output_, {n, k, p, q}, Load::make(packed_output_, {n, k / Expr(y), p, q, k % Expr(y)}), false);
    body = For::make("q", 0, wl_.q(), ForKind::Serial, body);
    body = For::make("p", 0, wl_.p(), ForKind::Serial, body);
    return For::make("nk", 0, wl_.n * wl_.k, ForKind::Parallel, body);
  }

  /// `e` clamped into [0, extent): keeps a load in bounds where a select discards it.
  static Expr clamp(const Expr& e, int64_t extent) { return max(min(e, Expr(extent - 1)), Expr(0)); }

  const ScheduleState& st_;
  const Workload& wl_;
  VarRanges ranges_;
  Expr n_, g_, k_, p_, q_, c_, r_, s_, k_abs_, c_abs_, ih_, iw_, ih_value_, iw_value_;
  Expr k_abs_value_, c_abs_value_, c_value_, ih_packed_, iw_packed_;
  std::vector<std::pair<std::string, Expr>> pure_lets_, reduction_lets_;
  std::set<std::string> tail_roots_;
  std::vector<Expr> pure_guards_, reduction_guards_, padding_;
  BufferRef input_, weights_, output_, packed_input_, packed_weights_, packed_output_, target_;
  std::vector<Expr> target_index_;
};

} // namespace

LoopNest lower_schedule(const ScheduleState& state, const std::string& name) {
  return Lowering(state).run(name);
}

} // namespace convtune
