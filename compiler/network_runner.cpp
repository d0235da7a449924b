/// \file The network runner: kernels compiled once per workload, tensors bound through the ABI.
#include "compiler/network_runner.h"

#include <chrono>

#include "compiler/compile.h"
#include "ir/error.h"
#include "runtime/network_ops.h"

namespace convtune {

/// A layer ready to run: a kernel and its stage table, or plain loops.
struct NetworkRunner::Layer {
  std::shared_ptr<JitKernel> kernel;
  std::vector<float*> table;                    ///< the kernel's parameters, then its temporaries
  std::vector<std::pair<size_t, int>> bound;    ///< table entries that are tensors of the network
  std::vector<size_t> stages;                   ///< the stages a run executes (weights already packed)
  Tensor weights, bias, packed;
};

namespace {

Tensor tensor_of(const std::vector<float>& values) {
  Tensor t(int64_t(values.size()));
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

} // namespace

NetworkRunner::NetworkRunner(const Network& net, const Target& target, const ScheduleChooser& choose)
    : net_(net), plan_(net.plan_workspace()) {
  // Compile first: the scratch every kernel's temporaries share is sized by the largest.
  std::vector<std::string> keys(net_.layers.size());
  for (size_t i = 0; i < net_.layers.size(); ++i) {
    const NetLayer& l = net_.layers[i];
    schedule_text_.push_back("");
    if (l.kind != LayerKind::Conv && l.kind != LayerKind::Pool) continue;
    const ChosenSchedule chosen = choose(l.wl);
    schedule_text_.back() = (chosen.schedule.template_name.empty() ? std::string("naive") : chosen.schedule.template_name + " " + chosen.schedule.config.dump()) +
                            ", " + chosen.source;
    keys[i] = l.wl.key() + " " + to_json(chosen.schedule).dump();
    if (!kernels_.count(keys[i])) {
      kernels_[keys[i]] = compile_jit(scheduled_nest(l.wl, chosen.schedule, "layer"), target);
    }
    scratch_bytes_ = std::max(scratch_bytes_, kernels_[keys[i]]->abi().workspace_bytes);
  }
  workspace_ = Tensor((plan_.workspace_bytes + scratch_bytes_) / 4 + 16);
  char* scratch = reinterpret_cast<char*>(workspace_.data()) + plan_.workspace_bytes;

  for (size_t i = 0; i < net_.layers.size(); ++i) {
    const NetLayer& l = net_.layers[i];
    auto layer = std::make_unique<Layer>();
    if (!keys[i].empty()) {
      layer->kernel = kernels_.at(keys[i]);
      const KernelAbi& abi = layer->kernel->abi();
      layer->weights = tensor_of(l.weights);
      layer->bias = tensor_of(l.bias);
      for (size_t p = 0; p < abi.params.size(); ++p) {
        const std::string& name = abi.params[p].name;
        layer->table.push_back(nullptr);
        if (name == "input") layer->bound.push_back({p, l.inputs[0]});
        else if (name == "residual") layer->bound.push_back({p, l.inputs.at(1)});
        else if (name == "output") layer->bound.push_back({p, l.output});
        else if (name == "weights") layer->table.back() = layer->weights.data();
        else if (name == "bias") layer->table.back() = layer->bias.data();
        else throw InternalError("internal error: a layer kernel's parameter '" + name + "'");
      }
      for (size_t t = 0; t < abi.temporaries.size(); ++t) {
        if (int(t) == abi.packed_weights) {
          layer->packed = Tensor(abi.temporaries[t].bytes / 4 + 1);
          layer->table.push_back(layer->packed.data());
          packed_bytes_ += abi.temporaries[t].bytes;
        } else {
          layer->table.push_back(reinterpret_cast<float*>(scratch + abi.temporaries[t].offset_bytes));
        }
      }
      // The weights are packed now, once; a run executes the other stages.
      for (size_t s = 0; s < abi.stages.size(); ++s) {
        if (abi.stages[s].kind == StageKind::PackWeights) {
          layer->kernel->stage_function()(int64_t(s), layer->table.data());
        } else {
          layer->stages.push_back(s);
        }
      }
    }
    layers_.push_back(std::move(layer));
  }
}

NetworkRunner::~NetworkRunner() = default;

float* NetworkRunner::tensor_ptr(int t) const {
  if (t == net_.input) return const_cast<float*>(input_);
  if (t == net_.output) return output_;
  const int64_t offset = plan_.offset_of(t);
  internal_check(offset >= 0, "tensor '" + net_.tensors[t].name + "' has no place in the workspace");
  return reinterpret_cast<float*>(reinterpret_cast<char*>(const_cast<float*>(workspace_.data())) + offset);
}

const float* NetworkRunner::tensor(int t) const { return tensor_ptr(t); }

void NetworkRunner::run_layer(size_t i) {
  const NetLayer& l = net_.layers[i];
  Layer& layer = *layers_[i];
  if (layer.kernel) {
    for (const auto& [entry, t] : layer.bound) layer.table[entry] = tensor_ptr(t);
    const StageFn stage = layer.kernel->stage_function();
    for (size_t s : layer.stages) stage(int64_t(s), layer.table.data());
    return;
  }
  std::vector<const float*> in;
  for (int t : l.inputs) in.push_back(tensor_ptr(t));
  run_layer_op(l, net_.tensors, in, tensor_ptr(l.output));
}

void NetworkRunner::run(const float* input, float* output, const std::function<void(size_t)>& after_layer) {
  input_ = input, output_ = output;
  for (size_t i = 0; i < layers_.size(); ++i) {
    run_layer(i);
    if (after_layer) after_layer(i);
  }
}

void NetworkRunner::run_timed(const float* input, float* output, std::vector<double>& layer_ms) {
  input_ = input, output_ = output;
  layer_ms.resize(layers_.size(), 0.0);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const auto start = std::chrono::steady_clock::now();
    run_layer(i);
    layer_ms[i] += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
}

} // namespace convtune
