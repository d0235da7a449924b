/// \file The JIT-compiled naive nest agrees with the reference on many odd shapes.
///
/// Tolerance: each output element may differ from the double-precision reference by
/// gamma(n) * sum|input*weight| (n = reduction length + 1, u = 2^-24), the worst-case bound of
/// fp32 summation in any order (see runtime/reference_conv.h). A wrong index or a skipped tap
/// moves an element by about one product's magnitude, far beyond that bound.
#include "ir/algorithms.h"
#include "tests/check_kernel.h"

using namespace convtune;

TEST_CASE("JIT of the naive nest matches the reference on odd shapes", "[jit][reference]") {
  const char* specs[] = {
      "n=1,c=3,h=8,w=8,k=4,r=3,s=3,pad=1",                       // small 3x3 same
      "n=1,c=5,h=11,w=13,k=7,r=3,s=3,stride=2,pad=1",            // stride 2, odd sizes
      "n=1,c=4,h=9,w=9,k=6,r=3,s=3",                             // pad 0
      "n=1,c=3,h=17,w=17,k=8,r=7,s=7,stride=2,pad=3",            // 7x7 stem, pad 3
      "n=1,c=6,h=10,w=12,k=5,r=3,s=3,pad=0:1:2:0",               // asymmetric pad
      "n=1,c=4,h=12,w=12,k=4,r=3,s=3,pad=2,dilation=2",          // dilation 2
      "n=1,c=3,h=13,w=11,k=2,r=3,s=3,pad=1:2,dilation=2:3",      // dilation h != w
      "n=1,c=8,h=9,w=9,k=8,r=3,s=3,pad=1,groups=8",              // depthwise
      "n=1,c=8,h=9,w=9,k=16,r=3,s=3,pad=1,groups=8",             // depthwise, multiplier 2
      "n=1,c=6,h=7,w=7,k=4,r=3,s=3,pad=1,groups=2",              // 2 groups
      "n=3,c=4,h=6,w=7,k=5,r=3,s=3,pad=1",                       // batch 3
      "n=2,c=8,h=5,w=5,k=8,r=3,s=3,stride=2,pad=1,groups=4",     // batch 2, 4 groups, stride
      "n=1,c=16,h=7,w=7,k=32,r=1,s=1",                           // 1x1
      "n=1,c=16,h=14,w=14,k=8,r=1,s=1,stride=2",                 // 1x1 stride 2
      "n=1,c=4,h=9,w=9,k=3,r=1,s=7,pad=0:3",                     // 1x7
      "n=1,c=4,h=9,w=9,k=3,r=7,s=1,pad=3:0",                     // 7x1
      "n=1,c=3,h=10,w=10,k=4,r=5,s=5,pad=2",                     // 5x5
      "n=1,c=7,h=13,w=17,k=11,r=3,s=3,pad=1",                    // primes
      "n=1,c=1,h=1,w=1,k=1,r=1,s=1",                             // 1x1x1x1
      "n=1,c=3,h=1,w=1,k=5,r=3,s=3,pad=1",                       // 1x1 spatial, all padding around
      "n=1,c=2,h=3,w=3,k=2,r=3,s=3,pad=4",                       // pads larger than the kernel
      "n=1,c=3,h=6,w=6,k=2,r=2,s=2,stride=2",                    // 2x2 stride 2 (patchify)
      "n=1,c=3,h=7,w=7,k=2,r=2,s=2,stride=3",                    // stride > kernel: skipped rows
      "n=1,c=2,h=8,w=5,k=3,r=3,s=3,stride=3:1,pad=1",            // stride h != w
      "n=1,c=5,h=6,w=6,k=3,r=3,s=3,pad=0:0:3:3",                 // padding on bottom/right only
      "n=2,c=3,h=5,w=9,k=4,r=2,s=4,stride=1:2,pad=1:2:0:1,dilation=2:1",  // everything at once
      "n=1,c=12,h=5,w=5,k=12,r=3,s=3,pad=1,groups=3,dilation=2", // groups with dilation
      "n=1,c=1,h=31,w=29,k=1,r=3,s=3,pad=1",                     // single channel
      "n=1,c=64,h=4,w=4,k=64,r=3,s=3,pad=1",                     // long reduction (576)
      "n=4,c=2,h=3,w=3,k=2,r=3,s=3,pad=1,groups=2",              // batch 4 depthwise
      "mb1ic4ih9oc4oh9kh3ph1dh1",                                // benchdnn spelling, dilation 2
  };
  for (const char* spec : specs) {
    INFO("workload " << spec);
    Workload wl = parse_workload(spec);
    Agreement a = testing::run_and_check(wl, naive_nest(algorithm_for(wl), "conv"));
    INFO("max abs err " << a.max_abs_err << ", max rel err " << a.max_rel_err);
    CHECK(a.ok);
  }
}

TEST_CASE("The JIT frees and reloads kernels of the same name", "[jit]") {
  Workload wl = parse_workload("n=1,c=2,h=5,w=5,k=3,r=3,s=3,pad=1");
  for (int i = 0; i < 20; ++i) {
    REQUIRE(testing::run_and_check(wl, naive_nest(algorithm_for(wl), "conv"), uint64_t(i)).ok);
  }
}
