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

// scan_chunked.cpp (machinery in scan_blocked.hpp) — the official CUDA kernel's plan: blocks of 16 channels
// (one AVX-512 or two AVX2 vectors) walk the sequence in chunks with the state in L1; the forward writes y and,
// when `saved` is given, the state entering each chunk, (b, ⌈l/chunk⌉, d_in, n); the backward recomputes a chunk's
// states from it and walks the chunks in reverse with the adjoint recurrence. softplus(Δ + bias), D·u and the
// SiLU(z) gate are fused.
struct ChunkedParams {
  // Steps per chunk. 32 and 128 measure the same; the backward keeps ~5·chunk·n·16 words of scratch per thread.
  std::int64_t chunk = 64;
};
void chunked_forward(const ScanDims& dims, const ScanInputs& in, const ScanOutputs& out, ScanSaved* saved,
                     const ChunkedParams& params = {});
void chunked_backward(const ScanDims& dims, const ScanInputs& in, const float* dout, std::int64_t ld_dout,
                      const ScanSaved& saved, const ScanGrads& grads, const ChunkedParams& params = {});

// scan_logspace.cpp — the same chunk walk, but each recurrence (the states, and the adjoint in the backward) is
// evaluated in log space: h_t = exp(S_t)·(h_base + Σ exp(−S_s)·δ_s·B_s·u_s) with S the running sum of δ·A,
// restarted at every chunk boundary and whenever |S| would exceed s_max. The parameters exist so that
// docs/numerics.md can show what each restart buys (chunk = l and s_max = ∞ is the seed's unrestarted form).
struct LogspaceParams {
  std::int64_t chunk = 64;
  float s_max = 1.0f;
};
void logspace_forward(const ScanDims& dims, const ScanInputs& in, const ScanOutputs& out, ScanSaved* saved,
                      const LogspaceParams& params = {});
void logspace_backward(const ScanDims& dims, const ScanInputs& in, const float* dout, std::int64_t ld_dout,
                       const ScanSaved& saved, const ScanGrads& grads, const LogspaceParams& params = {});

}  // namespace tinymamba::scan
