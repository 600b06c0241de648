// kind "selective_scan": out, last_state and every grad_* of the official selective_scan_ref, for every scan
// algorithm. Inputs absent from the file (D, z, delta_bias) are absent in the call; delta_softplus comes from
// the metadata (default True, as the official call).
#include <gtest/gtest.h>

#include "golden.hpp"
#include "tinymamba/ops/selective_scan.hpp"

namespace tinymamba::golden {
namespace {

// (b, X, l) → (b, l, X): the official layout to ours, and back.
std::vector<float> to_time_major(const std::vector<float>& v, std::int64_t b, std::int64_t x, std::int64_t l) {
  std::vector<float> out(v.size());
  for (std::int64_t i = 0; i < b; ++i)
    for (std::int64_t j = 0; j < x; ++j)
      for (std::int64_t t = 0; t < l; ++t) out[(i * l + t) * x + j] = v[(i * x + j) * l + t];
  return out;
}
std::vector<float> to_channel_major(const std::vector<float>& v, std::int64_t b, std::int64_t x, std::int64_t l) {
  std::vector<float> out(v.size());
  for (std::int64_t i = 0; i < b; ++i)
    for (std::int64_t j = 0; j < x; ++j)
      for (std::int64_t t = 0; t < l; ++t) out[(i * x + j) * l + t] = v[(i * l + t) * x + j];
  return out;
}

void run_scan_case(const Case& c, CaseReport& report) {
  const auto& ushape = c.file.tensors.at("u").shape;  // (b, d_in, l)
  const auto& Ashape = c.file.tensors.at("A").shape;  // (d_in, n)
  const std::int64_t Bn = ushape[0], E = ushape[1], L = ushape[2], N = Ashape[1];
  const std::string sp = meta(c, "delta_softplus", "True");
  ASSERT_TRUE(sp == "True" || sp == "False") << "delta_softplus metadata: " << sp;

  const auto u = to_time_major(f32(c, "u"), Bn, E, L);
  const auto delta = to_time_major(f32(c, "delta"), Bn, E, L);
  const auto dout = to_time_major(f32(c, "dout"), Bn, E, L);
  const auto Bm = to_time_major(f32(c, "B"), Bn, N, L);
  const auto Cm = to_time_major(f32(c, "C"), Bn, N, L);
  const auto A = f32(c, "A");
  const std::vector<float> D = has(c, "D") ? f32(c, "D") : std::vector<float>{};
  const std::vector<float> z = has(c, "z") ? to_time_major(f32(c, "z"), Bn, E, L) : std::vector<float>{};
  const std::vector<float> bias = has(c, "delta_bias") ? f32(c, "delta_bias") : std::vector<float>{};

  for (const ScanAlgorithm algo : all_scan_algorithms()) {
    const std::string label = algo == kDefaultScan ? "" : " [scan=" + std::string(scan_algorithm_name(algo)) + "]";
    const ScanDims dims{Bn, L, E, N};
    const ScanInputs in{.u = u.data(), .ld_u = E, .delta = delta.data(), .ld_delta = E, .A = A.data(),
                        .B = Bm.data(), .ld_B = N, .C = Cm.data(), .ld_C = N, .D = D.empty() ? nullptr : D.data(),
                        .z = z.empty() ? nullptr : z.data(), .ld_z = E,
                        .delta_bias = bias.empty() ? nullptr : bias.data(), .delta_softplus = sp == "True"};
    std::vector<float> out(u.size()), last(static_cast<std::size_t>(Bn * E * N));
    ScanSaved saved;
    selective_scan_forward(algo, dims, in, {out.data(), E, last.data()}, &saved);
    check_fidelity(report, c, "out", to_channel_major(out, Bn, E, L), label);
    check_fidelity(report, c, "last_state", last, label);

    std::vector<float> du(u.size()), dd(u.size()), dA(A.size()), dB(Bm.size()), dC(Cm.size()), dD(D.size()),
        dz(z.size()), dbias(bias.size());
    const ScanGrads g{.du = du.data(), .ld_du = E, .ddelta = dd.data(), .ld_ddelta = E, .dA = dA.data(),
                      .dB = dB.data(), .ld_dB = N, .dC = dC.data(), .ld_dC = N,
                      .dD = D.empty() ? nullptr : dD.data(), .dz = z.empty() ? nullptr : dz.data(), .ld_dz = E,
                      .ddelta_bias = bias.empty() ? nullptr : dbias.data()};
    selective_scan_backward(algo, dims, in, dout.data(), E, saved, g);
    check_fidelity(report, c, "grad_u", to_channel_major(du, Bn, E, L), label);
    check_fidelity(report, c, "grad_delta", to_channel_major(dd, Bn, E, L), label);
    check_fidelity(report, c, "grad_A", dA, label);
    check_fidelity(report, c, "grad_B", to_channel_major(dB, Bn, N, L), label);
    check_fidelity(report, c, "grad_C", to_channel_major(dC, Bn, N, L), label);
    if (!D.empty()) check_fidelity(report, c, "grad_D", dD, label);
    if (!z.empty()) check_fidelity(report, c, "grad_z", to_channel_major(dz, Bn, E, L), label);
    if (!bias.empty()) check_fidelity(report, c, "grad_delta_bias", dbias, label);
  }
}

const HandlerRegistration reg("selective_scan", run_scan_case);

}  // namespace
}  // namespace tinymamba::golden
