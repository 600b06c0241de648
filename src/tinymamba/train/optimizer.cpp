#include "tinymamba/train/optimizer.hpp"

#include <cmath>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/parallel.hpp"

namespace tinymamba::train {

std::optional<ConfigProblem> AdamWConfig::problem() const {
  auto text = [](double value, const char* rule) { return cat("= ", value, " ", rule); };
  if (!(std::isfinite(beta1) && beta1 >= 0 && beta1 < 1)) return ConfigProblem{"beta1", text(beta1, "must be in [0, 1)")};
  if (!(std::isfinite(beta2) && beta2 >= 0 && beta2 < 1)) return ConfigProblem{"beta2", text(beta2, "must be in [0, 1)")};
  if (!(std::isfinite(eps) && eps > 0)) return ConfigProblem{"eps", text(eps, "must be a positive number")};
  if (!(std::isfinite(weight_decay) && weight_decay >= 0))
    return ConfigProblem{"weight_decay", text(weight_decay, "must be a non-negative number")};
  return std::nullopt;
}

std::vector<bool> decay_flags(const std::vector<ParamInfo>& layout, std::span<const std::string> no_decay) {
  std::vector<bool> flags;
  flags.reserve(layout.size());
  for (const auto& p : layout) {
    bool decay = p.weight_decay;
    for (const auto& s : no_decay)
      if (!s.empty() && p.name.find(s) != std::string::npos) decay = false;
    flags.push_back(decay);
  }
  return flags;
}

AdamW::AdamW(std::vector<ParamInfo> layout, std::int64_t buffer_size, const AdamWConfig& config,
             std::vector<bool> decay)
    : layout_(std::move(layout)) {
  reconfigure(config, std::move(decay));
  m_.assign(static_cast<std::size_t>(buffer_size), 0.0f);
  v_.assign(static_cast<std::size_t>(buffer_size), 0.0f);
}

void AdamW::reconfigure(const AdamWConfig& config, std::vector<bool> decay) {
  TM_CHECK(decay.size() == layout_.size(), "AdamW: ", decay.size(), " decay flags for ", layout_.size(), " tensors");
  if (const auto p = config.problem()) fail("AdamW: ", p->field, " ", p->text);
  config_ = config;
  decay_ = std::move(decay);
}

void AdamW::step(float* params, const float* grads, double lr) {
  ++steps_;
  const double t = static_cast<double>(steps_);
  const double bc1 = 1.0 - std::pow(config_.beta1, t);
  const double bc2 = 1.0 - std::pow(config_.beta2, t);
  // Scalars as torch passes them to its float32 kernels: Python doubles rounded to float once.
  const float b1 = static_cast<float>(config_.beta1), one_minus_b1 = static_cast<float>(1.0 - config_.beta1);
  const float b2 = static_cast<float>(config_.beta2), one_minus_b2 = static_cast<float>(1.0 - config_.beta2);
  const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  const float eps = static_cast<float>(config_.eps);
  const float neg_step_size = static_cast<float>(-(lr / bc1));
  for (std::size_t i = 0; i < layout_.size(); ++i) {
    const ParamInfo& info = layout_[i];
    const float keep = static_cast<float>(1.0 - lr * (decay_[i] ? config_.weight_decay : 0.0));
    float* p = params + info.offset;       // (numel) the tensor, flattened
    const float* g = grads + info.offset;  // (numel)
    float* m = m_.data() + info.offset;
    float* v = v_.data() + info.offset;
    parallel_for(info.numel, [&](std::int64_t begin, std::int64_t end, int) {
      for (std::int64_t k = begin; k < end; ++k) {
        p[k] = p[k] * keep;                                 // param.mul_(1 - lr * weight_decay)
        m[k] = std::fma(g[k], one_minus_b1, m[k] * b1);     // exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        v[k] = v[k] * b2 + one_minus_b2 * g[k] * g[k];      // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2)
        const float denom = std::sqrt(v[k]) / bc2_sqrt + eps;  // (exp_avg_sq.sqrt() / sqrt(bc2)).add_(eps)
        p[k] = p[k] + neg_step_size * (m[k] / denom);       // param.addcdiv_(exp_avg, denom, value=-lr / bc1)
      }
    });
  }
}

double global_grad_norm(const std::vector<ParamInfo>& layout, const float* grads) {
  double sum = 0.0;
  for (const auto& p : layout) {
    const float* g = grads + p.offset;
    double s = 0.0;
    for (std::int64_t k = 0; k < p.numel; ++k) s += static_cast<double>(g[k]) * g[k];
    sum += s;
  }
  return static_cast<float>(std::sqrt(sum));
}

double clip_grad_norm(const std::vector<ParamInfo>& layout, float* grads, double max_norm) {
  const double norm = global_grad_norm(layout, grads);
  if (max_norm > 0) {
    // clip_coef = max_norm / (total_norm + 1e-6), clamped to at most 1 (float32 tensor arithmetic).
    const float coef = static_cast<float>(max_norm) / (static_cast<float>(norm) + 1e-6f);
    if (coef < 1.0f)
      for (const auto& p : layout) {
        float* g = grads + p.offset;
        for (std::int64_t k = 0; k < p.numel; ++k) g[k] *= coef;
      }
  }
  return norm;
}

}  // namespace tinymamba::train
