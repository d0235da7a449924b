/// \file The layouts of a network's tensors between kernels.
#include "compiler/network_layouts.h"

#include <algorithm>

#include "compiler/compile.h"
#include "ir/error.h"

namespace convtune {

namespace {

const AbiBlocked* input_entry(const KernelAbi& abi) {
  for (const AbiBlocked& b : abi.blocked) {
    if (abi.params[size_t(b.param)].name == "input") return &b;
  }
  return nullptr;
}

/// The layout `abi`'s kernel packs its input `tensor` to, when it packs it as a TensorLayout.
std::optional<TensorLayout> input_packing(const KernelAbi& abi, const NetTensor& tensor) {
  const AbiBlocked* entry = input_entry(abi);
  return entry ? TensorLayout::of(*entry, tensor.nchw()) : std::nullopt;
}

/// Whether a kernel writes tensor `t` and only its kernel readers could keep it blocked.
bool kernel_written(const Network& net, size_t t) {
  const int producer = net.tensors[t].producer;
  return int(t) != net.input && int(t) != net.output && producer >= 0 && net.layers[size_t(producer)].has_kernel();
}

} // namespace

TensorLayouts plan_layouts(const Network& net, const std::vector<KernelAbi>& dense) {
  TensorLayouts layouts(net.tensors.size());
  const std::vector<std::vector<int>> consumers = net.consumers();
  for (size_t t = 0; t < net.tensors.size(); ++t) {
    if (!kernel_written(net, t)) continue;
    // Every reader a kernel reading it once; the layout the most input readers pack it to (the
    // first of equals), the others packing from it.
    std::vector<std::pair<TensorLayout, int>> packings;
    bool kernels_only = !consumers[t].empty();
    for (int c : consumers[t]) {
      const NetLayer& l = net.layers[size_t(c)];
      if (!l.has_kernel() || std::count(l.inputs.begin(), l.inputs.end(), int(t)) != 1) {
        kernels_only = false;
        break;
      }
      if (l.inputs[0] != int(t)) continue;  // the residual: read in whatever layout the tensor has
      const std::optional<TensorLayout> mine = input_packing(dense[size_t(c)], net.tensors[t]);
      if (!mine) continue;  // a reader without a packing of this form reads the tensor through its layout
      auto it = std::find_if(packings.begin(), packings.end(), [&](const auto& p) { return p.first == *mine; });
      if (it == packings.end()) packings.push_back({*mine, 1});
      else ++it->second;
    }
    if (!kernels_only || packings.empty()) continue;  // none when only residuals read it: no packing to match
    layouts[t] = std::max_element(packings.begin(), packings.end(), [](const auto& a, const auto& b) { return a.second < b.second; })->first;
  }
  // A tensor only added as a residual has no packing to match: it takes the layout of what its
  // reader writes (same shape), so that the reader's unpacking reads both alike, lane by lane.
  for (size_t t = 0; t < net.tensors.size(); ++t) {
    if (layouts[t] || !kernel_written(net, t) || consumers[t].size() != 1) continue;
    const NetLayer& reader = net.layers[size_t(consumers[t][0])];
    if (reader.kind == LayerKind::Conv && reader.wl.has_residual() && reader.inputs.size() > 1 && reader.inputs[1] == int(t) &&
        reader.inputs[0] != int(t) && net.tensors[t].shape == net.tensors[size_t(reader.output)].shape) {
      layouts[t] = layouts[size_t(reader.output)];
    }
  }
  return layouts;
}

std::vector<KernelAbi> dense_abis(const Network& net, const std::function<Schedule(size_t layer)>& schedule_of) {
  std::vector<KernelAbi> dense(net.layers.size());
  for (size_t i = 0; i < net.layers.size(); ++i) {
    if (net.layers[i].has_kernel()) dense[i] = kernel_abi(scheduled_nest(net.layers[i].wl, schedule_of(i), "dense"));
  }
  return dense;
}

int blocked_count(const TensorLayouts& layouts) {
  return int(std::count_if(layouts.begin(), layouts.end(), [](const auto& l) { return l.has_value(); }));
}

std::vector<int64_t> storage_bytes(const TensorLayouts& layouts) {
  std::vector<int64_t> bytes(layouts.size(), 0);
  for (size_t t = 0; t < layouts.size(); ++t) {
    if (layouts[t]) bytes[t] = layouts[t]->elements() * int64_t(sizeof(float));
  }
  return bytes;
}

ParamLayouts layer_layouts(const Network& net, size_t layer, const std::vector<KernelAbi>& dense, const TensorLayouts& layouts) {
  const NetLayer& l = net.layers[layer];
  ParamLayouts p;
  p.output = layouts[size_t(l.output)];
  if (l.kind == LayerKind::Conv && l.wl.has_residual()) p.residual = layouts[size_t(l.inputs.at(1))];
  // A blocked input the layer packs otherwise: its packing reads it through the layout.
  const std::optional<TensorLayout>& in = layouts[size_t(l.inputs[0])];
  if (in && input_packing(dense[layer], net.tensors[size_t(l.inputs[0])]) != in) p.input = in;
  return p;
}

const AbiBlocked* blocked_input(const Network& net, size_t layer, const TensorLayouts& layouts, const KernelAbi& abi) {
  const NetLayer& l = net.layers[layer];
  const std::optional<TensorLayout>& in = layouts[size_t(l.inputs[0])];
  // None when the kernel was compiled to read the layout (its packing reads the tensor so).
  return in && input_packing(abi, net.tensors[size_t(l.inputs[0])]) == in ? input_entry(abi) : nullptr;
}

} // namespace convtune
