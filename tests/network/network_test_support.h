/// \file Helpers of the network tests: a model's bytes to a fused network, run with default
/// schedules, and compared with the reference interpreter of the unfused import.
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "compiler/network_fusion.h"
#include "compiler/network_runner.h"
#include "compiler/onnx_import.h"
#include "runtime/network_reference.h"
#include "runtime/tensor.h"
#include "schedules/schedule_template.h"
#include "tests/network/onnx_builder.h"

namespace convtune::testing {

inline Network fused_network(const test::OnnxBuilder& model) {
  Network net = import_onnx_bytes(model.bytes(), "test.onnx");
  fuse_layers(net);
  net.verify();
  return net;
}

inline std::vector<float> random_input(const Network& net, uint64_t seed = 7) {
  Tensor t(net.tensors[net.input].elements());
  t.fill_random(seed);
  return std::vector<float>(t.data(), t.data() + t.size());
}

/// A runner of `net` with every kernel's template's default config on the host.
inline std::unique_ptr<NetworkRunner> default_runner(const Network& net) {
  const Target target = host_target();
  return std::make_unique<NetworkRunner>(
      net, target, [&](const Workload& wl) { return ChosenSchedule{resolve_schedule("default", wl, target), "default"}; });
}

/// The network's output, every kernel with its template's default config on the host.
inline std::vector<float> run_network(const Network& net, const std::vector<float>& input) {
  std::vector<float> output(size_t(net.tensors[net.output].elements()));
  default_runner(net)->run(input.data(), output.data());
  return output;
}

/// The tensor of `net` called `name`; fails the test when there is none.
inline int tensor_named(const Network& net, const std::string& name) {
  for (size_t t = 0; t < net.tensors.size(); ++t) {
    if (net.tensors[t].name == name) return int(t);
  }
  FAIL("no tensor " << name);
  return -1;
}

/// Runs the fused network and checks its output against the reference interpreter of the model
/// as imported, before fusion: fusion must not change what is computed. Returns the fused network.
inline Network require_matches_reference(const test::OnnxBuilder& model, double tolerance = 1e-5) {
  const Network unfused = import_onnx_bytes(model.bytes(), "test.onnx");
  const Network net = fused_network(model);
  const std::vector<float> input = random_input(net);
  const std::vector<double> expected = reference_network(unfused, input)[unfused.output];
  const std::vector<float> got = run_network(net, input);
  REQUIRE(got.size() == expected.size());
  const double err = relative_error(got.data(), expected);
  INFO("relative error " << err);
  REQUIRE(err <= tolerance);
  return net;
}

} // namespace convtune::testing
