// AdamW with decoupled weight decay (Loshchilov & Hutter 2019) exactly as torch.optim.AdamW computes it
// (single-tensor path, amsgrad off), and global gradient-norm clipping as torch.nn.utils.clip_grad_norm_.
//
// One AdamW state (exp_avg m, exp_avg_sq v, step t) per parameter TENSOR of the model's layout — the tied
// embedding / lm_head is one tensor, hence one state. Per element, for update t = 1, 2, ...:
//   p ← p · (1 − lr·wd)                                  decoupled decay, before the moments (as torch)
//   m ← β1·m + (1 − β1)·g
//   v ← β2·v + (1 − β2)·g²
//   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)     bias-corrected; ε added after the correction
// in float32, one rounding per torch operation (torch 1.13's _single_tensor_adamw), with wd = 0 for tensors
// outside the decay group.
//
// Parameter groups: by default the official ones (ParamInfo::weight_decay: tensors with >= 2 dims except A_log
// decay; biases, norm weights, D and A_log do not). `decay_flags` lets a caller change that.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tinymamba/core/buffer.hpp"
#include "tinymamba/model/weights.hpp"

namespace tinymamba::train {

// An unusable hyper-parameter: the field's name and what is wrong with it, e.g. {"beta1", "= 1 must be in [0, 1)"}.
struct ConfigProblem {
  std::string field;
  std::string text;
};

struct AdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;  // applied to the tensors whose decay flag is set

  // The one check of these fields: the first unusable one, or nothing. AdamW refuses such a config with an Error
  // naming the field ("AdamW: beta1 = 1 must be in [0, 1)"); TrainSettings names the flag it came from.
  [[nodiscard]] std::optional<ConfigProblem> problem() const;
};

// The official decay groups (the layout's flags), minus every tensor whose name contains one of `no_decay`
// (e.g. "embedding" to keep the embedding out of the decay group).
[[nodiscard]] std::vector<bool> decay_flags(const std::vector<ParamInfo>& layout,
                                            std::span<const std::string> no_decay = {});

class AdamW {
 public:
  // `buffer_size`: floats in a parameter buffer of this layout (parameter_buffer_size(layout)).
  AdamW(std::vector<ParamInfo> layout, std::int64_t buffer_size, const AdamWConfig& config, std::vector<bool> decay);

  // One update of every tensor with learning rate `lr`; params and grads are buffers of the layout.
  void step(float* params, const float* grads, double lr);

  [[nodiscard]] std::int64_t steps() const { return steps_; }  // updates done so far (t)
  [[nodiscard]] const AdamWConfig& config() const { return config_; }
  [[nodiscard]] const std::vector<ParamInfo>& layout() const { return layout_; }
  [[nodiscard]] const std::vector<bool>& decay() const { return decay_; }
  // The moments, buffers of the layout (m = exp_avg, v = exp_avg_sq in torch's state_dict).
  [[nodiscard]] Buffer<float>& exp_avg() { return m_; }
  [[nodiscard]] Buffer<float>& exp_avg_sq() { return v_; }
  [[nodiscard]] const Buffer<float>& exp_avg() const { return m_; }
  [[nodiscard]] const Buffer<float>& exp_avg_sq() const { return v_; }
  // Restores a saved state (moments are set through exp_avg()/exp_avg_sq()).
  void set_steps(std::int64_t t) { steps_ = t; }
  // New hyper-parameters / decay groups for the next updates; the moments and the step count are kept.
  void reconfigure(const AdamWConfig& config, std::vector<bool> decay);

 private:
  std::vector<ParamInfo> layout_;
  AdamWConfig config_;
  std::vector<bool> decay_;
  Buffer<float> m_, v_;
  std::int64_t steps_ = 0;
};

// The global L2 norm of all gradients (every tensor of the layout, as if concatenated), summed in double and
// returned as the float32 value torch reports.
[[nodiscard]] double global_grad_norm(const std::vector<ParamInfo>& layout, const float* grads);

// torch.nn.utils.clip_grad_norm_(params, max_norm): computes the global norm; when max_norm > 0 multiplies every
// gradient by min(1, max_norm / (norm + 1e-6)) (float32). Returns the norm BEFORE clipping.
double clip_grad_norm(const std::vector<ParamInfo>& layout, float* grads, double max_norm);

}  // namespace tinymamba::train
