// libFuzzer target: api::ParseAnalysisRequest on untrusted JSON (POST/PUT /api/v1/analyses).
//
// Checks beyond "does not crash": a failure carries at least one problem, each with a message;
// a success has a positive step and only non-negative durations.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "canaryd/api/analyses_api.h"

namespace {

void Check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto r = canaryd::api::ParseAnalysisRequest(in);
  if (!r) {
    Check(!r.error().problems.empty());
    for (const auto& p : r.error().problems) Check(!p.message.empty());
    return 0;
  }
  const auto& d = r->definition;
  Check(d.step_ms > 0);
  Check(d.lifetime_ms >= 0 && d.interval_ms >= 0 && d.begin_after_ms >= 0 && d.baseline_offset_ms >= 0);
  return 0;
}
