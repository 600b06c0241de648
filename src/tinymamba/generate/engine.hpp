// Generation: prefill each sequence's prompt (in chunks, continuing its state), then step any subset of the
// ready sequences together, one token each per step. A sequence joins the steps once its own prefill is done
// and leaves when it stops, so callers batch continuously: a server adds requests between steps and prefills
// a chunk of a new prompt between two decode steps; the CLI steps all of its prompts until each stops.
//
// Batch invariance: a sequence's tokens are bitwise the same whether it steps alone or beside others, and
// whichever slot it holds. Each row of lm_step is computed by its own dot products in a fixed order
// (linear_rows_accumulate reads each row of W once for all rows of x but sums each row's dot product alone;
// RMSNorm, the conv and the scan are per row), and each sequence samples from its own random stream. A
// prompt's prefill depends only on the prompt and on how it is cut into chunks.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "tinymamba/generate/sequence.hpp"
#include "tinymamba/generate/state_pool.hpp"
#include "tinymamba/model/lm.hpp"
#include "tinymamba/model/lm_step.hpp"

namespace tinymamba {

struct EngineOptions {
  std::int64_t slots = 1;             // how many sequences may hold a state at once
  std::int64_t prefill_chunk = 1024;  // prompt tokens per parallel forward: bounds its activation memory
  ScanAlgorithm scan = kDefaultScan;  // the prefill's scan algorithm (a step has none)
};

// How prefill absorbs prompt tokens. forward: the parallel forward, in chunks of prefill_chunk. step: one
// lm_step per token — slower for long prompts (one weight read per token), but its result for a prefix does
// not depend on how the prompt was cut, while the forward's rounding does (its products and scan see the chunk
// lengths): a state after any prefix absorbed by steps, however reached, is bitwise the same, which is what a
// cache of prefix states needs to resume exactly at any token (the server's). aligned: the schedule such a cache
// can resume exactly, and the default of every entry point (`tinymamba generate`, the Python module, the
// server), so that they give the same tokens bit for bit: the forward over chunks of prefill_chunk
// (kAlignedPrefillChunk) aligned to the prompt's start, up to aligned_forward_end, then steps — fewer than a
// chunk, the last prompt token included. A chunk is never split: max_tokens rounds up to the chunk's end.
enum class PrefillBy { forward, step, aligned };

inline constexpr std::int64_t kAlignedPrefillChunk = 64;  // the aligned schedule's chunk (docs/serve.md)

// Where the aligned schedule's forward stops for a prompt of L tokens: chunk·⌊(L−1)/chunk⌋.
[[nodiscard]] constexpr std::int64_t aligned_forward_end(std::int64_t prompt_tokens, std::int64_t chunk) {
  return (prompt_tokens - 1) / chunk * chunk;
}

// Not thread-safe: one caller drives an engine (its steps use all the library's threads).
class Engine {
 public:
  // The model must outlive the engine. Throws Error naming a bad option.
  Engine(const Model& model, const EngineOptions& options);

  [[nodiscard]] const Model& model() const { return *model_; }
  [[nodiscard]] StatePool& pool() { return pool_; }

  // Absorbs up to max_tokens more of seq's prompt into its state, acquiring a zeroed slot first if it has
  // none: parallel forwards of at most prefill_chunk tokens each, from where the previous call stopped.
  // Returns seq.ready(). Once the whole prompt is in, the last prompt token's logits wait for the first
  // step; a sequence whose stop rule holds before any token (max_new_tokens 0) finishes ("length") instead.
  bool prefill(Sequence& seq, std::int64_t max_tokens = std::numeric_limits<std::int64_t>::max(),
               PrefillBy by = PrefillBy::forward);

  // Starts seq (not yet prefilled, no slot) from a state that absorbed its first snapshot.tokens_seen prompt
  // tokens — fewer than all of them — e.g. a StatePool::snapshot taken after prefilling a shared prefix;
  // prefill then absorbs the rest.
  void resume(Sequence& seq, const InferenceState& snapshot);

  // One token for each of seqs (distinct, each ready): samples it from the sequence's pending logits, appends
  // it and applies the stop rule; then ONE lm_step over the slots of those that did not stop computes their
  // next logits. A sequence that stops leaves: it never steps again, and its state holds all its tokens but
  // the last. Returns, per sequence in order, the token, its text and the finish reason.
  // The same lm_step also absorbs the next prompt token of each of `absorbing` (sequences whose prompts are not
  // all in, distinct from seqs and from each other; a zeroed slot is acquired for one that has none, as prefill
  // does): bitwise what PrefillBy::step would give (each row of a step is computed alone), but a row of a shared
  // step instead of a step of its own, so a new request's step-absorbed prompt tail costs the running ones
  // little. Once an absorbing sequence's prompt is all in, it is ready (or finished, as after prefill).
  // The arguments are checked before anything changes (Error naming seqs[i] or absorbing[i]).
  std::vector<StepToken> step(std::span<Sequence* const> seqs, std::span<Sequence* const> absorbing = {});

  // A copy of seq on a newly acquired slot holding a copy of its state: the same tokens, pending logits and
  // random stream, so it continues exactly as seq would.
  [[nodiscard]] Sequence fork(const Sequence& seq);

  // Gives seq's slot back; seq keeps its tokens and can no longer step. Nothing to do without a slot.
  void release(Sequence& seq);

 private:
  void check_owned(const Sequence& seq, const char* what) const;
  // A sequence without a slot may start only if it never had one; the checks, then the acquisition.
  void check_startable(const Sequence& seq, const std::string& what) const;
  void start(Sequence& seq);
  // The prompt is all in: its last token's logits (V) wait for the first step, or the stop rule ends it.
  void prompt_absorbed(Sequence& seq, const float* last_logits);
  // Absorb seq's prompt up to token `end`; each returns the logits (V) after the last token absorbed.
  const float* absorb_by_forward(Sequence& seq, std::int64_t end);
  const float* absorb_by_steps(Sequence& seq, std::int64_t end);

  const Model* model_;
  EngineOptions options_;
  StatePool pool_;
  InferenceState one_;             // a prefill's one-sequence state
  Activations prefill_acts_;
  StepActivations step_acts_;
  std::vector<std::int32_t> ids_;    // (b) one step's tokens
  std::vector<std::int64_t> slots_;  // (b) and their slots
};

}  // namespace tinymamba
