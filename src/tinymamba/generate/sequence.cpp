#include "tinymamba/generate/sequence.hpp"

#include <cmath>

#include "tinymamba/core/error.hpp"

namespace tinymamba {

std::string_view finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::stop: return "stop";
    case FinishReason::length: return "length";
    case FinishReason::none: break;
  }
  return "";
}

Sequence::Sequence(std::vector<std::int32_t> prompt, const SamplingParams& sampling, const StopRule& stop,
                   std::int64_t vocab_size, const Tokenizer* detokenizer)
    : tokens_(std::move(prompt)), prompt_tokens_(std::ssize(tokens_)), sampler_(sampling, vocab_size), stop_(stop) {
  TM_CHECK(!tokens_.empty(), "prompt: no token ids (a sequence starts from at least one)");
  for (std::int64_t t = 0; t < prompt_tokens_; ++t)
    TM_CHECK(tokens_[t] >= 0 && tokens_[t] < vocab_size, "prompt: token id ", tokens_[t], " at position ", t,
             " is outside the vocabulary [0, ", vocab_size, ")");
  stop_.validate(vocab_size);
  if (detokenizer) {
    TM_CHECK(vocab_size <= detokenizer->vocab_size(), "vocab_size ", vocab_size, " exceeds the detokenizer's ",
             detokenizer->vocab_size(), " ids");
    decoder_.emplace(*detokenizer);
  }
}

// Finite weights can still overflow to inf or NaN on the way to the logits; say so plainly rather than sample
// from them.
void Sequence::check_logits() const {
  for (std::int64_t id = 0; id < vocab_size(); ++id)
    TM_CHECK(std::isfinite(logits_[id]), "the model's logits for token ", generated_tokens() + 1,
             " are not finite (", logits_[id], " for id ", id, "): its weights overflow float32 on this prompt");
}

StepToken Sequence::take_next() {
  StepToken out;
  out.id = sampler_.sample(logits_, tokens_);
  tokens_.push_back(out.id);
  if (decoder_) out.text = decoder_->push(out.id);
  if (stop_.reached(generated())) {
    finish_ = stop_.eos_id && out.id == *stop_.eos_id ? FinishReason::stop : FinishReason::length;
    if (decoder_) out.text += decoder_->flush();
  }
  out.finish = finish_;
  return out;
}

}  // namespace tinymamba
