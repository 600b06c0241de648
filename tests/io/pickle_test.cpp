// The restricted unpickler (io/pickle.hpp): what a state_dict pickle may contain, and every way a hostile pickle
// is refused — with a one-line Error naming the pickle, never a crash, a hang, unbounded memory or executed code.
#include "tinymamba/io/pickle.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "test_paths.hpp"
#include "torch_bin_builders.hpp"

namespace tinymamba {
namespace {

using test::PickleWriter;
using test::TensorSpec;
using test::throws_error;

const std::string kName = "test.pkl";

PickledStateDict unpickle(const std::string& bytes) { return unpickle_state_dict(test::as_bytes(bytes), kName); }

// Fails unless unpickling `bytes` throws an Error naming the pickle and containing `part`.
::testing::AssertionResult refused(const std::string& bytes, const std::string& part) {
  return throws_error([&] { (void)unpickle(bytes); }, {kName + ": ", part});
}

// A pickle that starts a state_dict: PROTO 2, OrderedDict(), MARK — the caller adds items, SETITEMS and STOP.
PickleWriter state_dict_start() {
  PickleWriter w;
  w.proto(2).global("collections", "OrderedDict").empty_tuple().reduce().mark();
  return w;
}

TEST(Pickle, ReadsAStateDictAsTorchSaveWritesIt) {
  const std::string bytes = test::state_dict_pickle({
      {.name = "w", .size = {3, 4}, .stride = {4, 1}, .storage_numel = 12, .storage_key = "0"},
      {.name = "b", .size = {4}, .stride = {1}, .storage_numel = 5, .storage_key = "1",
       .storage_type = "HalfStorage", .offset = 1},
      {.name = "tied", .size = {3, 4}, .stride = {4, 1}, .storage_numel = 12, .storage_key = "0"},
  });
  const PickledStateDict sd = unpickle(bytes);
  ASSERT_EQ(sd.storages.size(), 2u);  // "0" is declared twice but is one storage
  EXPECT_EQ(sd.storages[0].key, "0");
  EXPECT_EQ(sd.storages[0].dtype, DType::F32);
  EXPECT_EQ(sd.storages[0].numel, 12);
  EXPECT_EQ(sd.storages[1].key, "1");
  EXPECT_EQ(sd.storages[1].dtype, DType::F16);
  ASSERT_EQ(sd.tensors.size(), 3u);
  const PickledTensor& b = sd.tensors.at("b");
  EXPECT_EQ(b.storage, 1u);
  EXPECT_EQ(b.offset, 1);
  EXPECT_EQ(b.shape, Shape({4}));
  EXPECT_EQ(b.stride, Shape({1}));
  EXPECT_EQ(sd.tensors.at("tied").storage, sd.tensors.at("w").storage);
  EXPECT_EQ(sd.tensors.at("w").shape, Shape({3, 4}));
}

TEST(Pickle, MapsEveryStorageType) {
  const std::pair<const char*, DType> types[] = {
      {"FloatStorage", DType::F32}, {"HalfStorage", DType::F16}, {"BFloat16Storage", DType::BF16},
      {"DoubleStorage", DType::F64}, {"LongStorage", DType::I64}, {"IntStorage", DType::I32},
      {"ShortStorage", DType::I16}, {"CharStorage", DType::I8}, {"ByteStorage", DType::U8},
      {"BoolStorage", DType::BOOL}};
  for (const auto& [type, dtype] : types) {
    const PickledStateDict sd = unpickle(test::state_dict_pickle(
        {{.name = "t", .size = {2}, .stride = {1}, .storage_numel = 2, .storage_type = type}}));
    EXPECT_EQ(sd.storages.at(0).dtype, dtype) << type;
  }
  EXPECT_TRUE(refused(test::state_dict_pickle({{.name = "t", .size = {2}, .stride = {1}, .storage_numel = 2,
                                                .storage_type = "ComplexFloatStorage"}}),
                      "forbidden global 'torch.ComplexFloatStorage'"));
}

// torch.save's own pickle also memoizes, ends with BUILD of the dict's _metadata, and passes Parameters through
// _rebuild_parameter; protocol 4 adds FRAME, MEMOIZE, SHORT_BINUNICODE and STACK_GLOBAL.
TEST(Pickle, AcceptsMemoMetadataParametersAndProtocol4) {
  PickleWriter w;
  w.proto(4).op(0x95).raw(test::le(0, 8));  // FRAME of 0 bytes
  w.op(0x8c).raw("\x0b").raw("collections").op(0x94);  // SHORT_BINUNICODE, MEMOIZE -> memo 0
  w.op(0x8c).raw("\x0b").raw("OrderedDict").op(0x94);  // memo 1
  w.op(0x93).op(0x94).empty_tuple().reduce().put(4000).mark();  // STACK_GLOBAL -> memo 2; the dict -> memo 4000
  w.str("param").global("torch._utils", "_rebuild_parameter").mark();
  test::tensor(w, {.name = "", .size = {2, 2}, .stride = {1, 2}, .storage_numel = 4});
  w.boolean(true).get(2).empty_tuple().reduce().tuple().reduce();
  w.setitems();
  // BUILD with {'_metadata': OrderedDict({'': {'version': 1}})}
  w.empty_dict().str("_metadata").get(2).empty_tuple().reduce().mark().str("").empty_dict().str("version").integer(1);
  w.setitem().setitems().setitem().op('b');
  const PickledStateDict sd = unpickle(w.stop().bytes());
  ASSERT_EQ(sd.tensors.size(), 1u);
  EXPECT_EQ(sd.tensors.at("param").stride, Shape({1, 2}));
}

TEST(Pickle, ReadsEveryIntegerEncoding) {
  const std::int64_t offsets[] = {0, 255, 256, 65535, 65536, -1, -129, INT32_MIN, INT32_MAX + std::int64_t{1},
                                  -(std::int64_t{1} << 40), INT64_MAX, INT64_MIN};
  for (const std::int64_t offset : offsets) {
    const PickledStateDict sd = unpickle(test::state_dict_pickle(
        {{.name = "t", .size = {1}, .stride = {1}, .storage_numel = 1, .offset = offset}}));
    EXPECT_EQ(sd.tensors.at("t").offset, offset);
  }
  // A LONG1 of 0 bytes is 0; 9 bytes do not fit.
  PickleWriter zero = state_dict_start();
  zero.str("t").global("torch._utils", "_rebuild_tensor_v2").mark();
  test::storage(zero, "FloatStorage", "0", 1).op(0x8a).op(0).ints({1}).ints({1}).boolean(false);
  zero.global("collections", "OrderedDict").empty_tuple().reduce().tuple().reduce().setitems().stop();
  EXPECT_EQ(unpickle(zero.bytes()).tensors.at("t").offset, 0);
  PickleWriter nine;
  nine.proto(2).op(0x8a).op(9).raw(std::string(9, '\x01'));
  EXPECT_TRUE(refused(nine.stop().bytes(), "LONG1 integer of 9 bytes does not fit in 64 bits"));
}

TEST(Pickle, RefusesForbiddenGlobals) {
  const std::pair<const char*, const char*> globals[] = {
      {"os", "system"}, {"posix", "system"}, {"builtins", "eval"}, {"builtins", "exec"}, {"__builtin__", "eval"},
      {"subprocess", "Popen"}, {"subprocess", "check_output"}, {"torch._utils", "_rebuild_tensor"},
      {"torch", "load"}, {"torch", "Tensor"}, {"collections", "defaultdict"}, {"numpy.core.multiarray", "_reconstruct"},
      {"torch._utils", "_rebuild_tensor_v2 "}, {"collections ", "OrderedDict"}};
  for (const auto& [module, name] : globals) {
    const std::string qualified = std::string("forbidden global '") + module + "." + name + "'";
    PickleWriter via_global;
    via_global.proto(2).global(module, name);
    EXPECT_TRUE(refused(via_global.bytes(), qualified)) << qualified;
    PickleWriter via_stack;  // protocol 4 names the global with two strings on the stack
    via_stack.proto(4).str(module).str(name).op(0x93);
    EXPECT_TRUE(refused(via_stack.bytes(), qualified)) << qualified;
  }
}

// os.system('touch <file>') must be refused before anything could run it: the file must not appear.
TEST(Pickle, NeverExecutesAForbiddenCall) {
  const auto marker = test::temp_dir("pickle-exec") / "pwned";
  PickleWriter w;
  w.proto(2).global("os", "system").mark().str("touch " + marker.string()).tuple().reduce().stop();
  EXPECT_TRUE(refused(w.bytes(), "forbidden global 'os.system'"));
  EXPECT_FALSE(std::filesystem::exists(marker));
  std::filesystem::remove_all(marker.parent_path());
}

TEST(Pickle, ReduceCallsOnlyTheAllowedFunctionsWithTheRightArguments) {
  PickleWriter storage_call;  // a storage type is allowed as a name, not as a call
  storage_call.proto(2).global("torch", "FloatStorage").mark().integer(10).tuple().reduce();
  EXPECT_TRUE(refused(storage_call.bytes(), "REDUCE calls torch.FloatStorage, which may not be called"));

  PickleWriter string_call;
  string_call.proto(2).str("os.system").empty_tuple().reduce();
  EXPECT_TRUE(refused(string_call.bytes(), "REDUCE calls a str"));

  PickleWriter dict_args;  // OrderedDict([('a', 1)]) is not how pickle writes a dict
  dict_args.proto(2).global("collections", "OrderedDict").mark().empty_list().tuple().reduce();
  EXPECT_TRUE(refused(dict_args.bytes(), "collections.OrderedDict is called with arguments tuple (list)"));

  PickleWriter not_a_tuple;
  not_a_tuple.proto(2).global("collections", "OrderedDict").empty_list().reduce();
  EXPECT_TRUE(refused(not_a_tuple.bytes(), "as the arguments, not a tuple"));

  // _rebuild_tensor_v2 with a string where the storage goes, with hooks, with metadata, with too few arguments.
  PickleWriter bad_storage = state_dict_start();
  bad_storage.str("t").global("torch._utils", "_rebuild_tensor_v2").mark().str("storage").integer(0);
  bad_storage.ints({1}).ints({1}).boolean(false).empty_dict().tuple().reduce();
  EXPECT_TRUE(refused(bad_storage.bytes(), "the storage is a str, not a storage"));

  PickleWriter hooks = state_dict_start();
  hooks.str("t").global("torch._utils", "_rebuild_tensor_v2").mark();
  test::storage(hooks, "FloatStorage", "0", 1).integer(0).ints({1}).ints({1}).boolean(false);
  hooks.empty_dict().str("k").integer(1).setitem().tuple().reduce();
  EXPECT_TRUE(refused(hooks.bytes(), "backward_hooks must be an empty dict"));
  PickleWriter metadata = state_dict_start();
  metadata.str("t").global("torch._utils", "_rebuild_tensor_v2").mark();
  test::storage(metadata, "FloatStorage", "0", 1).integer(0).ints({1}).ints({1}).boolean(false);
  metadata.empty_dict().empty_dict().str("conj").boolean(true).setitem().tuple().reduce();
  EXPECT_TRUE(refused(metadata.bytes(), "tensor metadata must be None or an empty dict"));
  PickleWriter few = state_dict_start();
  few.str("t").global("torch._utils", "_rebuild_tensor_v2").mark();
  test::storage(few, "FloatStorage", "0", 1).integer(0).tuple().reduce();
  EXPECT_TRUE(refused(few.bytes(), "takes 6 or 7 arguments, not 2"));
  PickleWriter float_size = state_dict_start();
  float_size.str("t").global("torch._utils", "_rebuild_tensor_v2").mark();
  test::storage(float_size, "FloatStorage", "0", 1).integer(0).mark().op('G').raw(std::string(8, '\0')).tuple();
  float_size.ints({1}).boolean(false).empty_dict().tuple().reduce();
  EXPECT_TRUE(refused(float_size.bytes(), "the size holds a float"));

  PickleWriter parameter = state_dict_start();  // _rebuild_parameter of something that is not a tensor
  parameter.str("p").global("torch._utils", "_rebuild_parameter").mark().integer(1).boolean(false).empty_dict();
  parameter.tuple().reduce();
  EXPECT_TRUE(refused(parameter.bytes(), "_rebuild_parameter needs (tensor, bool, empty backward_hooks dict)"));
}

TEST(Pickle, RefusesUnknownAndUnsupportedOpcodesByName) {
  const std::pair<std::string, std::string> cases[] = {
      {"\xff", "unknown pickle opcode 0xff"},
      {std::string(1, '\0'), "unknown pickle opcode 0x00"},
      {"i", "unsupported pickle opcode INST (0x69)"},
      {"o", "unsupported pickle opcode OBJ (0x6f)"},
      {"\x81", "unsupported pickle opcode NEWOBJ (0x81)"},
      {"\x82\x01", "unsupported pickle opcode EXT1 (0x82)"},
      {"2", "unsupported pickle opcode DUP (0x32)"},
      {"0", "unsupported pickle opcode POP (0x30)"},
      {"P1\n", "unsupported pickle opcode PERSID (0x50)"},
      {"\x8b", "unsupported pickle opcode LONG4 (0x8b)"},
      {"C\x01x", "unsupported pickle opcode SHORT_BINBYTES (0x43)"},
      {"I1\n", "unsupported pickle opcode INT (0x49)"},
      {"S'x'\n", "unsupported pickle opcode STRING (0x53)"},
      {"\x8f", "unsupported pickle opcode EMPTY_SET (0x8f)"},
  };
  for (const auto& [op, message] : cases) {
    PickleWriter w;
    w.proto(2).raw(op);
    EXPECT_TRUE(refused(w.bytes(), message + " (at byte 2)")) << message;
  }
  PickleWriter future;
  future.proto(6);
  EXPECT_TRUE(refused(future.bytes(), "pickle protocol 6 is newer than 5"));
}

TEST(Pickle, RefusesTruncatedAndUnterminatedPickles) {
  const std::string good = test::state_dict_pickle({{.name = "t", .size = {2}, .stride = {1}, .storage_numel = 2}});
  ASSERT_NO_THROW((void)unpickle(good));
  for (std::size_t cut = 0; cut < good.size(); ++cut)
    EXPECT_TRUE(throws_error([&] { (void)unpickle(good.substr(0, cut)); }, {kName + ": "})) << "cut at " << cut;
  EXPECT_TRUE(refused(good.substr(0, good.size() - 1), "the pickle ends without STOP"));
  EXPECT_TRUE(refused("", "the pickle ends without STOP (at byte 0)"));
  EXPECT_TRUE(refused(good + "N", "1 bytes follow STOP"));
  PickleWriter leftover;
  leftover.proto(2).op('N').empty_dict().stop();
  EXPECT_TRUE(refused(leftover.bytes(), "STOP leaves 1 values and 0 MARKs behind"));
}

TEST(Pickle, RefusesStackUnderflow) {
  const std::string cases[] = {
      "R",                  // REDUCE on an empty stack
      "}Ns",                // SETITEM with one item above the dict
      "N\x86",              // TUPLE2 of one item
      "}(Ns",               // SETITEM below a MARK: the MARK hides the dict
      "N(R",                // REDUCE across a MARK
      "Q",                  // BINPERSID of nothing
      ".",                  // STOP on an empty stack
  };
  for (const std::string& body : cases) {
    PickleWriter w;
    w.proto(2).raw(body);
    EXPECT_TRUE(refused(w.bytes(), "stack underflow")) << body;
  }
  PickleWriter no_mark;
  no_mark.proto(2).op('N').tuple();
  EXPECT_TRUE(refused(no_mark.bytes(), "no MARK to pop to"));
  PickleWriter odd;
  odd.proto(2).empty_dict().mark().str("k").setitems();
  EXPECT_TRUE(refused(odd.bytes(), "SETITEMS with an odd number (1) of keys and values"));
}

TEST(Pickle, TopLevelMustBeADictOfTensorsWithUniqueStringKeys) {
  PickleWriter list;
  list.proto(2).empty_list().stop();
  EXPECT_TRUE(refused(list.bytes(), "the pickle holds a list, not a state_dict (a dict of tensors)"));

  PickleWriter lone;  // torch.save(tensor): a tensor, not a dict
  test::tensor(lone.proto(2), {.size = {1}, .stride = {1}, .storage_numel = 1}).stop();
  EXPECT_TRUE(refused(lone.bytes(), "the pickle holds a tensor, not a state_dict"));

  PickleWriter nested = state_dict_start();  // {'model': {...}} as training checkpoints do
  nested.str("model").empty_dict().setitems().stop();
  EXPECT_TRUE(refused(nested.bytes(), "state_dict entry 'model' is a dict, not a tensor"));

  PickleWriter number = state_dict_start();
  number.str("epoch").integer(3).setitems().stop();
  EXPECT_TRUE(refused(number.bytes(), "state_dict entry 'epoch' is a int, not a tensor"));

  PickleWriter int_key = state_dict_start();
  test::tensor(int_key.integer(7), {.size = {1}, .stride = {1}, .storage_numel = 1}).setitems().stop();
  EXPECT_TRUE(refused(int_key.bytes(), "a dict key is a int, not a str"));

  const std::string twice = test::state_dict_pickle({{.name = "w", .size = {1}, .stride = {1}, .storage_numel = 1},
                                                     {.name = "w", .size = {1}, .stride = {1}, .storage_numel = 1}});
  EXPECT_TRUE(refused(twice, "state_dict key 'w' appears twice"));

  const std::string newline_key = test::state_dict_pickle({{.name = "a\nb", .size = {1}, .stride = {1}, .storage_numel = 1},
                                                           {.name = "a\nb", .size = {1}, .stride = {1}, .storage_numel = 1}});
  EXPECT_TRUE(refused(newline_key, "state_dict key 'a\\x0ab' appears twice"));  // escaped: the message stays one line
}

TEST(Pickle, PersistentIdsMustNameStoragesConsistently) {
  PickleWriter wrong_tag;
  wrong_tag.proto(2).mark().str("module").global("torch", "FloatStorage").str("0").str("cpu").integer(1).tuple();
  EXPECT_TRUE(refused(wrong_tag.binpersid().bytes(), "does not read ('storage', torch.<type>Storage"));
  PickleWriter short_pid;
  short_pid.proto(2).mark().str("storage").tuple().binpersid();
  EXPECT_TRUE(refused(short_pid.bytes(), "a persistent id is a tuple (str), not"));
  PickleWriter negative;
  negative.proto(2).mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(-4).tuple();
  EXPECT_TRUE(refused(negative.binpersid().bytes(), "storage '0' has a negative size (-4)"));

  const std::string dtype_clash = test::state_dict_pickle({
      {.name = "a", .size = {2}, .stride = {1}, .storage_numel = 2},
      {.name = "b", .size = {2}, .stride = {1}, .storage_numel = 2, .storage_type = "HalfStorage"}});
  EXPECT_TRUE(refused(dtype_clash, "storage '0' is declared as a FloatStorage of 2 elements and again as a HalfStorage of 2"));
  const std::string numel_clash = test::state_dict_pickle({{.name = "a", .size = {2}, .stride = {1}, .storage_numel = 2},
                                                           {.name = "b", .size = {2}, .stride = {1}, .storage_numel = 3}});
  EXPECT_TRUE(refused(numel_clash, "declared as a FloatStorage of 2 elements and again as a FloatStorage of 3"));
}

TEST(Pickle, BoundsDimensionsStringsAndLengths) {
  std::vector<std::int64_t> seventeen(17, 1);
  EXPECT_TRUE(refused(test::state_dict_pickle({{.name = "t", .size = seventeen, .stride = seventeen, .storage_numel = 1}}),
                      "the size has 17 dimensions (at most 16)"));

  PickleWriter long_string;
  long_string.proto(2).str(std::string(kMaxPickleString + 1, 'x'));
  EXPECT_TRUE(refused(long_string.bytes(), "a string of 4097 bytes is longer than the limit of 4096"));
  PickleWriter lying_length;  // BINUNICODE claiming 4 GiB: refused before anything is read or allocated
  lying_length.proto(2).op('X').raw(test::le(0xffffffff, 4)).raw("abc");
  EXPECT_TRUE(refused(lying_length.bytes(), "a string of 4294967295 bytes is longer than the limit"));
  PickleWriter short_string;
  short_string.proto(2).op('X').raw(test::le(100, 4)).raw("abc");
  EXPECT_TRUE(refused(short_string.bytes(), "a string needs 100 bytes but the pickle has 3 left"));
  PickleWriter frame;
  frame.proto(4).op(0x95).raw(test::le(~0ull, 8));
  EXPECT_TRUE(refused(frame.bytes(), "a FRAME of 18446744073709551615 bytes runs past the end"));
  PickleWriter long_line;
  long_line.proto(2).op('c').raw(std::string(300, 'm'));
  EXPECT_TRUE(refused(long_line.bytes(), "GLOBAL's module is not a line of at most 256 bytes"));
}

// The memo is a hash map: LONG_BINPUT 4294967295 costs one entry, not 2^32 slots.
TEST(Pickle, MemoIndicesAreSparse) {
  PickleWriter w;
  w.proto(2).global("collections", "OrderedDict").put(0xffffffff).empty_tuple().reduce().mark();
  test::tensor(w.str("t"), {.size = {1}, .stride = {1}, .storage_numel = 1});
  w.put(0xfffffffe).str("u").get(0xfffffffe).setitems().stop();  // "u" is the same tensor as "t"
  const PickledStateDict sd = unpickle(w.bytes());
  EXPECT_EQ(sd.tensors.size(), 2u);

  PickleWriter unset;
  unset.proto(2).get(0xffffffff);
  EXPECT_TRUE(refused(unset.bytes(), "memo entry 4294967295 is read but was never stored"));
  PickleWriter unset_short;
  unset_short.proto(2).get(3);
  EXPECT_TRUE(refused(unset_short.bytes(), "memo entry 3 is read but was never stored"));
}

TEST(Pickle, BoundsNesting) {
  PickleWriter tuples;  // ((((...)))) a million deep, one byte per level
  tuples.proto(2).empty_tuple();
  for (int i = 0; i < 1'000'000; ++i) tuples.op(0x85);
  EXPECT_TRUE(refused(tuples.bytes(), "values are nested deeper than 64 levels"));

  PickleWriter marks;
  marks.proto(2).raw(std::string(1'000'000, '('));
  EXPECT_TRUE(refused(marks.bytes(), "more than 64 MARKs are open"));

  PickleWriter lists;  // [[[[...]]]] built bottom-up with APPEND
  lists.proto(2);
  for (int i = 0; i < 100; ++i) lists.empty_list();
  for (int i = 0; i < 99; ++i) lists.op('a');
  EXPECT_TRUE(refused(lists.bytes(), "values are nested deeper than 64 levels"));
}

// Each opcode makes at most one value; values, stack entries and memo entries are each capped.
TEST(Pickle, CapsValuesStackAndMemo) {
  PickleWriter values;
  values.proto(2).raw(std::string(kMaxPickleValues + 1, ')'));
  EXPECT_TRUE(refused(values.bytes(), "the pickle makes more than 1048576 values"));
  PickleWriter stack;  // BINGET pushes without making a value
  stack.proto(2).op('N').put(0);
  for (std::size_t i = 0; i <= kMaxPickleValues; ++i) stack.get(0);
  EXPECT_TRUE(refused(stack.bytes(), "the stack grows beyond 1048576 values"));
  PickleWriter memo;
  memo.proto(2).op('N');
  for (std::uint32_t i = 0; i <= kMaxPickleValues; ++i) memo.op('r').raw(test::le(i, 4));
  EXPECT_TRUE(refused(memo.bytes(), "the memo grows beyond 1048576 entries"));
}

// A list or dict cannot change once inside another container, so nothing can contain itself.
TEST(Pickle, RefusesRecursiveStructures) {
  PickleWriter self;
  self.proto(2).empty_list().put(0).get(0).op('a');
  EXPECT_TRUE(refused(self.bytes(), "a list would contain itself"));
  PickleWriter later;
  later.proto(2).empty_list().put(0).op(0x85).get(0).op('N').op('a');
  EXPECT_TRUE(refused(later.bytes(), "a list is changed after being put inside another container"));
  PickleWriter dict;
  dict.proto(2).empty_dict().put(0).empty_list().str("k").get(0).setitem();  // list is not a dict
  EXPECT_TRUE(refused(dict.bytes(), "SETITEM on a list, not a dict"));
  PickleWriter build;
  build.proto(2).empty_list().empty_dict().op('b');
  EXPECT_TRUE(refused(build.bytes(), "BUILD on a list with a dict"));
}

// Random byte flips of a valid pickle: each result is a state_dict or an Error, never anything else.
TEST(Pickle, SurvivesRandomCorruption) {
  const std::string good = test::state_dict_pickle({
      {.name = "backbone.embedding.weight", .size = {4, 3}, .stride = {3, 1}, .storage_numel = 12},
      {.name = "lm_head.weight", .size = {4, 3}, .stride = {3, 1}, .storage_numel = 12},
      {.name = "x", .size = {3, 4}, .stride = {1, 3}, .storage_numel = 12, .storage_key = "1"}});
  const unsigned seed = 1234;
  std::mt19937 rng(seed);
  int refusals = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng() & 0xff);
    try {
      (void)unpickle(bytes);
    } catch (const Error& e) {
      ++refusals;
      ASSERT_EQ(std::string(e.what()).rfind(kName + ": ", 0), 0u) << "seed " << seed << " trial " << trial;
    }
  }
  EXPECT_GT(refusals, 1000) << "seed " << seed;
}

}  // namespace
}  // namespace tinymamba
