/// \file Roofline microbenchmarks: independent FMA chains for the compute roof, a triad for
/// the memory roof; each thread runs its share through convtune's own thread pool.
#include "targets/roofline.h"

#include <immintrin.h>

#include <algorithm>
#include <functional>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "ir/error.h"
#include "runtime/cuda_driver.h"
#include "runtime/measure.h"
#include "runtime/tensor.h"
#include "runtime/thread_pool.h"

namespace convtune {

namespace {

/// The fastest of 5 runs after a warm-up (of the pool and the clocks), in seconds: a roof is
/// what the machine can reach, so the best run is the estimate.
double best_seconds(const std::function<void()>& run) {
  TimingOptions t;
  t.warmup_calls = 1;
  t.measurements = 5;
  t.min_measurement_ms = 0;  // one call per measurement: each already runs for milliseconds
  return measure(run, t).min_ms / 1e3;
}

// Twelve independent accumulators hide the FMA latency (4-5 cycles) on two FMA pipes.
__attribute__((target("avx512f"))) float fma_chains_512(int64_t iters) {
  __m512 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(float(i));
  const __m512 m = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
  for (int64_t it = 0; it < iters; ++it) {
    for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], m, b);
  }
  __m512 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, a[i]);
  return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) float fma_chains_256(int64_t iters) {
  __m256 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(float(i));
  const __m256 m = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
  for (int64_t it = 0; it < iters; ++it) {
    for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], m, b);
  }
  __m256 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, a[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0] + out[7];
}

float fma_chains_scalar(int64_t iters) {
  float a[12];
  for (int i = 0; i < 12; ++i) a[i] = float(i);
  for (int64_t it = 0; it < iters; ++it) {
    for (int i = 0; i < 12; ++i) a[i] = a[i] * 0.999f + 0.001f;
  }
  float s = 0;
  for (float x : a) s += x;
  return s;
}

struct FmaArgs {
  int lanes;
  int64_t iters;
  volatile float sink;
};

void fma_task(void* closure, int64_t begin, int64_t end) {
  auto* args = static_cast<FmaArgs*>(closure);
  for (int64_t t = begin; t < end; ++t) {
    float v = args->lanes == 16 ? fma_chains_512(args->iters) : args->lanes == 8 ? fma_chains_256(args->iters) : fma_chains_scalar(args->iters);
    args->sink = v;
  }
}

double measure_peak(const Target& target, int threads) {
  // The vector chains need FMA itself: a 256-bit target without it (AVX alone) gets the scalar
  // chains (a multiply and an add each).
  const int lanes = target.vector_lanes() >= 16 && target.has_feature("avx512f") ? 16
                    : target.vector_lanes() >= 8 && target.has_feature("fma") ? 8 : 1;
  FmaArgs args{lanes, 2'000'000, 0};
  ScopedThreads scoped{threads};
  const double flops = 2.0 * 12 * args.lanes * double(args.iters) * threads;
  return flops / best_seconds([&] { convtune_parallel_for(fma_task, &args, threads); }) / 1e9;
}

struct TriadArgs {
  float *a, *b, *c;
  int64_t n;
  int threads;
};

void triad_task(void* closure, int64_t begin, int64_t end) {
  auto* t = static_cast<TriadArgs*>(closure);
  for (int64_t part = begin; part < end; ++part) {
    const int64_t lo = t->n * part / t->threads, hi = t->n * (part + 1) / t->threads;
    for (int64_t i = lo; i < hi; ++i) t->a[i] = t->b[i] + 0.5f * t->c[i];
  }
}

double measure_bandwidth(int threads) {
  const int64_t n = int64_t(1) << 24;  // 64 MiB per array, beyond any last-level cache here
  Tensor a(n), b(n), c(n);
  b.fill_random(1);
  c.fill_random(2);
  TriadArgs args{a.data(), b.data(), c.data(), n, threads};
  ScopedThreads scoped{threads};
  return 3.0 * 4 * double(n) / best_seconds([&] { convtune_parallel_for(triad_task, &args, threads); }) / 1e9;
}

std::filesystem::path cache_path() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::filesystem::path(x) / "convtune" / "roofline.json";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home && *home ? home : "/tmp") / ".cache" / "convtune" / "roofline.json";
}

Roofline measure_roofline(const Target& target, int threads) {
  Roofline r;
  r.peak_gflops = measure_peak(target, threads);
  r.bandwidth_gbs = measure_bandwidth(threads);
  r.source = "measured";
  return r;
}

} // namespace

double Roofline::bound_gflops(double intensity) const { return std::min(peak_gflops, intensity * bandwidth_gbs); }

namespace {

/// A GPU's roofline from what its driver reports: every SM's FP32 lanes doing an FMA per
/// clock, and the memory bus moving two words per clock (double data rate).
Roofline gpu_roofline(const Target& target) {
  Roofline r;
  const CudaDriver* found = nullptr;
  try {
    found = &CudaDriver::get(target.name);
  } catch (const UserError&) {
    r.source = "unknown: no CUDA driver here";  // a report (show) still has the rest to say
    return r;
  }
  const CudaDriver& gpu = *found;
  // FP32 lanes per SM: 128 on sm_61, sm_86, sm_89 and sm_90 (Pascal consumer, Ampere GA10x,
  // Ada, Hopper), 64 on the others convtune knows (NVIDIA's CUDA C programming guide, "Arithmetic
  // Instructions").
  const int sm = gpu.sm();
  const int lanes = sm == 61 || sm == 86 || sm == 89 || sm == 90 ? 128 : 64;
  r.peak_gflops = double(gpu.multiprocessors()) * lanes * 2 * gpu.clock_khz() * 1e-6;
  r.bandwidth_gbs = 2.0 * gpu.memory_clock_khz() * 1e3 * (gpu.memory_bus_bits() / 8.0) * 1e-9;
  r.source = "device attributes of " + gpu.device_name();
  return r;
}

} // namespace

Roofline roofline(const Target& target, int threads) {
  if (target.kind == TargetKind::Cuda) return gpu_roofline(target);
  const char* peak = std::getenv("CONVTUNE_PEAK_GFLOPS");
  const char* bw = std::getenv("CONVTUNE_PEAK_GBS");
  if (peak && bw) {
    Roofline r;
    r.peak_gflops = std::atof(peak);
    r.bandwidth_gbs = std::atof(bw);
    r.source = "environment";
    if (r.peak_gflops > 0 && r.bandwidth_gbs > 0) return r;
  }
  const std::string key = target.key() + "/t" + std::to_string(threads);
  const std::filesystem::path path = cache_path();
  nlohmann::json cache = nlohmann::json::object();
  if (std::ifstream in(path); in) {
    try {
      in >> cache;
    } catch (const nlohmann::json::exception&) {
      cache = nlohmann::json::object();  // a damaged cache is measured again and rewritten
    }
  }
  if (cache.is_object() && cache.contains(key) && cache[key].is_object()) {
    const auto& e = cache[key];
    if (e.value("peak_gflops", 0.0) > 0 && e.value("bandwidth_gbs", 0.0) > 0) {
      return {e["peak_gflops"].get<double>(), e["bandwidth_gbs"].get<double>(), "cache " + path.string()};
    }
  }
  Roofline r = measure_roofline(target, threads);
  if (!cache.is_object()) cache = nlohmann::json::object();
  cache[key] = {{"peak_gflops", r.peak_gflops}, {"bandwidth_gbs", r.bandwidth_gbs}};
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  std::ofstream out(path);
  if (out) out << cache.dump(2) << "\n";  // no cache is no error: it is measured next time
  return r;
}

} // namespace convtune
