/// \file The Cook-Toom construction of Winograd's transforms, in exact rationals.
#include "ir/winograd.h"

#include <map>
#include <numeric>

#include "ir/error.h"

namespace convtune {

namespace {

/// An exact rational; the points and matrices here stay far from int64's range.
struct Rational {
  int64_t num = 0, den = 1;
  Rational(int64_t n = 0, int64_t d = 1) : num(n), den(d) {
    if (den < 0) num = -num, den = -den;
    const int64_t g = std::gcd(num < 0 ? -num : num, den);
    if (g > 1) num /= g, den /= g;
  }
  Rational operator+(Rational o) const { return {num * o.den + o.num * den, den * o.den}; }
  Rational operator-(Rational o) const { return {num * o.den - o.num * den, den * o.den}; }
  Rational operator*(Rational o) const { return {num * o.num, den * o.den}; }
  Rational operator/(Rational o) const { return {num * o.den, den * o.num}; }
  Rational operator-() const { return {-num, den}; }
  double value() const { return double(num) / double(den); }
};

Rational power(Rational x, int e) {
  Rational p(1);
  for (int i = 0; i < e; ++i) p = p * x;
  return p;
}

using RMatrix = std::vector<std::vector<Rational>>;

RMatrix zeros(int rows, int cols) { return RMatrix(size_t(rows), std::vector<Rational>(size_t(cols))); }

std::vector<std::vector<double>> values(const RMatrix& m) {
  std::vector<std::vector<double>> out;
  for (const auto& row : m) {
    out.emplace_back();
    for (const Rational& x : row) out.back().push_back(x.value());
  }
  return out;
}

/// F(m, 3) in one dimension from the finite points `a` (alpha - 1 of them) and infinity.
WinogradMatrices build(int m, const std::vector<Rational>& a) {
  const int r = 3, alpha = m + r - 1, n = alpha - 1;
  internal_check(int(a.size()) == n, "winograd: F(" + std::to_string(m) + ", 3) needs " + std::to_string(n) + " points");
  // f_i = prod over k != i of (a_i - a_k): the Lagrange denominators.
  std::vector<Rational> f(size_t(n), Rational(1));
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < n; ++k) {
      if (k != i) f[size_t(i)] = f[size_t(i)] * (a[size_t(i)] - a[size_t(k)]);
    }
  }
  // The scaling split between G and BT; a positive first one keeps BT's corner positive.
  std::vector<Rational> scale = f;
  if (scale[0].num < 0) scale[0] = -scale[0];
  scale.push_back(Rational(1));

  // AT (m x alpha): a_j^i at the finite points, and the infinite point's column e_{m-1}.
  RMatrix at = zeros(m, alpha);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) at[size_t(i)][size_t(j)] = power(a[size_t(j)], i);
    at[size_t(i)][size_t(n)] = Rational(i == m - 1 ? 1 : 0);
  }
  // G (alpha x 3): a_i^k / scale_i, and the infinite point's row e_2.
  RMatrix g = zeros(alpha, r);
  for (int i = 0; i < alpha; ++i) {
    for (int k = 0; k < r; ++k) g[size_t(i)][size_t(k)] = i < n ? power(a[size_t(i)], k) / scale[size_t(i)] : Rational(k == r - 1 ? 1 : 0);
  }
  // L[j][i]: the coefficient of x^j in prod over k != i of (x - a_k), over f_i; then
  // B = L [I | -a^n] with the infinite point's row e_{alpha-1} appended, and BT = scale * B^T.
  RMatrix l = zeros(n, n);
  for (int i = 0; i < n; ++i) {
    std::vector<Rational> poly = {Rational(1)};
    for (int k = 0; k < n; ++k) {
      if (k == i) continue;
      std::vector<Rational> next(poly.size() + 1);
      for (size_t d = 0; d < poly.size(); ++d) {
        next[d] = next[d] - a[size_t(k)] * poly[d];
        next[d + 1] = next[d + 1] + poly[d];
      }
      poly = next;
    }
    for (int j = 0; j < n; ++j) l[size_t(j)][size_t(i)] = poly[size_t(j)] / f[size_t(i)];
  }
  RMatrix b = zeros(alpha, alpha);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < alpha; ++j) {
      Rational s;
      for (int k = 0; k < n; ++k) {
        const Rational t = j < n ? Rational(j == k ? 1 : 0) : -power(a[size_t(k)], n);
        s = s + l[size_t(i)][size_t(k)] * t;
      }
      b[size_t(i)][size_t(j)] = s;
    }
  }
  b[size_t(n)][size_t(n)] = Rational(1);
  RMatrix bt = zeros(alpha, alpha);
  for (int i = 0; i < alpha; ++i) {
    for (int j = 0; j < alpha; ++j) bt[size_t(i)][size_t(j)] = scale[size_t(i)] * b[size_t(j)][size_t(i)];
  }
  return {m, alpha, values(at), values(g), values(bt)};
}

} // namespace

const std::vector<int>& winograd_tiles() {
  static const std::vector<int> tiles = {2, 4, 6};
  return tiles;
}

const WinogradMatrices& winograd_matrices(int m) {
  static const std::map<int, WinogradMatrices> built = [] {
    std::map<int, WinogradMatrices> out;
    out[2] = build(2, {Rational(0), Rational(1), Rational(-1)});
    out[4] = build(4, {Rational(0), Rational(1), Rational(-1), Rational(2), Rational(-2)});
    out[6] = build(6, {Rational(0), Rational(1), Rational(-1), Rational(2), Rational(-2), Rational(1, 2), Rational(-1, 2)});
    return out;
  }();
  auto it = built.find(m);
  internal_check(it != built.end(), "winograd: no F(" + std::to_string(m) + "x" + std::to_string(m) + ", 3x3)");
  return it->second;
}

} // namespace convtune
