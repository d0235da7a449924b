/// \file Refusing a layer whose tensors cannot fit in memory before anything is allocated (a
/// std::bad_alloc deep inside would name nothing).
#pragma once

#include <string>

#include "ir/workload.h"

namespace convtune {

/// The bytes a command may spend on a layer's tensors: the limit set_memory_budget gave
/// (--max-memory), else the memory the kernel reports available (MemAvailable in /proc/meminfo).
double memory_budget();
/// Sets the limit (bytes > 0); 0 returns to the machine's available memory.
void set_memory_budget(double bytes);
/// Reads a size such as 512M, 8G, 1.5T or a plain number of bytes (K, M, G, T are powers of
/// 1024); UserError naming `option` and the value otherwise.
double parse_memory_size(const std::string& text, const std::string& option = "--max-memory");

/// "8.73 TiB", "512 MiB": bytes in binary units (as --max-memory reads them), 3 significant digits.
std::string bytes_text(double bytes);

/// UserError when the tensors a check of `wl` allocates (input, weights, bias, residual,
/// output, and the reference result in double with its magnitudes) exceed memory_budget():
/// "workload SPEC needs 30.6 TiB for its tensors (the largest, 'reference', is 17.5 TiB: two
/// doubles per output element); 22.9 GiB is available (--max-memory sets another limit)".
void require_memory_for(const Workload& wl);

} // namespace convtune
