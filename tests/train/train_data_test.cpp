// Training data: the 90/10 split (validation never trained on), windows, determinism for a seed, the data
// position a checkpoint restores, and one-line errors naming the file or flag.
#include "tinymamba/train/data.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "test_paths.hpp"
#include "tinymamba/core/error.hpp"

namespace tinymamba::train {
namespace {

std::string write_file(const std::filesystem::path& dir, const std::string& name, const std::string& text) {
  const auto path = dir / name;
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TrainData, BytesSplitAtNinetyPercent) {
  const auto dir = test::temp_dir("data-split");
  std::string text;
  for (int i = 0; i < 1000; ++i) text += static_cast<char>(i % 251);  // every byte value but 251..255
  const std::string path = write_file(dir, "t.bin", text);
  const DataSplit s = load_split(path, byte_encoder());
  ASSERT_EQ(s.train.ids.size(), 900u);
  ASSERT_EQ(s.val.ids.size(), 100u);
  EXPECT_EQ(s.train.bytes, 900);
  EXPECT_EQ(s.val.bytes, 100);
  for (int i = 0; i < 900; ++i) ASSERT_EQ(s.train.ids[i], i % 251);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(s.val.ids[i], (900 + i) % 251);  // the last 10%, in order
  EXPECT_EQ(split_point(1115394), 1003854);  // tinyshakespeare: floor(0.9 · size)
  std::filesystem::remove_all(dir);
}

TEST(TrainData, TokenizerSplitDoesNotCutACharacter) {
  const auto dir = test::temp_dir("data-utf8");
  // 26 ASCII bytes, a 3-byte character at bytes 26..28, one more ASCII byte: 30 bytes, the 90% point (27) falls
  // inside the character, so the cut moves forward to byte 29.
  const std::string text = "abcdefghijklmnopqrstuvwxyz\xe2\x82\xacZ";
  ASSERT_EQ(text.size(), 30u);
  const std::string path = write_file(dir, "t.txt", text);
  TextEncoder chars;  // a toy tokenizer: one id per UTF-8 character (its lead byte)
  chars.name = "chars";
  chars.vocab_size = 256;
  chars.encode = [](std::string_view t) {
    std::vector<std::int32_t> ids;
    for (unsigned char c : t)
      if ((c & 0xC0) != 0x80) ids.push_back(c);
    return ids;
  };
  const DataSplit s = load_split(path, chars);
  EXPECT_EQ(s.train.bytes, 29);
  EXPECT_EQ(s.val.bytes, 1);
  ASSERT_EQ(s.train.ids.size(), 27u);
  EXPECT_EQ(s.train.ids.back(), 0xe2);
  EXPECT_EQ(s.val.ids, std::vector<std::int32_t>{'Z'});
  // The byte encoder cuts exactly at 27 (bytes need no alignment).
  const DataSplit b = load_split(path, byte_encoder());
  EXPECT_EQ(b.train.bytes, 27);
  EXPECT_EQ(b.val.ids.size(), 3u);
  std::filesystem::remove_all(dir);
}

TEST(TrainData, SamplerIsDeterministicAndRestorable) {
  std::vector<std::int32_t> tokens(500);
  for (int i = 0; i < 500; ++i) tokens[i] = i % 256;
  BatchSampler a(tokens, 4, 16, 7), b(tokens, 4, 16, 7), c(tokens, 4, 16, 8);
  std::vector<std::int32_t> x, y, z;
  std::set<std::int64_t> starts;
  for (int k = 0; k < 20; ++k) {
    a.next(x);
    b.next(y);
    c.next(z);
    ASSERT_EQ(x, y) << "same seed, batch " << k;
    ASSERT_EQ(x.size(), 4u * 16u);
    for (int w = 0; w < 4; ++w) {
      const std::int64_t start = x[w * 16];  // token value = position here (< 256)
      for (int t = 1; t < 16; ++t) ASSERT_EQ(x[w * 16 + t], (start + t) % 256) << "a window is consecutive tokens";
      starts.insert(start);
    }
  }
  EXPECT_GT(starts.size(), 40u);  // windows are spread over the data
  a.next(x);
  c.next(z);
  EXPECT_NE(x, z);  // another seed, another order

  // The data position: a sampler restored from a saved state continues the same sequence.
  const SamplerState saved = a.state();
  EXPECT_EQ(saved.batches, 21);
  std::vector<std::int32_t> next1, next2;
  a.next(next1);
  BatchSampler d(tokens, 4, 16, 7);
  d.restore(saved);
  d.next(next2);
  EXPECT_EQ(next1, next2);
}

TEST(TrainData, WindowsStayInsideTheTrainingPart) {
  std::vector<std::int32_t> train(40);
  for (int i = 0; i < 40; ++i) train[i] = i;
  BatchSampler s(train, 8, 40, 3);  // seq_len == n: the only window is the whole part
  std::vector<std::int32_t> x;
  s.next(x);
  for (int w = 0; w < 8; ++w) EXPECT_EQ(x[w * 40 + 39], 39);
  BatchSampler t(train, 8, 10, 3);
  for (int k = 0; k < 50; ++k) {
    for (auto o : t.next_offsets()) ASSERT_TRUE(o >= 0 && o + 10 <= 40) << o;
  }
}

TEST(TrainData, ErrorsNameTheFileOrFlag) {
  const auto dir = test::temp_dir("data-errors");
  const std::string empty = write_file(dir, "empty.txt", "");
  EXPECT_NE(error_of([&] { (void)load_split(empty, byte_encoder()); }).find("empty.txt"), std::string::npos);
  const std::string missing = (dir / "missing.txt").string();
  EXPECT_NE(error_of([&] { (void)load_split(missing, byte_encoder()); }).find("missing.txt"), std::string::npos);
  const std::string one = write_file(dir, "one.txt", "x");
  EXPECT_NE(error_of([&] { (void)load_split(one, byte_encoder()); }).find("one.txt"), std::string::npos);
  std::vector<std::int32_t> tokens(10, 1);
  const std::string e = error_of([&] { BatchSampler s(tokens, 1, 11, 0); });
  EXPECT_NE(e.find("--seq-len"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
  EXPECT_NE(error_of([&] { BatchSampler s(tokens, 0, 4, 0); }).find("--batch"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tinymamba::train
