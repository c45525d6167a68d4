#pragma once
// Kayenta's filter-template expansion (QueryConfigUtils.expandCustomFilter, Apache commons-text
// StringSubstitutor with undefined-variable errors enabled), so existing canary configs expand to
// the same text here as in Kayenta:
//   ${name}            the binding's value; an undefined name is an error
//   ${name:-default}   the binding's value, or `default` when the name is undefined
//   $${name}           a literal "${name}" (the escape character is '$')
// Substitution is recursive, as StringSubstitutor's is: a value may itself contain ${...};
// a cycle is an error.
//
// Thread safety: pure functions.

#include <map>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

namespace canaryd::select {

using Bindings = std::map<std::string, std::string, std::less<>>;

struct TemplateError {
  TemplateError() = default;
  TemplateError(std::string var, std::string msg)
      : variable(std::move(var)), message(std::move(msg)) {}
  std::string variable;  // the undefined or cyclic variable ("" for syntax errors)
  std::string message;   // e.g. `undefined variable "namespace"`
};

/// Expands `text` with `bindings`.
boost::system::result<std::string, TemplateError> ExpandTemplate(std::string_view text,
                                                                 const Bindings& bindings);

}  // namespace canaryd::select
