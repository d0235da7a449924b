/// \file The loop-nest IR: immutable expression and statement nodes built through factories.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace convtune {

/// Every node kind, in one list; the visitor, the mutator and the printer switch over it.
enum class NodeKind {
  // expressions
  IntImm, FloatImm, Var, Binary, Compare, Logical, Not, Select, Load, Ramp, Broadcast,
  // statements
  For, Store, Allocate, IfThenElse, Block, LetStmt, Barrier,
};

enum class ScalarType { Int, Float, Bool };

struct Node {
  explicit Node(NodeKind k) : kind(k) {}
  virtual ~Node() = default;
  const NodeKind kind;
};

/// An expression's value: one scalar, or a vector of `lanes` of them (what the vectorize
/// pass makes of a vectorized loop's body; before it every expression has one lane).
struct ExprNode : Node {
  ExprNode(NodeKind k, ScalarType t, int l = 1) : Node(k), type(t), lanes(l) {}
  const ScalarType type;
  const int lanes;
};
struct StmtNode : Node {
  using Node::Node;
};

/// A handle to an immutable expression; cheap to copy, compared by pointer.
class Expr {
public:
  Expr() = default;
  Expr(std::shared_ptr<const ExprNode> n) : node_(std::move(n)) {}
  Expr(int64_t v);  ///< an IntImm
  Expr(int v) : Expr(int64_t(v)) {}
  const ExprNode* get() const { return node_.get(); }
  const ExprNode* operator->() const { return node_.get(); }
  bool defined() const { return node_ != nullptr; }
  bool same_as(const Expr& o) const { return node_ == o.node_; }
  ScalarType type() const { return node_->type; }
  int lanes() const { return node_->lanes; }
  NodeKind kind() const { return node_->kind; }
  /// The node as T (T::kind_v must match); nullptr when it is another kind.
  template <class T> const T* as() const {
    return node_ && node_->kind == T::kind_v ? static_cast<const T*>(node_.get()) : nullptr;
  }

private:
  std::shared_ptr<const ExprNode> node_;
};

/// A handle to an immutable statement.
class Stmt {
public:
  Stmt() = default;
  Stmt(std::shared_ptr<const StmtNode> n) : node_(std::move(n)) {}
  const StmtNode* get() const { return node_.get(); }
  const StmtNode* operator->() const { return node_.get(); }
  bool defined() const { return node_ != nullptr; }
  bool same_as(const Stmt& o) const { return node_ == o.node_; }
  NodeKind kind() const { return node_->kind; }
  template <class T> const T* as() const {
    return node_ && node_->kind == T::kind_v ? static_cast<const T*>(node_.get()) : nullptr;
  }

private:
  std::shared_ptr<const StmtNode> node_;
};

/// Where a buffer lives. Params are the function's arguments; the rest are allocated.
/// Where a buffer lives. Constant: a table of values fixed at compile time (a transform's
/// coefficients), read-only, emitted as a global of the module.
enum class MemoryScope { Param, Stack, Heap, GpuShared, Constant };

/// The GpuShared memory one GPU block may hold without asking the driver for more (every
/// architecture from sm_50 on): what the scheduling pass allows a block and templates size for.
constexpr int64_t kGpuSharedBytesPerBlock = 48 * 1024;

/// A dense, row-major fp32 tensor: its name, its extents, where it lives.
struct Buffer {
  std::string name;
  std::vector<int64_t> shape;
  MemoryScope scope = MemoryScope::Param;
  /// It re-lays out a tensor and holds, outside that tensor's extent, the identity of the fold
  /// that reads it (zeros for a sum, -infinity for a max): a read there changes no result, so
  /// a reduction's tail may run into it unguarded (compiler/tail_guards).
  bool exterior_identity = false;
  std::vector<double> values{};  ///< a Constant buffer's elements, row-major
  /// Float for tensors; Int only for a Constant table of indices (a sparse pattern's taps),
  /// whose loads are integers index math can use.
  ScalarType element = ScalarType::Float;
  int64_t elements() const;
};
using BufferRef = std::shared_ptr<const Buffer>;
BufferRef make_buffer(std::string name, std::vector<int64_t> shape, MemoryScope scope, bool exterior_identity = false);
/// A Constant buffer holding `values` (row-major, as many as the shape has elements).
BufferRef make_constant(std::string name, std::vector<int64_t> shape, std::vector<double> values);
/// A Constant table of integers (each within int32), for index math.
BufferRef make_index_table(std::string name, std::vector<int64_t> shape, const std::vector<int64_t>& values);

/// An integer name bound over a statement, e.g. the input row `ih` of a convolution.
using LetBinding = std::pair<std::string, Expr>;

// ---- expressions ------------------------------------------------------------------------

struct IntImm : ExprNode {
  static constexpr NodeKind kind_v = NodeKind::IntImm;
  explicit IntImm(int64_t v) : ExprNode(kind_v, ScalarType::Int), value(v) {}
  const int64_t value;
  static Expr make(int64_t v);
};

struct FloatImm : ExprNode {
  static constexpr NodeKind kind_v = NodeKind::FloatImm;
  explicit FloatImm(double v) : ExprNode(kind_v, ScalarType::Float), value(v) {}
  const double value;
  static Expr make(double v);
};

/// A loop variable or a let-bound name; always an integer.
struct Var : ExprNode {
  static constexpr NodeKind kind_v = NodeKind::Var;
  explicit Var(std::string n) : ExprNode(kind_v, ScalarType::Int), name(std::move(n)) {}
  const std::string name;
  static Expr make(std::string name);
};

/// Integer division and modulo round towards negative infinity (the remainder has the
/// divisor's sign), so index arithmetic stays correct for negative offsets such as padding.
enum class BinaryOp { Add, Sub, Mul, Div, Mod, Min, Max };
struct Binary : ExprNode {
  static constexpr NodeKind kind_v = NodeKind::Binary;
  Binary(BinaryOp o, Expr x, Expr y, ScalarType t)
      : ExprNode(kind_v, t, x.lanes()), op(o), a(std::move(x)), b(std::move(y)) {}
  const BinaryOp op;
  const Expr a, b;
  /// Both operands must have the same type (Int or Float) and lanes; Mod is integer-only.
  static Expr make(BinaryOp op, Expr a, Expr b);
};

enum class CompareOp { EQ, NE, LT, LE, GT, GE };
struct Compare : ExprNode {
  static constexpr NodeKind kind_v = NodeKind::Compare;
  Compare(CompareOp o, Expr x, Expr y)
      : ExprNode(kind_v, ScalarType::Bool, x.lanes()), op(o), a(std::move(x)), b(std::move(y)) {}
  const CompareOp op;
  const Expr a, b;
  static Expr make(CompareOp op, Expr a, Expr b);
};

enum class LogicalOp { And, Or };
struct Logical : ExprNode {
  static constexpr NodeKind kind_v = NodeKind::Logical;
  Logical(LogicalOp o, Expr x, Expr y)
      : ExprNode(kind_v, ScalarType::Bool, x.lanes()), op(o), a(std::move(x)), b(std::move(y)) {}
  const LogicalOp op;
  const Expr a, b;
  static Expr make(LogicalOp op, Expr a, Expr b);
};

struct Not : ExprNode {
  static constexpr NodeKind kind_v = NodeKind::Not;
  explicit Not(Expr x) : ExprNode(kind_v, ScalarType::Bool, x.lanes()), a(std::move(x)) {}
  const Expr a;
  static Expr make(Expr a);
};

/// cond ? t : f. Both sides are evaluated, so neither may load out of bounds. A scalar
/// condition may choose between vectors; a vector one chooses lane by lane.
struct Select : ExprNode {
  static constexpr NodeKind kind_v = NodeKind::Select;
  Select(Expr c, Expr t, Expr f, ScalarType ty)
      : ExprNode(kind_v, ty, t.lanes()), cond(std::move(c)), true_value(std::move(t)), false_value(std::move(f)) {}
  const Expr cond, true_value, false_value;
  static Expr make(Expr cond, Expr true_value, Expr false_value);
};

/// An element of a buffer (fp32, or an integer of an index table), one index per dimension.
/// With vector indices (each a ramp, a broadcast or a scalar) it loads one element per lane.
struct Load : ExprNode {
  static constexpr NodeKind kind_v = NodeKind::Load;
  Load(BufferRef b, std::vector<Expr> idx, int l)
      : ExprNode(kind_v, b->element, l), buffer(std::move(b)), indices(std::move(idx)) {}
  const BufferRef buffer;
  const std::vector<Expr> indices;
  static Expr make(BufferRef buffer, std::vector<Expr> indices);
};

/// The integers base, base + stride, ..., base + (lanes - 1) * stride: a vectorized loop's
/// variable and the affine index math over it. `base` is a scalar.
struct Ramp : ExprNode {
  static constexpr NodeKind kind_v = NodeKind::Ramp;
  Ramp(Expr b, int64_t s, int l) : ExprNode(kind_v, ScalarType::Int, l), base(std::move(b)), stride(s) {}
  const Expr base;
  const int64_t stride;
  static Expr make(Expr base, int64_t stride, int lanes);
};

/// A scalar repeated in every lane.
struct Broadcast : ExprNode {
  static constexpr NodeKind kind_v = NodeKind::Broadcast;
  Broadcast(Expr v, int l) : ExprNode(kind_v, v.type(), l), value(std::move(v)) {}
  const Expr value;
  static Expr make(Expr value, int lanes);
};

// ---- statements -------------------------------------------------------------------------

/// How a loop runs. GPU kinds bind the loop variable to a block or thread index.
enum class ForKind { Serial, Parallel, Vectorized, Unrolled, GpuBlockX, GpuBlockY, GpuBlockZ,
                     GpuThreadX, GpuThreadY, GpuThreadZ };
const char* to_string(ForKind kind);
bool is_gpu_block(ForKind kind);
bool is_gpu_thread(ForKind kind);

/// for (name = min; name < min + extent; ++name) body
struct For : StmtNode {
  static constexpr NodeKind kind_v = NodeKind::For;
  For(std::string n, Expr mn, Expr ext, ForKind k, Stmt b)
      : StmtNode(kind_v), name(std::move(n)), min(std::move(mn)), extent(std::move(ext)),
        for_kind(k), body(std::move(b)) {}
  const std::string name;
  const Expr min, extent;
  const ForKind for_kind;
  const Stmt body;
  static Stmt make(std::string name, Expr min, Expr extent, ForKind kind, Stmt body);
};

/// buffer[indices] = value, or += value when `accumulate`. With vector indices the value has
/// as many lanes, and each lane's address must differ from the others'.
struct Store : StmtNode {
  static constexpr NodeKind kind_v = NodeKind::Store;
  Store(BufferRef b, std::vector<Expr> idx, Expr v, bool acc)
      : StmtNode(kind_v), buffer(std::move(b)), indices(std::move(idx)), value(std::move(v)),
        accumulate(acc) {}
  const BufferRef buffer;
  const std::vector<Expr> indices;
  const Expr value;
  const bool accumulate;
  static Stmt make(BufferRef buffer, std::vector<Expr> indices, Expr value, bool accumulate);
};

/// A local buffer that exists only inside `body` (registers/stack, heap or GPU shared memory).
struct Allocate : StmtNode {
  static constexpr NodeKind kind_v = NodeKind::Allocate;
  Allocate(BufferRef b, Stmt bd) : StmtNode(kind_v), buffer(std::move(b)), body(std::move(bd)) {}
  const BufferRef buffer;
  const Stmt body;
  static Stmt make(BufferRef buffer, Stmt body);
};

struct IfThenElse : StmtNode {
  static constexpr NodeKind kind_v = NodeKind::IfThenElse;
  IfThenElse(Expr c, Stmt t, Stmt e)
      : StmtNode(kind_v), cond(std::move(c)), then_case(std::move(t)), else_case(std::move(e)) {}
  const Expr cond;
  const Stmt then_case, else_case;  ///< else_case may be undefined
  static Stmt make(Expr cond, Stmt then_case, Stmt else_case = Stmt());
};

struct Block : StmtNode {
  static constexpr NodeKind kind_v = NodeKind::Block;
  explicit Block(std::vector<Stmt> s) : StmtNode(kind_v), stmts(std::move(s)) {}
  const std::vector<Stmt> stmts;
  /// Flattens nested blocks; a single statement is returned as is.
  static Stmt make(std::vector<Stmt> stmts);
};

/// let name = value (an integer) in body.
struct LetStmt : StmtNode {
  static constexpr NodeKind kind_v = NodeKind::LetStmt;
  LetStmt(std::string n, Expr v, Stmt b)
      : StmtNode(kind_v), name(std::move(n)), value(std::move(v)), body(std::move(b)) {}
  const std::string name;
  const Expr value;
  const Stmt body;
  static Stmt make(std::string name, Expr value, Stmt body);
};

/// A barrier of a GPU block's threads: none goes on until every thread of the block reached
/// it, and their shared-memory stores before it are visible to the loads after it. Every
/// thread must reach the same barriers (never inside control flow that depends on the thread).
struct Barrier : StmtNode {
  static constexpr NodeKind kind_v = NodeKind::Barrier;
  Barrier() : StmtNode(kind_v) {}
  static Stmt make();
};

// ---- building helpers -------------------------------------------------------------------

Expr operator+(Expr a, Expr b);
Expr operator-(Expr a, Expr b);
Expr operator*(Expr a, Expr b);
Expr operator/(Expr a, Expr b);
Expr operator%(Expr a, Expr b);
Expr operator<(Expr a, Expr b);
Expr operator<=(Expr a, Expr b);
Expr operator>(Expr a, Expr b);
Expr operator>=(Expr a, Expr b);
Expr operator&&(Expr a, Expr b);
Expr operator||(Expr a, Expr b);
Expr min(Expr a, Expr b);
Expr max(Expr a, Expr b);
/// The conjunction of `conds`; undefined (no condition) when there are none.
Expr all_of(const std::vector<Expr>& conds);

/// What a stage of a nest does. Layout stages move data between the C ABI's dense tensors
/// and the blocked layouts the compute stage reads; their cost is reported apart.
enum class StageKind { PackInput, PackWeights, Compute, UnpackOutput };
const char* to_string(StageKind kind);

/// A dimension of the definition a scheduled stage computes. Where the schedule split or fused
/// it, a let of its name binds it inside the stage's loops, and a split tail can take that let
/// past `extent`.
struct StageDim {
  std::string name;
  int64_t extent = 1;
  bool reduction = false;  ///< a dimension of the stage's update (summed or maxed over)
  bool exact = false;      ///< past its extent lie other points' data (a group's channels)
};

/// The box of a buffer a stage reads: per dimension, the first and last index (inclusive).
/// `bounded` is false when some index has no bound the analysis could find.
struct AccessBox {
  BufferRef buffer;
  std::vector<int64_t> lo, hi;
  bool bounded = true;
};

/// One step of a nest: a statement over the nest's buffers, run after the previous one.
struct NestStage {
  std::string name;
  StageKind kind = StageKind::Compute;
  Stmt body;
  // What the passes after scheduling need of a scheduled stage's definition (empty for the
  // stages written whole, which carry their own guards):
  std::vector<StageDim> dims{};  ///< its dimensions (compiler/tail_guards)
  BufferRef boundary{};          ///< the tensor whose reads outside it the fold skips (compiler/padding)
  std::vector<AccessBox> reads{};  ///< filled by compiler/bounds_inference, read by compiler/storage
  std::vector<AccessBox> writes{};  ///< the same for the buffers it stores to
};

/// A parameter of the kernel: a dense row-major fp32 tensor the caller owns.
struct NestParam {
  BufferRef buffer;
  std::string layout;    ///< its dimensions outermost first, e.g. "NCHW", "KCRS", "K", "NKPQ"
  bool written = false;  ///< the kernel writes it (an output); the others are only read
};

/// The parameter of `params` named `name`; nullptr when there is none.
const NestParam* find_param(const std::vector<NestParam>& params, const std::string& name);

/// A parameter the nest keeps re-laid out in a temporary (compiler/layout_packing): blocks
/// of some dimensions moved innermost, an exterior (padding) around others. A caller that keeps
/// the tensor in this layout between kernels can skip the conversion (ir/kernel_abi.h).
struct PackedLayout {
  BufferRef packed;    ///< the temporary
  BufferRef original;  ///< the parameter
  std::string layout;  ///< the parameter's dimension letters, e.g. "NCHW"
  std::vector<std::pair<size_t, int64_t>> blocks;  ///< (dimension, block), inner blocks in order
  std::vector<int64_t> offsets;  ///< per dimension of the parameter: the exterior before index 0
  double exterior_value = 0;     ///< what the temporary holds outside the parameter (read ones)
  bool written = false;          ///< the kernel writes the parameter from it (an unpack stage)
  bool plain = true;             ///< that conversion only moves values (no epilogue computed in it)
};

/// The function a nest lowers to: the parameters (inputs, then the output), the temporaries
/// it keeps in its workspace, and its stages in the order they run (see ir/kernel_abi.h).
struct LoopNest {
  std::string name;
  std::vector<NestParam> params;
  std::vector<BufferRef> temporaries;
  std::vector<NestStage> stages;
  std::vector<PackedLayout> layouts;  ///< the parameters kept re-laid out in temporaries

  /// A convolution's nest: input (NCHW), weights (KCRS), output (NKPQ), one compute stage.
  static LoopNest single(std::string name, BufferRef input, BufferRef weights, BufferRef output, Stmt body);
  /// The parameter named `name`; nullptr when there is none.
  BufferRef param(const std::string& name) const;
  /// The compute stage (InternalError when there is none).
  const NestStage& compute() const;
  /// Parameters then temporaries: the order of the buffer table the stage functions take.
  std::vector<BufferRef> all_buffers() const;
};

} // namespace convtune
