// tinymamba convert — rewrite any supported model (folder or .gguf) in the Hugging Face safetensors layout, e.g. a
// state-spaces pytorch_model.bin, without Python: float32, or the large matrices in f16 / bf16 (--dtype); or as
// one GGUF file (--format gguf) in any --dtype.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "command.hpp"
#include "common.hpp"
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

void run_convert(const ConvertArgs& a) {
  namespace fs = std::filesystem;
  std::string why;
  const PathKind out_kind = path_kind(a.out, &why);
  TM_CHECK(out_kind != PathKind::unreadable, a.out, ": cannot access: ", why);
  if (a.format == "gguf") {
    TM_CHECK(out_kind == PathKind::missing || out_kind == PathKind::regular, a.out, ": exists and is not a file");
    const Model m = load_model_as(a.model_dir, a.dtype);
    // The folder's tokenizer travels in the file, so that `generate -m DEST` needs nothing else.
    const std::string tokenizer = (fs::path(a.model_dir) / "tokenizer.json").string();
    const bool has_tokenizer = path_kind(a.model_dir) == PathKind::directory && path_kind(tokenizer) == PathKind::regular;
    save_model_gguf(m, a.out,
                    has_tokenizer ? gguf_tokenizer_keys(read_text_file(tokenizer), m.config.padded_vocab(), tokenizer)
                                  : std::map<std::string, GgufValue>{});
    std::printf("wrote %s (GGUF, %lld parameters, %s%s)\n", a.out.c_str(),
                static_cast<long long>(m.config.parameter_count()), std::string(weight_type_name(m.weight_type())).c_str(),
                has_tokenizer ? ", tokenizer" : ", no tokenizer");
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
  save_model_hf(m, a.out);
  std::printf("wrote %s (config.json, model.safetensors: %lld parameters, %s)\n", a.out.c_str(),
              static_cast<long long>(m.config.parameter_count()), std::string(weight_type_name(t)).c_str());
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
