// Strict pickle reader. See pickle_reader.h for what is read and why.
//
// Opcode semantics follow CPython's Lib/pickle.py (_Unpickler) and
// Lib/pickletools.py; the stack is one vector plus MARK positions, the same
// model as pickle.py's stack + metastack.

#include "model/pickle_reader.h"

#include <cstring>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sam2 {
namespace {

// Pickle opcodes (pickletools.py names). Listed in full so unsupported ones
// can be reported by name.
enum Opcode : uint8_t {
  kMark = '(',
  kStop = '.',
  kPop = '0',
  kPopMark = '1',
  kDup = '2',
  kFloat = 'F',
  kInt = 'I',
  kBinInt = 'J',
  kBinInt1 = 'K',
  kLong = 'L',
  kBinInt2 = 'M',
  kNone = 'N',
  kPersId = 'P',
  kBinPersId = 'Q',
  kReduce = 'R',
  kString = 'S',
  kBinString = 'T',
  kShortBinString = 'U',
  kUnicode = 'V',
  kBinUnicode = 'X',
  kAppend = 'a',
  kBuild = 'b',
  kGlobal = 'c',
  kDict = 'd',
  kEmptyDict = '}',
  kAppends = 'e',
  kGet = 'g',
  kBinGet = 'h',
  kInst = 'i',
  kLongBinGet = 'j',
  kList = 'l',
  kEmptyList = ']',
  kObj = 'o',
  kPut = 'p',
  kBinPut = 'q',
  kLongBinPut = 'r',
  kSetItem = 's',
  kTuple = 't',
  kEmptyTuple = ')',
  kSetItems = 'u',
  kBinFloat = 'G',
  kProto = 0x80,
  kNewObj = 0x81,
  kExt1 = 0x82,
  kExt2 = 0x83,
  kExt4 = 0x84,
  kTuple1 = 0x85,
  kTuple2 = 0x86,
  kTuple3 = 0x87,
  kNewTrue = 0x88,
  kNewFalse = 0x89,
  kLong1 = 0x8a,
  kLong4 = 0x8b,
  kBinBytes = 'B',
  kShortBinBytes = 'C',
  kShortBinUnicode = 0x8c,
  kBinUnicode8 = 0x8d,
  kBinBytes8 = 0x8e,
  kEmptySet = 0x8f,
  kAddItems = 0x90,
  kFrozenSet = 0x91,
  kNewObjEx = 0x92,
  kStackGlobal = 0x93,
  kMemoize = 0x94,
  kFrame = 0x95,
  kByteArray8 = 0x96,
  kNextBuffer = 0x97,
  kReadOnlyBuffer = 0x98,
};

// Name of any pickle opcode, or nullptr for a byte that is none.
const char* OpcodeName(uint8_t op) {
  switch (op) {
    case kMark: return "MARK";
    case kStop: return "STOP";
    case kPop: return "POP";
    case kPopMark: return "POP_MARK";
    case kDup: return "DUP";
    case kFloat: return "FLOAT";
    case kInt: return "INT";
    case kBinInt: return "BININT";
    case kBinInt1: return "BININT1";
    case kLong: return "LONG";
    case kBinInt2: return "BININT2";
    case kNone: return "NONE";
    case kPersId: return "PERSID";
    case kBinPersId: return "BINPERSID";
    case kReduce: return "REDUCE";
    case kString: return "STRING";
    case kBinString: return "BINSTRING";
    case kShortBinString: return "SHORT_BINSTRING";
    case kUnicode: return "UNICODE";
    case kBinUnicode: return "BINUNICODE";
    case kAppend: return "APPEND";
    case kBuild: return "BUILD";
    case kGlobal: return "GLOBAL";
    case kDict: return "DICT";
    case kEmptyDict: return "EMPTY_DICT";
    case kAppends: return "APPENDS";
    case kGet: return "GET";
    case kBinGet: return "BINGET";
    case kInst: return "INST";
    case kLongBinGet: return "LONG_BINGET";
    case kList: return "LIST";
    case kEmptyList: return "EMPTY_LIST";
    case kObj: return "OBJ";
    case kPut: return "PUT";
    case kBinPut: return "BINPUT";
    case kLongBinPut: return "LONG_BINPUT";
    case kSetItem: return "SETITEM";
    case kTuple: return "TUPLE";
    case kEmptyTuple: return "EMPTY_TUPLE";
    case kSetItems: return "SETITEMS";
    case kBinFloat: return "BINFLOAT";
    case kProto: return "PROTO";
    case kNewObj: return "NEWOBJ";
    case kExt1: return "EXT1";
    case kExt2: return "EXT2";
    case kExt4: return "EXT4";
    case kTuple1: return "TUPLE1";
    case kTuple2: return "TUPLE2";
    case kTuple3: return "TUPLE3";
    case kNewTrue: return "NEWTRUE";
    case kNewFalse: return "NEWFALSE";
    case kLong1: return "LONG1";
    case kLong4: return "LONG4";
    case kBinBytes: return "BINBYTES";
    case kShortBinBytes: return "SHORT_BINBYTES";
    case kShortBinUnicode: return "SHORT_BINUNICODE";
    case kBinUnicode8: return "BINUNICODE8";
    case kBinBytes8: return "BINBYTES8";
    case kEmptySet: return "EMPTY_SET";
    case kAddItems: return "ADDITEMS";
    case kFrozenSet: return "FROZENSET";
    case kNewObjEx: return "NEWOBJ_EX";
    case kStackGlobal: return "STACK_GLOBAL";
    case kMemoize: return "MEMOIZE";
    case kFrame: return "FRAME";
    case kByteArray8: return "BYTEARRAY8";
    case kNextBuffer: return "NEXT_BUFFER";
    case kReadOnlyBuffer: return "READONLY_BUFFER";
    default: return nullptr;
  }
}

std::string DescribeOpcode(uint8_t op) {
  const char* name = OpcodeName(op);
  if (name == nullptr) return absl::StrFormat("unknown opcode 0x%02x", op);
  return absl::StrFormat("opcode %s (0x%02x)", name, op);
}

// Python writes text with "surrogatepass", so encoded surrogates
// (ED A0..BF xx) are accepted; everything else must be well-formed UTF-8
// (no overlongs, nothing above U+10FFFF).
bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (n - i < len) return false;
    const uint8_t c1 = static_cast<uint8_t>(s[i + 1]);
    if (c1 < lo || c1 > hi) return false;
    for (size_t k = 2; k < len; ++k) {
      const uint8_t ck = static_cast<uint8_t>(s[i + k]);
      if (ck < 0x80 || ck > 0xBF) return false;
    }
    i += len;
  }
  return true;
}

bool IsAllowedGlobal(const std::vector<PickleGlobal>& allowed,
                     absl::string_view module, absl::string_view name) {
  for (const PickleGlobal& g : allowed) {
    if (g.module == module && g.name == name) return true;
  }
  return false;
}

}  // namespace

// Not in the anonymous namespace: Pickle names it as a friend.
class PickleParser {
 public:
  PickleParser(absl::string_view data, const PickleOptions& options)
      : data_(data), options_(options), limits_(options.limits) {}

  absl::StatusOr<Pickle> Run();

 private:
  // --- errors ---------------------------------------------------------------
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("pickle: ", what, " at offset ", op_offset_, " (",
                     DescribeOpcode(op_), ")"));
  }

  // --- input ----------------------------------------------------------------
  absl::Status Need(uint64_t n) const {
    if (n > data_.size() - pos_) {
      return Error(absl::StrCat("truncated input: need ", n,
                                " more bytes, have ", data_.size() - pos_));
    }
    return absl::OkStatus();
  }
  // Little-endian unsigned integer of `n` <= 8 bytes; Need(n) must have
  // succeeded.
  uint64_t TakeLE(size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      v |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i]))
           << (8 * i);
    }
    pos_ += n;
    return v;
  }
  absl::StatusOr<uint64_t> ReadLE(size_t n) {
    absl::Status s = Need(n);
    if (!s.ok()) return s;
    return TakeLE(n);
  }
  absl::StatusOr<absl::string_view> ReadBytes(uint64_t n) {
    if (n > limits_.max_string_length) {
      return Error(absl::StrCat("string of ", n, " bytes exceeds the limit of ",
                                limits_.max_string_length));
    }
    absl::Status s = Need(n);
    if (!s.ok()) return s;
    absl::string_view out = data_.substr(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return out;
  }
  // A GLOBAL operand line, without its '\n'.
  absl::StatusOr<absl::string_view> ReadLine() {
    const size_t max = limits_.max_string_length;
    const size_t end = data_.find('\n', pos_);
    if (end == absl::string_view::npos) {
      return Error("truncated input: GLOBAL line has no newline");
    }
    if (end - pos_ > max) {
      return Error(absl::StrCat("GLOBAL line exceeds the limit of ", max,
                                " bytes"));
    }
    absl::string_view line = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return line;
  }

  // --- values ---------------------------------------------------------------
  absl::StatusOr<PickleValue*> NewValue(PickleKind kind) {
    if (result_.values_.size() >= limits_.max_values) {
      return Error(absl::StrCat("more than ", limits_.max_values,
                                " values (limit)"));
    }
    result_.values_.push_back(std::make_unique<PickleValue>());
    PickleValue* v = result_.values_.back().get();
    v->kind = kind;
    return v;
  }
  // Raises `container`'s depth to cover `child`.
  absl::Status Nest(PickleValue* container, const PickleValue* child) {
    if (child->depth >= limits_.max_depth) {
      return Error(absl::StrCat("values nested deeper than ",
                                limits_.max_depth, " (limit)"));
    }
    if (child->depth + 1 > container->depth) {
      container->depth = child->depth + 1;
    }
    return absl::OkStatus();
  }
  absl::Status CheckContainerSize(size_t size) const {
    if (size > limits_.max_container_size) {
      return Error(absl::StrCat("container of more than ",
                                limits_.max_container_size,
                                " elements (limit)"));
    }
    return absl::OkStatus();
  }

  // --- stack ----------------------------------------------------------------
  // Index of the first stack slot above the innermost MARK.
  size_t FrameBase() const { return marks_.empty() ? 0 : marks_.back(); }

  absl::Status Push(PickleValue* v) {
    if (stack_.size() >= limits_.max_stack_size) {
      return Error(absl::StrCat("stack deeper than ", limits_.max_stack_size,
                                " (limit)"));
    }
    stack_.push_back(v);
    return absl::OkStatus();
  }
  absl::StatusOr<PickleValue*> Pop() {
    if (stack_.size() <= FrameBase()) {
      return Error(marks_.empty() ? "stack underflow"
                                  : "stack underflow (would pop a MARK)");
    }
    PickleValue* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  absl::StatusOr<PickleValue*> Top() {
    if (stack_.size() <= FrameBase()) {
      return Error(marks_.empty() ? "stack underflow (empty stack)"
                                  : "stack underflow (only a MARK on top)");
    }
    return stack_.back();
  }
  // Pops everything above the innermost MARK, and the MARK.
  absl::StatusOr<std::vector<PickleValue*>> PopMark() {
    if (marks_.empty()) return Error("no MARK on the stack");
    const size_t base = marks_.back();
    marks_.pop_back();
    std::vector<PickleValue*> items(stack_.begin() + base, stack_.end());
    stack_.resize(base);
    return items;
  }

  // --- containers -----------------------------------------------------------
  absl::StatusOr<PickleValue*> MakeSequence(
      PickleKind kind, const std::vector<PickleValue*>& items) {
    absl::Status s = CheckContainerSize(items.size());
    if (!s.ok()) return s;
    absl::StatusOr<PickleValue*> v = NewValue(kind);
    if (!v.ok()) return v;
    (*v)->items.reserve(items.size());
    for (PickleValue* item : items) {
      s = Nest(*v, item);
      if (!s.ok()) return s;
      (*v)->items.push_back(item);
    }
    return v;
  }
  absl::Status AppendTo(PickleValue* target,
                        const std::vector<PickleValue*>& items) {
    if (target->kind != PickleKind::kList &&
        target->kind != PickleKind::kReduce) {
      return Error(absl::StrCat("cannot append to a ",
                                PickleKindName(target->kind)));
    }
    absl::Status s = CheckContainerSize(target->items.size() + items.size());
    if (!s.ok()) return s;
    for (PickleValue* item : items) {
      s = Nest(target, item);
      if (!s.ok()) return s;
      target->items.push_back(item);
    }
    return absl::OkStatus();
  }
  absl::Status SetItems(PickleValue* target,
                        const std::vector<PickleValue*>& kv) {
    if (target->kind != PickleKind::kDict &&
        target->kind != PickleKind::kReduce) {
      return Error(absl::StrCat("cannot set items on a ",
                                PickleKindName(target->kind)));
    }
    if (kv.size() % 2 != 0) {
      return Error("odd number of values for key/value pairs");
    }
    absl::Status s =
        CheckContainerSize(target->dict_items.size() + kv.size() / 2);
    if (!s.ok()) return s;
    for (size_t i = 0; i < kv.size(); i += 2) {
      s = Nest(target, kv[i]);
      if (!s.ok()) return s;
      s = Nest(target, kv[i + 1]);
      if (!s.ok()) return s;
      target->dict_items.emplace_back(kv[i], kv[i + 1]);
    }
    return absl::OkStatus();
  }

  // --- opcodes --------------------------------------------------------------
  absl::Status Step();
  // Pushes a new value of `kind`; i/f/b fill the scalar fields.
  absl::Status PushNew(PickleKind kind, int64_t i, double f, bool b);
  absl::Status PushText(PickleKind kind, uint64_t length);
  absl::Status PushGlobal(absl::string_view module, absl::string_view name);
  absl::Status MemoPut(uint64_t index);
  absl::Status MemoGet(uint64_t index);

  absl::string_view data_;
  const PickleOptions& options_;
  const PickleLimits& limits_;
  size_t pos_ = 0;
  size_t op_offset_ = 0;
  uint8_t op_ = 0;
  bool stopped_ = false;
  std::vector<PickleValue*> stack_;
  std::vector<size_t> marks_;
  absl::flat_hash_map<uint64_t, PickleValue*> memo_;
  Pickle result_;
};

absl::StatusOr<Pickle> PickleParser::Run() {
  while (!stopped_) {
    if (pos_ >= data_.size()) {
      op_offset_ = pos_;
      return absl::InvalidArgumentError(absl::StrCat(
          "pickle: truncated input: no STOP opcode before the end at offset ",
          pos_));
    }
    absl::Status s = Step();
    if (!s.ok()) return s;
  }
  if (pos_ != data_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("pickle: ", data_.size() - pos_,
                     " bytes of data after STOP at offset ", op_offset_));
  }
  return std::move(result_);
}

absl::Status PickleParser::PushNew(PickleKind kind, int64_t i, double f,
                                      bool b) {
  absl::StatusOr<PickleValue*> v = NewValue(kind);
  if (!v.ok()) return v.status();
  (*v)->int_value = i;
  (*v)->float_value = f;
  (*v)->bool_value = b;
  return Push(*v);
}

absl::Status PickleParser::PushText(PickleKind kind, uint64_t length) {
  absl::StatusOr<absl::string_view> bytes = ReadBytes(length);
  if (!bytes.ok()) return bytes.status();
  if (kind == PickleKind::kString && !IsValidUtf8(*bytes)) {
    return Error("string is not valid UTF-8");
  }
  absl::StatusOr<PickleValue*> v = NewValue(kind);
  if (!v.ok()) return v.status();
  (*v)->str = std::string(*bytes);
  return Push(*v);
}

absl::Status PickleParser::PushGlobal(absl::string_view module,
                                      absl::string_view name) {
  if (!IsAllowedGlobal(options_.allowed_globals, module, name)) {
    // Shown with escapes: the names come from the input.
    return Error(absl::StrCat("unsupported global '",
                              absl::CHexEscape(module), ".",
                              absl::CHexEscape(name), "'"));
  }
  absl::StatusOr<PickleValue*> v = NewValue(PickleKind::kGlobal);
  if (!v.ok()) return v.status();
  (*v)->str = std::string(module);
  (*v)->name = std::string(name);
  return Push(*v);
}

absl::Status PickleParser::MemoPut(uint64_t index) {
  absl::StatusOr<PickleValue*> top = Top();
  if (!top.ok()) return top.status();
  auto it = memo_.find(index);
  if (it != memo_.end()) {
    it->second = *top;  // Python overwrites too.
    return absl::OkStatus();
  }
  if (memo_.size() >= limits_.max_memo_size) {
    return Error(absl::StrCat("more than ", limits_.max_memo_size,
                              " memo entries (limit)"));
  }
  memo_.emplace(index, *top);
  return absl::OkStatus();
}

absl::Status PickleParser::MemoGet(uint64_t index) {
  auto it = memo_.find(index);
  if (it == memo_.end()) {
    return Error(absl::StrCat("memo index ", index, " was never stored"));
  }
  return Push(it->second);
}

absl::Status PickleParser::Step() {
  op_offset_ = pos_;
  op_ = static_cast<uint8_t>(data_[pos_]);
  ++pos_;
  switch (op_) {
    case kProto: {
      if (op_offset_ != 0) return Error("PROTO after the start of the pickle");
      absl::StatusOr<uint64_t> version = ReadLE(1);
      if (!version.ok()) return version.status();
      if (*version < 2 || *version > 5) {
        return Error(absl::StrCat("unsupported pickle protocol ", *version));
      }
      return absl::OkStatus();
    }
    case kFrame: {
      // Frames only group opcodes for buffered reading; the data is already
      // in memory, so just check the frame is within it.
      absl::StatusOr<uint64_t> length = ReadLE(8);
      if (!length.ok()) return length.status();
      if (*length > data_.size() - pos_) {
        return Error(absl::StrCat("frame of ", *length,
                                  " bytes runs past the end of the input"));
      }
      return absl::OkStatus();
    }
    case kStop: {
      if (!marks_.empty()) return Error("STOP with a MARK still open");
      if (stack_.size() != 1) {
        return Error(absl::StrCat("STOP with ", stack_.size(),
                                  " values on the stack (want exactly 1)"));
      }
      result_.root_ = stack_.back();
      stack_.clear();
      stopped_ = true;
      return absl::OkStatus();
    }
    case kMark: {
      if (marks_.size() >= static_cast<size_t>(limits_.max_depth)) {
        return Error(absl::StrCat("more than ", limits_.max_depth,
                                  " open MARKs (limit)"));
      }
      marks_.push_back(stack_.size());
      return absl::OkStatus();
    }
    case kPop:
      return Pop().status();
    case kPopMark:
      return PopMark().status();

    case kNone:
      return PushNew(PickleKind::kNone, 0, 0, false);
    case kNewTrue:
      return PushNew(PickleKind::kBool, 0, 0, true);
    case kNewFalse:
      return PushNew(PickleKind::kBool, 0, 0, false);
    case kBinInt: {
      absl::StatusOr<uint64_t> v = ReadLE(4);
      if (!v.ok()) return v.status();
      int32_t i;
      const uint32_t u = static_cast<uint32_t>(*v);
      std::memcpy(&i, &u, sizeof(i));
      return PushNew(PickleKind::kInt, i, 0, false);
    }
    case kBinInt1: {
      absl::StatusOr<uint64_t> v = ReadLE(1);
      if (!v.ok()) return v.status();
      return PushNew(PickleKind::kInt, static_cast<int64_t>(*v), 0, false);
    }
    case kBinInt2: {
      absl::StatusOr<uint64_t> v = ReadLE(2);
      if (!v.ok()) return v.status();
      return PushNew(PickleKind::kInt, static_cast<int64_t>(*v), 0, false);
    }
    case kLong1: {
      absl::StatusOr<uint64_t> n = ReadLE(1);
      if (!n.ok()) return n.status();
      if (*n > 8) {
        return Error(absl::StrCat("LONG1 of ", *n,
                                  " bytes does not fit a 64-bit integer"));
      }
      absl::StatusOr<uint64_t> u = ReadLE(static_cast<size_t>(*n));
      if (!u.ok()) return u.status();
      uint64_t bits = *u;
      // Two's complement: sign-extend from the top byte read.
      if (*n > 0 && *n < 8 && (bits >> (8 * *n - 1)) & 1) {
        bits |= ~uint64_t{0} << (8 * *n);
      }
      int64_t i;
      std::memcpy(&i, &bits, sizeof(i));
      return PushNew(PickleKind::kInt, i, 0, false);
    }
    case kBinFloat: {
      absl::Status s = Need(8);
      if (!s.ok()) return s;
      uint64_t bits = 0;  // big-endian on the wire
      for (int i = 0; i < 8; ++i) {
        bits = (bits << 8) | static_cast<uint8_t>(data_[pos_ + i]);
      }
      pos_ += 8;
      double d;
      std::memcpy(&d, &bits, sizeof(d));
      return PushNew(PickleKind::kFloat, 0, d, false);
    }

    case kShortBinUnicode:
    case kShortBinString:
    case kShortBinBytes: {
      absl::StatusOr<uint64_t> n = ReadLE(1);
      if (!n.ok()) return n.status();
      return PushText(op_ == kShortBinBytes ? PickleKind::kBytes
                                            : PickleKind::kString,
                      *n);
    }
    case kBinUnicode:
    case kBinBytes: {
      absl::StatusOr<uint64_t> n = ReadLE(4);
      if (!n.ok()) return n.status();
      return PushText(
          op_ == kBinBytes ? PickleKind::kBytes : PickleKind::kString, *n);
    }
    case kBinString: {
      absl::StatusOr<uint64_t> n = ReadLE(4);
      if (!n.ok()) return n.status();
      if (*n & 0x80000000u) return Error("BINSTRING with a negative length");
      return PushText(PickleKind::kString, *n);
    }
    case kBinUnicode8:
    case kBinBytes8: {
      absl::StatusOr<uint64_t> n = ReadLE(8);
      if (!n.ok()) return n.status();
      return PushText(
          op_ == kBinBytes8 ? PickleKind::kBytes : PickleKind::kString, *n);
    }

    case kEmptyTuple:
      return PushNew(PickleKind::kTuple, 0, 0, false);
    case kEmptyList:
      return PushNew(PickleKind::kList, 0, 0, false);
    case kEmptyDict:
      return PushNew(PickleKind::kDict, 0, 0, false);
    case kTuple:
    case kList: {
      absl::StatusOr<std::vector<PickleValue*>> items = PopMark();
      if (!items.ok()) return items.status();
      absl::StatusOr<PickleValue*> v = MakeSequence(
          op_ == kTuple ? PickleKind::kTuple : PickleKind::kList, *items);
      if (!v.ok()) return v.status();
      return Push(*v);
    }
    case kTuple1:
    case kTuple2:
    case kTuple3: {
      const size_t n = op_ - kTuple1 + 1;
      if (stack_.size() - FrameBase() < n) {
        return Error(absl::StrCat("stack underflow: TUPLE", n, " needs ", n,
                                  " values"));
      }
      std::vector<PickleValue*> items(stack_.end() - n, stack_.end());
      stack_.resize(stack_.size() - n);
      absl::StatusOr<PickleValue*> v = MakeSequence(PickleKind::kTuple, items);
      if (!v.ok()) return v.status();
      return Push(*v);
    }
    case kDict: {
      absl::StatusOr<std::vector<PickleValue*>> items = PopMark();
      if (!items.ok()) return items.status();
      absl::StatusOr<PickleValue*> v = NewValue(PickleKind::kDict);
      if (!v.ok()) return v.status();
      absl::Status s = SetItems(*v, *items);
      if (!s.ok()) return s;
      return Push(*v);
    }
    case kAppend: {
      absl::StatusOr<PickleValue*> value = Pop();
      if (!value.ok()) return value.status();
      absl::StatusOr<PickleValue*> target = Top();
      if (!target.ok()) return target.status();
      return AppendTo(*target, {*value});
    }
    case kAppends: {
      absl::StatusOr<std::vector<PickleValue*>> items = PopMark();
      if (!items.ok()) return items.status();
      absl::StatusOr<PickleValue*> target = Top();
      if (!target.ok()) return target.status();
      return AppendTo(*target, *items);
    }
    case kSetItem: {
      absl::StatusOr<PickleValue*> value = Pop();
      if (!value.ok()) return value.status();
      absl::StatusOr<PickleValue*> key = Pop();
      if (!key.ok()) return key.status();
      absl::StatusOr<PickleValue*> target = Top();
      if (!target.ok()) return target.status();
      return SetItems(*target, {*key, *value});
    }
    case kSetItems: {
      absl::StatusOr<std::vector<PickleValue*>> items = PopMark();
      if (!items.ok()) return items.status();
      absl::StatusOr<PickleValue*> target = Top();
      if (!target.ok()) return target.status();
      return SetItems(*target, *items);
    }

    case kBinPut: {
      absl::StatusOr<uint64_t> i = ReadLE(1);
      if (!i.ok()) return i.status();
      return MemoPut(*i);
    }
    case kLongBinPut: {
      absl::StatusOr<uint64_t> i = ReadLE(4);
      if (!i.ok()) return i.status();
      return MemoPut(*i);
    }
    case kMemoize:
      return MemoPut(memo_.size());
    case kBinGet: {
      absl::StatusOr<uint64_t> i = ReadLE(1);
      if (!i.ok()) return i.status();
      return MemoGet(*i);
    }
    case kLongBinGet: {
      absl::StatusOr<uint64_t> i = ReadLE(4);
      if (!i.ok()) return i.status();
      return MemoGet(*i);
    }

    case kGlobal: {
      absl::StatusOr<absl::string_view> module = ReadLine();
      if (!module.ok()) return module.status();
      absl::StatusOr<absl::string_view> name = ReadLine();
      if (!name.ok()) return name.status();
      if (!IsValidUtf8(*module) || !IsValidUtf8(*name)) {
        return Error("GLOBAL name is not valid UTF-8");
      }
      return PushGlobal(*module, *name);
    }
    case kStackGlobal: {
      absl::StatusOr<PickleValue*> name = Pop();
      if (!name.ok()) return name.status();
      absl::StatusOr<PickleValue*> module = Pop();
      if (!module.ok()) return module.status();
      if ((*module)->kind != PickleKind::kString ||
          (*name)->kind != PickleKind::kString) {
        return Error("STACK_GLOBAL needs two strings");
      }
      return PushGlobal((*module)->str, (*name)->str);
    }
    case kReduce: {
      absl::StatusOr<PickleValue*> args = Pop();
      if (!args.ok()) return args.status();
      absl::StatusOr<PickleValue*> callable = Pop();
      if (!callable.ok()) return callable.status();
      if ((*callable)->kind != PickleKind::kGlobal) {
        return Error(absl::StrCat("REDUCE callable is a ",
                                  PickleKindName((*callable)->kind),
                                  ", not a global"));
      }
      if ((*args)->kind != PickleKind::kTuple) {
        return Error(absl::StrCat("REDUCE arguments are a ",
                                  PickleKindName((*args)->kind),
                                  ", not a tuple"));
      }
      absl::StatusOr<PickleValue*> v = NewValue(PickleKind::kReduce);
      if (!v.ok()) return v.status();
      absl::Status s = Nest(*v, *callable);
      if (!s.ok()) return s;
      s = Nest(*v, *args);
      if (!s.ok()) return s;
      (*v)->callable = *callable;
      (*v)->args = *args;
      return Push(*v);
    }
    case kBuild: {
      absl::StatusOr<PickleValue*> state = Pop();
      if (!state.ok()) return state.status();
      absl::StatusOr<PickleValue*> target = Top();
      if (!target.ok()) return target.status();
      if ((*target)->kind != PickleKind::kReduce) {
        return Error(absl::StrCat("BUILD on a ",
                                  PickleKindName((*target)->kind),
                                  "; only REDUCE results take state"));
      }
      if ((*target)->state != nullptr) {
        return Error("BUILD applied twice to one object");
      }
      absl::Status s = Nest(*target, *state);
      if (!s.ok()) return s;
      (*target)->state = *state;
      return absl::OkStatus();
    }
    case kBinPersId: {
      absl::StatusOr<PickleValue*> pid = Pop();
      if (!pid.ok()) return pid.status();
      absl::StatusOr<PickleValue*> v = NewValue(PickleKind::kPersistentId);
      if (!v.ok()) return v.status();
      absl::Status s = Nest(*v, *pid);
      if (!s.ok()) return s;
      (*v)->persistent_id = *pid;
      return Push(*v);
    }

    default:
      // Said first, not in Error()'s trailing parenthesis: the opcode is
      // the whole story here.
      return absl::InvalidArgumentError(absl::StrCat(
          "pickle: ", OpcodeName(op_) == nullptr ? "" : "unsupported ",
          DescribeOpcode(op_), " at offset ", op_offset_));
  }
}

absl::string_view PickleKindName(PickleKind kind) {
  switch (kind) {
    case PickleKind::kNone: return "None";
    case PickleKind::kBool: return "Bool";
    case PickleKind::kInt: return "Int";
    case PickleKind::kFloat: return "Float";
    case PickleKind::kString: return "String";
    case PickleKind::kBytes: return "Bytes";
    case PickleKind::kTuple: return "Tuple";
    case PickleKind::kList: return "List";
    case PickleKind::kDict: return "Dict";
    case PickleKind::kGlobal: return "Global";
    case PickleKind::kPersistentId: return "PersistentId";
    case PickleKind::kReduce: return "Reduce";
  }
  return "?";
}

bool PickleValue::IsGlobal(absl::string_view module,
                           absl::string_view global_name) const {
  return kind == PickleKind::kGlobal && str == module && name == global_name;
}

bool PickleValue::IsReduceOf(absl::string_view module,
                             absl::string_view global_name) const {
  return kind == PickleKind::kReduce && callable != nullptr &&
         callable->IsGlobal(module, global_name);
}

std::vector<PickleGlobal> TorchCheckpointGlobals() {
  std::vector<PickleGlobal> globals = {
      {"collections", "OrderedDict"},
      {"torch._utils", "_rebuild_tensor_v2"},
      {"torch._utils", "_rebuild_parameter"},
  };
  for (const char* storage :
       {"FloatStorage", "HalfStorage", "BFloat16Storage", "DoubleStorage",
        "LongStorage", "IntStorage", "ShortStorage", "CharStorage",
        "ByteStorage", "BoolStorage"}) {
    globals.push_back({"torch", storage});
  }
  return globals;
}

absl::StatusOr<Pickle> ReadPickle(absl::string_view data,
                                  const PickleOptions& options) {
  const PickleLimits& l = options.limits;
  if (l.max_depth < 1 || l.max_stack_size < 1 || l.max_values < 1) {
    return absl::InvalidArgumentError(
        "pickle: max_depth, max_stack_size and max_values must be positive");
  }
  return PickleParser(data, options).Run();
}

// --- PickleDebugString ------------------------------------------------------

namespace {

class DebugPrinter {
 public:
  DebugPrinter(int max_depth, size_t max_chars)
      : max_depth_(max_depth), max_chars_(max_chars) {}

  void Print(const PickleValue* v, int depth) {
    if (Full()) return;
    if (v == nullptr) {
      out_ += "<null>";
      return;
    }
    if (depth >= max_depth_) {
      out_ += "...";
      return;
    }
    switch (v->kind) {
      case PickleKind::kNone:
        out_ += "None";
        return;
      case PickleKind::kBool:
        out_ += v->bool_value ? "True" : "False";
        return;
      case PickleKind::kInt:
        absl::StrAppend(&out_, v->int_value);
        return;
      case PickleKind::kFloat:
        absl::StrAppend(&out_, absl::StrFormat("%.17g", v->float_value));
        return;
      case PickleKind::kString:
      case PickleKind::kBytes: {
        if (v->kind == PickleKind::kBytes) out_ += "b";
        const size_t room = max_chars_ - out_.size();
        absl::string_view s = v->str;
        if (s.size() > room) s = s.substr(0, room);
        absl::StrAppend(&out_, "'", absl::CHexEscape(s), "'");
        return;
      }
      case PickleKind::kTuple:
        out_ += "(";
        PrintItems(v->items, depth);
        if (v->items.size() == 1) out_ += ",";
        out_ += ")";
        return;
      case PickleKind::kList:
        out_ += "[";
        PrintItems(v->items, depth);
        out_ += "]";
        return;
      case PickleKind::kDict:
        out_ += "{";
        PrintPairs(v->dict_items, depth);
        out_ += "}";
        return;
      case PickleKind::kGlobal:
        absl::StrAppend(&out_, absl::CHexEscape(v->str), ".",
                        absl::CHexEscape(v->name));
        return;
      case PickleKind::kPersistentId:
        out_ += "persistent_id(";
        Print(v->persistent_id, depth + 1);
        out_ += ")";
        return;
      case PickleKind::kReduce:
        Print(v->callable, depth + 1);
        out_ += "(";
        if (v->args != nullptr) PrintItems(v->args->items, depth + 1);
        out_ += ")";
        if (!v->items.empty()) {
          out_ += " + [";
          PrintItems(v->items, depth);
          out_ += "]";
        }
        if (!v->dict_items.empty()) {
          out_ += " + {";
          PrintPairs(v->dict_items, depth);
          out_ += "}";
        }
        if (v->state != nullptr) {
          out_ += " state=";
          Print(v->state, depth + 1);
        }
        return;
    }
  }

  std::string Finish() {
    if (out_.size() > max_chars_) {
      out_.resize(max_chars_);
      out_ += "...";
    }
    return std::move(out_);
  }

 private:
  bool Full() const { return out_.size() >= max_chars_; }

  void PrintItems(const std::vector<const PickleValue*>& items, int depth) {
    for (size_t i = 0; i < items.size() && !Full(); ++i) {
      if (i > 0) out_ += ", ";
      Print(items[i], depth + 1);
    }
  }
  void PrintPairs(
      const std::vector<std::pair<const PickleValue*, const PickleValue*>>&
          pairs,
      int depth) {
    for (size_t i = 0; i < pairs.size() && !Full(); ++i) {
      if (i > 0) out_ += ", ";
      Print(pairs[i].first, depth + 1);
      out_ += ": ";
      Print(pairs[i].second, depth + 1);
    }
  }

  const int max_depth_;
  const size_t max_chars_;
  std::string out_;
};

}  // namespace

std::string PickleDebugString(const PickleValue& value, int max_depth,
                              size_t max_chars) {
  DebugPrinter printer(max_depth, max_chars);
  printer.Print(&value, 0);
  return printer.Finish();
}

}  // namespace sam2
