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
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/train/settings.hpp"

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

// Where each micro-batch's gradient goes in TrainStep's pairwise sum: leaf a is written into sums[depth] (zeroed
// first), and after it the subtrees it completes are merged, deepest first: sums[dst] += sums[src].
struct SumLeaf {
  std::size_t depth = 0;
  std::vector<std::pair<std::size_t, std::size_t>> merges;
};

void plan_pairwise_sum(std::int64_t lo, std::int64_t hi, std::size_t depth, std::vector<SumLeaf>& leaves) {
  if (hi - lo == 1) {
    leaves.push_back({depth, {}});
    return;
  }
  const std::int64_t mid = lo + (hi - lo) / 2;
  plan_pairwise_sum(lo, mid, depth, leaves);
  plan_pairwise_sum(mid, hi, depth + 1, leaves);
  leaves.back().merges.emplace_back(depth, depth + 1);
}

void add_range(Buffer<float>& dst, const Buffer<float>& src, std::int64_t begin, std::int64_t end) {
  float* d = dst.data() + begin;
  const float* s = src.data() + begin;
  parallel_for(end - begin, [&](std::int64_t b, std::int64_t e, int) {
    for (std::int64_t k = b; k < e; ++k) d[k] += s[k];
  });
}

// Every rank must train the same run: the same settings, data and starting parameters (a rank that read another
// file or an older checkpoint would silently train something else). Each rank's 52-bit FNV-1a hash travels in
// its own slot of a sum, so every rank sees all of them exactly.
void check_same_run(Communicator& comm, const Model& model, const TrainSettings& s, const DataSplit& data) {
  if (comm.size() == 1) return;
  std::uint64_t h = 1469598103934665603ull;
  auto mix = [&](const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t k = 0; k < n; ++k) h = (h ^ b[k]) * 1099511628211ull;
  };
  const std::string json = settings_to_json(s);
  mix(json.data(), json.size());
  mix(data.train.ids.data(), data.train.ids.size() * sizeof(std::int32_t));
  mix(data.val.ids.data(), data.val.ids.size() * sizeof(std::int32_t));
  mix(model.params.data(), model.params.size() * sizeof(float));
  std::vector<double> hashes(static_cast<std::size_t>(comm.size()), 0.0);
  hashes[static_cast<std::size_t>(comm.rank())] = static_cast<double>(h >> 12);
  comm.sum(hashes);
  for (std::size_t r = 1; r < hashes.size(); ++r)
    TM_CHECK(hashes[r] == hashes[0], "rank ", r, " has other settings, data or starting parameters than rank 0: "
             "every process must read the same --data and checkpoint");
}

}  // namespace

TrainStep::TrainStep(Model& model, AdamW& optimizer, double clip, ScanAlgorithm scan, Communicator& comm)
    : model_(model), optimizer_(optimizer), clip_(clip), scan_(scan), comm_(comm) {
  TM_CHECK(model.weight_type() == WeightType::f32, "training needs float32 weights, the model holds ",
           weight_type_name(model.weight_type()), " (load it without --dtype)");
  TM_CHECK(optimizer.layout().size() == model.layout.size(), "TrainStep: the optimizer belongs to another model");
  model.make_owned();  // the optimizer updates params in place
  sums_.emplace_back(model.params.size(), 0.0f);
  // Each layer's tensors are consecutive in the layout (embedding, layers 0 .. n−1, norm_f, [lm_head]).
  for (std::int64_t i = 0; i < model.config.n_layer; ++i) {
    const std::string prefix = "backbone.layers." + std::to_string(i) + ".";
    std::int64_t begin = -1, end = -1;
    for (const ParamInfo& p : model.layout)
      if (p.name.starts_with(prefix)) {
        if (begin < 0) begin = p.offset;
        end = p.offset + p.numel;
      }
    TM_CHECK(begin >= 0 && (layers_.empty() || begin >= layers_.back().second),
             "TrainStep: layer ", i, "'s parameters are not in layout order");
    layers_.emplace_back(begin, end);
  }
}

StepResult TrainStep::run(std::span<const std::int32_t> ids, std::int64_t batch, std::int64_t seq_len,
                          std::int64_t accum, double lr) {
  const std::int64_t micro = batch * seq_len;
  TM_CHECK(accum >= 1 && static_cast<std::int64_t>(ids.size()) == accum * micro, "TrainStep: expected ", accum,
           " x ", batch, " x ", seq_len, " ids, got ", ids.size());
  std::vector<SumLeaf> leaves;
  plan_pairwise_sum(0, accum, 0, leaves);
  std::size_t depth = 0;
  for (const SumLeaf& leaf : leaves) depth = std::max(depth, leaf.depth + 1);
  while (sums_.size() < depth) sums_.emplace_back(sums_.front().size(), 0.0f);
  std::vector<double> losses(depth, 0.0);  // the same pairwise sum of the micro-batches' losses
  const auto size = static_cast<std::int64_t>(sums_.front().size());
  const std::int64_t first_layer = layers_.empty() ? size : layers_.front().first;
  const std::int64_t after_layers = layers_.empty() ? size : layers_.back().second;
  // The mean over every rank's micro-batches (all hold the same number of tokens).
  const float scale = 1.0f / static_cast<float>(accum * comm_.size());
  StepResult result;

  for (std::int64_t a = 0; a < accum; ++a) {
    const SumLeaf& leaf = leaves[static_cast<std::size_t>(a)];
    Buffer<float>& g = sums_[leaf.depth];
    std::fill(g.begin(), g.end(), 0.0f);
    const auto sub = ids.subspan(static_cast<std::size_t>(a * micro), static_cast<std::size_t>(micro));
    lm_forward(model_, sub, batch, seq_len, acts_, {.scan = scan_, .for_backward = true});
    losses[leaf.depth] = lm_loss(model_, sub, acts_);
    auto finish = [&](std::int64_t begin, std::int64_t end) {  // this range of the rank's sum is complete
      for (const auto& [dst, src] : leaf.merges) add_range(sums_[dst], sums_[src], begin, end);
      if (a == accum - 1) comm_.start_sum(sums_.front().data() + begin, end - begin);
    };
    if (a == accum - 1) {
      // The last micro-batch: each layer's sum is sent while the backward of the layers below runs.
      lm_backward(model_, sub, acts_, g.data(), scan_, scale,
                  [&](std::int64_t i) { finish(layers_[i].first, layers_[i].second); });
      finish(0, first_layer);
      finish(after_layers, size);
    } else {
      lm_backward(model_, sub, acts_, g.data(), scan_, scale);
      finish(0, size);
    }
    for (const auto& [dst, src] : leaf.merges) losses[dst] += losses[src];
  }
  const auto t0 = Clock::now();
  comm_.wait_sums();
  comm_.sum(std::span(losses).first(1));
  result.wait_seconds = seconds_since(t0);
  result.loss = losses[0] / static_cast<double>(accum * comm_.size());

  float* grads = sums_.front().data();
  result.grad_norm = clip_grad_norm(model_.layout, grads, clip_);
  TM_CHECK(std::isfinite(result.loss) && std::isfinite(result.grad_norm), "training diverged at update ",
           optimizer_.steps() + 1, ": loss ", result.loss, ", gradient norm ", result.grad_norm,
           " (try a lower --lr or --clip)");
  optimizer_.step(model_.params.data(), grads, lr);
  return result;
}

double EvalResult::perplexity() const { return std::exp(loss); }

double EvalResult::bits_per_byte() const {
  return bytes > 0 ? loss * static_cast<double>(tokens) / std::numbers::ln2 / bytes : 0.0;
}

EvalResult evaluate(const Model& model, const TokenText& text, const EvalOptions& opt, Communicator& comm) {
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
  // Batches [i, j) of windows: full-length windows, or the one short window at the end on its own.
  std::vector<std::pair<std::size_t, std::size_t>> batches;
  for (std::size_t i = 0, j = 0; i < starts.size(); i = j) {
    const std::int64_t len = std::min(L, n - starts[i]);
    for (j = i; j < starts.size() && static_cast<std::int64_t>(j - i) < opt.batch && std::min(L, n - starts[j]) == len;)
      ++j;
    batches.emplace_back(i, j);
  }
  std::vector<double> nats(batches.size(), 0.0);  // per batch; zero on the ranks that do not run it
  std::int64_t predicted = 0;
  Activations acts;
  std::vector<std::int32_t> ids;
  for (std::size_t k = 0; k < batches.size(); ++k) {
    const auto [i, j] = batches[k];
    const std::int64_t len = std::min(L, n - starts[i]), b = static_cast<std::int64_t>(j - i);
    predicted += b * (len - 1);
    if (static_cast<int>(k % static_cast<std::size_t>(comm.size())) != comm.rank()) continue;
    ids.clear();
    for (std::size_t w = i; w < j; ++w)
      ids.insert(ids.end(), text.ids.begin() + starts[w], text.ids.begin() + starts[w] + len);
    lm_forward(model, ids, b, len, acts, {.scan = opt.scan});
    nats[k] = lm_loss(model, ids, acts) * static_cast<double>(b * (len - 1));
  }
  comm.sum(nats);  // x + 0 + ... + 0 = x: every rank now holds every batch's value, exactly
  double total = 0;
  for (const double x : nats) total += x;  // in batch order, as one process adds them
  EvalResult r;
  r.tokens = predicted;
  r.loss = total / static_cast<double>(predicted);
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
  Communicator& comm = opt.comm != nullptr ? *opt.comm : single_process();
  const std::int64_t ranks = comm.size();
  TM_CHECK(s.batch % ranks == 0, "--batch = ", s.batch, " must be a multiple of the number of processes (", ranks,
           "): each takes --batch / ", ranks, " windows of every micro-batch");
  model.make_owned();  // training writes the weights (a model loaded for inference maps them)
  check_same_run(comm, model, s, data);
  const bool writer = comm.rank() == 0;  // rank 0 alone prints and writes

  // Every rank draws the whole update (the sampler's state does not depend on the number of ranks, so a run
  // resumes on any number) and takes its consecutive share: accum micro-batches of batch / ranks windows.
  BatchSampler sampler(data.train.ids, s.batch, s.seq_len, s.seed);
  if (state.step > 0) sampler.restore(state.sampler);
  TrainStep step(model, optimizer, s.clip, scan, comm);
  std::vector<std::int32_t> ids(static_cast<std::size_t>(s.tokens_per_step())), micro;
  const std::int64_t share = s.tokens_per_step() / ranks;
  const auto mine = std::span<const std::int32_t>(ids).subspan(static_cast<std::size_t>(comm.rank() * share),
                                                               static_cast<std::size_t>(share));
  const fs::path out(opt.out_dir);
  if (writer) fs::create_directories(out);
  std::erase_if(log, [&](const LogRow& r) { return r.step > state.step; });  // steps a resume will redo

  const bool tty = ::isatty(2) != 0;
  const std::int64_t print_every = std::max<std::int64_t>(1, s.steps / 50);
  const auto run_start = Clock::now();
  const std::int64_t first_step = state.step;
  const double elapsed_before = state.elapsed_seconds;
  double train_seconds = 0, last_val = -1;
  TrainResult result;

  auto flush_log = [&] {
    if (!writer) return;
    write_text(out / kLogFile, log_csv(log));
    write_text(out / kCurveFile, loss_curve_svg(log, opt.title));
  };
  auto save = [&] {
    state.sampler = sampler.state();
    state.elapsed_seconds = elapsed_before + seconds_since(run_start);
    if (!writer) return;
    save_training_checkpoint(opt.out_dir, model, optimizer, state, opt.extra_files);
    if (opt.on_saved) opt.on_saved(state.step);
  };
  auto progress = [&](const LogRow& r, bool keep_line) {
    if (!opt.progress || !writer) return;
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
    const StepResult r = step.run(mine, s.batch / ranks, s.seq_len, s.accum, lr);
    const double dt = seconds_since(t0);
    train_seconds += dt;
    result.wait_seconds += r.wait_seconds;
    ++state.step;
    LogRow row{state.step, r.loss, -1, lr, r.grad_norm, static_cast<double>(s.tokens_per_step()) / dt};
    const bool last = state.step == s.steps, stop = state.step == end;
    const bool do_eval = last || (s.eval_every > 0 && state.step % s.eval_every == 0);
    const bool do_save = stop || (s.save_every > 0 && state.step % s.save_every == 0);
    if (do_eval) {
      const EvalResult v = evaluate(model, data.val, {.seq_len = s.seq_len, .batch = s.batch,
                                                      .max_tokens = last ? 0 : s.eval_tokens, .scan = scan},
                                 comm);
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
    result.val = evaluate(model, data.val, {.seq_len = s.seq_len, .batch = s.batch, .scan = scan}, comm);
    flush_log();
  }
  std::vector<double> waits(static_cast<std::size_t>(ranks), 0.0);  // each rank's in its own slot
  waits[static_cast<std::size_t>(comm.rank())] = result.wait_seconds;
  comm.sum(waits);
  result.wait_seconds = *std::min_element(waits.begin(), waits.end());
  result.wait_max_seconds = *std::max_element(waits.begin(), waits.end());
  result.step = state.step;
  result.seconds = seconds_since(run_start);
  result.train_tok_s = train_seconds > 0 ? static_cast<double>((state.step - first_step) * s.tokens_per_step()) / train_seconds : 0;
  return result;
}

}  // namespace tinymamba::train
