// Arbitrary bytes as text for the GPT-NeoX tokenizer (../shared/tokenizer/gpt-neox-20b.json, or
// $TINYMAMBA_FUZZ_TOKENIZER), loaded once. encode() must succeed exactly on well-formed UTF-8 (checked against a
// plain validator written from Unicode Table 3-7) and throw a one-line Error otherwise; when it succeeds the ids
// are in range, decode(encode(t)) is canonically equivalent to t (same NFC: encode normalizes each stretch
// between added tokens to NFC, so only NFC can tell), and streamed decoding equals decode.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/tokenizer/normalize.hpp"
#include "tinymamba/tokenizer/streaming_decoder.hpp"
#include "tinymamba/tokenizer/tokenizer.hpp"

namespace {

// Well-formed UTF-8, Unicode §3.9 Table 3-7, byte by byte.
bool reference_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  const auto in = [&](std::size_t k, unsigned lo, unsigned hi) {
    if (i + k >= s.size()) return false;
    const auto b = static_cast<unsigned char>(s[i + k]);
    return b >= lo && b <= hi;
  };
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b <= 0x7F) { i += 1; continue; }
    if (b >= 0xC2 && b <= 0xDF) { if (!in(1, 0x80, 0xBF)) return false; i += 2; continue; }
    if (b == 0xE0) { if (!in(1, 0xA0, 0xBF) || !in(2, 0x80, 0xBF)) return false; i += 3; continue; }
    if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
      if (!in(1, 0x80, 0xBF) || !in(2, 0x80, 0xBF)) return false; i += 3; continue;
    }
    if (b == 0xED) { if (!in(1, 0x80, 0x9F) || !in(2, 0x80, 0xBF)) return false; i += 3; continue; }
    if (b == 0xF0) { if (!in(1, 0x90, 0xBF) || !in(2, 0x80, 0xBF) || !in(3, 0x80, 0xBF)) return false; i += 4; continue; }
    if (b >= 0xF1 && b <= 0xF3) {
      if (!in(1, 0x80, 0xBF) || !in(2, 0x80, 0xBF) || !in(3, 0x80, 0xBF)) return false; i += 4; continue;
    }
    if (b == 0xF4) { if (!in(1, 0x80, 0x8F) || !in(2, 0x80, 0xBF) || !in(3, 0x80, 0xBF)) return false; i += 4; continue; }
    return false;
  }
  return true;
}

const tinymamba::Tokenizer& tokenizer() {
  static const tinymamba::Tokenizer tok = [] {
    const char* env = std::getenv("TINYMAMBA_FUZZ_TOKENIZER");
    const std::string path = env && *env ? env : TINYMAMBA_SOURCE_DIR "/../shared/tokenizer/gpt-neox-20b.json";
    try {
      return tinymamba::Tokenizer::load(path);
    } catch (const tinymamba::Error& e) {
      std::fprintf(stderr, "tokenizer_encode_fuzz: %s (set TINYMAMBA_FUZZ_TOKENIZER)\n", e.what());
      std::exit(2);
    }
  }();
  return tok;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)tokenizer();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tinymamba;
  const std::string_view text = fuzz::as_text(data, size);
  const Tokenizer& tok = tokenizer();
  const bool valid = reference_valid_utf8(text);
  std::vector<std::int32_t> ids;
  try {
    ids = tok.encode(text);
  } catch (const Error& e) {
    TM_FUZZ_CHECK(!valid);
    TM_FUZZ_CHECK(std::string_view(e.what()).find('\n') == std::string_view::npos);
    return 0;
  }
  TM_FUZZ_CHECK(valid);
  TM_FUZZ_CHECK(ids.empty() == text.empty());
  for (std::int32_t id : ids) TM_FUZZ_CHECK(id >= 0 && id < tok.vocab_size());
  const std::string decoded = tok.decode(ids);
  TM_FUZZ_CHECK(nfc(decoded) == nfc(text));
  StreamingDecoder stream(tok);
  std::string streamed;
  for (std::int32_t id : ids) streamed += stream.push(id);
  streamed += stream.flush();
  TM_FUZZ_CHECK(streamed == decoded);
  return 0;
}
