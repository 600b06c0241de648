// End-to-end model speed on the mamba-130m shape with random weights (official init): one decode step
// (batch 1) and a 512-token prefill with last-token logits, as `tinymamba bench` measures them.
#include <benchmark/benchmark.h>

#include "tinymamba/model/init.hpp"
#include "tinymamba/model/recurrent.hpp"

namespace tinymamba {
namespace {

const Model& model_130m() {
  static const Model m = [] {
    Config c;
    c.d_model = 768;
    c.n_layer = 24;
    c.vocab_size = 50277;
    c.resolve("130m");
    Model model(c);
    init_parameters(model, 0);
    return model;
  }();
  return m;
}

void BM_Decode130m(benchmark::State& state) {
  const Model& m = model_130m();
  InferenceState s(m.config, 1);
  Activations acts;
  std::vector<std::int32_t> id = {42};
  for (auto _ : state) {
    lm_step(m, id, s, acts);
    benchmark::DoNotOptimize(acts.logits.data());
  }
  state.counters["tok/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Decode130m)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Prefill512_130m(benchmark::State& state) {
  const Model& m = model_130m();
  std::vector<std::int32_t> ids(512);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int32_t>((i * 7919) % 50277);
  Activations acts;
  for (auto _ : state) {
    lm_forward(m, ids, 1, 512, acts, {.last_logits_only = true});
    benchmark::DoNotOptimize(acts.logits.data());
  }
  state.counters["tok/s"] = benchmark::Counter(512.0 * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Prefill512_130m)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace tinymamba
