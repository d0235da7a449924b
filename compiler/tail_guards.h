/// \file Tail guards: a split whose factor does not divide its loop takes the dimension's let
/// past the dimension's extent (NestStage::dims). A store below such a let gets a guard
/// `dim < extent` where the over-run would touch memory it must not (an access depends on a
/// dimension when it varies with a loop the dimension's let is made of):
/// - the dimension is exact (past it lie other points' data, e.g. the next group's channels);
/// - an access that depends on the dimension leaves its buffer (a write to the unpacked result,
///   a read of a tensor; a temporary that compiler/storage grew, or a packed layout sized by
///   its own bounds, holds the over-run);
/// - the dimension is a reduction and a read that depends on it is of a buffer without the
///   fold's identity outside its tensor (what the tail reads is folded in).
/// Otherwise the tail computes points nobody reads back (a packed result's spare rows, a tile
/// of registers). Runs after compiler/storage, whose sizes it trusts.
#pragma once

#include "ir/ir.h"

namespace convtune {

/// `nest` with the guards each scheduled stage's tails need (reduction dimensions first, then
/// pure ones, each in name order), joined to a store's existing guard.
LoopNest guard_tails(const LoopNest& nest);

} // namespace convtune
