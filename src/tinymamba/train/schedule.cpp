#include "tinymamba/train/schedule.hpp"

#include <cmath>
#include <numbers>

#include "tinymamba/core/error.hpp"

namespace tinymamba::train {

void LrSchedule::validate() const {
  TM_CHECK(std::isfinite(peak) && peak > 0, "--lr = ", peak, " must be a positive number");
  TM_CHECK(std::isfinite(floor) && floor >= 0 && floor <= peak, "--min-lr = ", floor, " must be in [0, --lr = ", peak,
           "]");
  TM_CHECK(total >= 1, "--steps = ", total, " must be at least 1");
  TM_CHECK(warmup >= 0 && warmup <= total, "--warmup = ", warmup, " must be in [0, --steps = ", total, "]");
}

double LrSchedule::at(std::int64_t step) const {
  if (step < warmup) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (step >= total) return floor;
  const double progress = static_cast<double>(step - warmup) / static_cast<double>(total - warmup);
  return floor + (peak - floor) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace tinymamba::train
