#include "canaryd/select/template.h"

namespace canaryd::select {
namespace {

// StringSubstitutor resolves nested values recursively; real templates nest once at most, so a
// small depth bound only ever trips on cycles.
constexpr int kMaxDepth = 16;

bool Expand(std::string_view text, const Bindings& bindings, int depth, std::string& out,
            TemplateError& error) {
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '$') {
      out.push_back(c);
      ++i;
      continue;
    }
    // "$${" is the escape for a literal "${".
    if (text.substr(i, 3) == "$${") {
      out.append("${");
      i += 3;
      continue;
    }
    if (text.substr(i, 2) != "${") {
      out.push_back(c);
      ++i;
      continue;
    }
    const size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      // StringSubstitutor leaves an unterminated reference as literal text.
      out.append(text.substr(i));
      return true;
    }
    std::string_view name = text.substr(i + 2, close - i - 2);
    std::string_view fallback;
    bool has_fallback = false;
    if (const size_t d = name.find(":-"); d != std::string_view::npos) {
      fallback = name.substr(d + 2);
      name = name.substr(0, d);
      has_fallback = true;
    }
    const auto it = bindings.find(name);
    if (it == bindings.end() && !has_fallback) {
      error.variable = std::string(name);
      error.message = "undefined variable \"" + std::string(name) + "\"";
      return false;
    }
    const std::string_view value = it != bindings.end() ? std::string_view(it->second) : fallback;
    if (value.find("${") != std::string_view::npos) {
      if (depth >= kMaxDepth) {
        error.variable = std::string(name);
        error.message = "variable \"" + std::string(name) + "\" refers to itself (cycle)";
        return false;
      }
      if (!Expand(value, bindings, depth + 1, out, error)) {
        return false;
      }
    } else {
      out.append(value);
    }
    i = close + 1;
  }
  return true;
}

}  // namespace

boost::system::result<std::string, TemplateError> ExpandTemplate(std::string_view text,
                                                                 const Bindings& bindings) {
  std::string out;
  out.reserve(text.size() + 32);
  TemplateError error;
  if (!Expand(text, bindings, 0, out, error)) {
    return error;
  }
  return out;
}

}  // namespace canaryd::select
