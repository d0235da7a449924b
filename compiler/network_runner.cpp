/// \file The network runner: kernels compiled once per workload and schedule, tensors bound
/// through the ABI, a layer's candidate schedules timed in place.
#include "compiler/network_runner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "compiler/compile.h"
#include "compiler/network_layouts.h"
#include "ir/error.h"
#include "runtime/network_ops.h"

namespace convtune {

/// One schedule of a kernel layer: its kernel, stage table and packed weights.
struct NetworkRunner::Variant {
  ChosenSchedule chosen;
  std::shared_ptr<JitKernel> kernel;
  std::vector<float*> table;                  ///< the kernel's parameters, then its temporaries
  std::vector<std::pair<size_t, int>> bound;  ///< table entries that are tensors of the network
  std::vector<size_t> stages;                 ///< the stages a run executes (weights already packed)
  Tensor packed;
  /// The input's entry of abi.blocked when the input tensor is kept in that layout: its packing
  /// is skipped and its packed temporary is the tensor itself.
  const AbiBlocked* blocked_input = nullptr;
};

/// A layer ready to run: the variant it runs (none for plain loops), and its constants.
struct NetworkRunner::Layer {
  std::vector<Variant> variants;
  size_t chosen = 0;
  Tensor weights, bias;
};

namespace {

Tensor tensor_of(const std::vector<float>& values) {
  Tensor t(int64_t(values.size()));
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

std::string describe(const ChosenSchedule& c) {
  const Schedule& s = c.schedule;
  return (s.template_name.empty() ? std::string("naive") : s.template_name + " " + s.config.dump()) + ", " + c.source;
}

} // namespace

NetworkRunner::NetworkRunner(const Network& net, const Target& target, const ScheduleChooser& choose)
    : NetworkRunner(net, target, ScheduleCandidates([&](const Workload& wl) { return std::vector<ChosenSchedule>{choose(wl)}; })) {}

NetworkRunner::NetworkRunner(const Network& net, const Target& target, const ScheduleCandidates& candidates)
    : net_(net), target_(target), layouts_(net.tensors.size()) {
  bool single = true;
  for (size_t i = 0; i < net_.layers.size(); ++i) {
    const NetLayer& l = net_.layers[i];
    auto layer = std::make_unique<Layer>();
    if (l.has_kernel()) {
      for (const ChosenSchedule& chosen : candidates(l.wl)) layer->variants.push_back({chosen, nullptr, {}, {}, {}, {}, nullptr});
      internal_check(!layer->variants.empty(), "no schedule for layer " + l.name);
      single = single && layer->variants.size() == 1;
      layer->weights = tensor_of(l.weights);
      layer->bias = tensor_of(l.bias);
    }
    schedule_text_.push_back(layer->variants.empty() ? "" : describe(layer->variants[0].chosen));
    layers_.push_back(std::move(layer));
  }
  // One schedule per layer: the layouts are planned from the nests alone and each kernel is
  // compiled once, for them. Candidates to time are compiled dense; select_fastest then blocks.
  if (single) {
    const std::vector<KernelAbi> dense = dense_abis(net_, [&](size_t i) { return layers_[i]->variants[0].chosen.schedule; });
    layouts_ = plan_layouts(net_, dense);
    compile(dense);
  } else {
    compile({});  // every tensor dense: no layer needs its dense ABI
  }
  bind();
}

void NetworkRunner::compile(const std::vector<KernelAbi>& dense) {
  for (size_t i = 0; i < net_.layers.size(); ++i) {
    const NetLayer& l = net_.layers[i];
    for (Variant& v : layers_[i]->variants) {
      LowerOptions options;
      options.layouts = layer_layouts(net_, i, dense, layouts_);
      const std::string key = l.wl.key() + " " + to_json(v.chosen.schedule).dump() + " " + options.layouts.describe();
      if (!kernels_.count(key)) kernels_[key] = compile_jit(scheduled_nest(l.wl, v.chosen.schedule, "layer", options), target_, options);
      v.kernel = kernels_[key];
      v.blocked_input = blocked_input(net_, i, layouts_, v.kernel->abi());
    }
  }
  // Kernels no layer runs any more are freed with their last reference.
  for (auto it = kernels_.begin(); it != kernels_.end();) {
    it = it->second.use_count() == 1 ? kernels_.erase(it) : std::next(it);
  }
}

void NetworkRunner::keep_blocked() {
  // Planned from the kernels the layers kept, compiled dense: a layer's input packing does not
  // depend on where it stores. The writers and readers of blocked tensors are compiled again.
  std::vector<KernelAbi> dense(layers_.size());  // copies: compile() frees the kernels no layer runs
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (!layers_[i]->variants.empty()) dense[i] = layers_[i]->variants[0].kernel->abi();
  }
  layouts_ = plan_layouts(net_, dense);
  compile(dense);
}

void NetworkRunner::bind() {
  plan_ = net_.plan_workspace(storage_bytes(layouts_));
  scratch_bytes_ = 0;
  for (const auto& layer : layers_) {
    for (const Variant& v : layer->variants) scratch_bytes_ = std::max(scratch_bytes_, v.kernel->abi().workspace_bytes);
  }
  workspace_ = Tensor((plan_.workspace_bytes + scratch_bytes_) / 4 + 16);
  char* scratch = reinterpret_cast<char*>(workspace_.data()) + plan_.workspace_bytes;

  for (size_t i = 0; i < net_.layers.size(); ++i) {
    const NetLayer& l = net_.layers[i];
    Layer& layer = *layers_[i];
    for (Variant& v : layer.variants) {
      const KernelAbi& abi = v.kernel->abi();
      v.table.clear();
      v.bound.clear();
      v.stages.clear();
      for (size_t p = 0; p < abi.params.size(); ++p) {
        const std::string& name = abi.params[p].name;
        v.table.push_back(nullptr);
        if (name == "input") v.bound.push_back({p, l.inputs[0]});
        else if (name == "residual") v.bound.push_back({p, l.inputs.at(1)});
        else if (name == "output") v.bound.push_back({p, l.output});
        else if (name == "weights") v.table.back() = layer.weights.data();
        else if (name == "bias") v.table.back() = layer.bias.data();
        else throw InternalError("internal error: a layer kernel's parameter '" + name + "'");
      }
      const AbiBlocked* blocked_input = v.blocked_input;
      for (size_t t = 0; t < abi.temporaries.size(); ++t) {
        if (int(t) == abi.packed_weights) {
          v.packed = Tensor(abi.temporaries[t].bytes / 4 + 1);
          v.table.push_back(v.packed.data());
        } else if (blocked_input && int(t) == blocked_input->temporary) {
          v.table.push_back(tensor_ptr(l.inputs[0]));  // an intermediate: its place is fixed
        } else {
          v.table.push_back(reinterpret_cast<float*>(scratch + abi.temporaries[t].offset_bytes));
        }
      }
      // The weights are packed now, once; a run executes the other stages.
      for (size_t s = 0; s < abi.stages.size(); ++s) {
        if (abi.stages[s].kind == StageKind::PackWeights) {
          v.kernel->stage_function()(int64_t(s), v.table.data());
        } else if (!blocked_input || int(s) != blocked_input->stage) {
          v.stages.push_back(s);
        }
      }
    }
  }
}

NetworkRunner::~NetworkRunner() = default;

int64_t NetworkRunner::packed_weights_bytes() const {
  int64_t bytes = 0;
  for (const auto& layer : layers_) {
    for (const Variant& v : layer->variants) bytes += 4 * v.packed.size();
  }
  return bytes;
}

const ChosenSchedule* NetworkRunner::chosen(size_t i) const {
  const Layer& layer = *layers_[i];
  return layer.variants.empty() ? nullptr : &layer.variants[layer.chosen].chosen;
}

float* NetworkRunner::tensor_ptr(int t) const {
  if (t == net_.input) return const_cast<float*>(input_);
  if (t == net_.output) return output_;
  const int64_t offset = plan_.offset_of(t);
  internal_check(offset >= 0, "tensor '" + net_.tensors[t].name + "' has no place in the workspace");
  return reinterpret_cast<float*>(reinterpret_cast<char*>(const_cast<float*>(workspace_.data())) + offset);
}

const float* NetworkRunner::tensor(int t) const {
  const std::optional<TensorLayout>& layout = layouts_[size_t(t)];
  if (!layout) return tensor_ptr(t);
  dense_.resize(size_t(net_.tensors[size_t(t)].elements()));
  unblock(tensor_ptr(t), *layout, net_.tensors[size_t(t)].nchw(), dense_.data());
  return dense_.data();
}



void NetworkRunner::run_layer(size_t i) {
  const NetLayer& l = net_.layers[i];
  Layer& layer = *layers_[i];
  if (!layer.variants.empty()) {
    Variant& v = layer.variants[layer.chosen];
    for (const auto& [entry, t] : v.bound) v.table[entry] = tensor_ptr(t);
    const StageFn stage = v.kernel->stage_function();
    for (size_t s : v.stages) stage(int64_t(s), v.table.data());
    // The kernel stores the tensor alone; around it goes what the readers' packing would write.
    if (const std::optional<TensorLayout>& out = layouts_[size_t(l.output)]) {
      const NetTensor& t = net_.tensors[size_t(l.output)];
      fill_exterior(tensor_ptr(l.output), *out, t.c(), t.h(), t.w());
    }
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

int NetworkRunner::select_fastest(const float* input, int runs) {
  size_t most = 1;
  for (const auto& layer : layers_) most = std::max(most, layer->variants.size());
  if (most == 1) return 0;
  std::vector<float> output(size_t(net_.tensors[net_.output].elements()));
  // Round v runs every layer's v-th candidate (its last when it has fewer): a layer's time
  // depends on its own schedule and on what ran before it, not on the others' choices much.
  std::vector<std::vector<double>> median(layers_.size(), std::vector<double>(most, 0.0));
  for (size_t v = 0; v < most; ++v) {
    for (auto& layer : layers_) layer->chosen = std::min(v, layer->variants.empty() ? 0 : layer->variants.size() - 1);
    run(input, output.data());  // warm-up
    std::vector<std::vector<double>> samples(layers_.size());
    for (int r = 0; r < std::max(runs, 1); ++r) {
      std::vector<double> ms;
      run_timed(input, output.data(), ms);
      for (size_t i = 0; i < ms.size(); ++i) samples[i].push_back(ms[i]);
    }
    for (size_t i = 0; i < layers_.size(); ++i) {
      std::sort(samples[i].begin(), samples[i].end());
      median[i][v] = samples[i][samples[i].size() / 2];
    }
  }
  int changed = 0;
  for (size_t i = 0; i < layers_.size(); ++i) {
    Layer& layer = *layers_[i];
    if (layer.variants.size() < 2) {
      layer.chosen = 0;
      continue;
    }
    size_t best = 0;
    for (size_t v = 1; v < layer.variants.size(); ++v) {
      if (median[i][v] < median[i][best]) best = v;
    }
    changed += best != 0;
    char text[96];
    std::snprintf(text, sizeof text, " (fastest of %zu here: %.3f ms; first candidate %.3f ms)", layer.variants.size(), median[i][best], median[i][0]);
    schedule_text_[i] = describe(layer.variants[best].chosen) + text;
    Variant kept = std::move(layer.variants[best]);
    layer.variants.clear();
    layer.variants.push_back(std::move(kept));
    layer.chosen = 0;
  }
  keep_blocked();
  bind();
  return changed;
}

} // namespace convtune
