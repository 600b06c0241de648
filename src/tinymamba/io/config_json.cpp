#include "tinymamba/io/config_json.hpp"

#include <cmath>
#include <limits>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/json.hpp"

namespace tinymamba {
namespace {

using json = nlohmann::json;

// Typed, checked field access: each getter leaves `out` unchanged when the field is absent or null.
class Fields {
 public:
  Fields(const json& j, std::string source, std::string prefix = "")
      : j_(j), source_(std::move(source)), prefix_(std::move(prefix)) {}

  bool has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }

  void integer(const char* key, std::int64_t& out) const {
    if (!has(key)) return;
    const json& v = j_[key];
    if (v.is_number_integer()) {
      out = v.is_number_unsigned() ? clamp_u64(v.get<std::uint64_t>(), key) : v.get<std::int64_t>();
      return;
    }
    if (v.is_number_float()) {  // 64.0 is accepted, 64.5 is not
      const double d = v.get<double>();
      TM_CHECK(std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15, source_, ": ", prefix_, key,
               " must be an integer, got ", v.dump());
      out = static_cast<std::int64_t>(d);
      return;
    }
    fail(source_, ": ", prefix_, key, " must be an integer, got ", v.dump());
  }

  void number(const char* key, double& out) const {
    if (!has(key)) return;
    TM_CHECK(j_[key].is_number(), source_, ": ", prefix_, key, " must be a number, got ", j_[key].dump());
    out = j_[key].get<double>();
    TM_CHECK(std::isfinite(out), source_, ": ", prefix_, key, " must be finite");
  }

  void boolean(const char* key, bool& out) const {
    if (!has(key)) return;
    TM_CHECK(j_[key].is_boolean(), source_, ": ", prefix_, key, " must be true or false, got ", j_[key].dump());
    out = j_[key].get<bool>();
  }

  // An integer or the string "auto" (→ 0, resolved later).
  void integer_or_auto(const char* key, std::int64_t& out) const {
    if (has(key) && j_[key].is_string()) {
      TM_CHECK(j_[key].get<std::string>() == "auto", source_, ": ", prefix_, key, " must be an integer or \"auto\"");
      out = 0;
      return;
    }
    integer(key, out);
  }

  std::string string(const char* key, std::string fallback) const {
    if (!has(key)) return fallback;
    TM_CHECK(j_[key].is_string(), source_, ": ", prefix_, key, " must be a string, got ", j_[key].dump());
    return j_[key].get<std::string>();
  }

  const json& object(const char* key) const {
    static const json empty = json::object();
    if (!has(key)) return empty;
    TM_CHECK(j_[key].is_object(), source_, ": ", prefix_, key, " must be an object");
    return j_[key];
  }

 private:
  std::int64_t clamp_u64(std::uint64_t v, const char* key) const {
    TM_CHECK(v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()), source_, ": ", prefix_, key,
             " is too large");
    return static_cast<std::int64_t>(v);
  }
  const json& j_;
  std::string source_, prefix_;
};

json parse_object(std::string_view text, const std::string& source) {
  json j = parse_json(text, source);
  TM_CHECK(j.is_object(), source, ": config must be a JSON object");
  return j;
}

// Integer fields must be given as positive values here (0 means "resolve later" only for d_inner / dt_rank).
void require_positive(const std::string& source, const char* field, std::int64_t v) {
  TM_CHECK(v > 0, source, ": ", field, " must be a positive integer, got ", v);
}

}  // namespace

ConfigDialect detect_config_dialect(std::string_view text, const std::string& source) {
  const json j = parse_object(text, source);
  if (j.contains("hidden_size") || (j.contains("model_type") && j["model_type"] == "mamba"))
    return ConfigDialect::huggingface;
  return ConfigDialect::official;
}

Config parse_config(std::string_view text, const std::string& source) {
  return detect_config_dialect(text, source) == ConfigDialect::huggingface ? parse_hf_config(text, source)
                                                                          : parse_official_config(text, source);
}

Config parse_official_config(std::string_view text, const std::string& source) {
  const json j = parse_object(text, source);
  const Fields f(j, source);
  Config c;
  f.integer("d_model", c.d_model);
  f.integer("n_layer", c.n_layer);
  f.integer("vocab_size", c.vocab_size);
  f.integer("pad_vocab_size_multiple", c.pad_vocab_size_multiple);
  f.boolean("rms_norm", c.rms_norm);
  f.boolean("residual_in_fp32", c.residual_in_fp32);
  f.boolean("fused_add_norm", c.fused_add_norm);
  f.boolean("tie_embeddings", c.tie_embeddings);
  std::int64_t d_intermediate = 0;
  f.integer("d_intermediate", d_intermediate);
  TM_CHECK(d_intermediate == 0, source, ": d_intermediate = ", d_intermediate,
           " (an MLP after each mixer) is not supported; Mamba-1 language models have none");
  if (f.has("attn_layer_idx")) {
    TM_CHECK(j["attn_layer_idx"].is_array() && j["attn_layer_idx"].empty(), source,
             ": attention layers (attn_layer_idx) are not supported");
  }
  for (const char* key : {"d_model", "n_layer", "vocab_size"}) TM_CHECK(f.has(key), source, ": missing field ", key);
  require_positive(source, "d_model", c.d_model);
  require_positive(source, "n_layer", c.n_layer);
  require_positive(source, "vocab_size", c.vocab_size);
  require_positive(source, "pad_vocab_size_multiple", c.pad_vocab_size_multiple);

  const Fields s(f.object("ssm_cfg"), source, "ssm_cfg.");
  const std::string layer = s.string("layer", "Mamba1");
  TM_CHECK(layer == "Mamba1", source, ": ssm_cfg.layer = \"", layer, "\" is not supported (only Mamba1)");
  s.integer("d_state", c.d_state);
  s.integer("d_conv", c.d_conv);
  s.number("expand", c.expand);
  s.integer_or_auto("dt_rank", c.dt_rank);
  s.boolean("conv_bias", c.conv_bias);
  s.boolean("bias", c.bias);
  s.number("dt_min", c.dt_min);
  s.number("dt_max", c.dt_max);
  s.number("dt_scale", c.dt_scale);
  s.number("dt_init_floor", c.dt_init_floor);
  const std::string dt_init = s.string("dt_init", "random");
  TM_CHECK(dt_init == "random" || dt_init == "constant", source, ": ssm_cfg.dt_init must be \"random\" or \"constant\"");
  c.dt_init_random = dt_init == "random";
  require_positive(source, "ssm_cfg.d_state", c.d_state);
  require_positive(source, "ssm_cfg.d_conv", c.d_conv);
  if (s.has("dt_rank") && c.dt_rank != 0) require_positive(source, "ssm_cfg.dt_rank", c.dt_rank);
  TM_CHECK(!s.has("dt_rank") || c.dt_rank >= 0, source, ": ssm_cfg.dt_rank must be positive or \"auto\"");

  const Fields init(f.object("initializer_cfg"), source, "initializer_cfg.");
  init.number("initializer_range", c.initializer_range);
  init.boolean("rescale_prenorm_residual", c.rescale_prenorm_residual);
  c.resolve(source);
  return c;
}

Config parse_hf_config(std::string_view text, const std::string& source) {
  const json j = parse_object(text, source);
  const Fields f(j, source);
  Config c;
  c.pad_vocab_size_multiple = 1;  // the HF vocab_size is the embedding's row count, already padded
  for (const char* key : {"hidden_size", "num_hidden_layers", "vocab_size"})
    TM_CHECK(f.has(key), source, ": missing field ", key);
  f.integer("hidden_size", c.d_model);
  f.integer("num_hidden_layers", c.n_layer);
  f.integer("vocab_size", c.vocab_size);
  f.integer("state_size", c.d_state);
  f.integer("conv_kernel", c.d_conv);
  f.number("expand", c.expand);
  f.integer("intermediate_size", c.d_inner);
  f.integer_or_auto("time_step_rank", c.dt_rank);
  f.boolean("use_bias", c.bias);
  f.boolean("use_conv_bias", c.conv_bias);
  double eps = c.norm_eps;
  f.number("layer_norm_epsilon", eps);
  c.norm_eps = static_cast<float>(eps);
  f.boolean("tie_word_embeddings", c.tie_embeddings);
  f.boolean("residual_in_fp32", c.residual_in_fp32);
  f.number("time_step_min", c.dt_min);
  f.number("time_step_max", c.dt_max);
  f.number("time_step_floor", c.dt_init_floor);
  f.number("time_step_scale", c.dt_scale);
  const std::string scheme = f.string("time_step_init_scheme", "random");
  TM_CHECK(scheme == "random" || scheme == "constant", source, ": time_step_init_scheme must be \"random\" or \"constant\"");
  c.dt_init_random = scheme == "random";
  f.number("initializer_range", c.initializer_range);
  f.boolean("rescale_prenorm_residual", c.rescale_prenorm_residual);
  const std::string act = f.string("hidden_act", "silu");
  TM_CHECK(act == "silu", source, ": hidden_act \"", act, "\" is not supported (Mamba uses silu)");
  require_positive(source, "hidden_size", c.d_model);
  require_positive(source, "num_hidden_layers", c.n_layer);
  require_positive(source, "vocab_size", c.vocab_size);
  require_positive(source, "state_size", c.d_state);
  require_positive(source, "conv_kernel", c.d_conv);
  if (f.has("intermediate_size")) require_positive(source, "intermediate_size", c.d_inner);
  if (f.has("time_step_rank") && !j["time_step_rank"].is_string()) require_positive(source, "time_step_rank", c.dt_rank);
  c.resolve(source);
  return c;
}

std::string official_config_json(const Config& c) {
  json ssm = {{"d_state", c.d_state}, {"d_conv", c.d_conv},     {"expand", c.expand},
              {"dt_rank", c.dt_rank}, {"conv_bias", c.conv_bias}, {"bias", c.bias}};
  if (c.d_inner != static_cast<std::int64_t>(c.expand * static_cast<double>(c.d_model)))
    fail("d_inner ", c.d_inner, " is not expand * d_model: the official config cannot express it");
  json j = {{"d_model", c.d_model},
            {"n_layer", c.n_layer},
            {"vocab_size", c.vocab_size},
            {"ssm_cfg", ssm},
            {"rms_norm", c.rms_norm},
            {"residual_in_fp32", c.residual_in_fp32},
            {"fused_add_norm", c.fused_add_norm},
            {"pad_vocab_size_multiple", c.pad_vocab_size_multiple},
            {"tie_embeddings", c.tie_embeddings}};
  return j.dump(2) + "\n";
}

std::string hf_config_json(const Config& c) {
  json j = {{"architectures", {"MambaForCausalLM"}},
            {"model_type", "mamba"},
            {"hidden_size", c.d_model},
            {"num_hidden_layers", c.n_layer},
            {"vocab_size", c.padded_vocab()},
            {"state_size", c.d_state},
            {"conv_kernel", c.d_conv},
            {"expand", c.expand},
            {"intermediate_size", c.d_inner},
            {"time_step_rank", c.dt_rank},
            {"use_bias", c.bias},
            {"use_conv_bias", c.conv_bias},
            {"hidden_act", "silu"},
            {"layer_norm_epsilon", c.norm_eps},
            {"tie_word_embeddings", c.tie_embeddings},
            {"residual_in_fp32", c.residual_in_fp32},
            {"time_step_min", c.dt_min},
            {"time_step_max", c.dt_max},
            {"time_step_floor", c.dt_init_floor},
            {"time_step_scale", c.dt_scale},
            {"time_step_init_scheme", c.dt_init_random ? "random" : "constant"},
            {"initializer_range", c.initializer_range},
            {"rescale_prenorm_residual", c.rescale_prenorm_residual},
            {"bos_token_id", 0},
            {"eos_token_id", 0},
            {"pad_token_id", 0},
            {"torch_dtype", "float32"}};
  return j.dump(2) + "\n";
}

}  // namespace tinymamba
