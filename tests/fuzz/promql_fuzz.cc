// libFuzzer target: the PromQL subset parser, the matcher-list parser and the template expander
// (canary configs arrive over the API, so their queries and templates are untrusted text).
//
// The first byte picks the parser; the rest is the text. Checks beyond "does not crash": errors
// point inside the text; a parsed query prints as PromQL that parses back to the same text; a
// parsed selector can be run on a label key.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "canaryd/model/labels.h"
#include "canaryd/select/promql.h"
#include "canaryd/select/template.h"

namespace {

void Check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

const std::string& SampleKey() {
  static const std::string key = [] {
    std::string k;
    canaryd::model::AppendLabel(k, "__name__", "http_requests_total");
    canaryd::model::AppendLabel(k, "code", "503");
    canaryd::model::AppendLabel(k, "pod", "app-canary-7f9\nx");
    return k;
  }();
  return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace canaryd::select;
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      const auto r = ParseQuery(text);
      if (!r) {
        Check(r.error().column >= 1 && r.error().column <= text.size() + 1);
        Check(!r.error().message.empty());
        return 0;
      }
      const std::string printed = r->ToPromQL();
      const auto again = ParseQuery(printed);
      Check(again.has_value());
      Check(again->ToPromQL() == printed);
      (void)r->selector.MatchesKey(SampleKey());
      return 0;
    }
    case 1: {
      const auto r = ParseMatchers(text);
      if (!r) {
        Check(r.error().column >= 1 && r.error().column <= text.size() + 1);
        return 0;
      }
      for (const Matcher& m : *r) {
        (void)m.Matches("app-canary-1");
        const auto back = ParseMatchers(m.ToString());
        Check(back.has_value() && back->size() == 1 && (*back)[0].value() == m.value());
      }
      return 0;
    }
    default: {
      const Bindings bindings{{"scope", "canary"}, {"location", "us-east-1"}, {"a", "${b}"},
                              {"b", "${a}"}, {"ns", "shop"}};
      (void)ExpandTemplate(text, bindings);
      return 0;
    }
  }
}
