/// \file Factories of the IR nodes: each checks its operands before building the node.
#include "ir/ir.h"

#include "ir/error.h"

namespace convtune {

namespace {
void check_defined(const Expr& e, const char* node, const char* field) {
  internal_check(e.defined(), std::string(node) + ": undefined " + field);
}
void check_int(const Expr& e, const char* node, const char* field) {
  check_defined(e, node, field);
  internal_check(e.type() == ScalarType::Int, std::string(node) + ": " + field + " must be an integer");
}
void check_scalar(const Expr& e, const char* node, const char* field) {
  internal_check(e.lanes() == 1, std::string(node) + ": " + field + " must be a scalar");
}
void check_lanes(const Expr& a, const Expr& b, const char* node) {
  internal_check(a.lanes() == b.lanes(), std::string(node) + ": operands have " + std::to_string(a.lanes()) +
                                             " and " + std::to_string(b.lanes()) + " lanes");
}
/// The lanes of an access: 1, or those of its vector indices (which must agree).
int access_lanes(const std::vector<Expr>& idx, const std::string& what) {
  int lanes = 1;
  for (const Expr& i : idx) {
    if (i.lanes() == 1) continue;
    internal_check(lanes == 1 || lanes == i.lanes(), what + ": indices of different lanes");
    lanes = i.lanes();
  }
  return lanes;
}
void check_indices(const BufferRef& b, const std::vector<Expr>& idx, const char* node) {
  internal_check(b != nullptr, std::string(node) + ": no buffer");
  internal_check(idx.size() == b->shape.size(),
                 std::string(node) + " of " + b->name + ": " + std::to_string(idx.size()) +
                     " indices for " + std::to_string(b->shape.size()) + " dimensions");
  for (const Expr& i : idx) check_int(i, node, "index");
}
} // namespace

int64_t Buffer::elements() const {
  int64_t e = 1;
  for (int64_t d : shape) e *= d;
  return e;
}

BufferRef make_buffer(std::string name, std::vector<int64_t> shape, MemoryScope scope, bool exterior_identity) {
  for (int64_t d : shape) internal_check(d > 0, "buffer " + name + " has an extent <= 0");
  return std::make_shared<const Buffer>(Buffer{std::move(name), std::move(shape), scope, exterior_identity});
}

BufferRef make_constant(std::string name, std::vector<int64_t> shape, std::vector<double> values) {
  int64_t elements = 1;
  for (int64_t d : shape) elements *= d;
  internal_check(int64_t(values.size()) == elements, "constant " + name + " has " + std::to_string(values.size()) +
                                                         " values for " + std::to_string(elements) + " elements");
  for (int64_t d : shape) internal_check(d > 0, "buffer " + name + " has an extent <= 0");
  return std::make_shared<const Buffer>(Buffer{std::move(name), std::move(shape), MemoryScope::Constant, false, std::move(values)});
}

BufferRef make_index_table(std::string name, std::vector<int64_t> shape, const std::vector<int64_t>& values) {
  std::vector<double> held;
  for (int64_t v : values) {
    internal_check(v >= INT32_MIN && v <= INT32_MAX, "index table " + name + " holds a value past int32");
    held.push_back(double(v));
  }
  Buffer b = *make_constant(std::move(name), std::move(shape), std::move(held));
  b.element = ScalarType::Int;
  return std::make_shared<const Buffer>(std::move(b));
}

Expr::Expr(int64_t v) : node_(std::make_shared<const IntImm>(v)) {}

Expr IntImm::make(int64_t v) { return Expr(v); }
Expr FloatImm::make(double v) { return Expr(std::make_shared<const FloatImm>(v)); }

Expr Var::make(std::string name) {
  internal_check(!name.empty(), "Var: empty name");
  return Expr(std::make_shared<const Var>(std::move(name)));
}

Expr Binary::make(BinaryOp op, Expr a, Expr b) {
  check_defined(a, "Binary", "a");
  check_defined(b, "Binary", "b");
  internal_check(a.type() == b.type(), "Binary: operand types differ");
  internal_check(a.type() != ScalarType::Bool, "Binary: boolean operands");
  internal_check(op != BinaryOp::Mod || a.type() == ScalarType::Int, "Binary: float Mod");
  check_lanes(a, b, "Binary");
  ScalarType t = a.type();
  return Expr(std::make_shared<const Binary>(op, std::move(a), std::move(b), t));
}

Expr Compare::make(CompareOp op, Expr a, Expr b) {
  check_defined(a, "Compare", "a");
  check_defined(b, "Compare", "b");
  internal_check(a.type() == b.type() && a.type() != ScalarType::Bool, "Compare: operand types");
  check_lanes(a, b, "Compare");
  return Expr(std::make_shared<const Compare>(op, std::move(a), std::move(b)));
}

Expr Logical::make(LogicalOp op, Expr a, Expr b) {
  check_defined(a, "Logical", "a");
  check_defined(b, "Logical", "b");
  internal_check(a.type() == ScalarType::Bool && b.type() == ScalarType::Bool,
                 "Logical: operands must be booleans");
  check_lanes(a, b, "Logical");
  return Expr(std::make_shared<const Logical>(op, std::move(a), std::move(b)));
}

Expr Not::make(Expr a) {
  check_defined(a, "Not", "a");
  internal_check(a.type() == ScalarType::Bool, "Not: operand must be a boolean");
  return Expr(std::make_shared<const Not>(std::move(a)));
}

Expr Select::make(Expr cond, Expr t, Expr f) {
  check_defined(cond, "Select", "cond");
  check_defined(t, "Select", "true_value");
  check_defined(f, "Select", "false_value");
  internal_check(cond.type() == ScalarType::Bool, "Select: condition must be a boolean");
  internal_check(t.type() == f.type(), "Select: branch types differ");
  check_lanes(t, f, "Select");
  internal_check(cond.lanes() == 1 || cond.lanes() == t.lanes(), "Select: condition lanes");
  ScalarType ty = t.type();
  return Expr(std::make_shared<const Select>(std::move(cond), std::move(t), std::move(f), ty));
}

Expr Load::make(BufferRef buffer, std::vector<Expr> indices) {
  check_indices(buffer, indices, "Load");
  const int lanes = access_lanes(indices, "Load of " + buffer->name);
  return Expr(std::make_shared<const Load>(std::move(buffer), std::move(indices), lanes));
}

Expr Ramp::make(Expr base, int64_t stride, int lanes) {
  check_int(base, "Ramp", "base");
  check_scalar(base, "Ramp", "base");
  internal_check(lanes > 1, "Ramp: fewer than 2 lanes");
  return Expr(std::make_shared<const Ramp>(std::move(base), stride, lanes));
}

Expr Broadcast::make(Expr value, int lanes) {
  check_defined(value, "Broadcast", "value");
  check_scalar(value, "Broadcast", "value");
  internal_check(lanes > 1, "Broadcast: fewer than 2 lanes");
  return Expr(std::make_shared<const Broadcast>(std::move(value), lanes));
}

bool is_gpu_block(ForKind k) { return k == ForKind::GpuBlockX || k == ForKind::GpuBlockY || k == ForKind::GpuBlockZ; }
bool is_gpu_thread(ForKind k) { return k == ForKind::GpuThreadX || k == ForKind::GpuThreadY || k == ForKind::GpuThreadZ; }

const char* to_string(ForKind kind) {
  switch (kind) {
  case ForKind::Serial: return "serial";
  case ForKind::Parallel: return "parallel";
  case ForKind::Vectorized: return "vectorized";
  case ForKind::Unrolled: return "unrolled";
  case ForKind::GpuBlockX: return "gpu_block_x";
  case ForKind::GpuBlockY: return "gpu_block_y";
  case ForKind::GpuBlockZ: return "gpu_block_z";
  case ForKind::GpuThreadX: return "gpu_thread_x";
  case ForKind::GpuThreadY: return "gpu_thread_y";
  case ForKind::GpuThreadZ: return "gpu_thread_z";
  }
  return "?";
}

Stmt For::make(std::string name, Expr min, Expr extent, ForKind kind, Stmt body) {
  internal_check(!name.empty(), "For: empty loop name");
  check_int(min, "For", "min");
  check_int(extent, "For", "extent");
  check_scalar(min, "For", "min");
  check_scalar(extent, "For", "extent");
  internal_check(body.defined(), "For " + name + ": undefined body");
  return Stmt(std::make_shared<const For>(std::move(name), std::move(min), std::move(extent), kind,
                                          std::move(body)));
}

Stmt Store::make(BufferRef buffer, std::vector<Expr> indices, Expr value, bool accumulate) {
  check_indices(buffer, indices, "Store");
  check_defined(value, "Store", "value");
  internal_check(value.type() == ScalarType::Float, "Store to " + buffer->name + ": value must be fp32");
  internal_check(value.lanes() == access_lanes(indices, "Store to " + buffer->name),
                 "Store to " + buffer->name + ": value and indices differ in lanes");
  return Stmt(std::make_shared<const Store>(std::move(buffer), std::move(indices), std::move(value),
                                            accumulate));
}

Stmt Allocate::make(BufferRef buffer, Stmt body) {
  internal_check(buffer && buffer->scope != MemoryScope::Param, "Allocate: a parameter buffer");
  internal_check(body.defined(), "Allocate: undefined body");
  return Stmt(std::make_shared<const Allocate>(std::move(buffer), std::move(body)));
}

Stmt IfThenElse::make(Expr cond, Stmt then_case, Stmt else_case) {
  check_defined(cond, "IfThenElse", "cond");
  internal_check(cond.type() == ScalarType::Bool, "IfThenElse: condition must be a boolean");
  check_scalar(cond, "IfThenElse", "cond");
  internal_check(then_case.defined(), "IfThenElse: undefined then_case");
  return Stmt(std::make_shared<const IfThenElse>(std::move(cond), std::move(then_case),
                                                 std::move(else_case)));
}

Stmt Block::make(std::vector<Stmt> stmts) {
  std::vector<Stmt> flat;
  for (Stmt& s : stmts) {
    internal_check(s.defined(), "Block: undefined statement");
    if (const Block* b = s.as<Block>()) {
      flat.insert(flat.end(), b->stmts.begin(), b->stmts.end());
    } else {
      flat.push_back(std::move(s));
    }
  }
  internal_check(!flat.empty(), "Block: no statements");
  if (flat.size() == 1) return flat.front();
  return Stmt(std::make_shared<const Block>(std::move(flat)));
}

Stmt Barrier::make() { return Stmt(std::make_shared<const Barrier>()); }

Stmt LetStmt::make(std::string name, Expr value, Stmt body) {
  internal_check(!name.empty(), "LetStmt: empty name");
  check_int(value, "LetStmt", "value");
  check_scalar(value, "LetStmt", "value");
  internal_check(body.defined(), "LetStmt " + name + ": undefined body");
  return Stmt(std::make_shared<const LetStmt>(std::move(name), std::move(value), std::move(body)));
}

const char* to_string(StageKind kind) {
  switch (kind) {
  case StageKind::PackInput: return "pack_input";
  case StageKind::PackWeights: return "pack_weights";
  case StageKind::Compute: return "compute";
  case StageKind::UnpackOutput: return "unpack_output";
  }
  return "?";
}

LoopNest LoopNest::single(std::string name, BufferRef input, BufferRef weights, BufferRef output, Stmt body) {
  LoopNest nest;
  nest.name = std::move(name);
  nest.params = {{std::move(input), "NCHW", false}, {std::move(weights), "KCRS", false}, {std::move(output), "NKPQ", true}};
  nest.stages.push_back({"compute", StageKind::Compute, std::move(body)});
  return nest;
}

const NestStage& LoopNest::compute() const {
  for (const NestStage& s : stages) {
    if (s.kind == StageKind::Compute) return s;
  }
  throw InternalError("loop nest " + name + " has no compute stage");
}

const NestParam* find_param(const std::vector<NestParam>& params, const std::string& name) {
  for (const NestParam& p : params) {
    if (p.buffer->name == name) return &p;
  }
  return nullptr;
}

BufferRef LoopNest::param(const std::string& param_name) const {
  const NestParam* p = find_param(params, param_name);
  return p ? p->buffer : nullptr;
}

std::vector<BufferRef> LoopNest::all_buffers() const {
  std::vector<BufferRef> all;
  for (const NestParam& p : params) all.push_back(p.buffer);
  all.insert(all.end(), temporaries.begin(), temporaries.end());
  return all;
}

Expr operator+(Expr a, Expr b) { return Binary::make(BinaryOp::Add, std::move(a), std::move(b)); }
Expr operator-(Expr a, Expr b) { return Binary::make(BinaryOp::Sub, std::move(a), std::move(b)); }
Expr operator*(Expr a, Expr b) { return Binary::make(BinaryOp::Mul, std::move(a), std::move(b)); }
Expr operator/(Expr a, Expr b) { return Binary::make(BinaryOp::Div, std::move(a), std::move(b)); }
Expr operator%(Expr a, Expr b) { return Binary::make(BinaryOp::Mod, std::move(a), std::move(b)); }
Expr operator<(Expr a, Expr b) { return Compare::make(CompareOp::LT, std::move(a), std::move(b)); }
Expr operator<=(Expr a, Expr b) { return Compare::make(CompareOp::LE, std::move(a), std::move(b)); }
Expr operator>(Expr a, Expr b) { return Compare::make(CompareOp::GT, std::move(a), std::move(b)); }
Expr operator>=(Expr a, Expr b) { return Compare::make(CompareOp::GE, std::move(a), std::move(b)); }
Expr operator&&(Expr a, Expr b) { return Logical::make(LogicalOp::And, std::move(a), std::move(b)); }
Expr operator||(Expr a, Expr b) { return Logical::make(LogicalOp::Or, std::move(a), std::move(b)); }
Expr min(Expr a, Expr b) { return Binary::make(BinaryOp::Min, std::move(a), std::move(b)); }
Expr max(Expr a, Expr b) { return Binary::make(BinaryOp::Max, std::move(a), std::move(b)); }

Expr all_of(const std::vector<Expr>& conds) {
  Expr c;
  for (const Expr& x : conds) c = c.defined() ? (c && x) : x;
  return c;
}

} // namespace convtune
