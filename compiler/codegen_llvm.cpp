/// \file The LLVM code generator: a visitor over the IR with a scope of values and ranges.
///
/// Layout of the module: one internal function per stage taking the buffer table's pointers,
/// then the entries of the kernel ABI (ir/kernel_abi.h): `NAME_run` over a caller's workspace,
/// the allocating `NAME`, and `NAME_stage(index, buffers)` that runs one stage alone (for
/// timing layout transforms apart). Parallel loops are outlined into `(closure, begin, end)` functions handed
/// to convtune_parallel_for. Vectorized loops are widened here, lane by lane, into LLVM vector
/// instructions (see emit_vectorized_loop), so vector code does not depend on LLVM's loop
/// vectorizer noticing the opportunity.
#include "compiler/codegen_llvm.h"

#include <algorithm>
#include <map>
#include <optional>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

#include "ir/error.h"
#include "ir/interval.h"
#include "ir/ir_visitor.h"
#include "ir/kernel_abi.h"
#include "compiler/lane_analysis.h"
#include "targets/llvm_compat.h"

namespace convtune {

namespace {

/// A value in a vectorized region: scalar (the same in every lane) or one per lane. Integers
/// that vary are kept affine: `scalar` is lane 0's value and `stride` the step per lane.
struct LaneValue {
  llvm::Value* value = nullptr;  ///< a vector of all lanes (floats, booleans) or a scalar
  int64_t stride = 0;   ///< integers: per-lane step from lane 0 (value is lane 0's)
};

class CodeGen {
public:
  explicit CodeGen(llvm::LLVMContext& ctx)
      : ctx_(ctx), builder_(ctx), i64_(llvm::Type::getInt64Ty(ctx)),
        f32_(llvm::Type::getFloatTy(ctx)), ptr_(llvm_compat::ptr_type(ctx)) {
    llvm::FastMathFlags fmf;
    fmf.setAllowReassoc();
    fmf.setAllowContract();
    builder_.setFastMathFlags(fmf);
  }

  std::unique_ptr<llvm::Module> run(const LoopNest& nest, const KernelAbi& abi) {
    auto module = std::make_unique<llvm::Module>(nest.name, ctx_);
    module_ = module.get();
    name_ = nest.name;
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
      for (size_t b = 0; b < buffers.size(); ++b) {
        llvm::Argument* arg = fn->getArg(unsigned(b));
        arg->setName(buffers[b]->name);
        arg->addAttr(llvm::Attribute::NoAlias);
        arg->addAttr(llvm::Attribute::NoCapture);
        buffers_[buffers[b].get()] = arg;
      }
      emit(stage.body);
      builder_.CreateRetVoid();
      buffers_.clear();
      stage_fns.push_back(fn);
    }

    // 2. `NAME_run(params..., workspace)`: the temporaries at their workspace offsets, the
    //    stages in order.
    llvm::Type* i32 = llvm::Type::getInt32Ty(ctx_);
    const unsigned n_params = unsigned(abi.params.size());
    std::vector<llvm::Type*> run_params(n_params + 1, ptr_);
    auto* run_type = llvm::FunctionType::get(i32, run_params, false);
    llvm::Function* run = llvm::Function::Create(run_type, llvm::Function::ExternalLinkage, nest.name + "_run", module_);
    run->addFnAttr(llvm::Attribute::NoUnwind);
    begin_function(run);
    std::vector<llvm::Value*> args;
    for (unsigned i = 0; i < n_params; ++i) {
      run->getArg(i)->setName(abi.params[i].name);
      run->getArg(i)->addAttr(llvm::Attribute::NoAlias);
      args.push_back(run->getArg(i));
    }
    run->getArg(n_params)->setName("workspace");
    for (const AbiTemporary& t : abi.temporaries) {
      args.push_back(builder_.CreateConstInBoundsGEP1_64(llvm::Type::getInt8Ty(ctx_), run->getArg(n_params),
                                                         uint64_t(t.offset_bytes), t.name));
    }
    for (llvm::Function* fn : stage_fns) builder_.CreateCall(fn, args);
    builder_.CreateRet(llvm::ConstantInt::get(i32, kKernelOk));

    // The convenience entry `NAME(params...)`: one workspace allocation per call.
    std::vector<llvm::Type*> entry_params(n_params, ptr_);
    auto* entry_type = llvm::FunctionType::get(i32, entry_params, false);
    llvm::Function* entry = llvm::Function::Create(entry_type, llvm::Function::ExternalLinkage, nest.name, module_);
    entry->addFnAttr(llvm::Attribute::NoUnwind);
    begin_function(entry);
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

private:
  void begin_function(llvm::Function* fn) {
    fn_ = fn;
    entry_ = llvm::BasicBlock::Create(ctx_, "entry", fn);
    builder_.SetInsertPoint(entry_);
  }

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
  llvm::Value* heap_alloc(int64_t bytes, const std::string& name) {
    llvm::FunctionCallee alloc = module_->getOrInsertFunction("aligned_alloc", ptr_, i64_, i64_);
    const int64_t align = KernelAbi::kWorkspaceAlign;
    const int64_t rounded = (bytes + align - 1) / align * align;
    return builder_.CreateCall(alloc, {llvm::ConstantInt::get(i64_, align), llvm::ConstantInt::get(i64_, rounded)}, name);
  }
  void heap_free(llvm::Value* p) {
    llvm::FunctionCallee release = module_->getOrInsertFunction("free", llvm::Type::getVoidTy(ctx_), ptr_);
    builder_.CreateCall(release, {p});
  }

  // ---- scalar expressions -----------------------------------------------------------------

  llvm::Value* emit(const Expr& e) {
    switch (e.kind()) {
    case NodeKind::IntImm: return llvm::ConstantInt::get(i64_, e.as<IntImm>()->value, true);
    case NodeKind::FloatImm: return llvm::ConstantFP::get(f32_, e.as<FloatImm>()->value);
    case NodeKind::Var: return lookup(e.as<Var>()->name);
    case NodeKind::Binary: {
      const Binary* b = e.as<Binary>();
      return binary(b, emit(b->a), emit(b->b));
    }
    case NodeKind::Compare: {
      const Compare* c = e.as<Compare>();
      return compare(c->op, c->a.type() == ScalarType::Float, emit(c->a), emit(c->b));
    }
    case NodeKind::Logical: {
      const Logical* l = e.as<Logical>();
      llvm::Value *a = emit(l->a), *b = emit(l->b);
      return l->op == LogicalOp::And ? builder_.CreateAnd(a, b) : builder_.CreateOr(a, b);
    }
    case NodeKind::Not: return builder_.CreateNot(emit(e.as<Not>()->a));
    case NodeKind::Select: {
      const Select* s = e.as<Select>();
      llvm::Value* c = emit(s->cond);
      return builder_.CreateSelect(c, emit(s->true_value), emit(s->false_value));
    }
    case NodeKind::Load: {
      const Load* l = e.as<Load>();
      return builder_.CreateLoad(f32_, address(*l->buffer, flat_index(*l->buffer, l->indices)), l->buffer->name);
    }
    default: throw InternalError("codegen: statement kind in an expression");
    }
  }

  llvm::Value* lookup(const std::string& name) {
    auto it = values_.find(name);
    internal_check(it != values_.end(), "codegen: unbound variable " + name);
    return it->second;
  }

  /// A binary op on scalars or on vectors of the same shape.
  llvm::Value* binary(const Binary* b, llvm::Value* x, llvm::Value* y) {
    if (b->type == ScalarType::Float) {
      switch (b->op) {
      case BinaryOp::Add: return builder_.CreateFAdd(x, y);
      case BinaryOp::Sub: return builder_.CreateFSub(x, y);
      case BinaryOp::Mul: return builder_.CreateFMul(x, y);
      case BinaryOp::Div: return builder_.CreateFDiv(x, y);
      case BinaryOp::Min: return builder_.CreateBinaryIntrinsic(llvm::Intrinsic::minnum, x, y);
      case BinaryOp::Max: return builder_.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, x, y);
      case BinaryOp::Mod: break;
      }
      throw InternalError("codegen: float modulo");
    }
    switch (b->op) {
    case BinaryOp::Add: return builder_.CreateAdd(x, y, "", false, true);
    case BinaryOp::Sub: return builder_.CreateSub(x, y, "", false, true);
    case BinaryOp::Mul: return builder_.CreateMul(x, y, "", false, true);
    case BinaryOp::Min: return builder_.CreateSelect(builder_.CreateICmpSLT(x, y), x, y);
    case BinaryOp::Max: return builder_.CreateSelect(builder_.CreateICmpSGT(x, y), x, y);
    case BinaryOp::Div:
    case BinaryOp::Mod: return floor_div_mod(b, x, y);
    }
    throw InternalError("codegen: unknown binary op");
  }

  /// Floor division and modulo. When the dividend is non-negative and the divisor positive,
  /// truncation equals flooring and the plain signed ops suffice.
  llvm::Value* floor_div_mod(const Binary* b, llvm::Value* x, llvm::Value* y) {
    const bool is_div = b->op == BinaryOp::Div;
    Interval xa = bounds_of(b->a, ranges_), yb = bounds_of(b->b, ranges_);
    if (xa.lo >= 0 && yb.lo > 0) return is_div ? builder_.CreateSDiv(x, y) : builder_.CreateSRem(x, y);
    llvm::Value* q = builder_.CreateSDiv(x, y);
    llvm::Value* r = builder_.CreateSRem(x, y);
    llvm::Value* zero = llvm::Constant::getNullValue(x->getType());
    // The remainder has the dividend's sign; flooring fixes it when the signs differ.
    llvm::Value* fix = builder_.CreateAnd(builder_.CreateICmpNE(r, zero),
                                          builder_.CreateICmpNE(builder_.CreateICmpSLT(r, zero),
                                                                builder_.CreateICmpSLT(y, zero)));
    if (is_div) return builder_.CreateSub(q, builder_.CreateZExt(fix, q->getType()));
    return builder_.CreateAdd(r, builder_.CreateSelect(fix, y, zero));
  }

  llvm::Value* compare(CompareOp op, bool is_float, llvm::Value* x, llvm::Value* y) {
    if (is_float) {
      switch (op) {
      case CompareOp::EQ: return builder_.CreateFCmpOEQ(x, y);
      case CompareOp::NE: return builder_.CreateFCmpUNE(x, y);
      case CompareOp::LT: return builder_.CreateFCmpOLT(x, y);
      case CompareOp::LE: return builder_.CreateFCmpOLE(x, y);
      case CompareOp::GT: return builder_.CreateFCmpOGT(x, y);
      case CompareOp::GE: return builder_.CreateFCmpOGE(x, y);
      }
    }
    switch (op) {
    case CompareOp::EQ: return builder_.CreateICmpEQ(x, y);
    case CompareOp::NE: return builder_.CreateICmpNE(x, y);
    case CompareOp::LT: return builder_.CreateICmpSLT(x, y);
    case CompareOp::LE: return builder_.CreateICmpSLE(x, y);
    case CompareOp::GT: return builder_.CreateICmpSGT(x, y);
    case CompareOp::GE: return builder_.CreateICmpSGE(x, y);
    }
    throw InternalError("codegen: unknown comparison");
  }

  /// The row-major flat index of buffer[indices], each index emitted by `emit_index`.
  template <class F>
  llvm::Value* fold_flat(const Buffer& b, const std::vector<Expr>& indices, F&& emit_index) {
    llvm::Value* flat = nullptr;
    for (size_t d = 0; d < indices.size(); ++d) {
      llvm::Value* i = emit_index(indices[d]);
      flat = flat ? builder_.CreateAdd(builder_.CreateMul(flat, llvm::ConstantInt::get(i64_, b.shape[d]), "", false, true), i, "", false, true)
                  : i;
    }
    return flat;
  }

  /// The row-major flat index of buffer[indices] (scalar).
  llvm::Value* flat_index(const Buffer& b, const std::vector<Expr>& indices) {
    return fold_flat(b, indices, [&](const Expr& i) { return emit(i); });
  }

  llvm::Value* address(const Buffer& b, llvm::Value* flat) {
    auto it = buffers_.find(&b);
    internal_check(it != buffers_.end(), "codegen: buffer " + b.name + " is not allocated");
    return builder_.CreateInBoundsGEP(f32_, it->second, flat);
  }

  // ---- vector expressions (inside a vectorized loop) ----------------------------------------

  llvm::Value* splat(llvm::Value* v) {
    return v->getType()->isVectorTy() ? v : builder_.CreateVectorSplat(unsigned(lanes_.lanes), v);
  }

  /// An integer LaneValue as a vector of its lanes.
  llvm::Value* int_lanes(const LaneValue& v) {
    llvm::Value* base = splat(v.value);
    if (v.stride == 0) return base;
    std::vector<llvm::Constant*> steps;
    for (int l = 0; l < lanes_.lanes; ++l) steps.push_back(llvm::ConstantInt::get(i64_, v.stride * l));
    return builder_.CreateAdd(base, llvm::ConstantVector::get(steps));
  }

  LaneValue emit_lanes(const Expr& e) {
    if (uniform(e, lanes_)) return {emit(e), 0};
    switch (e.kind()) {
    case NodeKind::Var: {
      const std::string& n = e.as<Var>()->name;
      return {lookup(n), lanes_.strides.at(n)};
    }
    case NodeKind::Binary: {
      const Binary* b = e.as<Binary>();
      LaneValue x = emit_lanes(b->a), y = emit_lanes(b->b);
      if (b->type == ScalarType::Int) {
        // Affine by construction (checked before widening): lane 0's value and a stride.
        auto s = lane_stride(e, lanes_);
        internal_check(s.has_value(), "codegen: non-affine integer in a vectorized loop");
        return {binary(b, x.value, y.value), *s};
      }
      return {binary(b, splat(x.value), splat(y.value)), 0};
    }
    case NodeKind::Compare: {
      const Compare* c = e.as<Compare>();
      LaneValue x = emit_lanes(c->a), y = emit_lanes(c->b);
      const bool is_float = c->a.type() == ScalarType::Float;
      llvm::Value* xv = is_float ? splat(x.value) : int_lanes(x);
      llvm::Value* yv = is_float ? splat(y.value) : int_lanes(y);
      return {compare(c->op, is_float, xv, yv), 0};
    }
    case NodeKind::Logical: {
      const Logical* l = e.as<Logical>();
      llvm::Value *a = splat(emit_lanes(l->a).value), *b = splat(emit_lanes(l->b).value);
      return {l->op == LogicalOp::And ? builder_.CreateAnd(a, b) : builder_.CreateOr(a, b), 0};
    }
    case NodeKind::Not: return {builder_.CreateNot(splat(emit_lanes(e.as<Not>()->a).value)), 0};
    case NodeKind::Select: {
      const Select* s = e.as<Select>();
      LaneValue c = emit_lanes(s->cond), t = emit_lanes(s->true_value), f = emit_lanes(s->false_value);
      if (s->type == ScalarType::Int) {
        internal_check(!c.value->getType()->isVectorTy() && t.stride == f.stride, "codegen: varying integer select");
        return {builder_.CreateSelect(c.value, t.value, f.value), t.stride};
      }
      return {builder_.CreateSelect(splat(c.value), splat(t.value), splat(f.value)), 0};
    }
    case NodeKind::Load: {
      const Load* l = e.as<Load>();
      return {load_lanes(*l->buffer, l->indices), 0};
    }
    default: throw InternalError("codegen: unexpected varying expression");
    }
  }

  /// Lane 0's flat index and the per-lane stride of buffer[indices].
  std::pair<llvm::Value*, int64_t> flat_lanes(const Buffer& b, const std::vector<Expr>& indices) {
    bool affine = true;
    int64_t stride = flat_stride(b, indices, lanes_, affine);
    internal_check(affine, "codegen: non-affine access in a vectorized loop");
    return {fold_flat(b, indices, [&](const Expr& i) { return emit_lanes(i).value; }), stride};
  }

  llvm::Type* vec_type() { return llvm::FixedVectorType::get(f32_, unsigned(lanes_.lanes)); }

  /// Contiguous lanes are one vector load; a uniform address is a broadcast; other strides
  /// gather lane by lane.
  llvm::Value* load_lanes(const Buffer& b, const std::vector<Expr>& indices) {
    auto [flat, stride] = flat_lanes(b, indices);
    if (stride == 1) return builder_.CreateAlignedLoad(vec_type(), address(b, flat), llvm::Align(4), b.name);
    if (stride == 0) return splat(builder_.CreateLoad(f32_, address(b, flat), b.name));
    llvm::Value* v = llvm::PoisonValue::get(vec_type());
    for (int l = 0; l < lanes_.lanes; ++l) {
      llvm::Value* idx = builder_.CreateAdd(flat, llvm::ConstantInt::get(i64_, stride * l));
      v = builder_.CreateInsertElement(v, builder_.CreateLoad(f32_, address(b, idx)), uint64_t(l));
    }
    return v;
  }

  void store_lanes(const Store* st) {
    llvm::Value* value = splat(emit_lanes(st->value).value);
    auto [flat, stride] = flat_lanes(*st->buffer, st->indices);
    if (stride == 1) {
      llvm::Value* addr = address(*st->buffer, flat);
      if (st->accumulate) value = builder_.CreateFAdd(builder_.CreateAlignedLoad(vec_type(), addr, llvm::Align(4)), value);
      builder_.CreateAlignedStore(value, addr, llvm::Align(4));
      return;
    }
    for (int l = 0; l < lanes_.lanes; ++l) {
      llvm::Value* addr = address(*st->buffer, builder_.CreateAdd(flat, llvm::ConstantInt::get(i64_, stride * l)));
      llvm::Value* lane = builder_.CreateExtractElement(value, uint64_t(l));
      if (st->accumulate) lane = builder_.CreateFAdd(builder_.CreateLoad(f32_, addr), lane);
      builder_.CreateStore(lane, addr);
    }
  }

  // ---- statements -------------------------------------------------------------------------

  void emit(const Stmt& s) {
    switch (s.kind()) {
    case NodeKind::For: return emit_for(s.as<For>());
    case NodeKind::Store: {
      const Store* st = s.as<Store>();
      if (lanes_.lanes > 0) return store_lanes(st);
      llvm::Value* value = emit(st->value);
      llvm::Value* addr = address(*st->buffer, flat_index(*st->buffer, st->indices));
      if (st->accumulate) value = builder_.CreateFAdd(builder_.CreateLoad(f32_, addr), value);
      builder_.CreateStore(value, addr);
      return;
    }
    case NodeKind::Allocate: return emit_allocate(s.as<Allocate>());
    case NodeKind::IfThenElse: return emit_if(s.as<IfThenElse>());
    case NodeKind::Block:
      for (const Stmt& x : s.as<Block>()->stmts) emit(x);
      return;
    case NodeKind::LetStmt: {
      const LetStmt* l = s.as<LetStmt>();
      if (lanes_.lanes > 0 && !uniform(l->value, lanes_)) {
        LaneValue v = emit_lanes(l->value);
        lanes_.strides[l->name] = v.stride;
        bind(l->name, v.value, Interval::everything(), [&] { emit(l->body); });
        lanes_.strides.erase(l->name);
        return;
      }
      llvm::Value* v = emit(l->value);
      v->setName(l->name);
      bind(l->name, v, bounds_of(l->value, ranges_), [&] { emit(l->body); });
      return;
    }
    default: throw InternalError("codegen: expression kind in a statement");
    }
  }

  template <class F> void bind(const std::string& name, llvm::Value* v, Interval range, F&& body) {
    internal_check(!values_.count(name), "codegen: '" + name + "' rebound");
    values_[name] = v;
    ranges_[name] = range;
    body();
    values_.erase(name);
    ranges_.erase(name);
  }

  void emit_for(const For* f) {
    switch (f->for_kind) {
    case ForKind::Serial: return emit_serial_loop(f);
    case ForKind::Unrolled: return emit_unrolled_loop(f);
    case ForKind::Parallel:
      // can_widen keeps parallel and vectorized loops out of a widened body.
      internal_check(lanes_.lanes == 0, "codegen: parallel loop '" + f->name + "' inside a widened body");
      return emit_parallel_loop(f);
    case ForKind::Vectorized: return emit_vectorized_loop(f);
    default:
      throw UserError("loop '" + f->name + "' is bound to " + to_string(f->for_kind) +
                      ", which the cpu target cannot run");
    }
  }

  Interval loop_range(const For* f) {
    Interval mn = bounds_of(f->min, ranges_), ext = bounds_of(f->extent, ranges_);
    Interval r = Interval::everything();
    r.lo = mn.lo;
    if (mn.has_upper() && ext.has_upper()) r.hi = mn.hi + ext.hi - 1;
    return r;
  }

  /// A counted loop from `begin` to `end` binding `name` to begin + i; rotated form.
  template <class F>
  void counted_loop(const std::string& name, llvm::Value* begin, llvm::Value* end, bool known_nonempty,
                    Interval range, F&& body_fn) {
    llvm::BasicBlock* pre = builder_.GetInsertBlock();
    llvm::BasicBlock* body = llvm::BasicBlock::Create(ctx_, name + ".body", fn_);
    llvm::BasicBlock* exit = llvm::BasicBlock::Create(ctx_, name + ".exit", fn_);
    if (known_nonempty) {
      builder_.CreateBr(body);
    } else {
      builder_.CreateCondBr(builder_.CreateICmpSLT(begin, end), body, exit);
    }
    builder_.SetInsertPoint(body);
    llvm::PHINode* i = builder_.CreatePHI(i64_, 2, name);
    i->addIncoming(begin, pre);
    bind(name, i, range, body_fn);
    llvm::Value* next = builder_.CreateAdd(i, llvm::ConstantInt::get(i64_, 1), name + ".next", false, true);
    i->addIncoming(next, builder_.GetInsertBlock());
    builder_.CreateCondBr(builder_.CreateICmpSLT(next, end), body, exit);
    builder_.SetInsertPoint(exit);
  }

  void emit_serial_loop(const For* f) {
    llvm::Value* mn = emit(f->min);
    llvm::Value* end = builder_.CreateAdd(mn, emit(f->extent), f->name + ".end", false, true);
    counted_loop(f->name, mn, end, bounds_of(f->extent, ranges_).lo > 0, loop_range(f), [&] { emit(f->body); });
  }

  void emit_unrolled_loop(const For* f) { emit_copies(f, constant_extent(f)); }

  /// A loop's extent, which unrolling and vectorizing need to know (their primitives check it).
  int64_t constant_extent(const For* f) {
    const Interval i = bounds_of(f->extent, ranges_);  // the ranges in scope may pin it
    if (!i.is_point() || i.lo < 1) {
      throw InternalError(std::string("codegen: ") + to_string(f->for_kind) + " loop '" + f->name +
                          "' has a non-constant extent");
    }
    return i.lo;
  }

  /// Widens the body over the loop's lanes when it allows; otherwise runs each lane as an
  /// unrolled copy (still correct, and LLVM's SLP vectorizer may pack the copies).
  void emit_vectorized_loop(const For* f) {
    const int64_t lanes = constant_extent(f);
    LaneInfo info;
    info.lanes = int(lanes);
    info.strides[f->name] = 1;
    internal_check(lanes_.lanes == 0, "codegen: vectorized loop '" + f->name + "' inside a widened body");
    if (lanes == 1 || !can_widen(f->body, info)) return emit_copies(f, lanes);
    lanes_ = info;
    Interval range = loop_range(f);
    bind(f->name, emit(f->min), range, [&] { emit(f->body); });
    lanes_ = LaneInfo();
  }

  /// One copy of the body per iteration, the variable bound to min + i (a constant when min is).
  void emit_copies(const For* f, int64_t extent) {
    llvm::Value* mn = emit(f->min);
    Interval base = bounds_of(f->min, ranges_);
    for (int64_t v = 0; v < extent; ++v) {
      llvm::Value* value = builder_.CreateAdd(mn, llvm::ConstantInt::get(i64_, v), f->name, false, true);
      Interval r = base;
      if (r.has_lower()) r.lo += v;
      if (r.has_upper()) r.hi += v;
      bind(f->name, value, r, [&] { emit(f->body); });
    }
  }

  /// Outlines the loop body into `void(closure, begin, end)` and hands it to the pool. The
  /// closure is a stack array of every value and buffer pointer in scope.
  void emit_parallel_loop(const For* f) {
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

  void emit_allocate(const Allocate* a) {
    const Buffer& b = *a->buffer;
    llvm::Value* base = nullptr;
    switch (b.scope) {
    case MemoryScope::Stack: {
      // Allocas go to the entry block so LLVM can promote them to registers.
      llvm::IRBuilder<> entry_builder(entry_, entry_->begin());
      auto* alloca = entry_builder.CreateAlloca(llvm::ArrayType::get(f32_, uint64_t(b.elements())), nullptr, b.name);
      alloca->setAlignment(llvm::Align(64));
      base = alloca;
      break;
    }
    case MemoryScope::Heap: base = heap_alloc(b.elements() * int64_t(sizeof(float)), b.name); break;
    default:
      throw UserError("buffer '" + b.name + "' lives in GPU shared memory, which the cpu target has not");
    }
    buffers_[&b] = base;
    emit(a->body);
    buffers_.erase(&b);
    if (b.scope == MemoryScope::Heap) heap_free(base);
  }

  void emit_if(const IfThenElse* op) {
    llvm::Value* cond = emit(op->cond);
    llvm::BasicBlock* then_bb = llvm::BasicBlock::Create(ctx_, "then", fn_);
    llvm::BasicBlock* else_bb = op->else_case.defined() ? llvm::BasicBlock::Create(ctx_, "else", fn_) : nullptr;
    llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx_, "endif", fn_);
    builder_.CreateCondBr(cond, then_bb, else_bb ? else_bb : done);
    VarRanges outer = ranges_;
    builder_.SetInsertPoint(then_bb);
    ranges_ = assume(op->cond, outer);
    emit(op->then_case);
    ranges_ = outer;
    builder_.CreateBr(done);
    if (else_bb) {
      builder_.SetInsertPoint(else_bb);
      emit(op->else_case);
      builder_.CreateBr(done);
    }
    builder_.SetInsertPoint(done);
  }

  llvm::LLVMContext& ctx_;
  llvm::IRBuilder<> builder_;
  llvm::Type* i64_;
  llvm::Type* f32_;
  llvm::Type* ptr_;
  llvm::Module* module_ = nullptr;
  std::string name_;
  llvm::Function* fn_ = nullptr;
  llvm::BasicBlock* entry_ = nullptr;
  std::map<std::string, llvm::Value*> values_;
  VarRanges ranges_;
  std::map<const Buffer*, llvm::Value*> buffers_;
  LaneInfo lanes_;
  int next_task_ = 0;
};

} // namespace

std::unique_ptr<llvm::Module> codegen_llvm(const LoopNest& nest, const KernelAbi& abi, const Target& target,
                                           llvm::LLVMContext& context) {
  internal_check(target.kind == TargetKind::Cpu, "codegen_llvm: only CPU targets so far");
  return CodeGen(context).run(nest, abi);
}

} // namespace convtune
