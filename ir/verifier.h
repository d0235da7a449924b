/// \file The verifier: is a loop nest well formed?
///
/// Checks that every variable is bound by an enclosing loop or let, that no loop or let
/// rebinds a name already in scope, that every buffer is a parameter or allocated around its
/// use, and that every load and store index stays inside the buffer's extent for all values
/// the loop ranges (narrowed by enclosing if-conditions) allow.
#pragma once

#include <string>
#include <vector>

#include "ir/ir.h"

namespace convtune {

/// Every problem found, one line each, in program order; empty when the nest is well formed.
std::vector<std::string> verify_problems(const LoopNest& nest);

/// Throws InternalError with the first problem (a bug in whatever built the nest).
void verify(const LoopNest& nest);

} // namespace convtune
