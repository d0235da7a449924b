/// \file The CUDA driver API, loaded at run time with dlopen("libcuda.so.1") so that convtune
/// builds, and every CPU feature runs, on machines without CUDA; no CUDA header is included.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace convtune {

/// The few driver API types we use, declared as the driver's ABI has them (cuda.h is not needed).
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
struct CUctx_st;
using CUcontext = CUctx_st*;
struct CUmod_st;
using CUmodule = CUmod_st*;
struct CUfunc_st;
using CUfunction = CUfunc_st*;
struct CUevent_st;
using CUevent = CUevent_st*;
struct CUstream_st;
using CUstream = CUstream_st*;

/// A failing driver call on a working device (launch failure, illegal address, out of memory).
/// The message reads "CUDA error in <api call>: <error name> (<error text>)", sometimes followed
/// by ": <detail>" (the JIT log's first line, the missing kernel's name).
class CudaError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Grid and block sizes of a kernel launch.
struct LaunchDims {
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
};

/// The CUDA driver, loaded once per process: cuInit(0), device 0, its primary context retained
/// and made current on the calling thread. The context is also made current on each thread the
/// first time that thread uses the driver through get() or loaded(); make_current() does it
/// explicitly.
class CudaDriver {
public:
  /// The process's driver. UserError when it cannot be loaded or has no device, with one of
  ///   "target '<target_name>' cannot run here: no CUDA driver (libcuda.so.1 could not be loaded)"
  ///   "target '<target_name>' cannot run here: the CUDA driver found no GPU (<error name>)"
  /// A missing driver symbol reads as the first, naming the symbol inside the parentheses.
  static CudaDriver& get(const std::string& target_name);
  /// The driver that get() loaded, for code that runs after get() succeeded (buffers, modules,
  /// launches); InternalError when no driver could be loaded.
  static CudaDriver& loaded();

  CudaDriver(const CudaDriver&) = delete;
  CudaDriver& operator=(const CudaDriver&) = delete;
  ~CudaDriver();

  /// Makes the device's primary context current on the calling thread.
  void make_current() const;
  const std::string& device_name() const { return device_name_; }
  /// Compute capability as major * 10 + minor (90 for sm_90).
  int sm() const { return sm_; }
  int multiprocessors() const { return multiprocessors_; }
  int clock_khz() const { return clock_khz_; }                ///< the SMs' peak clock
  int memory_clock_khz() const { return memory_clock_khz_; }  ///< the memory's peak clock
  int memory_bus_bits() const { return memory_bus_bits_; }

  // Raw wrappers, each throwing CudaError on a non-zero result unless marked noexcept (those
  // are for destructors, which ignore errors).
  CUdeviceptr mem_alloc(int64_t bytes) const;
  void mem_free(CUdeviceptr ptr) const noexcept;
  void memcpy_htod(CUdeviceptr dst, const void* src, int64_t bytes) const;
  void memcpy_dtoh(void* dst, CUdeviceptr src, int64_t bytes) const;
  /// cuModuleLoadDataEx; on failure the message ends with the JIT error log's first line.
  CUmodule module_load(const std::string& ptx) const;
  void module_unload(CUmodule module) const noexcept;
  /// cuModuleGetFunction; the message names the kernel when it is absent.
  CUfunction module_get_function(CUmodule module, const std::string& name) const;
  void launch(CUfunction function, const LaunchDims& dims, void** args) const;
  void ctx_synchronize() const;
  CUevent event_create() const;
  void event_record(CUevent event) const;
  void event_synchronize(CUevent event) const;
  float event_elapsed_ms(CUevent start, CUevent end) const;
  void event_destroy(CUevent event) const noexcept;

  /// Throws CudaError for a non-zero `result` of `call`, appending ": <detail>" when given.
  void check(CUresult result, const char* call, const std::string& detail = "") const;

private:
  struct Api;  ///< the driver's entry points, looked up with dlsym

  CudaDriver() = default;
  /// Loads the driver; nullptr with the reason (the text after "cannot run here: ") in
  /// `failure` when there is no driver or no device.
  static std::unique_ptr<CudaDriver> load(std::string& failure);
  /// The driver loaded once per process (thread-safe), with the primary context made current
  /// on the calling thread; nullptr with the reason in `failure` when there is none.
  static CudaDriver* instance(std::string& failure);
  /// The "<error name> (<error text>)" part of a message.
  std::string describe(CUresult result) const;

  std::unique_ptr<Api> api_;
  CUdevice device_ = 0;
  CUcontext context_ = nullptr;
  std::string device_name_;
  int sm_ = 0;
  int multiprocessors_ = 0;
  int clock_khz_ = 0, memory_clock_khz_ = 0, memory_bus_bits_ = 0;
};

/// A device allocation (cuMemAlloc_v2 / cuMemFree_v2); move-only.
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  /// `bytes` may be 0: nothing is allocated and ptr() is 0.
  explicit DeviceBuffer(int64_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  unsigned long long ptr() const { return ptr_; }
  int64_t bytes() const { return bytes_; }
  /// Copies `count` floats from the host to the start of the buffer (cuMemcpyHtoD_v2).
  void upload(const float* host, int64_t count);
  /// Copies `count` floats from the start of the buffer to the host (cuMemcpyDtoH_v2).
  void download(float* host, int64_t count) const;

private:
  unsigned long long ptr_ = 0;
  int64_t bytes_ = 0;
};

/// A PTX module loaded into the current context, its kernels looked up by name.
class CudaModule {
public:
  /// cuModuleLoadDataEx; CudaError with the JIT error log's first line when the PTX is refused.
  explicit CudaModule(const std::string& ptx);
  /// cuModuleUnload, ignoring errors.
  ~CudaModule();
  CudaModule(const CudaModule&) = delete;
  CudaModule& operator=(const CudaModule&) = delete;

  /// The CUfunction handle of kernel `name`; CudaError naming the kernel when it is absent.
  void* function(const std::string& name) const;

private:
  CUmodule module_ = nullptr;
};

/// Launches `function` with `dims`, no dynamic shared memory, on the default stream. `args`
/// points to each kernel argument's value (cuLaunchKernel's kernelParams). CudaError on failure.
void launch_kernel(void* function, const LaunchDims& dims, std::vector<void*>& args);

/// cuCtxSynchronize: waits for every launched kernel; this is where an illegal address surfaces
/// as a CudaError (after which the context is unusable, as the driver makes such errors sticky).
void synchronize();

/// Milliseconds of GPU time that `body` (which launches kernels) takes, between two CUDA events
/// recorded on the default stream before and after it. The events are destroyed before return,
/// also when `body` throws.
double time_gpu_ms(const std::function<void()>& body);

} // namespace convtune
