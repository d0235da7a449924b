/// \file GPU block and thread binding as a loop kind: what bind refuses (each a named error
/// naming the loop), what it keeps across a reorder, the JSON trace, the nest it lowers to,
/// and the CPU code generator's refusal of GPU loops.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "compiler/compile.h"
#include "compiler/schedule_loops.h"
#include "ir/ir_printer.h"
#include "schedules/schedule.h"
#include "tests/test_support.h"

using namespace convtune;
using Catch::Matchers::Message;

namespace {
Workload layer() { return parse_workload("n=1,c=16,h=8,w=8,k=64,r=3,s=3,pad=1"); }
} // namespace

TEST_CASE("bind refuses what a GPU cannot run, naming the loop", "[schedules][bind][refusals]") {
  ScheduleState st(layer());
  REQUIRE_THROWS_MATCHES(st.bind("k", "blockIdx.w"), ScheduleError,
                         Message("bind: loop 'k': unknown GPU index 'blockIdx.w' (blockIdx.x, blockIdx.y, blockIdx.z, "
                                 "threadIdx.x, threadIdx.y, threadIdx.z)"));
  REQUIRE_THROWS_MATCHES(st.bind("c", "blockIdx.x"), ScheduleError,
                         Message("bind: loop 'c' is a reduction; blocks or threads would race on one sum"));
  REQUIRE_THROWS_MATCHES(st.bind("nope", "blockIdx.x"), ScheduleError,
                         Message("bind: no loop named 'nope' (loops: n, k, p, q, c, r, s)"));
  // A thread loop inside the reduction: move the reduction inside first.
  st.reorder({"n", "k", "c", "p", "q", "r", "s"});
  REQUIRE_THROWS_MATCHES(st.bind("q", "threadIdx.x"), ScheduleError,
                         Message("bind: thread loop 'q' would run inside the serial reduction loop 'c'"));
  st.reorder({"n", "k", "p", "q", "c", "r", "s"});
  st.bind("k", "blockIdx.x");
  REQUIRE_THROWS_MATCHES(st.bind("p", "blockIdx.x"), ScheduleError, Message("bind: blockIdx.x is bound to loop 'k' already"));
  REQUIRE_THROWS_MATCHES(st.bind("k", "blockIdx.y"), ScheduleError, Message("bind: loop 'k' is already gpu_block_x"));
  REQUIRE_THROWS_MATCHES(st.parallel("n"), ScheduleError,
                         Message("parallel: loop 'k' is bound to the GPU; a nest runs on CPU threads or on a GPU, not both"));
  st.bind("q", "threadIdx.x");
  REQUIRE_THROWS_MATCHES(st.bind("n", "threadIdx.y"), ScheduleError,
                         Message("bind: thread loop 'n' would run outside block loop 'k'"));
  st.bind("p", "blockIdx.y");  // outside the thread loop q: fine
  ScheduleState inverted(layer());
  inverted.bind("p", "threadIdx.x");
  REQUIRE_THROWS_MATCHES(inverted.bind("q", "blockIdx.x"), ScheduleError,
                         Message("bind: block loop 'q' would run inside thread loop 'p'"));
  // A reorder keeps what binding needs.
  REQUIRE_THROWS_MATCHES(st.reorder({"c", "q"}), ScheduleError,
                         Message("reorder: thread loop 'c' would run inside the serial reduction loop 'q'") ||
                             Message("reorder: thread loop 'q' would run inside the serial reduction loop 'c'"));
}

TEST_CASE("bind refuses more than 1024 threads per block and a CPU-parallel nest", "[schedules][bind][refusals]") {
  ScheduleState st(parse_workload("n=1,c=4,h=64,w=64,k=4,r=1,s=1"));
  st.bind("q", "threadIdx.x");
  REQUIRE_THROWS_MATCHES(st.bind("p", "threadIdx.y"), ScheduleError,
                         Message("bind: loop 'p' makes 4096 threads per block; at most 1024"));
  ScheduleState cpu(layer());
  cpu.parallel("n");
  REQUIRE_THROWS_MATCHES(cpu.bind("k", "blockIdx.x"), ScheduleError,
                         Message("bind: loop 'n' is parallel; a nest runs on CPU threads or on a GPU, not both"));
  ScheduleState tiled(layer());
  tiled.split("q", 4, "qo", "qi");
  tiled.reorder({"n", "k", "p", "qo", "c", "r", "s", "qi"});
  tiled.cache_write("qo");
  REQUIRE_THROWS_MATCHES(tiled.bind("qi", "threadIdx.x"), ScheduleError,
                         Message("bind: thread loop 'qi' would run inside the serial reduction loop 'c'"));
}

TEST_CASE("a bound schedule replays from JSON, lowers to GPU loops, and the CPU refuses it", "[schedules][bind]") {
  const Workload wl = layer();
  Schedule sch;
  sch.steps = {Step::split("k", 16, "ko", "ki"), Step::reorder({"n", "ko", "p", "ki", "q", "c", "r", "s"}),
               Step::bind("ko", "blockIdx.x"), Step::bind("p", "blockIdx.y"), Step::bind("ki", "threadIdx.y"),
               Step::bind("q", "threadIdx.x")};
  const nlohmann::json j = to_json(sch);
  CHECK(j["steps"][2] == nlohmann::json({{"step", "bind"}, {"loop", "ko"}, {"to", "blockIdx.x"}}));
  const Schedule replayed = schedule_from_json(nlohmann::json::parse(j.dump()));
  REQUIRE(replayed == sch);
  const LoopNest nest = scheduled_nest(wl, replayed);
  const std::string text = to_text(nest);
  INFO(text);
  CHECK(text.find("gpu_block_x for (ko = 0; ko < 4; ko++)") != std::string::npos);
  CHECK(text.find("gpu_thread_x for (q = 0; q < 8; q++)") != std::string::npos);
  REQUIRE_USER_ERROR(compile_jit(nest, host_target()), "loop 'ko' is bound to gpu_block_x, which the cpu target cannot run");
  REQUIRE_THROWS_MATCHES(schedule_from_json(nlohmann::json::parse(R"({"steps": [{"step": "bind", "loop": "k"}]})")),
                         ScheduleError, Message("schedule step 1 (bind): missing field 'to'"));
}
