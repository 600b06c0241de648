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

// A value for an error message, with Python's non-finite tokens shown as Python wrote them.
std::string shown(const json& v) {
  if (const auto nonfinite = nonfinite_value(v)) return std::isnan(*nonfinite) ? "NaN" : *nonfinite > 0 ? "Infinity" : "-Infinity";
  return v.dump();
}

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
               " must be an integer, got ", shown(v));
      out = static_cast<std::int64_t>(d);
      return;
    }
    fail(source_, ": ", prefix_, key, " must be an integer, got ", shown(v));
  }

  void number(const char* key, double& out) const {
    if (!has(key)) return;
    out = number_value(j_[key], key);
    TM_CHECK(std::isfinite(out), source_, ": ", prefix_, key, " must be finite");
  }

  // A pair [lo, hi] of numbers, either of them ±Infinity (as Python writes it); NaN is refused.
  void number_pair(const char* key, double& lo, double& hi) const {
    if (!has(key)) return;
    const json& v = j_[key];
    TM_CHECK(v.is_array() && v.size() == 2, source_, ": ", prefix_, key, " must be a pair [min, max], got ",
             shown(v));
    lo = number_value(v[0], key);
    hi = number_value(v[1], key);
    TM_CHECK(!std::isnan(lo) && !std::isnan(hi), source_, ": ", prefix_, key, " must not hold NaN");
  }

  void boolean(const char* key, bool& out) const {
    if (!has(key)) return;
    TM_CHECK(j_[key].is_boolean(), source_, ": ", prefix_, key, " must be true or false, got ", shown(j_[key]));
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
    TM_CHECK(j_[key].is_string(), source_, ": ", prefix_, key, " must be a string, got ", shown(j_[key]));
    return j_[key].get<std::string>();
  }

  const json& object(const char* key) const {
    static const json empty = json::object();
    if (!has(key)) return empty;
    TM_CHECK(j_[key].is_object(), source_, ": ", prefix_, key, " must be an object");
    return j_[key];
  }

 private:
  double number_value(const json& v, const char* key) const {
    if (const auto nonfinite = nonfinite_value(v)) return *nonfinite;
    TM_CHECK(v.is_number(), source_, ": ", prefix_, key, " must be a number, got ", shown(v));
    return v.get<double>();
  }
  std::int64_t clamp_u64(std::uint64_t v, const char* key) const {
    TM_CHECK(v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()), source_, ": ", prefix_, key,
             " is too large");
    return static_cast<std::int64_t>(v);
  }
  const json& j_;
  std::string source_, prefix_;
};

json parse_object(std::string_view text, const std::string& source) {
  json j = parse_json_python(text, source);
  TM_CHECK(j.is_object(), source, ": config must be a JSON object");
  return j;
}

// One row per Config field that config.json carries: its key in the official config (a path: "ssm_cfg.d_state"
// is d_state inside the ssm_cfg object) and in transformers' config (null where a dialect has no such key), the
// mixer kinds it belongs to, and how its value is read. Both readers and both writers walk this table, so a
// field is added in one place.
using FieldRef = std::variant<std::int64_t Config::*, double Config::*, float Config::*, bool Config::*>;
enum class Form {
  positive,         // an integer > 0
  positive_or_auto, // an integer > 0 or "auto" (→ 0, resolved by Config::resolve)
  number,           // a finite number
  boolean,          // true / false
  random_constant,  // "random" (true) or "constant" (false)
  number_pair,      // [min, max] into field and `second`; ±Infinity allowed
};
enum Kinds : unsigned { kMamba1 = 1, kMamba2 = 2, kBoth = 3 };
struct ConfigKey {
  const char* official;
  const char* transformers;
  FieldRef field;
  Form form;
  unsigned kinds = kBoth;
  bool required = false;
  double Config::* second = nullptr;  // number_pair: where max goes
};

const ConfigKey kConfigKeys[] = {
    {"d_model", "hidden_size", &Config::d_model, Form::positive, kBoth, true},
    {"n_layer", "num_hidden_layers", &Config::n_layer, Form::positive, kBoth, true},
    {"vocab_size", "vocab_size", &Config::vocab_size, Form::positive, kBoth, true},
    {"pad_vocab_size_multiple", nullptr, &Config::pad_vocab_size_multiple, Form::positive},
    {"ssm_cfg.d_state", "state_size", &Config::d_state, Form::positive},
    {"ssm_cfg.d_conv", "conv_kernel", &Config::d_conv, Form::positive},
    {"ssm_cfg.expand", "expand", &Config::expand, Form::number},
    {nullptr, "intermediate_size", &Config::d_inner, Form::positive, kMamba1},
    {"ssm_cfg.dt_rank", "time_step_rank", &Config::dt_rank, Form::positive_or_auto, kMamba1},
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
    {"ssm_cfg.dt_scale", "time_step_scale", &Config::dt_scale, Form::number, kMamba1},
    {"ssm_cfg.dt_init", "time_step_init_scheme", &Config::dt_init_random, Form::random_constant, kMamba1},
    {"ssm_cfg.headdim", "head_dim", &Config::headdim, Form::positive, kMamba2},
    {"ssm_cfg.d_ssm", nullptr, &Config::d_ssm, Form::positive, kMamba2},
    {"ssm_cfg.ngroups", "n_groups", &Config::ngroups, Form::positive, kMamba2},
    {"ssm_cfg.chunk_size", "chunk_size", &Config::chunk_size, Form::positive, kMamba2},
    {"ssm_cfg.rmsnorm", "rms_norm", &Config::gated_rmsnorm, Form::boolean, kMamba2},
    {"ssm_cfg.norm_before_gate", "norm_before_gate", &Config::norm_before_gate, Form::boolean, kMamba2},
    {"ssm_cfg.D_has_hdim", nullptr, &Config::D_has_hdim, Form::boolean, kMamba2},
    {"ssm_cfg.dt_limit", "time_step_limit", &Config::dt_limit_min, Form::number_pair, kMamba2, false,
     &Config::dt_limit_max},
    {"ssm_cfg.A_init_range", nullptr, &Config::A_init_min, Form::number_pair, kMamba2, false, &Config::A_init_max},
    {"initializer_cfg.initializer_range", "initializer_range", &Config::initializer_range, Form::number},
    {"initializer_cfg.rescale_prenorm_residual", "rescale_prenorm_residual", &Config::rescale_prenorm_residual,
     Form::boolean},
};

unsigned kind_bit(MixerKind k) { return k == MixerKind::mamba1 ? kMamba1 : kMamba2; }

// "ssm_cfg.d_state" → ("ssm_cfg", "d_state"); a top-level key → ("", key).
std::pair<std::string, std::string> split_key(const char* key) {
  const std::string k = key;
  const auto dot = k.find('.');
  return dot == std::string::npos ? std::pair{std::string(), k} : std::pair{k.substr(0, dot), k.substr(dot + 1)};
}

void read_field(const Fields& f, const std::string& key, const ConfigKey& row, Config& c, const std::string& source,
                const std::string& name) {
  if (!f.has(key.c_str())) {
    TM_CHECK(!row.required, source, ": missing field ", name);
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
      if (row.form == Form::positive || !f.is_string(key.c_str()))
        TM_CHECK(out > 0, source, ": ", name, " must be a positive integer, got ", out);
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
      TM_CHECK(v == "random" || v == "constant", source, ": ", name, " must be \"random\" or \"constant\"");
      c.*std::get<bool Config::*>(row.field) = v == "random";
      break;
    }
    case Form::number_pair:
      f.number_pair(key.c_str(), c.*std::get<double Config::*>(row.field), c.*row.second);
      break;
  }
}

// Reads every row of c.mixer's kind that has a key in the dialect (official: nested objects by path).
void read_keys(const Fields& top, ConfigDialect dialect, Config& c, const std::string& source) {
  for (const ConfigKey& row : kConfigKeys) {
    const char* key = dialect == ConfigDialect::official ? row.official : row.transformers;
    if (!key || !(row.kinds & kind_bit(c.mixer))) continue;
    const auto [object, name] = split_key(key);
    if (object.empty()) {
      read_field(top, name, row, c, source, name);
    } else {
      const Fields sub(top.object(object.c_str()), source, object + ".");
      read_field(sub, name, row, c, source, key);
    }
  }
}

// Python writes ±inf as the bare tokens Infinity / -Infinity: a marker string here, replaced after dump().
constexpr const char* kInfinityMarker = "\x01Infinity";
json number_json(double v) {
  if (std::isinf(v)) return std::string(v > 0 ? "" : "-") + kInfinityMarker;
  return v;
}
std::string dump_python(const json& j) {
  std::string text = j.dump(2) + "\n";
  for (const auto& [marked, token] : {std::pair{"\"-\\u0001Infinity\"", "-Infinity"},
                                      std::pair{"\"\\u0001Infinity\"", "Infinity"}})
    for (auto at = text.find(marked); at != std::string::npos; at = text.find(marked))
      text.replace(at, std::string_view(marked).size(), token);
  return text;
}

json value_of(const ConfigKey& row, const Config& c) {
  if (row.form == Form::random_constant) return c.*std::get<bool Config::*>(row.field) ? "random" : "constant";
  if (row.form == Form::number_pair)
    return json::array({number_json(c.*std::get<double Config::*>(row.field)), number_json(c.*row.second)});
  return std::visit([&](auto member) -> json { return c.*member; }, row.field);
}

}  // namespace

ConfigDialect detect_config_dialect(std::string_view text, const std::string& source) {
  const json j = parse_object(text, source);
  if (j.contains("hidden_size") ||
      (j.contains("model_type") && (j["model_type"] == "mamba" || j["model_type"] == "mamba2")))
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
           " (an MLP after each mixer) is not supported; the published Mamba language models have none");
  if (f.has("attn_layer_idx")) {
    TM_CHECK(j["attn_layer_idx"].is_array() && j["attn_layer_idx"].empty(), source,
             ": attention layers (attn_layer_idx) are not supported");
  }
  const std::string layer = Fields(f.object("ssm_cfg"), source, "ssm_cfg.").string("layer", "Mamba1");
  TM_CHECK(layer == "Mamba1" || layer == "Mamba2", source, ": ssm_cfg.layer = \"", layer,
           "\" is not supported (Mamba1 or Mamba2)");
  c.mixer = layer == "Mamba2" ? MixerKind::mamba2 : MixerKind::mamba1;
  if (c.mixer == MixerKind::mamba2) c.d_state = 128;  // Mamba2's own default
  read_keys(f, ConfigDialect::official, c, source);
  c.resolve(source);
  return c;
}

Config parse_hf_config(std::string_view text, const std::string& source) {
  const json j = parse_object(text, source);
  const Fields f(j, source);
  Config c;
  c.pad_vocab_size_multiple = 1;  // the HF vocab_size is the embedding's row count, already padded
  if (f.string("model_type", "mamba") == "mamba2") {  // Mamba2Config's defaults where they differ
    c.mixer = MixerKind::mamba2;
    c.d_state = 128;
    c.ngroups = 8;
    c.tie_embeddings = false;
    c.initializer_range = 0.1;
    c.rescale_prenorm_residual = false;
  }
  read_keys(f, ConfigDialect::huggingface, c, source);
  const std::string act = f.string("hidden_act", "silu");
  TM_CHECK(act == "silu", source, ": hidden_act \"", act, "\" is not supported (Mamba uses silu)");
  c.resolve(source);
  if (c.mixer == MixerKind::mamba2 && f.has("num_heads")) {  // not a field of its own: d_in / head_dim
    std::int64_t heads = 0;
    f.integer("num_heads", heads);
    TM_CHECK(heads == c.nheads(), source, ": num_heads = ", heads, " but expand·hidden_size / head_dim = ", c.nheads());
  }
  return c;
}

std::string official_config_json(const Config& c) {
  if (c.d_inner != static_cast<std::int64_t>(c.expand * static_cast<double>(c.d_model)))
    fail("d_inner ", c.d_inner, " is not expand * d_model: the official config cannot express it");
  json j = json::object();
  for (const ConfigKey& row : kConfigKeys) {
    if (!row.official || !(row.kinds & kind_bit(c.mixer))) continue;
    const auto [object, name] = split_key(row.official);
    (object.empty() ? j : j[object])[name] = value_of(row, c);
  }
  j["ssm_cfg"]["layer"] = mixer_kind_name(c.mixer);
  return dump_python(j);
}

std::string hf_config_json(const Config& c) {
  const bool m2 = c.mixer == MixerKind::mamba2;
  if (m2)
    TM_CHECK(c.d_ssm == c.d_inner, "d_ssm ", c.d_ssm, " < d_inner ", c.d_inner,
             ": transformers' Mamba2 config cannot express the gated MLP part");
  json j = {{"architectures", {m2 ? "Mamba2ForCausalLM" : "MambaForCausalLM"}}, {"model_type", m2 ? "mamba2" : "mamba"},
            {"hidden_act", "silu"}, {"bos_token_id", 0}, {"eos_token_id", 0}, {"pad_token_id", 0},
            {"torch_dtype", "float32"}};
  for (const ConfigKey& row : kConfigKeys)
    if (row.transformers && (row.kinds & kind_bit(c.mixer))) j[row.transformers] = value_of(row, c);
  j["vocab_size"] = c.padded_vocab();  // transformers' vocab_size is the embedding's (padded) row count
  if (m2) j["num_heads"] = c.nheads();
  return dump_python(j);
}

}  // namespace tinymamba
