#include "tinymamba/ops/selective_scan.hpp"

#include "tinymamba/core/error.hpp"
#include "tinymamba/ops/scan_algorithms.hpp"

namespace tinymamba {

std::span<const ScanAlgorithm> all_scan_algorithms() {
  static constexpr ScanAlgorithm kAll[] = {ScanAlgorithm::sequential, ScanAlgorithm::logspace,
                                           ScanAlgorithm::chunked};
  return kAll;
}

std::string_view scan_algorithm_name(ScanAlgorithm a) {
  switch (a) {
    case ScanAlgorithm::sequential: return "sequential";
    case ScanAlgorithm::logspace: return "logspace";
    case ScanAlgorithm::chunked: return "chunked";
  }
  return "?";
}

ScanAlgorithm parse_scan_algorithm(std::string_view name) {
  std::string accepted;
  for (const ScanAlgorithm a : all_scan_algorithms()) {
    if (name == scan_algorithm_name(a)) return a;
    accepted += (accepted.empty() ? "" : ", ") + std::string(scan_algorithm_name(a));
  }
  fail("unknown scan algorithm '", name, "' (expected one of: ", accepted, ")");
}

void selective_scan_forward(ScanAlgorithm algo, const ScanDims& dims, const ScanInputs& in, const ScanOutputs& out,
                            ScanSaved* saved) {
  switch (algo) {
    case ScanAlgorithm::sequential: scan::sequential_forward(dims, in, out); return;
    case ScanAlgorithm::logspace: scan::logspace_forward(dims, in, out, saved); return;
    case ScanAlgorithm::chunked: scan::chunked_forward(dims, in, out, saved); return;
  }
}

void selective_scan_backward(ScanAlgorithm algo, const ScanDims& dims, const ScanInputs& in, const float* dout,
                             std::int64_t ld_dout, const ScanSaved& saved, const ScanGrads& grads) {
  switch (algo) {
    case ScanAlgorithm::sequential: scan::sequential_backward(dims, in, dout, ld_dout, grads); return;
    case ScanAlgorithm::logspace: scan::logspace_backward(dims, in, dout, ld_dout, saved, grads); return;
    case ScanAlgorithm::chunked: scan::chunked_backward(dims, in, dout, ld_dout, saved, grads); return;
  }
}

}  // namespace tinymamba
