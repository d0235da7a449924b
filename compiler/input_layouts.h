/// \file Inputs read from a blocked layout: the last step of scheduled_nest, after padding.
///
/// A kernel of a network may read a tensor kept in another reader's blocked layout (its own
/// packing differs: a 1x1 shortcut beside a padded 3x3), or add a residual kept blocked. Every
/// load of such a parameter, written against its logical N x C x H x W shape by the algorithm,
/// the schedule and the padding guards, is re-indexed into the layout; the parameter then takes
/// the layout's storage shape. Done last, so that packing, bounds and guards keep reasoning about
/// the logical tensor, and the loads only ever touch logical elements (never the exterior).
#pragma once

#include "ir/ir.h"
#include "ir/tensor_layout.h"

namespace convtune {

/// `nest` with its parameters "input" and "residual" read from `layouts.input` and
/// `layouts.residual` where given. A parameter re-indexed so is no longer one the kernel keeps
/// packed for NAME_run_blocked (its layouts entry goes).
LoopNest read_inputs_blocked(const LoopNest& nest, const ParamLayouts& layouts);

} // namespace convtune
