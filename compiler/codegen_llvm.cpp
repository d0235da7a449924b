/// \file The target-independent half of code generation (see the header).
#include "compiler/codegen_llvm.h"

#include <functional>

#include <llvm/IR/Intrinsics.h>

#include "ir/error.h"
#include "ir/ir_visitor.h"
#include "targets/llvm_compat.h"

namespace convtune {

CodeGenLLVM::CodeGenLLVM(llvm::LLVMContext& ctx)
    : ctx_(ctx), builder_(ctx), i64_(llvm::Type::getInt64Ty(ctx)), f32_(llvm::Type::getFloatTy(ctx)),
      i32_(llvm::Type::getInt32Ty(ctx)),
      ptr_(llvm_compat::ptr_type(ctx)) {
  llvm::FastMathFlags fmf;
  fmf.setAllowReassoc();
  fmf.setAllowContract();
  builder_.setFastMathFlags(fmf);
}

void CodeGenLLVM::emit_gpu_loop(const For* f) {
  throw UserError("loop '" + f->name + "' is bound to " + to_string(f->for_kind) + ", which the cpu target cannot run");
}

llvm::Value* CodeGenLLVM::shared_alloc(const Buffer& b) {
  throw UserError("buffer '" + b.name + "' lives in GPU shared memory, which the cpu target has not");
}

void CodeGenLLVM::emit_barrier() { throw UserError("a GPU barrier is in the nest, which the cpu target cannot run"); }

void CodeGenLLVM::begin_function(llvm::Function* fn) {
  fn_ = fn;
  entry_ = llvm::BasicBlock::Create(ctx_, "entry", fn);
  builder_.SetInsertPoint(entry_);
}

void CodeGenLLVM::bind_buffer_arguments(llvm::Function* fn, const std::vector<BufferRef>& buffers) {
  for (size_t b = 0; b < buffers.size(); ++b) {
    llvm::Argument* arg = fn->getArg(unsigned(b));
    arg->setName(buffers[b]->name);
    arg->addAttr(llvm::Attribute::NoAlias);
    arg->addAttr(llvm::Attribute::NoCapture);
    buffers_[buffers[b].get()] = arg;
  }
}

llvm::Value* CodeGenLLVM::emit(const Expr& e) {
  switch (e.kind()) {
  case NodeKind::IntImm: return llvm::ConstantInt::get(i64_, e.as<IntImm>()->value, true);
  case NodeKind::FloatImm: return llvm::ConstantFP::get(f32_, e.as<FloatImm>()->value);
  case NodeKind::Var: return lookup(e.as<Var>()->name);
  // Operands are emitted left to right (a function's arguments would leave the order, and so
  // the IR, to the C++ compiler).
  case NodeKind::Binary: {
    const Binary* b = e.as<Binary>();
    llvm::Value* x = emit(b->a);
    llvm::Value* y = emit(b->b);
    return binary(b, x, y);
  }
  case NodeKind::Compare: {
    const Compare* c = e.as<Compare>();
    llvm::Value* x = emit(c->a);
    llvm::Value* y = emit(c->b);
    return compare(c->op, c->a.type() == ScalarType::Float, x, y);
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
    llvm::Value* t = emit(s->true_value);
    llvm::Value* f = emit(s->false_value);
    return builder_.CreateSelect(c, t, f);
  }
  case NodeKind::Load: {
    const Load* l = e.as<Load>();
    if (l->lanes > 1) return vector_load(l);
    llvm::Value* addr = address(*l->buffer, flat_index(*l->buffer, l->indices));
    if (l->type == ScalarType::Int) return builder_.CreateSExt(builder_.CreateLoad(i32_, addr, l->buffer->name), i64_);
    return builder_.CreateLoad(f32_, addr, l->buffer->name);
  }
  case NodeKind::Ramp: {
    const Ramp* r = e.as<Ramp>();
    std::vector<llvm::Constant*> steps;
    for (int l = 0; l < r->lanes; ++l) steps.push_back(llvm::ConstantInt::get(i64_, r->stride * l));
    return builder_.CreateAdd(builder_.CreateVectorSplat(unsigned(r->lanes), emit(r->base)), llvm::ConstantVector::get(steps));
  }
  case NodeKind::Broadcast: {
    const Broadcast* b = e.as<Broadcast>();
    return builder_.CreateVectorSplat(unsigned(b->lanes), emit(b->value));
  }
  default: throw InternalError("codegen: statement kind in an expression");
  }
}

llvm::Value* CodeGenLLVM::lookup(const std::string& name) {
  auto it = values_.find(name);
  internal_check(it != values_.end(), "codegen: unbound variable " + name);
  return it->second;
}

/// A binary op on scalars or on vectors of the same shape.
llvm::Value* CodeGenLLVM::binary(const Binary* b, llvm::Value* x, llvm::Value* y) {
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
llvm::Value* CodeGenLLVM::floor_div_mod(const Binary* b, llvm::Value* x, llvm::Value* y) {
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

llvm::Value* CodeGenLLVM::compare(CompareOp op, bool is_float, llvm::Value* x, llvm::Value* y) {
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

std::vector<std::pair<Expr, int>> CodeGenLLVM::additive_terms(const Expr& e) {
  std::vector<std::pair<Expr, int>> out;
  const std::function<void(const Expr&, int)> walk = [&](const Expr& x, int sign) {
    const Binary* b = x.as<Binary>();
    if (b && x.lanes() == 1 && (b->op == BinaryOp::Add || b->op == BinaryOp::Sub)) {
      walk(b->a, sign);
      walk(b->b, b->op == BinaryOp::Add ? sign : -sign);
      return;
    }
    out.push_back({x, sign});
  };
  walk(e, 1);
  return out;
}

/// The row-major flat index of buffer[indices] (scalar).
llvm::Value* CodeGenLLVM::flat_index(const Buffer& b, const std::vector<Expr>& indices) {
  return fold_flat(b, indices, [&](const Expr& i) { return emit(i); });
}

llvm::Value* CodeGenLLVM::address(const Buffer& b, llvm::Value* flat) {
  if (b.scope == MemoryScope::Constant) {
    // An internal constant global: loads at constant indices fold to the value itself.
    llvm::GlobalVariable*& table = constants_[&b];
    // Index tables hold int32 (a sparse pattern's taps: half a float table's bytes of i64).
    llvm::Type* element = b.element == ScalarType::Int ? i32_ : f32_;
    if (!table) {
      std::vector<llvm::Constant*> elements;
      for (double v : b.values) {
        elements.push_back(b.element == ScalarType::Int ? llvm::ConstantInt::get(i32_, uint64_t(int64_t(v)), true)
                                                        : llvm::ConstantFP::get(f32_, v));
      }
      auto* type = llvm::ArrayType::get(element, uint64_t(elements.size()));
      table = new llvm::GlobalVariable(*module_, type, true, llvm::GlobalValue::InternalLinkage,
                                       llvm::ConstantArray::get(type, elements), name_ + "." + b.name);
      table->setAlignment(llvm::Align(64));
    }
    return builder_.CreateInBoundsGEP(element, table, flat);
  }
  auto it = buffers_.find(&b);
  internal_check(it != buffers_.end(), "codegen: buffer " + b.name + " is not allocated");
  return builder_.CreateInBoundsGEP(f32_, it->second, flat);
}

std::pair<llvm::Value*, int64_t> CodeGenLLVM::vector_access(const Buffer& b, const std::vector<Expr>& indices) {
  int64_t stride = 0, dim_stride = 1;
  for (size_t d = indices.size(); d-- > 0;) {
    if (const Ramp* r = indices[d].as<Ramp>()) stride += r->stride * dim_stride;
    dim_stride *= b.shape[d];
  }
  llvm::Value* flat = fold_flat(b, indices, [&](const Expr& i) {
    if (const Ramp* r = i.as<Ramp>()) return emit(r->base);
    if (const Broadcast* x = i.as<Broadcast>()) return emit(x->value);
    internal_check(i.lanes() == 1, "codegen: a vector index of " + b.name + " that is neither ramp nor broadcast");
    return emit(i);
  });
  return {flat, stride};
}

llvm::Align CodeGenLLVM::vector_align(const Buffer&, const std::vector<Expr>&, int) { return llvm::Align(4); }

llvm::Value* CodeGenLLVM::vector_load(const Load* l) {
  const Buffer& b = *l->buffer;
  auto [flat, stride] = vector_access(b, l->indices);
  auto* type = llvm::FixedVectorType::get(f32_, unsigned(l->lanes));
  if (stride == 1) return builder_.CreateAlignedLoad(type, address(b, flat), vector_align(b, l->indices, l->lanes), b.name);
  if (stride == 0) return builder_.CreateVectorSplat(unsigned(l->lanes), builder_.CreateLoad(f32_, address(b, flat), b.name));
  llvm::Value* v = llvm::PoisonValue::get(type);
  for (int lane = 0; lane < l->lanes; ++lane) {
    llvm::Value* idx = builder_.CreateAdd(flat, llvm::ConstantInt::get(i64_, stride * lane));
    v = builder_.CreateInsertElement(v, builder_.CreateLoad(f32_, address(b, idx)), uint64_t(lane));
  }
  return v;
}

void CodeGenLLVM::vector_store(const Store* st, llvm::Value* value) {
  auto [flat, stride] = vector_access(*st->buffer, st->indices);
  internal_check(stride != 0, "codegen: the lanes of a store to " + st->buffer->name + " share one address");
  const int lanes = st->value.lanes();
  if (stride == 1) {
    llvm::Value* addr = address(*st->buffer, flat);
    auto* type = llvm::FixedVectorType::get(f32_, unsigned(lanes));
    const llvm::Align align = vector_align(*st->buffer, st->indices, lanes);
    if (st->accumulate) value = builder_.CreateFAdd(builder_.CreateAlignedLoad(type, addr, align), value);
    builder_.CreateAlignedStore(value, addr, align);
    return;
  }
  for (int l = 0; l < lanes; ++l) {
    llvm::Value* addr = address(*st->buffer, builder_.CreateAdd(flat, llvm::ConstantInt::get(i64_, stride * l)));
    llvm::Value* lane = builder_.CreateExtractElement(value, uint64_t(l));
    if (st->accumulate) lane = builder_.CreateFAdd(builder_.CreateLoad(f32_, addr), lane);
    builder_.CreateStore(lane, addr);
  }
}

void CodeGenLLVM::emit(const Stmt& s) {
  switch (s.kind()) {
  case NodeKind::For: return emit_for(s.as<For>());
  case NodeKind::Store: {
    const Store* st = s.as<Store>();
    llvm::Value* value = emit(st->value);
    if (st->value.lanes() > 1) return vector_store(st, value);
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
    llvm::Value* v = emit(l->value);
    v->setName(l->name);
    let_values_[l->name] = l->value;
    bind(l->name, v, bounds_of(l->value, ranges_), [&] { emit(l->body); });
    let_values_.erase(l->name);
    return;
  }
  case NodeKind::Barrier: return emit_barrier();
  default: throw InternalError("codegen: expression kind in a statement");
  }
}

void CodeGenLLVM::emit_for(const For* f) {
  switch (f->for_kind) {
  case ForKind::Serial: return emit_serial_loop(f);
  case ForKind::Unrolled: throw InternalError("codegen: unrolled loop '" + f->name + "' left for the unroll pass");
  case ForKind::Vectorized: throw InternalError("codegen: vectorized loop '" + f->name + "' left for the vectorize pass");
  case ForKind::Parallel: return emit_parallel_loop(f);
  default: return emit_gpu_loop(f);
  }
}

Interval CodeGenLLVM::loop_range(const For* f) {
  Interval mn = bounds_of(f->min, ranges_), ext = bounds_of(f->extent, ranges_);
  Interval r = Interval::everything();
  r.lo = mn.lo;
  if (mn.has_upper() && ext.has_upper()) r.hi = mn.hi + ext.hi - 1;
  return r;
}

void CodeGenLLVM::emit_serial_loop(const For* f) {
  llvm::Value* mn = emit(f->min);
  llvm::Value* end = builder_.CreateAdd(mn, emit(f->extent), f->name + ".end", false, true);
  counted_loop(f->name, mn, end, bounds_of(f->extent, ranges_).lo > 0, loop_range(f), [&] { emit(f->body); });
}



void CodeGenLLVM::emit_allocate(const Allocate* a) {
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
  case MemoryScope::GpuShared: base = shared_alloc(b); break;
  default: throw InternalError("codegen: buffer '" + b.name + "' is allocated in a scope no allocation has");
  }
  buffers_[&b] = base;
  emit(a->body);
  buffers_.erase(&b);
  if (b.scope == MemoryScope::Heap) heap_free(base);
}

void CodeGenLLVM::emit_if(const IfThenElse* op) {
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

} // namespace convtune
