// tinymamba convert — rewrite any supported model (folder or .gguf) in the Hugging Face safetensors layout, e.g. a
// state-spaces pytorch_model.bin, without Python: float32, or the large matrices in f16 / bf16 (--dtype); or as
// one GGUF file (--format gguf) in any --dtype. The model's tokenizer (tokenizer.json, or a GGUF's keys) goes along.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "command.hpp"
#include "common.hpp"
#include "model_tokenizer.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/core/file.hpp"
#include "tinymamba/io/gguf_model.hpp"
#include "tinymamba/io/gguf_tokenizer.hpp"
#include "tinymamba/io/model_folder.hpp"

namespace tinymamba::cli {
namespace {

struct ConvertArgs {
  std::string model_dir, out, dtype, format = "safetensors";
};

// The model's tokenizer, to travel with it; one tinymamba cannot read (e.g. a GGUF's SentencePiece vocabulary)
// stays behind, with a note, since the weights convert all the same.
std::optional<ModelTokenizer> tokenizer_to_carry(const std::string& model) {
  try {
    return model_tokenizer(model);
  } catch (const Error& e) {
    std::fprintf(stderr, "note: the tokenizer is not carried over: %s\n", e.what());
    return std::nullopt;
  }
}

void run_convert(const ConvertArgs& a) {
  namespace fs = std::filesystem;
  std::string why;
  const PathKind out_kind = path_kind(a.out, &why);
  TM_CHECK(out_kind != PathKind::unreadable, a.out, ": cannot access: ", why);
  if (a.format == "gguf") {
    TM_CHECK(out_kind == PathKind::missing || out_kind == PathKind::regular, a.out, ": exists and is not a file");
    const Model m = load_model_as(a.model_dir, a.dtype);
    // The model's tokenizer travels in the file, so that `generate -m DEST` needs nothing else.
    const auto tokenizer = tokenizer_to_carry(a.model_dir);
    save_model_gguf(m, a.out,
                    tokenizer ? gguf_tokenizer_keys(tokenizer->json, m.config.padded_vocab(), tokenizer->name)
                              : std::map<std::string, GgufValue>{});
    std::printf("wrote %s (GGUF, %lld parameters, %s%s)\n", a.out.c_str(),
                static_cast<long long>(m.config.parameter_count()), std::string(weight_type_name(m.weight_type())).c_str(),
                tokenizer ? ", tokenizer" : ", no tokenizer");
    return;
  }
  TM_CHECK(out_kind == PathKind::missing || out_kind == PathKind::directory, a.out, ": exists and is not a directory");
  std::error_code ec;
  TM_CHECK(out_kind == PathKind::missing || !fs::equivalent(a.model_dir, a.out, ec), a.out,
           ": is the source folder; convert into another folder");
  const WeightType t = dtype_from_flag(a.dtype);
  TM_CHECK(weight_type_block(t) == 1, "--dtype ", weight_type_name(t),
           ": safetensors holds f32, f16 and bf16 tensors, not ggml's block types");
  const Model m = load_model_as(a.model_dir, a.dtype);
  const auto tokenizer = tokenizer_to_carry(a.model_dir);  // a GGUF's keys become the folder's tokenizer.json
  save_model_hf(m, a.out);
  if (tokenizer)
    write_file_atomic((fs::path(a.out) / "tokenizer.json").string(),
                      [&](const ByteSink& sink) { sink(tokenizer->json.data(), tokenizer->json.size()); });
  std::printf("wrote %s (config.json, model.safetensors%s: %lld parameters, %s)\n", a.out.c_str(),
              tokenizer ? ", tokenizer.json" : "", static_cast<long long>(m.config.parameter_count()),
              std::string(weight_type_name(t)).c_str());
}

const Registration reg(31, [](CLI::App& app) {
  auto a = std::make_shared<ConvertArgs>();
  auto* sub = app.add_subcommand("convert", "Write a model in the Hugging Face safetensors layout or as a GGUF file");
  sub->add_option("-m,--model", a->model_dir, "Model folder (any supported layout) or .gguf file to read")->required();
  sub->add_option("--out", a->out, "Folder to write config.json and model.safetensors into (created if needed); "
                                   "with --format gguf, the .gguf file")->required();
  sub->add_option("--format", a->format, "safetensors (default) or gguf")->check(CLI::IsMember({"safetensors", "gguf"}));
  add_dtype_flag(sub, a->dtype);
  sub->callback([a] { run_convert(*a); });
});

}  // namespace
}  // namespace tinymamba::cli
