/// \file The ahead-of-time network library: kernel objects, and a driver emitted as LLVM IR that
/// walks the layers in order over the planned workspace.
#include "compiler/network_library.h"

#include <map>

#include <llvm/IR/Constants.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include "compiler/compile.h"
#include "compiler/network_layouts.h"
#include "ir/error.h"
#include "runtime/network_ops.h"
#include "targets/llvm_target.h"

namespace convtune {

namespace {

int64_t aligned(int64_t bytes) { return (bytes + 63) / 64 * 64; }

/// Where a kernel layer's constants live: in the weights the library is initialised from
/// (floats), and in the memory NET_init keeps (bytes).
struct KernelLayer {
  int kernel = -1;
  /// The input kept blocked: its packing stage is skipped, its packed temporary is the tensor.
  int skipped_stage = -1, input_temporary = -1;
  int64_t weights_at = 0, bias_at = -1;        ///< floats into the weights; -1: no bias
  int64_t packed_at = 0, packed_bytes = 0;     ///< the packed weights (or a copy) in the kept memory
  int64_t kept_bias_at = -1;
};

class DriverEmitter {
public:
  DriverEmitter(llvm::LLVMContext& ctx, const Network& net, const std::string& name, const Target& target)
      : ctx_(ctx), module_(std::make_unique<llvm::Module>(name + "_network", ctx)), b_(ctx), net_(net), name_(name),
        target_(target) {
    i64_ = llvm::Type::getInt64Ty(ctx);
    i32_ = llvm::Type::getInt32Ty(ctx);
    f32_ = llvm::Type::getFloatTy(ctx);
    ptr_ = llvm::PointerType::getUnqual(ctx);
    void_ = llvm::Type::getVoidTy(ctx);
  }

  std::unique_ptr<llvm::Module> emit(const std::vector<KernelAbi>& kernels, const std::vector<KernelLayer>& layers,
                                     const TensorLayouts& layouts, const WorkspacePlan& plan, int64_t scratch_bytes,
                                     int64_t kept_bytes, const std::vector<float>* embedded, int64_t weights_count) {
    kernels_ = &kernels;
    layers_ = &layers;
    layouts_ = &layouts;
    plan_ = &plan;
    state_ = new llvm::GlobalVariable(*module_, ptr_, false, llvm::GlobalValue::InternalLinkage, llvm::ConstantPointerNull::get(ptr_),
                                      name_ + "_state");
    constant_function(name_ + "_weights_count", weights_count);
    workspace_bytes_ = aligned(plan.workspace_bytes) + aligned(scratch_bytes);
    constant_function(name_ + "_workspace_size", workspace_bytes_);
    emit_init(embedded, kept_bytes);
    emit_run(aligned(plan.workspace_bytes));
    emit_release();
    std::string problems;
    llvm::raw_string_ostream os(problems);
    internal_check(!llvm::verifyModule(*module_, &os), "the network driver's IR is invalid: " + problems);
    return std::move(module_);
  }

private:
  llvm::Function* function(const std::string& name, llvm::Type* result, std::vector<llvm::Type*> args) {
    return llvm::Function::Create(llvm::FunctionType::get(result, args, false), llvm::Function::ExternalLinkage, name, *module_);
  }
  llvm::FunctionCallee external(const std::string& name, llvm::Type* result, std::vector<llvm::Type*> args) {
    return module_->getOrInsertFunction(name, llvm::FunctionType::get(result, args, false));
  }
  llvm::Value* i64(int64_t v) { return llvm::ConstantInt::get(i64_, uint64_t(v)); }
  llvm::Value* f32(float v) { return llvm::ConstantFP::get(f32_, double(v)); }
  llvm::Value* at_bytes(llvm::Value* base, int64_t offset) { return b_.CreateConstInBoundsGEP1_64(b_.getInt8Ty(), base, uint64_t(offset)); }

  void constant_function(const std::string& name, int64_t value) {
    llvm::Function* fn = function(name, i64_, {});
    b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", fn));
    b_.CreateRet(i64(value));
  }

  /// A private constant array of floats (nullptr for an empty one).
  llvm::Value* float_array(const std::vector<float>& values, const std::string& name) {
    if (values.empty()) return llvm::ConstantPointerNull::get(ptr_);
    llvm::Constant* data = llvm::ConstantDataArray::get(ctx_, llvm::ArrayRef<float>(values));
    auto* g = new llvm::GlobalVariable(*module_, data->getType(), true, llvm::GlobalValue::PrivateLinkage, data, name);
    g->setAlignment(llvm::Align(64));
    return g;
  }

  llvm::FunctionCallee stage_function(int kernel) { return external((*kernels_)[kernel].name + "_stage", void_, {i64_, ptr_}); }

  /// Returns `code` from the current function when `failed` holds.
  void return_if(llvm::Value* failed, int code) {
    llvm::Function* fn = b_.GetInsertBlock()->getParent();
    auto* bail = llvm::BasicBlock::Create(ctx_, "bail", fn);
    auto* go = llvm::BasicBlock::Create(ctx_, "go", fn);
    b_.CreateCondBr(failed, bail, go);
    b_.SetInsertPoint(bail);
    b_.CreateRet(b_.getInt32(code));
    b_.SetInsertPoint(go);
  }

  void emit_init(const std::vector<float>* embedded, int64_t kept_bytes) {
    llvm::Function* fn = function(name_ + "_init", i32_, {ptr_});
    b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", fn));
    llvm::Value* weights = fn->getArg(0);
    llvm::Value* is_null = b_.CreateICmpEQ(weights, llvm::ConstantPointerNull::get(ptr_));
    if (embedded) {
      weights = b_.CreateSelect(is_null, float_array(*embedded, name_ + "_embedded_weights"), weights);
    } else {
      return_if(is_null, kNetworkNoWeights);
    }
    llvm::Value* ok = b_.CreateCall(external("convtune_cpu_supports", i32_, {ptr_, ptr_}),
                                    {b_.CreateGlobalStringPtr(name_), b_.CreateGlobalStringPtr(target_.features)});
    return_if(b_.CreateICmpEQ(ok, b_.getInt32(0)), kKernelCpuUnsupported);
    llvm::FunctionCallee release = external("free", void_, {ptr_});
    b_.CreateCall(release, {b_.CreateLoad(ptr_, state_)});
    b_.CreateStore(llvm::ConstantPointerNull::get(ptr_), state_);
    llvm::Value* kept = b_.CreateCall(external("aligned_alloc", ptr_, {i64_, i64_}), {i64(64), i64(aligned(std::max<int64_t>(kept_bytes, 64)))});
    return_if(b_.CreateICmpEQ(kept, llvm::ConstantPointerNull::get(ptr_)), kKernelOutOfMemory);
    llvm::FunctionCallee copy = external("memcpy", ptr_, {ptr_, ptr_, i64_});
    llvm::Value* table = table_alloca();
    for (size_t i = 0; i < net_.layers.size(); ++i) {
      const KernelLayer& k = (*layers_)[i];
      if (k.kernel < 0) continue;
      const KernelAbi& abi = (*kernels_)[k.kernel];
      if (abi.packed_weights >= 0) {
        // Only the packing stage runs: the weights and the packed temporary are all it reads and writes.
        for (size_t p = 0; p < abi.params.size() + abi.temporaries.size(); ++p) store_entry(table, p, llvm::ConstantPointerNull::get(ptr_));
        store_entry(table, size_t(abi.weights_param), at_bytes(weights, 4 * k.weights_at));
        store_entry(table, abi.params.size() + size_t(abi.packed_weights), at_bytes(kept, k.packed_at));
        for (size_t s = 0; s < abi.stages.size(); ++s) {
          if (abi.stages[s].kind == StageKind::PackWeights) b_.CreateCall(stage_function(k.kernel), {i64(int64_t(s)), table});
        }
      } else if (abi.weights_param >= 0) {
        b_.CreateCall(copy, {at_bytes(kept, k.packed_at), at_bytes(weights, 4 * k.weights_at), i64(k.packed_bytes)});
      }
      if (k.bias_at >= 0) {
        b_.CreateCall(copy, {at_bytes(kept, k.kept_bias_at), at_bytes(weights, 4 * k.bias_at), i64(4 * net_.layers[i].wl.k)});
      }
    }
    b_.CreateStore(kept, state_);
    b_.CreateRet(b_.getInt32(kKernelOk));
  }

  llvm::Value* table_alloca() {
    size_t most = 1;
    for (const KernelAbi& abi : *kernels_) most = std::max(most, abi.params.size() + abi.temporaries.size());
    for (const NetLayer& l : net_.layers) most = std::max(most, l.inputs.size());
    return b_.CreateAlloca(ptr_, i64(int64_t(most)), "table");
  }
  void store_entry(llvm::Value* table, size_t index, llvm::Value* value) {
    b_.CreateStore(value, b_.CreateConstInBoundsGEP1_64(ptr_, table, index));
  }

  void emit_run(int64_t scratch_at) {
    llvm::Function* fn = function(name_ + "_run", i32_, {ptr_, ptr_, ptr_});
    b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", fn));
    input_ = fn->getArg(0), output_ = fn->getArg(1);
    llvm::Value* given = fn->getArg(2);
    llvm::Value* null = llvm::ConstantPointerNull::get(ptr_);
    llvm::Value* kept = b_.CreateLoad(ptr_, state_);
    return_if(b_.CreateICmpEQ(kept, null), kNetworkNotInitialised);
    llvm::Value* table = table_alloca();
    // A null workspace is allocated for the call.
    llvm::Value* own = b_.CreateICmpEQ(given, null);
    llvm::BasicBlock* from = b_.GetInsertBlock();
    auto* allocate = llvm::BasicBlock::Create(ctx_, "allocate", fn);
    auto* start = llvm::BasicBlock::Create(ctx_, "start", fn);
    b_.CreateCondBr(own, allocate, start);
    b_.SetInsertPoint(allocate);
    llvm::Value* allocated = b_.CreateCall(external("aligned_alloc", ptr_, {i64_, i64_}), {i64(64), i64(std::max<int64_t>(workspace_bytes_, 64))});
    b_.CreateBr(start);
    b_.SetInsertPoint(start);
    llvm::PHINode* workspace = b_.CreatePHI(ptr_, 2, "workspace");
    workspace->addIncoming(given, from);
    workspace->addIncoming(allocated, allocate);
    workspace_ = workspace;
    llvm::FunctionCallee release = external("free", void_, {ptr_});
    return_if(b_.CreateICmpEQ(workspace_, null), kKernelOutOfMemory);
    for (size_t i = 0; i < net_.layers.size(); ++i) {
      const KernelLayer& k = (*layers_)[i];
      if (k.kernel >= 0) emit_kernel_layer(i, k, kept, table, scratch_at);
      else emit_op_layer(i, table);
    }
    b_.CreateCall(release, {b_.CreateSelect(own, workspace_, null)});
    b_.CreateRet(b_.getInt32(kKernelOk));
  }

  llvm::Value* tensor(int t) {
    if (t == net_.input) return input_;
    if (t == net_.output) return output_;
    const int64_t offset = plan_->offset_of(t);
    internal_check(offset >= 0, "tensor '" + net_.tensors[t].name + "' has no place in the workspace");
    return at_bytes(workspace_, offset);
  }

  void emit_kernel_layer(size_t i, const KernelLayer& k, llvm::Value* kept, llvm::Value* table, int64_t scratch_at) {
    const NetLayer& l = net_.layers[i];
    const KernelAbi& abi = (*kernels_)[k.kernel];
    for (size_t p = 0; p < abi.params.size(); ++p) {
      const std::string& n = abi.params[p].name;
      llvm::Value* v = n == "input" ? tensor(l.inputs[0]) : n == "residual" ? tensor(l.inputs.at(1)) : n == "output" ? tensor(l.output)
                     : n == "bias" ? at_bytes(kept, k.kept_bias_at) : at_bytes(kept, k.packed_at);
      store_entry(table, p, v);
    }
    for (size_t t = 0; t < abi.temporaries.size(); ++t) {
      store_entry(table, abi.params.size() + t,
                  int(t) == abi.packed_weights    ? at_bytes(kept, k.packed_at)
                  : int(t) == k.input_temporary ? tensor(l.inputs[0])
                                                : at_bytes(workspace_, scratch_at + abi.temporaries[t].offset_bytes));
    }
    for (size_t s = 0; s < abi.stages.size(); ++s) {
      if (abi.stages[s].kind != StageKind::PackWeights && int(s) != k.skipped_stage) {
        b_.CreateCall(stage_function(k.kernel), {i64(int64_t(s)), table});
      }
    }
    // A blocked output: around it goes what its readers' packing would write.
    if (const std::optional<TensorLayout>& out = (*layouts_)[size_t(l.output)]) {
      const NetTensor& t = net_.tensors[size_t(l.output)];
      b_.CreateCall(external("convtune_fill_exterior", void_, {ptr_, i64_, i64_, i64_, i64_, i64_, i64_, i64_, i64_, i64_, i64_, f32_}),
                    {tensor(l.output), i64(out->shape[0]), i64(out->shape[1]), i64(out->shape[2]), i64(out->shape[3]), i64(out->block),
                     i64(out->top), i64(out->left), i64(t.c()), i64(t.h()), i64(t.w()), f32(float(out->exterior))});
    }
  }

  void emit_op_layer(size_t i, llvm::Value* table) {
    const NetLayer& l = net_.layers[i];
    const NetTensor& x = net_.tensors[l.inputs[0]];
    const NetTensor& y = net_.tensors[l.output];
    const std::string tag = name_ + "_l" + std::to_string(i);
    switch (l.kind) {
    case LayerKind::GlobalAvgPool:
      b_.CreateCall(external("convtune_global_avg_pool", void_, {i64_, i64_, ptr_, ptr_}),
                    {i64(x.n() * x.c()), i64(x.h() * x.w()), tensor(l.inputs[0]), tensor(l.output)});
      return;
    case LayerKind::Elementwise: {
      const ElementwiseCall e = elementwise_call(l, net_.tensors);
      llvm::Value* null = llvm::ConstantPointerNull::get(ptr_);
      b_.CreateCall(external("convtune_elementwise", void_, {i64_, i64_, i64_, ptr_, ptr_, ptr_, i64_, ptr_, i64_, i64_, f32_, f32_, f32_, f32_, ptr_}),
                    {i64(e.n), i64(e.c), i64(e.plane), tensor(l.inputs[0]), float_array(l.scale, tag + "_scale"),
                     float_array(l.shift, tag + "_shift"), i64(e.op), e.op ? tensor(l.inputs[1]) : null, i64(e.other_per_channel),
                     i64(e.activation), f32(e.lo), f32(e.hi), f32(e.alpha), f32(e.beta), tensor(l.output)});
      return;
    }
    case LayerKind::Concat: {
      std::vector<llvm::Constant*> channels;
      for (size_t j = 0; j < l.inputs.size(); ++j) {
        store_entry(table, j, tensor(l.inputs[j]));
        channels.push_back(llvm::ConstantInt::get(i64_, uint64_t(net_.tensors[l.inputs[j]].c())));
      }
      auto* type = llvm::ArrayType::get(i64_, channels.size());
      auto* g = new llvm::GlobalVariable(*module_, type, true, llvm::GlobalValue::PrivateLinkage, llvm::ConstantArray::get(type, channels), tag + "_channels");
      b_.CreateCall(external("convtune_concat", void_, {i64_, i64_, i64_, ptr_, ptr_, ptr_}),
                    {i64(y.n()), i64(y.h() * y.w()), i64(int64_t(l.inputs.size())), table, g, tensor(l.output)});
      return;
    }
    case LayerKind::Pad:
      b_.CreateCall(external("convtune_pad", void_, {i64_, i64_, i64_, i64_, i64_, i64_, i64_, f32_, ptr_, ptr_}),
                    {i64(x.n() * x.c()), i64(x.h()), i64(x.w()), i64(l.pad_top), i64(l.pad_left), i64(l.pad_bottom), i64(l.pad_right),
                     f32(l.pad_value), tensor(l.inputs[0]), tensor(l.output)});
      return;
    case LayerKind::Copy:
      b_.CreateCall(external("convtune_copy", void_, {i64_, ptr_, ptr_}), {i64(x.elements()), tensor(l.inputs[0]), tensor(l.output)});
      return;
    case LayerKind::ChannelShuffle:
      b_.CreateCall(external("convtune_channel_shuffle", void_, {i64_, i64_, i64_, i64_, ptr_, ptr_}),
                    {i64(x.n()), i64(l.groups), i64(x.c() / l.groups), i64(x.h() * x.w()), tensor(l.inputs[0]), tensor(l.output)});
      return;
    case LayerKind::Slice:
      b_.CreateCall(external("convtune_slice_channels", void_, {i64_, i64_, i64_, i64_, i64_, ptr_, ptr_}),
                    {i64(x.n()), i64(x.c()), i64(l.slice_begin), i64(y.c()), i64(x.h() * x.w()), tensor(l.inputs[0]), tensor(l.output)});
      return;
    case LayerKind::Conv:
    case LayerKind::Pool:
      break;
    }
    throw InternalError("internal error: the network driver has no call for layer " + l.name);
  }

  void emit_release() {
    llvm::Function* fn = function(name_ + "_release", void_, {});
    b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", fn));
    b_.CreateCall(external("free", void_, {ptr_}), {b_.CreateLoad(ptr_, state_)});
    b_.CreateStore(llvm::ConstantPointerNull::get(ptr_), state_);
    b_.CreateRetVoid();
  }

  llvm::LLVMContext& ctx_;
  std::unique_ptr<llvm::Module> module_;
  llvm::IRBuilder<> b_;
  const Network& net_;
  std::string name_;
  const Target& target_;
  llvm::Type *i64_, *i32_, *f32_, *void_;
  llvm::PointerType* ptr_;
  llvm::GlobalVariable* state_ = nullptr;
  const std::vector<KernelAbi>* kernels_ = nullptr;
  const std::vector<KernelLayer>* layers_ = nullptr;
  const TensorLayouts* layouts_ = nullptr;
  const WorkspacePlan* plan_ = nullptr;
  int64_t workspace_bytes_ = 0;
  llvm::Value *input_ = nullptr, *output_ = nullptr, *workspace_ = nullptr;
};

std::string header_text(const Network& net, const std::string& name, const Target& target, const NetworkLibrary& lib,
                        int64_t workspace_bytes, bool embedded) {
  const NetTensor& in = net.tensors[net.input];
  const NetTensor& out = net.tensors[net.output];
  std::string guard = name;
  for (char& c : guard) c = char(std::toupper(static_cast<unsigned char>(c)));
  std::string h;
  h += "/* " + name + ".h: the network '" + net.name + "' compiled by convtune for " + target.key() + ".\n";
  h += " * " + std::to_string(net.layers.size()) + " layers, " + std::to_string(lib.kernels) + " kernels; link lib" + name +
       ".a and libconvtune_rt.a (-lpthread -lm).\n";
  h += " * input '" + in.name + "': " + in.shape_text() + " f32, NCHW; output '" + out.name + "': " + out.shape_text() + " f32.\n";
  h += " * Weights: " + std::string(embedded ? "embedded (" + name + "_init(NULL)), or " : "") + "the " +
       std::to_string(lib.weights.size()) + " floats of " + name + ".weights given to " + name + "_init. */\n";
  h += "#ifndef " + guard + "_H\n#define " + guard + "_H\n\n#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  h += "#define " + guard + "_INPUT_ELEMENTS " + std::to_string(in.elements()) + "\n";
  h += "#define " + guard + "_OUTPUT_ELEMENTS " + std::to_string(out.elements()) + "\n";
  h += "#define " + guard + "_WORKSPACE_BYTES " + std::to_string(workspace_bytes) + "\n\n";
  h += "/* Return codes: 0 ok, 1 out of memory, 2 this CPU lacks the features the kernels were compiled for,\n"
       " * 3 " + name + "_run before " + name + "_init, 4 no weights given and none embedded. */\n";
  h += "int64_t " + name + "_weights_count(void);\n";
  h += "/* Packs the weights once into memory the library keeps (until " + name + "_release or the next init). */\n";
  h += "int " + name + "_init(const float* weights);\n";
  h += "int64_t " + name + "_workspace_size(void);\n";
  h += "/* One inference; a NULL workspace is allocated for the call. Re-entrant with distinct workspaces. */\n";
  h += "int " + name + "_run(const float* input, float* output, void* workspace);\n";
  h += "void " + name + "_release(void);\n\n";
  h += "/* Threads the kernels use (libconvtune_rt): 1 at start. */\nvoid convtune_set_num_threads(int threads);\n\n";
  h += "#ifdef __cplusplus\n}\n#endif\n\n#endif\n";
  return h;
}

} // namespace

NetworkLibrary compile_network_library(const Network& net, const std::string& name, const Target& target,
                                       const std::vector<ChosenSchedule>& schedules, bool embed_weights) {
  internal_check(schedules.size() == net.layers.size(), "compile_network_library: a schedule per layer");
  NetworkLibrary lib;
  std::vector<std::pair<std::string, std::string>> objects;
  std::vector<KernelAbi> kernels;
  std::map<std::string, int> kernel_of;  // by workload key and schedule
  std::vector<KernelLayer> layers(net.layers.size());
  int64_t kept = 0, scratch = 0;
  // The tensors kept blocked between kernels, as the JIT runner keeps them: planned from each
  // layer's kernel compiled dense (its input packing), then each kernel compiled for them.
  const std::vector<KernelAbi> dense = dense_abis(net, [&](size_t i) { return schedules[i].schedule; });
  const TensorLayouts layouts = plan_layouts(net, dense);
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const NetLayer& l = net.layers[i];
    lib.layer_schedules.push_back("");
    if (!l.has_kernel()) continue;
    const ChosenSchedule& chosen = schedules[i];
    lib.layer_schedules.back() = chosen.source;
    LowerOptions options;
    options.layouts = layer_layouts(net, i, dense, layouts);
    const std::string key = l.wl.key() + " " + to_json(chosen.schedule).dump() + " " + options.layouts.describe();
    if (!kernel_of.count(key)) {
      const std::string kernel_name = name + "_k" + std::to_string(kernels.size());
      const CompiledArtifact artifact =
          compile_artifact(scheduled_nest(l.wl, chosen.schedule, kernel_name, options), target, EmitKind::Object, options);
      kernel_of[key] = int(kernels.size());
      kernels.push_back(artifact.abi);
      objects.push_back({kernel_name + ".o", artifact.bytes});
      scratch = std::max(scratch, artifact.abi.workspace_bytes);
    }
    KernelLayer& k = layers[i];
    k.kernel = kernel_of[key];
    const KernelAbi& abi = kernels[k.kernel];
    if (const AbiBlocked* b = blocked_input(net, i, layouts, abi)) {
      k.skipped_stage = b->stage;
      k.input_temporary = b->temporary;
    }
    if (abi.weights_param < 0) continue;  // pooling
    k.weights_at = int64_t(lib.weights.size());
    lib.weights.insert(lib.weights.end(), l.weights.begin(), l.weights.end());
    k.packed_bytes = abi.packed_weights >= 0 ? abi.temporaries[abi.packed_weights].bytes : 4 * int64_t(l.weights.size());
    k.packed_at = kept;
    kept += aligned(k.packed_bytes);
    if (!l.bias.empty()) {
      k.bias_at = int64_t(lib.weights.size());
      lib.weights.insert(lib.weights.end(), l.bias.begin(), l.bias.end());
      k.kept_bias_at = kept;
      kept += aligned(4 * int64_t(l.bias.size()));
    }
  }
  lib.kernels = int(kernels.size());
  const WorkspacePlan plan = net.plan_workspace(storage_bytes(layouts));

  llvm::LLVMContext ctx;
  DriverEmitter emitter(ctx, net, name, target);
  std::unique_ptr<llvm::Module> driver = emitter.emit(kernels, layers, layouts, plan, scratch, kept,
                                                      embed_weights ? &lib.weights : nullptr, int64_t(lib.weights.size()));
  auto tm = make_target_machine(target);
  prepare_module(*driver, *tm);
  optimize_module(*driver, *tm, false);
  objects.push_back({name + "_network.o", emit_object(*driver, *tm)});
  lib.archive = compile_library(objects);
  lib.header = header_text(net, name, target, lib, aligned(plan.workspace_bytes) + aligned(scratch), embed_weights);
  return lib;
}

} // namespace convtune
