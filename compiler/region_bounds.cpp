/// \file Bounds inference for a stage computed at a loop (see the header).
#include "compiler/region_bounds.h"

#include <algorithm>
#include <map>

#include "ir/error.h"
#include "ir/ir_printer.h"
#include "ir/ir_visitor.h"

namespace convtune {

namespace {

/// An index as sum(coefficient * inner loop) + offset (of the outer loops) + constant.
struct Affine {
  std::map<std::string, int64_t> coefficients;
  std::vector<std::pair<Expr, int64_t>> offset;  ///< symbolic terms and their scales
  int64_t constant = 0;
};

bool decompose(const Expr& e, int64_t scale, const std::map<std::string, int64_t>& inner, Affine& out) {
  if (const IntImm* i = e.as<IntImm>()) {
    out.constant += scale * i->value;
    return true;
  }
  if (const Var* v = e.as<Var>(); v && inner.count(v->name)) {
    out.coefficients[v->name] += scale;
    return true;
  }
  if (const Binary* b = e.as<Binary>()) {
    if (b->op == BinaryOp::Add) return decompose(b->a, scale, inner, out) && decompose(b->b, scale, inner, out);
    if (b->op == BinaryOp::Sub) return decompose(b->a, scale, inner, out) && decompose(b->b, -scale, inner, out);
    if (b->op == BinaryOp::Mul) {
      if (const IntImm* c = b->b.as<IntImm>()) return decompose(b->a, scale * c->value, inner, out);
      if (const IntImm* c = b->a.as<IntImm>()) return decompose(b->b, scale * c->value, inner, out);
    }
  }
  // Anything else must not depend on the inner loops: it is a symbolic offset.
  for (const std::string& v : vars_in(e)) {
    if (inner.count(v)) return false;
  }
  out.offset.push_back({e, scale});
  return true;
}

Expr offset_expr(const Affine& a) {
  Expr sum;
  for (const auto& [e, scale] : a.offset) {
    Expr term = scale == 1 ? e : e * Expr(scale);
    sum = sum.defined() ? sum + term : term;
  }
  return sum;
}

bool same_offset(const Affine& a, const Affine& b) {
  if (a.offset.size() != b.offset.size()) return false;
  for (size_t i = 0; i < a.offset.size(); ++i) {
    if (a.offset[i].second != b.offset[i].second || !equal(a.offset[i].first, b.offset[i].first)) return false;
  }
  return true;
}

std::map<std::string, int64_t> extents_of(const InnerLoops& inner) {
  std::map<std::string, int64_t> m;
  for (const auto& [name, extent] : inner) m[name] = extent;
  return m;
}

} // namespace

std::optional<ReadRegion> read_region(const std::vector<std::vector<Expr>>& reads, const InnerLoops& inner, std::string& why) {
  internal_check(!reads.empty(), "read_region: no reads");
  const std::map<std::string, int64_t> extents = extents_of(inner);
  const size_t rank = reads.front().size();
  ReadRegion region;
  for (size_t d = 0; d < rank; ++d) {
    Affine first;
    int64_t lo = 0, hi = 0;
    for (size_t r = 0; r < reads.size(); ++r) {
      Affine a;
      if (!decompose(reads[r][d], 1, extents, a)) {
        why = "index " + to_text(reads[r][d]) + " is not affine in the loops inside";
        return std::nullopt;
      }
      if (r == 0) first = a;
      if (!same_offset(first, a)) {
        why = "indices " + to_text(reads[0][d]) + " and " + to_text(reads[r][d]) + " differ by more than a constant";
        return std::nullopt;
      }
      int64_t read_lo = a.constant, read_hi = a.constant;
      for (const auto& [name, c] : a.coefficients) {
        const int64_t span = c * (extents.at(name) - 1);
        (span < 0 ? read_lo : read_hi) += span;
      }
      lo = r == 0 ? read_lo : std::min(lo, read_lo);
      hi = r == 0 ? read_hi : std::max(hi, read_hi);
    }
    Expr offset = offset_expr(first);
    region.min.push_back(offset.defined() ? (lo == 0 ? offset : offset + Expr(lo)) : Expr(lo));
    region.extent.push_back(hi - lo + 1);
    region.min_constant.push_back(lo);
  }
  return region;
}

std::vector<Expr> index_in_region(const std::vector<Expr>& index, const ReadRegion& region, const InnerLoops& inner) {
  const std::map<std::string, int64_t> extents = extents_of(inner);
  std::vector<Expr> out;
  for (size_t d = 0; d < index.size(); ++d) {
    Affine a;
    internal_check(decompose(index[d], 1, extents, a), "index_in_region: not affine");
    Expr e = Expr(a.constant - region.min_constant[d]);
    for (const auto& [name, c] : inner) {
      auto it = a.coefficients.find(name);
      if (it == a.coefficients.end() || it->second == 0) continue;
      Expr term = it->second == 1 ? Var::make(name) : Var::make(name) * Expr(it->second);
      e = e + term;
    }
    out.push_back(e);
  }
  return out;
}

} // namespace convtune
