// A restricted unpickler for the `data.pkl` of a torch.save archive: it understands exactly what a state_dict
// needs and nothing else, and it never runs anything — it only builds a description of the tensors.
//
// A state_dict pickle (protocol 2, as torch.save writes it) is
//   collections.OrderedDict() REDUCE, then SETITEMS of  name -> torch._utils._rebuild_tensor_v2(
//       storage, storage_offset, size, stride, requires_grad, backward_hooks=OrderedDict() [, metadata])
//   where `storage` is a persistent id ('storage', torch.<Type>Storage, key, location, numel) that names the
//   archive entry <top>/data/<key>; optionally BUILD with the dict's `_metadata` attribute (ignored).
//
// Allowed globals: collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter
// (checkpoints that save nn.Parameters wrap the tensor in it; the tensor is kept, requires_grad dropped) and the
// storage types torch.{Float,Half,BFloat16,Double,Long,Int,Short,Char,Byte,Bool}Storage. Any other global
// (os.system, builtins.eval, ...) is refused when its GLOBAL opcode is read, and REDUCE may only call
// OrderedDict with no arguments or the two rebuild functions with arguments of the right types.
//
// Accepted opcodes: those of protocols 2 and 4 that plain data uses — PROTO FRAME STOP MARK NONE NEWTRUE NEWFALSE
// BININT BININT1 BININT2 LONG1 BINFLOAT BINUNICODE SHORT_BINUNICODE EMPTY_TUPLE TUPLE TUPLE1 TUPLE2 TUPLE3
// EMPTY_LIST APPEND APPENDS EMPTY_DICT SETITEM SETITEMS BINPUT LONG_BINPUT MEMOIZE BINGET LONG_BINGET GLOBAL
// STACK_GLOBAL BINPERSID REDUCE BUILD. Any other opcode is refused by name.
//
// Bounded, whatever the input: every opcode creates at most one value, and values, stack entries and memo entries
// are each capped (kMaxPickleValues); strings are views into the pickle (never copied) and capped in length;
// containers nest at most kMaxPickleNesting deep; memo indices live in a hash map, so LONG_BINPUT 4294967295
// costs one entry. A list or dict may not be changed once it sits inside another container, which makes cycles
// impossible. Nothing is ever walked recursively, and values live in one arena freed without recursion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "tinymamba/core/raw_tensor.hpp"

namespace tinymamba {

// Caps on what one pickle may make. A state_dict needs about 20 values per tensor, so 2^20 values allow ~50,000
// tensors per file (mamba-2.8b has 643) while keeping the worst case near 150 MB.
inline constexpr std::size_t kMaxPickleValues = std::size_t{1} << 20;  // values, stack entries, memo entries each
inline constexpr std::size_t kMaxPickleNesting = 64;                   // containers in containers, and open MARKs
inline constexpr std::size_t kMaxPickleString = 4096;                  // bytes; state_dict keys are short
inline constexpr std::size_t kMaxTensorDims = 16;

// A storage named by a persistent id; its bytes are the archive entry <top>/data/<key>.
struct PickledStorage {
  std::string key;
  DType dtype = DType::F32;
  std::int64_t numel = 0;  // elements, as the persistent id says (checked against the entry by the caller)
};

// A tensor as _rebuild_tensor_v2 describes it: a strided view of a storage, all in elements. Not yet checked
// against the storage's size: that is the caller's job (torch_bin.cpp).
struct PickledTensor {
  std::size_t storage = 0;  // index into PickledStateDict::storages
  std::int64_t offset = 0;
  Shape shape;
  Shape stride;
};

struct PickledStateDict {
  std::vector<PickledStorage> storages;         // one per distinct key (tied tensors share one)
  std::map<std::string, PickledTensor> tensors;  // keys are unique (a repeated key is an error)
};

// Reads a pickle that must hold a dict of tensors. Throws Error("<name>: <problem> (at byte N)") for anything
// malformed, forbidden or unsupported.
[[nodiscard]] PickledStateDict unpickle_state_dict(std::span<const std::byte> pickle, const std::string& name);

}  // namespace tinymamba
