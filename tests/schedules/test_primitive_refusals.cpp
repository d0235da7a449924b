/// \file Every refusal of the schedule primitives, each checked by its exact message.
#include <catch2/catch.hpp>

#include "ir/workload.h"
#include "schedules/schedule.h"
#include "schedules/schedule_state.h"

using namespace convtune;
using Catch::Matchers::Message;

namespace {

/// n=1, k=8, p=6, q=6, c=4, r=3, s=3: loops n, k, p, q, c, r, s.
Workload dense() { return parse_workload("n=1,c=4,h=6,w=6,k=8,r=3,s=3,pad=1"); }

} // namespace

TEST_CASE("Primitives refuse an unknown loop, listing the loops", "[schedules][refusals]") {
  ScheduleState st(dense());
  const std::string loops = " (loops: n, k, p, q, c, r, s)";
  REQUIRE_THROWS_MATCHES(st.split("x", 2, "xo", "xi"), ScheduleError, Message("split: no loop named 'x'" + loops));
  REQUIRE_THROWS_MATCHES(st.reorder({"k", "x"}), ScheduleError, Message("reorder: no loop named 'x'" + loops));
  REQUIRE_THROWS_MATCHES(st.fuse("x", "k", "xk"), ScheduleError, Message("fuse: no loop named 'x'" + loops));
  REQUIRE_THROWS_MATCHES(st.fuse("n", "x", "nx"), ScheduleError, Message("fuse: no loop named 'x'" + loops));
  REQUIRE_THROWS_MATCHES(st.unroll("x"), ScheduleError, Message("unroll: no loop named 'x'" + loops));
  REQUIRE_THROWS_MATCHES(st.vectorize("x"), ScheduleError, Message("vectorize: no loop named 'x'" + loops));
  REQUIRE_THROWS_MATCHES(st.parallel("x"), ScheduleError, Message("parallel: no loop named 'x'" + loops));
  REQUIRE_THROWS_MATCHES(st.cache_write("x"), ScheduleError, Message("cache_write: no loop named 'x'" + loops));
  // A loop split away is no longer a loop.
  st.split("k", 4, "ko", "ki");
  REQUIRE_THROWS_MATCHES(st.unroll("k"), ScheduleError,
                         Message("unroll: no loop named 'k' (loops: n, ko, ki, p, q, c, r, s)"));
  // The grouped workload has a g loop.
  ScheduleState grouped(parse_workload("n=1,c=4,h=6,w=6,k=8,r=3,s=3,pad=1,groups=2"));
  REQUIRE_THROWS_MATCHES(grouped.unroll("x"), ScheduleError,
                         Message("unroll: no loop named 'x' (loops: n, g, k, p, q, c, r, s)"));
}

TEST_CASE("split refuses a factor below 1, an annotated loop and the cache_write loop", "[schedules][refusals]") {
  ScheduleState st(dense());
  REQUIRE_THROWS_MATCHES(st.split("k", 0, "ko", "ki"), ScheduleError, Message("split: loop 'k': factor 0 must be at least 1"));
  REQUIRE_THROWS_MATCHES(st.split("k", -3, "ko", "ki"), ScheduleError, Message("split: loop 'k': factor -3 must be at least 1"));
  st.unroll("s");
  REQUIRE_THROWS_MATCHES(st.split("s", 2, "so", "si"), ScheduleError,
                         Message("split: loop 's' is already unrolled; split before annotating"));
  st.vectorize("q");
  REQUIRE_THROWS_MATCHES(st.split("q", 2, "qo", "qi"), ScheduleError,
                         Message("split: loop 'q' is already vectorized; split before annotating"));
  st.parallel("k");
  REQUIRE_THROWS_MATCHES(st.split("k", 2, "ko", "ki"), ScheduleError,
                         Message("split: loop 'k' is already parallel; split before annotating"));
  st.cache_write("p");
  REQUIRE_THROWS_MATCHES(st.split("p", 2, "po", "pi"), ScheduleError,
                         Message("split: loop 'p' holds the cache_write; split before cache_write"));
}

TEST_CASE("New loop names are refused when they clash or hold bad characters", "[schedules][refusals]") {
  ScheduleState st(dense());
  REQUIRE_THROWS_MATCHES(st.split("k", 2, "", "ki"), ScheduleError, Message("split: a new loop needs a name"));
  REQUIRE_THROWS_MATCHES(st.split("k", 2, "ko", ""), ScheduleError, Message("split: a new loop needs a name"));
  REQUIRE_THROWS_MATCHES(st.split("k", 2, "k.o", "ki"), ScheduleError,
                         Message("split: loop name 'k.o' may hold only letters, digits and '_'"));
  REQUIRE_THROWS_MATCHES(st.split("k", 2, "ko", "k i"), ScheduleError,
                         Message("split: loop name 'k i' may hold only letters, digits and '_'"));
  REQUIRE_THROWS_MATCHES(st.split("k", 2, "ko", "k-i"), ScheduleError,
                         Message("split: loop name 'k-i' may hold only letters, digits and '_'"));
  // An existing loop, the split loop itself included.
  REQUIRE_THROWS_MATCHES(st.split("k", 2, "p", "ki"), ScheduleError, Message("split: a loop named 'p' exists already"));
  REQUIRE_THROWS_MATCHES(st.split("k", 2, "k", "ki"), ScheduleError, Message("split: a loop named 'k' exists already"));
  // An algorithm loop name this workload does not have (no groups) is still reserved.
  REQUIRE_THROWS_MATCHES(st.split("k", 2, "g", "ki"), ScheduleError,
                         Message("split: the name 'g' was used by an earlier loop"));
  REQUIRE_THROWS_MATCHES(st.split("k", 2, "ko", "ko"), ScheduleError,
                         Message("split: outer and inner loops of 'k' need different names"));
  st.split("k", 2, "ko", "ki");
  // k was split away: its name and the names of loops split or fused away stay taken.
  REQUIRE_THROWS_MATCHES(st.split("p", 2, "k", "pi"), ScheduleError, Message("split: the name 'k' was used by an earlier loop"));
  st.split("ki", 1, "kio", "kii");
  REQUIRE_THROWS_MATCHES(st.split("q", 2, "qo", "ki"), ScheduleError, Message("split: the name 'ki' was used by an earlier loop"));
  st.fuse("n", "ko", "nko");
  REQUIRE_THROWS_MATCHES(st.fuse("p", "q", "ko"), ScheduleError, Message("fuse: the name 'ko' was used by an earlier loop"));
  REQUIRE_THROWS_MATCHES(st.fuse("p", "q", "nko"), ScheduleError, Message("fuse: a loop named 'nko' exists already"));
  REQUIRE_THROWS_MATCHES(st.fuse("p", "q", "r"), ScheduleError, Message("fuse: a loop named 'r' exists already"));
  REQUIRE_THROWS_MATCHES(st.fuse("p", "q", "p+q"), ScheduleError,
                         Message("fuse: loop name 'p+q' may hold only letters, digits and '_'"));
  REQUIRE_THROWS_MATCHES(st.fuse("p", "q", ""), ScheduleError, Message("fuse: a new loop needs a name"));
}

TEST_CASE("reorder refuses duplicates, and lets a reduction move outside the cache_write", "[schedules][refusals]") {
  ScheduleState st(dense());
  REQUIRE_THROWS_MATCHES(st.reorder({"k", "p", "k"}), ScheduleError, Message("reorder: loop 'k' is listed twice"));
  st.cache_write("q");
  // A reduction outside the tile: the tile resumes from the target's partial sums.
  st.reorder({"c", "q"});
  REQUIRE(st.loops()[3].name == "c");
  st.reorder({"q", "c"});
  // A refused reorder leaves the loops as they were; an allowed one still works.
  st.reorder({"s", "r", "c"});
  std::vector<std::string> names;
  for (const LoopDim& l : st.loops()) names.push_back(l.name);
  CHECK(names == std::vector<std::string>{"n", "k", "p", "q", "s", "r", "c"});
}

TEST_CASE("fuse refuses loops that are not adjacent, mix kinds, are annotated or hold the cache_write",
          "[schedules][refusals]") {
  ScheduleState st(dense());
  REQUIRE_THROWS_MATCHES(st.fuse("n", "p", "np"), ScheduleError,
                         Message("fuse: loops 'n' and 'p' are not adjacent with 'n' outside"));
  REQUIRE_THROWS_MATCHES(st.fuse("k", "n", "kn"), ScheduleError,
                         Message("fuse: loops 'k' and 'n' are not adjacent with 'k' outside"));
  REQUIRE_THROWS_MATCHES(st.fuse("q", "c", "qc"), ScheduleError,
                         Message("fuse: loop 'q' and 'c' mix a reduction and a pure loop"));
  st.unroll("s");
  REQUIRE_THROWS_MATCHES(st.fuse("r", "s", "rs"), ScheduleError, Message("fuse: loops 'r' and 's' must not be annotated yet"));
  st.parallel("n");
  REQUIRE_THROWS_MATCHES(st.fuse("n", "k", "nk"), ScheduleError, Message("fuse: loops 'n' and 'k' must not be annotated yet"));
  st.cache_write("p");
  REQUIRE_THROWS_MATCHES(st.fuse("p", "q", "pq"), ScheduleError, Message("fuse: loop 'p' holds the cache_write"));
  REQUIRE_THROWS_MATCHES(st.fuse("k", "p", "kp"), ScheduleError, Message("fuse: loop 'p' holds the cache_write"));
}

TEST_CASE("unroll refuses an annotated loop and more than 256 iterations", "[schedules][refusals]") {
  // q = 300.
  ScheduleState st(parse_workload("n=1,c=2,h=1,w=300,k=2,r=1,s=1"));
  REQUIRE_THROWS_MATCHES(st.unroll("q"), ScheduleError,
                         Message("unroll: loop 'q' has 300 iterations; split it first (at most 256)"));
  st.split("q", 256, "qo", "qi");
  st.unroll("qi");  // exactly 256 is allowed
  REQUIRE_THROWS_MATCHES(st.unroll("qi"), ScheduleError, Message("unroll: loop 'qi' is already unrolled"));
  st.vectorize("k");
  REQUIRE_THROWS_MATCHES(st.unroll("k"), ScheduleError, Message("unroll: loop 'k' is already vectorized"));
}

TEST_CASE("vectorize refuses a reduction, an annotated loop and more than 64 lanes", "[schedules][refusals]") {
  ScheduleState st(parse_workload("n=1,c=2,h=1,w=65,k=64,r=1,s=1"));
  REQUIRE_THROWS_MATCHES(st.vectorize("c"), ScheduleError,
                         Message("vectorize: loop 'c' is a reduction; its lanes would race on one sum"));
  REQUIRE_THROWS_MATCHES(st.vectorize("q"), ScheduleError,
                         Message("vectorize: loop 'q' has 65 iterations; split it to at most 64 lanes first"));
  st.vectorize("k");  // exactly 64 lanes is allowed
  REQUIRE_THROWS_MATCHES(st.vectorize("k"), ScheduleError, Message("vectorize: loop 'k' is already vectorized"));
  st.unroll("n");
  REQUIRE_THROWS_MATCHES(st.vectorize("n"), ScheduleError, Message("vectorize: loop 'n' is already unrolled"));
}

TEST_CASE("parallel refuses a reduction, an annotated loop, a second parallel loop and a loop inside the cache_write",
          "[schedules][refusals]") {
  ScheduleState st(dense());
  REQUIRE_THROWS_MATCHES(st.parallel("r"), ScheduleError,
                         Message("parallel: loop 'r' is a reduction; threads would race on one sum"));
  st.unroll("n");
  REQUIRE_THROWS_MATCHES(st.parallel("n"), ScheduleError, Message("parallel: loop 'n' is already unrolled"));
  st.cache_write("k");
  REQUIRE_THROWS_MATCHES(st.parallel("p"), ScheduleError, Message("parallel: loop 'p' is inside the cache_write at 'k'"));
  st.parallel("k");  // the cache_write loop itself may be parallel
  REQUIRE_THROWS_MATCHES(st.parallel("k"), ScheduleError, Message("parallel: loop 'k' is already parallel"));

  ScheduleState two(dense());
  two.parallel("p");
  REQUIRE_THROWS_MATCHES(two.parallel("k"), ScheduleError,
                         Message("parallel: loop 'p' is parallel already; one parallel loop per nest"));
  REQUIRE_THROWS_MATCHES(two.parallel("q"), ScheduleError,
                         Message("parallel: loop 'p' is parallel already; one parallel loop per nest"));
}

TEST_CASE("cache_write refuses a reduction loop for its tile, a parallel loop inside, a large tile and a second one",
          "[schedules][refusals]") {
  ScheduleState st(dense());
  st.reorder({"n", "k", "c", "p", "q"});  // n, k, c, p, q, r, s
  // (A reduction outside the tile is allowed; the tile's own loop must be pure.)
  REQUIRE_THROWS_MATCHES(st.cache_write("c"), ScheduleError,
                         Message("cache_write: loop 'c' is a reduction; the tile sits below a pure loop"));
  st.parallel("p");
  // c is inside k (allowed there), but so is the parallel p.
  REQUIRE_THROWS_MATCHES(st.cache_write("k"), ScheduleError, Message("cache_write: loop 'p' inside 'k' is parallel"));
  st.reorder({"p", "q", "c"});  // n, k, p, q, c, r, s; p stays parallel, outside q
  st.cache_write("q");
  REQUIRE_THROWS_MATCHES(st.cache_write("q"), ScheduleError, Message("cache_write: partial sums accumulate at 'q' already"));
  REQUIRE_THROWS_MATCHES(st.cache_write("p"), ScheduleError, Message("cache_write: partial sums accumulate at 'q' already"));

  // Tile of k * p * q = 64 * 8 * 9 = 4608 elements below n; 4096 is the limit.
  ScheduleState big(parse_workload("n=1,c=2,h=8,w=9,k=64,r=1,s=1"));
  REQUIRE_THROWS_MATCHES(big.cache_write("n"), ScheduleError,
                         Message("cache_write: the output tile below 'n' has 4608 elements; at most 4096 fit a local buffer"));
  big.cache_write("k");  // 72 elements
}

TEST_CASE("The pack primitives refuse blocks below 1", "[schedules][refusals]") {
  ScheduleState st(dense());
  REQUIRE_THROWS_MATCHES(st.pack_input(0), ScheduleError, Message("pack_input: block 0 must be at least 1"));
  REQUIRE_THROWS_MATCHES(st.pack_input(-2), ScheduleError, Message("pack_input: block -2 must be at least 1"));
  REQUIRE_THROWS_MATCHES(st.pack_weights(0, 8), ScheduleError,
                         Message("pack_weights: input-channel block 0 must be at least 1"));
  REQUIRE_THROWS_MATCHES(st.pack_weights(4, 0), ScheduleError,
                         Message("pack_weights: output-channel block 0 must be at least 1"));
  REQUIRE_THROWS_MATCHES(st.pack_output(0), ScheduleError, Message("pack_output: block 0 must be at least 1"));
  // Refused packs leave the layouts unpacked.
  CHECK(st.input_block() == 0);
  CHECK(st.weight_in_block() == 0);
  CHECK(st.weight_out_block() == 0);
  CHECK(st.output_block() == 0);
}

TEST_CASE("apply_schedule names the refused step by its number", "[schedules][refusals]") {
  const Workload wl = dense();
  Schedule sch;
  Step split;
  split.primitive = "split";
  split.loop = "k";
  split.factor = 4;
  split.outer = "ko";
  split.inner = "ki";
  sch.steps.push_back(split);
  Step unroll;
  unroll.primitive = "unroll";
  unroll.loop = "k";
  sch.steps.push_back(unroll);
  REQUIRE_THROWS_MATCHES(apply_schedule(wl, sch), ScheduleError,
                         Message("schedule step 2: unroll: no loop named 'k' (loops: n, ko, ki, p, q, c, r, s)"));

  sch.steps[1].loop = "ki";
  Step zero;
  zero.primitive = "pack_output";
  zero.block = 0;
  sch.steps.push_back(zero);
  REQUIRE_THROWS_MATCHES(apply_schedule(wl, sch), ScheduleError,
                         Message("schedule step 3: pack_output: block 0 must be at least 1"));

  Schedule unknown;
  Step tile;
  tile.primitive = "tile";
  unknown.steps.push_back(tile);
  REQUIRE_THROWS_MATCHES(apply_schedule(wl, unknown), ScheduleError, Message("schedule step 1: unknown primitive 'tile'"));
}

TEST_CASE("reorder and split keep the cache_write tile serial and within a local buffer", "[schedules][refusals]") {
  // A parallel loop moved inside the tile by reorder.
  ScheduleState st(dense());
  st.parallel("p");
  st.cache_write("q");  // n, k, p, q, c, r, s: p outside q
  REQUIRE_THROWS_MATCHES(st.reorder({"q", "p"}), ScheduleError, Message("reorder: loop 'p' inside 'q' is parallel"));

  // A pure loop moved inside the tile grows it past the limit: k * q = 64 * 72 = 4608.
  ScheduleState wide(parse_workload("n=1,c=2,h=8,w=72,k=64,r=1,s=1"));
  wide.cache_write("p");  // the tile is q alone: 72 elements
  REQUIRE_THROWS_MATCHES(wide.reorder({"p", "k"}), ScheduleError,
                         Message("reorder: the output tile below 'p' has 4608 elements; at most 4096 fit a local buffer"));

  // A split with a tail rounds the tile up: p * q = 64 * 64 = 4096 fits, 64 * (22 * 3) does not.
  ScheduleState square(parse_workload("n=1,c=1,h=64,w=64,k=1,r=1,s=1"));
  square.cache_write("k");
  REQUIRE_THROWS_MATCHES(square.split("q", 3, "qo", "qi"), ScheduleError,
                         Message("split: the output tile below 'k' has 4224 elements; at most 4096 fit a local buffer"));
  square.split("q", 4, "qo", "qi");  // no tail: still 4096
}
