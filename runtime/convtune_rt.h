/* \file convtune's runtime for compiled kernels: the thread pool that their parallel loops
 * call, through a small C ABI. The JIT and ahead-of-time objects link the same code
 * (libconvtune_rt.a: C and pthreads only, no C++ runtime).
 *
 * A parallel loop of n iterations is split statically into one contiguous range per thread;
 * the calling thread runs the first range. With one thread the body is called directly: no
 * pool, no synchronisation. A parallel loop inside another runs serially. */
#ifndef CONVTUNE_RT_H
#define CONVTUNE_RT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The outlined body of a parallel loop: runs iterations [begin, end). */
typedef void (*convtune_task_fn)(void* closure, int64_t begin, int64_t end);

/* Runs fn over [0, n) on the pool's threads and returns when all ranges are done. */
void convtune_parallel_for(convtune_task_fn fn, void* closure, int64_t n);

/* Sets how many threads parallel loops use (at least 1; 1 at start); takes effect at once,
 * from outside a parallel loop (inside one it does nothing). */
void convtune_set_num_threads(int threads);
int convtune_get_num_threads(void);

/* Whether this CPU (and the OS, for the AVX and AVX-512 register state) supports every feature
 * of `features`, a comma-separated list of LLVM x86 feature names ("+avx2,+fma,..."; a leading
 * '+' is ignored, '-' entries are skipped). Names this runtime does not know (features that
 * change no instruction a kernel uses) are not checked. When something is missing it prints
 * once, to stderr, "convtune: kernel KERNEL was compiled for CPU features this machine lacks:
 * ..." and returns 0. Compiled kernels call it once, on their first call. */
int convtune_cpu_supports(const char* kernel, const char* features);

#ifdef __cplusplus
}
#endif

#endif
