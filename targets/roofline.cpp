/// \file Roofline microbenchmarks: independent FMA chains for the compute roof, a triad for
/// the memory roof; each thread runs its share through convtune's own thread pool.
#include "targets/roofline.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/tensor.h"
#include "runtime/thread_pool.h"

namespace convtune {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

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
  FmaArgs args{target.vector_lanes() >= 16 ? 16 : target.vector_lanes() >= 8 ? 8 : 1, 2'000'000, 0};
  ScopedThreads scoped{threads};
  convtune_parallel_for(fma_task, &args, threads);  // warm up the pool and the clocks
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    auto start = Clock::now();
    convtune_parallel_for(fma_task, &args, threads);
    const double flops = 2.0 * 12 * args.lanes * double(args.iters) * threads;
    best = std::max(best, flops / seconds_since(start) / 1e9);
  }
  return best;
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
  convtune_parallel_for(triad_task, &args, threads);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    auto start = Clock::now();
    convtune_parallel_for(triad_task, &args, threads);
    best = std::max(best, 3.0 * 4 * double(n) / seconds_since(start) / 1e9);
  }
  return best;
}

std::filesystem::path cache_path() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::filesystem::path(x) / "convtune" / "roofline.json";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home && *home ? home : "/tmp") / ".cache" / "convtune" / "roofline.json";
}

} // namespace

double Roofline::bound_gflops(double intensity) const { return std::min(peak_gflops, intensity * bandwidth_gbs); }

Roofline measure_roofline(const Target& target, int threads) {
  Roofline r;
  r.threads = threads;
  r.peak_gflops = measure_peak(target, threads);
  r.bandwidth_gbs = measure_bandwidth(threads);
  r.source = "measured";
  return r;
}

Roofline roofline(const Target& target, int threads) {
  const char* peak = std::getenv("CONVTUNE_PEAK_GFLOPS");
  const char* bw = std::getenv("CONVTUNE_PEAK_GBS");
  if (peak && bw) {
    Roofline r;
    r.peak_gflops = std::atof(peak);
    r.bandwidth_gbs = std::atof(bw);
    r.threads = threads;
    r.source = "environment";
    if (r.peak_gflops > 0 && r.bandwidth_gbs > 0) return r;
  }
  const std::string key = target.cpu + "/" + std::to_string(target.vector_bits) + "/" + std::to_string(threads);
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
      return {e["peak_gflops"].get<double>(), e["bandwidth_gbs"].get<double>(), threads, "cache " + path.string()};
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
