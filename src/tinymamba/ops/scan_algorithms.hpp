// The scan algorithms behind selective_scan_forward/backward (see selective_scan.hpp for the contract).
// Each lives in its own file; the dispatcher in selective_scan.cpp picks one.
#pragma once

#include "tinymamba/ops/selective_scan.hpp"

namespace tinymamba::scan {

// scan_sequential.cpp — the plain recurrence over t for one (channel) at a time; float32 state as the official
// code, libm exp/log1p. The backward recomputes each channel's states into an (l, n) scratch row (never the
// whole (b, l, d_in, n) tensor) and runs the adjoint recurrence backwards in time.
void sequential_forward(const ScanDims& dims, const ScanInputs& in, const ScanOutputs& out);
void sequential_backward(const ScanDims& dims, const ScanInputs& in, const float* dout, std::int64_t ld_dout,
                         const ScanGrads& grads);

}  // namespace tinymamba::scan
