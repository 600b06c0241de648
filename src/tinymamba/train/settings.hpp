// Everything that defines a training run besides the model: the flags of `tinymamba train`, one field each.
// A checkpoint stores them (trainer_state.json) so that a resumed run continues the same run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tinymamba/train/optimizer.hpp"
#include "tinymamba/train/schedule.hpp"

namespace tinymamba::train {

struct TrainSettings {
  std::string data;                 // --data FILE
  std::string encoder = "bytes";    // "bytes" (--bytes) or the tokenizer file (--tokenizer)
  std::int64_t steps = 0;           // --steps: total optimizer updates of the run (a resume continues to it)
  std::int64_t batch = 0;           // --batch: windows per micro-batch
  std::int64_t seq_len = 0;         // --seq-len: tokens per window
  std::int64_t accum = 1;           // --accum: micro-batches per update (gradient accumulation)
  double lr = 1e-3;                 // --lr: peak learning rate
  double min_lr = 1e-4;             // --min-lr: the cosine's floor
  std::int64_t warmup = 0;          // --warmup: updates of linear warm-up
  std::int64_t schedule_steps = 0;  // --schedule-steps: the cosine's length (0 = --steps); lets a run be split
                                    // into --steps 3 now and --resume --steps 6 later with the 6-step schedule
  AdamWConfig adamw;                // --beta1 --beta2 --eps --weight-decay
  std::vector<std::string> no_decay;  // --no-decay NAME: also exclude tensors whose name contains NAME
  double clip = 1.0;                // --clip: max global gradient norm (0 = off)
  std::uint64_t seed = 0;           // --seed: initialization and data order
  std::int64_t eval_every = 0;      // --eval-every: validation every K updates (0 = only at the end)
  std::int64_t eval_tokens = 0;     // --eval-tokens: tokens per periodic validation (0 = the whole split)
  std::int64_t save_every = 0;      // --save-every: checkpoint every K updates (0 = only at the end)
  std::string scan;                 // --scan ("" = the default algorithm)

  // Throws Error naming the flag for any unusable value (zero/negative sizes, NaN or negative rates, ...).
  void validate() const;
  [[nodiscard]] LrSchedule schedule() const { return {lr, min_lr, warmup, schedule_steps > 0 ? schedule_steps : steps}; }
  [[nodiscard]] std::int64_t tokens_per_step() const { return accum * batch * seq_len; }
};

[[nodiscard]] std::string settings_to_json(const TrainSettings& s);  // a JSON object
[[nodiscard]] TrainSettings settings_from_json(const std::string& json_text, const std::string& source);

}  // namespace tinymamba::train
