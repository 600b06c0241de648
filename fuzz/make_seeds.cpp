// fuzz_make_seeds GOLDEN_DIR OUT_DIR — writes a seed corpus for every fuzz target into OUT_DIR/<target>/, from
// the golden data (../shared/golden) and small files made here, so that CI needs neither Python nor network.
//   safetensors       the small golden .safetensors files, one tensor of each dtype, a tiny model, edge headers
//   config            the golden config.json files (both dialects) and serializations of a few configs
//   torch_bin         small torch.save-shaped archives (row-major, transposed, shared, nn.Parameter tensors)
//   pickle            the golden data.pkl files (read out of the .bin archives), a small state_dict pickle, and
//                     forbidden ones (os.system, builtins.eval, subprocess via STACK_GLOBAL, INST)
//   tokenizer_json    small byte-level BPE tokenizers (both merges formats, NFC, added tokens) and near misses
//   tokenizer_encode  the golden tokenizer texts and tests/data/tokenizer/extra_cases.json texts, invalid UTF-8
//   parse_ids         the golden ids written as the CLI takes them, and a few bad ones
//   model             config.json + model.safetensors pairs of tiny models, in model_fuzz's input format
//   completion_request  bodies of POST /v1/completions: every field, the prompt forms, and a few bad ones
//   gguf              the tiny model as GGUF files, f32 and q8_0, and a tiny Mamba-2 (arch mamba2) in f32
// and, for each target, the inputs in fuzz/regressions/<target>/ that once found a bug.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "model_input.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/core/file.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/io/config_json.hpp"
#include "tinymamba/io/gguf_model.hpp"
#include "tinymamba/io/safetensors.hpp"
#include "tinymamba/io/zip_reader.hpp"
#include "tinymamba/tokenizer/byte_level.hpp"
#include "tinymamba/tokenizer/utf8.hpp"

namespace fs = std::filesystem;
using namespace tinymamba;
using json = nlohmann::json;

namespace {

constexpr std::size_t kMaxSeedBytes = 64 << 10;  // larger golden files would be cut by -max_len anyway

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void put(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

std::string bytes_of(const RawTensor& t) { return {reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size()}; }

// A tiny model's tensors (official names), with parameters that are not all zero.
Model tiny_model(const std::string& config_text) {
  Model m(parse_config(config_text, "seed config"));
  for (std::size_t i = 0; i < m.params.size(); ++i) m.params.data()[i] = static_cast<float>(i % 7) * 0.125f - 0.25f;
  return m;
}

const char* kTinyOfficial = R"({"d_model": 8, "n_layer": 1, "vocab_size": 13, "pad_vocab_size_multiple": 8,
  "ssm_cfg": {"d_state": 4, "d_conv": 2, "expand": 2}})";
const char* kTinyMamba2 = R"({"d_model": 8, "n_layer": 1, "vocab_size": 13, "pad_vocab_size_multiple": 8,
  "ssm_cfg": {"layer": "Mamba2", "d_state": 4, "d_conv": 2, "expand": 2, "headdim": 4, "ngroups": 2}})";
const char* kTinyHf = R"({"model_type": "mamba", "hidden_size": 6, "num_hidden_layers": 2, "vocab_size": 10,
  "state_size": 2, "conv_kernel": 3, "expand": 2, "intermediate_size": 10, "time_step_rank": 3, "use_bias": true,
  "use_conv_bias": false, "tie_word_embeddings": false})";

std::string safetensors_file(const TensorMap& tensors, const Metadata& meta, const fs::path& scratch) {
  write_safetensors(scratch.string(), tensors, meta);
  std::string bytes = slurp(scratch);
  fs::remove(scratch);
  return bytes;
}

void safetensors_seeds(const fs::path& golden, const fs::path& out, const fs::path& scratch) {
  for (const auto& e : fs::directory_iterator(golden))
    if (e.path().extension() == ".safetensors" && e.file_size() <= kMaxSeedBytes)
      put(out, e.path().filename().string(), slurp(e.path()));
  std::vector<std::uint8_t> raw(24);
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(i * 37 + 1);
  int n = 0;
  for (const char* dtype : {"F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL", "U16", "U32",
                            "U64", "F8_E4M3", "F8_E5M2"}) {
    RawTensor t;
    t.dtype = *dtype_from_name(dtype);
    t.shape = {static_cast<std::int64_t>(8 / dtype_size(t.dtype)), 3};
    t.bytes = std::as_bytes(std::span(raw));
    put(out, "dtype_" + std::to_string(n++), safetensors_file({{"t", t}}, {{"k", "v"}}, scratch));
  }
  const Model m = tiny_model(kTinyOfficial);
  put(out, "tiny_model", safetensors_file(model_tensors(m), {{"format", "pt"}}, scratch));
  put(out, "empty_header", fuzz::le(2, 8) + "{}");
  put(out, "metadata_only", fuzz::le(24, 8) + R"({"__metadata__":{"a":"b"}})");
  put(out, "zero_sized", fuzz::le(64, 8) + R"({"e":{"dtype":"F32","shape":[0,4],"data_offsets":[0,0]}}       )");
}

void config_seeds(const fs::path& golden, const fs::path& out) {
  for (const char* folder : {"hf", "official"})
    put(out, std::string(folder) + ".json", slurp(golden / "tiny-mamba" / folder / "config.json"));
  put(out, "tiny_official.json", kTinyOfficial);
  put(out, "tiny_hf.json", kTinyHf);
  const Config c = parse_config(kTinyHf, "seed");
  put(out, "tiny_hf_serialized.json", hf_config_json(c));
  put(out, "official_full.json", R"({"d_model": 768, "n_layer": 24, "vocab_size": 50277, "ssm_cfg": {"d_state": 16,
    "d_conv": 4, "expand": 2, "dt_rank": "auto", "conv_bias": true, "bias": false, "dt_min": 0.001, "dt_max": 0.1,
    "dt_init": "random", "dt_scale": 1.0, "dt_init_floor": 1e-4, "layer": "Mamba1"}, "rms_norm": true,
    "residual_in_fp32": true, "fused_add_norm": true, "pad_vocab_size_multiple": 8, "tie_embeddings": true,
    "d_intermediate": 0, "attn_layer_idx": [], "initializer_cfg": {"initializer_range": 0.02}})");
}

// Small torch.save-shaped archives (stored entries, local sizes; the zip reader accepts both that and torch's
// descriptor form).
void torch_bin_seeds(const fs::path& out) {
  std::string floats;
  for (int i = 0; i < 12; ++i) floats += fuzz::le(0x3f800000u + static_cast<unsigned>(i) * 0x10000u, 4);
  std::string halves;
  for (int i = 0; i < 6; ++i) halves += fuzz::le(0x3c00u + static_cast<unsigned>(i), 2);
  const std::vector<fuzz::PickledSpec> tensors = {
      {"a.weight", "FloatStorage", "0", 12, 0, {3, 4}, {4, 1}},
      {"a.transposed", "FloatStorage", "0", 12, 0, {4, 3}, {1, 4}},
      {"a.slice", "FloatStorage", "0", 12, 5, {2}, {3}},
      {"a.tied", "FloatStorage", "0", 12, 0, {3, 4}, {4, 1}},
      {"b.half", "HalfStorage", "1", 6, 0, {6}, {1}, true},
      {"b.scalar", "HalfStorage", "1", 6, 2, {}, {}},
  };
  const std::string pickle = fuzz::pickle_of(tensors);
  put(out, "small.bin", fuzz::stored_zip({{"archive/data.pkl", pickle}, {"archive/byteorder", "little"},
                                          {"archive/data/0", floats}, {"archive/data/1", halves},
                                          {"archive/version", "3\n"}}));
  put(out, "new_version.bin", fuzz::stored_zip({{"m/data.pkl", fuzz::pickle_of({tensors[0]})},
                                                {"m/.data/version", "3\n"}, {"m/data/0", floats}}));
  const Model m = tiny_model(kTinyOfficial);
  std::vector<fuzz::PickledSpec> specs;
  std::vector<std::pair<std::string, std::string>> entries = {{"tiny/data.pkl", ""}, {"tiny/version", "3\n"}};
  int key = 0;
  for (const auto& [name, t] : model_tensors(m)) {
    Shape stride(t.shape.size(), 1);
    for (std::size_t i = t.shape.size(); i-- > 1;) stride[i - 1] = stride[i] * t.shape[i];
    specs.push_back({name, "FloatStorage", std::to_string(key), static_cast<std::int64_t>(t.bytes.size() / 4), 0,
                     t.shape, stride});
    entries.emplace_back("tiny/data/" + std::to_string(key++), bytes_of(t));
  }
  entries[0].second = fuzz::pickle_of(specs);
  put(out, "tiny_model.bin", fuzz::stored_zip(entries));
}

void pickle_seeds(const fs::path& golden, const fs::path& out) {
  for (const char* folder : {"official", "official-fp16", "official-bf16"}) {
    const std::string archive = slurp(golden / "tiny-mamba" / folder / "pytorch_model.bin");
    const ZipArchive zip(std::as_bytes(std::span(archive)), folder);
    for (const ZipEntry& e : zip.entries())
      if (std::string_view(e.name).ends_with("/data.pkl"))
        put(out, std::string(folder) + ".pkl", std::string(reinterpret_cast<const char*>(e.data.data()), e.data.size()));
  }
  put(out, "small.pkl", fuzz::pickle_of({{"w", "FloatStorage", "0", 6, 0, {2, 3}, {3, 1}},
                                         {"v", "DoubleStorage", "1", 4, 1, {3}, {1}, true}}));
  fuzz::Pickle system;
  system.proto().global("os", "system").str("touch /tmp/tinymamba-pwned").op('\x85').op('R').op('.');
  put(out, "os_system.pkl", system.bytes());
  fuzz::Pickle eval;
  eval.proto().global("builtins", "eval").op('(').str("1+1").op('t').op('R').op('.');
  put(out, "builtins_eval.pkl", eval.bytes());
  fuzz::Pickle popen;
  popen.proto().str("subprocess").str("Popen").op('\x93').op('(').str("ls").op('t').op('R').op('.');
  put(out, "subprocess_stack_global.pkl", popen.bytes());
  fuzz::Pickle inst;
  inst.proto().op('(').str("x").raw("ios\nsystem\n").op('.');
  put(out, "inst.pkl", inst.bytes());
}

// A byte-level BPE tokenizer.json: the 256 byte stand-ins, a few merges, added tokens.
std::string small_tokenizer(bool pair_merges, bool nfc, bool added) {
  json vocab = json::object();
  std::vector<std::string> by_id;
  for (unsigned b = 0; b < 256; ++b) {
    std::string text;
    append_utf8(text, byte_to_char(static_cast<std::uint8_t>(b)));
    vocab[text] = by_id.size();
    by_id.push_back(text);
  }
  json merges = json::array();
  for (const auto& [l, r] : std::vector<std::pair<std::string, std::string>>{
           {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"\xc4\xa0", "w"}, {"o", "r"}, {"\xc4\xa0w", "or"}, {"1", "2"}}) {
    vocab[l + r] = by_id.size();
    by_id.push_back(l + r);
    merges.push_back(pair_merges ? json::array({l, r}) : json(l + " " + r));
  }
  json root = {{"version", "1.0"},
               {"normalizer", nfc ? json{{"type", "NFC"}} : json(nullptr)},
               {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                                  {"use_regex", true}}},
               {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}}},
               {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"vocab", vocab},
                          {"merges", merges}}}};
  if (added) {
    const auto n = by_id.size();
    root["added_tokens"] = json::array(
        {{{"id", n}, {"content", "<|endoftext|>"}, {"special", true}, {"normalized", false}},
         {{"id", n + 1}, {"content", "  "}, {"special", false}, {"normalized", true}},
         {{"id", 0}, {"content", by_id[0]}, {"special", false}, {"normalized", false}}});
  }
  return root.dump();
}

void tokenizer_json_seeds(const fs::path& out) {
  put(out, "string_merges.json", small_tokenizer(false, true, true));
  put(out, "pair_merges.json", small_tokenizer(true, false, true));
  put(out, "no_added.json", small_tokenizer(false, false, false));
  std::string wordpiece = small_tokenizer(false, false, false);
  wordpiece.replace(wordpiece.find("\"BPE\""), 5, "\"WordPiece\"");
  put(out, "wordpiece.json", wordpiece);
  put(out, "empty_vocab.json", R"({"pre_tokenizer":{"type":"ByteLevel"},"decoder":{"type":"ByteLevel"},)"
                               R"("model":{"type":"BPE","vocab":{},"merges":[]}})");
  put(out, "no_model.json", R"({"pre_tokenizer":{"type":"ByteLevel"},"decoder":{"type":"ByteLevel"}})");
}

void tokenizer_encode_seeds(const fs::path& golden, const fs::path& out) {
  int n = 0;
  const json cases = json::parse(slurp(golden / "tokenizer.json"));
  for (const auto& c : cases["cases"]) put(out, "golden_" + std::to_string(n++), c["text"].get<std::string>().substr(0, 4096));
  const fs::path extra = fs::path(TINYMAMBA_SOURCE_DIR) / "tests" / "data" / "tokenizer" / "extra_cases.json";
  if (fs::exists(extra)) {
    const json more = json::parse(slurp(extra));
    const json& list = more.is_object() && more.contains("cases") ? more["cases"] : more;
    n = 0;
    for (const auto& c : list)
      if (c.is_object() && c.contains("text") && c["text"].is_string())
        put(out, "extra_" + std::to_string(n++), c["text"].get<std::string>().substr(0, 4096));
  }
  put(out, "invalid_continuation", "ab\x80 cd");
  put(out, "invalid_surrogate", "x\xed\xa0\x80y");
  put(out, "invalid_truncated", "caf\xc3");
  put(out, "invalid_overlong", "\xc0\xaf");
}

void completion_request_seeds(const fs::path& out) {
  const std::vector<std::string> bodies = {
      R"({"prompt": "ROMEO:", "max_tokens": 16})",
      R"({"prompt": [82, 79, 77], "max_tokens": 3, "logprobs": 3, "echo": true})",
      R"({"prompt": ["a", [1, 2]], "stop": ["x", "yz"], "stream": true, "stream_options": {"include_usage": true}})",
      R"({"model": "m", "prompt": "a", "temperature": 0.5, "top_p": 0.9, "top_k": 7, "min_p": 0.1,
          "repeat_penalty": 1.2, "seed": 18446744073709551615, "n": 1, "best_of": 1, "user": "u"})",
      R"({"prompt": "a", "max_tokens": -1, "temperature": "hot"})",
      "{\"prompt\": \"\xc3\"}",
  };
  for (std::size_t i = 0; i < bodies.size(); ++i) put(out, "body-" + std::to_string(i), bodies[i]);
}

void parse_ids_seeds(const fs::path& golden, const fs::path& out) {
  int n = 0;
  const json cases = json::parse(slurp(golden / "tokenizer.json"));
  for (const auto& c : cases["cases"]) {
    std::string spaced, commas;
    for (const auto& id : c["ids"]) {
      spaced += (spaced.empty() ? "" : " ") + std::to_string(id.get<std::int64_t>());
      commas += (commas.empty() ? "" : ",") + std::to_string(id.get<std::int64_t>());
    }
    if (spaced.size() > 1024) continue;
    put(out, "golden_" + std::to_string(n++), spaced);
    put(out, "golden_" + std::to_string(n++), commas);
  }
  for (const char* bad : {"1, 2,\n3\t4", "-1", "1.5", "0x10", ",1", "1,,2", "1,", "99999999999999999999",
                          "9223372036854775807", "12a"})
    put(out, "edge_" + std::to_string(n++), bad);
}

void model_seeds(const fs::path& golden, const fs::path& out, const fs::path& scratch) {
  int n = 0;
  for (const char* config : {kTinyOfficial, kTinyHf}) {
    const Model m = tiny_model(config);
    put(out, "tiny_" + std::to_string(n++), fuzz::model_input(config, safetensors_file(model_tensors(m), {}, scratch)));
  }
}

}  // namespace

void gguf_seeds(const fs::path& out, const fs::path& scratch) {
  for (const WeightType t : {WeightType::f32, WeightType::q8_0}) {
    Model m = tiny_model(kTinyOfficial);
    m.set_weight_type(t);
    save_model_gguf(m, scratch.string());
    put(out, "tiny_" + std::string(weight_type_name(t)), slurp(scratch));
  }
  save_model_gguf(tiny_model(kTinyMamba2), scratch.string());  // arch mamba2: 4 heads in 2 groups
  put(out, "tiny_mamba2_f32", slurp(scratch));
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuzz_make_seeds GOLDEN_DIR OUT_DIR\n");
    return 2;
  }
  const fs::path golden = argv[1], out = argv[2];
  try {
    fs::create_directories(out);
    const fs::path scratch = out / "scratch.safetensors";
    safetensors_seeds(golden, out / "safetensors", scratch);
    config_seeds(golden, out / "config");
    torch_bin_seeds(out / "torch_bin");
    pickle_seeds(golden, out / "pickle");
    tokenizer_json_seeds(out / "tokenizer_json");
    tokenizer_encode_seeds(golden, out / "tokenizer_encode");
    parse_ids_seeds(golden, out / "parse_ids");
    completion_request_seeds(out / "completion_request");
    model_seeds(golden, out / "model", scratch);
    gguf_seeds(out / "gguf", scratch);
    // Inputs that once found a bug (fuzz/regressions/<target>/): every run replays them first.
    const fs::path regressions = fs::path(TINYMAMBA_SOURCE_DIR) / "fuzz" / "regressions";
    if (fs::exists(regressions))
      for (const auto& target : fs::directory_iterator(regressions))
        for (const auto& file : fs::directory_iterator(target.path()))
          put(out / target.path().filename(), "regression-" + file.path().filename().string(), slurp(file.path()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
