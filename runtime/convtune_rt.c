/* \file A fixed pool of workers woken per parallel loop: spin briefly, then sleep (see the
 * header). C11 atomics and pthreads. */
#include "runtime/convtune_rt.h"

#include <cpuid.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

static _Thread_local int in_parallel_region = 0;

/* One parallel loop: what every participating thread needs, published as a whole. */
typedef struct {
  convtune_task_fn fn;
  void* closure;
  int64_t n;
  int active; /* threads taking part, the caller included */
} Job;

enum { kMaxWorkers = 1023 };

static pthread_mutex_t api_mutex = PTHREAD_MUTEX_INITIALIZER; /* one parallel loop at a time from outside */
static pthread_mutex_t job_mutex = PTHREAD_MUTEX_INITIALIZER; /* guards job and generation changes */
static pthread_cond_t job_cv = PTHREAD_COND_INITIALIZER;
static pthread_t workers[kMaxWorkers];
static int worker_count = 0;
static atomic_uint_fast64_t generation = 0;
static atomic_int pending = 0;
static atomic_int stopping = 0;
static atomic_int wanted = 1;
static Job job;
static uint_fast64_t start_generation = 0; /* what new workers have seen: set before they start */
static int exit_handler_set = 0;

static void run_range(const Job* j, int index) {
  const int64_t begin = j->n * index / j->active, end = j->n * (index + 1) / j->active;
  in_parallel_region = 1;
  if (begin < end) j->fn(j->closure, begin, end);
  in_parallel_region = 0;
}

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void* worker_main(void* arg) {
  const int index = (int)(intptr_t)arg;
  uint_fast64_t seen = start_generation;
  for (;;) {
    /* Spin for a moment: back-to-back parallel loops then cost no sleep and wake-up. */
    const double spin_until = now_us() + 200.0;
    while (atomic_load_explicit(&generation, memory_order_acquire) == seen && !atomic_load(&stopping) &&
           now_us() < spin_until) {
    }
    Job mine;
    pthread_mutex_lock(&job_mutex);
    while (atomic_load(&generation) == seen && !atomic_load(&stopping)) pthread_cond_wait(&job_cv, &job_mutex);
    if (atomic_load(&stopping)) {
      pthread_mutex_unlock(&job_mutex);
      return NULL;
    }
    seen = atomic_load(&generation);
    mine = job;
    pthread_mutex_unlock(&job_mutex);
    if (index < mine.active) {
      run_range(&mine, index);
      atomic_fetch_sub_explicit(&pending, 1, memory_order_acq_rel);
    }
  }
}

/* Stops and joins every worker, then starts `count` new ones (indices 1..count). */
static void resize(int count) {
  if (worker_count > 0) {
    pthread_mutex_lock(&job_mutex);
    atomic_store(&stopping, 1);
    pthread_mutex_unlock(&job_mutex);
    pthread_cond_broadcast(&job_cv);
    for (int i = 0; i < worker_count; ++i) pthread_join(workers[i], NULL);
    worker_count = 0;
    atomic_store(&stopping, 0);
  }
  /* Workers start with the current generation seen: an old loop is never rerun, and a loop
   * published before one of them runs its first line is not missed. */
  start_generation = atomic_load(&generation);
  for (int i = 1; i <= count; ++i) {
    if (pthread_create(&workers[worker_count], NULL, worker_main, (void*)(intptr_t)i) != 0) break;
    ++worker_count;
  }
  /* Fewer workers than asked (no more threads to be had): the loops use those there are. */
  if (worker_count < count) atomic_store(&wanted, worker_count + 1);
}

static void stop_workers_at_exit(void) {
  pthread_mutex_lock(&api_mutex);
  resize(0);
  pthread_mutex_unlock(&api_mutex);
}

static void ensure_workers(void) {
  if (!exit_handler_set) {
    exit_handler_set = 1;
    atexit(stop_workers_at_exit);
  }
  const int w = atomic_load(&wanted);
  if (worker_count != w - 1) resize(w - 1);
}

void convtune_parallel_for(convtune_task_fn fn, void* closure, int64_t n) {
  if (n <= 0) return;
  if (n == 1 || in_parallel_region || atomic_load(&wanted) == 1) {
    fn(closure, 0, n);
    return;
  }
  pthread_mutex_lock(&api_mutex);
  ensure_workers();
  const int threads = worker_count + 1;
  Job j = {fn, closure, n, (int)(n < threads ? n : threads)};
  atomic_store_explicit(&pending, j.active - 1, memory_order_relaxed);
  /* The job and its generation change together under the lock, and workers copy both under
   * it: a worker can never pair one loop's generation with another loop's job. */
  pthread_mutex_lock(&job_mutex);
  job = j;
  atomic_fetch_add_explicit(&generation, 1, memory_order_release);
  pthread_mutex_unlock(&job_mutex);
  pthread_cond_broadcast(&job_cv);
  run_range(&j, 0);
  /* The caller waits for every participant: ranges are static and similar in size. */
  while (atomic_load_explicit(&pending, memory_order_acquire) > 0) sched_yield();
  pthread_mutex_unlock(&api_mutex);
}

void convtune_set_num_threads(int threads) {
  if (in_parallel_region) return;
  if (threads < 1) threads = 1;
  if (threads > kMaxWorkers + 1) threads = kMaxWorkers + 1;
  pthread_mutex_lock(&api_mutex);
  atomic_store(&wanted, threads);
  /* Resized now, so that fewer threads really means fewer threads alive. */
  ensure_workers();
  pthread_mutex_unlock(&api_mutex);
}

int convtune_get_num_threads(void) { return atomic_load(&wanted); }

/* ---- CPU features ------------------------------------------------------------------------ */

/* Where cpuid reports a feature: leaf, subleaf, register (0 eax .. 3 edx), bit; and which
 * register state the OS must save for it (XCR0 bits). */
typedef struct {
  const char* name;
  unsigned leaf, subleaf, reg, bit;
  unsigned long long xcr0;
} Feature;

enum { kAvxState = 0x6, kAvx512State = 0xE6 };

static const Feature kFeatures[] = {
    {"sse", 1, 0, 3, 25, 0},           {"sse2", 1, 0, 3, 26, 0},          {"sse3", 1, 0, 2, 0, 0},
    {"ssse3", 1, 0, 2, 9, 0},          {"sse4.1", 1, 0, 2, 19, 0},        {"sse4.2", 1, 0, 2, 20, 0},
    {"popcnt", 1, 0, 2, 23, 0},        {"movbe", 1, 0, 2, 22, 0},         {"xsave", 1, 0, 2, 26, 0},
    {"avx", 1, 0, 2, 28, kAvxState},   {"fma", 1, 0, 2, 12, kAvxState},   {"f16c", 1, 0, 2, 29, kAvxState},
    {"bmi", 7, 0, 1, 3, 0},            {"bmi2", 7, 0, 1, 8, 0},           {"avx2", 7, 0, 1, 5, kAvxState},
    {"lzcnt", 0x80000001u, 0, 2, 5, 0},
    {"avx512f", 7, 0, 1, 16, kAvx512State},        {"avx512dq", 7, 0, 1, 17, kAvx512State},
    {"avx512ifma", 7, 0, 1, 21, kAvx512State},     {"avx512cd", 7, 0, 1, 28, kAvx512State},
    {"avx512bw", 7, 0, 1, 30, kAvx512State},       {"avx512vl", 7, 0, 1, 31, kAvx512State},
    {"avx512vbmi", 7, 0, 2, 1, kAvx512State},      {"avx512vbmi2", 7, 0, 2, 6, kAvx512State},
    {"avx512vnni", 7, 0, 2, 11, kAvx512State},     {"avx512bitalg", 7, 0, 2, 12, kAvx512State},
    {"avx512vpopcntdq", 7, 0, 2, 14, kAvx512State}, {"avx512fp16", 7, 0, 3, 23, kAvx512State},
    {"avx512bf16", 7, 1, 0, 5, kAvx512State},      {"avxvnni", 7, 1, 0, 4, kAvxState},
    {"avxifma", 7, 1, 0, 23, kAvxState},           {"avxvnniint8", 7, 1, 3, 4, kAvxState},
    {"avxneconvert", 7, 1, 3, 5, kAvxState},       {"cmpccxadd", 7, 1, 0, 7, 0},
    {"amx-bf16", 7, 0, 3, 22, 0},                  {"amx-tile", 7, 0, 3, 24, 0},
    {"amx-int8", 7, 0, 3, 25, 0},                  {"amx-fp16", 7, 1, 0, 21, 0},
    /* AMD's own. */
    {"sse4a", 0x80000001u, 0, 2, 6, 0},            {"xop", 0x80000001u, 0, 2, 11, kAvxState},
    {"fma4", 0x80000001u, 0, 2, 16, kAvxState},    {"tbm", 0x80000001u, 0, 2, 21, 0},
    {"clzero", 0x80000008u, 0, 1, 0, 0},
};

static unsigned long long xcr0(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0; /* no OSXSAVE: no xgetbv */
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((unsigned long long)hi << 32) | lo;
}

static int has_feature(const Feature* f, unsigned long long os_state) {
  unsigned r[4] = {0, 0, 0, 0};
  if ((unsigned)__get_cpuid_max(f->leaf & 0x80000000u, NULL) < f->leaf) return 0;
  __cpuid_count(f->leaf, f->subleaf, r[0], r[1], r[2], r[3]);
  return ((r[f->reg] >> f->bit) & 1u) && (os_state & f->xcr0) == f->xcr0;
}

int convtune_cpu_supports(const char* kernel, const char* features) {
  const unsigned long long os_state = xcr0();
  char missing[512] = "";
  const char* p = features;
  while (p && *p) {
    const char* end = strchr(p, ',');
    const size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len > 1 && p[0] != '-') {
      const char* name = p[0] == '+' ? p + 1 : p;
      const size_t n = p[0] == '+' ? len - 1 : len;
      for (size_t i = 0; i < sizeof kFeatures / sizeof kFeatures[0]; ++i) {
        if (strlen(kFeatures[i].name) == n && strncmp(kFeatures[i].name, name, n) == 0 && !has_feature(&kFeatures[i], os_state)) {
          if (strlen(missing) + n + 3 < sizeof missing) {
            if (missing[0]) strcat(missing, ", ");
            strncat(missing, name, n);
          }
        }
      }
    }
    p = end ? end + 1 : NULL;
  }
  if (!missing[0]) return 1;
  fprintf(stderr, "convtune: kernel %s was compiled for CPU features this machine lacks: %s\n", kernel, missing);
  return 0;
}
