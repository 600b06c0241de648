// tinymamba's public API: include this header and link tinymamba::tinymamba (CMake: find_package(tinymamba
// CONFIG)) or `pkg-config --cflags --libs tinymamba`.
//
// What is API — these headers, and in them what this list names — is kept stable within a minor version:
//   tinymamba/io/model_folder.hpp      load_model (a model folder as the CLI loads it), save_model_hf, CheckpointInfo
//   tinymamba/model/model.hpp          Model (config, layout: the parameters under their official names, params)
//   tinymamba/model/config.hpp         Config (official MambaConfig field names)
//   tinymamba/model/lm.hpp             lm_forward, lm_loss, lm_backward, Activations (read logits; the rest is
//                                      the backward's), ForwardOptions, next_token_targets
//   tinymamba/model/lm_step.hpp        lm_step, StepActivations (read logits), lm_forward_recurrent
//   tinymamba/model/inference_state.hpp InferenceState (conv and ssm per layer)
//   tinymamba/generate/engine.hpp      Engine, EngineOptions; sequence.hpp: Sequence, StepToken, FinishReason;
//   tinymamba/generate/state_pool.hpp  StatePool
//   tinymamba/sampling/sampling_params.hpp, stop_rule.hpp   SamplingParams, StopRule
//   tinymamba/tokenizer/tokenizer.hpp  Tokenizer; streaming_decoder.hpp: StreamingDecoder
//   tinymamba/core/error.hpp           Error: every failure the library reports (one line, naming the input)
//   tinymamba/core/parallel.hpp        set_num_threads, num_threads
//   tinymamba/ops/selective_scan.hpp   ScanAlgorithm, kDefaultScan, scan_algorithm_name, parse_scan_algorithm
// Everything else installed under include/tinymamba/ (kernels, ops, the mixer's internals, file readers, the
// training loop) is internal: it is installed because the API headers include it, and may change in any release.
#pragma once

#include <string_view>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/generate/engine.hpp"
#include "tinymamba/generate/sequence.hpp"
#include "tinymamba/generate/state_pool.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/model/config.hpp"
#include "tinymamba/model/inference_state.hpp"
#include "tinymamba/model/lm.hpp"
#include "tinymamba/model/lm_step.hpp"
#include "tinymamba/model/model.hpp"
#include "tinymamba/sampling/sampling_params.hpp"
#include "tinymamba/sampling/stop_rule.hpp"
#include "tinymamba/tokenizer/streaming_decoder.hpp"
#include "tinymamba/tokenizer/tokenizer.hpp"

namespace tinymamba {

// The library's version, "major.minor.patch" (the CMake project version it was built as).
[[nodiscard]] std::string_view version();

}  // namespace tinymamba
