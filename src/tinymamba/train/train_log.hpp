// The training log: one row per optimizer update, kept in memory and written (atomically, whole) as
// DIR/log.csv, with a loss-curve picture DIR/loss.svg beside it.
//   log.csv columns: step, loss, val_loss, lr, grad_norm, tok_s
//     step       updates done (1-based), loss the mean training loss of that update's batch (nats/token),
//     val_loss   validation loss when it was measured after that update, else empty,
//     lr         the learning rate the update used, grad_norm the global gradient norm before clipping,
//     tok_s      training tokens per second of that update (wall clock of the update alone).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tinymamba::train {

struct LogRow {
  std::int64_t step = 0;
  double loss = 0;
  double val_loss = -1;  // < 0: not measured at this step
  double lr = 0;
  double grad_norm = 0;
  double tok_s = 0;
};

[[nodiscard]] std::string log_csv(const std::vector<LogRow>& rows);
// Parses a log written by log_csv; Error naming `source` on a malformed line.
[[nodiscard]] std::vector<LogRow> parse_log_csv(const std::string& text, const std::string& source);

// An SVG line chart: training loss per step (faint), its moving average, and validation loss (points joined).
[[nodiscard]] std::string loss_curve_svg(const std::vector<LogRow>& rows, const std::string& title);

}  // namespace tinymamba::train
