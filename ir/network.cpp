/// \file The network graph: order (Boost.Graph), shape checks, liveness and the workspace plan.
#include "ir/network.h"

#include <algorithm>
#include <functional>
#include <map>
#include <queue>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/topological_sort.hpp>

#include "ir/error.h"

namespace convtune {

const char* layer_kind_name(LayerKind kind) {
  switch (kind) {
  case LayerKind::Conv: return "conv";
  case LayerKind::Pool: return "pool";
  case LayerKind::GlobalAvgPool: return "global_avg_pool";
  case LayerKind::Elementwise: return "elementwise";
  case LayerKind::Concat: return "concat";
  case LayerKind::Pad: return "pad";
  case LayerKind::Copy: return "copy";
  case LayerKind::ChannelShuffle: return "channel_shuffle";
  case LayerKind::Slice: return "slice";
  }
  return "?";
}

std::string Activation::describe() const {
  switch (kind) {
  case Kind::None: return "";
  case Kind::Relu: return "relu";
  case Kind::Clip: return "clip(" + std::to_string(lo) + "," + std::to_string(hi) + ")";
  case Kind::Sigmoid: return "sigmoid";
  case Kind::HardSigmoid: return "hard_sigmoid";
  case Kind::HardSwish: return "hard_swish";
  case Kind::Silu: return "silu";
  }
  return "?";
}

int64_t NetTensor::elements() const {
  int64_t e = 1;
  for (int64_t d : shape) e *= d;
  return e;
}

std::string NetTensor::shape_text() const {
  std::string text;
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? "x" : "") + std::to_string(shape[i]);
  return text;
}

double NetLayer::flops(const std::vector<NetTensor>& tensors) const {
  if (has_kernel()) return wl.flops();
  if (kind == LayerKind::GlobalAvgPool) return double(tensors[inputs[0]].elements());
  return double(tensors[output].elements());
}

double Network::flops() const {
  double total = 0;
  for (const NetLayer& l : layers) total += l.flops(tensors);
  return total;
}

std::vector<std::vector<int>> Network::consumers() const {
  std::vector<std::vector<int>> readers(tensors.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    for (int t : layers[i].inputs) {
      if (std::find(readers[t].begin(), readers[t].end(), int(i)) == readers[t].end()) readers[t].push_back(int(i));
    }
  }
  return readers;
}

void Network::sort() {
  // Producers of each tensor, then the layers the output needs, walking back from it.
  std::vector<int> producer(tensors.size(), -1);
  for (size_t i = 0; i < layers.size(); ++i) producer[layers[i].output] = int(i);
  std::vector<char> needed(layers.size(), 0);
  std::vector<int> work = {output};
  while (!work.empty()) {
    const int t = work.back();
    work.pop_back();
    const int p = producer[t];
    if (p < 0) {
      if (t != input) throw UserError("tensor '" + tensors[t].name + "' is read but nothing writes it");
      continue;
    }
    if (needed[p]) continue;
    needed[p] = 1;
    for (int in : layers[p].inputs) work.push_back(in);
  }

  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;
  Graph g(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    if (!needed[i]) continue;
    for (int in : layers[i].inputs) {
      if (producer[in] >= 0) boost::add_edge(size_t(producer[in]), i, g);
    }
  }
  std::vector<size_t> reversed;  // Boost's order; it finds a cycle when there is one
  try {
    boost::topological_sort(g, std::back_inserter(reversed));
  } catch (const boost::not_a_dag&) {
    // Name a layer on the cycle: one whose inputs lead back to itself.
    for (size_t i = 0; i < layers.size(); ++i) {
      if (!needed[i]) continue;
      std::vector<char> seen(layers.size(), 0);
      std::vector<int> stack;
      for (int in : layers[i].inputs) stack.push_back(producer[in]);
      while (!stack.empty()) {
        const int p = stack.back();
        stack.pop_back();
        if (p < 0 || seen[p]) continue;
        if (p == int(i)) throw UserError("node '" + layers[i].name + "' is on a cycle: its output feeds its own input");
        seen[p] = 1;
        for (int in : layers[p].inputs) stack.push_back(producer[in]);
      }
    }
    throw UserError("the graph has a cycle");
  }
  // The order itself: of the layers whose inputs are ready, the earliest in the model first
  // (Kahn's algorithm over the same graph), so that layers keep the model's order where they
  // can: what `show` lists and what the workspace plan was made for.
  std::vector<int> waiting(layers.size(), 0);
  for (size_t i = 0; i < layers.size(); ++i) {
    for (auto [e, end] = boost::out_edges(i, g); e != end; ++e) ++waiting[boost::target(*e, g)];
  }
  std::priority_queue<size_t, std::vector<size_t>, std::greater<size_t>> ready;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (needed[i] && waiting[i] == 0) ready.push(i);
  }
  std::vector<NetLayer> ordered;
  while (!ready.empty()) {
    const size_t i = ready.top();
    ready.pop();
    for (auto [e, end] = boost::out_edges(i, g); e != end; ++e) {
      if (--waiting[boost::target(*e, g)] == 0) ready.push(boost::target(*e, g));
    }
    ordered.push_back(std::move(layers[i]));
  }
  layers = std::move(ordered);
  for (NetTensor& t : tensors) t.producer = -1;
  for (size_t i = 0; i < layers.size(); ++i) tensors[layers[i].output].producer = int(i);
}

namespace {

void expect(bool condition, const NetLayer& layer, const std::string& what) {
  internal_check(condition, "network layer '" + layer.name + "' (" + layer_kind_name(layer.kind) + "): " + what);
}

} // namespace

void Network::verify() const {
  internal_check(input >= 0 && output >= 0, "network without an input or output");
  std::vector<char> written(tensors.size(), 0);
  written[input] = 1;
  for (const NetLayer& l : layers) {
    expect(!l.inputs.empty() && l.output >= 0, l, "no input or output");
    for (int in : l.inputs) expect(written[in], l, "reads '" + tensors[in].name + "' before it is written");
    expect(!written[l.output], l, "writes '" + tensors[l.output].name + "' a second time");
    written[l.output] = 1;
    const NetTensor& x = tensors[l.inputs[0]];
    const NetTensor& y = tensors[l.output];
    switch (l.kind) {
    case LayerKind::Conv:
    case LayerKind::Pool:
      l.wl.validate();
      expect(x.n() == l.wl.n && x.c() == l.wl.c && x.h() == l.wl.h && x.w() == l.wl.w, l, "input shape " + x.shape_text());
      expect(y.n() == l.wl.n && y.c() == l.wl.k && y.h() == l.wl.p() && y.w() == l.wl.q(), l, "output shape " + y.shape_text());
      expect(int64_t(l.weights.size()) == l.wl.weight_elems(), l, "weights");
      expect(int64_t(l.bias.size()) == (l.wl.has_bias() ? l.wl.k : 0), l, "bias");
      expect(l.inputs.size() == (l.wl.has_residual() ? 2u : 1u), l, "inputs");
      if (l.wl.has_residual()) expect(tensors[l.inputs[1]].elements() == y.elements(), l, "residual shape");
      break;
    case LayerKind::GlobalAvgPool:
      expect(y.n() == x.n() && y.c() == x.c() && y.h() == 1 && y.w() == 1, l, "output shape " + y.shape_text());
      break;
    case LayerKind::Elementwise: {
      expect(y.elements() == x.elements(), l, "output shape " + y.shape_text());
      expect(l.scale.empty() || int64_t(l.scale.size()) == x.c(), l, "scale");
      expect(l.shift.empty() || int64_t(l.shift.size()) == x.c(), l, "shift");
      expect(l.inputs.size() == (l.binary == LayerBinary::None ? 1u : 2u), l, "inputs");
      if (l.binary != LayerBinary::None) {
        const NetTensor& o = tensors[l.inputs[1]];
        expect(o.elements() == x.elements() || (o.n() == x.n() && o.c() == x.c() && o.elements() == x.n() * x.c()), l,
               "operand shape " + o.shape_text());
      }
      break;
    }
    case LayerKind::Concat: {
      int64_t channels = 0;
      for (int in : l.inputs) {
        const NetTensor& t = tensors[in];
        expect(t.n() == y.n() && t.h() == y.h() && t.w() == y.w(), l, "input shape " + t.shape_text());
        channels += t.c();
      }
      expect(channels == y.c(), l, "output channels");
      break;
    }
    case LayerKind::Pad:
      expect(y.n() == x.n() && y.c() == x.c() && y.h() == x.h() + l.pad_top + l.pad_bottom &&
                 y.w() == x.w() + l.pad_left + l.pad_right, l, "output shape " + y.shape_text());
      break;
    case LayerKind::Copy:
      expect(y.elements() == x.elements(), l, "output shape " + y.shape_text());
      break;
    case LayerKind::ChannelShuffle:
      expect(y.shape == x.shape && l.groups >= 1 && x.c() % l.groups == 0, l, "groups " + std::to_string(l.groups));
      break;
    case LayerKind::Slice:
      expect(y.n() == x.n() && y.h() == x.h() && y.w() == x.w() && l.slice_begin >= 0 && l.slice_begin + y.c() <= x.c(), l,
             "slice of " + x.shape_text() + " from channel " + std::to_string(l.slice_begin) + " to " + y.shape_text());
      break;
    }
  }
  internal_check(written[output], "the network's output is never written");
}

int64_t WorkspacePlan::offset_of(int tensor) const {
  for (const TensorPlacement& p : placements) {
    if (p.tensor == tensor) return p.offset_bytes;
  }
  return -1;
}

WorkspacePlan Network::plan_workspace(const std::vector<int64_t>& storage_bytes) const {
  constexpr int64_t kAlign = 64;
  // Live ranges over the layer order: from the layer writing a tensor to the last reading it.
  std::vector<TensorPlacement> ranges;
  std::vector<int> range_of(tensors.size(), -1);
  for (size_t i = 0; i < layers.size(); ++i) {
    const int t = layers[i].output;
    if (t == output || t == input) continue;
    range_of[t] = int(ranges.size());
    const int64_t bytes = size_t(t) < storage_bytes.size() && storage_bytes[t] > 0 ? storage_bytes[t] : tensors[t].bytes();
    ranges.push_back({t, 0, (bytes + kAlign - 1) / kAlign * kAlign, int(i), int(i)});
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    for (int in : layers[i].inputs) {
      if (range_of[in] >= 0) ranges[range_of[in]].last_layer = std::max(ranges[range_of[in]].last_layer, int(i));
    }
  }
  WorkspacePlan plan;
  for (const TensorPlacement& r : ranges) plan.sum_bytes += r.bytes;
  for (size_t i = 0; i < layers.size(); ++i) {
    int64_t live = 0;
    for (const TensorPlacement& r : ranges) {
      if (r.first_layer <= int(i) && int(i) <= r.last_layer) live += r.bytes;
    }
    plan.peak_live_bytes = std::max(plan.peak_live_bytes, live);
  }

  // The interference graph: an edge between two tensors alive at one layer.
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS>;
  Graph interference(ranges.size());
  for (size_t a = 0; a < ranges.size(); ++a) {
    for (size_t b = a + 1; b < ranges.size(); ++b) {
      if (ranges[a].first_layer <= ranges[b].last_layer && ranges[b].first_layer <= ranges[a].last_layer) {
        boost::add_edge(a, b, interference);
      }
    }
  }
  // Greedy colouring with sizes: largest first (ties by first use), each at the lowest offset
  // where it overlaps none of its placed neighbours.
  std::vector<size_t> order(ranges.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (ranges[a].bytes != ranges[b].bytes) return ranges[a].bytes > ranges[b].bytes;
    return ranges[a].first_layer < ranges[b].first_layer;
  });
  std::vector<char> placed(ranges.size(), 0);
  for (size_t v : order) {
    std::vector<std::pair<int64_t, int64_t>> taken;  // [begin, end) of placed neighbours
    for (auto [e, end] = boost::adjacent_vertices(v, interference); e != end; ++e) {
      if (placed[*e]) taken.push_back({ranges[*e].offset_bytes, ranges[*e].offset_bytes + ranges[*e].bytes});
    }
    std::sort(taken.begin(), taken.end());
    int64_t offset = 0;
    for (const auto& [begin, finish] : taken) {
      if (offset + ranges[v].bytes <= begin) break;
      offset = std::max(offset, finish);
    }
    ranges[v].offset_bytes = offset;
    placed[v] = 1;
    plan.workspace_bytes = std::max(plan.workspace_bytes, offset + ranges[v].bytes);
  }
  std::sort(ranges.begin(), ranges.end(), [](const TensorPlacement& a, const TensorPlacement& b) {
    return a.offset_bytes != b.offset_bytes ? a.offset_bytes < b.offset_bytes : a.first_layer < b.first_layer;
  });
  plan.placements = std::move(ranges);
  return plan;
}

} // namespace convtune
