/// \file Test helper: runs a loop nest directly on the IR (every loop serially, GPU thread and
/// vector loops included), so that a statement's meaning can be checked without the lowering
/// pipeline or a machine that runs it. Every access is bounds-checked; a bad one throws.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "ir/ir.h"
#include "ir/ir_printer.h"

namespace convtune::testing {

inline int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/// The interpreter: `memory` holds each buffer the statements touch (an Allocate adds its own).
class Interpreter {
public:
  std::map<const Buffer*, std::vector<float>> memory;

  void run(const Stmt& s) {
    switch (s.kind()) {
    case NodeKind::For: {
      const For* f = s.as<For>();
      const int64_t lo = eval_int(f->min), extent = eval_int(f->extent);
      for (int64_t i = lo; i < lo + extent; ++i) {
        env_[f->name] = i;
        run(f->body);
      }
      env_.erase(f->name);
      return;
    }
    case NodeKind::Store: {
      const Store* st = s.as<Store>();
      const float v = eval_float(st->value);
      float& slot = element(*st->buffer, st->indices);
      slot = st->accumulate ? slot + v : v;
      return;
    }
    case NodeKind::Allocate: {
      const Allocate* a = s.as<Allocate>();
      memory[a->buffer.get()].assign(size_t(a->buffer->elements()), 0.0f);
      run(a->body);
      memory.erase(a->buffer.get());
      return;
    }
    case NodeKind::IfThenElse: {
      const IfThenElse* i = s.as<IfThenElse>();
      if (eval_bool(i->cond)) run(i->then_case);
      else if (i->else_case.defined()) run(i->else_case);
      return;
    }
    case NodeKind::Block:
      for (const Stmt& x : s.as<Block>()->stmts) run(x);
      return;
    case NodeKind::LetStmt: {
      const LetStmt* l = s.as<LetStmt>();
      env_[l->name] = eval_int(l->value);
      run(l->body);
      env_.erase(l->name);
      return;
    }
    default: throw std::logic_error("interpreter: not a statement");
    }
  }

private:
  float& element(const Buffer& b, const std::vector<Expr>& indices) {
    auto it = memory.find(&b);
    if (it == memory.end()) throw std::logic_error("interpreter: buffer " + b.name + " has no memory");
    int64_t offset = 0;
    for (size_t d = 0; d < indices.size(); ++d) {
      const int64_t i = eval_int(indices[d]);
      if (i < 0 || i >= b.shape[d]) throw std::out_of_range("interpreter: " + b.name + " index out of bounds");
      offset = offset * b.shape[d] + i;
    }
    return it->second[size_t(offset)];
  }

  int64_t eval_int(const Expr& e) {
    if (const IntImm* i = e.as<IntImm>()) return i->value;
    if (const Var* v = e.as<Var>()) return env_.at(v->name);
    if (const Binary* b = e.as<Binary>()) {
      const int64_t x = eval_int(b->a), y = eval_int(b->b);
      switch (b->op) {
      case BinaryOp::Add: return x + y;
      case BinaryOp::Sub: return x - y;
      case BinaryOp::Mul: return x * y;
      case BinaryOp::Div: return floor_div(x, y);
      case BinaryOp::Mod: return x - floor_div(x, y) * y;
      case BinaryOp::Min: return std::min(x, y);
      case BinaryOp::Max: return std::max(x, y);
      }
    }
    if (const Select* s = e.as<Select>()) return eval_bool(s->cond) ? eval_int(s->true_value) : eval_int(s->false_value);
    throw std::logic_error("interpreter: not an integer expression: " + to_text(e));
  }

  float eval_float(const Expr& e) {
    if (const FloatImm* f = e.as<FloatImm>()) return float(f->value);
    if (const Load* l = e.as<Load>()) return element(*l->buffer, l->indices);
    if (const Binary* b = e.as<Binary>()) {
      const float x = eval_float(b->a), y = eval_float(b->b);
      switch (b->op) {
      case BinaryOp::Add: return x + y;
      case BinaryOp::Sub: return x - y;
      case BinaryOp::Mul: return x * y;
      case BinaryOp::Div: return x / y;
      case BinaryOp::Min: return std::min(x, y);
      case BinaryOp::Max: return std::max(x, y);
      case BinaryOp::Mod: break;
      }
    }
    if (const Select* s = e.as<Select>())
      return eval_bool(s->cond) ? eval_float(s->true_value) : eval_float(s->false_value);
    throw std::logic_error("interpreter: not a float expression: " + to_text(e));
  }

  bool eval_bool(const Expr& e) {
    if (const Compare* c = e.as<Compare>()) {
      const int64_t x = eval_int(c->a), y = eval_int(c->b);
      switch (c->op) {
      case CompareOp::EQ: return x == y;
      case CompareOp::NE: return x != y;
      case CompareOp::LT: return x < y;
      case CompareOp::LE: return x <= y;
      case CompareOp::GT: return x > y;
      case CompareOp::GE: return x >= y;
      }
    }
    if (const Logical* l = e.as<Logical>())
      return l->op == LogicalOp::And ? eval_bool(l->a) && eval_bool(l->b) : eval_bool(l->a) || eval_bool(l->b);
    if (const Not* n = e.as<Not>()) return !eval_bool(n->a);
    throw std::logic_error("interpreter: not a boolean expression: " + to_text(e));
  }

  std::map<std::string, int64_t> env_;
};

} // namespace convtune::testing
