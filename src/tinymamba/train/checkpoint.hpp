// Training checkpoints: everything needed to continue a run exactly, in one folder that is also a Hugging Face
// model folder (so `tinymamba generate -m DIR` / `eval -m DIR` read it as any other model):
//   config.json            MambaConfig (HF)                          } written by save_model_hf
//   model.safetensors      float32 parameters, transformers names    }
//   optimizer.safetensors  AdamW state: exp_avg.<official name>, exp_avg_sq.<official name> (F32);
//                          metadata step, betas, eps, weight_decay and the decay group of every tensor
//   trainer_state.json     step, the run's settings, the data sampler's RNG state and batch count, files
//   <extra files>          e.g. tokenizer.json for byte-level models
//
// A save is all-or-nothing. Every file is first written (each atomically: temp file, fsync, rename) into the
// staging folder DIR/.checkpoint-next/; then a COMMIT file listing them is written there (atomically); then the
// files are renamed into DIR one by one, trainer_state.json last; then the staging folder is removed.
//   - a crash before COMMIT exists leaves DIR's previous checkpoint untouched (the staging folder is discarded);
//   - a crash after it is finished by recover_checkpoint (roll forward: the remaining renames), which every save
//     and every load runs first.
// So DIR always holds one complete checkpoint, the previous or the new one, and never a mix once recovered.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "tinymamba/model/model.hpp"
#include "tinymamba/train/data.hpp"
#include "tinymamba/train/optimizer.hpp"
#include "tinymamba/train/settings.hpp"

namespace tinymamba::train {

struct TrainingState {
  std::int64_t step = 0;        // optimizer updates done
  SamplerState sampler;         // the data position: the next batch drawn continues the run
  TrainSettings settings;
  double elapsed_seconds = 0;   // training time so far (informative)
};

inline constexpr const char* kTrainerStateFile = "trainer_state.json";
inline constexpr const char* kOptimizerFile = "optimizer.safetensors";
inline constexpr const char* kStagingDir = ".checkpoint-next";

// Writes a complete checkpoint into dir (created if needed). `extra_files` maps file names to contents.
void save_training_checkpoint(const std::string& dir, const Model& model, const AdamW& optimizer,
                              const TrainingState& state, const std::map<std::string, std::string>& extra_files = {});

struct LoadedCheckpoint {
  Model model;
  AdamW optimizer;
  TrainingState state;
};

// Recovers dir (see above) and loads it; Error naming the file when anything is missing or inconsistent.
[[nodiscard]] LoadedCheckpoint load_training_checkpoint(const std::string& dir);

// True when dir holds a training checkpoint (trainer_state.json), after recovery.
[[nodiscard]] bool has_training_checkpoint(const std::string& dir);

enum class Recovery { nothing, discarded_partial_save, finished_committed_save };
// Finishes or discards an interrupted save in dir.
Recovery recover_checkpoint(const std::string& dir);

// Test hook: called after each file is renamed from the staging folder into dir during a commit (with how many
// are done); it may throw to simulate a crash in the middle of the commit.
void set_commit_interrupt_for_testing(std::function<void(int renamed)> hook);

}  // namespace tinymamba::train
