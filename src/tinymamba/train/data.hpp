// Training data: a text file turned into token ids, split into train / validation, and cut into random
// windows.
//
// - Encoding goes through TextEncoder, a small seam: bytes (id = byte value, vocab 256) here, or any tokenizer
//   the caller wraps (a function text -> ids). The training code never sees a tokenizer type.
// - Split: the file's LAST `val_fraction` (10%) of bytes is the validation split and is never trained on. The cut
//   is at floor(0.9 · size) bytes (moved forward to the start of a UTF-8 character for a tokenizer), and each
//   side is encoded separately, so the validation text is the same for every encoder.
// - Windows: a batch is `batch` windows of `seq_len` consecutive train tokens, each starting at a uniformly drawn
//   offset in [0, n − seq_len]; the loss of a window is the next-token loss of its first seq_len − 1 positions.
//   The draws come from a seeded Rng whose state (and the number of batches drawn) is the data position a
//   checkpoint saves: restoring it continues the exact same sequence of batches.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tinymamba/core/rng.hpp"

namespace tinymamba::train {

struct TextEncoder {
  std::string name;                 // "bytes", or what the tokenizer was loaded from
  std::int64_t vocab_size = 0;      // ids are in [0, vocab_size)
  bool byte_level = false;          // ids are byte values (the split needs no character alignment)
  std::function<std::vector<std::int32_t>(std::string_view)> encode;
};

// id = byte value, vocab 256.
[[nodiscard]] TextEncoder byte_encoder();

struct TokenText {
  std::vector<std::int32_t> ids;
  std::int64_t bytes = 0;  // length of the text they encode
};

struct DataSplit {
  std::string source;  // the file
  TokenText train, val;
};

inline constexpr double kValFraction = 0.1;

// Reads `path` (Error naming it when missing, unreadable or empty) and encodes the train and validation parts.
[[nodiscard]] DataSplit load_split(const std::string& path, const TextEncoder& enc, double val_fraction = kValFraction);
// The whole file, encoded (for evaluating a file that is not split).
[[nodiscard]] TokenText load_whole(const std::string& path, const TextEncoder& enc);
// The byte offset where the validation split starts in a text of `size` bytes (before character alignment).
[[nodiscard]] std::int64_t split_point(std::int64_t size, double val_fraction = kValFraction);

struct SamplerState {
  std::array<std::uint64_t, 4> rng{};
  std::int64_t batches = 0;  // batches drawn so far
};

class BatchSampler {
 public:
  // `tokens` must outlive the sampler and hold at least seq_len tokens (Error naming --seq-len otherwise).
  BatchSampler(std::span<const std::int32_t> tokens, std::int64_t batch, std::int64_t seq_len, std::uint64_t seed);

  // Fills `out` with the next batch: (batch, seq_len) ids, row-major.
  void next(std::vector<std::int32_t>& out);
  // The offsets of the next batch's windows, drawn (and consumed) as next() would.
  [[nodiscard]] std::vector<std::int64_t> next_offsets();

  [[nodiscard]] SamplerState state() const { return {rng_.state(), batches_}; }
  void restore(const SamplerState& s);
  [[nodiscard]] std::int64_t batch() const { return batch_; }
  [[nodiscard]] std::int64_t seq_len() const { return seq_len_; }

 private:
  std::span<const std::int32_t> tokens_;
  std::int64_t batch_, seq_len_;
  Rng rng_;
  std::int64_t batches_ = 0;
};

// The sampler's seed for a run seed: a separate stream from the parameter initialization's.
[[nodiscard]] std::uint64_t data_seed(std::uint64_t seed);

}  // namespace tinymamba::train
