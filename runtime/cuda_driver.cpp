/// \file The CUDA driver API, loaded at run time with dlopen("libcuda.so.1") so that convtune
/// builds, and every CPU feature runs, on machines without CUDA; no CUDA header is included.
#include "runtime/cuda_driver.h"

#include <dlfcn.h>

#include <cctype>
#include <cstring>
#include <initializer_list>
#include <utility>

#include "ir/error.h"

namespace convtune {

namespace {

// Values from the driver API's enums (cuda.h), which we do not include.
constexpr CUresult kSuccess = 0;
constexpr CUresult kErrorNoDevice = 100;  // CUDA_ERROR_NO_DEVICE
constexpr int kAttributeMultiprocessorCount = 16;
constexpr int kAttributeClockRate = 13;             // CU_DEVICE_ATTRIBUTE_CLOCK_RATE, kHz
constexpr int kAttributeMemoryClockRate = 36;       // CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE, kHz
constexpr int kAttributeGlobalMemoryBusWidth = 37;  // CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH, bits
constexpr int kAttributeComputeCapabilityMajor = 75;
constexpr int kAttributeComputeCapabilityMinor = 76;
constexpr int kJitErrorLogBuffer = 5;           // CU_JIT_ERROR_LOG_BUFFER
constexpr int kJitErrorLogBufferSizeBytes = 6;  // CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES
constexpr unsigned kEventDefault = 0;           // CU_EVENT_DEFAULT

/// Points `fn` at the first of `names` that `library` exports; false, with the first name in
/// `missing`, when it exports none of them.
template <typename Fn>
bool bind(void* library, Fn& fn, std::initializer_list<const char*> names, std::string& missing) {
  for (const char* name : names) {
    void* symbol = dlsym(library, name);
    if (!symbol) continue;
    // dlsym returns an object pointer; copying its bits is the portable way to a function pointer.
    static_assert(sizeof fn == sizeof symbol, "function and object pointers differ in size");
    std::memcpy(&fn, &symbol, sizeof fn);
    return true;
  }
  missing = *names.begin();
  return false;
}

/// The first line of a JIT log, without trailing whitespace.
std::string first_line(const char* log) {
  std::string line(log);
  line = line.substr(0, line.find('\n'));
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  return line;
}

} // namespace

/// The driver's entry points we use, with the signatures cuda.h declares for them.
struct CudaDriver::Api {
  CUresult (*cuInit)(unsigned flags) = nullptr;
  CUresult (*cuDeviceGetCount)(int* count) = nullptr;
  CUresult (*cuDeviceGet)(CUdevice* device, int ordinal) = nullptr;
  CUresult (*cuDeviceGetName)(char* name, int length, CUdevice device) = nullptr;
  CUresult (*cuDeviceGetAttribute)(int* value, int attribute, CUdevice device) = nullptr;
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext* context, CUdevice device) = nullptr;
  CUresult (*cuCtxSetCurrent)(CUcontext context) = nullptr;
  CUresult (*cuCtxSynchronize)() = nullptr;
  CUresult (*cuGetErrorName)(CUresult error, const char** name) = nullptr;
  CUresult (*cuGetErrorString)(CUresult error, const char** text) = nullptr;
  CUresult (*cuMemAlloc)(CUdeviceptr* ptr, size_t bytes) = nullptr;
  CUresult (*cuMemFree)(CUdeviceptr ptr) = nullptr;
  CUresult (*cuMemcpyHtoD)(CUdeviceptr dst, const void* src, size_t bytes) = nullptr;
  CUresult (*cuMemcpyDtoH)(void* dst, CUdeviceptr src, size_t bytes) = nullptr;
  // The options are a CUjit_option enum array, which has int's size and representation.
  CUresult (*cuModuleLoadDataEx)(CUmodule* module, const void* image, unsigned num_options, int* options,
                                 void** option_values) = nullptr;
  CUresult (*cuModuleUnload)(CUmodule module) = nullptr;
  CUresult (*cuModuleGetFunction)(CUfunction* function, CUmodule module, const char* name) = nullptr;
  CUresult (*cuLaunchKernel)(CUfunction function, unsigned grid_x, unsigned grid_y, unsigned grid_z,
                             unsigned block_x, unsigned block_y, unsigned block_z, unsigned shared_bytes,
                             CUstream stream, void** params, void** extra) = nullptr;
  CUresult (*cuEventCreate)(CUevent* event, unsigned flags) = nullptr;
  CUresult (*cuEventRecord)(CUevent event, CUstream stream) = nullptr;
  CUresult (*cuEventSynchronize)(CUevent event) = nullptr;
  CUresult (*cuEventElapsedTime)(float* ms, CUevent start, CUevent end) = nullptr;
  CUresult (*cuEventDestroy)(CUevent event) = nullptr;

  /// Looks every entry point up; false, with the missing symbol's name, when one is absent.
  bool bind_all(void* library, std::string& missing) {
    return bind(library, cuInit, {"cuInit"}, missing) &&
           bind(library, cuDeviceGetCount, {"cuDeviceGetCount"}, missing) &&
           bind(library, cuDeviceGet, {"cuDeviceGet"}, missing) &&
           bind(library, cuDeviceGetName, {"cuDeviceGetName"}, missing) &&
           bind(library, cuDeviceGetAttribute, {"cuDeviceGetAttribute"}, missing) &&
           bind(library, cuDevicePrimaryCtxRetain, {"cuDevicePrimaryCtxRetain"}, missing) &&
           bind(library, cuCtxSetCurrent, {"cuCtxSetCurrent"}, missing) &&
           bind(library, cuCtxSynchronize, {"cuCtxSynchronize"}, missing) &&
           bind(library, cuGetErrorName, {"cuGetErrorName"}, missing) &&
           bind(library, cuGetErrorString, {"cuGetErrorString"}, missing) &&
           bind(library, cuMemAlloc, {"cuMemAlloc_v2"}, missing) &&
           bind(library, cuMemFree, {"cuMemFree_v2"}, missing) &&
           bind(library, cuMemcpyHtoD, {"cuMemcpyHtoD_v2"}, missing) &&
           bind(library, cuMemcpyDtoH, {"cuMemcpyDtoH_v2"}, missing) &&
           bind(library, cuModuleLoadDataEx, {"cuModuleLoadDataEx"}, missing) &&
           bind(library, cuModuleUnload, {"cuModuleUnload"}, missing) &&
           bind(library, cuModuleGetFunction, {"cuModuleGetFunction"}, missing) &&
           bind(library, cuLaunchKernel, {"cuLaunchKernel"}, missing) &&
           bind(library, cuEventCreate, {"cuEventCreate"}, missing) &&
           bind(library, cuEventRecord, {"cuEventRecord"}, missing) &&
           bind(library, cuEventSynchronize, {"cuEventSynchronize"}, missing) &&
           // Newer drivers also export a _v2; older ones have only the plain name.
           bind(library, cuEventElapsedTime, {"cuEventElapsedTime", "cuEventElapsedTime_v2"}, missing) &&
           bind(library, cuEventDestroy, {"cuEventDestroy_v2"}, missing);
  }
};

CudaDriver::~CudaDriver() = default;

std::unique_ptr<CudaDriver> CudaDriver::load(std::string& failure) {
  const std::string no_driver = "no CUDA driver (libcuda.so.1 could not be loaded";
  void* library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    failure = no_driver + ")";
    return nullptr;
  }
  std::unique_ptr<CudaDriver> driver(new CudaDriver());
  driver->api_ = std::make_unique<Api>();
  std::string missing;
  if (!driver->api_->bind_all(library, missing)) {
    dlclose(library);
    failure = no_driver + ": symbol " + missing + " missing)";
    return nullptr;
  }
  const Api& api = *driver->api_;

  // No device: cuInit fails (CUDA_ERROR_NO_DEVICE, or CUDA_ERROR_STUB_LIBRARY for the stub that
  // toolkits ship), or it succeeds and counts none. The library stays loaded once initialised.
  int count = 0;
  CUresult result = api.cuInit(0);
  if (result == kSuccess) result = api.cuDeviceGetCount(&count);
  if (result == kSuccess && count == 0) result = kErrorNoDevice;
  if (result == kSuccess) result = api.cuDeviceGet(&driver->device_, 0);
  if (result != kSuccess) {
    const char* name = nullptr;
    if (api.cuGetErrorName(result, &name) != kSuccess || !name) name = "unknown CUDA error";
    failure = std::string("the CUDA driver found no GPU (") + name + ")";
    return nullptr;
  }

  // From here on the device exists: failures are CudaErrors.
  driver->check(api.cuDevicePrimaryCtxRetain(&driver->context_, driver->device_), "cuDevicePrimaryCtxRetain");
  driver->make_current();
  char name[256] = {};
  driver->check(api.cuDeviceGetName(name, sizeof name - 1, driver->device_), "cuDeviceGetName");
  driver->device_name_ = name;
  const auto attribute = [&](int which) {
    int value = 0;
    driver->check(api.cuDeviceGetAttribute(&value, which, driver->device_), "cuDeviceGetAttribute");
    return value;
  };
  driver->sm_ = attribute(kAttributeComputeCapabilityMajor) * 10 + attribute(kAttributeComputeCapabilityMinor);
  driver->multiprocessors_ = attribute(kAttributeMultiprocessorCount);
  driver->clock_khz_ = attribute(kAttributeClockRate);
  driver->memory_clock_khz_ = attribute(kAttributeMemoryClockRate);
  driver->memory_bus_bits_ = attribute(kAttributeGlobalMemoryBusWidth);
  return driver;
}

CudaDriver* CudaDriver::instance(std::string& failure) {
  struct Loaded {
    CudaDriver* driver = nullptr;
    std::string failure;
  };
  // Initialised once, thread-safely. The driver is never destroyed: device buffers or modules
  // that outlive it at exit would otherwise call through a freed table. A CudaError thrown while
  // setting up a found device leaves this uninitialised, so the next call tries again.
  static const Loaded loaded = [] {
    Loaded l;
    l.driver = load(l.failure).release();
    return l;
  }();
  failure = loaded.failure;
  if (!loaded.driver) return nullptr;
  // Each thread gets the context made current the first time it asks for the driver.
  thread_local bool current = false;
  if (!current) {
    loaded.driver->make_current();
    current = true;
  }
  return loaded.driver;
}

CudaDriver& CudaDriver::get(const std::string& target_name) {
  std::string failure;
  CudaDriver* driver = instance(failure);
  if (!driver) throw UserError("target '" + target_name + "' cannot run here: " + failure);
  return *driver;
}

CudaDriver& CudaDriver::loaded() {
  std::string failure;
  CudaDriver* driver = instance(failure);
  internal_check(driver != nullptr, "the CUDA driver was used without a successful CudaDriver::get (" + failure + ")");
  return *driver;
}

void CudaDriver::make_current() const { check(api_->cuCtxSetCurrent(context_), "cuCtxSetCurrent"); }

std::string CudaDriver::describe(CUresult result) const {
  const char* name = nullptr;
  const char* text = nullptr;
  if (api_->cuGetErrorName(result, &name) != kSuccess || !name) name = "unknown CUDA error";
  if (api_->cuGetErrorString(result, &text) != kSuccess || !text) text = "";
  const std::string explained = text[0] ? std::string(text) : "code " + std::to_string(result);
  return std::string(name) + " (" + explained + ")";
}

void CudaDriver::check(CUresult result, const char* call, const std::string& detail) const {
  if (result == kSuccess) return;
  std::string message = std::string("CUDA error in ") + call + ": " + describe(result);
  if (!detail.empty()) message += ": " + detail;
  throw CudaError(message);
}

CUdeviceptr CudaDriver::mem_alloc(int64_t bytes) const {
  CUdeviceptr ptr = 0;
  check(api_->cuMemAlloc(&ptr, static_cast<size_t>(bytes)), "cuMemAlloc_v2");
  return ptr;
}

void CudaDriver::mem_free(CUdeviceptr ptr) const noexcept { api_->cuMemFree(ptr); }

void CudaDriver::memcpy_htod(CUdeviceptr dst, const void* src, int64_t bytes) const {
  check(api_->cuMemcpyHtoD(dst, src, static_cast<size_t>(bytes)), "cuMemcpyHtoD_v2");
}

void CudaDriver::memcpy_dtoh(void* dst, CUdeviceptr src, int64_t bytes) const {
  check(api_->cuMemcpyDtoH(dst, src, static_cast<size_t>(bytes)), "cuMemcpyDtoH_v2");
}

CUmodule CudaDriver::module_load(const std::string& ptx) const {
  char log[8192] = {};
  int options[] = {kJitErrorLogBuffer, kJitErrorLogBufferSizeBytes};
  // The size travels as an integer in the pointer's bits, as the driver API specifies.
  void* values[] = {log, reinterpret_cast<void*>(static_cast<uintptr_t>(sizeof log))};
  CUmodule module = nullptr;
  const CUresult result = api_->cuModuleLoadDataEx(&module, ptx.c_str(), 2, options, values);
  log[sizeof log - 1] = '\0';
  check(result, "cuModuleLoadDataEx", first_line(log));
  return module;
}

void CudaDriver::module_unload(CUmodule module) const noexcept { api_->cuModuleUnload(module); }

CUfunction CudaDriver::module_get_function(CUmodule module, const std::string& name) const {
  CUfunction function = nullptr;
  const CUresult result = api_->cuModuleGetFunction(&function, module, name.c_str());
  if (result != kSuccess) check(result, "cuModuleGetFunction", "no kernel '" + name + "' in the module");
  return function;
}

void CudaDriver::launch(CUfunction function, const LaunchDims& dims, void** args) const {
  check(api_->cuLaunchKernel(function, dims.grid[0], dims.grid[1], dims.grid[2], dims.block[0], dims.block[1],
                             dims.block[2], 0, nullptr, args, nullptr),
        "cuLaunchKernel");
}

void CudaDriver::ctx_synchronize() const { check(api_->cuCtxSynchronize(), "cuCtxSynchronize"); }

CUevent CudaDriver::event_create() const {
  CUevent event = nullptr;
  check(api_->cuEventCreate(&event, kEventDefault), "cuEventCreate");
  return event;
}

void CudaDriver::event_record(CUevent event) const { check(api_->cuEventRecord(event, nullptr), "cuEventRecord"); }

void CudaDriver::event_synchronize(CUevent event) const {
  check(api_->cuEventSynchronize(event), "cuEventSynchronize");
}

float CudaDriver::event_elapsed_ms(CUevent start, CUevent end) const {
  float ms = 0;
  check(api_->cuEventElapsedTime(&ms, start, end), "cuEventElapsedTime");
  return ms;
}

void CudaDriver::event_destroy(CUevent event) const noexcept { api_->cuEventDestroy(event); }

DeviceBuffer::DeviceBuffer(int64_t bytes) {
  internal_check(bytes >= 0, "DeviceBuffer of " + std::to_string(bytes) + " bytes");
  if (bytes == 0) return;
  ptr_ = CudaDriver::loaded().mem_alloc(bytes);
  bytes_ = bytes;
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_ == 0) return;
  // loaded() may make the context current on this thread, which can fail; destructors do not throw.
  try {
    CudaDriver::loaded().mem_free(ptr_);
  } catch (...) {
  }
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept : ptr_(other.ptr_), bytes_(other.bytes_) {
  other.ptr_ = 0;
  other.bytes_ = 0;
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  std::swap(ptr_, other.ptr_);
  std::swap(bytes_, other.bytes_);
  return *this;
}

void DeviceBuffer::upload(const float* host, int64_t count) {
  internal_check(count >= 0 && count * int64_t{sizeof(float)} <= bytes_,
                 "upload of " + std::to_string(count) + " floats into a " + std::to_string(bytes_) + "-byte buffer");
  if (count == 0) return;
  CudaDriver::loaded().memcpy_htod(ptr_, host, count * int64_t{sizeof(float)});
}

void DeviceBuffer::download(float* host, int64_t count) const {
  internal_check(count >= 0 && count * int64_t{sizeof(float)} <= bytes_,
                 "download of " + std::to_string(count) + " floats from a " + std::to_string(bytes_) + "-byte buffer");
  if (count == 0) return;
  CudaDriver::loaded().memcpy_dtoh(host, ptr_, count * int64_t{sizeof(float)});
}

CudaModule::CudaModule(const std::string& ptx) : module_(CudaDriver::loaded().module_load(ptx)) {}

CudaModule::~CudaModule() {
  if (!module_) return;
  try {
    CudaDriver::loaded().module_unload(module_);
  } catch (...) {
  }
}

void* CudaModule::function(const std::string& name) const {
  return CudaDriver::loaded().module_get_function(module_, name);
}

void launch_kernel(void* function, const LaunchDims& dims, std::vector<void*>& args) {
  CudaDriver::loaded().launch(static_cast<CUfunction>(function), dims, args.empty() ? nullptr : args.data());
}

void synchronize() { CudaDriver::loaded().ctx_synchronize(); }

double time_gpu_ms(const std::function<void()>& body) {
  const CudaDriver& driver = CudaDriver::loaded();
  /// Destroys the events however the timing ends.
  struct Events {
    explicit Events(const CudaDriver& owner) : driver(owner) {}
    ~Events() {
      if (start) driver.event_destroy(start);
      if (end) driver.event_destroy(end);
    }
    const CudaDriver& driver;
    CUevent start = nullptr;
    CUevent end = nullptr;
  };
  Events events(driver);
  events.start = driver.event_create();
  events.end = driver.event_create();
  driver.event_record(events.start);
  body();
  driver.event_record(events.end);
  driver.event_synchronize(events.end);
  return driver.event_elapsed_ms(events.start, events.end);
}

} // namespace convtune
