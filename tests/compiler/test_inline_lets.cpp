/// \file The let-inlining pass: affine integer lets reach the indices that use them; a let of
/// a division or a table's entry stays, computed once.
#include <catch2/catch.hpp>

#include "compiler/inline_lets.h"
#include "ir/ir_printer.h"
#include "tests/test_support.h"

using namespace convtune;
using convtune::testing::var;

TEST_CASE("inline_lets substitutes affine lets and keeps the others", "[compiler][inline_lets]") {
  const BufferRef out = make_buffer("out", {8, 16}, MemoryScope::Param);
  const BufferRef table = make_index_table("tab", {4}, {0, 3, 1, 2});
  // let p = po * 4 + 3 in let d = po / 2 in let t = tab[po] in out[p + t][d] = 1
  Stmt body = Store::make(out, {var("p") + var("t"), var("d")}, FloatImm::make(1.0), false);
  body = LetStmt::make("t", Load::make(table, {var("po")}), body);
  body = LetStmt::make("d", var("po") / Expr(2), body);
  body = LetStmt::make("p", var("po") * Expr(4) + Expr(3), body);
  const std::string text = to_text(inline_affine_lets(convtune::testing::serial_for("po", Expr(2), body)));
  INFO(text);
  CHECK(text.find("int64 p") == std::string::npos);
  CHECK(text.find("po*4 + 3 + t") != std::string::npos);
  CHECK(text.find("int64 d = po/2;") != std::string::npos);
  CHECK(text.find("int64 t = tab[po];") != std::string::npos);
}
