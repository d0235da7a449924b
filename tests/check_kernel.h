/// \file Test helper: compile a nest for the host, run it on random data, compare to the reference.
#pragma once

#include <catch2/catch.hpp>

#include "compiler/compile.h"
#include "ir/workload.h"
#include "runtime/reference_conv.h"

namespace convtune::testing {

/// JIT-compiles `nest`, runs it once on seeded random input and weights (the output buffer
/// pre-filled with garbage, so a kernel that skips an element fails) and checks it.
inline Agreement run_and_check(const Workload& wl, const LoopNest& nest, uint64_t seed = 7) {
  Tensor input(wl.input_elems()), weights(wl.weight_elems()), output(wl.output_elems());
  input.fill_random(seed);
  weights.fill_random(seed + 1);
  output.fill_random(seed + 2);
  auto kernel = compile_jit(nest, host_target());
  REQUIRE((*kernel)(input.data(), weights.data(), output.data()) == kKernelOk);
  return check_against_reference(wl, reference_conv(wl, input, weights), output);
}

} // namespace convtune::testing
