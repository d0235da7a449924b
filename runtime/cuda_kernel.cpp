/// \file A kernel loaded on the GPU (see the header).
#include "runtime/cuda_kernel.h"

#include "ir/error.h"

namespace convtune {

CudaKernel::CudaKernel(const std::string& ptx, KernelAbi abi)
    : abi_(std::move(abi)), module_(ptx), workspace_(abi_.workspace_bytes) {
  for (size_t i = 0; i < abi_.stages.size(); ++i) functions_.push_back(module_.function(gpu_kernel_name(abi_.name, i)));
  for (const AbiParam& p : abi_.params) {
    params_.emplace_back(elements_of(p.shape) * int64_t(sizeof(float)));
    table_.push_back(params_.back().ptr());
  }
  for (const AbiTemporary& t : abi_.temporaries) table_.push_back(workspace_.ptr() + CUdeviceptr(t.offset_bytes));
}

void CudaKernel::upload(size_t param, const float* host) {
  params_.at(param).upload(host, elements_of(abi_.params.at(param).shape));
}

void CudaKernel::download(size_t param, float* host) const {
  params_.at(param).download(host, elements_of(abi_.params.at(param).shape));
}

void CudaKernel::launch(size_t stage) {
  const AbiStage& s = abi_.stages.at(stage);
  LaunchDims dims;
  for (int a = 0; a < 3; ++a) {
    dims.grid[a] = unsigned(s.grid[a]);
    dims.block[a] = unsigned(s.block[a]);
  }
  // cuLaunchKernel takes the address of each argument's value: the table's slots.
  std::vector<void*> args;
  for (CUdeviceptr& p : table_) args.push_back(&p);
  launch_kernel(functions_[stage], dims, args);
}

void CudaKernel::synchronize() const { convtune::synchronize(); }

} // namespace convtune
