#include "tinymamba/io/pickle.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <deque>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "tinymamba/core/error.hpp"
#include "tinymamba/io/untrusted.hpp"

namespace tinymamba {
namespace {

// The opcodes this unpickler executes, named as in CPython's Lib/pickletools.py.
enum class Op : std::uint8_t {
  PROTO = 0x80, FRAME = 0x95, STOP = '.', MARK = '(',
  NONE = 'N', NEWTRUE = 0x88, NEWFALSE = 0x89,
  BININT = 'J', BININT1 = 'K', BININT2 = 'M', LONG1 = 0x8a, BINFLOAT = 'G',
  BINUNICODE = 'X', SHORT_BINUNICODE = 0x8c,
  EMPTY_TUPLE = ')', TUPLE = 't', TUPLE1 = 0x85, TUPLE2 = 0x86, TUPLE3 = 0x87,
  EMPTY_LIST = ']', APPEND = 'a', APPENDS = 'e',
  EMPTY_DICT = '}', SETITEM = 's', SETITEMS = 'u',
  BINPUT = 'q', LONG_BINPUT = 'r', MEMOIZE = 0x94, BINGET = 'h', LONG_BINGET = 'j',
  GLOBAL = 'c', STACK_GLOBAL = 0x93, BINPERSID = 'Q', REDUCE = 'R', BUILD = 'b',
};

// Every opcode of protocols 0-5, so that a refused one is named in the error.
struct OpcodeName {
  std::uint8_t code;
  std::string_view name;
};
constexpr OpcodeName kOpcodeNames[] = {
    {'(', "MARK"}, {'.', "STOP"}, {'0', "POP"}, {'1', "POP_MARK"}, {'2', "DUP"}, {'F', "FLOAT"}, {'I', "INT"},
    {'J', "BININT"}, {'K', "BININT1"}, {'L', "LONG"}, {'M', "BININT2"}, {'N', "NONE"}, {'P', "PERSID"},
    {'Q', "BINPERSID"}, {'R', "REDUCE"}, {'S', "STRING"}, {'T', "BINSTRING"}, {'U', "SHORT_BINSTRING"},
    {'V', "UNICODE"}, {'X', "BINUNICODE"}, {'a', "APPEND"}, {'b', "BUILD"}, {'c', "GLOBAL"}, {'d', "DICT"},
    {'}', "EMPTY_DICT"}, {'e', "APPENDS"}, {'g', "GET"}, {'h', "BINGET"}, {'i', "INST"}, {'j', "LONG_BINGET"},
    {'l', "LIST"}, {']', "EMPTY_LIST"}, {'o', "OBJ"}, {'p', "PUT"}, {'q', "BINPUT"}, {'r', "LONG_BINPUT"},
    {'s', "SETITEM"}, {'t', "TUPLE"}, {')', "EMPTY_TUPLE"}, {'u', "SETITEMS"}, {'G', "BINFLOAT"},
    {0x80, "PROTO"}, {0x81, "NEWOBJ"}, {0x82, "EXT1"}, {0x83, "EXT2"}, {0x84, "EXT4"}, {0x85, "TUPLE1"},
    {0x86, "TUPLE2"}, {0x87, "TUPLE3"}, {0x88, "NEWTRUE"}, {0x89, "NEWFALSE"}, {0x8a, "LONG1"}, {0x8b, "LONG4"},
    {'B', "BINBYTES"}, {'C', "SHORT_BINBYTES"}, {0x8c, "SHORT_BINUNICODE"}, {0x8d, "BINUNICODE8"},
    {0x8e, "BINBYTES8"}, {0x8f, "EMPTY_SET"}, {0x90, "ADDITEMS"}, {0x91, "FROZENSET"}, {0x92, "NEWOBJ_EX"},
    {0x93, "STACK_GLOBAL"}, {0x94, "MEMOIZE"}, {0x95, "FRAME"}, {0x96, "BYTEARRAY8"}, {0x97, "NEXT_BUFFER"},
    {0x98, "READONLY_BUFFER"},
};

std::string describe_opcode(std::uint8_t code) {
  constexpr char kHex[] = "0123456789abcdef";
  const std::string hex = {'0', 'x', kHex[code >> 4], kHex[code & 15]};
  for (const OpcodeName& op : kOpcodeNames)
    if (op.code == code) return cat("unsupported pickle opcode ", op.name, " (", hex, ")");
  return cat("unknown pickle opcode ", hex);
}

// torch's legacy storage classes, as the persistent id names them (torch.<name>).
struct StorageType {
  std::string_view name;
  DType dtype;
};
constexpr StorageType kStorageTypes[] = {
    {"FloatStorage", DType::F32}, {"HalfStorage", DType::F16}, {"BFloat16Storage", DType::BF16},
    {"DoubleStorage", DType::F64}, {"LongStorage", DType::I64}, {"IntStorage", DType::I32},
    {"ShortStorage", DType::I16}, {"CharStorage", DType::I8}, {"ByteStorage", DType::U8},
    {"BoolStorage", DType::BOOL},
};

std::string_view storage_type_name(DType dtype) {
  for (const StorageType& s : kStorageTypes)
    if (s.dtype == dtype) return s.name;
  return "?";
}

// The globals the allowlist admits.
enum class Global : std::uint8_t { OrderedDict, RebuildTensorV2, RebuildParameter, StorageType };

enum class Kind : std::uint8_t { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Storage, Tensor };

// One value on the unpickler's stack. Containers point at other values; all values live in the unpickler's arena.
// Kept small (64 bytes here), since a hostile pickle can make a million of them.
struct Value {
  Kind kind = Kind::None;
  bool nested = false;        // sits inside a container; a list or dict may then no longer change
  Global global{};            // Global
  DType storage_dtype{};      // Global::StorageType
  std::uint32_t depth = 0;    // levels of containers this value spans (0 for a scalar; at most kMaxPickleNesting)
  std::int64_t integer = 0;   // Bool, Int; Storage and Tensor: index into the unpickler's storages or tensors
  double real = 0;            // Float
  std::string_view text;      // String: a view into the pickle
  std::vector<Value*> items;  // Tuple, List; Dict: key, value, key, value, ...
};

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
  }
  return "?";
}

std::string global_name(const Value& v) {
  switch (v.global) {
    case Global::OrderedDict: return "collections.OrderedDict";
    case Global::RebuildTensorV2: return "torch._utils._rebuild_tensor_v2";
    case Global::RebuildParameter: return "torch._utils._rebuild_parameter";
    case Global::StorageType: return cat("torch.", storage_type_name(v.storage_dtype));
  }
  return "?";
}

// "int", "global torch.FloatStorage", "tuple (str, int)": what a value is, for error messages.
std::string describe(const Value& v) {
  if (v.kind == Kind::Global) return "global " + global_name(v);
  if (v.kind != Kind::Tuple) return std::string(kind_name(v.kind));
  std::string s = "tuple (";
  for (std::size_t i = 0; i < v.items.size() && i < 8; ++i) s += cat(i ? ", " : "", kind_name(v.items[i]->kind));
  return s + (v.items.size() > 8 ? ", ...)" : ")");
}

bool is_empty_dict(const Value& v) { return v.kind == Kind::Dict && v.items.empty(); }

class Unpickler {
 public:
  Unpickler(std::span<const std::byte> pickle, const std::string& name) : in_(pickle), name_(name) {}
  PickledStateDict run();

 private:
  template <class... Args>
  [[noreturn]] void error(Args&&... args) const {
    fail(name_, ": ", std::forward<Args>(args)..., " (at byte ", op_at_, ")");
  }

  // Reading the input.
  std::span<const std::byte> take(std::uint64_t size, std::string_view what);
  template <class T>
  T read_le(std::string_view what) {
    return load_le<T>(take(sizeof(T), what).data());
  }
  std::int64_t read_long1();
  std::string_view read_line(std::string_view what);

  // Values (made in the arena), the stack, the marks and the memo.
  Value* make(Kind kind);
  Value* make_integer(Kind kind, std::int64_t integer);  // Bool or Int
  Value* make_string(std::uint64_t size);               // reads `size` bytes
  void push(Value* v);
  std::size_t frame_start() const { return marks_.empty() ? 0 : marks_.back(); }
  Value* pop();
  Value* top();
  std::vector<Value*> pop_n(std::size_t n);
  std::vector<Value*> pop_to_mark();
  void memo_put(std::uint64_t index);
  Value* memo_get(std::uint64_t index);

  // Containers.
  Value* make_tuple(const std::vector<Value*>& items);
  void nest(Value* container, Value* child);
  void append(Value* list, Value* item);
  void set_item(Value* dict, Value* key, Value* value);

  // The allowlist: globals, persistent ids, calls.
  Value* make_global(std::string_view module, std::string_view name);
  Value* load_persistent(const Value& pid);
  Value* reduce(const Value& callable, const Value& args);
  Value* rebuild_tensor(const Value& args);
  void expect(const Value& v, Kind kind, std::string_view what) const;
  PickledStateDict finish(const Value& result);

  std::span<const std::byte> in_;
  const std::string& name_;
  std::uint64_t pos_ = 0;
  std::uint64_t op_at_ = 0;  // where the current opcode starts, for messages
  std::deque<Value> arena_;  // a deque never moves its elements, so Value* stay valid
  std::vector<Value*> stack_;
  std::vector<std::size_t> marks_;  // stack_.size() at each open MARK
  std::unordered_map<std::uint64_t, Value*> memo_;
  std::vector<PickledStorage> storages_;
  std::map<std::string_view, std::size_t> storage_index_;  // key -> storages_ index
  std::vector<PickledTensor> tensors_;
};

std::span<const std::byte> Unpickler::take(std::uint64_t size, std::string_view what) {
  const std::uint64_t left = in_.size() - pos_;
  if (size > left) error(what, " needs ", size, " bytes but the pickle has ", left, " left");
  const auto out = in_.subspan(static_cast<std::size_t>(pos_), static_cast<std::size_t>(size));
  pos_ += size;
  return out;
}

// LONG1: a length byte, then that many bytes of little-endian two's complement.
std::int64_t Unpickler::read_long1() {
  const std::uint8_t size = read_le<std::uint8_t>("LONG1");
  if (size > 8) error("a LONG1 integer of ", int{size}, " bytes does not fit in 64 bits");
  const auto bytes = take(size, "LONG1");
  std::uint64_t bits = 0;
  for (std::size_t i = size; i-- > 0;) bits = (bits << 8) | static_cast<std::uint8_t>(bytes[i]);
  if (size > 0 && size < 8 && (static_cast<std::uint8_t>(bytes[size - 1]) & 0x80)) bits |= ~0ull << (8 * size);
  return static_cast<std::int64_t>(bits);
}

// GLOBAL's operands are two newline-terminated lines (module, then name).
std::string_view Unpickler::read_line(std::string_view what) {
  constexpr std::uint64_t kMaxLine = 256;
  const auto* begin = reinterpret_cast<const char*>(in_.data() + pos_);
  const std::string_view window(begin, static_cast<std::size_t>(std::min(in_.size() - pos_, kMaxLine + 1)));
  const std::size_t newline = window.find('\n');
  if (newline == std::string_view::npos) error("GLOBAL's ", what, " is not a line of at most ", kMaxLine, " bytes");
  pos_ += newline + 1;
  return window.substr(0, newline);
}

Value* Unpickler::make(Kind kind) {
  if (arena_.size() >= kMaxPickleValues) error("the pickle makes more than ", kMaxPickleValues, " values");
  Value& v = arena_.emplace_back();
  v.kind = kind;
  return &v;
}

Value* Unpickler::make_integer(Kind kind, std::int64_t integer) {
  Value* v = make(kind);
  v->integer = integer;
  return v;
}

// A string is a view of the pickle bytes: never copied.
Value* Unpickler::make_string(std::uint64_t size) {
  if (size > kMaxPickleString) error("a string of ", size, " bytes is longer than the limit of ", kMaxPickleString);
  const auto bytes = take(size, "a string");
  Value* v = make(Kind::String);
  v->text = {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  return v;
}

void Unpickler::push(Value* v) {
  if (stack_.size() >= kMaxPickleValues) error("the stack grows beyond ", kMaxPickleValues, " values");
  stack_.push_back(v);
}

// As in CPython, a MARK hides what is below it until the MARK is consumed.
Value* Unpickler::pop() {
  Value* v = top();
  stack_.pop_back();
  return v;
}

Value* Unpickler::top() {
  if (stack_.size() <= frame_start()) error("stack underflow");
  return stack_.back();
}

std::vector<Value*> Unpickler::pop_n(std::size_t n) {
  if (stack_.size() - frame_start() < n) error("stack underflow");
  std::vector<Value*> items(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
  stack_.resize(stack_.size() - n);
  return items;
}

std::vector<Value*> Unpickler::pop_to_mark() {
  if (marks_.empty()) error("no MARK to pop to");
  std::vector<Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
  stack_.resize(marks_.back());
  marks_.pop_back();
  return items;
}

void Unpickler::memo_put(std::uint64_t index) {
  Value* v = top();
  if (memo_.size() >= kMaxPickleValues && !memo_.contains(index))
    error("the memo grows beyond ", kMaxPickleValues, " entries");
  memo_[index] = v;
}

Value* Unpickler::memo_get(std::uint64_t index) {
  const auto it = memo_.find(index);
  if (it == memo_.end()) error("memo entry ", index, " is read but was never stored");
  return it->second;
}

Value* Unpickler::make_tuple(const std::vector<Value*>& items) {
  Value* t = make(Kind::Tuple);
  for (Value* item : items) nest(t, item);
  t->items = items;
  return t;
}

// Puts `child` into `container`, keeping depths exact and cycles impossible: a list or dict that already sits
// inside another container may no longer change, and nothing may hold itself.
void Unpickler::nest(Value* container, Value* child) {
  if (container->nested)
    error("a ", kind_name(container->kind), " is changed after being put inside another container",
          " (recursive structures are not supported)");
  if (child == container) error("a ", kind_name(container->kind), " would contain itself");
  child->nested = true;
  container->depth = std::max(container->depth, child->depth + 1);
  if (container->depth > kMaxPickleNesting) error("values are nested deeper than ", kMaxPickleNesting, " levels");
}

void Unpickler::append(Value* list, Value* item) {
  if (list->kind != Kind::List) error("APPEND to a ", describe(*list), ", not a list");
  nest(list, item);
  list->items.push_back(item);
}

void Unpickler::set_item(Value* dict, Value* key, Value* value) {
  if (dict->kind != Kind::Dict) error("SETITEM on a ", describe(*dict), ", not a dict");
  if (key->kind != Kind::String) error("a dict key is a ", describe(*key), ", not a str");
  nest(dict, key);
  nest(dict, value);
  dict->items.push_back(key);
  dict->items.push_back(value);
}

Value* Unpickler::make_global(std::string_view module, std::string_view name) {
  std::optional<Global> global;
  DType dtype{};
  if (module == "collections" && name == "OrderedDict") global = Global::OrderedDict;
  if (module == "torch._utils" && name == "_rebuild_tensor_v2") global = Global::RebuildTensorV2;
  if (module == "torch._utils" && name == "_rebuild_parameter") global = Global::RebuildParameter;
  for (const StorageType& s : kStorageTypes) {
    if (module == "torch" && name == s.name) {
      global = Global::StorageType;
      dtype = s.dtype;
    }
  }
  if (!global)
    error("forbidden global ", quoted(cat(module, ".", name)), ": only collections.OrderedDict, ",
          "torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter and torch.<type>Storage may appear");
  Value* v = make(Kind::Global);
  v->global = *global;
  v->storage_dtype = dtype;
  return v;
}

// A persistent id ('storage', torch.<Type>Storage, key, location, numel) names a storage. The same key may appear
// again (tied weights) but must then say the same thing.
Value* Unpickler::load_persistent(const Value& pid) {
  const std::string_view form = "('storage', torch.<type>Storage, key, location, numel)";
  if (pid.kind != Kind::Tuple || pid.items.size() != 5) error("a persistent id is a ", describe(pid), ", not ", form);
  const Value& tag = *pid.items[0];
  const Value& type = *pid.items[1];
  const Value& key = *pid.items[2];
  const Value& location = *pid.items[3];
  const Value& numel = *pid.items[4];
  if (tag.kind != Kind::String || tag.text != "storage" || type.kind != Kind::Global ||
      type.global != Global::StorageType || key.kind != Kind::String || location.kind != Kind::String ||
      numel.kind != Kind::Int)
    error("a persistent id is a ", describe(pid), " that does not read ", form);
  if (numel.integer < 0) error("storage ", quoted(key.text), " has a negative size (", numel.integer, ")");

  const auto [it, inserted] = storage_index_.emplace(key.text, storages_.size());
  if (inserted) {
    storages_.push_back({.key = std::string(key.text), .dtype = type.storage_dtype, .numel = numel.integer});
  } else {
    const PickledStorage& s = storages_[it->second];
    if (s.dtype != type.storage_dtype || s.numel != numel.integer)
      error("storage ", quoted(key.text), " is declared as a ", storage_type_name(s.dtype), " of ", s.numel,
            " elements and again as a ", storage_type_name(type.storage_dtype), " of ", numel.integer);
  }
  Value* v = make(Kind::Storage);
  v->integer = static_cast<std::int64_t>(it->second);
  return v;
}

Value* Unpickler::reduce(const Value& callable, const Value& args) {
  if (callable.kind != Kind::Global) error("REDUCE calls a ", describe(callable), "; only allowed globals may be called");
  if (args.kind != Kind::Tuple) error("REDUCE passes a ", describe(args), " as the arguments, not a tuple");
  switch (callable.global) {
    case Global::OrderedDict:
      if (!args.items.empty()) error("collections.OrderedDict is called with arguments ", describe(args));
      return make(Kind::Dict);
    case Global::RebuildTensorV2:
      return rebuild_tensor(args);
    case Global::RebuildParameter: {  // _rebuild_parameter(data, requires_grad, backward_hooks): keep the tensor
      const auto& a = args.items;
      if (a.size() != 3 || a[0]->kind != Kind::Tensor || a[1]->kind != Kind::Bool || !is_empty_dict(*a[2]))
        error("torch._utils._rebuild_parameter needs (tensor, bool, empty backward_hooks dict), not ",
              describe(args));
      return a[0];
    }
    case Global::StorageType:
      break;
  }
  error("REDUCE calls ", global_name(callable), ", which may not be called (storages come from persistent ids)");
}

void Unpickler::expect(const Value& v, Kind kind, std::string_view what) const {
  if (v.kind != kind) error("torch._utils._rebuild_tensor_v2: ", what, " is a ", describe(v), ", not a ", kind_name(kind));
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]).
// Backward hooks and metadata must be empty: hooks are code, and metadata (e.g. a conjugate bit) would change
// what the bytes mean.
Value* Unpickler::rebuild_tensor(const Value& args) {
  const auto& a = args.items;
  if (a.size() != 6 && a.size() != 7)
    error("torch._utils._rebuild_tensor_v2 takes 6 or 7 arguments, not ", a.size(), " (", describe(args), ")");
  expect(*a[0], Kind::Storage, "the storage");
  expect(*a[1], Kind::Int, "the storage offset");
  expect(*a[2], Kind::Tuple, "the size");
  expect(*a[3], Kind::Tuple, "the stride");
  expect(*a[4], Kind::Bool, "requires_grad");
  if (!is_empty_dict(*a[5])) error("torch._utils._rebuild_tensor_v2: backward_hooks must be an empty dict");
  if (a.size() == 7 && a[6]->kind != Kind::None && !is_empty_dict(*a[6]))
    error("torch._utils._rebuild_tensor_v2: tensor metadata must be None or an empty dict");

  const auto read_dims = [&](const Value& tuple, std::string_view what) {
    if (tuple.items.size() > kMaxTensorDims)
      error("torch._utils._rebuild_tensor_v2: the ", what, " has ", tuple.items.size(), " dimensions (at most ",
            kMaxTensorDims, ")");
    Shape dims;
    for (const Value* d : tuple.items) {
      if (d->kind != Kind::Int) error("torch._utils._rebuild_tensor_v2: the ", what, " holds a ", describe(*d));
      dims.push_back(d->integer);
    }
    return dims;
  };
  PickledTensor t{.storage = static_cast<std::size_t>(a[0]->integer),
                  .offset = a[1]->integer,
                  .shape = read_dims(*a[2], "size"),
                  .stride = read_dims(*a[3], "stride")};
  tensors_.push_back(std::move(t));
  Value* v = make(Kind::Tensor);
  v->integer = static_cast<std::int64_t>(tensors_.size() - 1);
  return v;
}

PickledStateDict Unpickler::finish(const Value& result) {
  if (!stack_.empty() || !marks_.empty())
    error("STOP leaves ", stack_.size(), " values and ", marks_.size(), " MARKs behind");
  if (pos_ != in_.size()) error(in_.size() - pos_, " bytes follow STOP");
  if (result.kind != Kind::Dict) error("the pickle holds a ", describe(result), ", not a state_dict (a dict of tensors)");
  PickledStateDict out;
  for (std::size_t i = 0; i < result.items.size(); i += 2) {
    const std::string_view key = result.items[i]->text;
    const Value& value = *result.items[i + 1];
    if (value.kind != Kind::Tensor)
      error("state_dict entry ", quoted(key), " is a ", describe(value), ", not a tensor");
    if (!out.tensors.emplace(key, tensors_[static_cast<std::size_t>(value.integer)]).second)
      error("state_dict key ", quoted(key), " appears twice");
  }
  out.storages = std::move(storages_);
  return out;
}

PickledStateDict Unpickler::run() {
  for (;;) {
    op_at_ = pos_;
    if (pos_ == in_.size()) error("the pickle ends without STOP");
    const auto code = static_cast<std::uint8_t>(in_[static_cast<std::size_t>(pos_++)]);
    switch (static_cast<Op>(code)) {
      case Op::PROTO:
        if (const auto version = read_le<std::uint8_t>("PROTO"); version > 5)
          error("pickle protocol ", int{version}, " is newer than 5");
        break;
      case Op::FRAME:  // protocol 4 framing: a length to skip over, nothing to do
        if (const auto size = read_le<std::uint64_t>("FRAME"); size > in_.size() - pos_)
          error("a FRAME of ", size, " bytes runs past the end of the pickle");
        break;
      case Op::STOP:
        return finish(*pop());
      case Op::MARK:
        if (marks_.size() >= kMaxPickleNesting) error("more than ", kMaxPickleNesting, " MARKs are open");
        marks_.push_back(stack_.size());
        break;
      case Op::NONE:
        push(make(Kind::None));
        break;
      case Op::NEWTRUE:
        push(make_integer(Kind::Bool, 1));
        break;
      case Op::NEWFALSE:
        push(make_integer(Kind::Bool, 0));
        break;
      case Op::BININT:
        push(make_integer(Kind::Int, static_cast<std::int32_t>(read_le<std::uint32_t>("BININT"))));
        break;
      case Op::BININT1:
        push(make_integer(Kind::Int, read_le<std::uint8_t>("BININT1")));
        break;
      case Op::BININT2:
        push(make_integer(Kind::Int, read_le<std::uint16_t>("BININT2")));
        break;
      case Op::LONG1:
        push(make_integer(Kind::Int, read_long1()));
        break;
      case Op::BINFLOAT: {  // 8 bytes, big-endian IEEE double
        std::uint64_t bits = 0;
        for (std::byte b : take(8, "BINFLOAT")) bits = (bits << 8) | static_cast<std::uint8_t>(b);
        Value* v = make(Kind::Float);
        v->real = std::bit_cast<double>(bits);
        push(v);
        break;
      }
      case Op::BINUNICODE:
        push(make_string(read_le<std::uint32_t>("BINUNICODE")));
        break;
      case Op::SHORT_BINUNICODE:
        push(make_string(read_le<std::uint8_t>("SHORT_BINUNICODE")));
        break;
      case Op::EMPTY_TUPLE:
        push(make_tuple({}));
        break;
      case Op::TUPLE:
        push(make_tuple(pop_to_mark()));
        break;
      case Op::TUPLE1:
      case Op::TUPLE2:
      case Op::TUPLE3:
        push(make_tuple(pop_n(code - static_cast<std::uint8_t>(Op::TUPLE1) + 1u)));
        break;
      case Op::EMPTY_LIST:
        push(make(Kind::List));
        break;
      case Op::APPEND: {
        Value* item = pop();
        append(top(), item);
        break;
      }
      case Op::APPENDS: {
        const std::vector<Value*> items = pop_to_mark();
        Value* list = top();
        for (Value* item : items) append(list, item);
        break;
      }
      case Op::EMPTY_DICT:
        push(make(Kind::Dict));
        break;
      case Op::SETITEM: {
        Value* value = pop();
        Value* key = pop();
        set_item(top(), key, value);
        break;
      }
      case Op::SETITEMS: {
        const std::vector<Value*> items = pop_to_mark();
        if (items.size() % 2 != 0) error("SETITEMS with an odd number (", items.size(), ") of keys and values");
        Value* dict = top();
        for (std::size_t i = 0; i < items.size(); i += 2) set_item(dict, items[i], items[i + 1]);
        break;
      }
      case Op::BINPUT:
        memo_put(read_le<std::uint8_t>("BINPUT"));
        break;
      case Op::LONG_BINPUT:
        memo_put(read_le<std::uint32_t>("LONG_BINPUT"));
        break;
      case Op::MEMOIZE:
        memo_put(memo_.size());
        break;
      case Op::BINGET:
        push(memo_get(read_le<std::uint8_t>("BINGET")));
        break;
      case Op::LONG_BINGET:
        push(memo_get(read_le<std::uint32_t>("LONG_BINGET")));
        break;
      case Op::GLOBAL: {
        const std::string_view module = read_line("module");
        const std::string_view name = read_line("name");
        push(make_global(module, name));
        break;
      }
      case Op::STACK_GLOBAL: {
        const Value* name = pop();
        const Value* module = pop();
        if (module->kind != Kind::String || name->kind != Kind::String)
          error("STACK_GLOBAL needs two strings, not a ", describe(*module), " and a ", describe(*name));
        push(make_global(module->text, name->text));
        break;
      }
      case Op::BINPERSID:
        push(load_persistent(*pop()));
        break;
      case Op::REDUCE: {
        const Value* args = pop();
        const Value* callable = pop();
        push(reduce(*callable, *args));
        break;
      }
      case Op::BUILD: {  // sets an object's attributes; torch uses it for the state_dict's _metadata, which we drop
        const Value* state = pop();
        const Value* object = top();
        if (object->kind != Kind::Dict || (state->kind != Kind::Dict && state->kind != Kind::None))
          error("BUILD on a ", describe(*object), " with a ", describe(*state),
                " (only a dict's attributes may be set, and they are ignored)");
        break;
      }
      default:
        error(describe_opcode(code));
    }
  }
}

}  // namespace

PickledStateDict unpickle_state_dict(std::span<const std::byte> pickle, const std::string& name) {
  return Unpickler(pickle, name).run();
}

}  // namespace tinymamba
