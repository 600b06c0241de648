// kind "mamba_train": a few AdamW steps of the official code and a greedy continuation.
//   From the stored parameters (official names) and config_official: `steps` updates on input_ids with the
//   metadata's optimizer (lr, betas, eps, weight_decay, clip_grad_norm; no schedule), through train::TrainStep —
//   the code `tinymamba train` runs. Compared: losses[i] (before update i), grad_norms[i] (before clipping) and
//   every final.<name>. And greedy_ids: the continuation of prompt_ids (the prompt is not repeated in it) from
//   the STARTING parameters, by the official generation pattern — a parallel prefill with an inference state,
//   then one lm_step per token, argmax with ties to the lowest id — token for token.
//
// Tolerances (derived from ../shared/golden/README.md's float32 figures; none of these tensors has a float64 twin):
//   losses, grad_norms — forward / gradient quantities: the official float32 loss sits 4e-8..7e-8 relative from
//     float64 and gradients within 1.4e-6·max|ref|. After k updates our parameters differ from the official
//     ones by ~1e-7 relative on all but a few entries (below), which moves the loss by as little. Bound, per
//     entry: |ours − ref| ≤ 1e-5·|ref| (the README's suggested check). Measured on ../shared/golden: 4.1e-7 for
//     the losses, 2.7e-6 for the grad norms (relative; the worst are late updates, after the parameters drifted);
//     with the chunked and logspace scans (measured on a merge with the scans branch) at most 5.1e-7 and 2.9e-6.
//   final.<name> — two checks per tensor:
//     (1) ‖ours − ref‖₂ ≤ 3e-3 · ‖ref − start‖₂: the error relative to how far the optimizer moved the tensor.
//         AdamW's step lr·m̂/(√v̂ + ε) does not shrink with the gradient, so a float32 error of relative size
//         δ in a gradient becomes an error of ~lr·δ in the step: ~1e-6 of the movement for ordinary entries.
//         Entries whose gradient is itself at float32-noise level (a sum of terms ~1e-4 cancelling to ~1e-9,
//         known only to ~10%) get a step of essentially arbitrary size in [−lr, lr] — on ../shared/golden one
//         x_proj entry of layer 1 (C row 7) has g = −3.7e-9 at update 1 with ε = 1e-8, and ends 3.3e-5 (0.011·lr)
//         from the official value, after which its later gradients differ as well. Measured worst ratio: 2.6e-5
//         (that tensor); every other tensor <= 7.0e-6. Chunked / logspace scans: 3.4e-5 / 4.3e-5.
//     (2) max|ours − ref| ≤ lr: no entry may be off by more than one full AdamW step (the most a noise-level
//         gradient can move an entry in one update); measured worst 3.3e-5 = 0.011·lr (chunked 4.4e-5,
//         logspace 5.5e-5 = 0.018·lr).
//     A quick experiment (docs/training.md) ran the same 10 updates with deliberate mistakes; check (1) reports
//     decay on A_log 0.35, no bias correction 0.18, clipping off 0.13, ε inside the square root 0.93, L2 decay
//     instead of decoupled 2.2, decay on every tensor 0.77, no bias correction of v 1.3, lr 1% high 0.028,
//     β2 0.999 0.022 — every one at least 7x over the bound, which sits 100x above what the right optimizer does
//     (2.6e-5).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "golden.hpp"
#include "tinymamba/core/json.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/io/config_json.hpp"
#include "tinymamba/model/lm.hpp"
#include "tinymamba/model/lm_step.hpp"
#include "tinymamba/train/trainer.hpp"

namespace tinymamba::golden {
namespace {

struct OptimizerSettings {
  double lr, beta1, beta2, eps, weight_decay, clip;
  std::int64_t steps;
};

OptimizerSettings parse_optimizer(const Case& c) {
  const std::string src = c.relative + " optimizer";
  const nlohmann::json j = parse_json(meta(c, "optimizer"), src);
  try {
    const auto betas = j.at("betas").get<std::vector<double>>();
    TM_CHECK(betas.size() == 2, src, ": betas must hold two numbers");
    return {j.at("lr").get<double>(),           betas[0], betas[1], j.at("eps").get<double>(),
            j.at("weight_decay").get<double>(), j.value("clip_grad_norm", 0.0), j.at("steps").get<std::int64_t>()};
  } catch (const nlohmann::json::exception& e) {
    fail(src, ": ", e.what());
  }
}


void add(CaseReport& report, TensorReport tr, const std::string& detail) {
  if (!tr.pass) {
    report.status = "fail";
    ADD_FAILURE() << report.file << ": " << tr.name << " = " << tr.max_abs_err << " > bound " << tr.bound << "; "
                  << detail;
  }
  report.tensors.push_back(std::move(tr));
}

// max_i |got_i − want_i| / |want_i| ≤ bound (reported as the error and bound of "<name> [relative]").
void check_relative(CaseReport& report, const Case& c, const std::string& name, const std::vector<float>& got,
                    double bound, const std::string& label) {
  const auto want = f32(c, name);
  ASSERT_EQ(got.size(), want.size()) << c.relative << ": " << name;
  TensorReport tr{.name = name + " [relative]" + label, .bound = bound};
  std::size_t worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    tr.max_abs_ref = std::max(tr.max_abs_ref, static_cast<double>(std::fabs(want[i])));
    const double rel = std::fabs(static_cast<double>(got[i]) - want[i]) / std::max(1e-30, std::fabs(static_cast<double>(want[i])));
    if (rel > tr.max_abs_err || std::isnan(rel)) tr.max_abs_err = std::isnan(rel) ? INFINITY : rel, worst = i;
  }
  tr.pass = tr.max_abs_err <= bound;
  add(report, tr, cat("worst index ", worst, ": got ", got[worst], ", want ", want[worst]));
}

// ‖got − want‖₂ / ‖want − start‖₂ ≤ bound: the error relative to the optimizer's movement of the tensor
// (reported as the error and bound of "<name> [error/movement]").
void check_movement(CaseReport& report, const Case& c, const std::string& name, const std::vector<float>& got,
                    const std::vector<float>& start, double bound, const std::string& label) {
  const auto want = f32(c, name);
  ASSERT_EQ(got.size(), want.size()) << c.relative << ": " << name;
  double err2 = 0, moved2 = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double e = static_cast<double>(got[i]) - want[i], d = static_cast<double>(want[i]) - start[i];
    err2 += e * e;
    moved2 += d * d;
  }
  TensorReport tr{.name = name + " [error/movement]" + label, .max_abs_ref = std::sqrt(moved2), .bound = bound};
  // A tensor the optimizer did not move must come out unmoved (up to the rounding of the decay factor).
  tr.max_abs_err = moved2 > 0 ? std::sqrt(err2 / moved2) : (err2 > 0 ? INFINITY : 0.0);
  tr.pass = tr.max_abs_err <= bound;
  add(report, tr, cat("|error| ", std::sqrt(err2), ", |movement| ", std::sqrt(moved2)));
}

void run_train_case(const Case& c, CaseReport& report) {
  const Config config = parse_official_config(meta(c, "config_official"), c.relative + " config_official");
  const OptimizerSettings o = parse_optimizer(c);
  std::int64_t B = 0, L = 0;
  const auto ids = ids_of(c, "input_ids", B, L);

  // Greedy continuation from the starting parameters.
  check_greedy_ids(c, model_from_tensors(config, c.file.tensors, c.relative, /*ignore_extra=*/true), report);

  for (const ScanAlgorithm algo : all_scan_algorithms()) {
    const std::string label = algo == kDefaultScan ? "" : " [scan=" + std::string(scan_algorithm_name(algo)) + "]";
    Model model = model_from_tensors(config, c.file.tensors, c.relative, /*ignore_extra=*/true);
    train::AdamW opt(model.layout, parameter_buffer_size(model.layout),  // TrainStep makes the model own its weights
                     {.beta1 = o.beta1, .beta2 = o.beta2, .eps = o.eps, .weight_decay = o.weight_decay},
                     train::decay_flags(model.layout));
    train::TrainStep step(model, opt, o.clip, algo);
    std::vector<float> losses, norms;
    for (std::int64_t s = 0; s < o.steps; ++s) {
      const auto r = step.run(ids, B, L, 1, o.lr);
      losses.push_back(static_cast<float>(r.loss));
      norms.push_back(static_cast<float>(r.grad_norm));
    }
    check_relative(report, c, "losses", losses, 1e-5, label);
    check_relative(report, c, "grad_norms", norms, 1e-5, label);
    for (const auto& p : model.layout) {
      const std::string name = "final." + p.name;
      if (!has(c, name)) continue;
      const std::vector<float> got(model.params.begin() + p.offset, model.params.begin() + p.offset + p.numel);
      check_bound(report, c, name, got, o.lr, label);
      check_movement(report, c, name, got, f32(c, p.name), 3e-3, label);
    }
  }
}

const HandlerRegistration reg("mamba_train", run_train_case);

}  // namespace
}  // namespace tinymamba::golden
