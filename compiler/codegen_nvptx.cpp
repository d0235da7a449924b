/// \file The NVPTX half of code generation (see the header).
#include "compiler/codegen_nvptx.h"

#include <set>

#include <llvm/IR/CallingConv.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/Metadata.h>

#include "compiler/codegen_llvm.h"
#include "ir/error.h"
#include "ir/ir_printer.h"
#include "ir/ir_visitor.h"
#include "ir/modulus.h"

namespace convtune {

namespace {

/// Refuses a barrier that some threads of a block might not reach: one inside an `if` or a
/// loop whose condition or trip count depends on the thread (its thread loops, or a let of
/// them). Such a barrier hangs the block or is undefined behaviour on the GPU.
class DivergentBarriers : public IRVisitor {
public:
  explicit DivergentBarriers(std::string stage) : stage_(std::move(stage)) {}
  using IRVisitor::visit;

protected:
  void visit(const For* op) override {
    const bool varies = depends(op->min) || depends(op->extent);
    if (is_gpu_thread(op->for_kind) || varies) variant_.insert(op->name);
    std::string saved = divergent_;
    if (varies && divergent_.empty()) divergent_ = "loop '" + op->name + "'";
    IRVisitor::visit(op);
    divergent_ = saved;
  }
  void visit(const LetStmt* op) override {
    if (depends(op->value)) variant_.insert(op->name);
    IRVisitor::visit(op);
  }
  void visit(const IfThenElse* op) override {
    std::string saved = divergent_;
    if (depends(op->cond) && divergent_.empty()) divergent_ = "if (" + to_text(op->cond) + ")";
    IRVisitor::visit(op);
    divergent_ = saved;
  }
  void visit(const Barrier*) override {
    if (!divergent_.empty()) {
      throw UserError("stage '" + stage_ + "': a barrier inside " + divergent_ +
                      ", which depends on the thread; every thread of a block must reach each barrier");
    }
  }

private:
  bool depends(const Expr& e) const {
    for (const std::string& v : vars_in(e)) {
      if (variant_.count(v)) return true;
    }
    return false;
  }
  std::string stage_;
  std::set<std::string> variant_;
  std::string divergent_;  ///< the innermost thread-dependent control flow around here, as text
};

class CodeGenNVPTX : public CodeGenLLVM {
public:
  using CodeGenLLVM::CodeGenLLVM;

  std::unique_ptr<llvm::Module> run(const LoopNest& nest, const KernelAbi& abi) {
    auto module = std::make_unique<llvm::Module>(nest.name, ctx_);
    module_ = module.get();
    name_ = nest.name;
    const std::vector<BufferRef> buffers = nest.all_buffers();
    std::vector<llvm::Type*> ptrs(buffers.size(), ptr_);
    auto* kernel_type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx_), ptrs, false);
    llvm::NamedMDNode* annotations = module_->getOrInsertNamedMetadata("nvvm.annotations");
    for (size_t i = 0; i < nest.stages.size(); ++i) {
      const NestStage& stage = nest.stages[i];
      DivergentBarriers(stage.name).visit(stage.body);
      llvm::Function* fn = llvm::Function::Create(kernel_type, llvm::Function::ExternalLinkage,
                                                  gpu_kernel_name(nest.name, i), module_);
      fn->setCallingConv(llvm::CallingConv::PTX_Kernel);
      fn->addFnAttr(llvm::Attribute::NoUnwind);
      bind_buffer_arguments(fn, buffers);
      annotate(annotations, fn, "kernel", 1);
      const AbiStage& launch = abi.stages[i];
      annotate(annotations, fn, "maxntidx", launch.block[0]);
      annotate(annotations, fn, "maxntidy", launch.block[1]);
      annotate(annotations, fn, "maxntidz", launch.block[2]);
      begin_function(fn);
      emit(stage.body);
      builder_.CreateRetVoid();
      buffers_.clear();
    }
    return module;
  }

private:
  void annotate(llvm::NamedMDNode* node, llvm::Function* fn, const char* key, int64_t value) {
    llvm::Metadata* md[] = {llvm::ValueAsMetadata::get(fn), llvm::MDString::get(ctx_, key),
                            llvm::ValueAsMetadata::get(llvm::ConstantInt::get(i32_, value))};
    node->addOperand(llvm::MDNode::get(ctx_, md));
  }

  /// The loop variable is the block's or the thread's index along the loop's axis (the launch
  /// has exactly the loop's extent there: ir/kernel_abi).
  void emit_gpu_loop(const For* f) override {
    static const std::pair<ForKind, const char*> registers[] = {
        {ForKind::GpuBlockX, "llvm.nvvm.read.ptx.sreg.ctaid.x"}, {ForKind::GpuBlockY, "llvm.nvvm.read.ptx.sreg.ctaid.y"},
        {ForKind::GpuBlockZ, "llvm.nvvm.read.ptx.sreg.ctaid.z"}, {ForKind::GpuThreadX, "llvm.nvvm.read.ptx.sreg.tid.x"},
        {ForKind::GpuThreadY, "llvm.nvvm.read.ptx.sreg.tid.y"},  {ForKind::GpuThreadZ, "llvm.nvvm.read.ptx.sreg.tid.z"}};
    const char* reg = nullptr;
    for (const auto& [kind, name] : registers) {
      if (kind == f->for_kind) reg = name;
    }
    internal_check(reg != nullptr, "codegen_nvptx: loop '" + f->name + "' is not bound to the GPU");
    llvm::FunctionCallee read = module_->getOrInsertFunction(reg, i32_);
    llvm::Value* index = builder_.CreateZExt(builder_.CreateCall(read), i64_);
    llvm::Value* v = builder_.CreateAdd(emit(f->min), index, f->name, true, true);
    bind(f->name, v, loop_range(f), [&] { emit(f->body); });
  }

  void emit_parallel_loop(const For* f) override {
    throw UserError("loop '" + f->name + "' is parallel on CPU threads, which a GPU kernel has not; bind it to blocks or threads");
  }

  llvm::Value* shared_alloc(const Buffer& b) override {
    auto* type = llvm::ArrayType::get(f32_, uint64_t(b.elements()));
    auto* global = new llvm::GlobalVariable(*module_, type, false, llvm::GlobalValue::InternalLinkage, llvm::UndefValue::get(type),
                                            fn_->getName() + "." + b.name, nullptr, llvm::GlobalValue::NotThreadLocal,
                                            /*AddressSpace=*/3);
    global->setAlignment(llvm::Align(16));
    return global;
  }

  /// Every buffer a kernel reads starts on a 16-byte boundary: parameters and the workspace
  /// as the driver allocates them (256 bytes; the launch file asks the same of a caller),
  /// temporaries at multiples of 64 bytes in the workspace, shared and local arrays aligned
  /// so. What the index adds is a multiple of the power of two the modulus analysis proves.
  llvm::Align vector_align(const Buffer& b, const std::vector<Expr>& indices, int lanes) override {
    std::vector<Expr> first_lane;
    for (const Expr& i : indices) first_lane.push_back(i.as<Ramp>() ? i.as<Ramp>()->base : i.as<Broadcast>() ? i.as<Broadcast>()->value : i);
    const Expr flat = convtune::flat_index(b, first_lane);  // the expression, not the emitted index
    int64_t widest = 1;
    while (widest * 2 <= lanes && widest * 2 * int64_t(sizeof(float)) <= KernelAbi::kGpuBufferAlign) widest *= 2;
    const int64_t floats = power_of_two_factor(flat, widest, [this](const std::string& n) { return let_value(n); });
    return llvm::Align(uint64_t(floats) * sizeof(float));
  }

  void emit_barrier() override {
    builder_.CreateCall(module_->getOrInsertFunction("llvm.nvvm.barrier0", llvm::Type::getVoidTy(ctx_)));
  }

  llvm::Value* heap_alloc(int64_t, const std::string& name) override {
    throw UserError("buffer '" + name + "' would be allocated on the heap inside a GPU kernel; temporaries live in the workspace");
  }
  void heap_free(llvm::Value*) override {}
};

} // namespace

std::unique_ptr<llvm::Module> codegen_nvptx(const LoopNest& nest, const KernelAbi& abi, llvm::LLVMContext& context) {
  return CodeGenNVPTX(context).run(nest, abi);
}

} // namespace convtune
