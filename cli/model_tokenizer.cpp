#include "model_tokenizer.hpp"

#include <filesystem>

#include "tinymamba/core/file.hpp"
#include "tinymamba/io/gguf_tokenizer.hpp"

namespace tinymamba::cli {

std::optional<ModelTokenizer> model_tokenizer(const std::string& model) {
  if (path_kind(model) == PathKind::directory) {
    const std::string file = (std::filesystem::path(model) / "tokenizer.json").string();
    if (path_kind(file) == PathKind::missing) return std::nullopt;
    return ModelTokenizer{read_text_file(file, std::size_t{256} << 20), file};
  }
  const GgufFile g = read_gguf(model);  // load_model takes a file only as a GGUF
  if (!g.find("tokenizer.ggml.model")) return std::nullopt;
  return ModelTokenizer{tokenizer_json_from_gguf(g, model), model + " (tokenizer.ggml.*)"};
}

}  // namespace tinymamba::cli
