#include "tinymamba/model/recurrent.hpp"

#include <algorithm>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/ops/causal_conv1d.hpp"
#include "tinymamba/ops/embedding.hpp"
#include "tinymamba/ops/linear.hpp"
#include "tinymamba/ops/rmsnorm.hpp"
#include "tinymamba/ops/scan_step.hpp"
#include "tinymamba/ops/silu.hpp"

namespace tinymamba {
namespace {

// Below this many weight bytes a step is a few tens of microseconds of work and the barriers would cost more
// than a second thread saves: the step runs on one thread.
constexpr double kMinBytesForTeam = 16e6;

// Work is handed out in chunks (Team::for_chunks): each thread streams its own half, a chunk at a time, and the
// one done first takes chunks from the back of the other's: one of this VM's two cores often streams memory
// 15–20% slower than the other, and with fixed halves the faster one waited at every barrier. A chunk is 0.2–1.5
// MB of in_proj, out_proj or lm_head. When chunks came from one shared counter (every new chunk restarting the
// prefetcher's stream), chunks a quarter this size streamed 7% slower than fixed halves, and the faster core
// still waited 9% of the step after in_proj; with stealing, quarter-size chunks measured the same as these.
constexpr std::int64_t kChannelChunk = 256;  // channels: 2·256 rows of in_proj, or of dt_proj and the scan
constexpr std::int64_t kXprojChunk = 16;     // rows of x_proj (R + 2n = 80 for mamba-130m: five chunks)
constexpr std::int64_t kRowChunk = 128;      // rows of out_proj
constexpr std::int64_t kVocabChunk = 1024;   // rows of lm_head

// y[:, o0:o1] = x (T, in) · W[o0:o1]ᵀ + bias[o0:o1] (bias may be null).
void project_rows(Mat y, ConstMat x, const float* W, const float* bias, std::int64_t T, std::int64_t in,
                  std::int64_t o0, std::int64_t o1) {
  for (std::int64_t t = 0; t < T; ++t)
    for (std::int64_t o = o0; o < o1; ++o) y.data[t * y.ld + o] = bias ? bias[o] : 0.0f;
  linear_rows_accumulate(y, x, W, T, in, o0, o1);
}

// One layer for this thread's shares, h (T, d) += mixer(RMSNorm(h)) (the official `Block` + `Mamba.step`).
// Row b's state is slot slots[b] of conv_state and ssm_state (slot b when slots is empty).
void layer_step(const Team& team, const LayerWeightsT<const float>& w, const Config& c, std::int64_t T,
                float* conv_state, float* ssm_state, std::span<const std::int64_t> slots, StepActivations& a) {
  const std::int64_t d = c.d_model, E = c.d_inner, N = c.d_state, R = c.dt_rank, K = c.d_conv, ldx = R + 2 * N;
  float* normed = a.normed.data() + team.thread() * T * d;
  rmsnorm_forward(normed, a.rstd.data() + team.thread() * T, a.hidden.data(), w.norm, T, d, c.norm_eps);

  // xz = in_proj(normed) for a chunk of channels e of x and of z; then u = SiLU(conv(x)) for those channels.
  team.for_chunks(E, kChannelChunk, [&](std::int64_t e0, std::int64_t e1) {
    project_rows({a.xz.data(), 2 * E}, {normed, d}, w.in_proj, w.in_proj_bias, T, d, e0, e1);
    project_rows({a.xz.data(), 2 * E}, {normed, d}, w.in_proj, w.in_proj_bias, T, d, E + e0, E + e1);
    for (std::int64_t b = 0; b < T; ++b) {
      float* u = a.u.data() + b * E;
      const std::int64_t slot = slots.empty() ? b : slots[b];
      causal_conv1d_step(u, conv_state + slot * E * K, a.xz.data() + b * 2 * E, w.conv, w.conv_bias, K, e0, e1);
      silu_forward(u + e0, u + e0, e1 - e0);  // inline: parallel_for inside a team does not fork
    }
  });
  team.barrier();  // x_proj reads all of u

  // Δ_low | B | C = x_proj(u)
  team.for_chunks(ldx, kXprojChunk, [&](std::int64_t r0, std::int64_t r1) {
    project_rows({a.x_dbl.data(), ldx}, {a.u.data(), E}, w.x_proj, nullptr, T, E, r0, r1);
  });
  team.barrier();  // every channel's Δ and scan read all of Δ_low, B and C

  // Δ = dt_proj(Δ_low), then the scan step, for a chunk of channels (Δ's bias and softplus are the scan's)
  team.for_chunks(E, kChannelChunk, [&](std::int64_t e0, std::int64_t e1) {
    project_rows({a.delta.data(), E}, {a.x_dbl.data(), ldx}, w.dt_proj, nullptr, T, R, e0, e1);
    for (std::int64_t b = 0; b < T; ++b) {
      const float* xd = a.x_dbl.data() + b * ldx;
      const std::int64_t slot = slots.empty() ? b : slots[b];
      const ScanStep s{.u = a.u.data() + b * E, .delta = a.delta.data() + b * E, .B = xd + R, .C = xd + R + N,
                       .z = a.xz.data() + b * 2 * E + E, .A_log = w.A_log, .D = w.D, .delta_bias = w.dt_proj_bias,
                       .h = ssm_state + slot * E * N, .out = a.y.data() + b * E, .d_state = N};
      selective_scan_step(s, e0, e1);
    }
  });
  team.barrier();  // out_proj reads all of y

  // h += out_proj(y), a chunk of rows of d at a time
  team.for_chunks(d, kRowChunk, [&](std::int64_t o0, std::int64_t o1) {
    if (w.out_proj_bias)
      for (std::int64_t b = 0; b < T; ++b)
        for (std::int64_t o = o0; o < o1; ++o) a.hidden[b * d + o] += w.out_proj_bias[o];
    linear_rows_accumulate({a.hidden.data(), d}, {a.y.data(), E}, w.out_proj, T, E, o0, o1);
  });
  team.barrier();  // the next layer's RMSNorm reads all of h
}

}  // namespace

void lm_step(const Model& m, std::span<const std::int32_t> ids, InferenceState& state, StepActivations& a,
             std::span<const std::int64_t> slots) {
  const Config& c = m.config;
  const std::int64_t T = static_cast<std::int64_t>(ids.size()), d = c.d_model, E = c.d_inner, V = c.padded_vocab();
  if (slots.empty()) {
    TM_CHECK(T >= 1 && state.batch == T, "inference state holds ", state.batch, " sequences, the step ", T, " tokens");
  } else {
    TM_CHECK(T >= 1 && std::ssize(slots) == T, "slots: ", slots.size(), " slots for a step of ", T, " tokens");
    for (std::int64_t b = 0; b < T; ++b) {
      TM_CHECK(slots[b] >= 0 && slots[b] < state.batch, "slots[", b, "] = ", slots[b], " is outside the state's ",
               state.batch, " slots");
      for (std::int64_t o = 0; o < b; ++o)  // two rows on one slot would race on its state
        TM_CHECK(slots[o] != slots[b], "slots[", o, "] and slots[", b, "] are both slot ", slots[b]);
    }
  }
  check_token_ids(ids, V);
  const ConstWeights& w = m.weights();
  const int threads = static_cast<double>(m.params.size() * sizeof(float)) >= kMinBytesForTeam ? num_threads() : 1;
  ensure_size(a.hidden, T * d);
  ensure_size(a.normed, threads * T * d);
  ensure_size(a.rstd, threads * T);
  ensure_size(a.xz, T * 2 * E);
  ensure_size(a.u, T * E);
  ensure_size(a.x_dbl, T * (c.dt_rank + 2 * c.d_state));
  ensure_size(a.delta, T * E);
  ensure_size(a.y, T * E);
  ensure_size(a.logits, T * V);

  embedding_forward(a.hidden.data(), ids.data(), w.embedding, T, d);
  parallel_team(threads, [&](const Team& team) {
    for (std::int64_t i = 0; i < c.n_layer; ++i)
      layer_step(team, w.layers[i], c, T, state.conv[i].data(), state.ssm[i].data(), slots, a);
    // logits = RMSNorm_f(h) · lm_headᵀ, this thread's rows of V
    float* normed = a.normed.data() + team.thread() * T * d;
    rmsnorm_forward(normed, a.rstd.data() + team.thread() * T, a.hidden.data(), w.norm_f, T, d, c.norm_eps);
    team.for_chunks(V, kVocabChunk, [&](std::int64_t v0, std::int64_t v1) {
      project_rows({a.logits.data(), V}, {normed, d}, w.lm_head, nullptr, T, d, v0, v1);
    });
  });
  ++state.tokens_seen;
}

Buffer<float> lm_forward_recurrent(const Model& m, std::span<const std::int32_t> ids, std::int64_t batch,
                                   std::int64_t len, std::int64_t prefill, InferenceState& state, ScanAlgorithm scan) {
  const std::int64_t V = m.config.padded_vocab();
  TM_CHECK(prefill >= 0 && prefill <= len, "--prefill ", prefill, " must be in [0, ", len, "] (the sequence length)");
  TM_CHECK(static_cast<std::int64_t>(ids.size()) == batch * len, "input ids: expected ", batch * len, " ids");
  Buffer<float> logits(static_cast<std::size_t>(batch * len * V));
  if (prefill > 0) {
    Activations acts;
    std::vector<std::int32_t> head(static_cast<std::size_t>(batch * prefill));
    for (std::int64_t b = 0; b < batch; ++b)
      std::copy_n(ids.begin() + b * len, prefill, head.begin() + b * prefill);
    lm_forward(m, head, batch, prefill, acts, {.scan = scan}, &state);
    for (std::int64_t b = 0; b < batch; ++b)
      std::copy_n(acts.logits.begin() + b * prefill * V, prefill * V, logits.begin() + b * len * V);
  }
  StepActivations step;
  std::vector<std::int32_t> column(static_cast<std::size_t>(batch));
  for (std::int64_t t = prefill; t < len; ++t) {
    for (std::int64_t b = 0; b < batch; ++b) column[b] = ids[b * len + t];
    lm_step(m, column, state, step);
    for (std::int64_t b = 0; b < batch; ++b)
      std::copy_n(step.logits.begin() + b * V, V, logits.begin() + (b * len + t) * V);
  }
  return logits;
}

}  // namespace tinymamba
