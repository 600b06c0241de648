// kind "ssd_scan": y, final_states and every grad_* of the official chunked SSD scan (mamba_chunk_scan_combined
// through its pure-PyTorch references), for every SSD algorithm, each with the case's chunk_size. The official
// layout (b, l, h, p) / (b, l, g, n) / (b, h, p, n) is ours, so the tensors are used as stored. Inputs absent
// from the file (D, z, dt_bias, initial_states) are absent in the call; dt_softplus and dt_limit come from the
// metadata.
//
// Tolerance: the fidelity rule of golden.hpp (3× the official float32 code's own distance from its float64
// re-run, floor 1e-6·max|f64|). The README's Mamba-2 table puts that distance at 1.3e-7 .. 7.8e-7 × max|ref| for
// y and final_states and up to 2.2e-6 × max|ref| for gradients (grad_dt, grad_dt_bias, grad_C worst): the
// chunked official reference rounds a little more than Mamba-1's sequential one, and both of our algorithms
// (one sequential, one chunked in another order) must land within 3× of it on every tensor.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "golden.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/ops/ssd/ssd_scan.hpp"

namespace tinymamba::golden {
namespace {

// dt_limit metadata: JSON [lo, hi], each a number or the string "inf" / "-inf".
float limit_value(const nlohmann::json& v) {
  if (v.is_number()) return v.get<float>();
  const std::string s = v.get<std::string>();
  if (s == "inf") return INFINITY;
  if (s == "-inf") return -INFINITY;
  throw Error("dt_limit: unexpected value '" + s + "'");
}

void run_ssd_case(const Case& c, CaseReport& report) {
  const auto& xs = c.file.tensors.at("x").shape;  // (b, l, h, p)
  const auto& bs = c.file.tensors.at("B").shape;  // (b, l, g, n)
  const std::int64_t Bn = xs[0], L = xs[1], H = xs[2], P = xs[3], G = bs[2], N = bs[3];
  const auto shapes = meta(c, "shapes");
  const auto at = shapes.find("chunk_size=");
  ASSERT_NE(at, std::string::npos) << "shapes metadata has no chunk_size: " << shapes;
  const std::int64_t chunk = std::stoll(shapes.substr(at + 11));
  const std::string sp = meta(c, "dt_softplus", "True");
  ASSERT_TRUE(sp == "True" || sp == "False") << "dt_softplus metadata: " << sp;
  const auto limit = nlohmann::json::parse(meta(c, "dt_limit", "[0.0, \"inf\"]"));

  const auto x = f32(c, "x"), dt = f32(c, "dt"), A = f32(c, "A"), Bm = f32(c, "B"), Cm = f32(c, "C");
  const auto dy = f32(c, "dy"), dfinal = f32(c, "dfinal_states");
  auto optional = [&](const char* name) { return has(c, name) ? f32(c, name) : std::vector<float>{}; };
  const auto D = optional("D"), z = optional("z"), bias = optional("dt_bias"), init = optional("initial_states");
  auto ptr = [](const std::vector<float>& v) { return v.empty() ? nullptr : v.data(); };

  for (const SsdAlgorithm algo : all_ssd_algorithms()) {
    const std::string label = algo == kDefaultSsd ? "" : " [ssd=" + std::string(ssd_algorithm_name(algo)) + "]";
    const SsdDims dims{Bn, L, H, P, G, N, chunk};
    const SsdInputs in{.x = x.data(), .ld_x = H * P, .dt = dt.data(), .ld_dt = H, .A = A.data(), .B = Bm.data(),
                       .ld_B = G * N, .C = Cm.data(), .ld_C = G * N, .D = ptr(D),
                       .D_has_hdim = static_cast<std::int64_t>(D.size()) == H * P && P > 1, .z = ptr(z),
                       .ld_z = H * P, .dt_bias = ptr(bias), .dt_softplus = sp == "True",
                       .dt_min = limit_value(limit.at(0)), .dt_max = limit_value(limit.at(1)),
                       .initial_state = ptr(init)};
    std::vector<float> y(x.size()), final_state(dfinal.size());
    SsdSaved saved;
    ssd_scan_forward(algo, dims, in, {y.data(), H * P, final_state.data()}, &saved);
    check_fidelity(report, c, "y", y, label);
    check_fidelity(report, c, "final_states", final_state, label);

    std::vector<float> dx(x.size()), ddt(dt.size()), dA(A.size()), dB(Bm.size()), dC(Cm.size()), dD(D.size()),
        dz(z.size()), dbias(bias.size()), dinit(init.size());
    const SsdGrads g{.dx = dx.data(), .ld_dx = H * P, .ddt = ddt.data(), .ld_ddt = H, .dA = dA.data(),
                     .dB = dB.data(), .ld_dB = G * N, .dC = dC.data(), .ld_dC = G * N,
                     .dD = D.empty() ? nullptr : dD.data(),
                     .dz = z.empty() ? nullptr : dz.data(), .ld_dz = H * P,
                     .ddt_bias = bias.empty() ? nullptr : dbias.data(),
                     .dinitial_state = init.empty() ? nullptr : dinit.data()};
    ssd_scan_backward(algo, dims, in, dy.data(), H * P, dfinal.data(), saved, g);
    check_fidelity(report, c, "grad_x", dx, label);
    check_fidelity(report, c, "grad_dt", ddt, label);
    check_fidelity(report, c, "grad_A", dA, label);
    check_fidelity(report, c, "grad_B", dB, label);
    check_fidelity(report, c, "grad_C", dC, label);
    if (!D.empty()) check_fidelity(report, c, "grad_D", dD, label);
    if (!z.empty()) check_fidelity(report, c, "grad_z", dz, label);
    if (!bias.empty()) check_fidelity(report, c, "grad_dt_bias", dbias, label);
    if (!init.empty()) check_fidelity(report, c, "grad_initial_states", dinit, label);
  }
}

const HandlerRegistration reg("ssd_scan", run_ssd_case);

}  // namespace
}  // namespace tinymamba::golden
