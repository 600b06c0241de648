#include "tinymamba/ops/ssd/ssd_scan.hpp"

#include "tinymamba/core/error.hpp"
#include "tinymamba/ops/ssd/ssd_algorithms.hpp"

namespace tinymamba {

std::span<const SsdAlgorithm> all_ssd_algorithms() {
  static constexpr SsdAlgorithm kAll[] = {SsdAlgorithm::sequential, SsdAlgorithm::chunked};
  return kAll;
}

std::string_view ssd_algorithm_name(SsdAlgorithm a) {
  switch (a) {
    case SsdAlgorithm::sequential: return "sequential";
    case SsdAlgorithm::chunked: return "chunked";
  }
  return "?";
}

SsdAlgorithm parse_ssd_algorithm(std::string_view name) {
  std::string accepted;
  for (const SsdAlgorithm a : all_ssd_algorithms()) {
    if (name == ssd_algorithm_name(a)) return a;
    accepted += (accepted.empty() ? "" : ", ") + std::string(ssd_algorithm_name(a));
  }
  fail("unknown SSD scan algorithm '", name, "' (expected one of: ", accepted, ")");
}

void check_ssd_dims(const SsdDims& d) {
  TM_CHECK(d.batch >= 0 && d.len >= 0, "SSD scan: batch and length must be non-negative, got ", d.batch, " and ",
           d.len);
  TM_CHECK(d.nheads > 0 && d.headdim > 0 && d.ngroups > 0 && d.d_state > 0,
           "SSD scan: nheads, headdim, ngroups and d_state must be positive, got ", d.nheads, ", ", d.headdim, ", ",
           d.ngroups, ", ", d.d_state);
  TM_CHECK(d.nheads % d.ngroups == 0, "SSD scan: ngroups (", d.ngroups, ") must divide nheads (", d.nheads, ")");
  TM_CHECK(d.chunk >= 1, "SSD scan: chunk size must be at least 1, got ", d.chunk);
}

void ssd_scan_forward(SsdAlgorithm algo, const SsdDims& dims, const SsdInputs& in, const SsdOutputs& out,
                      SsdSaved* saved) {
  check_ssd_dims(dims);
  switch (algo) {
    case SsdAlgorithm::sequential: ssd::sequential_forward(dims, in, out); return;
    case SsdAlgorithm::chunked: ssd::chunked_forward(dims, in, out, saved); return;
  }
}

void ssd_scan_backward(SsdAlgorithm algo, const SsdDims& dims, const SsdInputs& in, const float* dy,
                       std::int64_t ld_dy, const float* dfinal_state, const SsdSaved& saved, const SsdGrads& grads) {
  check_ssd_dims(dims);
  switch (algo) {
    case SsdAlgorithm::sequential: ssd::sequential_backward(dims, in, dy, ld_dy, dfinal_state, grads); return;
    case SsdAlgorithm::chunked: ssd::chunked_backward(dims, in, dy, ld_dy, dfinal_state, saved, grads); return;
  }
}

}  // namespace tinymamba
