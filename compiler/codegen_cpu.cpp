/// \file The host half of code generation: the module's layout and the kernel ABI's entries,
/// parallel loops outlined into `(closure, begin, end)` functions handed to the thread pool
/// (convtune_parallel_for), heap buffers through aligned_alloc.
///
/// Layout of the module: one internal function per stage taking the buffer table's pointers,
/// an internal `NAME.run` of every stage over a caller's workspace, then the entries of the
/// kernel ABI (ir/kernel_abi.h): the allocating `NAME`, `NAME_call` over a table of
/// parameters, `NAME_run` and `NAME_pack_weights` for fixed weights, and `NAME_stage(index,
/// buffers)` that runs one stage alone (for timing layout transforms apart).
#include "compiler/codegen_cpu.h"

#include <algorithm>

#include "compiler/codegen_llvm.h"
#include "ir/error.h"
#include "ir/kernel_abi.h"

namespace convtune {

namespace {

class CodeGenCPU : public CodeGenLLVM {
public:
  CodeGenCPU(llvm::LLVMContext& ctx, std::string cpu_features) : CodeGenLLVM(ctx), cpu_features_(std::move(cpu_features)) {}

  std::unique_ptr<llvm::Module> run(const LoopNest& nest, const KernelAbi& abi) {
    auto module = std::make_unique<llvm::Module>(nest.name, ctx_);
    module_ = module.get();
    name_ = nest.name;
    // What the entries learn on their first call: 0 not checked yet, 1 this CPU can run the
    // kernel, 2 it cannot.
    cpu_state_ = new llvm::GlobalVariable(*module_, llvm::Type::getInt32Ty(ctx_), false, llvm::GlobalValue::InternalLinkage,
                                          llvm::ConstantInt::get(llvm::Type::getInt32Ty(ctx_), 0), nest.name + ".cpu_state");
    const std::vector<BufferRef> buffers = nest.all_buffers();
    std::vector<llvm::Type*> ptrs(buffers.size(), ptr_);
    auto* stage_type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx_), ptrs, false);

    // 1. One internal function per stage, over the whole buffer table.
    std::vector<llvm::Function*> stage_fns;
    for (size_t i = 0; i < nest.stages.size(); ++i) {
      const NestStage& stage = nest.stages[i];
      llvm::Function* fn = llvm::Function::Create(stage_type, llvm::Function::InternalLinkage,
                                                  nest.name + "." + stage.name, module_);
      fn->addFnAttr(llvm::Attribute::NoUnwind);
      begin_function(fn);
      bind_buffer_arguments(fn, buffers);
      emit(stage.body);
      builder_.CreateRetVoid();
      buffers_.clear();
      stage_fns.push_back(fn);
    }

    // 2. `NAME.run(params..., workspace)`: the temporaries at their workspace offsets, the
    //    stages in order (what the allocating entries call).
    llvm::Type* i32 = llvm::Type::getInt32Ty(ctx_);
    const unsigned n_params = unsigned(abi.params.size());
    llvm::Function* run = run_function(nest.name + ".run", llvm::Function::InternalLinkage, abi, stage_fns, nest, false);

    // For kernels with weights: `NAME_run` takes the weights as NAME_pack_weights leaves them
    // and skips their packing; `NAME_pack_weights(weights, packed)` is that packing alone.
    // A kernel without weights (pooling) exports NAME_run as every stage over the workspace.
    run_function(nest.name + "_run", llvm::Function::ExternalLinkage, abi, stage_fns, nest, abi.weights_param >= 0);
    if (abi.weights_param >= 0) emit_pack_weights(nest, abi, stage_fns);
    // `NAME_run_blocked`: NAME_run with the input and output in the kernel's own layouts.
    if (!abi.blocked.empty()) {
      run_function(nest.name + "_run_blocked", llvm::Function::ExternalLinkage, abi, stage_fns, nest, abi.weights_param >= 0, true);
    }

    // The convenience entry `NAME(params...)`: one workspace allocation per call.
    std::vector<llvm::Type*> entry_params(n_params, ptr_);
    auto* entry_type = llvm::FunctionType::get(i32, entry_params, false);
    llvm::Function* entry = llvm::Function::Create(entry_type, llvm::Function::ExternalLinkage, nest.name, module_);
    entry->addFnAttr(llvm::Attribute::NoUnwind);
    begin_function(entry);
    guard_cpu(true);
    std::vector<llvm::Value*> entry_args;
    for (unsigned i = 0; i < n_params; ++i) {
      entry->getArg(i)->setName(abi.params[i].name);
      entry_args.push_back(entry->getArg(i));
    }
    emit_workspace_call(run, entry_args, abi.workspace_bytes);

    // `NAME_call(params_table, workspace)`: NAME_run with the parameters as a table, for callers
    // that learn the parameter count at run time (the JIT's harness). A null workspace is
    // allocated here.
    auto* call_type = llvm::FunctionType::get(i32, {ptr_, ptr_}, false);
    llvm::Function* call = llvm::Function::Create(call_type, llvm::Function::ExternalLinkage, nest.name + "_call", module_);
    call->addFnAttr(llvm::Attribute::NoUnwind);
    begin_function(call);
    guard_cpu(true);
    std::vector<llvm::Value*> call_args;
    for (unsigned i = 0; i < n_params; ++i) {
      llvm::Value* slot = builder_.CreateConstInBoundsGEP1_64(ptr_, call->getArg(0), i);
      call_args.push_back(builder_.CreateLoad(ptr_, slot, abi.params[i].name));
    }
    llvm::BasicBlock* given = llvm::BasicBlock::Create(ctx_, "workspace_given", call);
    llvm::BasicBlock* missing = llvm::BasicBlock::Create(ctx_, "workspace_missing", call);
    builder_.CreateCondBr(builder_.CreateIsNull(call->getArg(1)), missing, given);
    builder_.SetInsertPoint(given);
    std::vector<llvm::Value*> with_workspace = call_args;
    with_workspace.push_back(call->getArg(1));
    builder_.CreateRet(builder_.CreateCall(run, with_workspace));
    builder_.SetInsertPoint(missing);
    emit_workspace_call(run, call_args, abi.workspace_bytes);

    // 3. `NAME_stage(index, buffers)`: one stage alone, buffers as a table of pointers.
    auto* one_type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx_), {i64_, ptr_}, false);
    llvm::Function* one = llvm::Function::Create(one_type, llvm::Function::ExternalLinkage, nest.name + "_stage", module_);
    begin_function(one);
    guard_cpu(false);
    std::vector<llvm::Value*> table;
    for (size_t b = 0; b < buffers.size(); ++b) {
      llvm::Value* slot = builder_.CreateConstInBoundsGEP1_64(ptr_, one->getArg(1), b);
      table.push_back(builder_.CreateLoad(ptr_, slot, buffers[b]->name));
    }
    llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx_, "done", one);
    llvm::SwitchInst* sw = builder_.CreateSwitch(one->getArg(0), done, unsigned(stage_fns.size()));
    for (size_t i = 0; i < stage_fns.size(); ++i) {
      llvm::BasicBlock* bb = llvm::BasicBlock::Create(ctx_, nest.stages[i].name, one);
      sw->addCase(llvm::ConstantInt::get(llvm::cast<llvm::IntegerType>(i64_), i), bb);
      builder_.SetInsertPoint(bb);
      builder_.CreateCall(stage_fns[i], table);
      builder_.CreateBr(done);
    }
    builder_.SetInsertPoint(done);
    builder_.CreateRetVoid();
    return module;
  }

  /// `name(params..., workspace)` running the stages with the temporaries at their workspace
  /// offsets. With `packed`, the weights argument is their packed form: it stands for the
  /// packed temporary (the plain weights are never read), and the packing stage is skipped.
  /// With `blocked`, so are the input and output of abi.blocked, with their conversions.
  llvm::Function* run_function(const std::string& name, llvm::Function::LinkageTypes linkage, const KernelAbi& abi,
                               const std::vector<llvm::Function*>& stage_fns, const LoopNest& nest, bool packed,
                               bool blocked = false) {
    llvm::Type* i32 = llvm::Type::getInt32Ty(ctx_);
    const unsigned n_params = unsigned(abi.params.size());
    std::vector<llvm::Type*> run_params(n_params + 1, ptr_);
    auto* run_type = llvm::FunctionType::get(i32, run_params, false);
    llvm::Function* run = llvm::Function::Create(run_type, linkage, name, module_);
    run->addFnAttr(llvm::Attribute::NoUnwind);
    begin_function(run);
    std::vector<llvm::Value*> args;
    for (unsigned i = 0; i < n_params; ++i) {
      run->getArg(i)->setName(packed && int(i) == abi.weights_param ? "packed_weights" : abi.params[i].name);
      run->getArg(i)->addAttr(llvm::Attribute::NoAlias);
      args.push_back(run->getArg(i));
    }
    run->getArg(n_params)->setName("workspace");
    if (linkage == llvm::Function::ExternalLinkage) guard_cpu(true);
    for (size_t t = 0; t < abi.temporaries.size(); ++t) {
      args.push_back(builder_.CreateConstInBoundsGEP1_64(llvm::Type::getInt8Ty(ctx_), run->getArg(n_params),
                                                         uint64_t(abi.temporaries[t].offset_bytes), abi.temporaries[t].name));
    }
    if (packed && abi.packed_weights >= 0) {
      args[n_params + size_t(abi.packed_weights)] = run->getArg(unsigned(abi.weights_param));
      args[size_t(abi.weights_param)] = null_pointer();
    }
    std::vector<bool> skip(stage_fns.size(), false);
    for (size_t i = 0; i < stage_fns.size(); ++i) skip[i] = packed && nest.stages[i].kind == StageKind::PackWeights;
    for (size_t i = 0; blocked && i < abi.blocked.size(); ++i) {
      const AbiBlocked& b = abi.blocked[i];
      run->getArg(unsigned(b.param))->setName(abi.params[size_t(b.param)].name + "_blocked");
      args[n_params + size_t(b.temporary)] = run->getArg(unsigned(b.param));
      args[size_t(b.param)] = null_pointer();
      skip[size_t(b.stage)] = true;
    }
    for (size_t i = 0; i < stage_fns.size(); ++i) {
      if (!skip[i]) builder_.CreateCall(stage_fns[i], args);
    }
    builder_.CreateRet(llvm::ConstantInt::get(i32, kKernelOk));
    return run;
  }

  /// `NAME_pack_weights(weights, packed)`: the weights' packing stages with only those two
  /// buffers, or a copy when the kernel packs no weights.
  void emit_pack_weights(const LoopNest& nest, const KernelAbi& abi, const std::vector<llvm::Function*>& stage_fns) {
    auto* type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx_), {ptr_, ptr_}, false);
    llvm::Function* fn = llvm::Function::Create(type, llvm::Function::ExternalLinkage, nest.name + "_pack_weights", module_);
    fn->addFnAttr(llvm::Attribute::NoUnwind);
    fn->getArg(0)->setName("weights");
    fn->getArg(1)->setName("packed");
    begin_function(fn);
    guard_cpu(false);
    if (abi.packed_weights < 0) {
      builder_.CreateMemCpy(fn->getArg(1), llvm::MaybeAlign(4), fn->getArg(0), llvm::MaybeAlign(4), uint64_t(abi.packed_weights_bytes));
    } else {
      std::vector<llvm::Value*> args(abi.params.size() + abi.temporaries.size(), null_pointer());
      args[size_t(abi.weights_param)] = fn->getArg(0);
      args[abi.params.size() + size_t(abi.packed_weights)] = fn->getArg(1);
      for (size_t i = 0; i < stage_fns.size(); ++i) {
        if (nest.stages[i].kind == StageKind::PackWeights) builder_.CreateCall(stage_fns[i], args);
      }
    }
    builder_.CreateRetVoid();
  }

  /// At an entry's start: on the first call, asks the runtime whether this CPU has the
  /// target's features and remembers the answer; when it has not, returns at once
  /// (kKernelCpuUnsupported, or nothing from a void entry), so no instruction it lacks runs.
  void guard_cpu(bool returns_status) {
    llvm::Type* i32 = llvm::Type::getInt32Ty(ctx_);
    llvm::BasicBlock* check = llvm::BasicBlock::Create(ctx_, "cpu_check", fn_);
    llvm::BasicBlock* decided = llvm::BasicBlock::Create(ctx_, "cpu_decided", fn_);
    llvm::BasicBlock* refuse = llvm::BasicBlock::Create(ctx_, "cpu_unsupported", fn_);
    llvm::BasicBlock* go = llvm::BasicBlock::Create(ctx_, "cpu_ok", fn_);
    llvm::Value* known = builder_.CreateLoad(i32, cpu_state_, "cpu_state");
    builder_.CreateCondBr(builder_.CreateICmpEQ(known, llvm::ConstantInt::get(i32, 0)), check, decided);
    builder_.SetInsertPoint(check);
    llvm::FunctionCallee supports = module_->getOrInsertFunction("convtune_cpu_supports", i32, ptr_, ptr_);
    llvm::Value* ok = builder_.CreateCall(supports, {builder_.CreateGlobalStringPtr(name_), builder_.CreateGlobalStringPtr(cpu_features_)});
    builder_.CreateStore(builder_.CreateSelect(builder_.CreateICmpNE(ok, llvm::ConstantInt::get(i32, 0)),
                                               llvm::ConstantInt::get(i32, 1), llvm::ConstantInt::get(i32, 2)),
                         cpu_state_);
    builder_.CreateBr(decided);
    builder_.SetInsertPoint(decided);
    llvm::Value* state = builder_.CreateLoad(i32, cpu_state_);
    builder_.CreateCondBr(builder_.CreateICmpEQ(state, llvm::ConstantInt::get(i32, 1)), go, refuse);
    builder_.SetInsertPoint(refuse);
    if (returns_status) builder_.CreateRet(llvm::ConstantInt::get(i32, kKernelCpuUnsupported));
    else builder_.CreateRetVoid();
    builder_.SetInsertPoint(go);
  }

  llvm::Value* null_pointer() { return llvm::ConstantPointerNull::get(llvm::cast<llvm::PointerType>(ptr_)); }

  /// Calls `run(args..., workspace)` with a workspace of `bytes` allocated around the call (a
  /// null one when none is needed) and returns its status, or kKernelOutOfMemory.
  void emit_workspace_call(llvm::Function* run, std::vector<llvm::Value*> args, int64_t bytes) {
    llvm::Type* i32 = llvm::Type::getInt32Ty(ctx_);
    if (bytes == 0) {
      args.push_back(llvm::ConstantPointerNull::get(llvm::cast<llvm::PointerType>(ptr_)));
      builder_.CreateRet(builder_.CreateCall(run, args));
      return;
    }
    llvm::Value* workspace = heap_alloc(bytes, "workspace");
    llvm::BasicBlock* ok = llvm::BasicBlock::Create(ctx_, "allocated", fn_);
    llvm::BasicBlock* failed = llvm::BasicBlock::Create(ctx_, "out_of_memory", fn_);
    builder_.CreateCondBr(builder_.CreateIsNull(workspace), failed, ok);
    builder_.SetInsertPoint(failed);
    builder_.CreateRet(llvm::ConstantInt::get(i32, kKernelOutOfMemory));
    builder_.SetInsertPoint(ok);
    args.push_back(workspace);
    llvm::Value* status = builder_.CreateCall(run, args);
    heap_free(workspace);
    builder_.CreateRet(status);
  }

  /// aligned_alloc of `bytes` rounded up to the ABI's alignment (which aligned_alloc requires).
  llvm::Value* heap_alloc(int64_t bytes, const std::string& name) override {
    llvm::FunctionCallee alloc = module_->getOrInsertFunction("aligned_alloc", ptr_, i64_, i64_);
    const int64_t align = KernelAbi::kWorkspaceAlign;
    const int64_t rounded = (bytes + align - 1) / align * align;
    return builder_.CreateCall(alloc, {llvm::ConstantInt::get(i64_, align), llvm::ConstantInt::get(i64_, rounded)}, name);
  }

  void heap_free(llvm::Value* p) override {
    llvm::FunctionCallee release = module_->getOrInsertFunction("free", llvm::Type::getVoidTy(ctx_), ptr_);
    builder_.CreateCall(release, {p});
  }

  /// Outlines the loop body into `void(closure, begin, end)` and hands it to the pool. The
  /// closure is a stack array of every value and buffer pointer in scope.
  void emit_parallel_loop(const For* f) override {
    llvm::Value* mn = emit(f->min);
    llvm::Value* extent = emit(f->extent);

    // Capture: the loop's min, every bound variable, every live buffer pointer.
    std::vector<std::pair<std::string, llvm::Value*>> vars(values_.begin(), values_.end());
    std::vector<std::pair<const Buffer*, llvm::Value*>> bufs(buffers_.begin(), buffers_.end());
    // By name, not by address: the same nest must give the same code in every run.
    std::sort(bufs.begin(), bufs.end(), [](const auto& a, const auto& b) { return a.first->name < b.first->name; });
    const size_t slots = 1 + vars.size() + bufs.size();
    llvm::Value* closure;
    {
      llvm::IRBuilder<> eb(entry_, entry_->begin());
      closure = eb.CreateAlloca(i64_, llvm::ConstantInt::get(i64_, slots), f->name + ".closure");
    }
    auto slot = [&](llvm::IRBuilder<>& b, llvm::Value* base, size_t i) { return b.CreateConstInBoundsGEP1_64(i64_, base, i); };
    builder_.CreateStore(mn, slot(builder_, closure, 0));
    for (size_t i = 0; i < vars.size(); ++i) builder_.CreateStore(vars[i].second, slot(builder_, closure, 1 + i));
    for (size_t i = 0; i < bufs.size(); ++i) builder_.CreateStore(bufs[i].second, slot(builder_, closure, 1 + vars.size() + i));

    // The outlined body, generated with a fresh scope.
    auto* task_type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx_), {ptr_, i64_, i64_}, false);
    llvm::Function* task = llvm::Function::Create(task_type, llvm::Function::InternalLinkage,
                                                  name_ + "." + f->name + ".par" + std::to_string(next_task_++), module_);
    task->addFnAttr(llvm::Attribute::NoUnwind);
    llvm::Function* saved_fn = fn_;
    llvm::BasicBlock* saved_entry = entry_;
    llvm::BasicBlock* saved_block = builder_.GetInsertBlock();
    auto saved_values = values_;
    auto saved_buffers = buffers_;
    begin_function(task);
    llvm::Value* env = task->getArg(0);
    llvm::Value* task_min = builder_.CreateLoad(i64_, slot(builder_, env, 0));
    for (size_t i = 0; i < vars.size(); ++i) values_[vars[i].first] = builder_.CreateLoad(i64_, slot(builder_, env, 1 + i), vars[i].first);
    for (size_t i = 0; i < bufs.size(); ++i) {
      // Each thread writes a disjoint part: the pointers keep noalias-like freedom via scope.
      buffers_[bufs[i].first] = builder_.CreateLoad(ptr_, slot(builder_, env, 1 + vars.size() + i), bufs[i].first->name);
    }
    llvm::Value* begin = builder_.CreateAdd(task_min, task->getArg(1));
    llvm::Value* end = builder_.CreateAdd(task_min, task->getArg(2));
    counted_loop(f->name, begin, end, false, loop_range(f), [&] { emit(f->body); });
    builder_.CreateRetVoid();

    fn_ = saved_fn;
    entry_ = saved_entry;
    values_ = saved_values;
    buffers_ = saved_buffers;
    builder_.SetInsertPoint(saved_block);
    llvm::FunctionCallee pfor = module_->getOrInsertFunction("convtune_parallel_for", llvm::Type::getVoidTy(ctx_), ptr_, ptr_, i64_);
    builder_.CreateCall(pfor, {task, closure, extent});
  }

private:
  std::string cpu_features_;
  llvm::GlobalVariable* cpu_state_ = nullptr;

  int next_task_ = 0;
};

} // namespace

std::unique_ptr<llvm::Module> codegen_cpu(const LoopNest& nest, const KernelAbi& abi, const std::string& cpu_features,
                                          llvm::LLVMContext& context) {
  return CodeGenCPU(context, cpu_features).run(nest, abi);
}

} // namespace convtune
