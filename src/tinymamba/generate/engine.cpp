#include "tinymamba/generate/engine.hpp"

#include <algorithm>

#include "tinymamba/core/error.hpp"

namespace tinymamba {

namespace {
const EngineOptions& checked(const EngineOptions& o) {
  TM_CHECK(o.slots >= 1, "slots must be >= 1, got ", o.slots);
  TM_CHECK(o.prefill_chunk >= 1, "prefill_chunk must be >= 1, got ", o.prefill_chunk);
  return o;
}
}  // namespace

Engine::Engine(const Model& model, const EngineOptions& options)
    : model_(&model), options_(checked(options)), pool_(model.config, options.slots), one_(model.config, 1) {}

bool Engine::prefill(Sequence& seq, std::int64_t max_tokens, PrefillBy by) {
  TM_CHECK(max_tokens >= 1, "max_tokens must be >= 1, got ", max_tokens);
  if (seq.slot_ < 0) {
    check_startable(seq, "prefill: the sequence");
    start(seq);
  }
  check_owned(seq, "prefill: the sequence");
  TM_CHECK(seq.prefilled_ < seq.prompt_tokens_, "prefill: all ", seq.prompt_tokens_, " prompt tokens are in already");

  std::int64_t end = seq.prefilled_ + std::min(max_tokens, seq.prompt_tokens_ - seq.prefilled_);
  const float* last_logits = nullptr;  // (V) after the last token absorbed
  switch (by) {
    case PrefillBy::step: last_logits = absorb_by_steps(seq, end); break;
    case PrefillBy::forward: last_logits = absorb_by_forward(seq, end); break;
    case PrefillBy::aligned: {
      const std::int64_t chunk = options_.prefill_chunk;
      const std::int64_t forward_end = aligned_forward_end(seq.prompt_tokens_, chunk);
      if (seq.prefilled_ < forward_end) {
        TM_CHECK(seq.prefilled_ % chunk == 0, "prefill: the aligned schedule continues from a multiple of ", chunk,
                 " below token ", forward_end, ", not from token ", seq.prefilled_);
        const std::int64_t chunks_end = std::min(forward_end, (end + chunk - 1) / chunk * chunk);
        last_logits = absorb_by_forward(seq, chunks_end);
        end = std::max(end, chunks_end);
      }
      if (seq.prefilled_ < end) last_logits = absorb_by_steps(seq, end);
      break;
    }
  }
  if (seq.prefilled_ == seq.prompt_tokens_) prompt_absorbed(seq, last_logits);
  return seq.ready();
}

void Engine::check_startable(const Sequence& seq, const std::string& what) const {
  TM_CHECK(seq.prefilled_ == 0 && !seq.finished(), what, " was released");
  TM_CHECK(seq.vocab_size() <= model_->config.padded_vocab(), "vocab_size ", seq.vocab_size(),
           " exceeds the model's vocabulary of ", model_->config.padded_vocab());
}

void Engine::start(Sequence& seq) {
  seq.slot_ = pool_.acquire();
  seq.engine_ = this;
}

void Engine::prompt_absorbed(Sequence& seq, const float* last_logits) {
  seq.logits_.assign(last_logits, last_logits + model_->config.padded_vocab());
  if (seq.stop_.reached(seq.generated())) seq.finish_ = FinishReason::length;
}

const float* Engine::absorb_by_steps(Sequence& seq, std::int64_t end) {
  const std::span<const std::int32_t> prompt = seq.prompt();
  const std::int64_t slot[1] = {seq.slot_};
  for (; seq.prefilled_ < end; ++seq.prefilled_) {
    lm_step(*model_, prompt.subspan(seq.prefilled_, 1), pool_.states(), step_acts_, slot);
    pool_.add_tokens(seq.slot_, 1);
  }
  return step_acts_.logits.data();
}

const float* Engine::absorb_by_forward(Sequence& seq, std::int64_t end) {
  const std::span<const std::int32_t> prompt = seq.prompt();
  pool_.copy_out(seq.slot_, one_);
  while (seq.prefilled_ < end) {
    const std::int64_t n = std::min(options_.prefill_chunk, end - seq.prefilled_);
    lm_forward(*model_, prompt.subspan(seq.prefilled_, n), 1, n, prefill_acts_,
               {.scan = options_.scan, .last_logits_only = true}, &one_);
    seq.prefilled_ += n;
  }
  pool_.copy_in(seq.slot_, one_);
  return prefill_acts_.logits.data();
}

void Engine::resume(Sequence& seq, const InferenceState& snapshot) {
  TM_CHECK(seq.slot_ < 0 && seq.prefilled_ == 0 && !seq.finished(),
           "resume: the sequence has started already (it holds or held a state)");
  TM_CHECK(snapshot.tokens_seen >= 0 && snapshot.tokens_seen < seq.prompt_tokens_, "resume: the snapshot's ",
           snapshot.tokens_seen, " tokens must be fewer than the prompt's ", seq.prompt_tokens_,
           " (the last prompt token is run to give the first logits)");
  TM_CHECK(seq.vocab_size() <= model_->config.padded_vocab(), "vocab_size ", seq.vocab_size(),
           " exceeds the model's vocabulary of ", model_->config.padded_vocab());
  const std::int64_t slot = pool_.acquire();
  try {
    pool_.copy_in(slot, snapshot);  // checks its shape
  } catch (...) {
    pool_.release(slot);
    throw;
  }
  seq.slot_ = slot;
  seq.engine_ = this;
  seq.prefilled_ = snapshot.tokens_seen;
}

std::vector<StepToken> Engine::step(std::span<Sequence* const> seqs, std::span<Sequence* const> absorbing) {
  const std::int64_t B = std::ssize(seqs);
  for (std::int64_t i = 0; i < B; ++i) {
    const Sequence* s = seqs[i];
    TM_CHECK(s != nullptr, "seqs[", i, "] is null");
    const std::string what = cat("seqs[", i, "]");
    TM_CHECK(s->slot_ >= 0, what, " holds no state: not prefilled yet, or released");
    check_owned(*s, what.c_str());
    TM_CHECK(!s->finished(), what, " has finished (", finish_reason_name(s->finish_), ")");
    TM_CHECK(s->prefilled_ == s->prompt_tokens_, what, " is not prefilled: ", s->prefilled_, " of its ",
             s->prompt_tokens_, " prompt tokens are in");
    for (std::int64_t j = 0; j < i; ++j) TM_CHECK(seqs[j] != s, "seqs[", j, "] and ", what, " are the same sequence");
    s->check_logits();  // before any sequence takes a token, so that an error leaves every one as it was
  }
  std::int64_t starting = 0;  // absorbing sequences without a slot yet
  for (std::int64_t i = 0; i < std::ssize(absorbing); ++i) {
    const Sequence* s = absorbing[i];
    TM_CHECK(s != nullptr, "absorbing[", i, "] is null");
    const std::string what = cat("absorbing[", i, "]");
    if (s->slot_ < 0) {
      check_startable(*s, what);
      ++starting;
    } else {
      check_owned(*s, what.c_str());
    }
    TM_CHECK(!s->finished(), what, " has finished (", finish_reason_name(s->finish_), ")");
    TM_CHECK(s->prefilled_ < s->prompt_tokens_, what, ": all ", s->prompt_tokens_, " prompt tokens are in already");
    for (std::int64_t j = 0; j < B; ++j) TM_CHECK(seqs[j] != s, "seqs[", j, "] and ", what, " are the same sequence");
    for (std::int64_t j = 0; j < i; ++j)
      TM_CHECK(absorbing[j] != s, "absorbing[", j, "] and ", what, " are the same sequence");
  }
  TM_CHECK(pool_.in_use() + starting <= pool_.capacity(), "state pool: all ", pool_.capacity(),
           " slots are in use");

  std::vector<StepToken> out;
  out.reserve(static_cast<std::size_t>(B));
  ids_.clear();
  slots_.clear();
  for (Sequence* s : seqs) {
    out.push_back(s->take_next());
    if (!s->finished()) {
      ids_.push_back(out.back().id);
      slots_.push_back(s->slot_);
    }
  }
  for (Sequence* s : absorbing) {
    if (s->slot_ < 0) start(*s);
    ids_.push_back(s->prompt()[s->prefilled_]);
    slots_.push_back(s->slot_);
  }
  if (ids_.empty()) return out;
  lm_step(*model_, ids_, pool_.states(), step_acts_, slots_);
  const std::int64_t V = model_->config.padded_vocab();
  const auto logits_row = [&](std::int64_t row) { return step_acts_.logits.data() + row * V; };
  std::int64_t row = 0;
  for (Sequence* s : seqs) {
    if (s->finished()) continue;
    s->logits_.assign(logits_row(row), logits_row(row) + V);
    pool_.add_tokens(s->slot_, 1);
    ++row;
  }
  for (Sequence* s : absorbing) {
    pool_.add_tokens(s->slot_, 1);
    if (++s->prefilled_ == s->prompt_tokens_) prompt_absorbed(*s, logits_row(row));
    ++row;
  }
  return out;
}

Sequence Engine::fork(const Sequence& seq) {
  TM_CHECK(seq.slot_ >= 0, "fork: the sequence holds no state (not prefilled yet, or released)");
  check_owned(seq, "fork: the sequence");
  Sequence copy(seq);
  copy.slot_ = pool_.acquire();
  pool_.copy(seq.slot_, copy.slot_);
  return copy;
}

void Engine::release(Sequence& seq) {
  if (seq.slot_ < 0) return;
  check_owned(seq, "release: the sequence");
  pool_.release(seq.slot_);
  seq.slot_ = -1;
}

void Engine::check_owned(const Sequence& seq, const char* what) const {
  TM_CHECK(seq.engine_ == this, what, " holds a slot of another engine");
}

}  // namespace tinymamba
