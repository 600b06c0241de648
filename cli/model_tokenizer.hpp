// The tokenizer that travels with a model, for the commands that turn text into ids (generate, eval, serve): the
// folder's tokenizer.json, or a .gguf file's tokenizer.ggml.* keys (io/gguf_tokenizer), so `-m model.gguf` needs
// no --tokenizer.
#pragma once

#include <optional>
#include <string>

namespace tinymamba::cli {

struct ModelTokenizer {
  std::string json;  // the tokenizer.json text
  std::string name;  // where it came from, for messages: the file, or "<model.gguf> (tokenizer.ggml.*)"
};

// `model` is what load_model accepted (a folder, or a .gguf file); nullopt when it carries no tokenizer (a folder
// without tokenizer.json, a GGUF without tokenizer.ggml.model). A GGUF tokenizer tinymamba cannot run is an Error.
[[nodiscard]] std::optional<ModelTokenizer> model_tokenizer(const std::string& model);

}  // namespace tinymamba::cli
