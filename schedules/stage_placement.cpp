/// \file compute_at and compute_inline (see the header).
#include "schedules/stage_placement.h"

#include "ir/ir_visitor.h"

namespace convtune {

namespace {

[[noreturn]] void refuse(const char* primitive, const std::string& why) {
  throw ScheduleError(std::string(primitive) + ": " + why);
}

bool reads(const AlgorithmStage& s, const BufferRef& buffer) {
  std::vector<Expr> exprs = {s.init};
  if (s.update) {
    exprs.push_back(s.update->value);
    if (s.update->guard.defined()) exprs.push_back(s.update->guard);
  }
  for (const Expr& e : exprs) {
    for (const Load* l : loads_in(e)) {
      if (l->buffer == buffer) return true;
    }
  }
  return false;
}

/// What both placements need of the stage placed.
const AlgorithmStage& placeable(const StageStates& states, const std::string& stage, const char* primitive) {
  require_stage(states, stage);
  const AlgorithmStage& s = states.algorithm.stage(stage);
  if (stage == states.algorithm.main_stage) refuse(primitive, "stage '" + stage + "' is the main stage; it is computed whole");
  if (s.buffer->scope == MemoryScope::Param) {
    refuse(primitive, "stage '" + stage + "' writes the parameter '" + s.buffer->name + "'; only a temporary's stage can be placed");
  }
  if (s.update) refuse(primitive, "stage '" + stage + "' has a reduction update; only a pure stage can be placed");
  if (states.placements.count(stage)) refuse(primitive, "stage '" + stage + "' is placed already");
  if (states.find(stage)) refuse(primitive, "stage '" + stage + "' has loop steps of its own, which a placed stage cannot keep");
  if (!stage_point(s, s.index)) {
    refuse(primitive, "stage '" + stage + "' stores at an index its dimensions do not determine");
  }
  return s;
}

/// The loops at and outside `loop` in `state`, outermost first.
std::vector<LoopDim> loops_to(const ScheduleState& state, const std::string& loop) {
  std::vector<LoopDim> out;
  for (const LoopDim& l : state.loops()) {
    out.push_back(l);
    if (l.name == loop) break;
  }
  return out;
}

void check_at(const StageStates& states, const std::string& stage, const StagePlacement& p) {
  const ScheduleState* consumer = states.find(p.consumer);
  internal_check(consumer != nullptr, "check_at: the consumer has no state");
  bool found = false;
  for (const LoopDim& l : consumer->loops()) found = found || l.name == p.loop;
  if (!found) {
    refuse("compute_at", "loop '" + p.loop + "' of stage '" + p.consumer + "' (where '" + stage +
                             "' is computed) is gone: a later step split, fused or renamed it");
  }
  bool in_block = false;
  for (const LoopDim& l : loops_to(*consumer, p.loop)) {
    if (l.name == p.loop && l.kind == ForKind::Vectorized) {
      refuse("compute_at", "loop '" + p.loop + "' is vectorized; a stage cannot be computed per lane");
    }
    in_block = in_block || is_gpu_block(l.kind);
    if (p.storage == "workspace" && l.kind != ForKind::Serial && l.kind != ForKind::Unrolled) {
      refuse("compute_at", "storage 'workspace' would be shared by the iterations of " + std::string(to_string(l.kind)) +
                               " loop '" + l.name + "'; use 'local'");
    }
  }
  if (p.storage != "shared") return;
  // Shared memory is a block's: the block's threads fill the region together, so every thread
  // loop must be outside the loop (one inside it would fill it again for each of its threads).
  if (!in_block) refuse("compute_at", "storage 'shared' needs loop '" + p.loop + "' inside a loop bound to a GPU block");
  bool below = false;
  for (const LoopDim& l : consumer->loops()) {
    if (below && is_gpu_thread(l.kind)) {
      refuse("compute_at", "storage 'shared': thread loop '" + l.name + "' is inside loop '" + p.loop +
                               "'; compute '" + stage + "' at a loop inside every thread loop");
    }
    below = below || l.name == p.loop;
  }
}

} // namespace

void require_stage(const StageStates& states, const std::string& stage) {
  const StagePlacement p = states.placement(stage);
  if (p.kind == StagePlacement::Inline) throw ScheduleError("stage '" + stage + "' is computed inline; it has no loops");
  std::string known;
  bool exists = false;
  for (const AlgorithmStage& a : states.algorithm.stages) {
    known += (known.empty() ? "" : ", ") + a.name;
    exists = exists || a.name == stage;
  }
  if (!exists) throw ScheduleError("no stage '" + stage + "' in " + states.algorithm.name + " (stages: " + known + ")");
}

void require_own_loops(const StageStates& states, const std::string& stage) {
  const StagePlacement p = states.placement(stage);
  if (p.kind == StagePlacement::At) {
    throw ScheduleError("stage '" + stage + "' is computed at loop '" + p.loop + "' of '" + p.consumer +
                        "'; it has no loops of its own");
  }
}

void compute_at(StageStates& states, const std::string& stage, const std::string& consumer, const std::string& loop,
                const std::string& storage, int step) {
  const AlgorithmStage& producer = placeable(states, stage, "compute_at");
  if (storage != "local" && storage != "registers" && storage != "workspace" && storage != "shared") {
    refuse("compute_at", "storage '" + storage + "' is not one of local, registers, workspace, shared");
  }
  require_stage(states, consumer);
  if (!reads(states.algorithm.stage(consumer), producer.buffer)) {
    refuse("compute_at", "stage '" + consumer + "' does not read '" + stage + "'");
  }
  if (states.placements.count(consumer)) {
    refuse("compute_at", "stage '" + consumer + "' is placed itself; compute '" + stage + "' at a stage with loops");
  }
  // The consumer's loops as scheduled so far (its naive order when no step named it yet).
  ScheduleState* st = states.find(consumer);
  if (!st) st = &states.states.emplace_back(states.algorithm, consumer);
  st->loop(loop, "compute_at");  // refuses an unknown loop, naming the loops there are
  StagePlacement p{StagePlacement::At, consumer, loop, storage, step};
  check_at(states, stage, p);
  states.placements[stage] = p;
}

void compute_inline(StageStates& states, const std::string& stage) {
  const AlgorithmStage& inlined = placeable(states, stage, "compute_inline");
  for (const AlgorithmStage& s : states.algorithm.stages) {
    if (s.update && s.update->boundary == inlined.buffer) {
      refuse("compute_inline", "stage '" + s.name + "' guards its reads of '" + stage + "' as a boundary");
    }
  }
  for (const auto& [name, p] : states.placements) {
    if (p.kind == StagePlacement::At && p.consumer == stage) {
      refuse("compute_inline", "stage '" + name + "' is computed at a loop of '" + stage + "'");
    }
  }
  states.algorithm = inline_stage(states.algorithm, stage);
  for (ScheduleState& st : states.states) st.replace_algorithm(states.algorithm);
  states.placements[stage] = {StagePlacement::Inline, "", "", "", 0};
}

void check_placements(const StageStates& states) {
  for (const auto& [stage, p] : states.placements) {
    if (p.kind != StagePlacement::At) continue;
    try {
      check_at(states, stage, p);
    } catch (const ScheduleError& e) {
      throw ScheduleError("schedule step " + std::to_string(p.step) + ": " + e.what());
    }
  }
}

} // namespace convtune
