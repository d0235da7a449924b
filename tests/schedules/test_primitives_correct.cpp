/// \file Every schedule primitive, alone and combined, and the templates' configs keep the reference's results.
///
/// Each check JIT-compiles one nest (~50-100 ms), so the file holds about 60 of them: the
/// primitives one at a time on an odd workload, seeded random combinations on seeded random
/// workloads (tails, strides, dilation, asymmetric pads, groups, depthwise, batches, 1x1, every
/// subset of the packed layouts), and the templates' default and random configs on small odd
/// shapes. A failure prints the workload and the primitives applied, in order.
#include <utility>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ir/workload.h"
#include "runtime/thread_pool.h"
#include "compiler/compile.h"
#include "schedules/schedule_template.h"
#include "compiler/schedule_loops.h"
#include "schedules/schedule_state.h"
#include "tests/check_kernel.h"

using namespace convtune;

namespace {

/// A schedule state that logs every primitive applied, for the failure message.
struct Logged {
  explicit Logged(const Workload& wl) : st(wl) {}

  void split(const std::string& l, int64_t f, const std::string& o, const std::string& i) {
    log += "split(" + l + ", " + std::to_string(f) + ", " + o + ", " + i + ") ";
    st.split(l, f, o, i);
  }
  void reorder(const std::vector<std::string>& order) {
    log += "reorder(";
    for (const std::string& l : order) log += l + (l == order.back() ? "" : " ");
    log += ") ";
    st.reorder(order);
  }
  void fuse(const std::string& o, const std::string& i, const std::string& f) {
    log += "fuse(" + o + ", " + i + ", " + f + ") ";
    st.fuse(o, i, f);
  }
  void unroll(const std::string& l) {
    log += "unroll(" + l + ") ";
    st.unroll(l);
  }
  void vectorize(const std::string& l) {
    log += "vectorize(" + l + ") ";
    st.vectorize(l);
  }
  void parallel(const std::string& l) {
    log += "parallel(" + l + ") ";
    st.parallel(l);
  }
  void cache_write(const std::string& l) {
    log += "cache_write(" + l + ") ";
    st.cache_write(l);
  }
  void pack_input(int64_t b) {
    log += "pack_input(" + std::to_string(b) + ") ";
    st.pack_input(b);
  }
  void pack_weights(int64_t x, int64_t y) {
    log += "pack_weights(" + std::to_string(x) + ", " + std::to_string(y) + ") ";
    st.pack_weights(x, y);
  }
  void pack_output(int64_t b) {
    log += "pack_output(" + std::to_string(b) + ") ";
    st.pack_output(b);
  }
  int64_t extent(const std::string& l) const { return st.loop(l, "test").extent; }

  ScheduleState st;
  std::string log;
};

/// Lowers the state, JIT-compiles it and compares one run with the reference.
void expect_correct(const Workload& wl, const Logged& s, int threads = 1) {
  INFO("workload " << wl.spec());
  INFO("schedule " << (s.log.empty() ? "(none)" : s.log) << "with " << threads << " thread(s)");
  ScopedThreads scoped(threads);
  const Agreement a = testing::run_and_check(wl, scheduled_nest(StageStates::of_main(s.st)));
  INFO("max abs err " << a.max_abs_err << ", max rel err " << a.max_rel_err);
  CHECK(a.ok);
}

/// Uniform in [lo, hi]; mt19937's output is fixed by the standard, so this is portable.
int64_t pick(std::mt19937& rng, int64_t lo, int64_t hi) { return lo + int64_t(rng() % uint64_t(hi - lo + 1)); }

template <typename T>
void shuffle(std::mt19937& rng, std::vector<T>& v) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[size_t(pick(rng, 0, int64_t(i) - 1))]);
}

Workload odd_workload() { return parse_workload("n=2,c=5,h=9,w=11,k=7,r=3,s=3,pad=1"); }

/// A small workload of one of eight shape families, its sizes drawn from `rng`.
Workload random_workload(std::mt19937& rng, int family) {
  Workload wl;
  wl.c = pick(rng, 1, 4) * 2 + 1;  // odd channel counts
  wl.k = pick(rng, 1, 9);
  wl.h = pick(rng, 5, 11);
  wl.w = pick(rng, 5, 12);
  wl.r = wl.s = 3;
  wl.pad_top = wl.pad_left = wl.pad_bottom = wl.pad_right = 1;
  switch (family) {
  case 0: break;  // plain 3x3, odd channels
  case 1:         // stride 2
    wl.stride_h = wl.stride_w = 2;
    break;
  case 2:  // dilation 2
    wl.dilation_h = wl.dilation_w = 2;
    wl.pad_top = wl.pad_left = wl.pad_bottom = wl.pad_right = 2;
    break;
  case 3:  // asymmetric pad, a non-square kernel
    wl.s = 2;
    wl.pad_top = 0;
    wl.pad_left = 2;
    wl.pad_bottom = 1;
    wl.pad_right = 0;
    break;
  case 4:  // 2 groups
    wl.groups = 2;
    wl.c = 2 * pick(rng, 1, 4);
    wl.k = 2 * pick(rng, 1, 5);
    break;
  case 5:  // depthwise, channel multiplier 1 or 2
    wl.c = pick(rng, 2, 9);
    wl.groups = wl.c;
    wl.k = wl.c * pick(rng, 1, 2);
    break;
  case 6:  // batch 2-3
    wl.n = pick(rng, 2, 3);
    break;
  default:  // 1x1, no padding
    wl.r = wl.s = 1;
    wl.pad_top = wl.pad_left = wl.pad_bottom = wl.pad_right = 0;
    break;
  }
  wl.validate();
  return wl;
}

} // namespace

TEST_CASE("Each schedule primitive alone keeps the reference result", "[schedules][primitives][correct]") {
  const Workload wl = odd_workload();  // k=7, c=5, p=9, q=11: no factor below divides them all

  SECTION("split of a pure loop with a tail") {
    Logged s(wl);
    s.split("k", 3, "ko", "ki");
    expect_correct(wl, s);
  }
  SECTION("split of a reduction loop with a tail") {
    Logged s(wl);
    s.split("c", 2, "co", "ci");
    expect_correct(wl, s);
  }
  SECTION("split of a kernel tap loop with a tail") {
    Logged s(wl);
    s.split("s", 2, "so", "si");
    expect_correct(wl, s);
  }
  SECTION("split by a factor larger than the extent") {
    Logged s(wl);
    s.split("q", 16, "qo", "qi");
    expect_correct(wl, s);
  }
  SECTION("reorder: every loop reversed, reductions outermost") {
    Logged s(wl);
    s.reorder({"s", "r", "c", "q", "p", "k", "n"});
    expect_correct(wl, s);
  }
  SECTION("fuse of pure loops and of reduction loops") {
    Logged s(wl);
    s.fuse("n", "k", "nk");
    s.fuse("r", "s", "rs");
    expect_correct(wl, s);
  }
  SECTION("unroll") {
    Logged s(wl);
    s.unroll("r");
    expect_correct(wl, s);
  }
  SECTION("vectorize of the innermost pure loop") {
    Logged s(wl);
    s.reorder({"n", "k", "p", "c", "r", "s", "q"});
    s.vectorize("q");
    expect_correct(wl, s);
  }
  SECTION("parallel on two threads") {
    Logged s(wl);
    s.parallel("k");
    expect_correct(wl, s, 2);
  }
  SECTION("cache_write") {
    Logged s(wl);
    s.cache_write("p");
    expect_correct(wl, s);
  }
  SECTION("pack_input") {
    Logged s(wl);
    s.pack_input(2);
    expect_correct(wl, s);
  }
  SECTION("pack_weights") {
    Logged s(wl);
    s.pack_weights(2, 3);
    expect_correct(wl, s);
  }
  SECTION("pack_output") {
    Logged s(wl);
    s.pack_output(4);
    expect_correct(wl, s);
  }
}

TEST_CASE("Template-shaped schedules with tails keep the reference result", "[schedules][primitives][correct]") {
  // All three tensors packed and every split with a tail: without groups the tails run
  // unguarded over zeros, with groups they are guarded. Both must agree with the reference.
  for (const char* spec : {"n=1,c=5,h=9,w=11,k=7,r=3,s=3,pad=1", "n=1,c=6,h=7,w=9,k=10,r=3,s=3,pad=1,groups=2"}) {
    const Workload wl = parse_workload(spec);
    Logged s(wl);
    const bool grouped = wl.groups > 1;
    s.pack_input(2);
    s.pack_weights(2, 4);
    s.pack_output(4);
    s.split("k", 4, "ko", "ki");
    s.split("c", 2, "co", "ci");
    s.split("q", 4, "qo", "qi");
    if (grouped) {
      s.reorder({"n", "g", "ko", "p", "qo", "co", "r", "s", "ci", "qi", "ki"});
      s.fuse("n", "g", "ng");
      s.fuse("ng", "ko", "ngk");
    } else {
      s.reorder({"n", "ko", "p", "qo", "co", "r", "s", "ci", "qi", "ki"});
      s.fuse("n", "ko", "ngk");
    }
    s.cache_write("qo");
    s.vectorize("ki");
    s.unroll("qi");
    s.parallel("ngk");
    expect_correct(wl, s, 2);
  }
}

TEST_CASE("A cache_write below a reduction loop resumes from the partial sums", "[schedules][primitives][correct]") {
  // Input-channel blocks outside the output tile (each block's input stays in cache across
  // the tiles): the target is initialised first, and each tile starts from what the blocks
  // before summed. With packing, tails, groups and two threads.
  for (const char* spec : {"n=1,c=5,h=9,w=11,k=7,r=3,s=3,pad=1", "n=2,c=6,h=7,w=9,k=10,r=3,s=3,pad=1,groups=2"}) {
    const Workload wl = parse_workload(spec);
    const bool grouped = wl.groups > 1;
    for (bool packed : {false, true}) {
      Logged s(wl);
      if (packed) {
        s.pack_input(2);
        s.pack_output(4);
      }
      s.split("c", 2, "co", "ci");
      s.split("q", 4, "qo", "qi");
      std::vector<std::string> order = {"n"};
      if (grouped) order.push_back("g");
      for (const char* l : {"co", "k", "p", "qo", "r", "s", "ci", "qi"}) order.push_back(l);
      s.reorder(order);
      s.cache_write("qo");
      s.vectorize("qi");
      s.parallel("n");
      expect_correct(wl, s, 2);
    }
  }
}

TEST_CASE("Random combinations of primitives on random workloads keep the reference result",
          "[schedules][primitives][correct]") {
  std::mt19937 rng(20240611);
  constexpr int kCases = 24;
  for (int i = 0; i < kCases; ++i) {
    const int family = i % 8;
    // Every subset of the packed layouts, paired with three different families.
    const int pack_mask = (i + i / 8) % 8;
    const Workload wl = random_workload(rng, family);
    INFO("case " << i);
    Logged s(wl);
    const bool grouped = wl.groups > 1;

    if (pack_mask & 1) s.pack_input(pick(rng, 1, 8));
    if (pack_mask & 2) s.pack_weights(pick(rng, 1, 8), pick(rng, 1, 8));
    if (pack_mask & 4) s.pack_output(pick(rng, 1, 8));

    // Splits whose factors may not divide (tails) or exceed the extent.
    s.split("k", pick(rng, 1, wl.k_per_group() + 2), "ko", "ki");
    s.split("c", pick(rng, 1, wl.c_per_group() + 1), "co", "ci");
    s.split("q", pick(rng, 1, wl.q() + 1), "qo", "qi");
    const bool split_r = pick(rng, 0, 2) == 0;
    if (split_r) s.split("r", 2, "ro", "ri");

    // Fuse the outer pure loops (adjacent in the initial order) to run them in parallel.
    const bool par = pick(rng, 0, 1) == 1;
    std::vector<std::string> outer;
    if (par) {
      s.fuse("n", grouped ? "g" : "ko", "nf");
      outer = {"nf"};
      if (grouped) outer.push_back("ko");
    } else {
      outer = {"n"};
      if (grouped) outer.push_back("g");
      outer.push_back("ko");
    }
    outer.push_back("p");
    outer.push_back("qo");
    std::vector<std::string> reductions = {"co", "s", "ci"};
    if (split_r) {
      reductions.push_back("ro");
      reductions.push_back("ri");
    } else {
      reductions.push_back("r");
    }
    shuffle(rng, reductions);
    std::vector<std::string> inner = {"qi", "ki"};
    shuffle(rng, inner);

    const bool cache = pick(rng, 0, 1) == 1;
    std::vector<std::string> order = outer;
    if (cache) {
      // The cache_write at qo needs every reduction inside it.
      order.insert(order.end(), reductions.begin(), reductions.end());
      order.insert(order.end(), inner.begin(), inner.end());
    } else {
      order.insert(order.end(), reductions.begin(), reductions.end());
      order.insert(order.end(), inner.begin(), inner.end());
      shuffle(rng, order);
    }
    s.reorder(order);
    if (cache) s.cache_write("qo");
    if (par) s.parallel("nf");
    if (s.extent("ki") <= 64 && pick(rng, 0, 1) == 1) s.vectorize("ki");
    if (pick(rng, 0, 1) == 1) s.unroll("qi");
    if (pick(rng, 0, 2) == 0) s.unroll("s");
    expect_correct(wl, s, par ? 2 : 1);
  }
}

TEST_CASE("The default config of the templates is correct on small odd workloads", "[schedules][templates][correct]") {
  const Target target = host_target();
  const char* specs[] = {
      "n=1,c=3,h=9,w=11,k=5,r=3,s=3,pad=1",             // tiny odd everything
      "n=1,c=17,h=6,w=7,k=33,r=3,s=3,pad=1",            // channels one past a block
      "n=1,c=24,h=7,w=7,k=24,r=3,s=3,pad=1,groups=24",  // depthwise
      "n=1,c=8,h=6,w=9,k=12,r=3,s=3,pad=1,groups=4",    // 4 groups
      "n=1,c=16,h=9,w=9,k=20,r=1,s=1,stride=2",         // 1x1 stride 2
      "n=1,c=3,h=15,w=13,k=8,r=7,s=7,stride=2,pad=3",   // 7x7 stem
      "n=1,c=6,h=10,w=9,k=10,r=3,s=3,pad=2,dilation=2", // dilation 2
      "n=3,c=5,h=5,w=6,k=7,r=3,s=3,pad=1",              // batch 3
      "n=1,c=4,h=1,w=1,k=6,r=3,s=3,pad=1",              // 1x1 input, all padding around
      "n=1,c=2,h=3,w=4,k=3,r=3,s=3,pad=4",              // pads beyond the kernel
      "n=1,c=5,h=8,w=10,k=9,r=3,s=2,pad=0:1:2:0",       // asymmetric pad
      "n=2,c=16,h=5,w=7,k=32,r=3,s=3,pad=1,groups=16",  // depthwise, multiplier 2, batch 2
  };
  ScopedThreads threads(2);
  for (const char* spec : specs) {
    const Workload wl = parse_workload(spec);
    const Config config = default_config(wl, target);
    INFO("workload " << spec << ", config " << config_to_json(config).dump());
    const Agreement a = testing::run_and_check(wl, scheduled_nest(wl, make_schedule(wl, target, config)));
    INFO("max abs err " << a.max_abs_err << ", max rel err " << a.max_rel_err);
    CHECK(a.ok);
  }
}

TEST_CASE("Random configs of the template spaces are correct", "[schedules][templates][correct]") {
  const Target target = host_target();
  std::mt19937 rng(7);
  const char* specs[] = {
      "n=1,c=17,h=6,w=7,k=33,r=3,s=3,pad=1",
      "n=1,c=24,h=7,w=7,k=24,r=3,s=3,pad=1,groups=24",
      "n=1,c=8,h=6,w=9,k=12,r=3,s=3,pad=1,groups=4",
  };
  ScopedThreads threads(2);
  for (int i = 0; i < 10; ++i) {
    const Workload wl = parse_workload(specs[i % 3]);
    const KnobSpace space = knob_space(wl, target);
    const uint64_t index = uint64_t(rng()) % space.size();
    const Config config = space.at(index);
    INFO("workload " << wl.spec() << ", config " << index << " " << config_to_json(config).dump());
    const Agreement a = testing::run_and_check(wl, scheduled_nest(wl, make_schedule(wl, target, config)));
    INFO("max abs err " << a.max_abs_err << ", max rel err " << a.max_rel_err);
    CHECK(a.ok);
  }
}
