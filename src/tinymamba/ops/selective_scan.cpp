#include "tinymamba/ops/selective_scan.hpp"

#include "tinymamba/core/error.hpp"
#include "tinymamba/ops/scan_algorithms.hpp"

namespace tinymamba {

std::span<const ScanAlgorithm> all_scan_algorithms() {
  static constexpr ScanAlgorithm kAll[] = {ScanAlgorithm::sequential};
  return kAll;
}

std::string_view scan_algorithm_name(ScanAlgorithm a) {
  switch (a) {
    case ScanAlgorithm::sequential: return "sequential";
  }
  return "?";
}

ScanAlgorithm parse_scan_algorithm(std::string_view name) {
  if (name == "sequential") return ScanAlgorithm::sequential;
  fail("unknown scan algorithm '", name, "' (expected sequential)");
}

void selective_scan_forward(ScanAlgorithm algo, const ScanDims& dims, const ScanInputs& in, const ScanOutputs& out,
                            ScanSaved* saved) {
  switch (algo) {
    case ScanAlgorithm::sequential: scan::sequential_forward(dims, in, out); return;
  }
}

void selective_scan_backward(ScanAlgorithm algo, const ScanDims& dims, const ScanInputs& in, const float* dout,
                             std::int64_t ld_dout, const ScanSaved& saved, const ScanGrads& grads) {
  switch (algo) {
    case ScanAlgorithm::sequential: scan::sequential_backward(dims, in, dout, ld_dout, grads); return;
  }
}

}  // namespace tinymamba
