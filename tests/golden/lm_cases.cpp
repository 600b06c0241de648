// kinds "mamba_lm" and "mamba2_lm": the tiny language model's logits, loss, every parameter gradient, the
// per-layer activations, the recurrent mode (step, prefill → step, final states) and the greedy continuation,
// from the parameters stored in the file and the config in its metadata, for every scan algorithm of its mixer
// kind (Mamba-1's selective scan, Mamba-2's SSD).
#include <gtest/gtest.h>

#include "golden.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/io/config_json.hpp"
#include "tinymamba/model/lm.hpp"
#include "tinymamba/model/lm_step.hpp"

namespace tinymamba::golden {
namespace {


// The prefill length of logits_prefill_step: "first N tokens by the parallel forward ..." in the metadata.
std::int64_t prefill_length(const Case& c, std::int64_t len) {
  const std::string text = meta(c, "logits_prefill_step");
  const auto pos = text.find("first ");
  if (pos != std::string::npos) {
    std::int64_t n = 0;
    std::size_t i = pos + 6;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) n = n * 10 + (text[i++] - '0');
    if (n > 0 && n <= len) return n;
  }
  return std::min<std::int64_t>(16, len);
}

void run_lm_case(const Case& c, CaseReport& report) {
  const Config config = parse_official_config(meta(c, "config_official"), c.relative + " config_official");
  const Model model = model_from_tensors(config, c.file.tensors, c.relative, /*ignore_extra=*/true);
  std::int64_t B = 0, L = 0;
  const auto ids = ids_of(c, "input_ids", B, L);
  const std::int64_t T = B * L, d = config.d_model;

  check_greedy_ids(c, model, report);
  // Each scan algorithm of the model's mixer kind; the label names the ones that are not the default.
  std::vector<std::pair<ForwardOptions, std::string>> variants;
  if (config.mixer == MixerKind::mamba1)
    for (const ScanAlgorithm a : all_scan_algorithms())
      variants.push_back({{.scan = a}, a == kDefaultScan ? "" : " [scan=" + std::string(scan_algorithm_name(a)) + "]"});
  else
    for (const SsdAlgorithm a : all_ssd_algorithms())
      variants.push_back({{.ssd = a}, a == kDefaultSsd ? "" : " [ssd=" + std::string(ssd_algorithm_name(a)) + "]"});
  for (const auto& [variant, label] : variants) {
    const ScanAlgorithm algo = variant.scan;
    Activations acts;
    lm_forward(model, ids, B, L, acts, {.scan = algo, .ssd = variant.ssd, .for_backward = true});
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
    // Recurrent mode: every token by step from zero states, then the official generation pattern (a parallel
    // prefill of the first P tokens, then steps). P is read from the metadata's description when it says so,
    // else 16 as in ../shared/golden/README.md.
    if (has(c, "logits_step")) {
      InferenceState state(config, B);
      const Buffer<float> step_logits = lm_forward_recurrent(model, ids, B, L, 0, state, algo, variant.ssd);
      check_fidelity(report, c, "logits_step", {step_logits.begin(), step_logits.end()}, label);
      for (std::int64_t i = 0; i < config.n_layer; ++i) {
        const std::string p = "state.layers." + std::to_string(i) + ".";
        if (has(c, p + "conv_state"))
          check_fidelity(report, c, p + "conv_state", {state.conv[i].begin(), state.conv[i].end()}, label);
        if (has(c, p + "ssm_state"))
          check_fidelity(report, c, p + "ssm_state", {state.ssm[i].begin(), state.ssm[i].end()}, label);
      }
    }
    if (has(c, "logits_prefill_step")) {
      InferenceState state(config, B);
      const Buffer<float> logits = lm_forward_recurrent(model, ids, B, L, prefill_length(c, L), state, algo, variant.ssd);
      check_fidelity(report, c, "logits_prefill_step", {logits.begin(), logits.end()}, label);
    }
    Buffer<float> grads(static_cast<std::size_t>(parameter_buffer_size(model.layout)), 0.0f);
    lm_backward(model, ids, acts, grads.data(), algo);
    for (const auto& p : model.layout) {
      if (!has(c, "grad." + p.name)) continue;
      check_fidelity(report, c, "grad." + p.name, {grads.begin() + p.offset, grads.begin() + p.offset + p.numel}, label);
    }
  }
}

const HandlerRegistration reg("mamba_lm", run_lm_case);
const HandlerRegistration reg2("mamba2_lm", run_lm_case);

}  // namespace
}  // namespace tinymamba::golden
