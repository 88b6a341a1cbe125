// A strict reader for the subset of Python's pickle format that torch.save
// emits, producing an inert value tree.
//
// Why our own: torch::pickle_load turns the OrderedDict of an official SAM 2
// checkpoint into None, and Python's pickle executes arbitrary code. This
// reader executes nothing: globals are checked against a caller-given
// allow-list and kept as names, REDUCE and BUILD are kept symbolic (callable,
// arguments, attached state), and BINPERSID keeps the persistent id as data.
// Interpreting the tree (e.g. building tensors) is the caller's business; see
// torch_checkpoint.h.
//
// Supported opcodes (protocol 2 as torch.save writes it, plus the protocol
// 4/5 framing and string forms): PROTO FRAME STOP MARK POP POP_MARK
// EMPTY_DICT EMPTY_LIST EMPTY_TUPLE TUPLE TUPLE1 TUPLE2 TUPLE3 LIST DICT
// APPEND APPENDS SETITEM SETITEMS BINPUT LONG_BINPUT BINGET LONG_BINGET
// MEMOIZE BININT BININT1 BININT2 LONG1 BINFLOAT NONE NEWTRUE NEWFALSE
// BINUNICODE SHORT_BINUNICODE BINUNICODE8 BINSTRING SHORT_BINSTRING BINBYTES
// SHORT_BINBYTES BINBYTES8 GLOBAL STACK_GLOBAL REDUCE BUILD BINPERSID.
// Anything else (INST, OBJ, NEWOBJ, EXT*, PERSID, text PUT/GET, ...) is
// INVALID_ARGUMENT naming the opcode and its byte offset. Every input problem
// (truncation, stack underflow, missing MARK, bad memo index, data after
// STOP, a limit exceeded, ...) is INVALID_ARGUMENT with the offset.
//
// Differences from Python's unpickler, all deliberate strictness: PROTO is
// only accepted as the first opcode and only for protocols 2..5; at STOP the
// stack must hold exactly one value and no MARK; BUILD applies to REDUCE
// results only, once; APPEND(S) and SETITEM(S) apply to lists, dicts and
// REDUCE results (the pickle protocol's "listitems"/"dictitems"); a REDUCE
// callable must be a global and its arguments a tuple; LONG1 must fit int64;
// text must be valid UTF-8 (surrogates allowed, as Python writes them with
// "surrogatepass"). Dict entries are kept in order with duplicates intact;
// the reader does not compare keys.
//
// Depends only on Abseil and the standard library, so the fuzzer
// (pickle_reader_fuzz.cc) builds it with clang alone.
//
// Ownership: a Pickle owns every value of its tree; the pointers inside the
// tree and from root() stay valid while the Pickle lives (also after a move).
// Because memo references can make one value appear in several places -- even
// inside itself -- the result is a graph, not always a tree: code that
// recurses into values must bound its own depth (DebugString does).
// Thread-safety: ReadPickle is reentrant; a Pickle is immutable once returned
// and safe to read from many threads.

#ifndef SAM2_MODEL_PICKLE_READER_H_
#define SAM2_MODEL_PICKLE_READER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sam2 {

enum class PickleKind {
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,  // Python str (BINUNICODE*, and BINSTRING as torch.load decodes it)
  kBytes,   // Python bytes (BINBYTES*)
  kTuple,
  kList,
  kDict,
  kGlobal,        // a module attribute named by GLOBAL / STACK_GLOBAL
  kPersistentId,  // BINPERSID's object, for the caller to resolve
  kReduce,        // callable(*args), not called
};

// "None", "Bool", ... for messages.
absl::string_view PickleKindName(PickleKind kind);

// One value. A plain struct: fields that do not belong to `kind` stay at
// their defaults, so reading the wrong field is harmless (never UB).
struct PickleValue {
  PickleKind kind = PickleKind::kNone;
  bool bool_value = false;  // kBool
  int64_t int_value = 0;    // kInt
  double float_value = 0;   // kFloat
  // kString / kBytes: the contents (UTF-8 for kString); kGlobal: the module.
  std::string str;
  // kGlobal: the attribute name within `str`.
  std::string name;
  // kTuple / kList: the elements; kReduce: values added by APPEND(S).
  std::vector<const PickleValue*> items;
  // kDict: entries in insertion order; kReduce: entries added by SETITEM(S).
  std::vector<std::pair<const PickleValue*, const PickleValue*>> dict_items;
  // kReduce: the callable (a kGlobal) and its arguments (a kTuple).
  const PickleValue* callable = nullptr;
  const PickleValue* args = nullptr;
  // kReduce: the argument of BUILD (the object's __setstate__ state), or
  // nullptr when there was no BUILD.
  const PickleValue* state = nullptr;
  // kPersistentId: the object BINPERSID popped.
  const PickleValue* persistent_id = nullptr;
  // Nesting depth when the reader last touched this value (scalars are 1).
  // An upper bound only for what the reader built directly: a container
  // mutated through the memo after being nested elsewhere does not update
  // its ancestors.
  int depth = 1;

  // True when this is kGlobal `module`.`name`.
  bool IsGlobal(absl::string_view module, absl::string_view global_name) const;
  // True when this is a kReduce whose callable is `module`.`name`.
  bool IsReduceOf(absl::string_view module,
                  absl::string_view global_name) const;
};

// A global the caller allows, e.g. {"collections", "OrderedDict"}.
struct PickleGlobal {
  std::string module;
  std::string name;
};

// The globals an official torch.save state-dict checkpoint uses:
// collections.OrderedDict, torch._utils._rebuild_tensor_v2,
// torch._utils._rebuild_parameter and the typed storages torch.FloatStorage,
// HalfStorage, BFloat16Storage, DoubleStorage, LongStorage, IntStorage,
// ShortStorage, CharStorage, ByteStorage, BoolStorage.
std::vector<PickleGlobal> TorchCheckpointGlobals();

// Bounds on everything a small input could make large. Memory use is
// O(input size + max_values * sizeof(PickleValue)) whatever the input.
struct PickleLimits {
  // Open MARKs at once, and nesting depth of the values the reader builds.
  // max_depth, max_stack_size and max_values must be positive.
  static constexpr int kDefaultMaxDepth = 64;
  // Values on the stack (all frames together).
  static constexpr size_t kDefaultMaxStackSize = size_t{1} << 20;
  // Memo entries.
  static constexpr size_t kDefaultMaxMemoSize = size_t{1} << 22;
  // Elements of one tuple/list, or entries of one dict.
  static constexpr size_t kDefaultMaxContainerSize = size_t{1} << 22;
  // Bytes of one string, bytes object, or GLOBAL line.
  static constexpr size_t kDefaultMaxStringLength = size_t{64} << 20;
  // Values created in total; each costs ~200 bytes, so this caps the tree.
  static constexpr size_t kDefaultMaxValues = size_t{1} << 22;

  int max_depth = kDefaultMaxDepth;
  size_t max_stack_size = kDefaultMaxStackSize;
  size_t max_memo_size = kDefaultMaxMemoSize;
  size_t max_container_size = kDefaultMaxContainerSize;
  size_t max_string_length = kDefaultMaxStringLength;
  size_t max_values = kDefaultMaxValues;
};

struct PickleOptions {
  // Globals that may appear; any other is INVALID_ARGUMENT
  // "unsupported global 'module.name'". Defaults to the torch checkpoint set.
  std::vector<PickleGlobal> allowed_globals = TorchCheckpointGlobals();
  PickleLimits limits;
};

// The result of ReadPickle: owns all values. Movable, not copyable.
class Pickle {
 public:
  Pickle(Pickle&&) = default;
  Pickle& operator=(Pickle&&) = default;
  Pickle(const Pickle&) = delete;
  Pickle& operator=(const Pickle&) = delete;

  // The value STOP returned.
  const PickleValue& root() const { return *root_; }
  // How many values the reader created (memo references not counted twice).
  size_t num_values() const { return values_.size(); }

 private:
  friend class PickleParser;
  Pickle() = default;

  std::vector<std::unique_ptr<PickleValue>> values_;
  const PickleValue* root_ = nullptr;
};

// Parses one pickle that must span all of `data` (ending with STOP).
absl::StatusOr<Pickle> ReadPickle(absl::string_view data,
                                  const PickleOptions& options = {});

// A Python-like rendering for messages and tests, e.g.
// "{'model': collections.OrderedDict()}". Stops descending below `max_depth`
// ("...") and stops writing near `max_chars`, so cyclic or hugely shared
// graphs are safe to print.
std::string PickleDebugString(const PickleValue& value, int max_depth = 8,
                              size_t max_chars = 4096);

}  // namespace sam2

#endif  // SAM2_MODEL_PICKLE_READER_H_
