/// \file The printer: exact text of hand-built nests and of a tiny conv, and operator precedence.
#include <catch2/catch.hpp>

#include <string>

#include "ir/algorithms.h"
#include "ir/ir.h"
#include "ir/ir_printer.h"
#include "ir/workload.h"
#include "tests/test_support.h"

using namespace convtune;
using convtune::testing::assign;
using convtune::testing::serial_for;
using convtune::testing::var;

TEST_CASE("printer writes every statement kind of a hand-built nest", "[ir][printer]") {
  BufferRef in = make_buffer("in", {8, 8}, MemoryScope::Param);
  BufferRef out = make_buffer("out", {8, 8}, MemoryScope::Param);
  BufferRef tmp = make_buffer("tmp", {4}, MemoryScope::Stack);
  Expr i = var("i"), j = var("j"), t = var("t");

  Stmt then_case = Store::make(out, {i, j}, Load::make(in, {i, j}) * FloatImm::make(2.0), false);
  Stmt else_case = Store::make(out, {i, j}, FloatImm::make(0.5), true);
  Stmt body = LetStmt::make("t", i * Expr(8) + j,
                            Block::make({assign(tmp, {t % Expr(4)}, 0.0),
                                         IfThenElse::make(j < Expr(7), then_case, else_case)}));
  Stmt inner = For::make("j", 0, 8, ForKind::Vectorized, body);
  Stmt nest = For::make("i", 0, 8, ForKind::Parallel, Allocate::make(tmp, inner));

  REQUIRE(to_text(nest) ==
          "parallel for (i = 0; i < 8; i++) {\n"
          "  float tmp[4];  // stack\n"
          "  vectorized for (j = 0; j < 8; j++) {\n"
          "    int64 t = i*8 + j;\n"
          "    tmp[t%4] = 0.0f;\n"
          "    if (j < 7) {\n"
          "      out[i][j] = in[i][j]*2.0f;\n"
          "    } else {\n"
          "      out[i][j] += 0.5f;\n"
          "    }\n"
          "  }\n"
          "}\n");
}

TEST_CASE("printer indents a statement by the given level", "[ir][printer]") {
  BufferRef out = make_buffer("out", {4}, MemoryScope::Param);
  Stmt loop = For::make("x", 0, 4, ForKind::Unrolled, assign(out, {var("x")}, 1.0));
  REQUIRE(to_text(loop, 2) ==
          "    unrolled for (x = 0; x < 4; x++) {\n"
          "      out[x] = 1.0f;\n"
          "    }\n");
}

TEST_CASE("printer writes a loop with a non-zero min as min + extent", "[ir][printer]") {
  BufferRef out = make_buffer("out", {16}, MemoryScope::Param);
  Expr x = var("x");
  Stmt store = assign(out, {x}, 1.0);
  REQUIRE(to_text(For::make("x", 2, 6, ForKind::Serial, store)) ==
          "for (x = 2; x < 2 + 6; x++) {\n"
          "  out[x] = 1.0f;\n"
          "}\n");
  Expr b = var("b");
  Stmt tail = For::make("x", b * Expr(4), min(Expr(4), Expr(16) - b * Expr(4)), ForKind::Serial, store);
  REQUIRE(to_text(tail) ==
          "for (x = b*4; x < b*4 + min(4, 16 - b*4); x++) {\n"
          "  out[x] = 1.0f;\n"
          "}\n");
}

TEST_CASE("printer writes a whole function with its buffer shapes", "[ir][printer]") {
  BufferRef input = make_buffer("input", {2, 3}, MemoryScope::Param);
  BufferRef output = make_buffer("output", {2}, MemoryScope::Param);
  Expr i = var("i");
  LoopNest nest = LoopNest::single("f", input, make_buffer("weights", {3}, MemoryScope::Param), output,
                                   serial_for("i", 2, Store::make(output, {i}, Load::make(input, {i, Expr(1)}), false)));
  REQUIRE(to_text(nest) ==
          "void f(const float input[2][3], const float weights[3], float output[2]) {\n"
          "  for (i = 0; i < 2; i++) {\n"
          "    output[i] = input[i][1];\n"
          "  }\n"
          "}\n");
}

TEST_CASE("printer writes the temporaries and names each stage of a multi-stage nest", "[ir][printer]") {
  BufferRef input = make_buffer("input", {4}, MemoryScope::Param);
  BufferRef output = make_buffer("output", {4}, MemoryScope::Param);
  BufferRef packed = make_buffer("packed", {2, 2}, MemoryScope::Heap);
  Expr i = var("i");
  LoopNest nest = LoopNest::single("g", input, make_buffer("weights", {1}, MemoryScope::Param), output, Stmt());
  nest.temporaries.push_back(packed);
  nest.stages = {
      {"pack", StageKind::PackInput,
       serial_for("i", 4, Store::make(packed, {i / Expr(2), i % Expr(2)}, Load::make(input, {i}), false))},
      {"compute", StageKind::Compute,
       serial_for("i", 4, Store::make(output, {i}, Load::make(packed, {i / Expr(2), i % Expr(2)}), false))}};
  REQUIRE(to_text(nest) ==
          "void g(const float input[4], const float weights[1], float output[4]) {\n"
          "  float packed[2][2];  // heap\n"
          "  // stage pack (pack_input)\n"
          "  for (i = 0; i < 4; i++) {\n"
          "    packed[i/2][i%2] = input[i];\n"
          "  }\n"
          "  // stage compute (compute)\n"
          "  for (i = 0; i < 4; i++) {\n"
          "    output[i] = packed[i/2][i%2];\n"
          "  }\n"
          "}\n");
}

TEST_CASE("printer writes the naive nest of a tiny conv exactly", "[ir][printer]") {
  Workload wl;
  wl.n = 1;
  wl.c = 2;
  wl.h = 3;
  wl.w = 3;
  wl.k = 1;
  wl.r = 2;
  wl.s = 2;
  REQUIRE(to_text(naive_nest(algorithm_for(wl), "conv")) ==
          "void conv(const float input[1][2][3][3], const float weights[1][2][2][2], float output[1][1][2][2]) {\n"
          "  for (n = 0; n < 1; n++) {\n"
          "    for (k = 0; k < 1; k++) {\n"
          "      for (p = 0; p < 2; p++) {\n"
          "        for (q = 0; q < 2; q++) {\n"
          "          output[n][k][p][q] = 0.0f;\n"
          "          for (c = 0; c < 2; c++) {\n"
          "            for (r = 0; r < 2; r++) {\n"
          "              int64 ih = p + r;\n"
          "              for (s = 0; s < 2; s++) {\n"
          "                int64 iw = q + s;\n"
          "                output[n][k][p][q] += input[n][c][ih][iw]*weights[k][c][r][s];\n"
          "              }\n"
          "            }\n"
          "          }\n"
          "        }\n"
          "      }\n"
          "    }\n"
          "  }\n"
          "}\n");
}

TEST_CASE("printer writes the padding guard, stride and dilation of a conv", "[ir][printer]") {
  Workload wl = parse_workload("n=1,c=1,h=5,k=1,r=3,stride=2,pad=1:0");
  const std::string text = to_text(naive_nest(algorithm_for(wl), "padded"));
  REQUIRE(text.find("void padded(") == 0);
  REQUIRE(text.find("int64 ih = p*2 + r - 1;\n") != std::string::npos);
  REQUIRE(text.find("int64 iw = q*2 + s;\n") != std::string::npos);
  REQUIRE(text.find("if (ih >= 0 && ih < 5) {\n") != std::string::npos);
  REQUIRE(text.find("iw >= 0") == std::string::npos);
  wl = parse_workload("n=1,c=1,h=7,k=1,r=3,dilation=2:1");
  const std::string dilated = to_text(naive_nest(algorithm_for(wl), "conv"));
  REQUIRE(dilated.find("int64 ih = p + r*2;\n") != std::string::npos);
  REQUIRE(dilated.find("if (") == std::string::npos);
}

TEST_CASE("printer parenthesizes only where precedence needs it", "[ir][printer]") {
  Expr a = var("a"), b = var("b"), c = var("c");
  REQUIRE(to_text((a + b) * c) == "(a + b)*c");
  REQUIRE(to_text(a + b * c) == "a + b*c");
  REQUIRE(to_text(a * b + c) == "a*b + c");
  REQUIRE(to_text(a - (b - c)) == "a - (b - c)");
  REQUIRE(to_text((a - b) - c) == "a - b - c");
  REQUIRE(to_text(a - (b + c)) == "a - (b + c)");
  REQUIRE(to_text(a / (b * c)) == "a/(b*c)");
  REQUIRE(to_text((a / b) * c) == "a/b*c");
  REQUIRE(to_text((a + b) % c) == "(a + b)%c");
  REQUIRE(to_text(Expr(-3) + a) == "-3 + a");
}

TEST_CASE("printer writes min and max as calls", "[ir][printer]") {
  Expr a = var("a"), b = var("b"), c = var("c");
  REQUIRE(to_text(min(a, b + c)) == "min(a, b + c)");
  REQUIRE(to_text(max(a * Expr(2), b)) == "max(a*2, b)");
  REQUIRE(to_text(min(a, b) * c) == "min(a, b)*c");
  REQUIRE(to_text(max(min(a, b), c)) == "max(min(a, b), c)");
}

TEST_CASE("printer writes comparisons, logic, not and select", "[ir][printer]") {
  Expr a = var("a"), b = var("b");
  REQUIRE(to_text(a + Expr(1) < b * Expr(2)) == "a + 1 < b*2");
  REQUIRE(to_text(a >= Expr(0) && a < Expr(5)) == "a >= 0 && a < 5");
  REQUIRE(to_text((a < Expr(0) || a > Expr(5)) && b <= Expr(3)) == "(a < 0 || a > 5) && b <= 3");
  REQUIRE(to_text(a < Expr(0) || (a > Expr(5) && b <= Expr(3))) == "a < 0 || a > 5 && b <= 3");
  REQUIRE(to_text(Not::make(a < b)) == "!(a < b)");
  REQUIRE(to_text(Compare::make(CompareOp::EQ, a, b)) == "a == b");
  REQUIRE(to_text(Compare::make(CompareOp::NE, a, b)) == "a != b");
  REQUIRE(to_text(Select::make(a < b, a, b)) == "select(a < b, a, b)");
}

TEST_CASE("printer writes float constants with a decimal point and an f", "[ir][printer]") {
  REQUIRE(to_text(FloatImm::make(0.0)) == "0.0f");
  REQUIRE(to_text(FloatImm::make(1.5)) == "1.5f");
  REQUIRE(to_text(FloatImm::make(-3.0)) == "-3.0f");
  REQUIRE(to_text(FloatImm::make(1e-10)) == "1e-10f");
}
