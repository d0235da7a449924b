/// \file The LLVM code generator: a visitor over the IR with a scope of values and ranges.
#include "compiler/codegen_llvm.h"

#include <map>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

#include "ir/error.h"
#include "ir/interval.h"
#include "targets/llvm_compat.h"

namespace convtune {

namespace {

class CodeGen {
public:
  CodeGen(llvm::LLVMContext& ctx, const Target& target)
      : ctx_(ctx), builder_(ctx), target_(target), i64_(llvm::Type::getInt64Ty(ctx)),
        f32_(llvm::Type::getFloatTy(ctx)) {
    llvm::FastMathFlags fmf;
    fmf.setAllowReassoc();
    fmf.setAllowContract();
    builder_.setFastMathFlags(fmf);
  }

  std::unique_ptr<llvm::Module> run(const LoopNest& nest) {
    auto module = std::make_unique<llvm::Module>(nest.name, ctx_);
    module_ = module.get();
    llvm::Type* ptr = llvm_compat::ptr_type(ctx_);
    auto* fn_type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx_), {ptr, ptr, ptr}, false);
    fn_ = llvm::Function::Create(fn_type, llvm::Function::ExternalLinkage, nest.name, module_);
    fn_->addFnAttr(llvm::Attribute::NoUnwind);
    const BufferRef params[] = {nest.input, nest.weights, nest.output};
    for (unsigned i = 0; i < 3; ++i) {
      llvm::Argument* arg = fn_->getArg(i);
      arg->setName(params[i]->name);
      arg->addAttr(llvm::Attribute::NoAlias);
      arg->addAttr(llvm::Attribute::NoCapture);
      if (i < 2) arg->addAttr(llvm::Attribute::ReadOnly);
      buffers_[params[i].get()] = arg;
    }
    entry_ = llvm::BasicBlock::Create(ctx_, "entry", fn_);
    builder_.SetInsertPoint(entry_);
    emit(nest.body);
    builder_.CreateRetVoid();
    return module;
  }

private:
  // ---- expressions ----------------------------------------------------------------------

  llvm::Value* emit(const Expr& e) {
    switch (e.kind()) {
    case NodeKind::IntImm: return llvm::ConstantInt::get(i64_, e.as<IntImm>()->value, true);
    case NodeKind::FloatImm: return llvm::ConstantFP::get(f32_, e.as<FloatImm>()->value);
    case NodeKind::Var: {
      auto it = values_.find(e.as<Var>()->name);
      internal_check(it != values_.end(), "codegen: unbound variable " + e.as<Var>()->name);
      return it->second;
    }
    case NodeKind::Binary: return emit_binary(e.as<Binary>());
    case NodeKind::Compare: return emit_compare(e.as<Compare>());
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
      return builder_.CreateLoad(f32_, address(*l->buffer, l->indices), l->buffer->name);
    }
    default: throw InternalError("codegen: statement kind in an expression");
    }
  }

  llvm::Value* emit_binary(const Binary* b) {
    llvm::Value *x = emit(b->a), *y = emit(b->b);
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
    case BinaryOp::Mod: return emit_floor_div_mod(b, x, y);
    }
    throw InternalError("codegen: unknown binary op");
  }

  /// Floor division and modulo. When the dividend is non-negative and the divisor positive,
  /// truncation equals flooring and the plain signed ops suffice.
  llvm::Value* emit_floor_div_mod(const Binary* b, llvm::Value* x, llvm::Value* y) {
    const bool is_div = b->op == BinaryOp::Div;
    Interval xa = bounds_of(b->a, ranges_), yb = bounds_of(b->b, ranges_);
    if (xa.lo >= 0 && yb.lo > 0) return is_div ? builder_.CreateSDiv(x, y) : builder_.CreateSRem(x, y);
    llvm::Value* q = builder_.CreateSDiv(x, y);
    llvm::Value* r = builder_.CreateSRem(x, y);
    llvm::Value* zero = llvm::ConstantInt::get(i64_, 0);
    // The remainder has the dividend's sign; flooring fixes it when the signs differ.
    llvm::Value* fix = builder_.CreateAnd(builder_.CreateICmpNE(r, zero),
                                          builder_.CreateICmpNE(builder_.CreateICmpSLT(r, zero),
                                                                builder_.CreateICmpSLT(y, zero)));
    if (is_div) return builder_.CreateSub(q, builder_.CreateZExt(fix, i64_));
    return builder_.CreateAdd(r, builder_.CreateSelect(fix, y, zero));
  }

  llvm::Value* emit_compare(const Compare* c) {
    llvm::Value *x = emit(c->a), *y = emit(c->b);
    if (c->a.type() == ScalarType::Float) {
      switch (c->op) {
      case CompareOp::EQ: return builder_.CreateFCmpOEQ(x, y);
      case CompareOp::NE: return builder_.CreateFCmpUNE(x, y);
      case CompareOp::LT: return builder_.CreateFCmpOLT(x, y);
      case CompareOp::LE: return builder_.CreateFCmpOLE(x, y);
      case CompareOp::GT: return builder_.CreateFCmpOGT(x, y);
      case CompareOp::GE: return builder_.CreateFCmpOGE(x, y);
      }
    }
    switch (c->op) {
    case CompareOp::EQ: return builder_.CreateICmpEQ(x, y);
    case CompareOp::NE: return builder_.CreateICmpNE(x, y);
    case CompareOp::LT: return builder_.CreateICmpSLT(x, y);
    case CompareOp::LE: return builder_.CreateICmpSLE(x, y);
    case CompareOp::GT: return builder_.CreateICmpSGT(x, y);
    case CompareOp::GE: return builder_.CreateICmpSGE(x, y);
    }
    throw InternalError("codegen: unknown comparison");
  }

  /// The address of buffer[indices] in a dense row-major layout.
  llvm::Value* address(const Buffer& b, const std::vector<Expr>& indices) {
    auto it = buffers_.find(&b);
    internal_check(it != buffers_.end(), "codegen: buffer " + b.name + " is not allocated");
    llvm::Value* flat = nullptr;
    for (size_t d = 0; d < indices.size(); ++d) {
      llvm::Value* i = emit(indices[d]);
      flat = flat ? builder_.CreateAdd(builder_.CreateMul(flat, llvm::ConstantInt::get(i64_, b.shape[d]), "", false, true), i, "", false, true)
                  : i;
    }
    return builder_.CreateInBoundsGEP(f32_, it->second, flat);
  }

  // ---- statements -----------------------------------------------------------------------

  void emit(const Stmt& s) {
    switch (s.kind()) {
    case NodeKind::For: return emit_for(s.as<For>());
    case NodeKind::Store: {
      const Store* st = s.as<Store>();
      llvm::Value* value = emit(st->value);
      llvm::Value* addr = address(*st->buffer, st->indices);
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
    case ForKind::Vectorized:
      throw UserError("loop '" + f->name + "' is " + to_string(f->for_kind) +
                      ", which this code generator does not emit yet");
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

  void emit_serial_loop(const For* f) {
    llvm::Value* mn = emit(f->min);
    llvm::Value* end = builder_.CreateAdd(mn, emit(f->extent), f->name + ".end", false, true);
    llvm::BasicBlock* pre = builder_.GetInsertBlock();
    llvm::BasicBlock* body = llvm::BasicBlock::Create(ctx_, f->name + ".body", fn_);
    llvm::BasicBlock* exit = llvm::BasicBlock::Create(ctx_, f->name + ".exit", fn_);
    // Rotated form: one guard before the loop, the exit test at the bottom.
    Interval ext = bounds_of(f->extent, ranges_);
    if (ext.lo > 0) {
      builder_.CreateBr(body);
    } else {
      builder_.CreateCondBr(builder_.CreateICmpSLT(mn, end), body, exit);
    }
    builder_.SetInsertPoint(body);
    llvm::PHINode* i = builder_.CreatePHI(i64_, 2, f->name);
    i->addIncoming(mn, pre);
    bind(f->name, i, loop_range(f), [&] { emit(f->body); });
    llvm::Value* next = builder_.CreateAdd(i, llvm::ConstantInt::get(i64_, 1), f->name + ".next", false, true);
    i->addIncoming(next, builder_.GetInsertBlock());
    builder_.CreateCondBr(builder_.CreateICmpSLT(next, end), body, exit);
    builder_.SetInsertPoint(exit);
  }

  void emit_unrolled_loop(const For* f) {
    int64_t mn = 0, ext = 0;
    if (!constant_value(f->min, mn) || !constant_value(f->extent, ext)) {
      throw InternalError("codegen: unrolled loop '" + f->name + "' has a non-constant range");
    }
    for (int64_t v = mn; v < mn + ext; ++v) {
      bind(f->name, llvm::ConstantInt::get(i64_, v), Interval::point(v), [&] { emit(f->body); });
    }
  }

  void emit_allocate(const Allocate* a) {
    const Buffer& b = *a->buffer;
    llvm::Value* base = nullptr;
    switch (b.scope) {
    case MemoryScope::Stack: {
      // Allocas go to the entry block so LLVM can promote them to registers.
      llvm::IRBuilder<> entry_builder(entry_, entry_->begin());
      auto* alloca = entry_builder.CreateAlloca(llvm::ArrayType::get(f32_, b.elements()), nullptr, b.name);
      alloca->setAlignment(llvm::Align(64));
      base = alloca;
      break;
    }
    case MemoryScope::Heap: {
      llvm::FunctionCallee alloc = module_->getOrInsertFunction(
          "aligned_alloc", llvm_compat::ptr_type(ctx_), i64_, i64_);
      int64_t bytes = (b.elements() * 4 + 63) / 64 * 64;
      base = builder_.CreateCall(alloc, {llvm::ConstantInt::get(i64_, 64), llvm::ConstantInt::get(i64_, bytes)}, b.name);
      break;
    }
    default:
      throw UserError("buffer '" + b.name + "' lives in GPU shared memory, which the cpu target has not");
    }
    buffers_[&b] = base;
    emit(a->body);
    buffers_.erase(&b);
    if (b.scope == MemoryScope::Heap) {
      llvm::FunctionCallee release = module_->getOrInsertFunction(
          "free", llvm::Type::getVoidTy(ctx_), llvm_compat::ptr_type(ctx_));
      builder_.CreateCall(release, {base});
    }
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
  const Target& target_;
  llvm::Type* i64_;
  llvm::Type* f32_;
  llvm::Module* module_ = nullptr;
  llvm::Function* fn_ = nullptr;
  llvm::BasicBlock* entry_ = nullptr;
  std::map<std::string, llvm::Value*> values_;
  VarRanges ranges_;
  std::map<const Buffer*, llvm::Value*> buffers_;
};

} // namespace

std::unique_ptr<llvm::Module> codegen_llvm(const LoopNest& nest, const Target& target,
                                           llvm::LLVMContext& context) {
  internal_check(target.kind == TargetKind::Cpu, "codegen_llvm: only CPU targets so far");
  return CodeGen(context, target).run(nest);
}

} // namespace convtune
