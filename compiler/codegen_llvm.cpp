/// \file The target-independent half of code generation (see the header).
#include "compiler/codegen_llvm.h"

#include <llvm/IR/Intrinsics.h>

#include "ir/error.h"
#include "ir/ir_visitor.h"
#include "targets/llvm_compat.h"

namespace convtune {

CodeGenLLVM::CodeGenLLVM(llvm::LLVMContext& ctx)
    : ctx_(ctx), builder_(ctx), i64_(llvm::Type::getInt64Ty(ctx)), f32_(llvm::Type::getFloatTy(ctx)),
      ptr_(llvm_compat::ptr_type(ctx)) {
  llvm::FastMathFlags fmf;
  fmf.setAllowReassoc();
  fmf.setAllowContract();
  builder_.setFastMathFlags(fmf);
}

void CodeGenLLVM::emit_gpu_loop(const For* f) {
  throw UserError("loop '" + f->name + "' is bound to " + to_string(f->for_kind) + ", which the cpu target cannot run");
}

void CodeGenLLVM::begin_function(llvm::Function* fn) {
  fn_ = fn;
  entry_ = llvm::BasicBlock::Create(ctx_, "entry", fn);
  builder_.SetInsertPoint(entry_);
}

llvm::Value* CodeGenLLVM::emit(const Expr& e) {
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

/// The row-major flat index of buffer[indices] (scalar).
llvm::Value* CodeGenLLVM::flat_index(const Buffer& b, const std::vector<Expr>& indices) {
  return fold_flat(b, indices, [&](const Expr& i) { return emit(i); });
}

llvm::Value* CodeGenLLVM::address(const Buffer& b, llvm::Value* flat) {
  auto it = buffers_.find(&b);
  internal_check(it != buffers_.end(), "codegen: buffer " + b.name + " is not allocated");
  return builder_.CreateInBoundsGEP(f32_, it->second, flat);
}

llvm::Value* CodeGenLLVM::splat(llvm::Value* v) {
  return v->getType()->isVectorTy() ? v : builder_.CreateVectorSplat(unsigned(lanes_.lanes), v);
}

/// An integer LaneValue as a vector of its lanes.
llvm::Value* CodeGenLLVM::int_lanes(const LaneValue& v) {
  llvm::Value* base = splat(v.value);
  if (v.stride == 0) return base;
  std::vector<llvm::Constant*> steps;
  for (int l = 0; l < lanes_.lanes; ++l) steps.push_back(llvm::ConstantInt::get(i64_, v.stride * l));
  return builder_.CreateAdd(base, llvm::ConstantVector::get(steps));
}

LaneValue CodeGenLLVM::emit_lanes(const Expr& e) {
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
std::pair<llvm::Value*, int64_t> CodeGenLLVM::flat_lanes(const Buffer& b, const std::vector<Expr>& indices) {
  bool affine = true;
  int64_t stride = flat_stride(b, indices, lanes_, affine);
  internal_check(affine, "codegen: non-affine access in a vectorized loop");
  return {fold_flat(b, indices, [&](const Expr& i) { return emit_lanes(i).value; }), stride};
}

llvm::Type* CodeGenLLVM::vec_type() { return llvm::FixedVectorType::get(f32_, unsigned(lanes_.lanes)); }

/// Contiguous lanes are one vector load; a uniform address is a broadcast; other strides
/// gather lane by lane.
llvm::Value* CodeGenLLVM::load_lanes(const Buffer& b, const std::vector<Expr>& indices) {
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

void CodeGenLLVM::store_lanes(const Store* st) {
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

void CodeGenLLVM::emit(const Stmt& s) {
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

void CodeGenLLVM::emit_for(const For* f) {
  switch (f->for_kind) {
  case ForKind::Serial: return emit_serial_loop(f);
  case ForKind::Unrolled: throw InternalError("codegen: unrolled loop '" + f->name + "' left for the unroll pass");
  case ForKind::Parallel:
    // can_widen keeps parallel and vectorized loops out of a widened body.
    internal_check(lanes_.lanes == 0, "codegen: parallel loop '" + f->name + "' inside a widened body");
    return emit_parallel_loop(f);
  case ForKind::Vectorized: return emit_vectorized_loop(f);
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



/// A loop's extent, which unrolling and vectorizing need to know (their primitives check it).
int64_t CodeGenLLVM::constant_extent(const For* f) {
  const Interval i = bounds_of(f->extent, ranges_);  // the ranges in scope may pin it
  if (!i.is_point() || i.lo < 1) {
    throw InternalError(std::string("codegen: ") + to_string(f->for_kind) + " loop '" + f->name +
                        "' has a non-constant extent");
  }
  return i.lo;
}

/// Widens the body over the loop's lanes when it allows; otherwise runs each lane as an
/// unrolled copy (still correct, and LLVM's SLP vectorizer may pack the copies).
void CodeGenLLVM::emit_vectorized_loop(const For* f) {
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
void CodeGenLLVM::emit_copies(const For* f, int64_t extent) {
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
  default:
    throw UserError("buffer '" + b.name + "' lives in GPU shared memory, which the cpu target has not");
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
