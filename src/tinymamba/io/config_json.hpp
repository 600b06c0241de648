// config.json in its two published dialects:
//  - official (state-spaces/mamba-*): d_model, n_layer, vocab_size, ssm_cfg{d_state, d_conv, expand, dt_rank,
//    conv_bias, bias, dt_min, dt_max, dt_init, dt_scale, dt_init_floor, layer}, rms_norm, residual_in_fp32,
//    fused_add_norm, pad_vocab_size_multiple, tie_embeddings, d_intermediate, attn_layer_idx, initializer_cfg;
//  - Hugging Face transformers MambaConfig (model_type "mamba", the "-hf" repos): hidden_size,
//    num_hidden_layers, vocab_size (already padded), state_size, conv_kernel, expand, intermediate_size,
//    time_step_rank, use_bias, use_conv_bias, layer_norm_epsilon, tie_word_embeddings, residual_in_fp32, ...
// Missing fields take the official defaults; a field of the wrong type or out of range is an Error naming the
// file and the field. Unknown fields are ignored (configs carry many informative extras).
#pragma once

#include <string>
#include <string_view>

#include "tinymamba/model/config.hpp"

namespace tinymamba {

enum class ConfigDialect { official, huggingface };

// Decides the dialect from the fields present (hidden_size / model_type "mamba" → huggingface).
[[nodiscard]] ConfigDialect detect_config_dialect(std::string_view json_text, const std::string& source);
// Parses and resolves (Config::resolve) a config of either dialect.
[[nodiscard]] Config parse_config(std::string_view json_text, const std::string& source);
[[nodiscard]] Config parse_official_config(std::string_view json_text, const std::string& source);
[[nodiscard]] Config parse_hf_config(std::string_view json_text, const std::string& source);

// Serialized configs (pretty JSON) that the parsers above read back to the same Config.
[[nodiscard]] std::string official_config_json(const Config& c);
[[nodiscard]] std::string hf_config_json(const Config& c);

}  // namespace tinymamba
