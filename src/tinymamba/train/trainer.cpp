#include "tinymamba/train/trainer.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numbers>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/file.hpp"

namespace tinymamba::train {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string duration_text(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto total = static_cast<long long>(s + 0.5);
  char buf[32];
  if (total >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", total / 3600, total / 60 % 60);
  else
    std::snprintf(buf, sizeof buf, "%lldm%02llds", total / 60, total % 60);
  return buf;
}

std::string rate_text(double tok_s) {
  char buf[32];
  if (tok_s >= 1000)
    std::snprintf(buf, sizeof buf, "%.1fk", tok_s / 1000);
  else
    std::snprintf(buf, sizeof buf, "%.0f", tok_s);
  return buf;
}

void write_text(const fs::path& path, const std::string& text) {
  write_file_atomic(path.string(), [&](const ByteSink& sink) { sink(text.data(), text.size()); });
}

}  // namespace

TrainStep::TrainStep(Model& model, AdamW& optimizer, double clip, ScanAlgorithm scan)
    : model_(model), optimizer_(optimizer), clip_(clip), scan_(scan), grads_(model.params.size(), 0.0f) {
  TM_CHECK(optimizer.layout().size() == model.layout.size(), "TrainStep: the optimizer belongs to another model");
}

StepResult TrainStep::run(std::span<const std::int32_t> ids, std::int64_t batch, std::int64_t seq_len,
                          std::int64_t accum, double lr) {
  const std::int64_t micro = batch * seq_len;
  TM_CHECK(accum >= 1 && static_cast<std::int64_t>(ids.size()) == accum * micro, "TrainStep: expected ", accum,
           " x ", batch, " x ", seq_len, " ids, got ", ids.size());
  std::fill(grads_.begin(), grads_.end(), 0.0f);
  double loss = 0;
  const float scale = 1.0f / static_cast<float>(accum);  // the mean over micro-batches
  for (std::int64_t a = 0; a < accum; ++a) {
    const auto sub = ids.subspan(static_cast<std::size_t>(a * micro), static_cast<std::size_t>(micro));
    lm_forward(model_, sub, batch, seq_len, acts_, {.scan = scan_, .for_backward = true});
    loss += lm_loss(model_, sub, acts_);
    lm_backward(model_, sub, acts_, grads_.data(), scan_, scale);
  }
  loss /= static_cast<double>(accum);
  const double norm = clip_grad_norm(model_.layout, grads_.data(), clip_);
  TM_CHECK(std::isfinite(loss) && std::isfinite(norm), "training diverged at update ", optimizer_.steps() + 1,
           ": loss ", loss, ", gradient norm ", norm, " (try a lower --lr or --clip)");
  optimizer_.step(model_.params.data(), grads_.data(), lr);
  return {loss, norm};
}

double EvalResult::perplexity() const { return std::exp(loss); }

double EvalResult::bits_per_byte() const {
  return bytes > 0 ? loss * static_cast<double>(tokens) / std::numbers::ln2 / bytes : 0.0;
}

EvalResult evaluate(const Model& model, const TokenText& text, const EvalOptions& opt) {
  TM_CHECK(opt.seq_len >= 2, "--seq-len = ", opt.seq_len, " must be at least 2");
  TM_CHECK(opt.batch >= 1, "--batch = ", opt.batch, " must be at least 1");
  const auto n = static_cast<std::int64_t>(text.ids.size());
  TM_CHECK(n >= 2, "evaluation needs at least 2 tokens, the text has ", n);
  const std::int64_t L = std::min(opt.seq_len, n), stride = L - 1;
  // Window starts: every stride tokens (the last window may be shorter), or evenly spread full windows.
  std::vector<std::int64_t> starts;
  const std::int64_t all_windows = (n - 1 + stride - 1) / stride;
  if (opt.max_tokens > 0 && opt.max_tokens < n - 1) {
    const std::int64_t w = std::min(all_windows, std::max<std::int64_t>(1, (opt.max_tokens + stride - 1) / stride));
    for (std::int64_t k = 0; k < w; ++k) starts.push_back(w == 1 ? 0 : k * (n - L) / (w - 1));
  } else {
    for (std::int64_t s = 0; s < n - 1; s += stride) starts.push_back(s);
  }
  double nats = 0;
  std::int64_t predicted = 0;
  Activations acts;
  std::vector<std::int32_t> ids;
  std::size_t i = 0;
  while (i < starts.size()) {
    // A batch of full-length windows, or the one short window at the end on its own.
    const std::int64_t len = std::min(L, n - starts[i]);
    std::size_t j = i;
    ids.clear();
    while (j < starts.size() && static_cast<std::int64_t>(j - i) < opt.batch && std::min(L, n - starts[j]) == len) {
      ids.insert(ids.end(), text.ids.begin() + starts[j], text.ids.begin() + starts[j] + len);
      ++j;
    }
    const auto b = static_cast<std::int64_t>(j - i);
    lm_forward(model, ids, b, len, acts, {.scan = opt.scan});
    nats += lm_loss(model, ids, acts) * static_cast<double>(b * (len - 1));
    predicted += b * (len - 1);
    i = j;
  }
  EvalResult r;
  r.tokens = predicted;
  r.loss = nats / static_cast<double>(predicted);
  r.bytes = static_cast<double>(text.bytes) * static_cast<double>(predicted) / static_cast<double>(n);
  return r;
}

TrainResult run_training(Model& model, AdamW& optimizer, TrainingState& state, const DataSplit& data,
                         std::vector<LogRow> log, const RunOptions& opt) {
  const TrainSettings& s = state.settings;
  s.validate();
  TM_CHECK(state.step <= s.steps, "--steps = ", s.steps, " is below the checkpoint's step ", state.step,
           " (--steps is the total number of updates)");
  TM_CHECK(optimizer.steps() == state.step, "optimizer state (", optimizer.steps(), " updates) does not match step ",
           state.step);
  const std::int64_t V = model.config.padded_vocab();
  for (const auto* part : {&data.train, &data.val})
    for (std::int32_t id : part->ids)
      TM_CHECK(id < V, data.source, ": token id ", id, " does not fit the model's vocabulary of ", V);
  TM_CHECK(static_cast<std::int64_t>(data.train.ids.size()) >= s.seq_len, "--seq-len = ", s.seq_len,
           " is longer than the training part of ", data.source, " (", data.train.ids.size(), " tokens)");
  TM_CHECK(data.val.ids.size() >= 2, data.source, ": the validation part (last 10%) has fewer than 2 tokens");
  const ScanAlgorithm scan = s.scan.empty() ? kDefaultScan : parse_scan_algorithm(s.scan);
  const LrSchedule schedule = s.schedule();

  BatchSampler sampler(data.train.ids, s.batch, s.seq_len, s.seed);
  if (state.step > 0) sampler.restore(state.sampler);
  TrainStep step(model, optimizer, s.clip, scan);
  std::vector<std::int32_t> ids(static_cast<std::size_t>(s.tokens_per_step())), micro;
  const fs::path out(opt.out_dir);
  fs::create_directories(out);
  std::erase_if(log, [&](const LogRow& r) { return r.step > state.step; });  // steps a resume will redo

  const bool tty = ::isatty(2) != 0;
  const std::int64_t print_every = std::max<std::int64_t>(1, s.steps / 50);
  const auto run_start = Clock::now();
  const std::int64_t first_step = state.step;
  const double elapsed_before = state.elapsed_seconds;
  double train_seconds = 0, last_val = -1;
  TrainResult result;

  auto flush_log = [&] {
    write_text(out / kLogFile, log_csv(log));
    write_text(out / kCurveFile, loss_curve_svg(log, opt.title));
  };
  auto save = [&] {
    state.sampler = sampler.state();
    state.elapsed_seconds = elapsed_before + seconds_since(run_start);
    save_training_checkpoint(opt.out_dir, model, optimizer, state, opt.extra_files);
  };
  auto progress = [&](const LogRow& r, bool keep_line) {
    if (!opt.progress) return;
    const double done = static_cast<double>(state.step - first_step);
    const double eta = done > 0 ? seconds_since(run_start) / done * static_cast<double>(s.steps - state.step) : NAN;
    char val[32] = "-";
    if (last_val >= 0) std::snprintf(val, sizeof val, "%.4f", last_val);
    char line[256];
    std::snprintf(line, sizeof line, "step %lld/%lld | loss %.4f | val %s | lr %.2e | %s tok/s | ETA %s",
                  static_cast<long long>(state.step), static_cast<long long>(s.steps), r.loss, val, r.lr,
                  rate_text(r.tok_s).c_str(), duration_text(eta).c_str());
    if (tty)
      std::fprintf(stderr, "\r%s\x1b[K%s", line, keep_line ? "\n" : "");
    else if (keep_line || state.step % print_every == 0 || state.step == s.steps)
      std::fprintf(stderr, "%s\n", line);
    std::fflush(stderr);
  };

  const std::int64_t end = opt.stop_after > 0 ? std::min(opt.stop_after, s.steps) : s.steps;
  while (state.step < end) {
    for (std::int64_t a = 0; a < s.accum; ++a) {
      sampler.next(micro);
      std::copy(micro.begin(), micro.end(), ids.begin() + a * s.batch * s.seq_len);
    }
    const double lr = schedule.at(state.step);
    const auto t0 = Clock::now();
    const StepResult r = step.run(ids, s.batch, s.seq_len, s.accum, lr);
    const double dt = seconds_since(t0);
    train_seconds += dt;
    ++state.step;
    LogRow row{state.step, r.loss, -1, lr, r.grad_norm, static_cast<double>(s.tokens_per_step()) / dt};
    const bool last = state.step == s.steps, stop = state.step == end;
    const bool do_eval = last || (s.eval_every > 0 && state.step % s.eval_every == 0);
    const bool do_save = stop || (s.save_every > 0 && state.step % s.save_every == 0);
    if (do_eval) {
      const EvalResult v = evaluate(model, data.val, {.seq_len = s.seq_len, .batch = s.batch,
                                                      .max_tokens = last ? 0 : s.eval_tokens, .scan = scan});
      row.val_loss = last_val = v.loss;
      if (last) result.val = v;
    }
    log.push_back(row);
    if (do_save) save();
    if (do_eval || do_save) flush_log();
    progress(row, do_eval);
    result.last_loss = r.loss;
  }
  if (first_step == s.steps) {  // nothing left to train: report the final validation of the checkpoint
    result.val = evaluate(model, data.val, {.seq_len = s.seq_len, .batch = s.batch, .scan = scan});
    flush_log();
  }
  result.step = state.step;
  result.seconds = seconds_since(run_start);
  result.train_tok_s = train_seconds > 0 ? static_cast<double>((state.step - first_step) * s.tokens_per_step()) / train_seconds : 0;
  return result;
}

}  // namespace tinymamba::train
