// kind "mamba_lm": the tiny language model's logits, loss, every parameter gradient and the per-layer
// activations, from the parameters stored in the file and the config in its metadata, for every scan
// algorithm.
#include <gtest/gtest.h>

#include "golden.hpp"
#include "tinymamba/io/checkpoint.hpp"
#include "tinymamba/io/config_json.hpp"
#include "tinymamba/model/mamba_lm.hpp"

namespace tinymamba::golden {
namespace {

std::vector<std::int32_t> ids_of(const Case& c, const std::string& name, std::int64_t& batch, std::int64_t& len) {
  const auto& shape = c.file.tensors.at(name).shape;
  batch = shape.at(0);
  len = shape.at(1);
  const auto v = i64(c, name);
  return {v.begin(), v.end()};
}

void run_lm_case(const Case& c, CaseReport& report) {
  const Config config = parse_official_config(meta(c, "config_official"), c.relative + " config_official");
  const Model model = model_from_tensors(config, c.file.tensors, c.relative, /*ignore_extra=*/true);
  std::int64_t B = 0, L = 0;
  const auto ids = ids_of(c, "input_ids", B, L);
  const std::int64_t T = B * L, d = config.d_model;

  for (const ScanAlgorithm algo : all_scan_algorithms()) {
    const std::string label = algo == kDefaultScan ? "" : " [scan=" + std::string(scan_algorithm_name(algo)) + "]";
    Activations acts;
    lm_forward(model, ids, B, L, acts, {.scan = algo, .for_backward = true});
    check_fidelity(report, c, "logits", {acts.logits.begin(), acts.logits.end()}, label);
    check_fidelity(report, c, "loss", {static_cast<float>(lm_loss(model, ids, acts))}, label);
    for (std::int64_t i = 0; i < config.n_layer; ++i) {
      const std::string p = "act.layers." + std::to_string(i) + ".";
      if (has(c, p + "mixer_in")) check_fidelity(report, c, p + "mixer_in", {acts.normed[i].begin(), acts.normed[i].end()}, label);
      if (has(c, p + "mixer_out"))
        check_fidelity(report, c, p + "mixer_out", {acts.mixer_out[i].begin(), acts.mixer_out[i].end()}, label);
    }
    if (has(c, "act.norm_f_out")) {
      const auto& nf = acts.normed[config.n_layer];
      check_fidelity(report, c, "act.norm_f_out", {nf.begin(), nf.begin() + T * d}, label);
    }
    Buffer<float> grads(model.params.size(), 0.0f);
    lm_backward(model, ids, acts, grads.data(), algo);
    for (const auto& p : model.layout) {
      if (!has(c, "grad." + p.name)) continue;
      check_fidelity(report, c, "grad." + p.name, {grads.begin() + p.offset, grads.begin() + p.offset + p.numel}, label);
    }
  }
}

const HandlerRegistration reg("mamba_lm", run_lm_case);

}  // namespace
}  // namespace tinymamba::golden
