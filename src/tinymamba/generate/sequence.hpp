// One generation request as the Engine runs it: the prompt, the state slot it occupies, how it picks a token
// (Sampler), when it ends (StopRule), optionally a streaming detokenizer; then the ids it generated, its
// counts, and why it finished. Every sequence has its own random stream, so its tokens do not depend on which
// other sequences run beside it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tinymamba/sampling/sampler.hpp"
#include "tinymamba/sampling/stop_rule.hpp"
#include "tinymamba/tokenizer/streaming_decoder.hpp"

namespace tinymamba {

class Engine;

// none while running; stop: it generated the StopRule's eos_id; length: it reached max_new_tokens.
enum class FinishReason { none, stop, length };
// "stop", "length", or "" for none (the names OpenAI's finish_reason uses).
[[nodiscard]] std::string_view finish_reason_name(FinishReason reason);

// What one step did to one sequence.
struct StepToken {
  std::int32_t id = 0;
  std::string text;  // the text the token completes (empty without a detokenizer); at the finish, with
                     // whatever the detokenizer held back
  FinishReason finish = FinishReason::none;
};

class Sequence {
 public:
  // prompt: at least one id, each in [0, vocab_size). vocab_size: how many ids the sampler may pick (the
  // tokenizer's; the engine checks it against the model). detokenizer: when given, each step also returns the
  // text its token completes; it must outlive the sequence. Throws Error naming the field (prompt,
  // vocab_size, a SamplingParams or StopRule field).
  Sequence(std::vector<std::int32_t> prompt, const SamplingParams& sampling, const StopRule& stop,
           std::int64_t vocab_size, const Tokenizer* detokenizer = nullptr);
  // Move-only: two copies would claim one slot (Engine::fork is the copy that gets its own). A moved-from
  // sequence is not used again.
  Sequence(Sequence&&) = default;
  Sequence& operator=(Sequence&&) = default;

  [[nodiscard]] std::span<const std::int32_t> tokens() const { return tokens_; }  // prompt, then generated
  [[nodiscard]] std::span<const std::int32_t> prompt() const { return tokens().first(prompt_tokens_); }
  [[nodiscard]] std::span<const std::int32_t> generated() const { return tokens().subspan(prompt_tokens_); }
  [[nodiscard]] std::int64_t prompt_tokens() const { return prompt_tokens_; }
  [[nodiscard]] std::int64_t generated_tokens() const { return std::ssize(tokens_) - prompt_tokens_; }
  // How many prompt tokens its state has absorbed (from a snapshot and by prefill).
  [[nodiscard]] std::int64_t prefilled() const { return prefilled_; }

  // Its slot in the engine's StatePool; -1 before its first prefill and after release.
  [[nodiscard]] std::int64_t slot() const { return slot_; }
  // Whether it may step: the whole prompt is in, it holds a slot, and it has not finished.
  [[nodiscard]] bool ready() const {
    return slot_ >= 0 && prefilled_ == prompt_tokens_ && finish_ == FinishReason::none;
  }
  [[nodiscard]] bool finished() const { return finish_ != FinishReason::none; }
  [[nodiscard]] FinishReason finish_reason() const { return finish_; }

  // The logits the next step samples from (the first vocab_size of them); empty before the prompt is in.
  [[nodiscard]] std::span<const float> next_logits() const {
    return logits_.empty() ? std::span<const float>() : std::span<const float>(logits_).first(vocab_size());
  }
  [[nodiscard]] const SamplingParams& sampling() const { return sampler_.params(); }
  [[nodiscard]] const StopRule& stop_rule() const { return stop_; }
  [[nodiscard]] std::int64_t vocab_size() const { return sampler_.vocab_size(); }

 private:
  friend class Engine;
  Sequence(const Sequence&) = default;

  // Samples the next id from the pending logits, appends it, feeds the detokenizer, applies the stop rule.
  StepToken take_next();
  // Throws Error unless the pending logits (the first vocab_size) are finite.
  void check_logits() const;

  std::vector<std::int32_t> tokens_;  // prompt + generated (the repetition penalty's history)
  std::int64_t prompt_tokens_ = 0;
  std::int64_t prefilled_ = 0;
  std::int64_t slot_ = -1;
  const Engine* engine_ = nullptr;  // the engine whose pool holds slot_
  Sampler sampler_;
  StopRule stop_;
  std::optional<StreamingDecoder> decoder_;
  std::vector<float> logits_;  // (V) the next token's logits, after the last absorbed token
  FinishReason finish_ = FinishReason::none;
};

}  // namespace tinymamba
