#include "tinymamba/train/data.hpp"

#include <cmath>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/file.hpp"

namespace tinymamba::train {
namespace {

std::string_view file_text(const MappedFile& f) {
  const auto b = f.bytes();
  TM_CHECK(!b.empty(), f.path(), ": the data file is empty");
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

TokenText encode(std::string_view text, const TextEncoder& enc, const std::string& what) {
  TokenText t;
  t.bytes = static_cast<std::int64_t>(text.size());
  try {
    t.ids = enc.encode(text);
  } catch (const Error& e) {
    fail(what, ": ", e.what());
  }
  for (std::size_t i = 0; i < t.ids.size(); ++i)
    TM_CHECK(t.ids[i] >= 0 && t.ids[i] < enc.vocab_size, what, ": ", enc.name, " gave token id ", t.ids[i],
             " outside its vocabulary [0, ", enc.vocab_size, ")");
  return t;
}

}  // namespace

TextEncoder byte_encoder() {
  TextEncoder e;
  e.name = "bytes";
  e.vocab_size = 256;
  e.byte_level = true;
  e.encode = [](std::string_view text) {
    std::vector<std::int32_t> ids(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) ids[i] = static_cast<unsigned char>(text[i]);
    return ids;
  };
  return e;
}

std::int64_t split_point(std::int64_t size, double val_fraction) {
  return static_cast<std::int64_t>(std::floor(static_cast<double>(size) * (1.0 - val_fraction)));
}

DataSplit load_split(const std::string& path, const TextEncoder& enc, double val_fraction) {
  TM_CHECK(val_fraction > 0 && val_fraction < 1, "validation fraction ", val_fraction, " is not in (0, 1)");
  const MappedFile f(path);
  const std::string_view text = file_text(f);
  std::size_t cut = static_cast<std::size_t>(split_point(static_cast<std::int64_t>(text.size()), val_fraction));
  if (!enc.byte_level)  // never cut a UTF-8 character in two: move to the next lead byte
    while (cut < text.size() && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) ++cut;
  TM_CHECK(cut >= 1 && cut < text.size(), path, ": ", text.size(),
           " bytes are too few to split into train and validation parts");
  DataSplit s;
  s.source = path;
  s.train = encode(text.substr(0, cut), enc, path);
  s.val = encode(text.substr(cut), enc, path);
  return s;
}

TokenText load_whole(const std::string& path, const TextEncoder& enc) {
  const MappedFile f(path);
  return encode(file_text(f), enc, path);
}

std::uint64_t data_seed(std::uint64_t seed) { return seed ^ 0xd1b54a32d192ed03ull; }

BatchSampler::BatchSampler(std::span<const std::int32_t> tokens, std::int64_t batch, std::int64_t seq_len,
                           std::uint64_t seed)
    : tokens_(tokens), batch_(batch), seq_len_(seq_len), rng_(data_seed(seed)) {
  TM_CHECK(batch >= 1, "--batch = ", batch, " must be at least 1");
  TM_CHECK(seq_len >= 2, "--seq-len = ", seq_len, " must be at least 2 (a window predicts its next tokens)");
  TM_CHECK(static_cast<std::int64_t>(tokens.size()) >= seq_len, "--seq-len = ", seq_len,
           " is longer than the training data (", tokens.size(), " tokens)");
}

std::vector<std::int64_t> BatchSampler::next_offsets() {
  const auto starts = static_cast<std::uint64_t>(static_cast<std::int64_t>(tokens_.size()) - seq_len_ + 1);
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(batch_));
  for (auto& o : offsets) o = static_cast<std::int64_t>(rng_.below(starts));
  ++batches_;
  return offsets;
}

void BatchSampler::next(std::vector<std::int32_t>& out) {
  const auto offsets = next_offsets();
  out.resize(static_cast<std::size_t>(batch_ * seq_len_));
  for (std::int64_t b = 0; b < batch_; ++b)
    for (std::int64_t t = 0; t < seq_len_; ++t) out[b * seq_len_ + t] = tokens_[offsets[b] + t];
}

void BatchSampler::restore(const SamplerState& s) {
  rng_.set_state(s.rng);
  batches_ = s.batches;
}

}  // namespace tinymamba::train
