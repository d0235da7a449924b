/// \file The C-like printer: a recursive walk with operator precedence for expressions.
#include "ir/ir_printer.h"

#include <cmath>
#include <sstream>

#include "ir/error.h"

namespace convtune {

namespace {

int precedence(const Expr& e) {
  if (const Binary* b = e.as<Binary>()) {
    switch (b->op) {
    case BinaryOp::Mul: case BinaryOp::Div: case BinaryOp::Mod: return 5;
    case BinaryOp::Add: case BinaryOp::Sub: return 4;
    case BinaryOp::Min: case BinaryOp::Max: return 9;  // printed as calls
    }
  }
  if (e.as<Compare>()) return 3;
  if (const Logical* l = e.as<Logical>()) return l->op == LogicalOp::And ? 2 : 1;
  return 9;
}

const char* symbol(BinaryOp op) {
  switch (op) {
  case BinaryOp::Add: return " + ";
  case BinaryOp::Sub: return " - ";
  case BinaryOp::Mul: return "*";
  case BinaryOp::Div: return "/";
  case BinaryOp::Mod: return "%";
  case BinaryOp::Min: return "min";
  case BinaryOp::Max: return "max";
  }
  return "?";
}

const char* symbol(CompareOp op) {
  switch (op) {
  case CompareOp::EQ: return " == ";
  case CompareOp::NE: return " != ";
  case CompareOp::LT: return " < ";
  case CompareOp::LE: return " <= ";
  case CompareOp::GT: return " > ";
  case CompareOp::GE: return " >= ";
  }
  return "?";
}

std::string float_text(double v) {
  if (std::isinf(v)) return v < 0 ? "-INFINITY" : "INFINITY";  // C's spelling
  std::ostringstream os;
  os.precision(9);
  os << v;
  std::string s = os.str();
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s + "f";
}

/// `child` printed inside an operator of precedence `outer`; `right` is true for the right
/// operand of a left-associative operator, which needs parentheses at equal precedence.
std::string operand(const Expr& child, int outer, bool right) {
  int p = precedence(child);
  bool paren = p < outer || (right && p == outer);
  return paren ? "(" + to_text(child) + ")" : to_text(child);
}

std::string indices_text(const std::vector<Expr>& idx) {
  std::string s;
  for (const Expr& i : idx) s += "[" + to_text(i) + "]";
  return s;
}

std::string shape_text(const Buffer& b) {
  std::string s;
  for (int64_t d : b.shape) s += "[" + std::to_string(d) + "]";
  return s;
}

const char* scope_text(MemoryScope scope) {
  switch (scope) {
  case MemoryScope::Param: return "param";
  case MemoryScope::Stack: return "stack";
  case MemoryScope::Heap: return "heap";
  case MemoryScope::GpuShared: return "gpu_shared";
  case MemoryScope::Constant: return "constant";
  }
  return "?";
}

} // namespace

std::string to_text(const Expr& e) {
  internal_check(e.defined(), "printing an undefined expression");
  switch (e.kind()) {
  case NodeKind::IntImm: return std::to_string(e.as<IntImm>()->value);
  case NodeKind::FloatImm: return float_text(e.as<FloatImm>()->value);
  case NodeKind::Var: return e.as<Var>()->name;
  case NodeKind::Binary: {
    const Binary* b = e.as<Binary>();
    if (b->op == BinaryOp::Min || b->op == BinaryOp::Max) {
      return std::string(symbol(b->op)) + "(" + to_text(b->a) + ", " + to_text(b->b) + ")";
    }
    int p = precedence(e);
    return operand(b->a, p, false) + symbol(b->op) + operand(b->b, p, true);
  }
  case NodeKind::Compare: {
    const Compare* c = e.as<Compare>();
    return operand(c->a, 4, false) + symbol(c->op) + operand(c->b, 4, false);
  }
  case NodeKind::Logical: {
    const Logical* l = e.as<Logical>();
    int p = precedence(e);
    const char* op = l->op == LogicalOp::And ? " && " : " || ";
    return operand(l->a, p, false) + op + operand(l->b, p, true);
  }
  case NodeKind::Not: return "!" + operand(e.as<Not>()->a, 9, false);
  case NodeKind::Select: {
    const Select* s = e.as<Select>();
    return "select(" + to_text(s->cond) + ", " + to_text(s->true_value) + ", " +
           to_text(s->false_value) + ")";
  }
  case NodeKind::Load: {
    const Load* l = e.as<Load>();
    return l->buffer->name + indices_text(l->indices);
  }
  case NodeKind::Ramp: {
    const Ramp* r = e.as<Ramp>();
    return "ramp(" + to_text(r->base) + ", " + std::to_string(r->stride) + ", " + std::to_string(r->lanes) + ")";
  }
  case NodeKind::Broadcast: {
    const Broadcast* b = e.as<Broadcast>();
    return "x" + std::to_string(b->lanes) + "(" + to_text(b->value) + ")";
  }
  default: throw InternalError("to_text: statement kind in an expression");
  }
}

std::string to_text(const Stmt& s, int indent) {
  internal_check(s.defined(), "printing an undefined statement");
  const std::string pad(indent * 2, ' ');
  switch (s.kind()) {
  case NodeKind::For: {
    const For* f = s.as<For>();
    std::string prefix = f->for_kind == ForKind::Serial ? "" : std::string(to_string(f->for_kind)) + " ";
    std::string end = f->min.as<IntImm>() && f->min.as<IntImm>()->value == 0
                          ? to_text(f->extent)
                          : operand(f->min, 4, false) + " + " + operand(f->extent, 4, true);
    return pad + prefix + "for (" + f->name + " = " + to_text(f->min) + "; " + f->name + " < " +
           end + "; " + f->name + "++) {\n" + to_text(f->body, indent + 1) + pad + "}\n";
  }
  case NodeKind::Store: {
    const Store* st = s.as<Store>();
    return pad + st->buffer->name + indices_text(st->indices) + (st->accumulate ? " += " : " = ") +
           to_text(st->value) + ";\n";
  }
  case NodeKind::Allocate: {
    const Allocate* a = s.as<Allocate>();
    return pad + "float " + a->buffer->name + shape_text(*a->buffer) + ";  // " +
           scope_text(a->buffer->scope) + "\n" + to_text(a->body, indent);
  }
  case NodeKind::IfThenElse: {
    const IfThenElse* i = s.as<IfThenElse>();
    std::string text = pad + "if (" + to_text(i->cond) + ") {\n" + to_text(i->then_case, indent + 1);
    if (i->else_case.defined()) text += pad + "} else {\n" + to_text(i->else_case, indent + 1);
    return text + pad + "}\n";
  }
  case NodeKind::Block: {
    std::string text;
    for (const Stmt& x : s.as<Block>()->stmts) text += to_text(x, indent);
    return text;
  }
  case NodeKind::LetStmt: {
    const LetStmt* l = s.as<LetStmt>();
    return pad + "int64 " + l->name + " = " + to_text(l->value) + ";\n" + to_text(l->body, indent);
  }
  case NodeKind::Barrier: return pad + "gpu_barrier();\n";
  default: throw InternalError("to_text: expression kind in a statement");
  }
}

namespace {

/// What the passes after scheduling know of a stage: its dimensions, the boundary tensor, the
/// boxes it reads (as comments; empty for a stage written whole).
std::string stage_facts(const NestStage& stage) {
  std::string text;
  if (!stage.dims.empty()) {
    text += "  // dims";
    for (const StageDim& d : stage.dims) {
      text += " " + d.name + "<" + std::to_string(d.extent) + (d.reduction ? " (reduction)" : "") + (d.exact ? " (exact)" : "");
    }
    text += "\n";
  }
  if (stage.boundary) text += "  // boundary " + stage.boundary->name + "\n";
  for (const AccessBox& box : stage.reads) {
    text += "  // reads " + box.buffer->name;
    for (size_t d = 0; d < box.lo.size(); ++d) {
      text += box.bounded ? "[" + std::to_string(box.lo[d]) + ", " + std::to_string(box.hi[d]) + "]" : std::string("[?]");
    }
    text += "\n";
  }
  return text;
}

} // namespace

std::string to_text(const LoopNest& nest) {
  std::string text = "void " + nest.name + "(";
  for (size_t i = 0; i < nest.params.size(); ++i) {
    const Buffer& b = *nest.params[i].buffer;
    text += std::string(i ? ", " : "") + (nest.params[i].written ? "float " : "const float ") + b.name + shape_text(b);
  }
  text += ") {\n";
  for (const BufferRef& t : nest.temporaries) {
    text += "  float " + t->name + shape_text(*t) + ";  // " + scope_text(t->scope) + "\n";
  }
  for (const NestStage& stage : nest.stages) {
    if (nest.stages.size() > 1) text += "  // stage " + stage.name + " (" + to_string(stage.kind) + ")\n";
    text += stage_facts(stage);
    text += to_text(stage.body, 1);
  }
  return text + "}\n";
}

} // namespace convtune
