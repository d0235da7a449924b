/* \file A fixed pool of workers woken per parallel loop: spin briefly, then sleep (see the
 * header). C11 atomics and pthreads. */
#include "runtime/convtune_rt.h"

#include <pthread.h>
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
