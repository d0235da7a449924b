/// \file Printing the IR as C-like text, for `convtune show`, dumps and tests.
#pragma once

#include <string>

#include "ir/ir.h"

namespace convtune {

/// An expression as C-like text with the fewest parentheses that keep its meaning.
std::string to_text(const Expr& e);
/// A statement as indented C-like text; loop kinds other than serial prefix the `for`.
std::string to_text(const Stmt& s, int indent = 0);
/// The whole function: its signature with buffer shapes, then its body.
std::string to_text(const LoopNest& nest);

} // namespace convtune
