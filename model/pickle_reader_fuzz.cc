// libFuzzer entry point for the pickle reader (pickle_reader.h).
//
// Built outside Bazel (whose toolchain is gcc) by tests/fuzz/run_fuzzer.sh
// with clang++ -fsanitize=fuzzer,address,undefined, so it may use only what
// pickle_reader itself uses: Abseil and the standard library. Beyond "no
// crash, no leak, no UB, no runaway memory", it checks the invariants
// consumers rely on (see CheckInvariants) and aborts when one breaks, which
// libFuzzer reports as a crash with the input saved.
// Thread-safety: libFuzzer calls it from one thread; it keeps no state.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/pickle_reader.h"

namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "pickle_reader invariant broken: %s\n", what);
  std::abort();
}

// Walks every reachable value once (the graph may be cyclic) without
// recursion, checking the promises pickle_reader.h makes.
void CheckInvariants(const sam2::Pickle& pickle,
                     const sam2::PickleLimits& limits) {
  using sam2::PickleKind;
  using sam2::PickleValue;
  if (pickle.num_values() > limits.max_values) Fail("max_values exceeded");
  absl::flat_hash_set<const PickleValue*> seen;
  std::vector<const PickleValue*> todo = {&pickle.root()};
  auto visit = [&](const PickleValue* v) {
    if (v == nullptr) Fail("null child");
    if (seen.insert(v).second) todo.push_back(v);
  };
  while (!todo.empty()) {
    const PickleValue* v = todo.back();
    todo.pop_back();
    if (v->depth < 1 || v->depth > limits.max_depth) Fail("depth out of range");
    if (v->items.size() > limits.max_container_size ||
        v->dict_items.size() > limits.max_container_size) {
      Fail("container too large");
    }
    if (v->str.size() > limits.max_string_length) Fail("string too long");
    for (const PickleValue* item : v->items) visit(item);
    for (const auto& [key, value] : v->dict_items) {
      visit(key);
      visit(value);
    }
    switch (v->kind) {
      case PickleKind::kReduce:
        if (v->callable == nullptr || v->callable->kind != PickleKind::kGlobal)
          Fail("REDUCE without a global callable");
        if (v->args == nullptr || v->args->kind != PickleKind::kTuple)
          Fail("REDUCE without tuple args");
        visit(v->callable);
        visit(v->args);
        if (v->state != nullptr) visit(v->state);
        break;
      case PickleKind::kPersistentId:
        visit(v->persistent_id);
        break;
      case PickleKind::kTuple:
      case PickleKind::kList:
        if (!v->dict_items.empty()) Fail("sequence with dict items");
        break;
      case PickleKind::kDict:
        if (!v->items.empty()) Fail("dict with list items");
        break;
      default:
        if (!v->items.empty() || !v->dict_items.empty())
          Fail("scalar with children");
        break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Default options: the torch allow-list and the production limits.
  static const sam2::PickleOptions* const options = new sam2::PickleOptions();
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<sam2::Pickle> pickle = sam2::ReadPickle(bytes, *options);
  if (!pickle.ok()) {
    if (pickle.status().code() != absl::StatusCode::kInvalidArgument) {
      Fail("error that is not INVALID_ARGUMENT");
    }
    if (pickle.status().message().empty()) Fail("empty error message");
    return 0;
  }
  CheckInvariants(*pickle, options->limits);
  // Printing must terminate and stay bounded on any graph.
  if (sam2::PickleDebugString(pickle->root(), 32, 1 << 14).size() >
      (1 << 14) + 3) {
    Fail("PickleDebugString over its bound");
  }
  return 0;
}
