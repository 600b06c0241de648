// tinymamba info — what a model folder holds: layout, config, dtypes, parameter count, sizes, and how each tensor
// is stored (in --dtype's type when given).
#include <cstdio>
#include <memory>

#include "command.hpp"
#include "tinymamba/model/inference_state.hpp"
#include "common.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/io/config_json.hpp"

namespace tinymamba::cli {
namespace {

std::string with_commas(std::int64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

void run_info(const std::string& dir, const std::string& dtype) {
  CheckpointInfo info;
  const WeightType t = dtype_from_flag(dtype);
  Model m = load_model(dir, &info);
  m.set_weight_type(t);
  const Config& c = m.config;
  std::printf("model:        %s\n", dir.c_str());
  std::printf("layout:       %s\n", info.layout.c_str());
  for (const auto& f : info.files) std::printf("file:         %s\n", f.c_str());
  std::printf("file size:    %.1f MB\n", static_cast<double>(info.file_bytes) / 1e6);
  std::string dtypes;
  for (const auto& [dt, n] : info.dtype_counts) dtypes += (dtypes.empty() ? "" : ", ") + dt + " x" + std::to_string(n);
  std::printf("dtypes:       %s%s\n", dtypes.c_str(), info.layout == "gguf" ? "" : " (converted to F32 on load)");
  std::printf("parameters:   %s%s\n", with_commas(c.parameter_count()).c_str(),
              c.tie_embeddings ? " (lm_head tied to the embedding)" : "");
  std::printf("memory:       %.1f MB as %s\n", static_cast<double>(m.weight_bytes()) / 1e6,
              std::string(weight_type_name(t)).c_str());
  // dt_rank is Mamba-1's (Δ's low-rank projection); Mamba-2 has one Δ per head (nheads, below)
  const std::string dt_rank = c.mixer == MixerKind::mamba1 ? "dt_rank " + std::to_string(c.dt_rank) + ", " : "";
  std::printf("d_model %lld, n_layer %lld, vocab_size %lld (padded %lld), d_inner %lld, d_state %lld, d_conv %lld, "
              "%sconv_bias %s, bias %s, norm eps %g\n",
              static_cast<long long>(c.d_model), static_cast<long long>(c.n_layer), static_cast<long long>(c.vocab_size),
              static_cast<long long>(c.padded_vocab()), static_cast<long long>(c.d_inner),
              static_cast<long long>(c.d_state), static_cast<long long>(c.d_conv), dt_rank.c_str(),
              c.conv_bias ? "true" : "false", c.bias ? "true" : "false", static_cast<double>(c.norm_eps));
  std::printf("mixer:        %s", mixer_kind_name(c.mixer));
  if (c.mixer == MixerKind::mamba2)
    std::printf(" (d_ssm %lld, headdim %lld, nheads %lld, ngroups %lld, chunk_size %lld, gated rmsnorm %s, dt_limit [%g, %g])",
                static_cast<long long>(c.d_ssm), static_cast<long long>(c.headdim), static_cast<long long>(c.nheads()),
                static_cast<long long>(c.ngroups), static_cast<long long>(c.chunk_size),
                c.gated_rmsnorm ? "true" : "false", c.dt_limit_min, c.dt_limit_max);
  std::printf("\nrecurrent state: %.2f MB per sequence\n",
              static_cast<double>(c.n_layer * (InferenceState::conv_size(c) + InferenceState::ssm_size(c))) * 4 / 1e6);
  std::printf("tensors:      name, type, bytes\n");
  for (const Model::TensorStorage& s : m.storage())
    std::printf("  %-48s %-5s %s\n", s.name.c_str(), std::string(weight_type_name(s.type)).c_str(),
                with_commas(s.bytes).c_str());
}

const Registration reg(30, [](CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  auto dtype = std::make_shared<std::string>();
  auto* sub = app.add_subcommand("info", "Describe a model folder: layout, config, dtypes, parameter count, sizes");
  sub->add_option("-m,--model", *dir, "Model folder")->required();
  add_dtype_flag(sub, *dtype);
  sub->callback([dir, dtype] { run_info(*dir, *dtype); });
});

}  // namespace
}  // namespace tinymamba::cli
