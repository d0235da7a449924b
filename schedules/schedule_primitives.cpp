/// \file The schedule primitives: each states its preconditions, checks them, then rewrites.
#include <algorithm>
#include <cctype>
#include <set>

#include "ir/algorithms.h"
#include "ir/ir_visitor.h"
#include "schedules/schedule_state.h"

namespace convtune {

namespace {
constexpr int64_t kMaxUnroll = 256;


constexpr int64_t kMaxLanes = 64;
constexpr int64_t kMaxLocalElements = 4096;

[[noreturn]] void refuse(const char* primitive, const std::string& why) {
  throw ScheduleError(std::string(primitive) + ": " + why);
}

/// The output tile a cache_write at `at` keeps in a local buffer: the pure loops inside it.
struct TileBelow {
  int64_t elements = 1;
  const LoopDim* parallel = nullptr;  ///< the first parallel loop inside `at`, if any
};

TileBelow tile_below(const std::vector<LoopDim>& nest, const std::string& at) {
  TileBelow tile;
  bool inside = false;
  for (const LoopDim& l : nest) {
    if (inside && !l.reduction) {
      tile.elements *= l.extent;
      if (l.kind == ForKind::Parallel && !tile.parallel) tile.parallel = &l;
    }
    inside = inside || l.name == at;
  }
  return tile;
}

/// What a cache_write at `at` needs of the nest below it, checked again after any rewrite
/// that moves or splits loops there: no parallel loop, and a tile that fits a local buffer.
void check_tile(const std::vector<LoopDim>& nest, const std::string& at, const char* primitive) {
  if (at.empty()) return;
  const TileBelow tile = tile_below(nest, at);
  if (tile.parallel) refuse(primitive, "loop '" + tile.parallel->name + "' inside '" + at + "' is parallel");
  if (tile.elements > kMaxLocalElements) {
    refuse(primitive, "the output tile below '" + at + "' has " + std::to_string(tile.elements) + " elements; at most " +
                          std::to_string(kMaxLocalElements) + " fit a local buffer");
  }
}
/// What binding needs of the order, checked again after a reorder: block loops outside thread
/// loops, thread loops outside every reduction loop.
void check_gpu_order(const std::vector<LoopDim>& nest, const char* primitive);

} // namespace

ScheduleState::ScheduleState(const Workload& wl) : ScheduleState(algorithm_for(wl), "") {}

ScheduleState::ScheduleState(Algorithm algorithm, const std::string& stage)
    : algorithm_(std::move(algorithm)), stage_(stage.empty() ? algorithm_.main_stage : stage) {
  const AlgorithmStage& s = algorithm_.stage(stage_);
  for (const Dim& d : s.dims) loops_.push_back({d.name, d.extent, ForKind::Serial, false});
  if (s.update) {
    for (const Dim& d : s.update->rdims) loops_.push_back({d.name, d.extent, ForKind::Serial, true});
  }
}

int ScheduleState::position(const std::string& name, const char* primitive) const {
  for (size_t i = 0; i < loops_.size(); ++i) {
    if (loops_[i].name == name) return int(i);
  }
  std::string known;
  for (const LoopDim& l : loops_) known += (known.empty() ? "" : ", ") + l.name;
  refuse(primitive, "no loop named '" + name + "' (loops: " + known + ")");
}

void ScheduleState::replace_algorithm(Algorithm algorithm) {
  internal_check(algorithm.stage(stage_).dims.size() == stage().dims.size(), "replace_algorithm: the stage's dimensions changed");
  algorithm_ = std::move(algorithm);
}

const LoopDim& ScheduleState::loop(const std::string& name, const char* primitive) const {
  return loops_[size_t(position(name, primitive))];
}

LoopDim& ScheduleState::mutable_loop(const std::string& name, const char* primitive) {
  return loops_[size_t(position(name, primitive))];
}

void ScheduleState::check_new_name(const std::string& name, const char* primitive) const {
  if (name.empty()) refuse(primitive, "a new loop needs a name");
  for (char ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_') {
      refuse(primitive, "loop name '" + name + "' may hold only letters, digits and '_'");
    }
  }
  for (const LoopDim& l : loops_) {
    if (l.name == name) refuse(primitive, "a loop named '" + name + "' exists already");
  }
  // Names once used (split or fused away) stay taken: the relations refer to them, and the
  // algorithm's own names (dimensions, lets) keep their meaning.
  const AlgorithmStage& s = stage();
  bool used = false;
  for (const Dim& d : s.dims) used = used || d.name == name;
  if (s.update) {
    for (const Dim& d : s.update->rdims) used = used || d.name == name;
    for (const LetBinding& l : s.update->lets) used = used || l.first == name;
  }
  for (const std::string& r : s.reserved_names) used = used || r == name;
  for (const LoopRelation& r : relations_) used = used || r.parent == name || r.outer == name || r.inner == name;
  if (used) refuse(primitive, "the name '" + name + "' was used by an earlier loop");
}

void ScheduleState::split(const std::string& name, int64_t factor, const std::string& outer, const std::string& inner) {
  const LoopDim& l = loop(name, "split");
  if (factor < 1) refuse("split", "loop '" + name + "': factor " + std::to_string(factor) + " must be at least 1");
  if (l.kind != ForKind::Serial) refuse("split", "loop '" + name + "' is already " + to_string(l.kind) + "; split before annotating");
  if (!accumulate_at_.empty() && accumulate_at_ == name) refuse("split", "loop '" + name + "' holds the cache_write; split before cache_write");
  check_new_name(outer, "split");
  check_new_name(inner, "split");
  if (outer == inner) refuse("split", "outer and inner loops of '" + name + "' need different names");
  const int64_t extent = l.extent;
  const int pos = position(name, "split");
  LoopDim o = l, i = l;
  o.name = outer;
  o.extent = (extent + factor - 1) / factor;
  i.name = inner;
  i.extent = std::min(factor, extent);
  // A factor above the extent leaves one tile: the inner loop covers the extent exactly.
  std::vector<LoopDim> next = loops_;
  next[size_t(pos)] = o;
  next.insert(next.begin() + pos + 1, i);
  // A tail rounds the tile up (9 = 3 x 4 holds 12).
  check_tile(next, accumulate_at_, "split");
  relations_.push_back({LoopRelation::Split, name, outer, inner, i.extent, extent});
  loops_ = std::move(next);
}

void ScheduleState::reorder(const std::vector<std::string>& order) {
  std::vector<int> positions;
  std::set<std::string> seen;
  for (const std::string& name : order) {
    if (!seen.insert(name).second) refuse("reorder", "loop '" + name + "' is listed twice");
    positions.push_back(position(name, "reorder"));
  }
  std::vector<LoopDim> moved;
  for (int p : positions) moved.push_back(loops_[size_t(p)]);
  std::sort(positions.begin(), positions.end());
  std::vector<LoopDim> next = loops_;
  for (size_t i = 0; i < positions.size(); ++i) next[size_t(positions[i])] = moved[i];
  // (One parallel loop per nest: parallel() sees to it, so no order nests two.)
  check_tile(next, accumulate_at_, "reorder");
  check_gpu_order(next, "reorder");
  // A reduction loop may move outside the cache_write: the tile then starts from the partial
  // sums the iterations before left in the target.
  loops_ = next;
}

void ScheduleState::fuse(const std::string& outer, const std::string& inner, const std::string& fused) {
  const int po = position(outer, "fuse"), pi = position(inner, "fuse");
  if (pi != po + 1) refuse("fuse", "loops '" + outer + "' and '" + inner + "' are not adjacent with '" + outer + "' outside");
  const LoopDim &o = loops_[size_t(po)], &i = loops_[size_t(pi)];
  if (o.reduction != i.reduction) refuse("fuse", "loop '" + outer + "' and '" + inner + "' mix a reduction and a pure loop");
  if (o.kind != ForKind::Serial || i.kind != ForKind::Serial) refuse("fuse", "loops '" + outer + "' and '" + inner + "' must not be annotated yet");
  if (accumulate_at_ == outer || accumulate_at_ == inner) refuse("fuse", "loop '" + accumulate_at_ + "' holds the cache_write");
  check_new_name(fused, "fuse");
  LoopDim f = o;
  f.name = fused;
  f.extent = o.extent * i.extent;
  relations_.push_back({LoopRelation::Fuse, fused, outer, inner, i.extent, f.extent});
  loops_[size_t(po)] = f;
  loops_.erase(loops_.begin() + pi);
}

void ScheduleState::unroll(const std::string& name) {
  LoopDim& l = mutable_loop(name, "unroll");
  if (l.kind != ForKind::Serial) refuse("unroll", "loop '" + name + "' is already " + to_string(l.kind));
  if (l.extent > kMaxUnroll) {
    refuse("unroll", "loop '" + name + "' has " + std::to_string(l.extent) + " iterations; split it first (at most " +
                         std::to_string(kMaxUnroll) + ")");
  }
  l.kind = ForKind::Unrolled;
}

void ScheduleState::vectorize(const std::string& name) {
  LoopDim& l = mutable_loop(name, "vectorize");
  if (l.reduction) refuse("vectorize", "loop '" + name + "' is a reduction; its lanes would race on one sum");
  if (l.kind != ForKind::Serial) refuse("vectorize", "loop '" + name + "' is already " + to_string(l.kind));
  if (l.extent > kMaxLanes) {
    refuse("vectorize", "loop '" + name + "' has " + std::to_string(l.extent) + " iterations; split it to at most " +
                            std::to_string(kMaxLanes) + " lanes first");
  }
  l.kind = ForKind::Vectorized;
}

void ScheduleState::parallel(const std::string& name) {
  const int pos = position(name, "parallel");
  LoopDim& l = loops_[size_t(pos)];
  if (l.reduction) refuse("parallel", "loop '" + name + "' is a reduction; threads would race on one sum");
  if (l.kind != ForKind::Serial) refuse("parallel", "loop '" + name + "' is already " + to_string(l.kind));
  for (const LoopDim& other : loops_) {
    if (other.kind == ForKind::Parallel) refuse("parallel", "loop '" + other.name + "' is parallel already; one parallel loop per nest");
    if (other.kind != ForKind::Serial && other.kind != ForKind::Unrolled && other.kind != ForKind::Vectorized) {
      refuse("parallel", "loop '" + other.name + "' is bound to the GPU; a nest runs on CPU threads or on a GPU, not both");
    }
  }
  if (!accumulate_at_.empty() && pos > position(accumulate_at_, "parallel")) {
    refuse("parallel", "loop '" + name + "' is inside the cache_write at '" + accumulate_at_ + "'");
  }
  l.kind = ForKind::Parallel;
}

namespace {

/// The loop kind of a GPU index name, or Serial when the name is not one.
ForKind gpu_kind(const std::string& index) {
  static const std::pair<const char*, ForKind> kinds[] = {
      {"blockIdx.x", ForKind::GpuBlockX},   {"blockIdx.y", ForKind::GpuBlockY},   {"blockIdx.z", ForKind::GpuBlockZ},
      {"threadIdx.x", ForKind::GpuThreadX}, {"threadIdx.y", ForKind::GpuThreadY}, {"threadIdx.z", ForKind::GpuThreadZ}};
  for (const auto& [name, kind] : kinds) {
    if (index == name) return kind;
  }
  return ForKind::Serial;
}

void check_gpu_order(const std::vector<LoopDim>& nest, const char* primitive) {
  const LoopDim* thread = nullptr;
  const LoopDim* reduction = nullptr;
  for (const LoopDim& l : nest) {
    if (is_gpu_block(l.kind) && thread) {
      refuse(primitive, "block loop '" + l.name + "' would run inside thread loop '" + thread->name + "'");
    }
    if (is_gpu_thread(l.kind) && reduction) {
      refuse(primitive, "thread loop '" + l.name + "' would run inside the serial reduction loop '" + reduction->name + "'");
    }
    if (is_gpu_thread(l.kind) && !thread) thread = &l;
    if (l.reduction && !reduction) reduction = &l;
  }
}
constexpr int64_t kMaxThreadsPerBlock = 1024;

} // namespace

void ScheduleState::bind(const std::string& name, const std::string& gpu_index) {
  const int pos = position(name, "bind");
  const LoopDim& l = loops_[size_t(pos)];
  const ForKind kind = gpu_kind(gpu_index);
  if (kind == ForKind::Serial) {
    refuse("bind", "loop '" + name + "': unknown GPU index '" + gpu_index +
                       "' (blockIdx.x, blockIdx.y, blockIdx.z, threadIdx.x, threadIdx.y, threadIdx.z)");
  }
  if (l.reduction) refuse("bind", "loop '" + name + "' is a reduction; blocks or threads would race on one sum");
  if (l.kind != ForKind::Serial) refuse("bind", "loop '" + name + "' is already " + to_string(l.kind));
  int64_t threads = is_gpu_thread(kind) ? l.extent : 1;
  for (size_t i = 0; i < loops_.size(); ++i) {
    const LoopDim& other = loops_[i];
    if (other.kind == kind) refuse("bind", gpu_index + " is bound to loop '" + other.name + "' already");
    if (other.kind == ForKind::Parallel) {
      refuse("bind", "loop '" + other.name + "' is parallel; a nest runs on CPU threads or on a GPU, not both");
    }
    const bool outside = int(i) < pos;
    if (is_gpu_block(kind) && is_gpu_thread(other.kind) && outside) {
      refuse("bind", "block loop '" + name + "' would run inside thread loop '" + other.name + "'");
    }
    if (is_gpu_thread(kind) && is_gpu_block(other.kind) && !outside) {
      refuse("bind", "thread loop '" + name + "' would run outside block loop '" + other.name + "'");
    }
    if (is_gpu_thread(kind) && other.reduction && outside) {
      refuse("bind", "thread loop '" + name + "' would run inside the serial reduction loop '" + other.name + "'");
    }
    if (is_gpu_thread(other.kind)) threads *= other.extent;
  }
  if (threads > kMaxThreadsPerBlock) {
    refuse("bind", "loop '" + name + "' makes " + std::to_string(threads) + " threads per block; at most " +
                       std::to_string(kMaxThreadsPerBlock));
  }
  if (!accumulate_at_.empty() && pos > position(accumulate_at_, "bind")) {
    refuse("bind", "loop '" + name + "' is inside the cache_write at '" + accumulate_at_ + "'");
  }
  loops_[size_t(pos)].kind = kind;
}

void ScheduleState::cache_write(const std::string& name) {
  const int at = position(name, "cache_write");
  if (!stage().update) refuse("cache_write", "stage '" + stage_ + "' has no reduction whose partial results a local tile could keep");
  if (!accumulate_at_.empty()) refuse("cache_write", "partial sums accumulate at '" + accumulate_at_ + "' already");
  // Reduction loops outside the tile are allowed: each visit of the tile starts from the
  // target's partial sums (compiler/schedule_loops). The tile's own loop must be a pure one.
  if (loops_[size_t(at)].reduction) refuse("cache_write", "loop '" + name + "' is a reduction; the tile sits below a pure loop");
  check_tile(loops_, name, "cache_write");
  accumulate_at_ = name;
}

void ScheduleState::require_reads(const char* primitive, const std::string& param) const {
  const NestParam* p = find_param(algorithm_.params, param);
  const AlgorithmStage& s = stage();
  bool reads = false;
  for (const Load* l : loads_in(s.update ? s.update->value : s.init)) reads = reads || (p && l->buffer == p->buffer);
  if (!reads) refuse(primitive, "stage '" + stage_ + "' does not read the " + param + "; there is nothing of it to pack");
}

void ScheduleState::pack_input(int64_t block) {
  require_reads("pack_input", "input");
  if (block < 1) refuse("pack_input", "block " + std::to_string(block) + " must be at least 1");
  input_block_ = block;
}

void ScheduleState::pack_weights(int64_t in_block, int64_t out_block) {
  require_reads("pack_weights", "weights");
  if (in_block < 1) refuse("pack_weights", "input-channel block " + std::to_string(in_block) + " must be at least 1");
  if (out_block < 1) refuse("pack_weights", "output-channel block " + std::to_string(out_block) + " must be at least 1");
  weight_in_block_ = in_block;
  weight_out_block_ = out_block;
}

void ScheduleState::pack_output(int64_t block) {
  if (block < 1) refuse("pack_output", "block " + std::to_string(block) + " must be at least 1");
  output_block_ = block;
}

} // namespace convtune
