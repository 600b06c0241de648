#include "tinymamba/model/config.hpp"

#include <cmath>

#include "tinymamba/core/error.hpp"
#include "tinymamba/model/weights.hpp"

namespace tinymamba {
namespace {

// Bounds well above every published Mamba (2.8b: d 2560, 64 layers, vocab 50280) and well below sizes whose
// products could overflow: a config outside them is a broken or hostile file, not a model.
constexpr std::int64_t kMaxDModel = 1 << 16;
constexpr std::int64_t kMaxLayers = 1 << 12;
constexpr std::int64_t kMaxVocab = 1 << 24;
constexpr std::int64_t kMaxDInner = 1 << 18;
constexpr std::int64_t kMaxDState = 256;  // the official kernels' limit
constexpr std::int64_t kMaxDConv = 64;

void check_range(const std::string& source, const char* field, std::int64_t v, std::int64_t lo, std::int64_t hi) {
  TM_CHECK(v >= lo && v <= hi, source, ": ", field, " = ", v, " is outside [", lo, ", ", hi, "]");
}

}  // namespace

const char* mixer_kind_name(MixerKind k) {
  switch (k) {
    case MixerKind::mamba1: return "Mamba1";
    case MixerKind::mamba2: return "Mamba2";
  }
  return "?";
}

void Config::resolve(const std::string& source) {
  check_range(source, "d_model", d_model, 1, kMaxDModel);
  check_range(source, "n_layer", n_layer, 1, kMaxLayers);
  check_range(source, "vocab_size", vocab_size, 1, kMaxVocab);
  check_range(source, "pad_vocab_size_multiple", pad_vocab_size_multiple, 1, 1 << 16);
  check_range(source, "d_state", d_state, 1, kMaxDState);
  check_range(source, "d_conv", d_conv, 1, kMaxDConv);
  TM_CHECK(std::isfinite(expand) && expand > 0 && expand <= 64, source, ": expand = ", expand, " is not in (0, 64]");
  if (d_inner == 0) d_inner = static_cast<std::int64_t>(expand * static_cast<double>(d_model));
  check_range(source, "d_inner", d_inner, 1, kMaxDInner);
  if (dt_rank == 0) dt_rank = (d_model + 15) / 16;
  check_range(source, "dt_rank", dt_rank, 1, kMaxDInner);
  TM_CHECK(std::isfinite(norm_eps) && norm_eps > 0 && norm_eps < 1, source, ": norm epsilon ", norm_eps,
           " is not in (0, 1)");
  TM_CHECK(rms_norm, source, ": rms_norm = false (LayerNorm) is not supported; Mamba checkpoints use RMSNorm");
  TM_CHECK(std::isfinite(dt_min) && std::isfinite(dt_max) && dt_min > 0 && dt_min <= dt_max, source,
           ": dt_min/dt_max must satisfy 0 < dt_min <= dt_max");
  TM_CHECK(std::isfinite(dt_scale) && std::isfinite(dt_init_floor) && std::isfinite(initializer_range), source,
           ": initialization settings must be finite");
  TM_CHECK(padded_vocab() <= kMaxVocab, source, ": padded vocabulary ", padded_vocab(), " is too large");
  if (mixer == MixerKind::mamba2) resolve_mamba2(source);
}

void Config::resolve_mamba2(const std::string& source) {
  if (d_ssm == 0) d_ssm = d_inner;
  check_range(source, "d_ssm", d_ssm, 1, d_inner);
  check_range(source, "headdim", headdim, 1, d_ssm);
  TM_CHECK(d_ssm % headdim == 0, source, ": d_ssm = ", d_ssm, " is not a multiple of headdim = ", headdim);
  check_range(source, "ngroups", ngroups, 1, nheads());
  TM_CHECK(nheads() % ngroups == 0, source, ": nheads = ", nheads(), " is not a multiple of ngroups = ", ngroups);
  check_range(source, "chunk_size", chunk_size, 1, 1 << 16);
  TM_CHECK(!norm_before_gate, source,
           ": norm_before_gate = true is not supported (Mamba-2 gates before the norm)");
  TM_CHECK(dt_limit_min >= 0 && dt_limit_min <= dt_limit_max, source, ": dt_limit = (", dt_limit_min, ", ",
           dt_limit_max, ") must satisfy 0 <= min <= max");
  TM_CHECK(std::isfinite(A_init_min) && std::isfinite(A_init_max) && A_init_min > 0 && A_init_min <= A_init_max,
           source, ": A_init_range must satisfy 0 < min <= max");
}

std::int64_t Config::padded_vocab() const {
  const std::int64_t m = pad_vocab_size_multiple;
  return vocab_size % m == 0 ? vocab_size : vocab_size + m - vocab_size % m;
}

std::int64_t Config::parameter_count() const {
  std::int64_t total = 0;
  for (const auto& p : parameter_layout(*this)) total += p.numel;
  return total;
}

}  // namespace tinymamba
