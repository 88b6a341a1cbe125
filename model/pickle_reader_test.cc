// Tests for the strict pickle reader: every supported opcode on hand-built
// pickles, a real torch.save prefix, and the ways bad input must fail
// (unsupported opcodes and globals, stack and memo misuse, truncation,
// limits). Byte strings use octal escapes: a hex escape would swallow a
// following opcode letter such as 'a' or 'e'.

#include "model/pickle_reader.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sam2 {
namespace {

// A byte string with embedded NULs.
template <size_t N>
std::string B(const char (&s)[N]) {
  return std::string(s, N - 1);
}

absl::StatusOr<Pickle> Parse(const std::string& bytes,
                             const PickleOptions& options = {}) {
  return ReadPickle(bytes, options);
}

// Expects INVALID_ARGUMENT whose message contains every one of `parts`.
void ExpectInvalid(const std::string& bytes,
                   const std::vector<std::string>& parts,
                   const PickleOptions& options = {}) {
  absl::StatusOr<Pickle> p = Parse(bytes, options);
  ASSERT_FALSE(p.ok()) << PickleDebugString(p->root());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument)
      << p.status();
  for (const std::string& part : parts) {
    EXPECT_NE(p.status().message().find(part), absl::string_view::npos)
        << "'" << part << "' not in: " << p.status();
  }
}

std::string Repr(const std::string& bytes, const PickleOptions& options = {}) {
  absl::StatusOr<Pickle> p = Parse(bytes, options);
  if (!p.ok()) return p.status().ToString();
  return PickleDebugString(p->root());
}

// --- scalars ----------------------------------------------------------------

TEST(PickleReaderTest, Scalars) {
  EXPECT_EQ(Repr(B("N.")), "None");
  EXPECT_EQ(Repr(B("\200\002\210.")), "True");
  EXPECT_EQ(Repr(B("\211.")), "False");
  EXPECT_EQ(Repr(B("K\377.")), "255");
  EXPECT_EQ(Repr(B("M\001\002.")), "513");
  EXPECT_EQ(Repr(B("J\376\377\377\377.")), "-2");
  EXPECT_EQ(Repr(B("J\377\377\377\177.")), "2147483647");
  EXPECT_EQ(Repr(B("G?\370\000\000\000\000\000\000.")), "1.5");
}

TEST(PickleReaderTest, Long1) {
  EXPECT_EQ(Repr(B("\212\000.")), "0");
  EXPECT_EQ(Repr(B("\212\001\377.")), "-1");
  EXPECT_EQ(Repr(B("\212\001\177.")), "127");
  EXPECT_EQ(Repr(B("\212\002\000\200.")), "-32768");
  EXPECT_EQ(Repr(B("\212\005\000\344\013T\002.")), "10000000000");
  EXPECT_EQ(Repr(B("\212\010\377\377\377\377\377\377\377\177.")),
            "9223372036854775807");
  EXPECT_EQ(Repr(B("\212\010\000\000\000\000\000\000\000\200.")),
            "-9223372036854775808");
  ExpectInvalid(B("\212\011\000\000\000\000\000\000\000\000\001."),
                {"LONG1", "offset 0"});
}

TEST(PickleReaderTest, BinFloatIsBigEndianAndKeepsSpecialValues) {
  absl::StatusOr<Pickle> p = Parse(B("G\177\370\000\000\000\000\000\000."));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->root().kind, PickleKind::kFloat);
  EXPECT_TRUE(std::isnan(p->root().float_value));
  p = Parse(B("G\300\000\000\000\000\000\000\000."));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->root().float_value, -2.0);
}

TEST(PickleReaderTest, Strings) {
  absl::StatusOr<Pickle> p = Parse(B("X\003\000\000\000abc."));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->root().kind, PickleKind::kString);
  EXPECT_EQ(p->root().str, "abc");
  EXPECT_EQ(Repr(B("\214\002hi.")), "'hi'");
  EXPECT_EQ(Repr(B("\215\001\000\000\000\000\000\000\000z.")), "'z'");
  EXPECT_EQ(Repr(B("U\002py.")), "'py'");
  EXPECT_EQ(Repr(B("T\002\000\000\000py.")), "'py'");
  // UTF-8 text, including a surrogate as Python's "surrogatepass" writes it.
  EXPECT_EQ(Parse(B("\214\002\303\251.")).value().root().str, "\303\251");
  EXPECT_TRUE(Parse(B("\214\003\355\240\200.")).ok());

  p = Parse(B("C\003\000\377a."));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->root().kind, PickleKind::kBytes);
  EXPECT_EQ(p->root().str, B("\000\377a"));
  EXPECT_EQ(Repr(B("B\001\000\000\000x.")), "b'x'");
  EXPECT_EQ(Repr(B("\216\001\000\000\000\000\000\000\000x.")), "b'x'");
}

TEST(PickleReaderTest, BadStrings) {
  ExpectInvalid(B("\214\002\377\376."), {"UTF-8", "offset 0"});
  ExpectInvalid(B("\214\002\300\200."), {"UTF-8"});  // overlong
  ExpectInvalid(B("T\377\377\377\377."), {"negative"});
  // A huge claimed length fails on the bytes present, before any allocation.
  ExpectInvalid(B("\215\000\000\000\000\000\000\000@abc."), {"limit"});
  ExpectInvalid(B("X\020\000\000\000abc."), {"truncated", "offset 0"});
}

// --- containers -------------------------------------------------------------

TEST(PickleReaderTest, Containers) {
  EXPECT_EQ(Repr(B(").")), "()");
  EXPECT_EQ(Repr(B("K\001\205.")), "(1,)");
  EXPECT_EQ(Repr(B("K\001K\002\206.")), "(1, 2)");
  EXPECT_EQ(Repr(B("K\001K\002K\003\207.")), "(1, 2, 3)");
  EXPECT_EQ(Repr(B("(K\001K\002K\003K\004t.")), "(1, 2, 3, 4)");
  EXPECT_EQ(Repr(B("(K\001NlK\002a.")), "[1, None, 2]");
  EXPECT_EQ(Repr(B("](K\001K\002e.")), "[1, 2]");
  EXPECT_EQ(Repr(B("}K\001K\002s.")), "{1: 2}");
  EXPECT_EQ(Repr(B("}(K\001K\002\214\001aNu.")), "{1: 2, 'a': None}");
  EXPECT_EQ(Repr(B("(\214\001kK\001d.")), "{'k': 1}");
  // Keys of any kind, kept in order, duplicates kept.
  EXPECT_EQ(Repr(B("}(K\001K\002\206K\003K\001K\004K\001K\005u.")),
            "{(1, 2): 3, 1: 4, 1: 5}");
}

TEST(PickleReaderTest, PopAndPopMark) {
  EXPECT_EQ(Repr(B("K\001K\0020.")), "1");
  EXPECT_EQ(Repr(B("K\001(K\002K\0031.")), "1");
}

TEST(PickleReaderTest, MemoSharesValues) {
  // A list stored in the memo, fetched twice into a tuple.
  absl::StatusOr<Pickle> p = Parse(B("]q\000(K\001e0h\000h\000\206."));
  ASSERT_TRUE(p.ok()) << p.status();
  const PickleValue& t = p->root();
  ASSERT_EQ(t.kind, PickleKind::kTuple);
  ASSERT_EQ(t.items.size(), 2u);
  EXPECT_EQ(t.items[0], t.items[1]);
  EXPECT_EQ(PickleDebugString(t), "([1], [1])");

  EXPECT_EQ(Repr(B("K\007r\000\001\000\0000j\000\001\000\000.")), "7");
  EXPECT_EQ(Repr(B("K\007\2240K\010\2240h\000h\001\206.")), "(7, 8)");
  // BINPUT may overwrite, as in Python.
  EXPECT_EQ(Repr(B("K\001q\0050K\002q\005h\005\206.")), "(2, 2)");
}

TEST(PickleReaderTest, SelfReferenceIsSafe) {
  // l = []; l.append(l) -- a cycle through the memo.
  absl::StatusOr<Pickle> p = Parse(B("]q\000h\000a."));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->root().items.at(0), &p->root());
  const std::string repr = PickleDebugString(p->root(), 4);
  EXPECT_EQ(repr, "[[[[...]]]]");
}

// --- globals, reduce, build, persistent ids ---------------------------------

TEST(PickleReaderTest, GlobalsReduceAndBuild) {
  absl::StatusOr<Pickle> p =
      Parse(B("ccollections\012OrderedDict\012)R}\214\001kK\001sb."));
  ASSERT_TRUE(p.ok()) << p.status();
  const PickleValue& v = p->root();
  ASSERT_EQ(v.kind, PickleKind::kReduce);
  EXPECT_TRUE(v.IsReduceOf("collections", "OrderedDict"));
  EXPECT_FALSE(v.IsReduceOf("collections", "defaultdict"));
  ASSERT_NE(v.callable, nullptr);
  EXPECT_TRUE(v.callable->IsGlobal("collections", "OrderedDict"));
  ASSERT_NE(v.args, nullptr);
  EXPECT_EQ(v.args->kind, PickleKind::kTuple);
  ASSERT_NE(v.state, nullptr);
  EXPECT_EQ(PickleDebugString(*v.state), "{'k': 1}");
  EXPECT_EQ(PickleDebugString(v),
            "collections.OrderedDict() state={'k': 1}");
}

TEST(PickleReaderTest, ReduceResultTakesItems) {
  // OrderedDict() then SETITEMS, as torch.save writes a state dict.
  EXPECT_EQ(Repr(B("ccollections\012OrderedDict\012)R(\214\001aK\001u.")),
            "collections.OrderedDict() + {'a': 1}");
  EXPECT_EQ(Repr(B("ccollections\012OrderedDict\012)RK\001a.")),
            "collections.OrderedDict() + [1]");
}

TEST(PickleReaderTest, StackGlobal) {
  EXPECT_EQ(Repr(B("\214\005torch\214\014FloatStorage\223.")),
            "torch.FloatStorage");
  ExpectInvalid(B("K\001\214\001a\223."), {"STACK_GLOBAL needs two strings"});
}

TEST(PickleReaderTest, PersistentId) {
  absl::StatusOr<Pickle> p = Parse(B("(\214\007storageK\001tQ."));
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->root().kind, PickleKind::kPersistentId);
  EXPECT_EQ(PickleDebugString(p->root()), "persistent_id(('storage', 1))");
}

TEST(PickleReaderTest, UnsupportedGlobalsAreRefused) {
  ExpectInvalid(B("cos\012system\012\214\002ls\205R."),
                {"unsupported global 'os.system'", "offset 0"});
  ExpectInvalid(B("\200\002\214\010builtins\214\004eval\223."),
                {"unsupported global 'builtins.eval'", "offset 18"});
  ExpectInvalid(B("ctorch._utils\012_rebuild_qtensor\012."),
                {"unsupported global 'torch._utils._rebuild_qtensor'"});
}

TEST(PickleReaderTest, AllowListIsTheCallers) {
  PickleOptions options;
  options.allowed_globals = {{"os", "system"}};
  EXPECT_EQ(Repr(B("cos\012system\012."), options), "os.system");
  ExpectInvalid(B("ccollections\012OrderedDict\012."),
                {"unsupported global 'collections.OrderedDict'"}, options);
  options.allowed_globals.clear();
  ExpectInvalid(B("cos\012system\012."), {"unsupported global"}, options);
}

TEST(PickleReaderTest, TorchCheckpointGlobals) {
  const std::vector<PickleGlobal> globals = TorchCheckpointGlobals();
  EXPECT_EQ(globals.size(), 13u);
  for (const char* g :
       {"ccollections\012OrderedDict\012.",
        "ctorch._utils\012_rebuild_tensor_v2\012.",
        "ctorch._utils\012_rebuild_parameter\012.",
        "ctorch\012FloatStorage\012.", "ctorch\012HalfStorage\012.",
        "ctorch\012BFloat16Storage\012.", "ctorch\012DoubleStorage\012.",
        "ctorch\012LongStorage\012.", "ctorch\012IntStorage\012.",
        "ctorch\012ShortStorage\012.", "ctorch\012CharStorage\012.",
        "ctorch\012ByteStorage\012.", "ctorch\012BoolStorage\012."}) {
    EXPECT_TRUE(Parse(g).ok()) << g;
  }
}

// The start of the fixture checkpoint's data.pkl (one tensor), closed off.
TEST(PickleReaderTest, ReadsWhatTorchSaveWrites) {
  const std::string pickle = B(
      "\200\002}q\000X\005\000\000\000modelq\001ccollections\012OrderedDict"
      "\012q\002)Rq\003(X\020\000\000\000maskmem_tpos_encq\004ctorch._utils"
      "\012_rebuild_tensor_v2\012q\005((X\007\000\000\000storageq\006ctorch"
      "\012FloatStorage\012q\007X\001\000\000\0000q\010X\003\000\000\000cpu"
      "q\011Kptq\012QK\000(K\007K\001K\001K\020tq\013(K\020K\020K\020K\001t"
      "q\014\211h\002)Rq\015tq\016Rq\017us.");
  absl::StatusOr<Pickle> p = Parse(pickle);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(PickleDebugString(p->root()),
            "{'model': collections.OrderedDict() + {'maskmem_tpos_enc': "
            "torch._utils._rebuild_tensor_v2(persistent_id(('storage', "
            "torch.FloatStorage, '0', 'cpu', 112)), 0, (7, 1, 1, 16), "
            "(16, 16, 16, 1), False, collections.OrderedDict())}}");
  const PickleValue& root = p->root();
  ASSERT_EQ(root.kind, PickleKind::kDict);
  ASSERT_EQ(root.dict_items.size(), 1u);
  const PickleValue* model = root.dict_items[0].second;
  ASSERT_TRUE(model->IsReduceOf("collections", "OrderedDict"));
  ASSERT_EQ(model->dict_items.size(), 1u);
  const PickleValue* tensor = model->dict_items[0].second;
  ASSERT_TRUE(tensor->IsReduceOf("torch._utils", "_rebuild_tensor_v2"));
  ASSERT_EQ(tensor->args->items.size(), 6u);
  EXPECT_EQ(tensor->args->items[0]->kind, PickleKind::kPersistentId);

  // Every strict prefix is truncated input, never a crash.
  for (size_t n = 0; n < pickle.size(); ++n) {
    EXPECT_FALSE(Parse(pickle.substr(0, n)).ok()) << n;
  }
}

TEST(PickleReaderTest, Framing) {
  // PROTO 4, FRAME of 3 bytes: K 5 .
  EXPECT_EQ(Repr(B("\200\004\225\003\000\000\000\000\000\000\000K\005.")),
            "5");
  ExpectInvalid(B("\200\004\225\377\000\000\000\000\000\000\000K\005."),
                {"frame", "offset 2"});
}

// --- refusals ---------------------------------------------------------------

TEST(PickleReaderTest, UnsupportedOpcodesAreNamed) {
  struct Case {
    std::string bytes;
    std::string name;
    int offset;
  };
  const std::vector<Case> cases = {
      {B("(ios\012system\012."), "INST", 1},
      {B("N(o."), "OBJ", 2},
      {B("\200\002N)\201."), "NEWOBJ", 4},
      {B("NN}\222."), "NEWOBJ_EX", 3},
      {B("\202\001."), "EXT1", 0},
      {B("\203\001\000."), "EXT2", 0},
      {B("\204\001\000\000\000."), "EXT4", 0},
      {B("P0\012."), "PERSID", 0},
      {B("Np0\012."), "PUT", 1},
      {B("g0\012."), "GET", 0},
      {B("I1\012."), "INT", 0},
      {B("L1L\012."), "LONG", 0},
      {B("S'a'\012."), "STRING", 0},
      {B("Va\012."), "UNICODE", 0},
      {B("F1.0\012."), "FLOAT", 0},
      {B("N2."), "DUP", 1},
      {B("\213\001\000\000\000\001."), "LONG4", 0},
      {B("\217."), "EMPTY_SET", 0},
      {B("(\221."), "FROZENSET", 1},
      {B("(K\001\220."), "ADDITEMS", 3},
      {B("\226\000\000\000\000\000\000\000\000."), "BYTEARRAY8", 0},
      {B("\227."), "NEXT_BUFFER", 0},
      {B("N\230."), "READONLY_BUFFER", 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ExpectInvalid(c.bytes, {absl::StrCat("opcode ", c.name, " "),
                            absl::StrCat("offset ", c.offset)});
  }
  ExpectInvalid(B("N\377."), {"unknown opcode 0xff", "offset 1"});
  ExpectInvalid(B("\000."), {"unknown opcode 0x00", "offset 0"});
}

TEST(PickleReaderTest, StackMisuse) {
  ExpectInvalid(B("0."), {"stack underflow", "POP", "offset 0"});
  ExpectInvalid(B("(0."), {"MARK"});
  ExpectInvalid(B("K\001t."), {"no MARK", "TUPLE"});
  ExpectInvalid(B("K\001l."), {"no MARK"});
  ExpectInvalid(B("K\001d."), {"no MARK"});
  ExpectInvalid(B("]K\001e."), {"no MARK", "APPENDS"});
  ExpectInvalid(B("}K\001K\001u."), {"no MARK", "SETITEMS"});
  ExpectInvalid(B("1."), {"no MARK", "POP_MARK"});
  ExpectInvalid(B("K\001\206."), {"stack underflow", "TUPLE2"});
  ExpectInvalid(B("K\001(\205."), {"stack underflow", "TUPLE1"});
  ExpectInvalid(B("K\001a."), {"stack underflow", "APPEND"});
  ExpectInvalid(B("K\001K\001s."), {"stack underflow", "SETITEM"});
  ExpectInvalid(B("(]K\001s."), {"stack underflow"});
  ExpectInvalid(B(")R."), {"stack underflow", "REDUCE"});
  ExpectInvalid(B("Q."), {"stack underflow", "BINPERSID"});
  ExpectInvalid(B("}b."), {"stack underflow", "BUILD"});
  ExpectInvalid(B("q\000."), {"stack underflow", "BINPUT"});
  ExpectInvalid(B("\223."), {"stack underflow", "STACK_GLOBAL"});
}

TEST(PickleReaderTest, WrongTargets) {
  ExpectInvalid(B(")K\001a."), {"cannot append to a Tuple"});
  ExpectInvalid(B("}K\001a."), {"cannot append to a Dict"});
  ExpectInvalid(B("]K\001K\001s."), {"cannot set items on a List"});
  ExpectInvalid(B("(K\001d."), {"odd number"});
  ExpectInvalid(B("}(K\001u."), {"odd number"});
  ExpectInvalid(B("K\001)R."), {"REDUCE callable is a Int"});
  ExpectInvalid(B("ccollections\012OrderedDict\012]R."),
                {"REDUCE arguments are a List"});
  ExpectInvalid(B("]}b."), {"BUILD on a List"});
  ExpectInvalid(B("ccollections\012OrderedDict\012)R}b}b."),
                {"BUILD applied twice"});
}

TEST(PickleReaderTest, MemoMisuse) {
  ExpectInvalid(B("h\005."), {"memo index 5", "BINGET", "offset 0"});
  ExpectInvalid(B("K\001q\001h\002."), {"memo index 2"});
  ExpectInvalid(B("j\000\000\001\000."), {"memo index 65536", "LONG_BINGET"});
}

TEST(PickleReaderTest, TruncationAndTrailingData) {
  ExpectInvalid("", {"no STOP"});
  ExpectInvalid(B("K\001"), {"no STOP"});
  ExpectInvalid(B("J\001\002"), {"truncated", "BININT"});
  ExpectInvalid(B("G\000\000"), {"truncated", "BINFLOAT"});
  ExpectInvalid(B("cos\012sys"), {"truncated", "GLOBAL"});
  ExpectInvalid(B("N.N"), {"1 bytes of data after STOP"});
  ExpectInvalid(B("N.."), {"after STOP"});
  ExpectInvalid(B("NN."), {"2 values"});
  ExpectInvalid(B("(N."), {"MARK still open"});
  ExpectInvalid(B("."), {"0 values"});
}

TEST(PickleReaderTest, Proto) {
  EXPECT_TRUE(Parse(B("\200\005N.")).ok());
  ExpectInvalid(B("\200\006N."), {"protocol 6"});
  ExpectInvalid(B("\200\001N."), {"protocol 1"});
  ExpectInvalid(B("N\200\002."), {"PROTO after the start", "offset 1"});
}

// --- limits -----------------------------------------------------------------

std::string NestedTuples(int depth) {
  std::string s = "N";
  for (int i = 0; i < depth; ++i) s += "\205";  // TUPLE1
  return s + ".";
}

TEST(PickleReaderTest, DepthLimit) {
  PickleOptions options;
  options.limits.max_depth = 10;
  EXPECT_TRUE(Parse(NestedTuples(9), options).ok());
  ExpectInvalid(NestedTuples(10), {"nested deeper than 10"}, options);
  ExpectInvalid(NestedTuples(1000), {"nested deeper"});  // default limit
  ExpectInvalid(std::string(100, '(') + "N.", {"open MARKs"});
}

TEST(PickleReaderTest, DeepValuesAreFreedWithoutRecursion) {
  // A million-deep nesting, allowed on purpose: destroying the Pickle and
  // printing it must not recurse a million frames.
  PickleOptions options;
  options.limits.max_depth = 2000000;
  absl::StatusOr<Pickle> p = Parse(NestedTuples(1000000), options);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->num_values(), 1000001u);
  EXPECT_EQ(PickleDebugString(p->root(), 3), "(((...,),),)");
}

TEST(PickleReaderTest, StackLimit) {
  PickleOptions options;
  options.limits.max_stack_size = 4;
  EXPECT_TRUE(Parse(B("(NNNt."), options).ok());
  ExpectInvalid(B("NNNNN(t."), {"stack deeper than 4"}, options);
}

TEST(PickleReaderTest, MemoLimit) {
  PickleOptions options;
  options.limits.max_memo_size = 2;
  EXPECT_TRUE(Parse(B("Nq\000q\001q\000."), options).ok());
  ExpectInvalid(B("Nq\000q\001q\002."), {"memo entries"}, options);
  ExpectInvalid(B("N\224\224\224."), {"memo entries"}, options);
}

TEST(PickleReaderTest, ContainerLimit) {
  PickleOptions options;
  options.limits.max_container_size = 3;
  EXPECT_TRUE(Parse(B("(NNNt."), options).ok());
  ExpectInvalid(B("(NNNNt."), {"container of more than 3"}, options);
  ExpectInvalid(B("](NNe(NNe."), {"container"}, options);
  ExpectInvalid(B("}(NNNNNNNNu."), {"container"}, options);
}

TEST(PickleReaderTest, StringLimit) {
  PickleOptions options;
  options.limits.max_string_length = 3;
  EXPECT_TRUE(Parse(B("\214\003abc."), options).ok());
  ExpectInvalid(B("\214\004abcd."), {"string of 4 bytes"}, options);
  ExpectInvalid(B("cabcd\012x\012."), {"GLOBAL line"}, options);
}

TEST(PickleReaderTest, ValueLimit) {
  PickleOptions options;
  options.limits.max_values = 3;
  EXPECT_TRUE(Parse(B("NN\206."), options).ok());
  ExpectInvalid(B("NNN\207."), {"values (limit)"}, options);
}

TEST(PickleReaderTest, DebugStringIsBounded) {
  // A list holding the same 100-element list 100 times: 10,000 leaves.
  std::string s = B("](");
  for (int i = 0; i < 100; ++i) s += "N";
  s += B("eq\0000](");
  for (int i = 0; i < 100; ++i) s += B("h\000");
  s += "e.";
  absl::StatusOr<Pickle> p = Parse(s);
  ASSERT_TRUE(p.ok()) << p.status();
  const std::string repr = PickleDebugString(p->root(), 8, 200);
  EXPECT_LE(repr.size(), 203u);
  EXPECT_EQ(repr.substr(repr.size() - 3), "...");
}

}  // namespace
}  // namespace sam2
