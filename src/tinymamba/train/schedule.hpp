// The learning-rate schedule: linear warm-up to the peak, then cosine decay to a floor.
//   step s (0-based: the s-th update, s = 0 .. total−1)
//   s <  warmup:          lr = peak · (s + 1) / warmup                       (never 0, reaches peak at s = warmup−1)
//   warmup <= s < total:  lr = floor + (peak − floor) · ½ (1 + cos(π · (s − warmup) / (total − warmup)))
//   s >= total:           lr = floor
// warmup = 0 and floor = peak give a constant learning rate (what the goldens use).
#pragma once

#include <cstdint>

namespace tinymamba::train {

struct LrSchedule {
  double peak = 1e-3;
  double floor = 1e-4;       // the cosine's end value (min lr)
  std::int64_t warmup = 0;   // updates of linear warm-up
  std::int64_t total = 1;    // updates in the whole run (--steps)

  // Throws Error naming the flag (--lr, --min-lr, --warmup, --steps) when a value is not usable.
  void validate() const;
  [[nodiscard]] double at(std::int64_t step) const;
};

}  // namespace tinymamba::train
