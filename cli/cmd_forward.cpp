// tinymamba forward — run a model on token ids and write everything it computed, to compare with PyTorch.
#include <memory>

#include "command.hpp"
#include "common.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/io/safetensors.hpp"
#include "tinymamba/model/lm.hpp"
#include "tinymamba/model/lm_step.hpp"

namespace tinymamba::cli {
namespace {

struct ForwardArgs {
  std::string model_dir, input, out, scan, mode = "parallel", dtype;
  bool loss = false, grads = false, states = false;
  std::int64_t prefill = -1;
  int threads = 0;
};

// input_ids (b, l), an integer tensor, from a safetensors file.
std::vector<std::int32_t> read_input_ids(const std::string& path, std::int64_t& batch, std::int64_t& len) {
  const SafetensorsFile f = read_safetensors(path);
  auto it = f.tensors.find("input_ids");
  TM_CHECK(it != f.tensors.end(), path, ": no tensor named input_ids");
  const RawTensor& t = it->second;
  TM_CHECK(t.shape.size() == 2 && t.shape[0] >= 1 && t.shape[1] >= 1, path, ": input_ids must have shape (b, l), got ",
           shape_str(t.shape));
  TM_CHECK(!dtype_is_float(t.dtype), path, ": input_ids must be an integer tensor, got ", dtype_name(t.dtype));
  batch = t.shape[0];
  len = t.shape[1];
  const auto v = to_i64(t, path + ": input_ids");
  std::vector<std::int32_t> ids(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    TM_CHECK(v[i] >= 0 && v[i] <= INT32_MAX, path, ": input_ids[", i, "] = ", v[i], " is not a token id");
    ids[i] = static_cast<std::int32_t>(v[i]);
  }
  return ids;
}

RawTensor f32_tensor(Shape shape, const float* data, std::size_t n) {
  return make_f32(std::move(shape), std::vector<float>(data, data + n));
}

void run_forward(const ForwardArgs& a) {
  apply_threads(a.threads);
  TM_CHECK(a.mode == "parallel" || a.mode == "recurrent", "--mode must be parallel or recurrent, got '", a.mode, "'");
  const bool recurrent = a.mode == "recurrent" || a.prefill >= 0;
  TM_CHECK(!(a.grads && recurrent), "--grads needs --mode parallel (the backward runs on the parallel forward)");
  TM_CHECK(!(a.grads && dtype_from_flag(a.dtype) != WeightType::f32), "--grads needs float32 weights (--dtype f32)");
  const Model model = load_model_as(a.model_dir, a.dtype);
  const Config& c = model.config;
  const ForwardOptions algorithms = scan_options_from_flag(a.scan, c);
  const ScanAlgorithm scan = algorithms.scan;
  std::int64_t B = 0, L = 0;
  const auto ids = read_input_ids(a.input, B, L);
  const std::int64_t V = c.padded_vocab();
  const double tokens = static_cast<double>(B) * static_cast<double>(L);
  check_fits_in_memory(4 * tokens * static_cast<double>(V + (a.grads ? c.n_layer * 12 * c.d_inner : 2 * c.d_inner)),
                       cat(a.input, ": ", B, " x ", L, " tokens: their logits and activations"));

  TensorMap out;
  Metadata meta{{"producer", "tinymamba forward"}, {"model", a.model_dir}, {"mode", a.mode},
                {"scan", scan_name(algorithms, c)}};
  InferenceState state(c, B);
  Activations acts;
  if (recurrent) {
    const std::int64_t prefill = a.prefill < 0 ? 0 : a.prefill;
    TM_CHECK(prefill <= L, "--prefill ", prefill, " must be in [0, ", L, "] (the sequence length)");
    meta["prefill"] = std::to_string(prefill);
    const Buffer<float> logits = lm_forward_recurrent(model, ids, B, L, prefill, state, scan, algorithms.ssd);
    out["logits"] = f32_tensor({B, L, V}, logits.data(), logits.size());
    if (a.loss) {  // the loss of these logits: reuse the cross-entropy through a logits-only activation record
      acts.batch = B;
      acts.len = L;
      acts.logits.assign(logits.begin(), logits.end());
    }
  } else {
    lm_forward(model, ids, B, L, acts, {.scan = scan, .ssd = algorithms.ssd, .for_backward = a.grads}, a.states ? &state : nullptr);
    out["logits"] = f32_tensor({B, L, V}, acts.logits.data(), acts.logits.size());
  }
  if (a.loss) out["loss"] = make_f32({1}, {static_cast<float>(lm_loss(model, ids, acts))});
  if (a.grads) {
    Buffer<float> grads(static_cast<std::size_t>(parameter_buffer_size(model.layout)), 0.0f);
    lm_backward(model, ids, acts, grads.data(), scan);
    for (const auto& p : model.layout) out["grad." + p.name] = f32_tensor(p.shape, grads.data() + p.offset, p.numel);
  }
  if (a.states) {
    for (std::int64_t i = 0; i < c.n_layer; ++i) {
      const std::string p = "state.layers." + std::to_string(i) + ".";
      Shape conv = InferenceState::conv_shape(c), ssm = InferenceState::ssm_shape(c);
      conv.insert(conv.begin(), B);
      ssm.insert(ssm.begin(), B);
      out[p + "conv_state"] = f32_tensor(conv, state.conv[i].data(), state.conv[i].size());
      out[p + "ssm_state"] = f32_tensor(ssm, state.ssm[i].data(), state.ssm[i].size());
    }
  }
  write_safetensors(a.out, out, meta);
}

const Registration reg(20, [](CLI::App& app) {
  auto args = std::make_shared<ForwardArgs>();
  auto* sub = app.add_subcommand("forward", "Run a model on token ids and write logits (and loss, gradients, states)");
  sub->add_option("-m,--model", args->model_dir, "Model folder (config.json + model.safetensors or pytorch_model.bin)")
      ->required();
  sub->add_option("--input", args->input, "safetensors file with input_ids, an integer tensor of shape (b, l)")
      ->required();
  sub->add_option("--out", args->out, "Output safetensors file (written atomically)")->required();
  sub->add_flag("--loss", args->loss, "Also write loss (1,): mean next-token cross-entropy");
  sub->add_flag("--grads", args->grads, "Also write grad.<parameter> for every parameter (d loss / d parameter)");
  sub->add_option("--mode", args->mode, "parallel (default) or recurrent (every token by the step from zero state)");
  sub->add_option("--prefill", args->prefill, "First N tokens by the parallel forward, the rest by step")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--states", args->states,
                "Also write state.layers.{i}.conv_state (b, channels, d_conv) and .ssm_state (b, d_inner, d_state) for Mamba-1, (b, nheads, headdim, d_state) for Mamba-2");
  add_scan_flag(sub, args->scan, "; for the parallel tokens (recurrent steps scan nothing)");
  add_threads_flag(sub, args->threads);
  add_dtype_flag(sub, args->dtype);
  sub->callback([args] { run_forward(*args); });
});

}  // namespace
}  // namespace tinymamba::cli
