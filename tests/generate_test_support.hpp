// Models and helpers shared by the generate_* tests.
#pragma once

#include <string>
#include <vector>

#include "small_models.hpp"
#include "tinymamba/generate/engine.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/model/init.hpp"
#include "tinymamba/tokenizer/tokenizer.hpp"

namespace tinymamba::test {

inline std::string bundled_model_dir() { return std::string(TINYMAMBA_SOURCE_DIR) + "/models/tinyshakespeare"; }

// The byte-level Shakespeare model this project ships (7 MB: a step runs on one thread).
inline const Model& bundled_model() {
  static const Model m = load_model(bundled_model_dir());
  return m;
}
inline const Tokenizer& bundled_tokenizer() {
  static const Tokenizer t = Tokenizer::load(bundled_model_dir() + "/tokenizer.json");
  return t;
}

// A random model whose 16.6 MB of weights put a step over lm_step's one-thread threshold, so that with two
// threads each projection's rows are split between them.
inline const Model& team_model() {
  static const Model m =
      initialized_model(small_config({.d_model = 64, .n_layer = 2, .vocab_size = 65000, .d_state = 16}), 12);
  return m;
}

// Whether two one-sequence states hold bitwise the same numbers.
inline bool same_state(const InferenceState& a, const InferenceState& b) {
  if (a.conv.size() != b.conv.size() || a.tokens_seen != b.tokens_seen) return false;
  for (std::size_t i = 0; i < a.conv.size(); ++i)
    if (!std::equal(a.conv[i].begin(), a.conv[i].end(), b.conv[i].begin(), b.conv[i].end()) ||
        !std::equal(a.ssm[i].begin(), a.ssm[i].end(), b.ssm[i].begin(), b.ssm[i].end()))
      return false;
  return true;
}

// Steps `seqs` (all prefilled) together until each has stopped, each leaving when it stops.
inline void run_to_end(Engine& engine, std::vector<Sequence*> running) {
  while (!running.empty()) {
    (void)engine.step(running);
    std::erase_if(running, [](const Sequence* s) { return s->finished(); });
  }
}

}  // namespace tinymamba::test
