// libFuzzer target: canaryconfig::ParseCanaryConfig on untrusted JSON (the API's PUT/POST body).
//
// Checks beyond "does not crash": a failure carries at least one problem and every problem has a
// message; whatever parses serializes to JSON that parses back to an equal config.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "canaryd/canaryconfig/canary_config.h"

namespace {

void Check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace canaryd::canaryconfig;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto r = ParseCanaryConfig(in);
  if (!r) {
    Check(!r.error().problems.empty());
    for (const auto& p : r.error().problems) {
      Check(!p.message.empty());
    }
    return 0;
  }
  Check(ValidateCanaryConfig(*r).empty());
  const auto again = ParseCanaryConfig(SerializeCanaryConfig(*r));
  Check(again.has_value() && *again == *r);
  return 0;
}
