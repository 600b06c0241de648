#include "tinymamba/io/model_folder.hpp"

#include <cmath>
#include <filesystem>
#include <set>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/file.hpp"
#include "tinymamba/core/json.hpp"
#include "tinymamba/io/config_json.hpp"
#include "tinymamba/io/gguf_model.hpp"
#include "tinymamba/io/safetensors.hpp"
#include "tinymamba/io/torch_bin.hpp"
#include "tinymamba/io/untrusted.hpp"

namespace tinymamba {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kMaxConfigBytes = std::size_t{1} << 20;

// Official name for a tensor name from either family.
std::string official_name(const std::string& name) {
  static const std::string hf = "backbone.embeddings.";
  if (name.rfind(hf, 0) == 0) return "backbone.embedding." + name.substr(hf.size());
  return name;
}

std::int64_t file_bytes(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : static_cast<std::int64_t>(size);
}

// The first value of a parameter that is NaN or infinite, as an error naming the tensor: such a model cannot
// produce a usable distribution, and refusing it at load time beats sampling garbage later.
void check_finite(const float* values, std::int64_t n, const std::string& source, const std::string& name) {
  for (std::int64_t i = 0; i < n; ++i)
    TM_CHECK(std::isfinite(values[i]), source, ": tensor ", tinymamba::quoted(name), " holds ", values[i], " at flat index ", i,
             "; every parameter must be a finite number");
}

// Tensors of a sharded checkpoint: the index maps each tensor to a shard file in the same folder.
TensorMap read_sharded(const fs::path& index_path, CheckpointInfo& info) {
  const std::string src = index_path.string();
  const nlohmann::json index = parse_json(read_text_file(src, std::size_t{64} << 20), src);
  TM_CHECK(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(), src,
           ": no weight_map object");
  std::map<std::string, std::set<std::string>> by_shard;
  for (const auto& [tensor, shard] : index["weight_map"].items()) {
    TM_CHECK(shard.is_string(), src, ": weight_map entry for ", tinymamba::quoted(tensor), " is not a file name");
    const std::string file = shard.get<std::string>();
    TM_CHECK(!file.empty() && file.find('/') == std::string::npos && file.find('\0') == std::string::npos &&
                 file != "." && file != "..",
             src, ": shard name ", tinymamba::quoted(file), " must be a plain file name in the same folder");
    by_shard[file].insert(tensor);
  }
  TensorMap all;
  for (const auto& [file, names] : by_shard) {
    const fs::path path = index_path.parent_path() / file;
    TM_CHECK(path_kind(path.string()) != PathKind::missing, path.string(), ": missing (a shard that ", src,
             " names)");
    SafetensorsFile shard = read_safetensors(path.string());
    info.files.push_back(path.string());
    info.file_bytes += file_bytes(path);
    for (const auto& name : names) {
      auto it = shard.tensors.find(name);
      TM_CHECK(it != shard.tensors.end(), path.string(), ": tensor ", tinymamba::quoted(name), " listed in ", src, " is missing");
      TM_CHECK(all.emplace(name, it->second).second, src, ": tensor ", tinymamba::quoted(name), " appears in two shards");
    }
  }
  return all;
}

}  // namespace

Model model_from_tensors(const Config& config, const TensorMap& tensors, const std::string& source, bool ignore_extra,
                         const std::string& name_prefix) {
  // Index the file's tensors under official names, refusing two spellings of one tensor.
  std::map<std::string, const RawTensor*> by_name;
  for (const auto& [name, t] : tensors) {
    if (name.rfind(name_prefix, 0) != 0) continue;
    const std::string key = official_name(name.substr(name_prefix.size()));
    TM_CHECK(by_name.emplace(key, &t).second, source, ": tensor ", tinymamba::quoted(key), " appears twice (under both spellings)");
  }
  const auto layout = parameter_layout(config);
  std::set<std::string> expected;
  for (const auto& p : layout) {  // every check happens before the model's buffer is allocated
    expected.insert(p.name);
    auto it = by_name.find(p.name);
    TM_CHECK(it != by_name.end(), source, ": missing tensor '", p.name, "' (shape ", shape_str(p.shape), ")",
             p.name == "lm_head.weight" ? "; the config does not tie it to the embedding" : "");
    const RawTensor& t = *it->second;
    TM_CHECK(t.shape == p.shape, source, ": tensor '", p.name, "' has shape ", shape_str(t.shape), ", the config needs ",
             shape_str(p.shape));
    TM_CHECK(dtype_is_float(t.dtype), source, ": tensor '", p.name, "' has dtype ", dtype_name(t.dtype),
             "; parameters must be F32, F16, BF16 or F64");
    TM_CHECK(t.bytes.size() == static_cast<std::size_t>(p.numel) * dtype_size(t.dtype), source, ": tensor '", p.name,
             "' holds ", t.bytes.size(), " bytes, its shape needs ", p.numel * static_cast<std::int64_t>(dtype_size(t.dtype)));
  }
  if (config.tie_embeddings && by_name.count("lm_head.weight")) {  // tied: a stored lm_head must be the embedding
    const RawTensor& lm = *by_name.at("lm_head.weight");
    const RawTensor& emb = *by_name.at("backbone.embedding.weight");
    TM_CHECK(lm.shape == emb.shape && lm.dtype == emb.dtype &&
                 std::equal(lm.bytes.begin(), lm.bytes.end(), emb.bytes.begin(), emb.bytes.end()),
             source, ": lm_head.weight differs from the embedding but the config ties them");
    expected.insert("lm_head.weight");
  }
  if (!ignore_extra)
    for (const auto& [name, t] : by_name)
      TM_CHECK(expected.count(name), source, ": unexpected tensor ", tinymamba::quoted(name), " (not a parameter of this config)");

  // A float32 large matrix in a mapped file is used where it lies, so memory holds the file's pages and no
  // float32 copy of them (training copies them: Model::make_owned). One whose bytes are not aligned to a float
  // (safetensors does not promise it; PyTorch's files and ours are) or not kept alive by a mapping is copied.
  std::vector<Model::InPlaceMatrix> in_place;
  for (const auto& p : layout) {
    const RawTensor& t = *by_name.at(p.name);
    if (!is_large_matrix(p) || t.dtype != DType::F32 || !t.keep_alive ||
        reinterpret_cast<std::uintptr_t>(t.bytes.data()) % alignof(float) != 0)
      continue;  // copied into the model's float32 buffer below
    const auto* values = reinterpret_cast<const float*>(t.bytes.data());
    check_finite(values, p.numel, source, p.name);
    in_place.push_back({p.name, WeightMatrix::f32(values, p.shape[0], p.shape[1]), t.keep_alive});
  }
  return Model(config, std::move(in_place), WeightType::f32, [&](const ParamInfo& p, float* dst) {
    const RawTensor& t = *by_name.at(p.name);
    convert_to_f32(t.dtype, t.bytes.data(), static_cast<std::size_t>(p.numel), dst);
    check_finite(dst, p.numel, source, p.name);
  });
}

Model load_model(const std::string& dir, CheckpointInfo* info_out) {
  CheckpointInfo info;
  const fs::path root(dir);
  std::string why;
  const PathKind kind = path_kind(dir, &why);
  if (kind == PathKind::regular && dir.ends_with(".gguf")) {  // a GGUF file stands for a folder (io/gguf_model)
    Model m = load_gguf_model(dir);
    if (info_out) {
      *info_out = {"gguf", {dir}, {}, static_cast<std::int64_t>(fs::file_size(dir))};
      for (const auto& s : m.storage()) ++info_out->dtype_counts[std::string(weight_type_name(s.type))];
    }
    return m;
  }
  switch (kind) {
    case PathKind::directory: break;
    case PathKind::missing: fail(dir, ": not a directory (no such model folder)");
    case PathKind::unreadable: fail(dir, ": cannot access: ", why);
    default: fail(dir, ": not a directory (expected a model folder with config.json)");
  }
  const fs::path config_path = root / "config.json";
  switch (path_kind(config_path.string(), &why)) {
    case PathKind::missing: fail(config_path.string(), ": missing (every model folder needs config.json)");
    case PathKind::unreadable: fail(config_path.string(), ": cannot access: ", why);
    default: break;  // read_text_file refuses anything but a regular file
  }
  const std::string config_text = read_text_file(config_path.string(), kMaxConfigBytes);
  const ConfigDialect dialect = detect_config_dialect(config_text, config_path.string());
  const Config config = parse_config(config_text, config_path.string());
  const std::string family = dialect == ConfigDialect::huggingface ? "hf" : "official";

  // A file name that exists in any form (a directory, a FIFO, a dangling or looping symlink) selects the layout,
  // and its reader then says what is wrong with it.
  const auto present = [&](const char* name) { return path_kind((root / name).string()) != PathKind::missing; };
  TensorMap tensors;
  SafetensorsFile single;
  std::string source;
  if (present("model.safetensors")) {
    source = (root / "model.safetensors").string();
    single = read_safetensors(source);
    tensors = single.tensors;
    info.layout = family + " (model.safetensors)";
    info.files.push_back(source);
    info.file_bytes = file_bytes(source);
  } else if (present("model.safetensors.index.json")) {
    source = (root / "model.safetensors.index.json").string();
    tensors = read_sharded(root / "model.safetensors.index.json", info);
    info.layout = family + " (sharded model.safetensors)";
  } else if (present("pytorch_model.bin")) {
    source = (root / "pytorch_model.bin").string();
    tensors = read_torch_bin(source);
    info.layout = family + " (pytorch_model.bin)";
    info.files.push_back(source);
    info.file_bytes = file_bytes(source);
  } else {
    fail(dir, ": no model.safetensors, model.safetensors.index.json or pytorch_model.bin");
  }
  for (const auto& [name, t] : tensors) ++info.dtype_counts[std::string(dtype_name(t.dtype))];
  Model m = model_from_tensors(config, tensors, source);
  if (info_out) *info_out = std::move(info);
  return m;
}

TensorMap model_tensors(const Model& m, const std::string& name_prefix) {
  TensorMap out;
  const std::vector<Model::TensorStorage> stored = m.storage();
  for (std::size_t i = 0; i < stored.size(); ++i) {
    const Model::TensorStorage& s = stored[i];
    RawTensor t;
    switch (s.type) {  // the types safetensors has
      case WeightType::f32: t.dtype = DType::F32; break;
      case WeightType::f16: t.dtype = DType::F16; break;
      case WeightType::bf16: t.dtype = DType::BF16; break;
      default: fail(s.name, ": safetensors has no ", weight_type_name(s.type), " tensors (write a GGUF file)");
    }
    t.shape = m.layout[i].shape;
    t.bytes = std::span<const std::byte>(static_cast<const std::byte*>(s.data), static_cast<std::size_t>(s.bytes));
    out.emplace(name_prefix + s.name, std::move(t));
  }
  return out;
}

// Both files are written and fsynced under temp names first; only then does the folder change, in three steps:
// config.json is removed, model.safetensors renamed into place, config.json renamed into place. A crash at any
// moment leaves the previous pair, the new pair, or a folder without config.json (which load_model refuses) —
// never a config.json beside a model.safetensors it does not describe.
void save_model_hf(const Model& m, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  TM_CHECK(!ec, dir, ": cannot create the folder: ", ec.message());
  TensorMap hf;
  for (auto& [name, t] : model_tensors(m)) {
    const std::string official = "backbone.embedding.";
    hf.emplace(name.rfind(official, 0) == 0 ? "backbone.embeddings." + name.substr(official.size()) : name, t);
  }
  const std::string tensors_path = (fs::path(dir) / "model.safetensors").string();
  const std::string config_path = (fs::path(dir) / "config.json").string();
  const auto tensors = stage_safetensors(tensors_path, hf, {{"format", "pt"}});
  const std::string config = hf_config_json(m.config);
  StagedFile config_file(config_path, [&](const ByteSink& sink) { sink(config.data(), config.size()); });
  remove_file_durably(config_path);
  tensors->commit();
  config_file.commit();
}

}  // namespace tinymamba
