#include "tinymamba/train/presets.hpp"

#include <filesystem>
#include <map>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/file.hpp"
#include "tinymamba/core/json.hpp"
#include "tinymamba/io/config_json.hpp"

namespace tinymamba::train {
namespace {

const std::map<std::string, std::string>& presets() {
  static const std::map<std::string, std::string> p = {
      {"tiny", R"({"d_model": 64, "n_layer": 2, "vocab_size": 256})"},
      {"small", R"({"d_model": 128, "n_layer": 4, "vocab_size": 256})"},
      {"shakespeare", R"({"d_model": 256, "n_layer": 4, "vocab_size": 256})"},
      {"130m", R"({"d_model": 768, "n_layer": 24, "vocab_size": 50277})"},
      // state-spaces/mamba2-130m's config.json: every other Mamba2 field at its default (d_state 128, headdim
      // 64, ngroups 1, expand 2, d_conv 4, chunk_size 256)
      {"mamba2-130m",
       R"({"d_model": 768, "n_layer": 24, "vocab_size": 50277, "pad_vocab_size_multiple": 16,
           "ssm_cfg": {"layer": "Mamba2"}})"},
      {"mamba2-tiny", R"({"d_model": 64, "n_layer": 2, "vocab_size": 256, "ssm_cfg": {"layer": "Mamba2",
           "d_state": 16, "headdim": 16, "chunk_size": 16}})"},
  };
  return p;
}

}  // namespace

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const auto& [name, json] : presets()) names.push_back(name);
  return names;
}

Config train_config(const std::string& preset_or_file, std::int64_t data_vocab, const std::string& flag) {
  TM_CHECK(!preset_or_file.empty(), flag, " is required (a preset name or a config.json file)");
  std::string text, source;
  if (auto it = presets().find(preset_or_file); it != presets().end()) {
    text = it->second;
    source = flag + " " + preset_or_file;
  } else {
    if (!std::filesystem::exists(preset_or_file)) {
      std::string names;
      for (const auto& n : preset_names()) names += (names.empty() ? "" : ", ") + n;
      fail(flag, " ", preset_or_file, ": no such preset (", names, ") or file");
    }
    text = read_text_file(preset_or_file, std::size_t{1} << 20);
    source = preset_or_file;
  }
  nlohmann::json j = parse_json(text, source);
  TM_CHECK(j.is_object(), source, ": a config must be a JSON object");
  if (data_vocab > 0) {
    // The data decides the vocabulary; in a transformers config vocab_size is the (padded) row count.
    j["vocab_size"] = data_vocab;
  }
  return parse_config(j.dump(), source);
}

}  // namespace tinymamba::train
