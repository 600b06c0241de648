// The training loop (and the pieces a benchmark or a test can drive on their own):
//   TrainStep      one optimizer update on given batches: forward + loss + backward per micro-batch (gradients
//                  summed in a fixed pairwise order, scaled by 1/micro-batches), the sum over the ranks of a
//                  data-parallel run, global-norm clipping, AdamW. It owns the activations and the gradient
//                  buffers, reused from update to update; nothing in it holds a (b, l, d_in, n) tensor (the scan's
//                  backward recomputes states per channel).
//   evaluate       mean next-token loss over a token stream, perplexity, bits per byte.
//   run_training   the loop: batches from the sampler, the schedule, validation, log.csv + loss.svg, checkpoints.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "tinymamba/core/buffer.hpp"
#include "tinymamba/model/lm.hpp"
#include "tinymamba/model/model.hpp"
#include "tinymamba/train/checkpoint.hpp"
#include "tinymamba/train/communicator.hpp"
#include "tinymamba/train/data.hpp"
#include "tinymamba/train/optimizer.hpp"
#include "tinymamba/train/train_log.hpp"

namespace tinymamba::train {

struct StepResult {
  double loss = 0;          // mean next-token loss over the update's micro-batches (before the update)
  double grad_norm = 0;     // global gradient norm before clipping
  double wait_seconds = 0;  // time spent waiting for the sums over the ranks after the backward (0 alone)
};

// The update's gradient is the mean over its micro-batches g_0 .. g_{M−1} (each computed on its own), summed
// pairwise: the sum over [lo, hi) is sum[lo, mid) + sum[mid, hi), mid = lo + (hi − lo)/2, down to single
// micro-batches. With R ranks (R a power of two), rank r holds the micro-batches [r·M/R, (r+1)·M/R) — a subtree
// — and the ranks' sums are added by the communicator; for R = 2 that is the tree's root, one commutative
// addition per element, so the result is bit for bit that of one process with all M micro-batches.
class TrainStep {
 public:
  // clip: max global gradient norm (0 = no clipping). The model, optimizer and communicator must outlive the step.
  TrainStep(Model& model, AdamW& optimizer, double clip, ScanAlgorithm scan = kDefaultScan,
            Communicator& comm = single_process());

  // One update from `accum` micro-batches of (batch, seq_len) ids on each rank, row-major, one after the other
  // (accum·batch·seq_len ids here; the update is the mean over all ranks' accum·ranks micro-batches). Every rank
  // applies the same update. Throws Error (and leaves the parameters unchanged) if the loss or the gradient is
  // not finite.
  StepResult run(std::span<const std::int32_t> ids, std::int64_t batch, std::int64_t seq_len, std::int64_t accum,
                 double lr);

  [[nodiscard]] const Buffer<float>& grads() const { return sums_.front(); }  // the last update's (clipped) gradients

 private:
  Model& model_;
  AdamW& optimizer_;
  double clip_;
  ScanAlgorithm scan_;
  Communicator& comm_;
  Activations acts_;
  std::vector<Buffer<float>> sums_;                           // [0]: the gradient; [k]: a subtree's sum at depth k
  std::vector<std::pair<std::int64_t, std::int64_t>> layers_; // per layer i: its [begin, end) in the buffer
};

struct EvalResult {
  double loss = 0;          // mean next-token loss, nats per token
  std::int64_t tokens = 0;  // predicted tokens
  double bytes = 0;         // bytes of text those tokens cover
  [[nodiscard]] double perplexity() const;
  [[nodiscard]] double bits_per_byte() const;  // loss · tokens / ln 2 / bytes
};

struct EvalOptions {
  std::int64_t seq_len = 256;    // context of each window
  std::int64_t batch = 8;        // windows per forward
  std::int64_t max_tokens = 0;   // 0 = every token; else about this many, in windows spread evenly over the text
  ScanAlgorithm scan = kDefaultScan;
};

// Next-token loss over `text`: windows of seq_len tokens overlapping by one, so that every token but the first
// is predicted exactly once (with up to seq_len − 1 tokens of context). bytes = text.bytes · predicted / total.
// With several ranks (every rank calls it with the same arguments), batch k runs on rank k mod ranks and every
// rank gets the result; the per-batch losses are added in batch order, so it is the same as one process's.
[[nodiscard]] EvalResult evaluate(const Model& model, const TokenText& text, const EvalOptions& opt,
                                  Communicator& comm = single_process());

struct RunOptions {
  std::string out_dir;                              // checkpoints, log.csv, loss.svg
  std::map<std::string, std::string> extra_files;   // saved with every checkpoint (e.g. tokenizer.json)
  std::string title;                                // of the loss curve
  bool progress = true;                             // the live progress line on stderr
  std::int64_t stop_after = 0;                      // > 0: stop (and save) at this step, short of --steps
  // The ranks of a data-parallel run: each takes batch/ranks windows of every micro-batch (--batch stays the
  // global batch); rank 0 alone prints and writes. Null: this process alone.
  Communicator* comm = nullptr;
  std::function<void(std::int64_t step)> on_saved;  // after each checkpoint is complete on disk
};

struct TrainResult {
  std::int64_t step = 0;
  double last_loss = 0;
  EvalResult val;          // the final validation (whole split)
  double seconds = 0;      // wall time of this run (excluding loading)
  double train_tok_s = 0;  // training tokens per second over this run's updates (excluding evaluation)
  // Of which waiting for the sums over the ranks after the backward: on the rank that waited least (the last to
  // finish its backward, whom the others wait for: the communication the backward did not hide), and most.
  double wait_seconds = 0, wait_max_seconds = 0;
};

// Trains `model` from state.step to state.settings.steps (or opt.stop_after), saving a checkpoint at the end. `log` holds the rows of earlier steps (a resume).
TrainResult run_training(Model& model, AdamW& optimizer, TrainingState& state, const DataSplit& data,
                         std::vector<LogRow> log, const RunOptions& opt);

inline constexpr const char* kLogFile = "log.csv";
inline constexpr const char* kCurveFile = "loss.svg";

}  // namespace tinymamba::train
