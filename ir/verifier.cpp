/// \file The verifier: one walk with a scope of variable ranges and live buffers.
#include "ir/verifier.h"

#include <set>

#include "ir/error.h"
#include "ir/interval.h"
#include "ir/ir_printer.h"
#include "ir/ir_visitor.h"

namespace convtune {

namespace {

class Verifier : public IRVisitor {
public:
  explicit Verifier(const LoopNest& nest) {
    for (const BufferRef& b : nest.all_buffers()) live_.insert(b.get());
  }
  std::vector<std::string> problems;
  using IRVisitor::visit;

protected:
  void visit(const Var* op) override {
    if (!ranges_.count(op->name)) report("variable '" + op->name + "' is not bound");
  }

  void visit(const Load* op) override {
    IRVisitor::visit(op);
    check_access(*op->buffer, op->indices, "load of");
  }

  void visit(const Store* op) override {
    IRVisitor::visit(op);
    if (op->buffer->scope == MemoryScope::Constant) report("store to the constant '" + op->buffer->name + "'");
    check_access(*op->buffer, op->indices, "store to");
  }

  void visit(const For* op) override {
    visit(op->min);
    visit(op->extent);
    Interval mn = bounds_of(op->min, ranges_), ext = bounds_of(op->extent, ranges_);
    if (ext.has_upper() && ext.hi <= 0) report("loop '" + op->name + "' never runs (extent " + to_text(op->extent) + ")");
    with_binding(op->name, loop_range(mn, ext), [&] { visit(op->body); });
  }

  void visit(const LetStmt* op) override {
    visit(op->value);
    with_binding(op->name, bounds_of(op->value, ranges_), [&] { visit(op->body); });
  }

  void visit(const IfThenElse* op) override {
    visit(op->cond);
    VarRanges outer = ranges_;
    ranges_ = assume(op->cond, outer);
    visit(op->then_case);
    ranges_ = outer;
    if (op->else_case.defined()) visit(op->else_case);
  }

  void visit(const Allocate* op) override {
    if (live_.count(op->buffer.get())) report("buffer '" + op->buffer->name + "' allocated twice");
    live_.insert(op->buffer.get());
    visit(op->body);
    live_.erase(op->buffer.get());
  }

private:
  void report(const std::string& what) { problems.push_back(what); }

  template <class F> void with_binding(const std::string& name, Interval range, F&& body) {
    if (ranges_.count(name)) {
      report("'" + name + "' is bound again inside its own scope");
      return;
    }
    ranges_[name] = range;
    body();
    ranges_.erase(name);
  }

  void check_access(const Buffer& b, const std::vector<Expr>& idx, const char* what) {
    // A constant is a global of the module: live everywhere.
    if (b.scope != MemoryScope::Constant && !live_.count(&b)) {
      report(std::string(what) + " '" + b.name + "' outside its allocation");
      return;
    }
    for (size_t d = 0; d < idx.size(); ++d) {
      Interval i = bounds_of(idx[d], ranges_);
      if (i.lo >= 0 && i.hi < b.shape[d]) continue;
      report(std::string(what) + " " + b.name + " may be out of bounds in dimension " +
             std::to_string(d) + ": index " + to_text(idx[d]) + " spans " + to_text(i) +
             ", extent " + std::to_string(b.shape[d]));
    }
  }

  VarRanges ranges_;
  std::set<const Buffer*> live_;
};

} // namespace

std::vector<std::string> verify_problems(const LoopNest& nest) {
  bool writes = false;
  for (const NestParam& p : nest.params) {
    internal_check(p.buffer != nullptr, "verify: a parameter of " + nest.name + " has no buffer");
    writes = writes || p.written;
  }
  internal_check(writes && !nest.stages.empty(), "verify: incomplete loop nest");
  Verifier v(nest);
  for (const NestStage& stage : nest.stages) {
    internal_check(stage.body.defined(), "verify: stage " + stage.name + " has no body");
    v.visit(stage.body);
  }
  return v.problems;
}

void verify(const LoopNest& nest) {
  std::vector<std::string> problems = verify_problems(nest);
  if (!problems.empty()) throw InternalError("verify " + nest.name + ": " + problems.front());
}

} // namespace convtune
