// The model's blueprint, with the official MambaConfig / Mamba field names and defaults
// (state-spaces/mamba: mamba_ssm/models/config_mamba.py and modules/mamba_simple.py).
// Glossary (paper symbols): d = d_model, d_in = d_inner = expand·d, n = d_state (N), K = d_conv,
// R = dt_rank (rank of the Δ projection), V = padded vocabulary. Mamba-2 (official Mamba2, mamba2.py):
// S = d_ssm (≤ d_in), P = headdim, H = nheads = S / P, G = ngroups, Q = chunk_size.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

namespace tinymamba {

// Which mixer every layer runs; each kind owns its folder (model/<kind>/): parameters, state, forward, backward,
// step. The LM around the mixers switches on it.
enum class MixerKind { mamba1, mamba2 };
[[nodiscard]] const char* mixer_kind_name(MixerKind k);  // "Mamba1", "Mamba2": the official ssm_cfg.layer

struct Config {
  MixerKind mixer = MixerKind::mamba1;        // official ssm_cfg.layer "Mamba1"
  std::int64_t d_model = 0;                   // d
  std::int64_t n_layer = 0;
  std::int64_t vocab_size = 0;                // as configured; the embedding has padded_vocab() rows
  std::int64_t pad_vocab_size_multiple = 8;
  std::int64_t d_state = 16;                  // n (the official default: 16 for Mamba1, 128 for Mamba2)
  std::int64_t d_conv = 4;                    // K
  double expand = 2;
  std::int64_t d_inner = 0;                   // d_in = int(expand·d); set by resolve() unless given
  std::int64_t dt_rank = 0;                   // R; 0 = "auto" = ceil(d/16), set by resolve()
  bool conv_bias = true;
  bool bias = false;                          // in_proj / out_proj bias
  float norm_eps = 1e-5f;                     // RMSNorm epsilon (not in the official config.json)
  bool tie_embeddings = true;                 // lm_head.weight is backbone.embedding.weight
  bool rms_norm = true;                       // only RMSNorm is implemented
  bool residual_in_fp32 = true;               // informative: tinymamba's residual stream is always float32
  bool fused_add_norm = true;                 // informative: same math either way

  // Mamba-2 only (official Mamba2 names and defaults).
  std::int64_t headdim = 64;                  // P
  std::int64_t d_ssm = 0;                     // S; 0 = d_inner, set by resolve(); d_in − S channels are a gated MLP
  std::int64_t ngroups = 1;                   // G: heads h·G/H .. share one B and C
  std::int64_t chunk_size = 256;              // Q, of the chunked SSD algorithm
  bool gated_rmsnorm = true;                  // ssm_cfg.rmsnorm: y = RMSNormGated(y, z), else the scan gates by z
  bool norm_before_gate = false;              // only false (the official setting) is implemented
  bool D_has_hdim = false;                    // D per channel (S) instead of per head (H)
  double dt_limit_min = 0.0;                  // Δ is clamped to [dt_limit_min, dt_limit_max] (parallel path)
  double dt_limit_max = std::numeric_limits<double>::infinity();
  double A_init_min = 1.0, A_init_max = 16.0; // A_log = log U[A_init_range]

  [[nodiscard]] std::int64_t nheads() const { return d_ssm / headdim; }  // H (Mamba-2)

  // Initialization (official Mamba defaults).
  double dt_min = 1e-3, dt_max = 0.1, dt_init_floor = 1e-4, dt_scale = 1.0;
  bool dt_init_random = true;                 // dt_init "random" (U(±R^-0.5·dt_scale)) or "constant"
  double initializer_range = 0.02;            // embedding N(0, 0.02)
  bool rescale_prenorm_residual = true;       // out_proj.weight /= sqrt(n_layer)

  // Fills d_inner and dt_rank when unset, then validates every field; throws Error("<source>: <problem>").
  void resolve(const std::string& source);
  [[nodiscard]] std::int64_t padded_vocab() const;
  void resolve_mamba2(const std::string& source);  // vocab_size rounded up to pad_vocab_size_multiple
  [[nodiscard]] std::int64_t parameter_count() const;
};

}  // namespace tinymamba
