/// \file The target-independent half of code generation: a visitor over the IR that emits
/// LLVM IR for expressions and statements with a scope of values and ranges.
///
/// Integer math is 64-bit; Div and Mod round towards negative infinity (cheap signed ops where
/// the operands are known non-negative). Vector expressions (what the vectorize pass made of
/// vectorized loops) become LLVM vectors of their lanes: a load or store whose lanes are
/// contiguous is one vector access, a uniform one a broadcast, others go lane by lane. Code
/// generation decides nothing about vectorizing; vectorized and unrolled loops must be gone
/// (the pipeline's passes remove them). Floating-point adds and multiplies may be reassociated
/// and contracted into FMAs: any summation order is within the reference check's error bound.
///
/// What depends on the target is left to a subclass: the module's layout and entries, parallel
/// loops, heap buffers, GPU loops (compiler/codegen_cpu for the host; an NVPTX part next to it).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include "ir/error.h"
#include "ir/interval.h"
#include "ir/ir.h"

namespace convtune {

class CodeGenLLVM {
public:
  explicit CodeGenLLVM(llvm::LLVMContext& ctx);
  virtual ~CodeGenLLVM() = default;

protected:
  // ---- what a target decides --------------------------------------------------------------

  /// A loop whose iterations run on the target's threads.
  virtual void emit_parallel_loop(const For* f) = 0;
  /// A loop bound to a GPU index; a CPU refuses it (a UserError naming the loop).
  virtual void emit_gpu_loop(const For* f);
  /// A buffer in a GPU block's shared memory; a CPU refuses it (a UserError naming the buffer).
  virtual llvm::Value* shared_alloc(const Buffer& b);
  /// A barrier of a GPU block's threads; a CPU refuses it.
  virtual void emit_barrier();
  /// A buffer of `bytes` on the heap, and its release.
  virtual llvm::Value* heap_alloc(int64_t bytes, const std::string& name) = 0;
  virtual void heap_free(llvm::Value* p) = 0;
  /// The alignment a contiguous vector access of `lanes` floats at buffer[indices] may claim:
  /// a float's, unless the target knows its buffers' bases and proves more (a GPU loads a
  /// float4 in one instruction only from a 16-byte boundary).
  virtual llvm::Align vector_align(const Buffer& b, const std::vector<Expr>& indices, int lanes);

  // ---- the shared emission ----------------------------------------------------------------

  void begin_function(llvm::Function* fn);

  /// Names `fn`'s arguments after `buffers` (one pointer each, in order, neither aliasing nor
  /// captured) and makes them the buffers' values.
  void bind_buffer_arguments(llvm::Function* fn, const std::vector<BufferRef>& buffers);

  llvm::Value* emit(const Expr& e);

  llvm::Value* lookup(const std::string& name);

  /// A binary op on scalars or on vectors of the same shape.
  llvm::Value* binary(const Binary* b, llvm::Value* x, llvm::Value* y);

  /// Floor division and modulo. When the dividend is non-negative and the divisor positive,
  /// truncation equals flooring and the plain signed ops suffice.
  llvm::Value* floor_div_mod(const Binary* b, llvm::Value* x, llvm::Value* y);

  llvm::Value* compare(CompareOp op, bool is_float, llvm::Value* x, llvm::Value* y);

  /// The row-major flat index of buffer[indices] (scalar).
  llvm::Value* flat_index(const Buffer& b, const std::vector<Expr>& indices);

  llvm::Value* address(const Buffer& b, llvm::Value* flat);

  /// Lane 0's flat index and the per-lane stride of a vector access buffer[indices], whose
  /// indices are ramps, broadcasts or scalars (the vectorize pass makes no other vector index).
  std::pair<llvm::Value*, int64_t> vector_access(const Buffer& b, const std::vector<Expr>& indices);

  /// Contiguous lanes are one vector load; a uniform address is a broadcast; other strides
  /// gather lane by lane.
  llvm::Value* vector_load(const Load* l);

  void vector_store(const Store* st, llvm::Value* value);

  void emit(const Stmt& s);

  void emit_for(const For* f);

  Interval loop_range(const For* f);

  void emit_serial_loop(const For* f);

  void emit_allocate(const Allocate* a);

  void emit_if(const IfThenElse* op);

  /// An integer's terms as a sum: a + b - c is {a, +1}, {b, +1}, {c, -1} (a vector, or anything
  /// not a scalar Add or Sub, is one term).
  static std::vector<std::pair<Expr, int>> additive_terms(const Expr& e);

  /// The row-major flat index of buffer[indices], each index emitted by `emit_index`: the sum
  /// of each index's terms times its dimension's stride. Distributed so (not Horner's nesting),
  /// the terms that do not change in a loop add up outside it, and an access whose row comes
  /// from a table (a sparse tap) costs one add per unrolled row, not a multiply.
  template <class F>
  llvm::Value* fold_flat(const Buffer& b, const std::vector<Expr>& indices, F&& emit_index) {
    llvm::Value* flat = nullptr;
    int64_t stride = 1;
    for (size_t d = indices.size(); d-- > 0;) {
      for (const auto& [term, sign] : additive_terms(indices[d])) {
        llvm::Value* v = emit_index(term);
        if (stride != 1) v = builder_.CreateMul(v, llvm::ConstantInt::get(i64_, stride), "", false, true);
        if (!flat) flat = sign > 0 ? v : builder_.CreateNeg(v, "", true);
        else flat = sign > 0 ? builder_.CreateAdd(flat, v, "", false, true) : builder_.CreateSub(flat, v, "", false, true);
      }
      stride *= b.shape[d];
    }
    return flat;
  }

  /// The value of a let in scope, or an undefined Expr (what the modulus analysis asks).
  Expr let_value(const std::string& name) const {
    auto it = let_values_.find(name);
    return it == let_values_.end() ? Expr() : it->second;
  }

  template <class F> void bind(const std::string& name, llvm::Value* v, Interval range, F&& body) {
    internal_check(!values_.count(name), "codegen: '" + name + "' rebound");
    values_[name] = v;
    ranges_[name] = range;
    body();
    values_.erase(name);
    ranges_.erase(name);
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

  llvm::LLVMContext& ctx_;
  llvm::IRBuilder<> builder_;
  llvm::Type* i64_;
  llvm::Type* f32_;
  llvm::Type* i32_;  ///< an index table's entries
  llvm::Type* ptr_;
  llvm::Module* module_ = nullptr;
  std::string name_;
  llvm::Function* fn_ = nullptr;
  llvm::BasicBlock* entry_ = nullptr;
  std::map<std::string, llvm::Value*> values_;
  VarRanges ranges_;
  std::map<std::string, Expr> let_values_;  ///< the lets in scope, by name
  std::map<const Buffer*, llvm::Value*> buffers_;
  /// The module's constant tables, made on their first read (by any function of the module).
  std::map<const Buffer*, llvm::GlobalVariable*> constants_;

};

} // namespace convtune
