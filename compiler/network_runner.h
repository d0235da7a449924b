/// \file Running a whole network on the host: every convolution and pooling layer JIT-compiled
/// with a chosen schedule (layers of one workload and schedule share a kernel), weights packed
/// once, intermediates placed in one workspace by the network's plan.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/network_layouts.h"
#include "ir/network.h"
#include "ir/tensor_layout.h"
#include "runtime/tensor.h"
#include "schedules/schedule.h"
#include "targets/jit_kernel.h"
#include "targets/target.h"

namespace convtune {

/// Where a layer's schedule came from.
enum class ScheduleOrigin { Default, Tuned, Predicted, Given };

/// The schedule a layer runs with, and where it came from: `source` says it in words
/// ("default", "tuned (231.2 GFLOP/s alone)", ...).
struct ChosenSchedule {
  Schedule schedule;
  std::string source;
  ScheduleOrigin origin = ScheduleOrigin::Default;
};
using ScheduleChooser = std::function<ChosenSchedule(const Workload&)>;
/// Several schedules a layer may run with, the first the one it runs unless select_fastest()
/// times them in the network.
using ScheduleCandidates = std::function<std::vector<ChosenSchedule>(const Workload&)>;

class NetworkRunner {
public:
  /// Compiles every kernel and packs the weights.
  NetworkRunner(const Network& net, const Target& target, const ScheduleChooser& choose);
  /// The same with every candidate of each layer compiled and packed.
  NetworkRunner(const Network& net, const Target& target, const ScheduleCandidates& candidates);

  /// Times each layer's candidates where it runs, inside the whole network over `input`
  /// (a layer alone in a tuning session runs with warm caches; here its weights come cold and
  /// its input from the layer before), the median of `runs` runs each, and keeps the fastest;
  /// the others are freed. Returns how many layers changed from their first candidate.
  int select_fastest(const float* input, int runs);
  ~NetworkRunner();

  /// Runs every layer in order: `input` and `output` dense as the network's tensors are.
  /// `after_layer(i)`, when given, is called after layer i, while its output can still be read.
  void run(const float* input, float* output, const std::function<void(size_t)>& after_layer = {});
  /// The same, adding each layer's milliseconds to `layer_ms` (one entry per layer).
  void run_timed(const float* input, float* output, std::vector<double>& layer_ms);

  /// Tensor `t` of the last run, dense NCHW (the input and output: the caller's buffers). A later
  /// layer may have overwritten an intermediate: read it from `after_layer` of the layer writing it.
  const float* tensor(int t) const;
  /// Per tensor, the layout it is kept in between its writer and its readers; nullopt: dense.
  const TensorLayouts& layouts() const { return layouts_; }
  const Network& network() const { return net_; }
  const WorkspacePlan& plan() const { return plan_; }
  /// The bytes a run needs besides the packed weights: the planned intermediates and the
  /// largest kernel's own temporaries.
  int64_t workspace_bytes() const { return plan_.workspace_bytes + scratch_bytes_; }
  int64_t packed_weights_bytes() const;
  int kernels_compiled() const { return int(kernels_.size()); }
  /// The schedule layer `i` runs with (after select_fastest, the one it kept); nullptr for a
  /// layer of plain loops.
  const ChosenSchedule* chosen(size_t i) const;
  /// Per layer: its schedule's description ("" for layers that are plain loops), with what
  /// select_fastest measured.
  const std::vector<std::string>& schedules() const { return schedule_text_; }

private:
  struct Layer;
  struct Variant;
  /// Compiles every variant for layouts_ (the layouts of its output, input and residual), each
  /// distinct kernel once, `dense[layer]` being the layer's kernel compiled dense (unread while
  /// every tensor is dense); frees the kernels no variant runs.
  void compile(const std::vector<KernelAbi>& dense);
  /// After select_fastest, keeps the tensors between kernels blocked (compiler/network_layouts):
  /// the writer of each is compiled again to store it so (its epilogue in its unpacking), its
  /// readers to read it so or skip their packing. Layers must have one variant each.
  void keep_blocked();
  /// Plans the workspace for the tensors as stored, binds every variant's table to it and packs
  /// the weights.
  void bind();
  void run_layer(size_t i);
  float* tensor_ptr(int t) const;

  Network net_;
  Target target_;
  WorkspacePlan plan_;
  std::map<std::string, std::shared_ptr<JitKernel>> kernels_;  ///< by workload key and schedule
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<std::string> schedule_text_;
  TensorLayouts layouts_;
  mutable std::vector<float> dense_;                  ///< tensor() of a blocked tensor
  Tensor workspace_;                  ///< intermediates by the plan, then the kernels' scratch
  int64_t scratch_bytes_ = 0;
  const float* input_ = nullptr;
  float* output_ = nullptr;
};

} // namespace convtune
