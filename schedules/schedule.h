/// \file A schedule as data: an ordered list of primitive steps with a JSON form, replayed on
/// a fresh schedule state of a workload.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ir/tensor_layout.h"
#include "ir/workload.h"
#include "schedules/schedule_state.h"

namespace convtune {

/// One primitive application. Which fields matter depends on the primitive:
/// split(loop, factor, outer, inner), reorder(loops), fuse(outer, inner, fused),
/// unroll/vectorize/parallel/cache_write(loop), bind(loop, to), pack_input(block),
/// pack_weights(in_block, out_block), pack_output(block); compute_at(stage, consumer, loop,
/// storage) and compute_inline(stage) place a stage (schedules/stage_placement.h).
struct Step {
  // Default initialisers let the factories name only the fields their primitive takes.
  std::string primitive{};
  std::string loop{}, outer{}, inner{}, fused{};
  std::string to{};     ///< bind: the GPU index
  std::string stage{};  ///< the stage it schedules; empty: the algorithm's main stage
  std::string consumer{}, storage{};  ///< compute_at: the stage whose loop, where it is stored
  std::vector<std::string> loops{};
  int64_t factor = 0, block = 0, in_block = 0, out_block = 0;

  bool operator==(const Step& o) const;

  // The steps as templates write them.
  static Step split(const std::string& loop, int64_t factor, const std::string& outer, const std::string& inner);
  static Step reorder(std::vector<std::string> loops);
  static Step fuse(const std::string& outer, const std::string& inner, const std::string& fused);
  /// unroll, vectorize, parallel or cache_write of one loop.
  static Step on_loop(const char* primitive, const std::string& loop);
  static Step pack_input(int64_t block);
  static Step pack_weights(int64_t in_block, int64_t out_block);
  static Step pack_output(int64_t block);
  static Step bind(const std::string& loop, const std::string& gpu_index);
  static Step compute_at(const std::string& stage, const std::string& consumer, const std::string& loop,
                         const std::string& storage);
  static Step compute_inline(const std::string& stage);
};

struct Schedule {
  std::string template_name;  ///< the template that produced it; empty when hand-written
  nlohmann::json config;      ///< the template's knob values, when it has them
  /// The algorithm whose main stage the steps schedule (ir/algorithms.h); empty: the
  /// workload's own (direct convolution, or its pooling).
  std::string algorithm;
  std::vector<Step> steps;

  bool operator==(const Schedule& o) const {
    return template_name == o.template_name && config == o.config && algorithm == o.algorithm && steps == o.steps;
  }
};

nlohmann::json to_json(const Step& step);
nlohmann::json to_json(const Schedule& schedule);
/// Reads a schedule; a malformed step is a ScheduleError naming the step and the field.
Schedule schedule_from_json(const nlohmann::json& j);

/// Where a stage other than the main one runs (Halide's compute_root, compute_at/store_at and
/// compute_inline). Root, the default: whole, before its consumers, its buffer in the
/// workspace.
struct StagePlacement {
  enum Kind { Root, Inline, At } kind = Root;
  std::string consumer, loop;  ///< At: inside this loop of that stage
  /// At: "local" (a buffer of the region inside the loop), "registers" (the same, its loops
  /// unrolled so that it can live in registers), "workspace" (the region computed into the
  /// stage's whole buffer in the workspace) or "shared" (GPU: a buffer in the block's shared
  /// memory, filled by all of the block's threads together between two barriers).
  std::string storage;
  int step = 0;  ///< the schedule step that placed it, for refusals found later
};

/// The states a schedule leaves: one per stage its steps name, the main stage's first (it is
/// always there, with no steps when none name it), and where the other stages run.
struct StageStates {
  Algorithm algorithm;  ///< the schedule's algorithm, its inlined stages gone
  std::vector<ScheduleState> states;
  std::map<std::string, StagePlacement> placements;  ///< by stage; absent: Root
  /// The states of a schedule whose steps are all on the main stage, `main` its state.
  static StageStates of_main(const ScheduleState& main);
  const ScheduleState& main() const { return states.front(); }
  /// The state of `stage`; nullptr when no step scheduled it.
  const ScheduleState* find(const std::string& stage) const;
  ScheduleState* find(const std::string& stage);
  /// The placement of `stage` (Root when none was given).
  StagePlacement placement(const std::string& stage) const;
};

/// The algorithm `schedule` names for `wl`, its output stored in `layouts.output` when given
/// (dense otherwise; blocked inputs are read so by the lowering's last step).
Algorithm schedule_algorithm(const Workload& wl, const Schedule& schedule, const ParamLayouts& layouts = {});

/// Replays every step on a fresh state of its stage of the schedule's algorithm for `wl`; a
/// refused step names its number, an unknown stage is refused naming it.
StageStates apply_schedule_stages(const Workload& wl, const Schedule& schedule);
/// The same on `algorithm` (schedule_algorithm's).
StageStates apply_schedule_stages(const Algorithm& algorithm, const Schedule& schedule);
/// The same, for the main stage's state alone.
ScheduleState apply_schedule(const Workload& wl, const Schedule& schedule);

} // namespace convtune

namespace convtune {

/// Reads `--schedule FILE`: a schedule ({"steps": [...]}), or a template config
/// ({"config": {...}} or a bare object of knob values) expanded by `expand_config`.
/// UserError naming the path when it cannot be read or parsed.
nlohmann::json read_json_file(const std::string& path, const char* what);

} // namespace convtune
