#include "tinymamba/generate/state_pool.hpp"

#include <algorithm>

#include "tinymamba/core/error.hpp"

namespace tinymamba {
namespace {

// Copies slot `from` of the per-layer buffers `src` (slots of `size` floats) to slot `to` of `dst`.
void copy_slot(const std::vector<Buffer<float>>& src, std::int64_t from, std::vector<Buffer<float>>& dst,
               std::int64_t to, std::int64_t size) {
  for (std::size_t i = 0; i < src.size(); ++i)
    std::copy_n(src[i].begin() + from * size, size, dst[i].begin() + to * size);
}

}  // namespace

StatePool::StatePool(const Config& c, std::int64_t capacity) : config_(c) {
  TM_CHECK(capacity >= 1, "capacity must be >= 1, got ", capacity);
  states_ = InferenceState(c, capacity);
  tokens_.assign(static_cast<std::size_t>(capacity), 0);
  used_.assign(static_cast<std::size_t>(capacity), false);
}

std::int64_t StatePool::acquire() {
  const auto it = std::find(used_.begin(), used_.end(), false);
  TM_CHECK(it != used_.end(), "state pool: all ", capacity(), " slots are in use");
  const std::int64_t slot = it - used_.begin();
  used_[slot] = true;
  ++in_use_;
  tokens_[slot] = 0;
  const std::int64_t EK = InferenceState::conv_size(config_), EN = InferenceState::ssm_size(config_);
  for (std::int64_t i = 0; i < config_.n_layer; ++i) {
    std::fill_n(states_.conv[i].begin() + slot * EK, EK, 0.0f);
    std::fill_n(states_.ssm[i].begin() + slot * EN, EN, 0.0f);
  }
  return slot;
}

void StatePool::release(std::int64_t slot) {
  check_in_use(slot, "slot");
  used_[slot] = false;
  --in_use_;
}

void StatePool::copy(std::int64_t from, std::int64_t to) {
  check_in_use(from, "from");
  check_in_use(to, "to");
  const std::int64_t EK = InferenceState::conv_size(config_), EN = InferenceState::ssm_size(config_);
  copy_slot(states_.conv, from, states_.conv, to, EK);
  copy_slot(states_.ssm, from, states_.ssm, to, EN);
  tokens_[to] = tokens_[from];
}

void StatePool::copy_out(std::int64_t slot, InferenceState& one) const {
  check_in_use(slot, "slot");
  if (one.batch != 1 || one.conv.size() != states_.conv.size()) one = InferenceState(config_, 1);
  const std::int64_t EK = InferenceState::conv_size(config_), EN = InferenceState::ssm_size(config_);
  copy_slot(states_.conv, slot, one.conv, 0, EK);
  copy_slot(states_.ssm, slot, one.ssm, 0, EN);
  one.tokens_seen = tokens_[slot];
}

void StatePool::copy_in(std::int64_t slot, const InferenceState& one) {
  check_in_use(slot, "slot");
  const std::int64_t EK = InferenceState::conv_size(config_), EN = InferenceState::ssm_size(config_);
  bool fits = one.batch == 1 && one.conv.size() == states_.conv.size() && one.ssm.size() == states_.ssm.size();
  for (std::size_t i = 0; fits && i < one.conv.size(); ++i)
    fits = std::ssize(one.conv[i]) == EK && std::ssize(one.ssm[i]) == EN;
  TM_CHECK(fits, "snapshot: a state of batch ", one.batch, " and ", one.conv.size(),
           " layers does not fit this pool's slots (batch 1, ", states_.conv.size(), " layers of ", EK, " + ", EN,
           " floats)");
  TM_CHECK(one.tokens_seen >= 0, "snapshot: tokens_seen must be >= 0, got ", one.tokens_seen);
  copy_slot(one.conv, 0, states_.conv, slot, EK);
  copy_slot(one.ssm, 0, states_.ssm, slot, EN);
  tokens_[slot] = one.tokens_seen;
}

InferenceState StatePool::snapshot(std::int64_t slot) const {
  InferenceState one(config_, 1);
  copy_out(slot, one);
  return one;
}

std::int64_t StatePool::tokens_seen(std::int64_t slot) const {
  check_in_use(slot, "slot");
  return tokens_[slot];
}

void StatePool::add_tokens(std::int64_t slot, std::int64_t n) {
  check_in_use(slot, "slot");
  TM_CHECK(n >= 0, "n must be >= 0, got ", n);
  tokens_[slot] += n;
}

void StatePool::check_in_use(std::int64_t slot, const char* what) const {
  TM_CHECK(slot >= 0 && slot < capacity(), what, " = ", slot, " is outside the pool's ", capacity(), " slots");
  TM_CHECK(used_[slot], what, " = ", slot, " is not in use (never acquired, or released)");
}

}  // namespace tinymamba
