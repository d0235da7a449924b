/// \file The passes after scheduling: bounds inference, storage, tail guards and padding. The
/// scheduling pass writes no guard; each pass adds what its rule asks for, and only that,
/// checked on the nest's text and against the reference.
#include <catch2/catch.hpp>

#include "compiler/compile.h"
#include "compiler/schedule_loops.h"
#include "ir/ir_printer.h"
#include "schedules/schedule.h"
#include "compiler/kernel_runner.h"
#include "runtime/conv_problem.h"
#include "targets/target.h"

using namespace convtune;

namespace {

Step split(const std::string& loop, int64_t factor) { return Step::split(loop, factor, loop + "o", loop + "i"); }

Schedule direct(std::vector<Step> steps) {
  Schedule sch;
  sch.steps = std::move(steps);
  return sch;
}

/// The nest's text after the whole front of the pipeline, checked against the reference.
std::string lowered(const std::string& spec, const Schedule& sch) {
  const Workload wl = parse_workload(spec);
  const LoopNest nest = scheduled_nest(wl, sch);
  KernelRunner runner(compile_jit(nest, host_target()));
  ConvProblem problem = ConvProblem::make(wl, 17);
  const Agreement a = runner.check(problem);
  INFO(spec << ": max rel err " << a.max_rel_err);
  CHECK(a.ok);
  return to_text(nest);
}

/// The scheduling pass's own output, before the passes after it.
std::string loops_only(const std::string& spec, const Schedule& sch) {
  return to_text(schedule_loops(apply_schedule_stages(parse_workload(spec), sch)));
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// Whether some guard of the nest tests `cond` (alone or as one of its conjuncts).
bool guarded_by(const std::string& text, const std::string& cond) {
  return has(text, "if (" + cond + ")") || has(text, "if (" + cond + " &&") || has(text, "&& " + cond + ")") ||
         has(text, "&& " + cond + " &&");
}

const char* const kOdd = "n=1,c=5,h=9,w=11,k=7,r=3,s=3,pad=1";  // k=7, c=5: tails for 4 and 2

} // namespace

TEST_CASE("Guards: the scheduling pass writes none, tails and padding add them on the stores that need them", "[compiler][guards]") {
  const Schedule sch = direct({split("k", 4)});
  CHECK_FALSE(has(loops_only(kOdd, sch), "if ("));
  const std::string text = lowered(kOdd, sch);
  // The result's init and its fold write output[k] past k=6: both guarded; the fold also
  // skips the taps in the padding.
  CHECK(has(text, "if (k < 7) {"));
  CHECK(has(text, "if (ih >= 0 && ih < 9 && iw >= 0 && iw < 11 && k < 7) {"));
}

TEST_CASE("Guards: packed tensors take a pure tail unguarded, a packed input holds the padding", "[compiler][guards]") {
  const std::string text =
      lowered(kOdd, direct({Step::pack_input(2), Step::pack_weights(1, 4), Step::pack_output(4), split("k", 4)}));
  CHECK_FALSE(guarded_by(text, "k < 7"));
  CHECK_FALSE(guarded_by(text, "ih >= 0"));
}

TEST_CASE("Guards: a reduction tail runs over packed tensors' identity, and is guarded where a read leaves its tensor", "[compiler][guards]") {
  CHECK_FALSE(guarded_by(lowered(kOdd, direct({Step::pack_input(2), Step::pack_weights(2, 4), split("c", 2)})), "c < 5"));
  CHECK(guarded_by(lowered(kOdd, direct({split("c", 2)})), "c < 5"));
  // The input is packed, the weights are not: their read past c=4 needs the guard.
  CHECK(guarded_by(lowered(kOdd, direct({Step::pack_input(2), split("c", 2)})), "c < 5"));
}

TEST_CASE("Guards: a group's channels are exact, so their tails are guarded even into packed layouts", "[compiler][guards]") {
  const std::string text = lowered("n=1,c=6,h=7,w=9,k=10,r=3,s=3,pad=1,groups=2",
                                   direct({Step::pack_input(2), Step::pack_weights(2, 4), Step::pack_output(4), split("k", 4),
                                           split("c", 2), Step::on_loop("cache_write", "p")}));
  CHECK(has(text, "c < 3 && k < 5"));  // on the fold: reductions first
  CHECK(has(text, "if (k < 5) {"));    // on the tile's write
}

TEST_CASE("Storage: a temporary grows to what its consumer's tail reads, and bounds inference shows the box", "[compiler][guards]") {
  Schedule sch;
  sch.algorithm = "im2col_gemm";
  sch.steps = {Step::split("col", 5, "colo", "coli")};  // 49 columns in tiles of 5
  const char* spec = "n=1,c=3,h=7,w=7,k=4,r=3,s=3,pad=1";
  CHECK(has(loops_only(spec, sch), "float columns[1][1][27][49];"));
  const std::string text = lowered(spec, sch);
  CHECK(has(text, "// reads columns[0, 0][0, 0][0, 26][0, 49]"));
  CHECK(has(text, "float columns[1][1][27][50];"));
  // The GEMM's tail writes output past column 48 and folds the grown (undefined) column in.
  CHECK(has(text, "if (col < 49) {"));
}

TEST_CASE("Padding: a max pool's fold skips the taps outside its input, packed, the input's -infinity exterior does", "[compiler][guards]") {
  const char* spec = "op=maxpool,n=1,c=3,k=3,h=7,w=7,r=3,s=3,stride=2,pad=1";
  CHECK(guarded_by(lowered(spec, direct({})), "ih >= 0"));
  CHECK(guarded_by(lowered(spec, direct({split("q", 2)})), "ih >= 0"));
  CHECK_FALSE(guarded_by(lowered(spec, direct({Step::pack_input(2), split("q", 2)})), "ih >= 0"));
}

TEST_CASE("Storage: a producer's tail writes land in its grown temporary unguarded", "[compiler][guards]") {
  // Columns in tiles of 4 over 11: the packed output holds the 12th column the tail writes,
  // so neither its init nor its fold needs a guard (the packed input holds what the tail
  // reads); the unpacking reads only the 11.
  const std::string text = lowered(kOdd, direct({Step::pack_input(2), Step::pack_output(4), split("q", 4)}));
  CHECK(has(text, "output_packed[1][2][9][12][4];"));
  CHECK_FALSE(guarded_by(text, "q < 11"));
  // Without the packed output, the tail's writes would leave the output: guarded.
  CHECK(guarded_by(lowered(kOdd, direct({Step::pack_input(2), split("q", 4)})), "q < 11"));
}
