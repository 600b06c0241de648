#include "tinymamba/io/config_json.hpp"

#include <cmath>
#include <limits>
#include <utility>
#include <variant>

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
  bool is_string(const char* key) const { return has(key) && j_[key].is_string(); }

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

// One row per Config field that config.json carries: its key in the official config (a path: "ssm_cfg.d_state"
// is d_state inside the ssm_cfg object) and in transformers' config (null where a dialect has no such key), and
// how its value is read. Both readers and both writers walk this table, so a field is added in one place.
using FieldRef = std::variant<std::int64_t Config::*, double Config::*, float Config::*, bool Config::*>;
enum class Form {
  positive,         // an integer > 0
  positive_or_auto, // an integer > 0 or "auto" (→ 0, resolved by Config::resolve)
  number,           // a finite number
  boolean,          // true / false
  random_constant,  // "random" (true) or "constant" (false)
};
struct ConfigKey {
  const char* official;
  const char* transformers;
  FieldRef field;
  Form form;
  bool required = false;
};

const ConfigKey kConfigKeys[] = {
    {"d_model", "hidden_size", &Config::d_model, Form::positive, true},
    {"n_layer", "num_hidden_layers", &Config::n_layer, Form::positive, true},
    {"vocab_size", "vocab_size", &Config::vocab_size, Form::positive, true},
    {"pad_vocab_size_multiple", nullptr, &Config::pad_vocab_size_multiple, Form::positive},
    {"ssm_cfg.d_state", "state_size", &Config::d_state, Form::positive},
    {"ssm_cfg.d_conv", "conv_kernel", &Config::d_conv, Form::positive},
    {"ssm_cfg.expand", "expand", &Config::expand, Form::number},
    {nullptr, "intermediate_size", &Config::d_inner, Form::positive},
    {"ssm_cfg.dt_rank", "time_step_rank", &Config::dt_rank, Form::positive_or_auto},
    {"ssm_cfg.conv_bias", "use_conv_bias", &Config::conv_bias, Form::boolean},
    {"ssm_cfg.bias", "use_bias", &Config::bias, Form::boolean},
    {nullptr, "layer_norm_epsilon", &Config::norm_eps, Form::number},
    {"tie_embeddings", "tie_word_embeddings", &Config::tie_embeddings, Form::boolean},
    {"rms_norm", nullptr, &Config::rms_norm, Form::boolean},
    {"residual_in_fp32", "residual_in_fp32", &Config::residual_in_fp32, Form::boolean},
    {"fused_add_norm", nullptr, &Config::fused_add_norm, Form::boolean},
    {"ssm_cfg.dt_min", "time_step_min", &Config::dt_min, Form::number},
    {"ssm_cfg.dt_max", "time_step_max", &Config::dt_max, Form::number},
    {"ssm_cfg.dt_init_floor", "time_step_floor", &Config::dt_init_floor, Form::number},
    {"ssm_cfg.dt_scale", "time_step_scale", &Config::dt_scale, Form::number},
    {"ssm_cfg.dt_init", "time_step_init_scheme", &Config::dt_init_random, Form::random_constant},
    {"initializer_cfg.initializer_range", "initializer_range", &Config::initializer_range, Form::number},
    {"initializer_cfg.rescale_prenorm_residual", "rescale_prenorm_residual", &Config::rescale_prenorm_residual,
     Form::boolean},
};

// "ssm_cfg.d_state" → ("ssm_cfg", "d_state"); a top-level key → ("", key).
std::pair<std::string, std::string> split_key(const char* key) {
  const std::string k = key;
  const auto dot = k.find('.');
  return dot == std::string::npos ? std::pair{std::string(), k} : std::pair{k.substr(0, dot), k.substr(dot + 1)};
}

void read_field(const Fields& f, const std::string& key, const ConfigKey& row, Config& c, const std::string& source,
                const std::string& shown) {
  if (!f.has(key.c_str())) {
    TM_CHECK(!row.required, source, ": missing field ", shown);
    return;
  }
  switch (row.form) {
    case Form::positive:
    case Form::positive_or_auto: {
      std::int64_t& out = c.*std::get<std::int64_t Config::*>(row.field);
      if (row.form == Form::positive_or_auto)
        f.integer_or_auto(key.c_str(), out);
      else
        f.integer(key.c_str(), out);
      if (row.form == Form::positive || out != 0 || !f.is_string(key.c_str()))
        TM_CHECK(out > 0, source, ": ", shown, " must be a positive integer, got ", out);
      break;
    }
    case Form::number:
      if (std::holds_alternative<float Config::*>(row.field)) {
        double v = c.*std::get<float Config::*>(row.field);
        f.number(key.c_str(), v);
        c.*std::get<float Config::*>(row.field) = static_cast<float>(v);
      } else {
        f.number(key.c_str(), c.*std::get<double Config::*>(row.field));
      }
      break;
    case Form::boolean: f.boolean(key.c_str(), c.*std::get<bool Config::*>(row.field)); break;
    case Form::random_constant: {
      const std::string v = f.string(key.c_str(), "random");
      TM_CHECK(v == "random" || v == "constant", source, ": ", shown, " must be \"random\" or \"constant\"");
      c.*std::get<bool Config::*>(row.field) = v == "random";
      break;
    }
  }
}

// Reads every row that has a key in the dialect (official: nested objects by path).
void read_keys(const json& j, const Fields& top, ConfigDialect dialect, Config& c, const std::string& source) {
  for (const ConfigKey& row : kConfigKeys) {
    const char* key = dialect == ConfigDialect::official ? row.official : row.transformers;
    if (!key) continue;
    const auto [object, name] = split_key(key);
    if (object.empty()) {
      read_field(top, name, row, c, source, name);
    } else {
      const Fields sub(top.object(object.c_str()), source, object + ".");
      read_field(sub, name, row, c, source, key);
    }
  }
  (void)j;
}

json value_of(const ConfigKey& row, const Config& c) {
  return std::visit(
      [&](auto member) -> json {
        if (row.form == Form::random_constant) return c.*std::get<bool Config::*>(row.field) ? "random" : "constant";
        return c.*member;
      },
      row.field);
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
  std::int64_t d_intermediate = 0;
  f.integer("d_intermediate", d_intermediate);
  TM_CHECK(d_intermediate == 0, source, ": d_intermediate = ", d_intermediate,
           " (an MLP after each mixer) is not supported; Mamba-1 language models have none");
  if (f.has("attn_layer_idx")) {
    TM_CHECK(j["attn_layer_idx"].is_array() && j["attn_layer_idx"].empty(), source,
             ": attention layers (attn_layer_idx) are not supported");
  }
  const std::string layer = Fields(f.object("ssm_cfg"), source, "ssm_cfg.").string("layer", "Mamba1");
  TM_CHECK(layer == "Mamba1", source, ": ssm_cfg.layer = \"", layer, "\" is not supported (only Mamba1)");
  c.mixer = MixerKind::mamba1;
  read_keys(j, f, ConfigDialect::official, c, source);
  c.resolve(source);
  return c;
}

Config parse_hf_config(std::string_view text, const std::string& source) {
  const json j = parse_object(text, source);
  const Fields f(j, source);
  Config c;
  c.pad_vocab_size_multiple = 1;  // the HF vocab_size is the embedding's row count, already padded
  read_keys(j, f, ConfigDialect::huggingface, c, source);
  const std::string act = f.string("hidden_act", "silu");
  TM_CHECK(act == "silu", source, ": hidden_act \"", act, "\" is not supported (Mamba uses silu)");
  c.resolve(source);
  return c;
}

std::string official_config_json(const Config& c) {
  if (c.d_inner != static_cast<std::int64_t>(c.expand * static_cast<double>(c.d_model)))
    fail("d_inner ", c.d_inner, " is not expand * d_model: the official config cannot express it");
  json j = json::object();
  for (const ConfigKey& row : kConfigKeys) {
    if (!row.official) continue;
    const auto [object, name] = split_key(row.official);
    (object.empty() ? j : j[object])[name] = value_of(row, c);
  }
  j["ssm_cfg"]["layer"] = "Mamba1";
  return j.dump(2) + "\n";
}

std::string hf_config_json(const Config& c) {
  json j = {{"architectures", {"MambaForCausalLM"}}, {"model_type", "mamba"}, {"hidden_act", "silu"},
            {"bos_token_id", 0}, {"eos_token_id", 0}, {"pad_token_id", 0}, {"torch_dtype", "float32"}};
  for (const ConfigKey& row : kConfigKeys)
    if (row.transformers) j[row.transformers] = value_of(row, c);
  j["vocab_size"] = c.padded_vocab();  // transformers' vocab_size is the embedding's (padded) row count
  return j.dump(2) + "\n";
}

}  // namespace tinymamba
