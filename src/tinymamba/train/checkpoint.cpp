#include "tinymamba/train/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/file.hpp"
#include "tinymamba/core/json.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/io/safetensors.hpp"

namespace tinymamba::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kCommitFile = "COMMIT";
constexpr const char* kStateFormat = "tinymamba-trainer-state-1";

std::function<void(int)>& commit_hook() {
  static std::function<void(int)> hook;
  return hook;
}

void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort, as write_file_atomic
  ::fsync(fd);
  ::close(fd);
}

void write_text(const fs::path& path, const std::string& text) {
  write_file_atomic(path.string(), [&](const ByteSink& sink) { sink(text.data(), text.size()); });
}

std::string hex64(std::uint64_t v) {
  char buf[19];
  std::snprintf(buf, sizeof buf, "0x%016" PRIx64, v);
  return buf;
}

std::uint64_t parse_hex64(const std::string& s, const std::string& source) {
  TM_CHECK(s.size() == 18 && s.rfind("0x", 0) == 0, source, ": bad RNG word '", s, "'");
  std::uint64_t v = 0;
  for (std::size_t i = 2; i < s.size(); ++i) {
    const char c = s[i];
    const int d = c >= '0' && c <= '9' ? c - '0' : (c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1);
    TM_CHECK(d >= 0, source, ": bad RNG word '", s, "'");
    v = v << 4 | static_cast<std::uint64_t>(d);
  }
  return v;
}

std::string state_json(const TrainingState& st, const std::vector<std::string>& files) {
  nlohmann::json rng = nlohmann::json::array();
  for (auto w : st.sampler.rng) rng.push_back(hex64(w));
  nlohmann::json j = {{"format", kStateFormat},
                      {"step", st.step},
                      {"settings", nlohmann::json::parse(settings_to_json(st.settings))},
                      {"data_position", {{"rng", rng}, {"batches", st.sampler.batches}}},
                      {"elapsed_seconds", st.elapsed_seconds},
                      {"files", files}};
  return j.dump(2) + "\n";
}

TrainingState parse_state(const std::string& text, const std::string& source) {
  const nlohmann::json j = parse_json(text, source);
  TrainingState st;
  try {
    TM_CHECK(j.at("format").get<std::string>() == kStateFormat, source, ": unknown format '",
             j.at("format").get<std::string>(), "' (expected ", kStateFormat, ")");
    st.step = j.at("step").get<std::int64_t>();
    TM_CHECK(st.step >= 0, source, ": step ", st.step, " is negative");
    st.settings = settings_from_json(j.at("settings").dump(), source);
    const auto& pos = j.at("data_position");
    const auto& rng = pos.at("rng");
    TM_CHECK(rng.is_array() && rng.size() == 4, source, ": data_position.rng must hold 4 words");
    for (std::size_t i = 0; i < 4; ++i) st.sampler.rng[i] = parse_hex64(rng[i].get<std::string>(), source);
    st.sampler.batches = pos.at("batches").get<std::int64_t>();
    st.elapsed_seconds = j.value("elapsed_seconds", 0.0);
  } catch (const nlohmann::json::exception& e) {
    fail(source, ": bad trainer state: ", e.what());
  }
  return st;
}

// Renames every listed file still in the staging folder into dir (trainer_state.json is listed last).
void commit(const fs::path& dir, const fs::path& staging, const std::vector<std::string>& files) {
  int renamed = 0;
  for (const auto& f : files) {
    const fs::path from = staging / f;
    if (fs::exists(from)) {
      TM_CHECK(::rename(from.c_str(), (dir / f).c_str()) == 0, (dir / f).string(),
               ": cannot move the new checkpoint file into place: ", std::strerror(errno));
    }
    ++renamed;
    if (commit_hook()) commit_hook()(renamed);
  }
  fsync_dir(dir);
  fs::remove_all(staging);
  fsync_dir(dir);
}

std::vector<std::string> commit_list(const fs::path& commit_file) {
  const std::string src = commit_file.string();
  const nlohmann::json j = parse_json(read_text_file(src, 1 << 20), src);
  std::vector<std::string> files;
  try {
    files = j.at("files").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    fail(src, ": bad commit record: ", e.what());
  }
  for (const auto& f : files)
    TM_CHECK(!f.empty() && f.find('/') == std::string::npos && f != "." && f != "..", src, ": bad file name '", f,
             "'");
  return files;
}

}  // namespace

void set_commit_interrupt_for_testing(std::function<void(int)> hook) { commit_hook() = std::move(hook); }

Recovery recover_checkpoint(const std::string& dir_name) {
  const fs::path dir(dir_name), staging = dir / kStagingDir;
  if (!fs::exists(staging)) return Recovery::nothing;
  if (fs::exists(staging / kCommitFile)) {
    commit(dir, staging, commit_list(staging / kCommitFile));
    return Recovery::finished_committed_save;
  }
  fs::remove_all(staging);
  return Recovery::discarded_partial_save;
}

void save_training_checkpoint(const std::string& dir_name, const Model& model, const AdamW& optimizer,
                              const TrainingState& state, const std::map<std::string, std::string>& extra_files) {
  const fs::path dir(dir_name), staging = dir / kStagingDir;
  try {
    fs::create_directories(dir);
    recover_checkpoint(dir_name);
    fs::create_directories(staging);
  } catch (const fs::filesystem_error& e) {
    fail(dir_name, ": cannot prepare the checkpoint folder: ", e.code().message());
  }
  TM_CHECK(optimizer.steps() == state.step, dir_name, ": optimizer has done ", optimizer.steps(),
           " updates but the state says step ", state.step);

  std::vector<std::string> files = {"config.json", "model.safetensors"};
  save_model_hf(model, staging.string());

  // The optimizer state: views into its moment buffers, under the parameters' official names.
  TensorMap opt;
  nlohmann::json decay = nlohmann::json::array();
  for (std::size_t i = 0; i < optimizer.layout().size(); ++i) {
    const ParamInfo& p = optimizer.layout()[i];
    const auto bytes = static_cast<std::size_t>(p.numel) * sizeof(float);
    opt["exp_avg." + p.name] = RawTensor{DType::F32, p.shape,
                                         {reinterpret_cast<const std::byte*>(optimizer.exp_avg().data() + p.offset), bytes},
                                         nullptr};
    opt["exp_avg_sq." + p.name] = RawTensor{
        DType::F32, p.shape, {reinterpret_cast<const std::byte*>(optimizer.exp_avg_sq().data() + p.offset), bytes}, nullptr};
    if (optimizer.decay()[i]) decay.push_back(p.name);
  }
  const AdamWConfig& c = optimizer.config();
  write_safetensors((staging / kOptimizerFile).string(), opt,
                    {{"format", "tinymamba-adamw-1"},
                     {"optimizer", "AdamW (torch.optim.AdamW semantics, decoupled weight decay)"},
                     {"step", std::to_string(optimizer.steps())},
                     {"betas", nlohmann::json::array({c.beta1, c.beta2}).dump()},
                     {"eps", nlohmann::json(c.eps).dump()},
                     {"weight_decay", nlohmann::json(c.weight_decay).dump()},
                     {"decay_tensors", decay.dump()}});
  files.push_back(kOptimizerFile);
  for (const auto& [name, text] : extra_files) {
    TM_CHECK(name != kTrainerStateFile && name != kCommitFile, "checkpoint: extra file name '", name, "' is reserved");
    write_text(staging / name, text);
    files.push_back(name);
  }
  files.push_back(kTrainerStateFile);  // last: its presence in dir marks a finished commit
  write_text(staging / kTrainerStateFile, state_json(state, files));
  fsync_dir(staging);
  write_text(staging / kCommitFile, nlohmann::json{{"step", state.step}, {"files", files}}.dump() + "\n");
  commit(dir, staging, files);
}

bool has_training_checkpoint(const std::string& dir) {
  if (!fs::is_directory(dir)) return false;
  recover_checkpoint(dir);
  return fs::exists(fs::path(dir) / kTrainerStateFile);
}

LoadedCheckpoint load_training_checkpoint(const std::string& dir_name) {
  const fs::path dir(dir_name);
  TM_CHECK(fs::is_directory(dir), dir_name, ": no such checkpoint folder");
  recover_checkpoint(dir_name);
  const fs::path state_path = dir / kTrainerStateFile;
  TM_CHECK(fs::exists(state_path), dir_name, ": no training checkpoint here (", kTrainerStateFile, " is missing)");
  TrainingState state = parse_state(read_text_file(state_path.string(), 1 << 20), state_path.string());
  Model model = load_model(dir_name);
  model.make_owned();  // training writes the weights: a copy out of the mapped file

  const std::string opt_path = (dir / kOptimizerFile).string();
  const SafetensorsFile f = read_safetensors(opt_path);
  const auto step_it = f.metadata.find("step");
  TM_CHECK(step_it != f.metadata.end() && step_it->second == std::to_string(state.step), opt_path,
           ": optimizer step ", step_it == f.metadata.end() ? "(missing)" : step_it->second, " does not match ",
           kTrainerStateFile, " step ", state.step);
  AdamW optimizer(model.layout, static_cast<std::int64_t>(model.params.size()), state.settings.adamw,
                  decay_flags(model.layout, state.settings.no_decay));
  for (const auto& p : model.layout) {
    for (auto [prefix, buffer] : {std::pair{"exp_avg.", &optimizer.exp_avg()}, std::pair{"exp_avg_sq.", &optimizer.exp_avg_sq()}}) {
      const std::string name = prefix + p.name;
      auto it = f.tensors.find(name);
      TM_CHECK(it != f.tensors.end(), opt_path, ": missing tensor '", name, "'");
      TM_CHECK(it->second.dtype == DType::F32 && it->second.shape == p.shape, opt_path, ": tensor '", name,
               "' must be F32 of shape ", shape_str(p.shape));
      std::memcpy(buffer->data() + p.offset, it->second.bytes.data(), it->second.bytes.size());
    }
  }
  optimizer.set_steps(state.step);
  return LoadedCheckpoint{std::move(model), std::move(optimizer), std::move(state)};
}

}  // namespace tinymamba::train
