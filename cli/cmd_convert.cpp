// tinymamba convert — rewrite any supported model folder in the Hugging Face safetensors layout, e.g. a
// state-spaces pytorch_model.bin, without Python: float32, or the large matrices in f16 / bf16 (--dtype).
#include <cstdio>
#include <filesystem>
#include <memory>

#include "command.hpp"
#include "common.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/core/file.hpp"
#include "tinymamba/io/model_folder.hpp"

namespace tinymamba::cli {
namespace {

struct ConvertArgs {
  std::string model_dir, out, dtype;
};

void run_convert(const ConvertArgs& a) {
  namespace fs = std::filesystem;
  std::string why;
  const PathKind out_kind = path_kind(a.out, &why);
  TM_CHECK(out_kind != PathKind::unreadable, a.out, ": cannot access: ", why);
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
  auto* sub = app.add_subcommand("convert", "Write a model folder in the Hugging Face safetensors layout");
  sub->add_option("-m,--model", a->model_dir, "Model folder to read (any supported layout)")->required();
  sub->add_option("--out", a->out, "Folder to write config.json and model.safetensors into (created if needed)")->required();
  add_dtype_flag(sub, a->dtype);
  sub->callback([a] { run_convert(*a); });
});

}  // namespace
}  // namespace tinymamba::cli
